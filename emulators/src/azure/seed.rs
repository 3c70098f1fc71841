//! The `azure:` section of a seed document (strict: unknown fields are refused).
//!
//! ```yaml
//! azure:
//!   loginHost: login.kv.test
//!   principals:
//!     - clientId: app-1
//!       tenantId: tenant-1
//!       clientSecret: s3cret
//!       federatedCredentials:
//!         - { issuer: https://kubernetes.default.svc, subject: system:serviceaccount:ns:sa }
//!   vaults:
//!     - name: myvault
//!       suffix: vault.kv.test
//!       tenantId: tenant-1
//!       accessPolicies:
//!         - { objectId: app-1, permissions: { secrets: [get, list] } }
//!       secrets:
//!         - { name: db-password, value: hunter2 }
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;

use super::limits::valid_name;
use super::secrets::SecretData;
use super::state::{AccessPolicy, AzureState, FederatedCredential, Principal, Vault};
use super::store::{Attributes, Version};
use crate::core::Core;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AzureSeed {
    #[serde(default)]
    pub login_host: Option<String>,
    #[serde(default)]
    pub principals: Vec<PrincipalSeed>,
    #[serde(default)]
    pub vaults: Vec<VaultSeed>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrincipalSeed {
    pub client_id: String,
    /// Defaults to the dev tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Defaults to the client id.
    #[serde(default)]
    pub object_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub federated_credentials: Vec<FederatedCredential>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VaultSeed {
    pub name: String,
    /// Defaults to the dev suffix, `vault.localhost`.
    #[serde(default)]
    pub suffix: Option<String>,
    /// Defaults to the dev tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub authority: Option<String>,
    #[serde(default)]
    pub access_policies: Vec<AccessPolicy>,
    #[serde(default)]
    pub secrets: Vec<SecretSeed>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretSeed {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
}

fn yes() -> bool {
    true
}

fn valid_vault_name(name: &str) -> bool {
    (3..=24).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl AzureSeed {
    /// Applies the section; returns the DNS suffixes the serving certificate must cover.
    pub fn apply(self, state: &mut AzureState, core: &Core) -> Result<Vec<String>, String> {
        let mut hosts = Vec::new();
        if let Some(login) = self.login_host {
            hosts.push(login.clone());
            state.login_host = Some(login);
        }
        for p in self.principals {
            let tenant_id = p.tenant_id.unwrap_or_else(|| state.dev.tenant_id.clone());
            let object_id = p.object_id.unwrap_or_else(|| p.client_id.clone());
            state.principals.insert(
                p.client_id.clone(),
                Principal {
                    client_id: p.client_id,
                    tenant_id,
                    object_id,
                    client_secret: p.client_secret,
                    federated_credentials: p.federated_credentials,
                },
            );
        }
        for v in self.vaults {
            if !valid_vault_name(&v.name) {
                return Err(format!(
                    "vault name '{}' must be 3-24 letters, digits or dashes",
                    v.name
                ));
            }
            let suffix = v
                .suffix
                .unwrap_or_else(|| super::state::DEV_SUFFIX.to_owned())
                .to_ascii_lowercase();
            let tenant = v.tenant_id.unwrap_or_else(|| state.dev.tenant_id.clone());
            let host = format!("{}.{suffix}", v.name.to_ascii_lowercase());
            let vault = state
                .vaults
                .entry(host)
                .or_insert_with(|| Vault::new(&v.name, &suffix, &tenant));
            vault.tenant_id = tenant;
            if v.authority.is_some() {
                vault.authority = v.authority;
            }
            vault.access_policies.extend(v.access_policies);
            for s in v.secrets {
                if !valid_name(&s.name) {
                    return Err(format!("secret name '{}' is not valid", s.name));
                }
                let now = core.clock.now().unix_timestamp();
                let created = vault.secrets.next_created(&s.name, now);
                vault.secrets.push(
                    &s.name,
                    Version {
                        id: core.ids.uuid().replace('-', ""),
                        attributes: Attributes {
                            enabled: s.enabled,
                            nbf: None,
                            exp: None,
                            created,
                            updated: created,
                        },
                        tags: s.tags,
                        data: SecretData {
                            value: s.value,
                            content_type: s.content_type,
                            kid: None,
                            managed: false,
                        },
                    },
                );
            }
            hosts.push(suffix);
        }
        Ok(hosts)
    }
}
