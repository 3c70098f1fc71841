//! Identities and authorization: who signed a request, and whether their policies allow the call.
//!
//! Credentials come from three places: users configured in the seed, and temporary credentials
//! this emulator issued through STS or the Pod Identity agent (each tied to a role). In the
//! default permissive mode unknown callers are allowed everything; in strict mode they are
//! refused, and every identity is held to its policies.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

use super::error::AwsError;

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    #[default]
    Permissive,
    Strict,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Effect {
    #[default]
    Allow,
    Deny,
}

/// One policy statement. Actions match case-insensitively, resources case-sensitively; both take
/// `*` and `?` wildcards, as IAM does.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Statement {
    #[serde(default)]
    pub effect: Effect,
    pub actions: Vec<String>,
    #[serde(default = "any_resource")]
    pub resources: Vec<String>,
}

fn any_resource() -> Vec<String> {
    vec!["*".to_owned()]
}

/// Who may assume a role with a web identity token: IRSA's trust policy, reduced to what it
/// checks. As IAM writes it: `Principal.Federated` names the account's OIDC provider for
/// `issuer`, and the conditions `StringEquals` / `StringLike` on `<issuer>:sub` and
/// `StringEquals` on `<issuer>:aud` (the terraform-aws-modules `iam-assumable-role-with-oidc`
/// inputs `oidc_fully_qualified_subjects`, `oidc_subjects_with_wildcards` and
/// `oidc_fully_qualified_audiences`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Trust {
    /// The federated principal: the token's `iss` must be this issuer, registered as an OIDC
    /// provider of the role's account. Unset (an emulator shorthand): tokens of any issuer, with
    /// `audience` standing in for the provider's client ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The token's `aud` must contain this.
    #[serde(default = "sts_audience")]
    pub audience: String,
    /// `StringEquals` on the subject: the token's `sub` must be one of these exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    /// `StringLike` on the subject: or match one of these (`*` any run of characters, `?` one).
    /// With neither list, any subject is trusted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects_like: Vec<String>,
}

impl Trust {
    /// What a role without trust gets in permissive mode: any issuer, STS's audience, any subject.
    pub fn default_for_any_issuer() -> Self {
        Self {
            audience: sts_audience(),
            ..Self::default()
        }
    }

    /// Whether the subject conditions hold for `subject`.
    pub fn trusts_subject(&self, subject: &str) -> bool {
        (self.subjects.is_empty() && self.subjects_like.is_empty())
            || self.subjects.iter().any(|s| s == subject)
            || self.subjects_like.iter().any(|p| wildcard(p, subject))
    }
}

/// An IAM OIDC identity provider (`CreateOpenIDConnectProvider`): STS takes web identity tokens
/// only from issuers registered in the role's account, for the audiences listed here.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OidcProvider {
    /// The issuer without its scheme, as IAM stores it (`oidc.eks.<region>.amazonaws.com/id/...`).
    pub url: String,
    /// `ClientIDList`: the audiences accepted.
    pub client_ids: Vec<String>,
}

/// The seed's form of an OIDC provider.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OidcProviderSeed {
    /// The issuer URL (`https://...`, as in the tokens' `iss`).
    pub url: String,
    /// Default: `sts.amazonaws.com`, what `eksctl utils associate-iam-oidc-provider` registers.
    #[serde(default = "default_client_ids")]
    pub client_ids: Vec<String>,
    /// The account it is registered in; default: the emulator's account.
    #[serde(default)]
    pub account_id: Option<String>,
}

fn default_client_ids() -> Vec<String> {
    vec![sts_audience()]
}

/// An issuer URL as IAM keys it: without scheme or trailing slash.
pub fn issuer_key(url: &str) -> &str {
    url.strip_prefix("https://")
        .unwrap_or(url)
        .trim_end_matches('/')
}

/// `arn:aws:iam::<account>:oidc-provider/<issuer without scheme>`.
pub fn oidc_provider_arn(account: &str, issuer: &str) -> String {
    format!(
        "arn:aws:iam::{account}:oidc-provider/{}",
        issuer_key(issuer)
    )
}

