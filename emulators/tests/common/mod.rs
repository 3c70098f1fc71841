//! Shared test support: an in-process emulator on an ephemeral port, official SDK clients pointed
//! at it, and a raw HTTP helper for requests no SDK would send.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.
#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use secretbench_emulators::{Options, Running, start};

pub struct Env {
    pub running: Running,
    pub url: String,
}

pub async fn emulator() -> Env {
    emulator_with(Options::ephemeral()).await
}

pub async fn emulator_with(options: Options) -> Env {
    let running = start(options).await.expect("emulators start");
    let url = running.url("aws").expect("aws endpoint").to_owned();
    Env { running, url }
}

pub async fn sdk_config(url: &str, region: &str, credentials: Credentials) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new(region.to_owned()))
        .credentials_provider(credentials)
        // Tests assert on the first answer; SDK retries would hide injected faults.
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

pub fn static_credentials() -> Credentials {
    Credentials::new("AKIATESTTESTTEST", "test-secret-key", None, None, "static")
}

impl Env {
    pub async fn config(&self, region: &str) -> SdkConfig {
        sdk_config(&self.url, region, static_credentials()).await
    }

    pub async fn secretsmanager(&self, region: &str) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.config(region).await)
    }

    pub async fn ssm(&self, region: &str) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.config(region).await)
    }

    pub async fn sts(&self, region: &str) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.config(region).await)
    }

    /// A request to the admin API (`path` after `/_secretbench`), carrying the admin token.
    pub fn admin_request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request =
            reqwest::Client::new().request(method, format!("{}/_secretbench{path}", self.url));
        match self.running.admin_token() {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Applies a seed document through the admin API.
    pub async fn seed(&self, yaml: &str) {
        let response = self
            .admin_request(reqwest::Method::POST, "/seed")
            .body(yaml.to_owned())
            .send()
            .await
            .expect("seed request");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "seed refused: {status} {text}");
    }

    /// A raw AWS JSON 1.1 call with no signature; returns status, error-type-or-None and body.
    pub async fn raw_json(&self, target: &str, body: &str) -> RawResponse {
        let response = reqwest::Client::new()
            .post(&self.url)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", target)
            .body(body.to_owned())
            .send()
            .await
            .expect("raw request");
        RawResponse::from(response).await
    }
}

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl RawResponse {
    pub async fn from(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        Self {
            status,
            headers,
            text,
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The `__type` of an AWS JSON error body.
    pub fn error_type(&self) -> String {
        self.json()["__type"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// An unsigned JWT with the given claims (tests that need a signed one build it with jsonwebtoken).
pub fn unsigned_jwt(claims: &serde_json::Value) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"RS256","kid":"test"}"#);
    let payload = b64.encode(serde_json::to_vec(claims).expect("claims"));
    format!("{header}.{payload}.c2lnbmF0dXJl")
}
