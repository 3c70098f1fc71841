//! Acting on the emulators during a scenario: backend actions through each service's own API
//! (Secrets Manager / SSM JSON protocol, Key Vault REST with an Entra token, Vault HTTP API),
//! and fault rules, the journal, reset and seed through the admin API.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::tenancy::Tenants;
use crate::realvault::{ApiError, VaultApi};
use crate::scenario::model::{
    AwsCreateRole, AzureCreateKey, AzureImportCertificate, AzureImportKey, BackendAction,
    CertificateFile, Effect, FaultRule, KeyType, ParameterType, PkiKeyType, Provider,
};
use crate::wiring::Endpoints;
use crate::wiring::aws;
use crate::wiring::azure as az;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("{call}: {source}")]
    Http {
        call: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{call} answered {status}: {body}")]
    Status {
        call: String,
        status: u16,
        body: String,
    },
    #[error(transparent)]
    Vault(#[from] ApiError),
    #[error("{0}")]
    Setup(String),
}

/// HTTP client for the emulators of one run.
#[derive(Debug, Clone)]
pub struct Backend {
    http: reqwest::Client,
    endpoints: Endpoints,
    /// The region used when an action names none.
    default_region: String,
    /// The Key Vault listener's port (vault and login names resolve to the emulator host).
    azure_port: u16,
    /// The Vault the `vault.*` actions write to: `endpoints.vault_url` (the emulator, or the
    /// real server under `--vault real`) with `endpoints.vault_token`.
    vault: VaultApi,
    /// The case's tenants, which its calls go to; `None`: the emulators' defaults.
    tenants: Option<Tenants>,
    /// A case on the defaults that runs alone among its provider's cases: the journal it reads
    /// is what its provider's services journaled after this sequence number (other providers'
    /// cases run meanwhile, and entries that belong to no tenant, like Entra ID's, outlive a
    /// reset of the provider's default tenant).
    alone: Option<(Provider, u64)>,
}

const TIMEOUT: Duration = Duration::from_secs(10);

impl Backend {
    /// `host` is where the emulators listen: the Key Vault names resolve there (the machine
    /// running the harness has no DNS entry for them, just like the cluster).
    pub fn new(
        endpoints: Endpoints,
        host: &str,
        default_region: &str,
    ) -> Result<Self, BackendError> {
        let ca = std::fs::read(&endpoints.azure_ca_file).map_err(|e| {
            BackendError::Setup(format!(
                "reading {}: {e}",
                endpoints.azure_ca_file.display()
            ))
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&ca)
            .map_err(|e| BackendError::Setup(format!("Key Vault CA: {e}")))?;
        let ip: std::net::IpAddr = host
            .parse()
            .map_err(|e| BackendError::Setup(format!("emulator host {host}: {e}")))?;
        // The port in these addresses is ignored: reqwest uses the URL's.
        let addr = SocketAddr::new(ip, 0);
        let azure_port = reqwest::Url::parse(&endpoints.azure_url)
            .ok()
            .and_then(|u| u.port_or_known_default())
            .ok_or_else(|| BackendError::Setup(format!("Key Vault URL {}", endpoints.azure_url)))?;
        let http = az::hostnames()
            .iter()
            .fold(reqwest::Client::builder(), |b, name| b.resolve(name, addr))
            .tls_certs_only(certs)
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| BackendError::Setup(format!("HTTP client: {e}")))?;
        let vault = VaultApi::new(&endpoints.vault_url, &endpoints.vault_token)?;
        Ok(Self {
            http,
            endpoints,
            default_region: default_region.to_owned(),
            azure_port,
            vault,
            tenants: None,
            alone: None,
        })
    }

    /// This backend for one case: AWS calls as a user of the case's account, Vault calls in its
    /// namespace, and the admin API (faults, journal, seed) scoped to its tenants.
    pub fn scoped(&self, tenants: &Tenants) -> Self {
        let vault = match tenants
            .vault
            .as_ref()
            .and_then(crate::wiring::tenant::Tenant::vault_namespace_header)
        {
            Some(ns) => self.vault.in_namespace(ns),
            None => self.vault.clone(),
        };
        Self {
            vault,
            tenants: Some(tenants.clone()),
            ..self.clone()
        }
    }

    /// The AWS account the case's roles and writes belong to.
    pub fn account(&self) -> &str {
        self.tenants
            .as_ref()
            .map_or(aws::ACCOUNT_ID, Tenants::account)
    }

    /// `?tenant=` for the admin API calls about `service`'s requests, in a scoped backend.
    fn tenant_query(&self, service: &str) -> Vec<(&'static str, String)> {
        self.tenants
            .as_ref()
            .and_then(|t| t.for_service(service))
            .map(|t| vec![("tenant", t.id())])
            .unwrap_or_default()
    }

    async fn send(&self, call: &str, req: reqwest::RequestBuilder) -> Result<Value, BackendError> {
        let resp = req.send().await.map_err(|source| BackendError::Http {
            call: call.to_owned(),
            source,
        })?;
        let status = resp.status().as_u16();
        let body = resp.text().await.map_err(|source| BackendError::Http {
            call: call.to_owned(),
            source,
        })?;
        if !(200..300).contains(&status) {
            return Err(BackendError::Status {
                call: call.to_owned(),
                status,
                body,
            });
        }
        Ok(if body.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&body).unwrap_or(Value::String(body))
        })
    }

    /// One AWS JSON-protocol call. The emulator's default (permissive) mode reads the region
    /// from the credential scope and does not recompute the signature.
    async fn aws(
        &self,
        service: &str,
        target: &str,
        region: Option<&str>,
        body: Value,
    ) -> Result<Value, BackendError> {
        let region = region.unwrap_or(&self.default_region);
        // An unknown key acts in the emulator's own account; the case's user in the case's.
        let key = match &self.tenants {
            Some(t) => aws::harness_access_key(t.account()),
            None => "AKIASECRETBENCH".to_owned(),
        };
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={key}/20250101/{region}/{service}/aws4_request, \
             SignedHeaders=content-type;host;x-amz-target, Signature=0"
        );
        let req = self
            .http
            .post(format!("{}/", self.endpoints.aws_url))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", target)
            .header("authorization", auth)
            .body(body.to_string());
        self.send(target, req).await
    }

    /// A Key Vault bearer token for the harness's own principal (client credentials).
    async fn azure_token(&self) -> Result<String, BackendError> {
        let url = format!(
            "https://{}:{}/adfs/oauth2/token",
            az::LOGIN_HOST,
            self.azure_port
        );
        let req = self.http.post(url).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", az::CLIENT_ID),
            ("client_secret", az::CLIENT_SECRET),
            ("resource", &format!("https://{}", az::VAULT_SUFFIX)),
        ]);
        let v = self.send("Entra token", req).await?;
        v["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| {
                BackendError::Setup(format!("Entra token answer has no access_token: {v}"))
            })
    }

    fn secret_url(&self, vault: &str, name: &str) -> String {
        self.keyvault_url(vault, &format!("secrets/{name}"))
    }

    /// A Key Vault URL: `path` under the vault, with the api-version the SDKs send.
    fn keyvault_url(&self, vault: &str, path: &str) -> String {
        format!(
            "https://{}:{}/{path}?api-version=7.4",
            az::vault_host(vault),
            self.azure_port
        )
    }

    /// One authenticated Key Vault call with a JSON body.
    async fn keyvault_post(
        &self,
        call: &str,
        url: String,
        body: &Value,
    ) -> Result<Value, BackendError> {
        let token = self.azure_token().await?;
        let req = self.http.post(url).bearer_auth(token).json(body);
        self.send(call, req).await
    }

    /// An authenticated Key Vault read (`path` under the vault, e.g. `certificates/c1`).
    pub async fn keyvault_get(&self, vault: &str, path: &str) -> Result<Value, BackendError> {
        let token = self.azure_token().await?;
        let req = self
            .http
            .get(self.keyvault_url(vault, path))
            .bearer_auth(token);
        self.send("Key Vault GET", req).await
    }

    /// Runs one backend action whose files (if any) are relative to the working directory.
    pub async fn act(&self, action: &BackendAction) -> Result<(), BackendError> {
        self.act_in(action, Path::new(".")).await
    }

    /// Runs one backend action (never `run`, which the caller expands); files an action names
    /// are relative to the scenario folder `dir`.
    pub async fn act_in(&self, action: &BackendAction, dir: &Path) -> Result<(), BackendError> {
        use BackendAction as A;
        match action {
            A::Run(name) => {
                return Err(BackendError::Setup(format!(
                    "`run: {name}` must be expanded by the runner"
                )));
            }
            A::AwsCreateSecret(a) => {
                self.aws(
                    "secretsmanager",
                    "secretsmanager.CreateSecret",
                    a.region.as_deref(),
                    json!({"Name": a.name, "SecretString": a.secret_string}),
                )
                .await?;
            }
            A::AwsPutSecretValue(a) => {
                self.aws(
                    "secretsmanager",
                    "secretsmanager.PutSecretValue",
                    a.region.as_deref(),
                    json!({"SecretId": a.secret_id, "SecretString": a.secret_string}),
                )
                .await?;
            }
            A::AwsDeleteSecret(a) => {
                self.aws(
                    "secretsmanager",
                    "secretsmanager.DeleteSecret",
                    a.region.as_deref(),
                    json!({"SecretId": a.secret_id, "ForceDeleteWithoutRecovery": a.force_delete_without_recovery}),
                )
                .await?;
            }
            A::AwsPutParameter(a) => {
                let ty = match a.type_ {
                    ParameterType::String => "String",
                    ParameterType::StringList => "StringList",
                    ParameterType::SecureString => "SecureString",
                };
                self.aws(
                    "ssm",
                    "AmazonSSM.PutParameter",
                    a.region.as_deref(),
                    json!({"Name": a.name, "Value": a.value, "Type": ty, "Overwrite": a.overwrite}),
                )
                .await?;
            }
            A::AwsDeleteParameter(a) => {
                self.aws(
                    "ssm",
                    "AmazonSSM.DeleteParameter",
                    a.region.as_deref(),
                    json!({"Name": a.name}),
                )
                .await?;
            }
            A::AwsLabelParameterVersion(a) => {
                let mut body = json!({"Name": a.name, "Labels": a.labels});
                if let Some(v) = a.version {
                    body["ParameterVersion"] = json!(v);
                }
                let out = self
                    .aws(
                        "ssm",
                        "AmazonSSM.LabelParameterVersion",
                        a.region.as_deref(),
                        body,
                    )
                    .await?;
                // SSM answers 200 with the labels it refused; a scenario that asked for them
                // must not go on as if they were attached.
                let invalid = out["InvalidLabels"].as_array().cloned().unwrap_or_default();
                if !invalid.is_empty() {
                    return Err(BackendError::Status {
                        call: "AmazonSSM.LabelParameterVersion".to_owned(),
                        status: 200,
                        body: format!("labels refused (InvalidLabels): {out}"),
                    });
                }
            }
            A::AwsCreateRole(a) => {
                // The emulator serves no IAM API; the role goes in through the admin seed, the
                // same document the wiring's roles use.
                self.seed(&json!({"aws": {"roles": [aws_role(a, self.account())]}}))
                    .await?;
            }
            A::AzureSetSecret(a) => {
                let token = self.azure_token().await?;
                let mut body = json!({"value": a.value});
                if let Some(ct) = &a.content_type {
                    body["contentType"] = json!(ct);
                }
                let req = self
                    .http
                    .put(self.secret_url(&a.vault, &a.name))
                    .bearer_auth(token)
                    .json(&body);
                self.send("Key Vault SetSecret", req).await?;
            }
            A::AzureDeleteSecret(a) => {
                let token = self.azure_token().await?;
                let req = self
                    .http
                    .delete(self.secret_url(&a.vault, &a.name))
                    .bearer_auth(token);
                self.send("Key Vault DeleteSecret", req).await?;
            }
            A::AzureImportCertificate(a) => {
                let body = import_certificate_body(a, dir)?;
                let url = self.keyvault_url(&a.vault, &format!("certificates/{}/import", a.name));
                self.keyvault_post("Key Vault ImportCertificate", url, &body)
                    .await?;
            }
            A::AzureCreateKey(a) => {
                let url = self.keyvault_url(&a.vault, &format!("keys/{}/create", a.name));
                self.keyvault_post("Key Vault CreateKey", url, &create_key_body(a))
                    .await?;
            }
            A::AzureImportKey(a) => {
                let body = import_key_body(a, dir)?;
                let token = self.azure_token().await?;
                let url = self.keyvault_url(&a.vault, &format!("keys/{}", a.name));
                let req = self.http.put(url).bearer_auth(token).json(&body);
                self.send("Key Vault ImportKey", req).await?;
            }
            A::VaultKv2Put(a) => {
                self.vault
                    .write(
                        &format!("{}/data/{}", a.mount, a.path),
                        &json!({"data": a.data}),
                    )
                    .await?;
            }
            A::VaultKv2Delete(a) => {
                // All versions and the metadata: the secret is gone, as `vault kv metadata delete`.
                self.vault
                    .delete(&format!("{}/metadata/{}", a.mount, a.path))
                    .await?;
            }
            A::VaultKv1Put(a) => {
                self.vault
                    .write(&format!("{}/{}", a.mount, a.path), &json!(a.data))
                    .await?;
            }
            A::VaultSecretsEnable(_)
            | A::VaultPolicyWrite(_)
            | A::VaultKubernetesRole(_)
            | A::VaultPkiGenerateRoot(_)
            | A::VaultPkiRole(_)
            | A::VaultDatabaseConfig(_)
            | A::VaultDatabaseRole(_) => {
                if let Some((path, body)) = vault_write(action) {
                    self.vault.write(&path, &body).await?;
                }
            }
        }
        Ok(())
    }

    /// A call to the admin API (`path` after `/_secretbench/`), with the admin token.
    fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.endpoints
            .with_admin_token(self.http.request(method, self.endpoints.admin(path)))
    }

    /// The defaults, as a case of `provider` that runs alone among that provider's cases
    /// sees them.
    /// `since`: the journal's last sequence number when the case started ([`Self::journal_head`]).
    pub fn alone(&self, provider: Provider, since: u64) -> Self {
        Self {
            alone: Some((provider, since)),
            ..self.clone()
        }
    }

    /// The sequence number of the newest journal entry (0 when it is empty).
    pub async fn journal_head(&self) -> Result<u64, BackendError> {
        let v = self
            .send("admin journal", self.admin(reqwest::Method::GET, "journal"))
            .await?;
        Ok(v["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["seq"].as_u64())
            .max()
            .unwrap_or(0))
    }

    /// `since` for a case that runs alone: only what its run journaled.
    fn since_query(&self) -> Vec<(&'static str, String)> {
        self.alone
            .map(|(_, since)| vec![("since", since.to_string())])
            .unwrap_or_default()
    }

    /// Empties one tenant (its state, journal and faults); the default one stays, empty.
    pub async fn reset_tenant(&self, id: &str) -> Result<(), BackendError> {
        let req = self
            .admin(reqwest::Method::POST, "reset")
            .query(&[("tenant", id)]);
        self.send("admin tenant reset", req).await.map(drop)
    }

    /// Empties every emulator (state, journal, faults).
    pub async fn reset(&self) -> Result<(), BackendError> {
        let req = self.admin(reqwest::Method::POST, "reset");
        self.send("admin reset", req).await.map(drop)
    }

    /// Applies a seed document; in a scoped backend each service's section goes to the case's
    /// tenant of that service.
    pub async fn seed(&self, doc: &Value) -> Result<(), BackendError> {
        let Some(sections) = doc.as_object().filter(|m| !m.is_empty()) else {
            return Ok(());
        };
        if self.tenants.is_none() {
            return self.seed_tenant(None, doc).await;
        }
        for (service, section) in sections {
            let tenant = self.tenant_query(service).pop().map(|(_, t)| t);
            let one = json!({ service.as_str(): section });
            self.seed_tenant(tenant.as_deref(), &one).await?;
        }
        Ok(())
    }

    /// `POST seed`, for `tenant` when given.
    pub async fn seed_tenant(&self, tenant: Option<&str>, doc: &Value) -> Result<(), BackendError> {
        let mut req = self
            .admin(reqwest::Method::POST, "seed")
            .header("content-type", "application/json")
            .body(doc.to_string());
        if let Some(t) = tenant {
            req = req.query(&[("tenant", t)]);
        }
        self.send("admin seed", req).await.map(drop)
    }

    /// Creates a tenant (`<service>/<name>`); harmless if it exists.
    pub async fn create_tenant(&self, id: &str) -> Result<(), BackendError> {
        let req = self.admin(reqwest::Method::PUT, &format!("tenants/{id}"));
        self.send("admin tenant create", req).await.map(drop)
    }

    /// Drops a tenant with everything in it (its state, journal and faults).
    pub async fn drop_tenant(&self, id: &str) -> Result<(), BackendError> {
        let req = self.admin(reqwest::Method::DELETE, &format!("tenants/{id}"));
        match self.send("admin tenant drop", req).await {
            Err(BackendError::Status { status: 404, .. }) => Ok(()),
            other => other.map(drop),
        }
    }

    pub async fn add_fault(&self, rule: &FaultRule) -> Result<(), BackendError> {
        let req = self
            .admin(reqwest::Method::POST, "faults")
            .query(&self.tenant_query(&rule.service))
            .json(&fault_spec(rule));
        self.send("admin faults", req).await.map(drop)
    }

    pub async fn clear_faults(&self, service: Option<&str>) -> Result<(), BackendError> {
        match (service, &self.tenants) {
            (None, None) => {
                let req = self.admin(reqwest::Method::DELETE, "faults");
                self.send("admin faults clear", req).await.map(drop)
            }
            (None, Some(tenants)) => {
                for t in tenants.all() {
                    let req = self
                        .admin(reqwest::Method::DELETE, "faults")
                        .query(&[("tenant", t.id())]);
                    self.send("admin faults clear", req).await?;
                }
                Ok(())
            }
            (Some(service), _) => {
                let list = self
                    .send(
                        "admin faults list",
                        self.admin(reqwest::Method::GET, "faults")
                            .query(&self.tenant_query(service)),
                    )
                    .await?;
                for rule in list["rules"].as_array().into_iter().flatten() {
                    if rule["service"] == service
                        && let Some(id) = rule["id"].as_u64()
                    {
                        let req = self.admin(reqwest::Method::DELETE, &format!("faults/{id}"));
                        self.send("admin fault remove", req).await?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Journal entries for one service and operation.
    pub async fn journal(
        &self,
        service: &str,
        operation: &str,
    ) -> Result<Vec<Value>, BackendError> {
        let req = self
            .admin(reqwest::Method::GET, "journal")
            .query(&[("service", service), ("operation", operation)])
            .query(&self.tenant_query(service))
            .query(&self.since_query());
        let v = self.send("admin journal", req).await?;
        Ok(v["entries"].as_array().cloned().unwrap_or_default())
    }

    /// The whole journal (for artifacts): a scoped backend's is its tenants' entries.
    pub async fn journal_all(&self) -> Result<Value, BackendError> {
        let Some(tenants) = &self.tenants else {
            let req = self
                .admin(reqwest::Method::GET, "journal")
                .query(&self.since_query());
            let mut all = self.send("admin journal", req).await?;
            if let (Some((p, _)), Some(entries)) = (self.alone, all["entries"].as_array_mut()) {
                entries.retain(|e| {
                    e["service"]
                        .as_str()
                        .and_then(secretbench_emulators::core::tenant::owner_of)
                        == Some(p.as_str())
                });
            }
            return Ok(all);
        };
        let mut entries = Vec::new();
        for t in tenants.all() {
            let req = self
                .admin(reqwest::Method::GET, "journal")
                .query(&[("tenant", t.id())]);
            let v = self.send("admin journal", req).await?;
            entries.extend(v["entries"].as_array().cloned().unwrap_or_default());
        }
        // One timeline across the tenants.
        entries.sort_by(|a, b| a["time"].as_str().cmp(&b["time"].as_str()));
        Ok(json!({ "entries": entries }))
    }
}

/// A duration as Vault reads one: whole seconds with a unit (Vault's parser takes `90s` as Go's
/// `time.ParseDuration` does).
fn vault_duration(d: crate::scenario::duration::Dur) -> String {
    format!("{}s", d.0.as_secs())
}

/// The Vault API write of a configuring action (`vault.secrets.enable`, `vault.policy.write`,
/// `vault.kubernetes.role`, `vault.pki.*`, `vault.database.*`): its path (after `/v1/`, in the
/// case's namespace) and body, with Vault's own field names. `None` for any other action.
pub fn vault_write(action: &BackendAction) -> Option<(String, Value)> {
    use BackendAction as A;
    let put_duration =
        |body: &mut Value, field: &str, d: Option<crate::scenario::duration::Dur>| {
            if let Some(d) = d {
                body[field] = json!(vault_duration(d));
            }
        };
    Some(match action {
        A::VaultSecretsEnable(a) => {
            let mut body = json!({ "type": a.type_.as_str() });
            if let Some(d) = &a.description {
                body["description"] = json!(d);
            }
            (format!("sys/mounts/{}", a.path.trim_matches('/')), body)
        }
        A::VaultPolicyWrite(a) => (
            format!("sys/policies/acl/{}", a.name),
            json!({ "policy": a.rules }),
        ),
        A::VaultKubernetesRole(a) => {
            let mut body = json!({
                "bound_service_account_names": a.bound_service_account_names,
                "bound_service_account_namespaces": a.bound_service_account_namespaces,
                "policies": a.policies,
            });
            if let Some(aud) = &a.audience {
                body["audience"] = json!(aud);
            }
            put_duration(&mut body, "ttl", a.ttl);
            let mount = a
                .mount
                .as_deref()
                .unwrap_or(crate::wiring::vault::AUTH_MOUNT);
            (format!("auth/{mount}/role/{}", a.name), body)
        }
        A::VaultPkiGenerateRoot(a) => {
            let mut body = json!({ "common_name": a.common_name });
            put_duration(&mut body, "ttl", a.ttl);
            (format!("{}/root/generate/internal", a.mount), body)
        }
        A::VaultPkiRole(a) => {
            let mut body = json!({
                "allowed_domains": a.allowed_domains,
                "allow_subdomains": a.allow_subdomains,
                "allow_bare_domains": a.allow_bare_domains,
                "allow_any_name": a.allow_any_name,
            });
            if let Some(k) = a.key_type {
                body["key_type"] = json!(match k {
                    PkiKeyType::Rsa => "rsa",
                    PkiKeyType::Ec => "ec",
                });
            }
            put_duration(&mut body, "ttl", a.ttl);
            put_duration(&mut body, "max_ttl", a.max_ttl);
            (format!("{}/roles/{}", a.mount, a.name), body)
        }
        A::VaultDatabaseConfig(a) => {
            let mut body = json!({
                "plugin_name": a.plugin_name,
                "allowed_roles": a.allowed_roles,
                // The emulator never dials a database; a real Vault must not either, so the
                // connection can name one that is not there.
                "verify_connection": false,
            });
            for (field, value) in [
                ("connection_url", &a.connection_url),
                ("username", &a.username),
                ("password", &a.password),
            ] {
                if let Some(v) = value {
                    body[field] = json!(v);
                }
            }
            (format!("{}/config/{}", a.mount, a.name), body)
        }
        A::VaultDatabaseRole(a) => {
            let mut body = json!({
                "db_name": a.db_name,
                "creation_statements": a.creation_statements,
            });
            put_duration(&mut body, "default_ttl", a.default_ttl);
            put_duration(&mut body, "max_ttl", a.max_ttl);
            (format!("{}/roles/{}", a.mount, a.name), body)
        }
        _ => return None,
    })
}

/// The body of Key Vault's "Import Certificate" (`POST /certificates/{name}/import`) as the
/// SDKs send it: `value` is the PEM text, or the PKCS#12 bytes base64-encoded; the policy's
/// `secret_props.contentType` says which, and is the content type of the managed secret the
/// Azure provider reads for `objectType: secret`.
pub fn import_certificate_body(
    a: &AzureImportCertificate,
    dir: &Path,
) -> Result<Value, BackendError> {
    use base64::Engine as _;
    let kind = CertificateFile::of(&a.file).ok_or_else(|| {
        BackendError::Setup(format!(
            "azure.importCertificate: {} is neither *.pem nor *.pfx / *.p12",
            a.file
        ))
    })?;
    let path = dir.join(&a.file);
    let bytes = std::fs::read(&path)
        .map_err(|e| BackendError::Setup(format!("reading {}: {e}", path.display())))?;
    let value = match kind {
        CertificateFile::Pem => String::from_utf8(bytes).map_err(|_| {
            BackendError::Setup(format!("{} is not text, so not PEM", path.display()))
        })?,
        CertificateFile::Pkcs12 => base64::engine::general_purpose::STANDARD.encode(bytes),
    };
    let mut body = json!({
        "value": value,
        "policy": {"secret_props": {"contentType": kind.content_type()}},
    });
    if let Some(pwd) = &a.password {
        body["pwd"] = json!(pwd);
    }
    Ok(body)
}

/// The body of Key Vault's "Import Key" (`PUT /keys/{name}`): the key file's JWK as `key`.
pub fn import_key_body(a: &AzureImportKey, dir: &Path) -> Result<Value, BackendError> {
    let jwk = crate::scenario::keyfile::read_jwk(&dir.join(&a.file))
        .map_err(|e| BackendError::Setup(format!("azure.importKey: {e}")))?;
    Ok(json!({ "key": jwk }))
}

/// The body of Key Vault's "Create Key" (`POST /keys/{name}/create`).
pub fn create_key_body(a: &AzureCreateKey) -> Value {
    let mut body = json!({"kty": match a.kty {
        KeyType::Rsa => "RSA",
        KeyType::Ec => "EC",
    }});
    if let Some(size) = a.key_size {
        body["key_size"] = json!(size);
    }
    if let Some(crv) = &a.curve {
        body["crv"] = json!(crv);
    }
    body
}

/// The emulator's seed form of a scenario's `aws.iam.createRole`.
/// `default_account`: the account of a role that names none (the case's).
pub fn aws_role(a: &AwsCreateRole, default_account: &str) -> Value {
    let account = a.account_id.as_deref().unwrap_or(default_account);
    let mut trust = json!({
        "issuer": a.trust.issuer,
        "subjects": a.trust.subjects,
        "subjectsLike": a.trust.subjects_like,
    });
    if let Some(audience) = &a.trust.audience {
        trust["audience"] = json!(audience);
    }
    let policy: Vec<Value> = a
        .policy
        .iter()
        .map(|s| {
            json!({
                "effect": match s.effect.unwrap_or(Effect::Allow) {
                    Effect::Allow => "allow",
                    Effect::Deny => "deny",
                },
                "actions": s.actions,
                "resources": s.resources,
            })
        })
        .collect();
    json!({
        "arn": format!("arn:aws:iam::{account}:role/{}", a.role_name),
        "trust": trust,
        "policy": policy,
    })
}

/// The admin API's rule for a scenario's `faults: { add }`.
pub fn fault_spec(rule: &FaultRule) -> Value {
    let mut spec = BTreeMap::new();
    spec.insert("service", json!(rule.service));
    if let Some(op) = &rule.operation {
        spec.insert("operation", json!(op));
    }
    if let Some(region) = &rule.region {
        spec.insert("region", json!(region));
    }
    if rule.status.is_some() || rule.code.is_some() {
        spec.insert(
            "error",
            json!({
                "status": rule.status.unwrap_or(500),
                "code": rule.code.clone().unwrap_or_else(|| "InternalServiceError".to_owned()),
                "message": "injected by secretbench",
            }),
        );
    }
    if let Some(l) = rule.latency {
        spec.insert("latencyMs", json!(l.0.as_millis() as u64));
    }
    if let Some(n) = rule.first {
        spec.insert("firstN", json!(n));
    }
    json!(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_map_to_the_emulators_seed_and_parse_with_its_parser() {
        let a: AwsCreateRole = serde_json::from_value(json!({
            "roleName": "MySampleAppSecretsManager",
            "trust": {"issuer": "https://kubernetes.default.svc", "subjects": ["system:serviceaccount:ns:sa"]},
            "policy": [{"actions": ["secretsmanager:GetSecretValue"],
                        "resources": ["arn:aws:secretsmanager:us-east-1:123456789012:secret:MyDBSecret-*"]},
                       {"effect": "deny", "actions": ["*"], "resources": ["*"]}]
        }))
        .unwrap();
        let role = aws_role(&a, aws::ACCOUNT_ID);
        assert_eq!(
            role["arn"],
            "arn:aws:iam::123456789012:role/MySampleAppSecretsManager"
        );
        assert_eq!(role["policy"][1]["effect"], "deny");
        let doc = json!({"aws": {"roles": [role]}});
        let section: secretbench_emulators::aws::seed::AwsSeed =
            secretbench_emulators::core::seed::section("aws", doc["aws"].clone()).unwrap();
        let trust = section.roles[0].trust.clone().unwrap();
        assert_eq!(trust.audience, "sts.amazonaws.com", "the default audience");
        assert_eq!(trust.subjects, ["system:serviceaccount:ns:sa"]);
        assert!(trust.subjects_like.is_empty());
    }

    #[test]
    fn configuring_actions_are_vault_writes_with_vaults_field_names() {
        let action = |v: Value| -> BackendAction { serde_json::from_value(v).unwrap() };
        assert_eq!(
            vault_write(&action(
                json!({"vault.secrets.enable": {"path": "pki", "type": "pki"}})
            )),
            Some(("sys/mounts/pki".to_owned(), json!({"type": "pki"})))
        );
        assert_eq!(
            vault_write(&action(json!({"vault.kubernetes.role": {
                "name": "pki-role", "boundServiceAccountNames": ["nginx-pki"],
                "boundServiceAccountNamespaces": ["ns"], "audience": "vault",
                "policies": ["pki-policy"], "ttl": "20m"}}))),
            Some((
                "auth/kubernetes/role/pki-role".to_owned(),
                json!({"bound_service_account_names": ["nginx-pki"],
                       "bound_service_account_namespaces": ["ns"], "audience": "vault",
                       "policies": ["pki-policy"], "ttl": "1200s"})
            ))
        );
        let (path, body) = vault_write(&action(json!({"vault.database.config": {
            "mount": "database", "name": "postgres", "pluginName": "postgresql-database-plugin",
            "allowedRoles": ["*"], "connectionUrl": "postgres://{{username}}:{{password}}@db/x"}})))
        .unwrap();
        assert_eq!(path, "database/config/postgres");
        assert_eq!(body["verify_connection"], false);
        assert_eq!(body["allowed_roles"], json!(["*"]));
        assert!(body.get("password").is_none());
        let (path, body) = vault_write(&action(json!({"vault.pki.role": {
            "mount": "pki", "name": "example-dot-com", "allowedDomains": ["example.com"],
            "allowSubdomains": true, "maxTtl": "72h"}})))
        .unwrap();
        assert_eq!(path, "pki/roles/example-dot-com");
        assert_eq!(body["max_ttl"], "259200s");
        assert_eq!(body["allow_subdomains"], true);
        assert!(body.get("key_type").is_none());
        assert_eq!(
            vault_write(&action(
                json!({"vault.kv1.put": {"mount": "kv", "path": "x", "data": {}}})
            )),
            None
        );
    }

    #[test]
    fn fault_rules_map_to_the_admin_shape() {
        let rule: FaultRule = serde_json::from_value(json!({
            "service": "secretsmanager", "region": "us-east-1", "status": 503,
            "code": "ServiceUnavailable", "first": 2
        }))
        .unwrap();
        assert_eq!(
            fault_spec(&rule),
            json!({"service": "secretsmanager", "region": "us-east-1", "firstN": 2,
                   "error": {"status": 503, "code": "ServiceUnavailable", "message": "injected by secretbench"}})
        );
    }
}
