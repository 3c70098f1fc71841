//! The Azure emulator's state: tenants' principals, vaults (told apart by host name) with their
//! access policies and objects, and the dev identity printed in the ready line.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::store::Store;
use super::{certificates::CertData, keys::KeyData, secrets::SecretData};
use crate::core::Core;

/// The DNS suffix of the dev vault: `dev.vault.localhost`.
pub const DEV_SUFFIX: &str = "vault.localhost";
pub const DEV_VAULT: &str = "dev";
/// The audience a federated (workload identity) assertion must carry.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Dev {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub object_id: String,
}

impl Dev {
    pub fn new(core: &Core) -> Self {
        Self {
            tenant_id: core.ids.uuid(),
            client_id: core.ids.uuid(),
            client_secret: core.ids.alphanumeric(40),
            object_id: core.ids.uuid(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FederatedCredential {
    pub issuer: String,
    pub subject: String,
    #[serde(default = "default_audiences")]
    pub audiences: Vec<String>,
}

fn default_audiences() -> Vec<String> {
    vec![TOKEN_EXCHANGE_AUDIENCE.to_owned()]
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    pub client_id: String,
    pub tenant_id: String,
    pub object_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub federated_credentials: Vec<FederatedCredential>,
}

/// Permission lists per object kind; `all` grants every permission of that kind.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Permissions {
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub certificates: Vec<String>,
}

impl Permissions {
    pub fn all() -> Self {
        let all = vec!["all".to_owned()];
        Self {
            secrets: all.clone(),
            keys: all.clone(),
            certificates: all,
        }
    }

    pub fn allows(&self, kind: super::Kind, permission: &str) -> bool {
        let list = match kind {
            super::Kind::Secret => &self.secrets,
            super::Kind::Key => &self.keys,
            super::Kind::Certificate => &self.certificates,
        };
        list.iter()
            .any(|p| p.eq_ignore_ascii_case(permission) || p.eq_ignore_ascii_case("all"))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessPolicy {
    /// The principal's object id or client (application) id.
    pub object_id: String,
    pub permissions: Permissions,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Vault {
    pub name: String,
    pub suffix: String,
    pub tenant_id: String,
    /// Overrides the challenge's `authorization` (e.g. `https://login.kv.test/adfs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    #[serde(default)]
    pub access_policies: Vec<AccessPolicy>,
    #[serde(default)]
    pub secrets: Store<SecretData>,
    #[serde(default)]
    pub keys: Store<KeyData>,
    #[serde(default)]
    pub certificates: Store<CertData>,
}

impl Vault {
    pub fn new(name: &str, suffix: &str, tenant_id: &str) -> Self {
        Self {
            name: name.to_ascii_lowercase(),
            suffix: suffix.to_ascii_lowercase(),
            tenant_id: tenant_id.to_owned(),
            authority: None,
            access_policies: Vec::new(),
            secrets: Store::default(),
            keys: Store::default(),
            certificates: Store::default(),
        }
    }

    pub fn host(&self) -> String {
        format!("{}.{}", self.name, self.suffix)
    }

    pub fn allows(&self, principal: &[&str], kind: super::Kind, permission: &str) -> bool {
        self.access_policies.iter().any(|p| {
            principal
                .iter()
                .any(|id| p.object_id.eq_ignore_ascii_case(id))
                && p.permissions.allows(kind, permission)
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AzureState {
    pub dev: Dev,
    /// The host name put in challenges' `authorization` (the request's port is appended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_host: Option<String>,
    /// Principals by client id.
    #[serde(default)]
    pub principals: BTreeMap<String, Principal>,
    /// Vaults by host name (`name.suffix`, lowercase, no port).
    #[serde(default)]
    pub vaults: BTreeMap<String, Vault>,
}

impl AzureState {
    /// Dev mode: one vault and one principal allowed everything on it.
    pub fn fresh(dev: Dev) -> Self {
        let mut vault = Vault::new(DEV_VAULT, DEV_SUFFIX, &dev.tenant_id);
        vault.access_policies.push(AccessPolicy {
            object_id: dev.object_id.clone(),
            permissions: Permissions::all(),
        });
        let principal = Principal {
            client_id: dev.client_id.clone(),
            tenant_id: dev.tenant_id.clone(),
            object_id: dev.object_id.clone(),
            client_secret: Some(dev.client_secret.clone()),
            federated_credentials: Vec::new(),
        };
        Self {
            principals: BTreeMap::from([(dev.client_id.clone(), principal)]),
            vaults: BTreeMap::from([(vault.host(), vault)]),
            login_host: None,
            dev,
        }
    }

    pub fn dev_vault_host(&self) -> String {
        format!("{DEV_VAULT}.{DEV_SUFFIX}")
    }

    /// Every tenant some principal or vault belongs to.
    pub fn knows_tenant(&self, tenant: &str) -> bool {
        self.principals
            .values()
            .any(|p| p.tenant_id.eq_ignore_ascii_case(tenant))
            || self
                .vaults
                .values()
                .any(|v| v.tenant_id.eq_ignore_ascii_case(tenant))
    }
}
