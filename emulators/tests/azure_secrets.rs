//! Key Vault secrets through the official Rust SDK (azure_security_keyvault_secrets) over TLS,
//! trusting only the emulator's CA, with tokens from the emulator's Entra token endpoint.
#![allow(clippy::expect_used)] // a failed expectation is the test failing

mod azure_common;

use azure_common::{Az, kv_error, start_emulator};
use azure_security_keyvault_secrets::ResourceExt;
use azure_security_keyvault_secrets::models::{
    SecretAttributes, SecretClientGetSecretOptions, SecretClientListSecretPropertiesOptions,
    SecretClientUpdateSecretPropertiesOptions, SetSecretParameters,
    UpdateSecretPropertiesParameters,
};
use futures::TryStreamExt;
use std::collections::HashMap;

async fn set(az: &Az, name: &str, value: &str) -> String {
    let params = SetSecretParameters {
        value: Some(value.into()),
        content_type: Some("text/plain".into()),
        tags: Some(HashMap::from([("team".into(), "bench".into())])),
        ..Default::default()
    };
    let secret = az
        .secrets()
        .set_secret(name, params.try_into().expect("body"), None)
        .await
        .expect("set")
        .into_model()
        .expect("model");
    assert_eq!(secret.value.as_deref(), Some(value));
    secret.resource_id().expect("id").version.expect("version")
}

