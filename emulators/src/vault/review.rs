//! The client side of Kubernetes' TokenReview API
//! (`POST <host>/apis/authentication.k8s.io/v1/tokenreviews`), which the Kubernetes auth method
//! asks whether a service account JWT is genuine.

use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// One review to ask for.
#[derive(Debug, Clone)]
pub struct Request {
    pub host: String,
    /// PEM bundle that signs the API server's certificate; empty = the platform's roots.
    pub ca_pem: String,
    /// The bearer token of the call: the reviewer JWT, or the login JWT itself.
    pub bearer: String,
    pub token: String,
    pub audiences: Vec<String>,
}

/// What the API server said about the token.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Status {
    #[serde(default)]
    pub authenticated: bool,
    #[serde(default)]
    pub user: User,
    #[serde(default)]
    pub audiences: Vec<String>,
    #[serde(default)]
    pub error: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct User {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub uid: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("invalid kubernetes_ca_cert: {0}")]
    Ca(String),
    #[error("cannot build the TokenReview client: {0}")]
    Client(String),
    #[error("TokenReview request failed: {0}")]
    Transport(String),
    #[error("TokenReview answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("TokenReview answer is not valid: {0}")]
    Decode(String),
}

#[derive(Debug, Default)]
pub struct Reviewer;

impl Reviewer {
    pub async fn review(&self, req: &Request) -> Result<Status, ReviewError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30));
        if !req.ca_pem.trim().is_empty() {
            let certs = reqwest::Certificate::from_pem_bundle(req.ca_pem.as_bytes())
                .map_err(|e| ReviewError::Ca(e.to_string()))?;
            builder = builder.tls_certs_only(certs);
        }
        let client = builder
            .build()
            .map_err(|e| ReviewError::Client(e.to_string()))?;
        let url = format!(
            "{}/apis/authentication.k8s.io/v1/tokenreviews",
            req.host.trim_end_matches('/')
        );
        let body = json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": { "token": req.token, "audiences": req.audiences },
        });
        let response = client
            .post(&url)
            .bearer_auth(&req.bearer)
            .json(&body)
            .send()
            .await
            .map_err(|e| ReviewError::Transport(e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| ReviewError::Transport(e.to_string()))?;
        if !status.is_success() {
            return Err(ReviewError::Status {
                status: status.as_u16(),
                body: text,
            });
        }
        #[derive(Deserialize)]
        struct Review {
            #[serde(default)]
            status: Status,
        }
        let review: Review =
            serde_json::from_str(&text).map_err(|e| ReviewError::Decode(e.to_string()))?;
        Ok(review.status)
    }
}
