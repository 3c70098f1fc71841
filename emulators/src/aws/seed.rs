//! The `aws` section of a seed document: account, IAM settings, roles, users, Pod Identity
//! associations, secrets and parameters. Entries are upserted, so seeding twice is harmless.

use serde::Deserialize;

use super::iam::{
    Association, Mode, OidcProvider, OidcProviderSeed, Role, User, WebIdentitySeed,
    oidc_provider_arn,
};
use super::{AwsState, DEFAULT_REGION, secretsmanager, ssm};
use crate::core::Core;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsSeed {
    #[serde(default)]
    pub account_id: Option<String>,
    /// `permissive` (default): unknown callers may do anything. `strict`: every call needs a known
    /// identity whose policy allows it.
    #[serde(default)]
    pub authorization: Option<Mode>,
    /// `strict`: SigV4 signatures are recomputed and must match.
    #[serde(default)]
    pub signatures: Option<Mode>,
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub pod_identity_associations: Vec<Association>,
    /// IAM OIDC identity providers: the issuers whose tokens STS takes for roles of an account.
    #[serde(default)]
    pub open_id_connect_providers: Vec<OidcProviderSeed>,
    /// Verify web identity token signatures with this JWKS (otherwise only claims are checked).
    #[serde(default)]
    pub web_identity: Option<WebIdentitySeed>,
    #[serde(default)]
    pub secrets: Vec<secretsmanager::SeedSecret>,
    #[serde(default)]
    pub parameters: Vec<ssm::SeedParameter>,
}

impl AwsSeed {
    /// Applies the section; secrets and parameters go to `tenant` (an account) when given, else
    /// to the emulator's own account. IAM entries are shared by all accounts (their ARNs name
    /// the account they belong to).
    pub fn apply(
        self,
        state: &mut AwsState,
        core: &Core,
        tenant: Option<&str>,
    ) -> Result<(), String> {
        if let Some(account) = self.account_id {
            if !super::accounts::is_account_id(&account) {
                return Err(format!("accountId must be 12 digits, got '{account}'"));
            }
            match tenant {
                // The tenant is the account: naming it again is harmless, naming another is not.
                Some(t) if t == account => {}
                Some(t) => {
                    return Err(format!(
                        "accountId {account} in a seed for tenant aws/{t}: a tenant's seed cannot change the emulator's account"
                    ));
                }
                None => state.set_default_account(account),
            }
        }
        if let Some(mode) = self.authorization {
            state.iam.authorization = mode;
        }
        if let Some(mode) = self.signatures {
            state.iam.signatures = mode;
        }
        for role in self.roles {
            state.iam.roles.insert(role.arn.clone(), role);
        }
        for user in self.users {
            state.iam.users.insert(user.access_key_id.clone(), user);
        }
        for association in self.pod_identity_associations {
            state.iam.associations.retain(|a| {
                !(a.namespace == association.namespace
                    && a.service_account == association.service_account)
            });
            state.iam.associations.push(association);
        }
        for provider in self.open_id_connect_providers {
            let account = provider
                .account_id
                .unwrap_or_else(|| state.account_id.clone());
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "openIdConnectProviders: accountId must be 12 digits, got '{account}'"
                ));
            }
            let url = super::iam::issuer_key(&provider.url).to_owned();
            if url.is_empty() {
                return Err("openIdConnectProviders: url must not be empty".to_owned());
            }
            state.iam.oidc_providers.insert(
                oidc_provider_arn(&account, &url),
                OidcProvider {
                    url,
                    client_ids: provider.client_ids,
                },
            );
        }
        if let Some(web_identity) = self.web_identity {
            state.iam.jwks = Some(web_identity.load()?);
        }
        let account = tenant.map_or_else(|| state.account_id.clone(), str::to_owned);
        for secret in self.secrets {
            let region = secret
                .region
                .clone()
                .unwrap_or_else(|| DEFAULT_REGION.to_owned());
            secretsmanager::seed_secret(
                &mut state.partition_mut(&account, &region).secrets,
                core,
                &account,
                &region,
                secret,
            )?;
        }
        for parameter in self.parameters {
            let region = parameter
                .region
                .clone()
                .unwrap_or_else(|| DEFAULT_REGION.to_owned());
            ssm::seed_parameter(
                &mut state.partition_mut(&account, &region).parameters,
                core,
                &account,
                &region,
                parameter,
            )?;
        }
        Ok(())
    }
}