#[tokio::test]
async fn ready_line_names_the_ca_the_dev_vault_and_the_dev_principal() {
    let az = start_emulator().await;
    let endpoint = &az.running.endpoints["azure"];
    assert!(endpoint.url.starts_with("https://127.0.0.1:"));
    assert_eq!(endpoint.info["vaults"][0], az.vault_url().as_str());
    assert!(az.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(az.client_secret.len(), 40);
    assert_eq!(az.tenant_id.len(), 36);
}

#[tokio::test]
async fn the_first_unauthenticated_call_gets_key_vaults_challenge() {
    let az = start_emulator().await;
    let response = az
        .http()
        .get(format!(
            "{}/secrets/anything/?api-version=7.4",
            az.vault_url()
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(
        challenge,
        format!(
            r#"Bearer authorization="https://localhost:{port}/{tenant}", resource="https://vault.localhost:{port}""#,
            port = az.port(),
            tenant = az.tenant_id
        )
    );
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "Unauthorized");
    assert_eq!(
        body["error"]["message"],
        "AKV10000: Request is missing a Bearer or PoP token."
    );
}

#[tokio::test]
async fn set_get_latest_and_by_version_update_and_list_versions() {
    let az = start_emulator().await;
    let client = az.secrets();
    let v1 = set(&az, "db-password", "one").await;
    let v2 = set(&az, "db-password", "two").await;
    assert_eq!(v1.len(), 32);
    assert_ne!(v1, v2);

    let latest = client
        .get_secret("DB-PASSWORD", None)
        .await
        .expect("get latest")
        .into_model()
        .expect("model");
    assert_eq!(latest.value.as_deref(), Some("two"));
    assert_eq!(latest.content_type.as_deref(), Some("text/plain"));
    assert_eq!(
        latest.tags.as_ref().map(|t| t["team"].as_str()),
        Some("bench")
    );
    let attrs = latest.attributes.expect("attributes");
    assert_eq!(attrs.enabled, Some(true));
    assert_eq!(attrs.recoverable_days, Some(90));
    assert_eq!(
        latest.id.as_deref(),
        Some(format!("{}/secrets/db-password/{v2}", az.vault_url()).as_str())
    );

    let old = client
        .get_secret(
            "db-password",
            Some(SecretClientGetSecretOptions {
                secret_version: Some(v1.clone()),
                ..Default::default()
            }),
        )
        .await
        .expect("get v1")
        .into_model()
        .expect("model");
    assert_eq!(old.value.as_deref(), Some("one"));

    // Disable v1: it stays listed but cannot be read.
    let update = UpdateSecretPropertiesParameters {
        content_type: Some("application/json".into()),
        secret_attributes: Some(SecretAttributes {
            enabled: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    };
    let updated = client
        .update_secret_properties(
            "db-password",
            update.try_into().expect("body"),
            Some(SecretClientUpdateSecretPropertiesOptions {
                secret_version: Some(v1.clone()),
                ..Default::default()
            }),
        )
        .await
        .expect("update")
        .into_model()
        .expect("model");
    assert_eq!(updated.value, None, "an update does not return the value");
    assert_eq!(updated.content_type.as_deref(), Some("application/json"));
    let err = client
        .get_secret(
            "db-password",
            Some(SecretClientGetSecretOptions {
                secret_version: Some(v1.clone()),
                ..Default::default()
            }),
        )
        .await
        .expect_err("disabled");
    assert_eq!(kv_error(&err), (403, "Forbidden".to_owned()));

    let versions: Vec<_> = client
        .list_secret_properties_versions("db-password", None)
        .expect("pager")
        .try_collect()
        .await
        .expect("versions");
    assert_eq!(versions.len(), 2);
    let created: Vec<_> = versions
        .iter()
        .map(|v| {
            v.attributes
                .as_ref()
                .and_then(|a| a.created)
                .expect("created")
        })
        .collect();
    assert!(
        created[0] < created[1],
        "created strictly increases: {created:?}"
    );
    assert_eq!(
        versions[0].attributes.as_ref().and_then(|a| a.enabled),
        Some(false)
    );
    let ids: Vec<String> = versions
        .iter()
        .map(|v| v.resource_id().expect("id").version.expect("version"))
        .collect();
    assert_eq!(ids, [v1, v2]);
}

#[tokio::test]
async fn list_pages_through_next_link() {
    let az = start_emulator().await;
    for i in 0..30 {
        set(&az, &format!("s-{i:02}"), "v").await;
    }
    let client = az.secrets();
    let all: Vec<_> = client
        .list_secret_properties(Some(SecretClientListSecretPropertiesOptions {
            maxresults: Some(7),
            ..Default::default()
        }))
        .expect("pager")
        .try_collect()
        .await
        .expect("list");
    assert_eq!(all.len(), 30);
    assert_eq!(
        all[0].id.as_deref(),
        Some(format!("{}/secrets/s-00", az.vault_url()).as_str()),
        "list entries carry the id without version"
    );

    let token = az.token().await;
    let page: serde_json::Value = az
        .http()
        .get(format!(
            "{}/secrets?api-version=7.4&maxresults=25",
            az.vault_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("raw list")
        .json()
        .await
        .expect("json");
    assert_eq!(page["value"].as_array().map(Vec::len), Some(25));
    assert_eq!(
        page["nextLink"],
        format!(
            "{}/secrets?api-version=7.4&$skiptoken=25&maxresults=25",
            az.vault_url()
        )
    );
    let last: serde_json::Value = az
        .http()
        .get(page["nextLink"].as_str().expect("next"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("next page")
        .json()
        .await
        .expect("json");
    assert_eq!(last["value"].as_array().map(Vec::len), Some(5));
    assert!(last["nextLink"].is_null());
}

#[tokio::test]
async fn delete_get_deleted_recover_and_purge() {
    let az = start_emulator().await;
    let client = az.secrets();
    set(&az, "temp", "x").await;
    let deleted = client
        .delete_secret("temp", None)
        .await
        .expect("delete")
        .into_model()
        .expect("model");
    assert_eq!(
        deleted.recovery_id.as_deref(),
        Some(format!("{}/deletedsecrets/temp", az.vault_url()).as_str())
    );
    assert!(deleted.scheduled_purge_date > deleted.deleted_date);

    let err = client.get_secret("temp", None).await.expect_err("gone");
    assert_eq!(kv_error(&err), (404, "SecretNotFound".to_owned()));
    // The name is held by the deleted secret.
    let params = SetSecretParameters {
        value: Some("y".into()),
        ..Default::default()
    };
    let err = client
        .set_secret("temp", params.try_into().expect("body"), None)
        .await
        .expect_err("conflict");
    assert_eq!(kv_error(&err), (409, "Conflict".to_owned()));

    let listed: Vec<_> = client
        .list_deleted_secret_properties(None)
        .expect("pager")
        .try_collect()
        .await
        .expect("deleted list");
    assert_eq!(listed.len(), 1);
    client
        .get_deleted_secret("temp", None)
        .await
        .expect("get deleted");

    client
        .recover_deleted_secret("temp", None)
        .await
        .expect("recover");
    let back = client
        .get_secret("temp", None)
        .await
        .expect("recovered")
        .into_model()
        .expect("model");
    assert_eq!(back.value.as_deref(), Some("x"));

    client
        .delete_secret("temp", None)
        .await
        .expect("delete again");
    client
        .purge_deleted_secret("temp", None)
        .await
        .expect("purge");
    let err = client
        .get_deleted_secret("temp", None)
        .await
        .expect_err("purged");
    assert_eq!(kv_error(&err), (404, "SecretNotFound".to_owned()));
    let err = client
        .purge_deleted_secret("temp", None)
        .await
        .expect_err("nothing to purge");
    assert_eq!(kv_error(&err).0, 404);
    // After a purge the name is free again.
    set(&az, "temp", "fresh").await;
}

#[tokio::test]
async fn errors_for_missing_secrets_and_versions() {
    let az = start_emulator().await;
    let client = az.secrets();
    let err = client.get_secret("nope", None).await.expect_err("missing");
    assert_eq!(kv_error(&err), (404, "SecretNotFound".to_owned()));
    set(&az, "there", "v").await;
    let err = client
        .get_secret(
            "there",
            Some(SecretClientGetSecretOptions {
                secret_version: Some("0".repeat(32)),
                ..Default::default()
            }),
        )
        .await
        .expect_err("no such version");
    assert_eq!(kv_error(&err), (404, "SecretNotFound".to_owned()));
    let err = client
        .delete_secret("nope", None)
        .await
        .expect_err("missing");
    assert_eq!(kv_error(&err), (404, "SecretNotFound".to_owned()));
    let err = client
        .recover_deleted_secret("nope", None)
        .await
        .expect_err("missing");
    assert_eq!(kv_error(&err), (404, "SecretNotFound".to_owned()));
}

#[tokio::test]
async fn access_policies_decide_and_refusals_get_key_vaults_403() {
    let az = start_emulator().await;
    az.seed(
        "azure:\n  principals:\n    - { clientId: reader, clientSecret: pw }\n  vaults:\n    - name: other\n      accessPolicies:\n        - { objectId: reader, permissions: { secrets: [get] } }\n      secrets:\n        - { name: seeded, value: hello }\n",
    )
    .await;
    let reader = az.secrets_with(
        az.credential_for("reader", "pw"),
        &az.vault_url_of("other.vault.localhost"),
    );
    let got = reader
        .get_secret("seeded", None)
        .await
        .expect("reader may get")
        .into_model()
        .expect("model");
    assert_eq!(got.value.as_deref(), Some("hello"));
    let err = reader
        .list_secret_properties(None)
        .expect("pager")
        .try_collect::<Vec<_>>()
        .await
        .expect_err("reader may not list");
    assert_eq!(kv_error(&err), (403, "Forbidden".to_owned()));
    // The dev principal has no policy on this vault.
    let dev = az.secrets_with(az.credential(), &az.vault_url_of("other.vault.localhost"));
    let err = dev.get_secret("seeded", None).await.expect_err("no policy");
    assert_eq!(kv_error(&err), (403, "Forbidden".to_owned()));
    // And the reader none on the dev vault.
    let err = az
        .secrets_with(az.credential_for("reader", "pw"), &az.vault_url())
        .get_secret("x", None)
        .await
        .expect_err("no policy");
    assert_eq!(kv_error(&err), (403, "Forbidden".to_owned()));
}

#[tokio::test]
async fn a_restart_on_the_same_state_dir_keeps_secrets_ca_and_principal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = || secretbench_emulators::Options {
        azure: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        state_dir: Some(dir.path().to_owned()),
        ..Default::default()
    };
    let first = azure_common::start_with(options()).await;
    set(&first, "kept", "value").await;
    let (ca, client_id) = (first.ca_pem.clone(), first.client_id.clone());
    first.running.shutdown().await;
    let second = azure_common::start_with(options()).await;
    assert_eq!(second.ca_pem, ca, "clients keep trusting the same CA");
    assert_eq!(second.client_id, client_id);
    let got = second
        .secrets()
        .get_secret("kept", None)
        .await
        .expect("persisted")
        .into_model()
        .expect("model");
    assert_eq!(got.value.as_deref(), Some("value"));
}
