//! Shared support for the Vault tests: an in-process emulator with only Vault on an ephemeral
//! port, vaultrs clients, raw HTTP, and a stand-in for the Kubernetes TokenReview API.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.
#![allow(dead_code)]

use secretbench_emulators::{Options, Running, start};
use std::net::SocketAddr;
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};

pub struct Vault {
    pub running: Running,
    pub url: String,
    pub root: String,
}

pub async fn vault() -> Vault {
    vault_with(false).await
}

pub async fn vault_with(deterministic: bool) -> Vault {
    let running = start(Options {
        vault: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        deterministic,
        ..Options::default()
    })
    .await
    .expect("emulators start");
    let endpoint = running.endpoints.get("vault").expect("vault endpoint");
    let url = endpoint.url.clone();
    let root = endpoint.info["rootToken"]
        .as_str()
        .expect("root token in ready info")
        .to_owned();
    Vault { running, url, root }
}

impl Vault {
    pub fn client(&self, token: &str) -> VaultClient {
        VaultClient::new(
            VaultClientSettingsBuilder::default()
                .address(&self.url)
                .token(token)
                .build()
                .expect("settings"),
        )
        .expect("client")
    }

    pub fn root_client(&self) -> VaultClient {
        self.client(&self.root)
    }

    /// A raw call; `token` goes in `X-Vault-Token`.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Raw {
        let client = reqwest::Client::new();
        let mut req = client.request(
            reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
            format!("{}{path}", self.url),
        );
        if let Some(t) = token {
            req = req.header("X-Vault-Token", t);
        }
        if let Some(b) = body {
            req = req.body(b.to_owned());
        }
        Self::send(req).await
    }

    async fn send(req: reqwest::RequestBuilder) -> Raw {
        let response = req.send().await.expect("request");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.unwrap_or_default();
        Raw {
            status,
            content_type,
            text,
        }
    }

    /// An admin API call (`path` after `/_secretbench`), carrying the admin token.
    pub async fn admin(&self, method: &str, path: &str, body: &str) -> Raw {
        let mut req = reqwest::Client::new()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                format!("{}/_secretbench{path}", self.url),
            )
            .body(body.to_owned());
        if let Some(token) = self.running.admin_token() {
            req = req.bearer_auth(token);
        }
        Self::send(req).await
    }

    pub async fn seed(&self, yaml: &str) {
        let r = self.admin("POST", "/seed", yaml).await;
        assert!(r.status < 300, "seed refused: {} {}", r.status, r.text);
    }

    pub async fn advance_clock(&self, seconds: u64) {
        let r = self
            .admin(
                "POST",
                "/clock",
                &format!(r#"{{"advanceSeconds": {seconds}}}"#),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub content_type: String,
    pub text: String,
}

impl Raw {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

/// Asserts a vaultrs call failed with this status and these errors.
pub fn api_error<T: std::fmt::Debug>(
    result: Result<T, vaultrs::error::ClientError>,
    code: u16,
    errors: &[&str],
) {
    match result {
        Err(vaultrs::error::ClientError::APIError { code: c, errors: e }) => {
            assert_eq!(c, code, "status, errors {e:?}");
            assert_eq!(e, errors);
        }
        other => panic!("expected API error {code} {errors:?}, got {other:?}"),
    }
}

/// An unsigned service-account JWT with projected claims.
pub fn sa_jwt(namespace: &str, name: &str, uid: &str, aud: &[&str]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = serde_json::json!({
        "aud": aud,
        "iss": "https://kubernetes.default.svc.cluster.local",
        "sub": format!("system:serviceaccount:{namespace}:{name}"),
        "kubernetes.io": {
            "namespace": namespace,
            "serviceaccount": { "name": name, "uid": uid },
        },
    });
    format!(
        "{}.{}.c2ln",
        b64.encode(br#"{"alg":"RS256","kid":"k"}"#),
        b64.encode(claims.to_string())
    )
}
