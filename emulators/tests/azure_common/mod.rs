//! Shared support for the Azure tests: an in-process emulator on an ephemeral HTTPS port, a
//! reqwest client that trusts its CA and resolves the vault names to it, a credential that gets
//! tokens from the emulator's own Entra token endpoint, and the official SDK clients.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.
#![allow(dead_code)]

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::http::{ClientOptions, RetryOptions, Transport};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use secretbench_emulators::{Options, Running, start};
use std::net::SocketAddr;
use std::sync::Arc;

pub const DEV_HOST: &str = "dev.vault.localhost";

pub struct Az {
    pub running: Running,
    pub addr: SocketAddr,
    pub ca_pem: String,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
}

pub async fn start_emulator() -> Az {
    start_with(Options {
        azure: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        ..Options::default()
    })
    .await
}

pub async fn start_with(options: Options) -> Az {
    let running = start(options).await.expect("emulators start");
    let endpoint = running
        .endpoints
        .get("azure")
        .expect("azure endpoint")
        .clone();
    let addr: SocketAddr = endpoint
        .url
        .strip_prefix("https://")
        .expect("https url")
        .parse()
        .expect("addr");
    let ca_file = endpoint.info["caFile"].as_str().expect("caFile");
    let ca_pem = std::fs::read_to_string(ca_file).expect("read CA");
    let field = |k: &str| endpoint.info[k].as_str().expect(k).to_owned();
    Az {
        addr,
        ca_pem,
        tenant_id: field("tenantId"),
        client_id: field("clientId"),
        client_secret: field("clientSecret"),
        running,
    }
}

impl Az {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `https://dev.vault.localhost:PORT`
    pub fn vault_url(&self) -> String {
        self.vault_url_of(DEV_HOST)
    }

    pub fn vault_url_of(&self, host: &str) -> String {
        format!("https://{host}:{}", self.port())
    }

    pub fn login_url(&self) -> String {
        format!("https://localhost:{}", self.port())
    }

    /// A client trusting only the emulator's CA, with the vault names resolved to it.
    pub fn http(&self) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA pem");
        let mut builder = reqwest::Client::builder()
            .tls_certs_only([ca])
            .resolve(DEV_HOST, self.addr);
        for host in [
            "other.vault.localhost",
            "nope.vault.localhost",
            "kv1.vault.kv.test",
            "login.kv.test",
        ] {
            builder = builder.resolve(host, self.addr);
        }
        builder.build().expect("client")
    }

    pub fn credential(&self) -> Arc<dyn TokenCredential> {
        self.credential_for(&self.client_id, &self.client_secret)
    }

    pub fn credential_for(&self, client_id: &str, secret: &str) -> Arc<dyn TokenCredential> {
        Arc::new(EmulatorCredential {
            http: self.http(),
            token_url: format!("{}/{}/oauth2/v2.0/token", self.login_url(), self.tenant_id),
            client_id: client_id.to_owned(),
            client_secret: secret.to_owned(),
        })
    }

    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            transport: Some(Transport::new(Arc::new(self.http()))),
            // Tests assert on the first answer; retries would hide it.
            retry: RetryOptions::none(),
            ..ClientOptions::default()
        }
    }

    pub fn secrets(&self) -> SecretClient {
        self.secrets_with(self.credential(), &self.vault_url())
    }

    pub fn secrets_with(&self, credential: Arc<dyn TokenCredential>, url: &str) -> SecretClient {
        SecretClient::new(
            url,
            credential,
            Some(SecretClientOptions {
                client_options: self.client_options(),
                ..SecretClientOptions::default()
            }),
        )
        .expect("secret client")
    }

    /// A token for the dev principal, straight from the token endpoint.
    pub async fn token(&self) -> String {
        let response = self
            .http()
            .post(format!(
                "{}/{}/oauth2/v2.0/token",
                self.login_url(),
                self.tenant_id
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.as_str()),
                (
                    "scope",
                    &format!("https://vault.localhost:{}/.default", self.port()),
                ),
            ]))
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.expect("json");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// A request to the admin API (`path` after `/_secretbench`), carrying the admin token.
    pub fn admin_request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http().request(
            method,
            format!("https://127.0.0.1:{}/_secretbench{path}", self.port()),
        );
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
}

/// Client-secret credential against the emulator's token endpoint (azure_identity's own needs
/// an https authority and is not what is under test here).
#[derive(Debug)]
pub struct EmulatorCredential {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: String,
}

#[async_trait::async_trait]
impl TokenCredential for EmulatorCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let response = self
            .http
            .post(&self.token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.as_str()),
                ("scope", &scopes.join(" ")),
            ]))
            .send()
            .await
            .map_err(|e| {
                azure_core::Error::with_message(azure_core::error::ErrorKind::Io, e.to_string())
            })?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.map_err(|e| {
            azure_core::Error::with_message(
                azure_core::error::ErrorKind::DataConversion,
                e.to_string(),
            )
        })?;
        if status != 200 {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                format!("token endpoint said {status}: {body}"),
            ));
        }
        let expires_in = body["expires_in"].as_i64().expect("numeric expires_in");
        Ok(AccessToken::new(
            Secret::new(body["access_token"].as_str().unwrap_or_default().to_owned()),
            azure_core::time::OffsetDateTime::now_utc()
                + azure_core::time::Duration::seconds(expires_in),
        ))
    }
}

/// Status and Key Vault error code of a failed SDK call.
pub fn kv_error(err: &azure_core::Error) -> (u16, String) {
    match err.kind() {
        azure_core::error::ErrorKind::HttpResponse {
            status, error_code, ..
        } => (u16::from(*status), error_code.clone().unwrap_or_default()),
        other => panic!("not an HTTP error: {other:?} {err}"),
    }
}

/// A form-encoded body (reqwest's `form` needs a feature the workspace does not enable).
pub fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("form")
}
