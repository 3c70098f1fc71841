//! A case's own tenants in the emulators, so cases can run at the same time without seeing each
//! other's secrets, faults or journal: an AWS account, an Azure Key Vault and a Vault namespace,
//! each reached by the real provider through a setting it already has (the role ARN of its
//! account, `keyvaultName`, `vaultNamespace`), never a per-case provider change.
//!
//! A case that runs alone (`spec.exclusive`) has none: it uses the emulators' defaults after a
//! full reset, as every case did before tenants existed.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::scenario::model::Provider;
use crate::wiring::tenant::Tenant;
use crate::wiring::{Wiring, aws, azure, vault};

/// The first account of the case accounts; far from the emulator's own (123456789012) and the
/// other accounts scenarios name.
const FIRST_ACCOUNT: u64 = 100_000_000_000;

/// One case's tenants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenants {
    pub aws: Tenant,
    pub azure: Tenant,
    /// `None` when Vault scenarios run against a real dev server (`--vault real`), which has
    /// no namespaces.
    pub vault: Option<Tenant>,
    /// The case's Kubernetes namespace (its Pod Identity association names it).
    namespace: String,
}

impl Tenants {
    /// The tenants of case number `index` of the run, running in concurrency slot `slot`
    /// (below [`azure::CASE_VAULTS`]: Key Vault names come from a fixed pool).
    pub fn new(index: usize, slot: usize, namespace: &str, vault_namespaces: bool) -> Self {
        let account = format!("{:012}", FIRST_ACCOUNT + index as u64);
        Self {
            aws: Tenant::AwsAccount(account),
            azure: Tenant::AzureVault(azure::case_vault(slot)),
            vault: vault_namespaces.then(|| Tenant::VaultNamespace(namespace.to_owned())),
            namespace: namespace.to_owned(),
        }
    }

    pub fn all(&self) -> impl Iterator<Item = &Tenant> {
        [Some(&self.aws), Some(&self.azure), self.vault.as_ref()]
            .into_iter()
            .flatten()
    }

    /// The AWS account id.
    pub fn account(&self) -> &str {
        match &self.aws {
            Tenant::AwsAccount(a) => a,
            _ => aws::ACCOUNT_ID,
        }
    }

    /// The tenant whose journal entries and fault rules a request of `service` (as the
    /// journal names services: `secretsmanager`, `keyvault`, `vault`...) belongs to.
    pub fn for_service(&self, service: &str) -> Option<&Tenant> {
        match secretbench_emulators::core::tenant::owner_of(service)? {
            "aws" => Some(&self.aws),
            "azure" => Some(&self.azure),
            "vault" => self.vault.as_ref(),
            _ => None,
        }
    }

    /// Variables that name the tenants: `${awsAccountId}`, `${azureVault}`.
    pub fn vars(&self) -> BTreeMap<String, String> {
        let mut vars = BTreeMap::from([("awsAccountId".to_owned(), self.account().to_owned())]);
        if let Some(v) = self.azure.keyvault_name() {
            vars.insert("azureVault".to_owned(), v.to_owned());
        }
        vars
    }

    /// The SecretProviderClass parameters that send `provider` to its tenant (AWS needs none:
    /// the account comes with the role its credentials are for).
    pub fn parameters(&self, provider: Provider) -> BTreeMap<String, String> {
        let mut p = BTreeMap::new();
        match provider {
            Provider::Azure => {
                if let Some(v) = self.azure.keyvault_name() {
                    p.insert("keyvaultName".to_owned(), v.to_owned());
                }
            }
            Provider::Vault => {
                if let Some(ns) = self.vault.as_ref().and_then(Tenant::vault_namespace_header) {
                    p.insert("vaultNamespace".to_owned(), ns.to_owned());
                }
            }
            Provider::Aws => {}
        }
        p
    }