pub fn sts_audience() -> String {
    "sts.amazonaws.com".to_owned()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Role {
    pub arn: String,
    #[serde(default)]
    pub policy: Vec<Statement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<Trust>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct User {
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default)]
    pub policy: Vec<Statement>,
}

/// An EKS Pod Identity association: pods running as this service account get this role. Either
/// name may be an IAM-style wildcard pattern (an emulator extension; exact associations win).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Association {
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
}

/// Temporary credentials this emulator handed out.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Issued {
    pub secret_access_key: String,
    pub session_token: String,
    pub role_arn: String,
    pub session_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expiration: OffsetDateTime,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IamState {
    pub authorization: Mode,
    pub signatures: Mode,
    pub roles: BTreeMap<String, Role>,
    pub users: BTreeMap<String, User>,
    pub associations: Vec<Association>,
    /// OIDC identity providers by ARN.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub oidc_providers: BTreeMap<String, OidcProvider>,
    pub issued: BTreeMap<String, Issued>,
    /// Keys that sign web identity and service-account tokens (the cluster issuer's JWKS). While
    /// unset, STS and the Pod Identity agent check claims only, not signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<jsonwebtoken::jwk::JwkSet>,
}

/// The seed's `webIdentity` section: the JWKS inline, from a file (the API server's
/// `/openid/v1/jwks` saved by the harness), or both (their keys are merged).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebIdentitySeed {
    #[serde(default)]
    pub jwks: Option<jsonwebtoken::jwk::JwkSet>,
    #[serde(default)]
    pub jwks_file: Option<std::path::PathBuf>,
}

impl WebIdentitySeed {
    /// The key set to verify with, checked so a bad key fails the seed rather than every token.
    pub fn load(self) -> Result<jsonwebtoken::jwk::JwkSet, String> {
        let mut set = self.jwks.unwrap_or_default();
        if let Some(path) = self.jwks_file {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read webIdentity.jwksFile {}: {e}", path.display()))?;
            let from_file: jsonwebtoken::jwk::JwkSet =
                serde_json::from_str(&text).map_err(|e| {
                    format!("webIdentity.jwksFile {} is not a JWKS: {e}", path.display())
                })?;
            set.keys.extend(from_file.keys);
        }
        super::sts::check_jwks(&set).map_err(|e| format!("webIdentity: {e}"))?;
        Ok(set)
    }
}

/// The caller of one request, resolved from its access key.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub arn: String,
    /// The account the caller acts in: its role's or user's, else the emulator's own. Secrets
    /// Manager and SSM serve the caller that account's state ([`super::accounts`]).
    pub account: String,
    /// `None`: the caller has no policy attached, so permissive mode lets it do anything.
    pub policy: Option<Vec<Statement>>,
    /// The key the signature must verify with (strict signatures), when known.
    pub secret_key: Option<String>,
}

impl Identity {
    pub fn anonymous(account: &str) -> Self {
        Self {
            arn: format!("arn:aws:iam::{account}:root"),
            account: account.to_owned(),
            policy: None,
            secret_key: None,
        }
    }
}

/// `assumed-role/<name>/<session>` from a role ARN.
pub fn assumed_role_arn(account: &str, role_arn: &str, session: &str) -> String {
    let name = role_arn.rsplit('/').next().unwrap_or(role_arn);
    format!("arn:aws:sts::{account}:assumed-role/{name}/{session}")
}

