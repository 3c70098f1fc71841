//! AWS tenancy: Secrets Manager and SSM state per account and region, as AWS keeps it.
//!
//! The account of a request is the account of its credentials: credentials issued by STS or the
//! Pod Identity agent belong to the account in their role's ARN, a seeded user to the account in
//! its ARN, and anything else (unknown keys in permissive mode, unsigned requests) to the
//! emulator's own account (`accountId` in the seed). That account's partitions stay where they
//! always were (`regions` in the state file), so a single-account user sees no difference; other
//! accounts live under `accounts`. IAM (roles, users, associations, OIDC providers, issued
//! credentials) stays one for all, since role and user ARNs already name their account.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{AwsState, RegionState, iam};
use crate::core::tenant::{TenantError, TenantView};

/// One account other than the emulator's own.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountState {
    #[serde(default)]
    pub regions: BTreeMap<String, RegionState>,
}

/// Whether `s` is an AWS account id: twelve digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account of an IAM or STS ARN (`arn:aws:iam::<account>:role/x`), when it has a valid one.
pub fn account_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some(_service), Some(_region), Some(account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    is_account_id(account).then_some(account)
}

impl AwsState {
    /// The regions of `account`, if it has any state.
    pub fn regions_of(&self, account: &str) -> Option<&BTreeMap<String, RegionState>> {
        if account == self.account_id {
            Some(&self.regions)
        } else {
            self.accounts.get(account).map(|a| &a.regions)
        }
    }

    fn regions_of_mut(&mut self, account: &str) -> &mut BTreeMap<String, RegionState> {
        if account == self.account_id {
            &mut self.regions
        } else {
            &mut self.accounts.entry(account.to_owned()).or_default().regions
        }
    }

    /// One account's partition of one region, if it holds anything yet.
    pub fn partition(&self, account: &str, region: &str) -> Option<&RegionState> {
        self.regions_of(account)?.get(region)
    }

    /// One account's partition of one region, created on first use as AWS accounts and regions
    /// always exist.
    pub fn partition_mut(&mut self, account: &str, region: &str) -> &mut RegionState {
        self.regions_of_mut(account)
            .entry(region.to_owned())
            .or_default()
    }

    /// The partition if it exists, without creating it (a delete of nothing writes nothing).
    pub fn existing_partition_mut(
        &mut self,
        account: &str,
        region: &str,
    ) -> Option<&mut RegionState> {
        if account == self.account_id {
            self.regions.get_mut(region)
        } else {
            self.accounts.get_mut(account)?.regions.get_mut(region)
        }
    }

    /// The IAM state beside a partition, so a handler can authorize while it writes.
    pub fn iam_and_partition(
        &mut self,
        account: &str,
        region: &str,
    ) -> (&iam::IamState, &mut RegionState) {
        let regions = if account == self.account_id {
            &mut self.regions
        } else {
            &mut self.accounts.entry(account.to_owned()).or_default().regions
        };
        (&self.iam, regions.entry(region.to_owned()).or_default())
    }

    /// Makes `account` the emulator's own (the seed's `accountId`): its partitions move to the
    /// top level and the previous account's move under `accounts`, so no state changes owner.
    pub fn set_default_account(&mut self, account: String) {
        if account == self.account_id {
            return;
        }
        let incoming = self.accounts.remove(&account).unwrap_or_default().regions;
        let outgoing = std::mem::replace(&mut self.regions, incoming);
        if !outgoing.is_empty() {
            self.accounts.insert(
                std::mem::replace(&mut self.account_id, account),
                AccountState { regions: outgoing },
            );
        } else {
            self.account_id = account;
        }
    }

    /// Every account with state, the emulator's own first.
    pub fn tenant_views(&self) -> Vec<TenantView> {
        let view = |name: &str, default: bool| TenantView {
            id: format!("aws/{name}"),
            service: "aws",
            name: name.to_owned(),
            default,
        };
        std::iter::once(view(&self.account_id, true))
            .chain(
                self.accounts
                    .keys()
                    .filter(|a| **a != self.account_id)
                    .map(|a| view(a, false)),
            )
            .collect()
    }

