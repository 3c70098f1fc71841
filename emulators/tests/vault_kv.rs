//! KV v1 and v2 through vaultrs, plus the raw shapes vaultrs hides (envelope, 404 bodies,
//! warnings).
// A failed expectation is the test failing, with the reason in its message.
#![allow(clippy::expect_used)]

mod vault_support;

use serde_json::{Value, json};
use std::collections::HashMap;
use vault_support::{api_error, vault};
use vaultrs::api::kv2::requests::{SetSecretMetadataRequest, SetSecretRequestOptions};
use vaultrs::{kv1, kv2, sys};

#[tokio::test]
async fn kv2_versions_read_latest_and_by_number() {
    let v = vault().await;
    let c = v.root_client();
    let w1 = kv2::set(&c, "secret", "app/db", &json!({"user": "a", "pass": "1"}))
        .await
        .expect("write 1");
    assert_eq!(w1.version, 1);
    assert_eq!(w1.deletion_time, "");
    assert!(!w1.destroyed);
    kv2::set(&c, "secret", "app/db", &json!({"user": "b"}))
        .await
        .expect("write 2");
    let latest: Value = kv2::read(&c, "secret", "app/db").await.expect("read");
    assert_eq!(latest, json!({"user": "b"}));
    let first: Value = kv2::read_version(&c, "secret", "app/db", 1)
        .await
        .expect("read v1");
    assert_eq!(first, json!({"user": "a", "pass": "1"}));

    // The raw envelope: every field present, data nested under data.data.
    let raw = v
        .raw(
            "GET",
            "/v1/secret/data/app/db?version=1",
            Some(&v.root),
            None,
        )
        .await;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.content_type, "application/json");
    let body = raw.json();
    for field in [
        "request_id",
        "lease_id",
        "renewable",
        "lease_duration",
        "data",
        "wrap_info",
        "warnings",
        "auth",
        "mount_type",
    ] {
        assert!(body.get(field).is_some(), "{field} missing in {body}");
    }
    assert_eq!(body["mount_type"], "kv");
    assert_eq!(body["lease_duration"], 0);
    assert_eq!(body["data"]["metadata"]["version"], 1);
    assert_eq!(body["data"]["metadata"]["custom_metadata"], Value::Null);
    assert_eq!(body["data"]["data"]["pass"], "1");
}

#[tokio::test]
async fn kv2_missing_paths_are_404_with_empty_errors() {
    let v = vault().await;
    let c = v.root_client();
    api_error(kv2::read::<Value>(&c, "secret", "nope").await, 404, &[]);
    let raw = v
        .raw("GET", "/v1/secret/data/nope", Some(&v.root), None)
        .await;
    assert_eq!((raw.status, raw.json()), (404, json!({"errors": []})));
    kv2::set(&c, "secret", "one", &json!({"a": 1}))
        .await
        .expect("write");
    api_error(
        kv2::read_version::<Value>(&c, "secret", "one", 7).await,
        404,
        &[],
    );
    api_error(kv2::list(&c, "secret", "empty-dir").await, 404, &[]);
}