impl IamState {
    pub fn identify(
        &self,
        account: &str,
        access_key_id: &str,
        now: OffsetDateTime,
    ) -> Result<Identity, AwsError> {
        if let Some(issued) = self.issued.get(access_key_id) {
            if issued.expiration <= now {
                return Err(AwsError::client(
                    "ExpiredTokenException",
                    "The security token included in the request is expired",
                ));
            }
            let policy = self.roles.get(&issued.role_arn).map(|r| r.policy.clone());
            // Credentials act in their role's account, as an assumed role does in AWS.
            let account = super::accounts::account_of_arn(&issued.role_arn).unwrap_or(account);
            return Ok(Identity {
                arn: assumed_role_arn(account, &issued.role_arn, &issued.session_name),
                account: account.to_owned(),
                policy: policy.filter(|p| !p.is_empty()),
                secret_key: Some(issued.secret_access_key.clone()),
            });
        }
        if let Some(user) = self.users.get(access_key_id) {
            let account = user
                .arn
                .as_deref()
                .and_then(super::accounts::account_of_arn)
                .unwrap_or(account);
            return Ok(Identity {
                account: account.to_owned(),
                arn: user
                    .arn
                    .clone()
                    .unwrap_or_else(|| format!("arn:aws:iam::{account}:user/{access_key_id}")),
                policy: Some(user.policy.clone()).filter(|p| !p.is_empty()),
                secret_key: Some(user.secret_access_key.clone()),
            });
        }
        match self.authorization {
            Mode::Permissive => Ok(Identity::anonymous(account)),
            Mode::Strict => Err(AwsError::client(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )),
        }
    }

    /// Whether `identity` may perform `action` on `resource`; the error is AWS's AccessDenied.
    pub fn authorize(
        &self,
        identity: &Identity,
        action: &str,
        resource: &str,
    ) -> Result<(), AwsError> {
        self.authorize_as(identity, action, resource, resource)
    }