    /// Whether the account has been created or used.
    pub fn has_account(&self, account: &str) -> bool {
        account == self.account_id || self.accounts.contains_key(account)
    }

    /// Creates an account's (empty) state; `true` when it did not exist.
    pub fn create_account(&mut self, account: &str) -> bool {
        if self.has_account(account) {
            return false;
        }
        self.accounts
            .insert(account.to_owned(), AccountState::default());
        true
    }

    /// Forgets an account's secrets and parameters in every region.
    pub fn reset_account(&mut self, account: &str) {
        if account == self.account_id {
            self.regions.clear();
        } else if let Some(a) = self.accounts.get_mut(account) {
            a.regions.clear();
        }
    }

    /// Removes an account other than the emulator's own.
    pub fn drop_account(&mut self, account: &str) -> Result<(), TenantError> {
        if account == self.account_id {
            return Err(TenantError::Default(tenant(account)));
        }
        self.accounts
            .remove(account)
            .map(drop)
            .ok_or_else(|| TenantError::NotFound(tenant(account)))
    }

    /// One account's state, for the admin API.
    pub fn dump_account(&self, account: &str) -> Result<serde_json::Value, TenantError> {
        let regions = self
            .regions_of(account)
            .ok_or_else(|| TenantError::NotFound(tenant(account)))?;
        Ok(serde_json::json!({
            "accountId": account,
            "regions": serde_json::to_value(regions).unwrap_or_default(),
        }))
    }
}

fn tenant(account: &str) -> crate::core::tenant::TenantId {
    crate::core::tenant::TenantId::new("aws", account)
}

/// An account id as a tenant name, or why not.
pub fn tenant_name(name: &str) -> Result<String, TenantError> {
    if is_account_id(name) {
        Ok(name.to_owned())
    } else {
        Err(TenantError::Invalid {
            service: "aws",
            name: name.to_owned(),
            why: "an AWS account id is 12 digits".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OTHER: &str = "111122223333";

    #[test]
    fn arns_name_their_account() {
        assert_eq!(
            account_of_arn("arn:aws:iam::111122223333:role/app"),
            Some(OTHER)
        );
        assert_eq!(
            account_of_arn("arn:aws:iam::111122223333:user/a:b"),
            Some(OTHER)
        );
        assert_eq!(account_of_arn("arn:aws:iam::12:role/app"), None);
        assert_eq!(account_of_arn("not-an-arn"), None);
    }

    #[test]
    fn the_default_account_keeps_the_top_level_and_others_are_apart() {
        let mut state = AwsState::default();
        let own = state.account_id.clone();
        state.partition_mut(&own, "us-east-1");
        state.partition_mut(OTHER, "us-east-1");
        assert_eq!(state.regions.len(), 1);
        assert_eq!(state.accounts[OTHER].regions.len(), 1);
        let views: Vec<_> = state.tenant_views().into_iter().map(|v| v.id).collect();
        assert_eq!(views, [format!("aws/{own}"), format!("aws/{OTHER}")]);
        assert_eq!(
            state.drop_account(&own),
            Err(TenantError::Default(tenant(&own)))
        );
        state.drop_account(OTHER).expect("dropped");
        assert!(state.partition(OTHER, "us-east-1").is_none());
        assert!(state.drop_account(OTHER).is_err());
    }

    #[test]
    fn changing_the_default_account_moves_partitions_with_their_owner() {
        let mut state = AwsState::default();
        let own = state.account_id.clone();
        state.partition_mut(&own, "eu-west-1");
        state.partition_mut(OTHER, "us-west-2");
        state.set_default_account(OTHER.to_owned());
        assert_eq!(state.account_id, OTHER);
        assert!(state.regions.contains_key("us-west-2"));
        assert!(state.partition(&own, "eu-west-1").is_some());
        assert!(!state.accounts.contains_key(OTHER));
    }
}
