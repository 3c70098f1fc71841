//! The Kubernetes auth method, with a small TokenReview endpoint standing in for the API server.
// A failed expectation is the test failing, with the reason in its message.
#![allow(clippy::expect_used)]

mod vault_support;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use vault_support::{Vault, api_error, sa_jwt, vault};
use vaultrs::api::auth::kubernetes::requests::CreateKubernetesRoleRequest;
use vaultrs::{auth, kv2, sys, token};

const REVIEWER: &str = "reviewer-jwt";

#[derive(Clone, Default)]
struct FakeApi {
    /// Tokens the fake cluster considers genuine: token → (username, uid).
    valid: Arc<Mutex<Vec<(String, String, String)>>>,
    seen: Arc<Mutex<Vec<Value>>>,
}

async fn token_review(
    State(api): State<FakeApi>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    api.seen
        .lock()
        .expect("lock")
        .push(json!({"bearer": bearer, "body": body}));
    if bearer != format!("Bearer {REVIEWER}") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"kind": "Status", "status": "Failure", "code": 401})),
        );
    }
    let token = body["spec"]["token"].as_str().unwrap_or_default();
    let audiences = body["spec"]["audiences"].clone();
    let found = api
        .valid
        .lock()
        .expect("lock")
        .iter()
        .find(|(t, _, _)| t == token)
        .cloned();
    let status = match found {
        Some((_, username, uid)) => {
            json!({"authenticated": true, "user": {"username": username, "uid": uid}, "audiences": audiences})
        }
        None => json!({"authenticated": false, "error": "token is not valid"}),
    };
    (
        StatusCode::CREATED,
        Json(
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status}),
        ),
    )
}

async fn fake_api() -> (String, FakeApi) {
    let api = FakeApi::default();
    let app = axum::Router::new()
        .route(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            post(token_review),
        )
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), api)
}

async fn setup() -> (Vault, FakeApi) {
    let v = vault().await;
    let (host, api) = fake_api().await;
    let root = v.root_client();
    sys::auth::enable(&root, "kubernetes", "kubernetes", None)
        .await
        .expect("enable");
    // Outside a pod, with no CA given, Vault reads the pod's CA file and refuses the config.
    let local = v
        .raw(
            "POST",
            "/v1/auth/kubernetes/config",
            Some(&v.root),
            Some(&json!({"kubernetes_host": host, "token_reviewer_jwt": REVIEWER}).to_string()),
        )
        .await;
    assert_eq!(
        (local.status, local.json()),
        (
            400,
            json!({"errors": ["open /var/run/secrets/kubernetes.io/serviceaccount/ca.crt: no such file or directory"]})
        )
    );
    // vaultrs has no setter for token_reviewer_jwt, so the config goes in raw; a Vault outside
    // the cluster is told not to look for the pod's files.
    let cfg = v
        .raw(
            "POST",
            "/v1/auth/kubernetes/config",
            Some(&v.root),
            Some(
                &json!({"kubernetes_host": host, "token_reviewer_jwt": REVIEWER, "disable_local_ca_jwt": true})
                    .to_string(),
            ),
        )
        .await;
    assert_eq!(cfg.status, 204, "{}", cfg.text);
    auth::kubernetes::role::create(
        &root,
        "kubernetes",
        "kv-role",
        Some(
            CreateKubernetesRoleRequest::builder()
                .bound_service_account_names(vec!["nginx-*".to_owned()])
                .bound_service_account_namespaces(vec!["test".to_owned()])
                .audience("vault")
                .token_policies(vec!["kv".to_owned()])
                .token_ttl("20m"),
        ),
    )
    .await
    .expect("role");
    sys::policy::set(
        &root,
        "kv",
        r#"path "secret/*" { capabilities = ["read"] }"#,
    )
    .await
    .expect("policy");
    kv2::set(&root, "secret", "kv1", &json!({"bar1": "hello1"}))
        .await
        .expect("secret");
    (v, api)
}

fn register(api: &FakeApi, jwt: &str, ns: &str, name: &str, uid: &str) {
    api.valid.lock().expect("lock").push((
        jwt.to_owned(),
        format!("system:serviceaccount:{ns}:{name}"),
        uid.to_owned(),
    ));
}