    /// What each tenant is seeded with, from the wirings of the run (a provider not wired
    /// gets nothing): the wiring's roles, vault and auth again, inside the tenant.
    pub fn seeds(&self, wirings: &BTreeMap<Provider, Wiring>) -> Vec<(&Tenant, Value)> {
        let mut out = Vec::new();
        for (p, w) in wirings {
            match p {
                Provider::Aws => out.push((
                    &self.aws,
                    aws::tenant_seed(&w.seed, self.account(), &self.namespace),
                )),
                Provider::Azure => {
                    if let Some(name) = self.azure.keyvault_name() {
                        out.push((&self.azure, azure::tenant_seed(&w.seed, name)));
                    }
                }
                Provider::Vault => {
                    if let Some(ns) = &self.vault {
                        out.push((ns, vault::tenant_seed(&w.seed)));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_get_distinct_accounts_vaults_and_namespaces() {
        let a = Tenants::new(0, 0, "sb-mount-aws", true);
        let b = Tenants::new(1, 1, "sb-mount-vault", true);
        assert_eq!(a.account(), "100000000000");
        assert_eq!(b.account(), "100000000001");
        assert_ne!(a.account(), aws::ACCOUNT_ID);
        assert_eq!(a.vars()["azureVault"], "secretbench-0");
        assert_eq!(
            b.parameters(Provider::Vault)["vaultNamespace"],
            "sb-mount-vault"
        );
        assert_eq!(
            a.parameters(Provider::Azure)["keyvaultName"],
            "secretbench-0"
        );
        assert!(a.parameters(Provider::Aws).is_empty());
        let real = Tenants::new(2, 0, "sb-x-vault", false);
        assert!(real.parameters(Provider::Vault).is_empty());
        assert_eq!(real.all().count(), 2);
    }

    #[test]
    fn services_map_to_their_tenant() {
        let t = Tenants::new(3, 2, "sb-x-aws", true);
        assert_eq!(t.for_service("sts"), Some(&t.aws));
        assert_eq!(t.for_service("pod-identity"), Some(&t.aws));
        assert_eq!(t.for_service("keyvault"), Some(&t.azure));
        assert_eq!(t.for_service("vault"), t.vault.as_ref());
        assert_eq!(t.for_service("nothing"), None);
    }

    #[test]
    fn every_case_vault_resolves_in_the_provider_pods() {
        let names = azure::hostnames();
        for slot in 0..azure::CASE_VAULTS {
            let t = Tenants::new(slot, slot, "ns", true);
            let vault = t.azure.keyvault_name().unwrap();
            assert!(names.contains(&azure::vault_host(vault)), "{vault}");
            assert!(
                Tenant::azure_vault(vault).is_ok(),
                "a valid vault name: {vault}"
            );
        }
    }

    #[test]
    fn the_aws_seed_moves_the_role_and_association_into_the_case_account() {
        let issuer = aws::Issuer {
            url: "https://issuer.test".into(),
            jwks: serde_json::json!({"keys": []}),
        };
        let wiring = aws::seed(&issuer);
        let seed = aws::tenant_seed(&wiring, "100000000007", "sb-mount-aws");
        let text = seed.to_string();
        assert!(!text.contains(aws::ACCOUNT_ID), "{text}");
        let a = &seed["aws"]["podIdentityAssociations"][0];
        assert_eq!(a["namespace"], "sb-mount-aws");
        assert_eq!(
            a["roleArn"],
            "arn:aws:iam::100000000007:role/secretbench-sample-app"
        );
        assert_eq!(
            seed["aws"]["openIdConnectProviders"][0]["accountId"],
            "100000000007"
        );
        assert_eq!(
            seed["aws"]["users"][0]["accessKeyId"],
            aws::harness_access_key("100000000007")
        );
        // It is a valid tenant seed for the emulator.
        secretbench_emulators::core::seed::parse(&seed.to_string()).unwrap();
    }

    #[test]
    fn the_vault_and_azure_seeds_are_valid_and_name_the_tenant() {
        let vault_seed =
            vault::tenant_seed(&serde_json::json!({"vault": {"mounts": [], "policies": []}}));
        assert_eq!(vault_seed["vault"]["mounts"][0]["path"], "secret");
        secretbench_emulators::core::seed::parse(&vault_seed.to_string()).unwrap();
        let az = azure::tenant_seed(&azure::seed(8443), "secretbench-3");
        assert_eq!(az["azure"]["vaults"][0]["name"], "secretbench-3");
        assert!(az["azure"].get("principals").is_none());
        secretbench_emulators::core::seed::parse(&az.to_string()).unwrap();
    }
}
