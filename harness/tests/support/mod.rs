//! Support shared by the harness's integration tests: loopback helpers, service-account
//! tokens signed by a throwaway cluster key, and a stand-in for the API server's TokenReview
//! endpoint (what Vault's Kubernetes auth calls on login).
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.
#![allow(dead_code)] // Each test target uses its own part.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Value, json};

pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

pub fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

pub fn loopback() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// A call as the vault-csi-provider's Vault client makes it (`X-Vault-Request`, the token in
/// `X-Vault-Token`, a JSON body): the status and the JSON answer (`Null` when there is none).
pub async fn vault_call(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = http()
        .request(method.parse().unwrap(), format!("{base}{path}"))
        .header("X-Vault-Request", "true");
    if let Some(t) = token {
        r = r.header("X-Vault-Token", t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The client tests use for admin and raw calls: never through a proxy from the environment.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A throwaway RSA key standing in for the cluster's service-account signing key.
pub struct ClusterKey {
    pub encoding: jsonwebtoken::EncodingKey,
    pub jwk: Value,
}

pub fn cluster_key(seed: u64) -> ClusterKey {
    use rand_chacha_03::rand_core::SeedableRng;
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    // Seeded for reproducible runs; 1024 bits keeps debug-build key generation quick.
    let mut rng = rand_chacha_03::ChaCha8Rng::seed_from_u64(seed);
    let key = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
    let der = key.to_pkcs1_der().unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    ClusterKey {
        encoding: jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()),
        jwk: json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "sa-key",
            "n": b64.encode(key.n().to_bytes_be()),
            "e": b64.encode(key.e().to_bytes_be()),
        }),
    }
}

/// A projected service-account token as the driver passes it to a provider.
pub fn sa_token(key: &ClusterKey, iss: &str, aud: &str, namespace: &str, sa: &str) -> String {
    let claims = json!({
        "iss": iss,
        "sub": format!("system:serviceaccount:{namespace}:{sa}"),
        "aud": [aud],
        "iat": now(),
        "nbf": now(),
        "exp": now() + 600,
        "kubernetes.io": {
            "namespace": namespace,
            "pod": {"name": "sample-app", "uid": "0b6a3a4e-1111-2222-3333-444455556666"},
            "serviceaccount": {"name": sa, "uid": "5d1c2f3e-7777-8888-9999-000011112222"},
        },
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("sa-key".into());
    jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap()
}

/// A stand-in for the API server's TokenReview endpoint: it records every review and, when the
/// caller is the reviewer, vouches for every token except those it was told to refuse.
#[derive(Clone, Default)]
pub struct FakeApi {
    pub reviews: Arc<Mutex<Vec<Value>>>,
    refused: Arc<Mutex<Vec<String>>>,
}

impl FakeApi {
    /// From now on, reviews of `token` answer `authenticated: false` (a deleted account).
    pub fn refuse(&self, token: &str) {
        self.refused.lock().unwrap().push(token.to_owned());
    }
}

pub const REVIEWER_JWT: &str = "reviewer-token-from-the-secret";

async fn token_review(
    axum::extract::State(api): axum::extract::State<FakeApi>,
    headers: axum::http::HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> (axum::http::StatusCode, axum::Json<Value>) {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    api.reviews
        .lock()
        .unwrap()
        .push(json!({"bearer": bearer, "spec": body["spec"]}));
    if bearer != format!("Bearer {REVIEWER_JWT}") {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            axum::Json(json!({"kind": "Status", "code": 401})),
        );
    }
    // The real API server checks the signature; here the claims are echoed back.
    let token = body["spec"]["token"].as_str().unwrap_or_default();
    if api.refused.lock().unwrap().iter().any(|t| t == token) {
        return (
            axum::http::StatusCode::CREATED,
            axum::Json(
                json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                "status": {"authenticated": false, "error": "[invalid bearer token, service account token has been invalidated]"}}),
            ),
        );
    }
    let payload = token.split('.').nth(1).unwrap_or_default();
    let claims: Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let status = json!({
        "authenticated": true,
        "user": {
            "username": claims["sub"],
            "uid": claims["kubernetes.io"]["serviceaccount"]["uid"],
        },
        "audiences": body["spec"]["audiences"],
    });
    (
        axum::http::StatusCode::CREATED,
        axum::Json(
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status}),
        ),
    )
}

/// Serves [`FakeApi`] on loopback; returns its base URL (the `kubernetes_host`).
pub async fn fake_api() -> (String, FakeApi) {
    let api = FakeApi::default();
    let app = axum::Router::new()
        .route(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            axum::routing::post(token_review),
        )
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), api)
}