#[tokio::test]
async fn kv2_check_and_set() {
    let v = vault().await;
    let c = v.root_client();
    kv2::set_with_options(
        &c,
        "secret",
        "cas",
        &json!({"a": 1}),
        SetSecretRequestOptions { cas: 0 },
    )
    .await
    .expect("cas 0 creates");
    api_error(
        kv2::set_with_options(
            &c,
            "secret",
            "cas",
            &json!({"a": 2}),
            SetSecretRequestOptions { cas: 0 },
        )
        .await,
        400,
        &["check-and-set parameter did not match the current version"],
    );
    let w = kv2::set_with_options(
        &c,
        "secret",
        "cas",
        &json!({"a": 2}),
        SetSecretRequestOptions { cas: 1 },
    )
    .await
    .expect("cas 1 matches");
    assert_eq!(w.version, 2);
    // cas_required on the metadata makes the option mandatory.
    kv2::set_metadata(
        &c,
        "secret",
        "cas",
        Some(SetSecretMetadataRequest::builder().cas_required(true)),
    )
    .await
    .expect("metadata");
    api_error(
        kv2::set(&c, "secret", "cas", &json!({"a": 3})).await,
        400,
        &["check-and-set parameter required for this call"],
    );
    let raw = v
        .raw(
            "POST",
            "/v1/secret/data/cas",
            Some(&v.root),
            Some(r#"{"options":{}}"#),
        )
        .await;
    assert_eq!(
        (raw.status, raw.json()),
        (400, json!({"errors": ["no data provided"]}))
    );
}

#[tokio::test]
async fn kv2_metadata_versions_max_versions_and_custom_metadata() {
    let v = vault().await;
    let c = v.root_client();
    let mut custom = HashMap::new();
    custom.insert("owner".to_owned(), "team-a".to_owned());
    kv2::set_metadata(
        &c,
        "secret",
        "meta",
        Some(
            SetSecretMetadataRequest::builder()
                .max_versions(2u64)
                .custom_metadata(custom.clone()),
        ),
    )
    .await
    .expect("set metadata");
    for i in 1..=3 {
        kv2::set(&c, "secret", "meta", &json!({"i": i}))
            .await
            .expect("write");
    }
    let m = kv2::read_metadata(&c, "secret", "meta")
        .await
        .expect("metadata");
    assert_eq!(m.current_version, 3);
    assert_eq!(m.max_versions, 2);
    assert_eq!(m.oldest_version, 2);
    assert_eq!(m.custom_metadata, Some(custom));
    assert_eq!(m.delete_version_after, "0s");
    let mut versions: Vec<&String> = m.versions.keys().collect();
    versions.sort();
    assert_eq!(versions, ["2", "3"]);
    api_error(
        kv2::read_version::<Value>(&c, "secret", "meta", 1).await,
        404,
        &[],
    );
    // Default max_versions is 10.
    for i in 0..12 {
        kv2::set(&c, "secret", "many", &json!({"i": i}))
            .await
            .expect("write");
    }
    let m = kv2::read_metadata(&c, "secret", "many")
        .await
        .expect("metadata");
    assert_eq!(
        (m.versions.len(), m.oldest_version, m.max_versions),
        (10, 3, 0)
    );
    kv2::delete_metadata(&c, "secret", "many")
        .await
        .expect("delete metadata");
    api_error(kv2::read_metadata(&c, "secret", "many").await, 404, &[]);
}

#[tokio::test]
async fn kv2_delete_undelete_destroy() {
    let v = vault().await;
    let c = v.root_client();
    kv2::set(&c, "secret", "d", &json!({"v": 1}))
        .await
        .expect("w1");
    kv2::set(&c, "secret", "d", &json!({"v": 2}))
        .await
        .expect("w2");
    kv2::delete_latest(&c, "secret", "d")
        .await
        .expect("delete latest");
    // A soft-deleted version is a 404 that still carries the envelope and metadata.
    let raw = v.raw("GET", "/v1/secret/data/d", Some(&v.root), None).await;
    assert_eq!(raw.status, 404);
    let body = raw.json();
    assert_eq!(body["data"]["data"], Value::Null);
    assert_eq!(body["data"]["metadata"]["version"], 2);
    assert_ne!(body["data"]["metadata"]["deletion_time"], "");
    assert!(body.get("request_id").is_some());
    kv2::undelete_versions(&c, "secret", "d", vec![2])
        .await
        .expect("undelete");
    let back: Value = kv2::read(&c, "secret", "d").await.expect("read again");
    assert_eq!(back, json!({"v": 2}));
    kv2::delete_versions(&c, "secret", "d", vec![1])
        .await
        .expect("delete v1");
    let raw = v
        .raw("GET", "/v1/secret/data/d?version=1", Some(&v.root), None)
        .await;
    assert_eq!(raw.status, 404);
    kv2::destroy_versions(&c, "secret", "d", vec![2])
        .await
        .expect("destroy");
    let raw = v.raw("GET", "/v1/secret/data/d", Some(&v.root), None).await;
    assert_eq!(raw.status, 404);
    assert_eq!(raw.json()["data"]["metadata"]["destroyed"], true);
    let undeleted = kv2::undelete_versions(&c, "secret", "d", vec![2]).await;
    assert!(undeleted.is_ok());
    assert_eq!(
        v.raw("GET", "/v1/secret/data/d", Some(&v.root), None)
            .await
            .status,
        404,
        "destroyed stays gone"
    );
    let m = kv2::read_metadata(&c, "secret", "d")
        .await
        .expect("metadata");
    assert!(m.versions["2"].destroyed);
    let raw = v
        .raw(
            "POST",
            "/v1/secret/delete/d",
            Some(&v.root),
            Some(r#"{"versions":[]}"#),
        )
        .await;
    assert_eq!(
        (raw.status, raw.json()),
        (400, json!({"errors": ["No version number provided"]}))
    );
}

#[tokio::test]
async fn kv2_list_with_list_method_and_query() {
    let v = vault().await;
    let c = v.root_client();
    for p in ["app/a", "app/b", "app/sub/c", "other"] {
        kv2::set(&c, "secret", p, &json!({"k": "v"}))
            .await
            .expect("write");
    }
    let keys = kv2::list(&c, "secret", "app").await.expect("list");
    assert_eq!(keys, ["a", "b", "sub/"]);
    let raw = v
        .raw("GET", "/v1/secret/metadata/?list=true", Some(&v.root), None)
        .await;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.json()["data"]["keys"], json!(["app/", "other"]));
    let raw = v
        .raw("LIST", "/v1/secret/metadata/app/sub", Some(&v.root), None)
        .await;
    assert_eq!(raw.json()["data"]["keys"], json!(["c"]));
}

#[tokio::test]
async fn kv2_invalid_path_gets_the_versioned_kv_warning() {
    let v = vault().await;
    let raw = v.raw("GET", "/v1/secret/foo", Some(&v.root), None).await;
    assert_eq!(raw.status, 404);
    let body = raw.json();
    assert_eq!(body["data"], Value::Null);
    assert_eq!(
        body["warnings"],
        json!([
            "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation."
        ])
    );
    let raw = v
        .raw("PUT", "/v1/secret/foo", Some(&v.root), Some(r#"{"a":"b"}"#))
        .await;
    assert_eq!(raw.status, 404);
    assert!(
        raw.json()["warnings"][0]
            .as_str()
            .unwrap_or_default()
            .contains("'vault kv put'")
    );
}

#[tokio::test]
async fn kv2_patch_merges_into_a_new_version() {
    let v = vault().await;
    kv2::set(
        &v.root_client(),
        "secret",
        "p",
        &json!({"a": "1", "b": "2"}),
    )
    .await
    .expect("write");
    let r = reqwest::Client::new()
        .patch(format!("{}/v1/secret/data/p", v.url))
        .header("X-Vault-Token", &v.root)
        .header("Content-Type", "application/merge-patch+json")
        .body(r#"{"data":{"b":null,"c":"3"}}"#)
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 200);
    let now: Value = kv2::read(&v.root_client(), "secret", "p")
        .await
        .expect("read");
    assert_eq!(now, json!({"a": "1", "c": "3"}));
    let raw = v
        .raw(
            "PATCH",
            "/v1/secret/data/p",
            Some(&v.root),
            Some(r#"{"data":{}}"#),
        )
        .await;
    // Without a Content-Type Vault's HTTP layer cannot parse the media type (vault
    // http/logical.go: mime.ParseMediaType); a wrong one is a 415 (the differential suite's
    // kv2-patch-wrong-content-type).
    assert_eq!(
        (raw.status, raw.json()),
        (400, json!({"errors": ["mime: no media type"]}))
    );
}

#[tokio::test]
async fn kv1_mount_read_write_list_delete() {
    let v = vault().await;
    let c = v.root_client();
    let mut opts = HashMap::new();
    opts.insert("version".to_owned(), "1".to_owned());
    sys::mount::enable(
        &c,
        "kv1",
        "kv",
        Some(vaultrs::api::sys::requests::EnableEngineRequest::builder().options(opts)),
    )
    .await
    .expect("enable kv1");
    kv1::set(&c, "kv1", "app/x", &HashMap::from([("bar1", "hello1")]))
        .await
        .expect("set");
    kv1::set(&c, "kv1", "app/y", &HashMap::from([("k", "v")]))
        .await
        .expect("set");
    let got: HashMap<String, String> = kv1::get(&c, "kv1", "app/x").await.expect("get");
    assert_eq!(got["bar1"], "hello1");
    let raw = v.raw("GET", "/v1/kv1/app/x", Some(&v.root), None).await;
    let body = raw.json();
    assert_eq!(body["data"], json!({"bar1": "hello1"}));
    assert_eq!(body["lease_duration"], 2_764_800);
    assert_eq!(body["renewable"], false);
    // A write replaces the whole map.
    kv1::set(&c, "kv1", "app/x", &HashMap::from([("only", "this")]))
        .await
        .expect("replace");
    let got: HashMap<String, String> = kv1::get(&c, "kv1", "app/x").await.expect("get");
    assert_eq!(got.len(), 1);
    let keys = kv1::list(&c, "kv1", "app").await.expect("list");
    assert_eq!(keys.data.keys, ["x", "y"]);
    kv1::delete(&c, "kv1", "app/x").await.expect("delete");
    api_error(
        kv1::get::<HashMap<String, String>>(&c, "kv1", "app/x").await,
        404,
        &[],
    );
    let raw = v
        .raw("POST", "/v1/kv1/app/z", Some(&v.root), Some("{}"))
        .await;
    assert_eq!(
        (raw.status, raw.json()),
        (400, json!({"errors": ["missing data fields"]}))
    );
    // ttl in the data sets the lease duration.
    kv1::set(
        &c,
        "kv1",
        "ttl",
        &HashMap::from([("ttl", "1h"), ("a", "b")]),
    )
    .await
    .expect("set");
    assert_eq!(
        v.raw("GET", "/v1/kv1/ttl", Some(&v.root), None)
            .await
            .json()["lease_duration"],
        3600
    );
}

#[tokio::test]
async fn seeded_data_is_served() {
    let v = vault().await;
    v.seed(
        r#"
vault:
  mounts:
    - { path: kvone, type: kv, version: 1 }
  kv:
    - { mount: secret, path: kv1, versions: [ { bar1: old }, { bar1: hello1 } ] }
    - { mount: kvone, path: a, data: { k: v } }
"#,
    )
    .await;
    let c = v.root_client();
    let latest: Value = kv2::read(&c, "secret", "kv1").await.expect("read");
    assert_eq!(latest, json!({"bar1": "hello1"}));
    let got: HashMap<String, String> = kv1::get(&c, "kvone", "a").await.expect("kv1");
    assert_eq!(got["k"], "v");
    let bad = v
        .admin(
            "POST",
            "/seed",
            "vault:\n  mounts:\n    - { path: x, type: kv, versoin: 2 }\n",
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.text.contains("versoin"), "{}", bad.text);
}

#[tokio::test]
async fn state_survives_a_restart() {
    use secretbench_emulators::{Options, start};
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options {
        vault: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        state_dir: Some(dir.path().to_owned()),
        ..Options::default()
    };
    let first = start(options.clone()).await.expect("start");
    let url = first.url("vault").expect("url").to_owned();
    let client = vaultrs::client::VaultClient::new(
        vaultrs::client::VaultClientSettingsBuilder::default()
            .address(&url)
            .token("root")
            .build()
            .expect("settings"),
    )
    .expect("client");
    kv2::set(&client, "secret", "kept", &json!({"a": "b"}))
        .await
        .expect("write");
    first.shutdown().await;
    let second = start(options).await.expect("restart");
    let url = second.url("vault").expect("url").to_owned();
    let client = vaultrs::client::VaultClient::new(
        vaultrs::client::VaultClientSettingsBuilder::default()
            .address(&url)
            .token("root")
            .build()
            .expect("settings"),
    )
    .expect("client");
    let got: Value = kv2::read(&client, "secret", "kept")
        .await
        .expect("read after restart");
    assert_eq!(got, json!({"a": "b"}));
    second.shutdown().await;
}