#[tokio::test]
async fn login_reviews_the_token_and_the_token_reads_secrets() {
    let (v, api) = setup().await;
    let jwt = sa_jwt("test", "nginx-kv", "uid-1", &["vault"]);
    register(&api, &jwt, "test", "nginx-kv", "uid-1");
    let anon = v.client("");
    let auth = auth::kubernetes::login(&anon, "kubernetes", "kv-role", &jwt)
        .await
        .expect("login");
    assert_eq!(auth.policies, ["default", "kv"]);
    assert_eq!(auth.lease_duration, 1200);
    assert!(auth.renewable && auth.orphan);
    let meta = auth.metadata.clone().unwrap_or_default();
    assert_eq!(meta["role"], "kv-role");
    assert_eq!(meta["service_account_name"], "nginx-kv");
    assert_eq!(meta["service_account_namespace"], "test");
    assert_eq!(meta["service_account_uid"], "uid-1");
    let seen = api.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["bearer"], format!("Bearer {REVIEWER}"));
    assert_eq!(seen[0]["body"]["kind"], "TokenReview");
    assert_eq!(seen[0]["body"]["spec"]["token"], jwt.as_str());
    assert_eq!(seen[0]["body"]["spec"]["audiences"], json!(["vault"]));
    let me = v.client(&auth.client_token);
    let got: Value = kv2::read(&me, "secret", "kv1")
        .await
        .expect("read with login token");
    assert_eq!(got, json!({"bar1": "hello1"}));
    let info = token::lookup_self(&me).await.expect("lookup");
    assert_eq!(info.path, "auth/kubernetes/login");
    assert_eq!(info.display_name, "kubernetes-test-nginx-kv");
    // The agent's renewal call answers with an auth block.
    let renewed = token::renew_self(&me, Some("10m")).await.expect("renew");
    assert_eq!(renewed.lease_duration, 600);
}

