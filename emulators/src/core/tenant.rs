//! Tenants: the parts of one emulator process that never see each other, separated the way the
//! real services separate their customers, so concurrent test cases can share one process.
//!
//! - AWS by account: the account of a request is the account of its credentials (a role's or a
//!   user's ARN); Secrets Manager and SSM keep their state per account and region.
//! - Vault by namespace (`X-Vault-Namespace`, or the path prefix form): each namespace has its own
//!   mounts, secrets, policies, auth methods and tokens. Namespaces exist once created.
//! - Azure by vault name: each Key Vault keeps its own secrets, keys and certificates.
//!
//! A tenant is written `<service>/<name>`: `aws/111122223333`, `vault/team-a/app`,
//! `azure/case-1`. Every service has a default tenant, the one a request lands in when it names
//! none (the seed's account, Vault's root namespace `vault/root`, the dev vault `azure/dev`);
//! journal entries of the default tenant carry no tenant field, so a single user sees exactly what
//! they saw before tenants existed.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// A tenant of one service, as the admin API names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId {
    /// `aws`, `azure` or `vault` (a seed section name).
    pub service: String,
    /// The account, vault name or namespace path; its syntax is the service's business.
    pub name: String,
}

impl TenantId {
    pub fn new(service: &str, name: impl Into<String>) -> Self {
        Self {
            service: service.to_owned(),
            name: name.into(),
        }
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.service, self.name)
    }
}

impl FromStr for TenantId {
    type Err = TenantError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (service, name) = s
            .split_once('/')
            .ok_or_else(|| TenantError::Malformed(s.to_owned()))?;
        if !super::seed::SECTIONS.contains(&service) {
            return Err(TenantError::UnknownService(service.to_owned()));
        }
        if name.is_empty() {
            return Err(TenantError::Malformed(s.to_owned()));
        }
        Ok(Self::new(service, name))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TenantError {
    #[error(
        "'{0}' is not a tenant: write <service>/<name>, e.g. aws/111122223333, vault/team-a, azure/case-1"
    )]
    Malformed(String),
    #[error("'{0}' is not a service with tenants (expected aws, azure or vault)")]
    UnknownService(String),
    #[error("the {0} emulator is not running")]
    NotRunning(String),
    #[error("'{name}' cannot name a {service} tenant: {why}")]
    Invalid {
        service: &'static str,
        name: String,
        why: String,
    },
    #[error("no tenant {0}")]
    NotFound(TenantId),
    #[error("{0} is the default tenant and cannot be deleted; reset it instead")]
    Default(TenantId),
    #[error("a seed for tenant {tenant} may only have a '{}' section, not '{section}'", tenant.service)]
    ForeignSection { tenant: TenantId, section: String },
    #[error("{0}")]
    Seed(String),
}

/// The emulator (seed section) whose tenants a journal or fault-rule service name belongs to.
pub fn owner_of(request_service: &str) -> Option<&'static str> {
    match request_service {
        "secretsmanager" | "ssm" | "sts" | "pod-identity" | "aws" => Some("aws"),
        "keyvault" | "entra" => Some("azure"),
        "vault" => Some("vault"),
        _ => None,
    }
}

/// One tenant in the admin API's list.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    pub id: String,
    pub service: &'static str,
    pub name: String,
    pub default: bool,
}

/// The tenant a request was served in, for the journal and fault rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTenant {
    /// `<service>/<name>`.
    pub id: String,
    /// Whether it is the service's default tenant (then journal entries do not show it).
    pub default: bool,
}

impl RequestTenant {
    pub fn new(service: &str, name: &str, default: bool) -> Self {
        Self {
            id: format!("{service}/{name}"),
            default,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_service_slash_name_and_names_may_hold_slashes() {
        let id: TenantId = "vault/team-a/app".parse().expect("valid");
        assert_eq!(id.service, "vault");
        assert_eq!(id.name, "team-a/app");
        assert_eq!(id.to_string(), "vault/team-a/app");
        assert_eq!(
            "gcp/x".parse::<TenantId>(),
            Err(TenantError::UnknownService("gcp".into()))
        );
        assert_eq!(
            "aws".parse::<TenantId>(),
            Err(TenantError::Malformed("aws".into()))
        );
        assert_eq!(
            "aws/".parse::<TenantId>(),
            Err(TenantError::Malformed("aws/".into()))
        );
    }
}
