//! One tenant of the emulators, addressed from the harness: an AWS account, a Vault namespace or
//! an Azure Key Vault name (the emulators' `core::tenant`). A case given its own tenant reaches
//! its own state through the settings a real provider already has (a role ARN in its account, a
//! `vaultNamespace`, a `keyvaultName`), and the admin API through [`TenantAdmin`], whose requests
//! all carry `?tenant=` so reset, seed, faults and journal touch that tenant only.

use serde_json::Value;

use super::{Endpoints, WiringError};

/// A tenant, by the service that keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenant {
    /// Twelve digits.
    AwsAccount(String),
    /// A namespace path (`case-1`, `team/case-1`); `root` is the root namespace.
    VaultNamespace(String),
    /// A vault name, 3-24 letters, digits or dashes.
    AzureVault(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{name}' cannot name {what}")]
pub struct BadTenant {
    pub name: String,
    pub what: &'static str,
}

impl Tenant {
    pub fn aws_account(account: &str) -> Result<Self, BadTenant> {
        if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self::AwsAccount(account.to_owned()))
        } else {
            Err(BadTenant {
                name: account.to_owned(),
                what: "an AWS account (12 digits)",
            })
        }
    }

    pub fn vault_namespace(path: &str) -> Result<Self, BadTenant> {
        let path = path.trim_matches('/');
        if path.is_empty() || path.split('/').any(|s| s.is_empty() || s.contains(' ')) {
            return Err(BadTenant {
                name: path.to_owned(),
                what: "a Vault namespace",
            });
        }
        Ok(Self::VaultNamespace(path.to_owned()))
    }

    pub fn azure_vault(name: &str) -> Result<Self, BadTenant> {
        let ok = (3..=24).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok {
            Ok(Self::AzureVault(name.to_ascii_lowercase()))
        } else {
            Err(BadTenant {
                name: name.to_owned(),
                what: "a Key Vault (3-24 letters, digits or dashes)",
            })
        }
    }

    /// `<service>/<name>`, as the admin API names it.
    pub fn id(&self) -> String {
        match self {
            Self::AwsAccount(a) => format!("aws/{a}"),
            Self::VaultNamespace(n) => format!("vault/{n}"),
            Self::AzureVault(v) => format!("azure/{v}"),
        }
    }

    /// A role ARN in this account (AWS): credentials for it act in the account.
    pub fn role_arn(&self, role: &str) -> Option<String> {
        match self {
            Self::AwsAccount(a) => Some(format!("arn:aws:iam::{a}:role/{role}")),
            _ => None,
        }
    }

    /// The `X-Vault-Namespace` value, the vault provider's `vaultNamespace` parameter.
    pub fn vault_namespace_header(&self) -> Option<&str> {
        match self {
            Self::VaultNamespace(n) => Some(n),
            _ => None,
        }
    }

    /// The Azure provider's `keyvaultName` parameter.
    pub fn keyvault_name(&self) -> Option<&str> {
        match self {
            Self::AzureVault(v) => Some(v),
            _ => None,
        }
    }
}

impl Endpoints {
    /// The admin API scoped to `tenant`.
    pub fn for_tenant(&self, tenant: &Tenant) -> TenantAdmin<'_> {
        TenantAdmin {
            endpoints: self,
            id: tenant.id(),
        }
    }
}

/// The admin API of one tenant: every URL carries `?tenant=<service>/<name>`.
#[derive(Debug, Clone)]
pub struct TenantAdmin<'a> {
    endpoints: &'a Endpoints,
    id: String,
}

impl TenantAdmin<'_> {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `path` of the admin API (`reset`, `seed`, `faults`, `journal`, `state`) for this tenant.
    pub fn url(&self, path: &str) -> String {
        let tenant: String = url_encode(&self.id);
        format!("{}?tenant={tenant}", self.endpoints.admin(path))
    }

    /// The tenant's own resource: `PUT` creates it, `DELETE` drops it.
    pub fn tenant_url(&self) -> String {
        self.endpoints.admin(&format!("tenants/{}", self.id))
    }

    async fn send(
        &self,
        http: &reqwest::Client,
        method: reqwest::Method,
        url: String,
        body: Option<&Value>,
    ) -> Result<Value, WiringError> {
        let mut request = self.endpoints.with_admin_token(http.request(method, url));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| WiringError::Emulators(format!("tenant {}: {e}", self.id)))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(WiringError::Emulators(format!(
                "tenant {}: {status}: {text}",
                self.id
            )));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Creates the tenant (a Vault namespace must exist before use); harmless if it exists.
    pub async fn create(&self, http: &reqwest::Client) -> Result<(), WiringError> {
        self.send(http, reqwest::Method::PUT, self.tenant_url(), None)
            .await
            .map(drop)
    }

    /// Drops the tenant with its state, fault rules and journal entries.
    pub async fn drop_tenant(&self, http: &reqwest::Client) -> Result<(), WiringError> {
        self.send(http, reqwest::Method::DELETE, self.tenant_url(), None)
            .await
            .map(drop)
    }

    /// Empties the tenant, its fault rules and journal entries.
    pub async fn reset(&self, http: &reqwest::Client) -> Result<(), WiringError> {
        self.send(http, reqwest::Method::POST, self.url("reset"), None)
            .await
            .map(drop)
    }

    /// Seeds the tenant (creating it) with a document holding only its service's section.
    pub async fn seed(&self, http: &reqwest::Client, doc: &Value) -> Result<(), WiringError> {
        self.send(http, reqwest::Method::POST, self.url("seed"), Some(doc))
            .await
            .map(drop)
    }

    /// Adds a fault rule (the emulators' `RuleSpec` form) that fires for this tenant only.
    pub async fn add_fault(&self, http: &reqwest::Client, rule: &Value) -> Result<(), WiringError> {
        self.send(http, reqwest::Method::POST, self.url("faults"), Some(rule))
            .await
            .map(drop)
    }

    /// The tenant's journal entries.
    pub async fn journal(&self, http: &reqwest::Client) -> Result<Vec<Value>, WiringError> {
        let v = self
            .send(http, reqwest::Method::GET, self.url("journal"), None)
            .await?;
        Ok(v["entries"].as_array().cloned().unwrap_or_default())
    }
}

