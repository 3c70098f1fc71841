//! Azure tenancy: each Key Vault name is a tenant, as each vault is its own resource in Azure.
//! Vaults were already told apart by host name; this adds what the admin API needs to address
//! one: list, create, empty and remove by name. A name covers every vault of that name, whatever
//! its DNS suffix. The dev vault (`dev`) is the default tenant: requests on a bare loopback host
//! land there, and it cannot be removed. Entra ID (principals, tokens) stays one for all, as a
//! directory serves many vaults.

use super::state::{AccessPolicy, AzureState, DEV_SUFFIX, DEV_VAULT, Permissions, Vault};
use super::store::Store;
use crate::core::tenant::{TenantError, TenantId, TenantView};

fn tenant(name: &str) -> TenantId {
    TenantId::new("azure", name)
}

/// A vault name as a tenant name (lowercase, as Key Vault compares them), or why not.
pub fn tenant_name(name: &str) -> Result<String, TenantError> {
    let ok = (3..=24).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(TenantError::Invalid {
            service: "azure",
            name: name.to_owned(),
            why: "a vault name is 3-24 letters, digits or dashes".to_owned(),
        })
    }
}

impl AzureState {
    /// The distinct vault names, the dev vault first.
    pub fn tenant_views(&self) -> Vec<TenantView> {
        let mut names: Vec<&str> = self.vaults.values().map(|v| v.name.as_str()).collect();
        names.sort_unstable_by_key(|n| (*n != DEV_VAULT, *n));
        names.dedup();
        names
            .into_iter()
            .map(|name| TenantView {
                id: format!("azure/{name}"),
                service: "azure",
                name: name.to_owned(),
                default: name == DEV_VAULT,
            })
            .collect()
    }

    fn vaults_named(&mut self, name: &str) -> impl Iterator<Item = &mut Vault> {
        self.vaults.values_mut().filter(move |v| v.name == name)
    }

    /// Creates vault `name` under the dev suffix and tenant, with the dev principal allowed
    /// everything (as on the dev vault), unless a vault of that name exists; `true` if created.
    pub fn create_vault(&mut self, name: &str) -> bool {
        if self.vaults.values().any(|v| v.name == name) {
            return false;
        }
        let mut vault = Vault::new(name, DEV_SUFFIX, &self.dev.tenant_id);
        vault.access_policies.push(AccessPolicy {
            object_id: self.dev.object_id.clone(),
            permissions: Permissions::all(),
        });
        self.vaults.insert(vault.host(), vault);
        true
    }

    /// Empties the vaults named `name`: secrets, keys and certificates, deleted ones too. Their
    /// configuration (suffix, tenant, access policies) stays, as a vault's does when emptied.
    pub fn reset_vault(&mut self, name: &str) -> Result<(), TenantError> {
        let mut found = false;
        for vault in self.vaults_named(name) {
            vault.secrets = Store::default();
            vault.keys = Store::default();
            vault.certificates = Store::default();
            found = true;
        }
        found
            .then_some(())
            .ok_or_else(|| TenantError::NotFound(tenant(name)))
    }

    /// Removes the vaults named `name`; the dev vault cannot be removed.
    pub fn drop_vault(&mut self, name: &str) -> Result<(), TenantError> {
        if name == DEV_VAULT {
            return Err(TenantError::Default(tenant(name)));
        }
        let before = self.vaults.len();
        self.vaults.retain(|_, v| v.name != name);
        if self.vaults.len() == before {
            return Err(TenantError::NotFound(tenant(name)));
        }
        Ok(())
    }

    /// The vaults named `name`, for the admin API.
    pub fn dump_vault(&self, name: &str) -> Result<serde_json::Value, TenantError> {
        let vaults: Vec<&Vault> = self.vaults.values().filter(|v| v.name == name).collect();
        if vaults.is_empty() {
            return Err(TenantError::NotFound(tenant(name)));
        }
        Ok(serde_json::json!({ "vaults": vaults }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::state::Dev;
    use crate::core::Core;

    #[test]
    fn vaults_are_created_emptied_and_dropped_by_name() {
        let core = Core::new(true);
        let mut state = AzureState::fresh(Dev::new(&core));
        assert!(state.create_vault("case-1"));
        assert!(!state.create_vault("case-1"));
        let names: Vec<_> = state.tenant_views().into_iter().map(|v| v.id).collect();
        assert_eq!(names, ["azure/dev", "azure/case-1"]);
        assert_eq!(
            state.drop_vault("dev"),
            Err(TenantError::Default(tenant("dev")))
        );
        state.reset_vault("case-1").expect("exists");
        state.drop_vault("case-1").expect("exists");
        assert_eq!(
            state.reset_vault("case-1"),
            Err(TenantError::NotFound(tenant("case-1")))
        );
        assert_eq!(tenant_name("Case-1"), Ok("case-1".to_owned()));
        assert!(tenant_name("a").is_err());
    }
}