    /// [`IamState::authorize`] where the refusal names the resource as the caller gave it
    /// (`shown`) rather than the ARN the policy was evaluated against, as Secrets Manager words
    /// it for a SecretId given by name ("... on resource: MyDBSecret because ...").
    pub fn authorize_as(
        &self,
        identity: &Identity,
        action: &str,
        resource: &str,
        shown: &str,
    ) -> Result<(), AwsError> {
        let denied = || AwsError::access_denied(&identity.arn, action, shown);
        let Some(policy) = &identity.policy else {
            return match self.authorization {
                Mode::Permissive => Ok(()),
                Mode::Strict => Err(denied()),
            };
        };
        let applies = |s: &&Statement| {
            s.actions
                .iter()
                .any(|a| wildcard(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
                && s.resources.iter().any(|r| wildcard(r, resource))
        };
        let matching: Vec<&Statement> = policy.iter().filter(applies).collect();
        if matching.iter().any(|s| s.effect == Effect::Deny)
            || !matching.iter().any(|s| s.effect == Effect::Allow)
        {
            return Err(denied());
        }
        Ok(())
    }
}

/// IAM-style matching: `*` any run of characters, `?` exactly one.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "123456789012";

    #[test]
    fn subjects_are_exact_and_subjects_like_are_patterns() {
        let trust = |subjects: &[&str], like: &[&str]| Trust {
            subjects: subjects.iter().map(|s| (*s).to_owned()).collect(),
            subjects_like: like.iter().map(|s| (*s).to_owned()).collect(),
            ..Trust::default()
        };
        let exact = trust(&["system:serviceaccount:default:app"], &[]);
        assert!(exact.trusts_subject("system:serviceaccount:default:app"));
        assert!(!exact.trusts_subject("system:serviceaccount:default:app2"));
        // StringEquals takes `*` literally.
        let literal = trust(&["system:serviceaccount:*:app"], &[]);
        assert!(!literal.trusts_subject("system:serviceaccount:team:app"));
        assert!(literal.trusts_subject("system:serviceaccount:*:app"));
        let like = trust(&[], &["system:serviceaccount:*:app-?"]);
        assert!(like.trusts_subject("system:serviceaccount:team:app-1"));
        assert!(!like.trusts_subject("system:serviceaccount:team:app-10"));
        assert!(trust(&[], &[]).trusts_subject("anything"));
    }

    #[test]
    fn provider_arns_drop_the_scheme_and_trailing_slash() {
        assert_eq!(
            oidc_provider_arn(ACCOUNT, "https://oidc.eks.us-east-1.amazonaws.com/id/ABC/"),
            "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
        );
        assert_eq!(
            issuer_key("kubernetes.default.svc"),
            "kubernetes.default.svc"
        );
    }

    fn role_with(policy: Vec<Statement>) -> IamState {
        let mut iam = IamState::default();
        let arn = format!("arn:aws:iam::{ACCOUNT}:role/app");
        iam.roles.insert(
            arn.clone(),
            Role {
                arn: arn.clone(),
                policy,
                trust: None,
            },
        );
        iam.issued.insert(
            "ASIAEXAMPLE".into(),
            Issued {
                secret_access_key: "s".into(),
                session_token: "t".into(),
                role_arn: arn,
                session_name: "sess".into(),
                expiration: time::macros::datetime!(2030-01-01 00:00 UTC),
            },
        );
        iam
    }

    #[test]
    fn wildcards_match_like_iam() {
        assert!(wildcard(
            "secretsmanager:*",
            "secretsmanager:getsecretvalue"
        ));
        assert!(wildcard(
            "arn:aws:secretsmanager:*:*:secret:app/*",
            "arn:aws:secretsmanager:us-east-1:1:secret:app/db-AbCdEf"
        ));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "abbc"));
        assert!(!wildcard("app/*", "other/x"));
        assert!(wildcard("*", ""));
    }

    #[test]
    fn role_policy_allows_and_explicit_deny_wins() {
        let iam = role_with(vec![
            Statement {
                effect: Effect::Allow,
                actions: vec!["secretsmanager:Get*".into()],
                resources: vec!["*".into()],
            },
            Statement {
                effect: Effect::Deny,
                actions: vec!["*".into()],
                resources: vec!["*:secret:blocked-*".into()],
            },
        ]);
        let now = time::macros::datetime!(2026-01-01 00:00 UTC);
        let who = iam
            .identify(ACCOUNT, "ASIAEXAMPLE", now)
            .expect("known key");
        assert_eq!(who.arn, "arn:aws:sts::123456789012:assumed-role/app/sess");
        iam.authorize(&who, "secretsmanager:GetSecretValue", "arn:x:secret:ok-1")
            .expect("allowed");
        let e = iam
            .authorize(
                &who,
                "secretsmanager:GetSecretValue",
                "arn:x:secret:blocked-1",
            )
            .expect_err("denied");
        assert_eq!(e.code, "AccessDeniedException");
        assert!(e.message.starts_with("User: arn:aws:sts::123456789012:assumed-role/app/sess is not authorized to perform: secretsmanager:GetSecretValue"));
        assert!(
            iam.authorize(&who, "secretsmanager:PutSecretValue", "arn:x:secret:ok-1")
                .is_err()
        );
    }

    #[test]
    fn unknown_keys_depend_on_the_mode_and_expired_keys_are_refused() {
        let mut iam = role_with(vec![]);
        let now = time::macros::datetime!(2026-01-01 00:00 UTC);
        let anon = iam
            .identify(ACCOUNT, "AKIAUNKNOWN", now)
            .expect("permissive");
        iam.authorize(&anon, "ssm:GetParameters", "*")
            .expect("permissive allows");
        iam.authorization = Mode::Strict;
        assert_eq!(
            iam.identify(ACCOUNT, "AKIAUNKNOWN", now)
                .expect_err("strict")
                .code,
            "UnrecognizedClientException"
        );
        let later = time::macros::datetime!(2031-01-01 00:00 UTC);
        assert_eq!(
            iam.identify(ACCOUNT, "ASIAEXAMPLE", later)
                .expect_err("expired")
                .code,
            "ExpiredTokenException"
        );
        // A role without statements is held to nothing in permissive mode but to everything in strict.
        let who = iam.identify(ACCOUNT, "ASIAEXAMPLE", now).expect("known");
        assert!(iam.authorize(&who, "ssm:GetParameters", "*").is_err());
    }
}
