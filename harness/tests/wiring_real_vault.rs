#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.
//! `--vault real` without a cluster: the Vault wiring's seed applied to a real dev server
//! through its HTTP API, the scenarios' `vault.*` backend actions through the runner's backend
//! pointed at it (as `secretbench run` points it), then the vault-csi-provider's calls: the
//! Kubernetes login (reviewed by a stand-in TokenReview API with the reviewer's JWT) and the
//! reads of the KV v1 and v2 paths its SecretProviderClass names. A reset gives a fresh server
//! with the wiring back.
//!
//! Needs the Vault binary: run by `just vault-diff`.

mod support;

use secretbench::realvault::{self, ROOT_TOKEN, RealVault, free_loopback_address};
use secretbench::runner::backend::Backend;
use secretbench::scenario::model::BackendAction;
use secretbench::stack::Stack;
use secretbench::wiring::{Endpoints, vault};
use secretbench_emulators::{Options, start};
use serde_json::{Value, json};
use support::{ISSUER, REVIEWER_JWT, cluster_key, fake_api, loopback, sa_token, vault_call};

async fn call(
    url: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    vault_call(url, method, &format!("/v1/{path}"), token, body).await
}

fn action(v: Value) -> BackendAction {
    serde_json::from_value(v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real Vault binary (stack/build.sh vault): run `just vault-diff`"]
async fn the_vault_wiring_and_backend_actions_work_on_real_vault() {
    let stack = Stack::locate().unwrap();
    let binary = realvault::binary(&stack).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let real = RealVault::start(
        &binary,
        free_loopback_address().unwrap(),
        &dir.path().join("vault.log"),
    )
    .await
    .unwrap();
    let url = real.url().to_owned();

    // The run's emulators, with the Vault endpoint replaced by the real server, as `run` does.
    let running = start(Options {
        aws: loopback(),
        azure: loopback(),
        vault: loopback(),
        state_dir: Some(dir.path().join("emulators")),
        ..Options::default()
    })
    .await
    .unwrap();
    let mut endpoints = Endpoints::from_ready_line(&running.ready_line()).unwrap();
    endpoints.vault_url = url.clone();
    endpoints.vault_token = ROOT_TOKEN.to_owned();
    let backend = Backend::new(endpoints, "127.0.0.1", "us-east-1").unwrap();

    let (kubernetes, api) = fake_api().await;
    let wiring = vault::wiring(
        &url,
        vault::seed(
            &vault::ApiServer {
                url: kubernetes.clone(),
                ca_pem: String::new(),
            },
            REVIEWER_JWT,
        ),
    );
    real.reset_and_seed(&wiring.seed).await.unwrap();

    // The seed, as real Vault reports it back.
    let (status, mounts) = call(&url, "GET", "sys/mounts", Some(ROOT_TOKEN), None).await;
    assert_eq!(status, 200);
    assert_eq!(mounts["data"]["kv/"]["type"], "kv");
    assert_eq!(mounts["data"]["kv/"]["options"]["version"], "1");
    assert_eq!(mounts["data"]["secret/"]["options"]["version"], "2");
    let (status, policy) = call(
        &url,
        "GET",
        &format!("sys/policies/acl/{}", vault::POLICY),
        Some(ROOT_TOKEN),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(policy["data"]["policy"], vault::POLICY_RULES);
    let (status, config) = call(
        &url,
        "GET",
        "auth/kubernetes/config",
        Some(ROOT_TOKEN),
        None,
    )
    .await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(config["data"]["kubernetes_host"], kubernetes);
    assert_eq!(config["data"]["token_reviewer_jwt_set"], true);
    let (status, role) = call(
        &url,
        "GET",
        &format!("auth/kubernetes/role/{}", vault::ROLE),
        Some(ROOT_TOKEN),
        None,
    )
    .await;
    assert_eq!(status, 200, "{role}");
    assert_eq!(role["data"]["audience"], vault::AUDIENCE);
    assert_eq!(
        role["data"]["bound_service_account_names"],
        json!(["sample-app"])
    );
    assert_eq!(
        role["data"]["bound_service_account_namespaces"],
        json!(["*"])
    );
    assert_eq!(role["data"]["token_policies"], json!([vault::POLICY]));
    assert_eq!(role["data"]["token_ttl"], 1200);

    // The scenarios' backend actions (the vault-kv-v1-v2 scenario's seed step).
    backend
        .act(&action(json!({"vault.kv1.put": {"mount": "kv", "path": "sample-app/legacy", "data": {"api-key": "kv1-4f1c9a"}}})))
        .await
        .unwrap();
    backend
        .act(&action(json!({"vault.kv2.put": {"mount": "secret", "path": "sample-app/db", "data": {"password": "v1"}}})))
        .await
        .unwrap();
    backend
        .act(&action(json!({"vault.kv2.put": {"mount": "secret", "path": "sample-app/db", "data": {"password": "v2"}}})))
        .await
        .unwrap();

    // The provider: login with the driver's token for audience `vault`, then its reads.
    let key = cluster_key(21);
    let jwt = sa_token(
        &key,
        ISSUER,
        vault::AUDIENCE,
        "sb-mount-vault",
        "sample-app",
    );
    let login = json!({"jwt": jwt, "role": vault::ROLE});
    let (status, body) = call(
        &url,
        "POST",
        "auth/kubernetes/login",
        None,
        Some(login.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["auth"]["client_token"].as_str().unwrap().to_owned();
    assert_eq!(body["auth"]["policies"], json!(["default", vault::POLICY]));
    assert_eq!(body["auth"]["lease_duration"], 1200);
    assert_eq!(
        body["auth"]["metadata"]["service_account_namespace"],
        "sb-mount-vault"
    );
    let reviews = api.reviews.lock().unwrap().clone();
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    assert_eq!(reviews[0]["bearer"], format!("Bearer {REVIEWER_JWT}"));
    assert_eq!(reviews[0]["spec"]["token"], jwt);
    assert_eq!(reviews[0]["spec"]["audiences"], json!(["vault"]));

    let (status, body) = call(&url, "GET", "secret/data/sample-app/db", Some(&token), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["data"]["password"], "v2");
    assert_eq!(body["data"]["metadata"]["version"], 2);
    let (status, body) = call(&url, "GET", "kv/sample-app/legacy", Some(&token), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["api-key"], "kv1-4f1c9a");
    // Only reads: the policy grants nothing else.
    let (status, _) = call(
        &url,
        "POST",
        "secret/data/sample-app/db",
        Some(&token),
        Some(json!({"data": {"password": "x"}})),
    )
    .await;
    assert_eq!(status, 403);
    // Another service account is refused by the role before any review.
    let intruder = sa_token(&key, ISSUER, vault::AUDIENCE, "sb-mount-vault", "intruder");
    let (status, _) = call(
        &url,
        "POST",
        "auth/kubernetes/login",
        None,
        Some(json!({"jwt": intruder, "role": vault::ROLE})),
    )
    .await;
    assert_eq!(status, 403);

    // `vault.kv2.delete`: all versions and the metadata.
    backend
        .act(&action(
            json!({"vault.kv2.delete": {"mount": "secret", "path": "sample-app/db"}}),
        ))
        .await
        .unwrap();
    let (status, _) = call(
        &url,
        "GET",
        "secret/metadata/sample-app/db",
        Some(ROOT_TOKEN),
        None,
    )
    .await;
    assert_eq!(status, 404);
    // A write Vault refuses (no such mount) surfaces its answer in the backend's error.
    let e = backend
        .act(&action(
            json!({"vault.kv1.put": {"mount": "nomount", "path": "x", "data": {"a": "b"}}}),
        ))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("answered"), "{e}");

    // Reset between cases: a fresh server (the old token and data are gone), the wiring back.
    real.reset_and_seed(&wiring.seed).await.unwrap();
    let (status, _) = call(&url, "GET", "kv/sample-app/legacy", Some(ROOT_TOKEN), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&url, "GET", "auth/token/lookup-self", Some(&token), None).await;
    assert_eq!(status, 403);
    let (status, body) = call(&url, "POST", "auth/kubernetes/login", None, Some(login)).await;
    assert_eq!(status, 200, "{body}");
    real.stop().await;
}