#[tokio::test]
async fn login_refusals_use_vault_messages() {
    let (v, api) = setup().await;
    let anon = v.client("");
    let good = sa_jwt("test", "nginx-kv", "uid-1", &["vault"]);
    register(&api, &good, "test", "nginx-kv", "uid-1");
    api_error(
        auth::kubernetes::login(&anon, "kubernetes", "nope", &good).await,
        400,
        &["invalid role name \"nope\""],
    );
    let raw = v
        .raw(
            "POST",
            "/v1/auth/kubernetes/login",
            None,
            Some(r#"{"jwt":"x"}"#),
        )
        .await;
    assert_eq!(
        (raw.status, raw.json()),
        (400, json!({"errors": ["missing role"]}))
    );
    let raw = v
        .raw(
            "POST",
            "/v1/auth/kubernetes/login",
            None,
            Some(r#"{"role":"kv-role"}"#),
        )
        .await;
    assert_eq!(
        (raw.status, raw.json()),
        (400, json!({"errors": ["missing jwt"]}))
    );
    let wrong_name = sa_jwt("test", "other-sa", "uid-2", &["vault"]);
    api_error(
        auth::kubernetes::login(&anon, "kubernetes", "kv-role", &wrong_name).await,
        403,
        &["service account name not authorized"],
    );
    let wrong_ns = sa_jwt("prod", "nginx-kv", "uid-3", &["vault"]);
    api_error(
        auth::kubernetes::login(&anon, "kubernetes", "kv-role", &wrong_ns).await,
        403,
        &["namespace not authorized"],
    );
    let wrong_aud = sa_jwt(
        "test",
        "nginx-kv",
        "uid-1",
        &["https://kubernetes.default.svc"],
    );
    api_error(
        auth::kubernetes::login(&anon, "kubernetes", "kv-role", &wrong_aud).await,
        403,
        &["invalid audience (aud) claim: audience claim does not match any expected audience"],
    );
    // Claims fine, but the cluster does not vouch for the token.
    let forged = sa_jwt("test", "nginx-web", "uid-9", &["vault"]);
    api_error(
        auth::kubernetes::login(&anon, "kubernetes", "kv-role", &forged).await,
        403,
        &["permission denied"],
    );
    // The cluster knows the token but as another account.
    let mismatched = sa_jwt("test", "nginx-db", "uid-5", &["vault"]);
    register(&api, &mismatched, "test", "nginx-other", "uid-5");
    api_error(
        auth::kubernetes::login(&anon, "kubernetes", "kv-role", &mismatched).await,
        403,
        &["permission denied"],
    );
    // An unreachable API server is a refusal too, not a crash.
    let cfg = v
        .raw(
            "POST",
            "/v1/auth/kubernetes/config",
            Some(&v.root),
            Some(r#"{"kubernetes_host":"http://127.0.0.1:1","disable_local_ca_jwt":true}"#),
        )
        .await;
    assert_eq!(cfg.status, 204, "reconfigure: {}", cfg.text);
    api_error(
        auth::kubernetes::login(&anon, "kubernetes", "kv-role", &good).await,
        403,
        &["permission denied"],
    );
    let raw = v
        .raw(
            "POST",
            "/v1/auth/kubernetes/config",
            Some(&v.root),
            Some(r#"{"kubernetes_ca_cert":"x"}"#),
        )
        .await;
    assert_eq!(
        (raw.status, raw.json()),
        (400, json!({"errors": ["no host provided"]}))
    );
}

#[tokio::test]
async fn config_and_role_reads() {
    let (v, _api) = setup().await;
    let root = v.root_client();
    let cfg = auth::kubernetes::read_config(&root, "kubernetes")
        .await
        .expect("config");
    assert!(cfg.disable_iss_validation);
    let raw = v
        .raw("GET", "/v1/auth/kubernetes/config", Some(&v.root), None)
        .await
        .json();
    assert_eq!(raw["data"]["token_reviewer_jwt_set"], true);
    assert!(raw["data"].get("token_reviewer_jwt").is_none());
    let role = auth::kubernetes::role::read(&root, "kubernetes", "kv-role")
        .await
        .expect("role");
    assert_eq!(role.bound_service_account_names, ["nginx-*"]);
    assert_eq!(role.token_ttl, 1200);
    assert_eq!(role.token_policies, ["kv"]);
    let roles = auth::kubernetes::role::list(&root, "kubernetes")
        .await
        .expect("list");
    assert_eq!(roles.keys, ["kv-role"]);
    // A role without an audience is accepted with Vault's warning.
    let raw = v
        .raw("POST", "/v1/auth/kubernetes/role/noaud", Some(&v.root), Some(r#"{"bound_service_account_names":"a","bound_service_account_namespaces":"b","policies":"kv","ttl":"20m"}"#))
        .await;
    assert_eq!(raw.status, 200);
    assert!(
        raw.json()["warnings"][0]
            .as_str()
            .unwrap_or_default()
            .starts_with("Role noaud does not have an audience configured")
    );
    let raw = v
        .raw(
            "POST",
            "/v1/auth/kubernetes/role/bad",
            Some(&v.root),
            Some(r#"{"bound_service_account_names":"a"}"#),
        )
        .await;
    assert_eq!(
        (raw.status, raw.json()),
        (
            400,
            json!({"errors": ["\"bound_service_account_namespaces\" can not be empty if \"bound_service_account_namespace_selector\" is not set"]})
        )
    );
}

#[tokio::test]
async fn seeded_kubernetes_auth_logs_in() {
    let v = vault().await;
    let (host, api) = fake_api().await;
    v.seed(&format!(
        r#"
vault:
  policies:
    - name: kv
      rules: 'path "secret/*" {{ capabilities = ["read"] }}'
  auth:
    - path: kubernetes
      type: kubernetes
      config: {{ kubernetesHost: "{host}", tokenReviewerJwt: {REVIEWER}, disableLocalCaJwt: true }}
      roles:
        - name: kv-role
          boundServiceAccountNames: [nginx-kv]
          boundServiceAccountNamespaces: [test]
          audience: vault
          policies: [kv]
          ttl: 20m
"#
    ))
    .await;
    let jwt = sa_jwt("test", "nginx-kv", "u", &["vault"]);
    register(&api, &jwt, "test", "nginx-kv", "u");
    let auth = auth::kubernetes::login(&v.client(""), "kubernetes", "kv-role", &jwt)
        .await
        .expect("login");
    assert_eq!(auth.lease_duration, 1200);
}
