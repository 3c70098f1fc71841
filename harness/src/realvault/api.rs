//! Calls to a Vault HTTP API (the real server or the emulator: the same wire) with a token:
//! `X-Vault-Token`, JSON bodies, and Vault's `{"errors": [...]}` kept in the error.

use std::time::Duration;

use serde_json::Value;

/// One Vault server as a client sees it.
#[derive(Debug, Clone)]
pub struct VaultApi {
    http: reqwest::Client,
    url: String,
    token: String,
    /// `X-Vault-Namespace` on every call (a Vault Enterprise/HCP namespace; the emulator's
    /// tenants), when set.
    namespace: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Vault {call}: {source}")]
    Http {
        call: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("Vault {call} answered {status}: {body}")]
    Status {
        call: String,
        status: u16,
        body: String,
    },
    #[error("Vault client: {0}")]
    Client(String),
}

const TIMEOUT: Duration = Duration::from_secs(10);

impl VaultApi {
    /// `url` is `http://host:port` (no `/v1`).
    pub fn new(url: &str, token: &str) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| ApiError::Client(e.to_string()))?;
        Ok(Self {
            http,
            url: url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            namespace: None,
        })
    }

    /// The same server, every call inside namespace `namespace`.
    pub fn in_namespace(&self, namespace: &str) -> Self {
        Self {
            namespace: Some(namespace.to_owned()),
            ..self.clone()
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// `method /v1/<path>` with `body` as JSON; the answer's JSON (`Null` for a 204), or the
    /// status and body of an answer that is not 2xx.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let call = format!("{method} {path}");
        let mut req = self
            .http
            .request(method, format!("{}/v1/{path}", self.url))
            .header("x-vault-token", &self.token);
        if let Some(ns) = &self.namespace {
            req = req.header("x-vault-namespace", ns);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|source| ApiError::Http {
            call: call.clone(),
            source,
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|source| ApiError::Http {
            call: call.clone(),
            source,
        })?;
        if !(200..300).contains(&status) {
            return Err(ApiError::Status {
                call,
                status,
                body: text,
            });
        }
        Ok(if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        })
    }

    pub async fn write(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn read(&self, path: &str) -> Result<Value, ApiError> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, ApiError> {
        self.call(reqwest::Method::DELETE, path, None).await
    }
}