/// Percent-encodes what a query value cannot hold as it is (`/` may stay: tenant ids hold it).
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secretbench_emulators::{Options, start};
    use serde_json::json;
    use std::net::SocketAddr;

    #[test]
    fn tenants_are_checked_and_named_as_the_admin_api_names_them() {
        let aws = Tenant::aws_account("111122223333").unwrap();
        assert_eq!(aws.id(), "aws/111122223333");
        assert_eq!(
            aws.role_arn("app").as_deref(),
            Some("arn:aws:iam::111122223333:role/app")
        );
        assert!(Tenant::aws_account("1234").is_err());
        let vault = Tenant::vault_namespace("/team/case-1/").unwrap();
        assert_eq!(vault.id(), "vault/team/case-1");
        assert_eq!(vault.vault_namespace_header(), Some("team/case-1"));
        assert!(Tenant::vault_namespace("a//b").is_err());
        let azure = Tenant::azure_vault("Case-1").unwrap();
        assert_eq!(azure.keyvault_name(), Some("case-1"));
        assert!(Tenant::azure_vault("x").is_err());
        let endpoints = Endpoints {
            aws_url: "http://10.0.0.1:4566".into(),
            ..Endpoints::default()
        };
        let admin = endpoints.for_tenant(&vault);
        assert_eq!(
            admin.url("journal"),
            "http://10.0.0.1:4566/_secretbench/journal?tenant=vault/team/case-1"
        );
        assert_eq!(
            admin.tenant_url(),
            "http://10.0.0.1:4566/_secretbench/tenants/vault/team/case-1"
        );
        assert_eq!(url_encode("vault/a b&c"), "vault/a%20b%26c");
    }

    /// Two Vault namespaces through the accessor, against the real emulators in-process.
    #[tokio::test]
    async fn a_tenant_admin_touches_its_tenant_only() {
        let loopback = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        let running = start(Options {
            aws: loopback,
            vault: loopback,
            ..Options::default()
        })
        .await
        .expect("emulators start");
        let endpoints = Endpoints {
            aws_url: running.url("aws").expect("aws").to_owned(),
            admin_token: running.admin_token().map(str::to_owned),
            ..Endpoints::default()
        };
        let http = reqwest::Client::new();
        let vault_url = running.url("vault").expect("vault").to_owned();
        let (a, b) = (
            Tenant::vault_namespace("case-a").unwrap(),
            Tenant::vault_namespace("case-b").unwrap(),
        );
        for (tenant, value) in [(&a, "alpha"), (&b, "bravo")] {
            let admin = endpoints.for_tenant(tenant);
            admin.create(&http).await.expect("create");
            let seed = json!({"vault": {
                "mounts": [{"path": "secret", "type": "kv-v2"}],
                "kv": [{"mount": "secret", "path": "db", "data": {"password": value}}],
            }});
            admin.seed(&http, &seed).await.expect("seed");
        }
        let read = |tenant: &Tenant| {
            let request = http
                .get(format!("{vault_url}/v1/secret/data/db"))
                .header("X-Vault-Token", "root")
                .header(
                    "X-Vault-Namespace",
                    tenant.vault_namespace_header().unwrap_or_default(),
                );
            async move {
                let r = request.send().await.expect("read");
                (r.status().as_u16(), r.text().await.unwrap_or_default())
            }
        };
        assert!(read(&a).await.1.contains("alpha"));
        assert!(read(&b).await.1.contains("bravo"));
        let admin_a = endpoints.for_tenant(&a);
        admin_a
            .add_fault(
                &http,
                &json!({"service": "vault", "error": {"code": "x", "status": 503}}),
            )
            .await
            .expect("fault");
        assert_eq!(read(&a).await.0, 503);
        assert_eq!(read(&b).await.0, 200);
        let journal = admin_a.journal(&http).await.expect("journal");
        assert_eq!(journal.len(), 2);
        assert!(journal.iter().all(|e| e["tenant"] == "vault/case-a"));
        admin_a.reset(&http).await.expect("reset");
        assert!(admin_a.journal(&http).await.expect("journal").is_empty());
        assert_eq!(read(&a).await.0, 404, "empty, and the fault went with it");
        admin_a.drop_tenant(&http).await.expect("drop");
        assert_eq!(read(&a).await.0, 403, "no such namespace any more");
        assert!(read(&b).await.1.contains("bravo"));
        assert!(admin_a.drop_tenant(&http).await.is_err());
        running.shutdown().await;
    }
}
