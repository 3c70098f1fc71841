//! The EKS Pod Identity agent's credential endpoint: `GET /v1/credentials`, with the pod's
//! service-account token (audience `pods.eks.amazonaws.com`) in `Authorization`.
//!
//! The real agent checks the token's shape and hands it to EKS Auth's `AssumeRoleForPodIdentity`,
//! which checks the signature and claims and looks up the association of the token's namespace
//! and service account. Here both halves are one: the association comes from the seed, and the
//! signature is checked only when the seed provides the cluster issuer's JWKS (`webIdentity`).
//!
//! Status codes, and why:
//! - 400 for a missing, malformed, unsigned-by-us, expired or wrongly addressed token: the agent
//!   answers 400 for tokens it cannot parse (its `RequestValidationError`) and passes through
//!   EKS Auth's 400 for `InvalidTokenException` and `ExpiredTokenException`.
//! - 403 `AccessDeniedException` when no association exists: a pod that is not bound to a role is
//!   an authorization failure, and 403 is how the agent itself reports access denials
//!   (`AccessDeniedError`). EKS Auth's model declares its own `AccessDeniedException` with 400;
//!   SDKs treat both alike (any status below 500 is a non-retryable client fault), and 403 is the
//!   unambiguous signal scenarios assert on.
//!
//! Bodies are `{"code","message"}`, which the SDKs' endpoint-credentials clients parse.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Instant;
use time::Duration;

use super::error::AwsError;
use super::sts::{self, jwt};
use super::{AwsEmulator, iam};
use crate::core::faults::Scope;
use crate::core::journal::Record;

/// What EKS Auth requires in the token's `aud`.
pub const AUDIENCE: &str = "pods.eks.amazonaws.com";
/// EKS Pod Identity credentials last six hours.
pub const LIFETIME: Duration = Duration::hours(6);
/// The cluster name in session names (`eks-<cluster>-<pod>-<uuid>`, as EKS Auth builds them).
pub const CLUSTER_NAME: &str = "secretbench";

pub(crate) async fn credentials(
    State(aws): State<Arc<AwsEmulator>>,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let mut record = Record::new("pod-identity", "GetCredentials");
    let result = serve(&aws, &headers, &mut record).await;
    let (status, error, response) = match result {
        Ok(body) => (StatusCode::OK, None, json(StatusCode::OK, &body)),
        Err(err) => {
            let body = serde_json::json!({ "code": err.code, "message": err.message });
            (
                err.status,
                Some(err.code.to_string()),
                json(err.status, &body),
            )
        }
    };
    aws.core
        .journal_request(record, started, status.as_u16(), error);
    response
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, serde_json::to_vec(body).unwrap_or_default()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::client("InvalidTokenException", message)
}

/// The token from `Authorization`: the agent protocol sends it bare, but a `Bearer ` prefix is
/// accepted too since hand-written clients add one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    // Trailing space is trimmed only after the prefix test, so "Bearer " alone is no token.
    let value = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim_start();
    let token = match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => {
            value.get(7..).unwrap_or_default().trim()
        }
        _ => value.trim_end(),
    };
    (!token.is_empty()).then_some(token)
}

async fn serve(
    aws: &AwsEmulator,
    headers: &HeaderMap,
    record: &mut Record,
) -> Result<serde_json::Value, AwsError> {
    // The agent has no region of its own in the request, so rules match it by service alone.
    if let Some(injected) = aws
        .core
        .inject_faults("pod-identity", "GetCredentials", None, Scope::Request(None))
        .await
    {
        return Err(AwsError::new(
            injected.status_code(),
            injected.code,
            injected.message,
        ));
    }

    let Some(raw) = bearer(headers) else {
        return Err(invalid("Service account token cannot be empty"));
    };
    let token = jwt::parse(raw)
        .map_err(|e| invalid(format!("Service account token cannot be parsed: {e}")))?;
    record.identity.clone_from(&token.claims.sub);
    let (account, jwks) = {
        let state = aws.read();
        (state.account_id.clone(), state.iam.jwks.clone())
    };
    if let Some(jwks) = &jwks {
        token.verify(jwks).map_err(|e| {
            invalid(format!(
                "Service account token failed signature validation: {e}"
            ))
        })?;
    }
    let now = aws.core.clock.now().unix_timestamp();
    match token.claims.exp {
        None => {
            return Err(invalid(
                "Service account token failed basic claim validations: missing claim: exp",
            ));
        }
        Some(exp) if exp <= now => {
            return Err(AwsError::client(
                "ExpiredTokenException",
                "Service account token failed basic claim validations: token has invalid claims: token is expired",
            ));
        }
        Some(_) => {}
    }
    if !token.claims.has_audience(AUDIENCE) {
        return Err(invalid(format!("invalid audience: expected {AUDIENCE}")));
    }
    let Some((namespace, service_account)) = token.claims.service_account() else {
        return Err(invalid(
            "the token's subject is not a Kubernetes service account",
        ));
    };
    record.key("namespace", namespace);
    record.key("serviceAccount", service_account);
    let role_arn = {
        let state = aws.read();
        association(&state.iam, namespace, service_account).map(|a| a.role_arn.clone())
    };
    let Some(role_arn) = role_arn else {
        return Err(AwsError::new(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            format!(
                "No Pod Identity association exists for service account {service_account} in namespace {namespace}"
            ),
        ));
    };
    record.key("roleArn", role_arn.clone());
    // The credentials act in the role's account: that is the request's tenant, and its own fault
    // rules apply now (the rules for every tenant were checked first, before the token).
    let tenant = sts::role_tenant(aws, &role_arn);
    record.tenant = Some(tenant.clone());
    if let Some(injected) = aws
        .core
        .inject_faults(
            "pod-identity",
            "GetCredentials",
            None,
            Scope::TenantOnly(&tenant.id),
        )
        .await
    {
        return Err(AwsError::new(
            injected.status_code(),
            injected.code,
            injected.message,
        ));
    }

    let session = session_name(
        token.claims.pod_name.as_deref().unwrap_or(service_account),
        &aws.core.ids.uuid(),
    );
    let issued = sts::issue(aws, &role_arn, &session, LIFETIME);
    record.key("accessKeyId", issued.access_key_id.clone());
    aws.state.persister().commit().await.map_err(|e| {
        tracing::error!(error = %e, "cannot persist state");
        AwsError::internal("InternalServerException", "Unable to persist credentials")
    })?;
    let account_id = sts::parse_role_arn(&role_arn).map_or(account, |(a, _)| a.to_owned());
    tracing::debug!(namespace, service_account, role = %role_arn, "issued pod identity credentials");
    Ok(serde_json::json!({
        "AccessKeyId": issued.access_key_id,
        "SecretAccessKey": issued.secret_access_key,
        "Token": issued.session_token,
        "AccountId": account_id,
        "Expiration": sts::timestamp(issued.expiration),
    }))
}

/// `eks-<cluster>-<pod>-<uuid>` cut to the 64 characters a session name may have, keeping only
/// the characters one may contain.
fn session_name(pod: &str, uuid: &str) -> String {
    let raw = format!("eks-{CLUSTER_NAME}-{pod}-{uuid}");
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c))
        .take(64)
        .collect()
}

/// The association for a namespace and service account, if any (for callers outside the agent).
///
/// An exact association wins; otherwise the first whose namespace and service account match as
/// IAM-style wildcards (`*`, `?`). EKS itself has no wildcards, but a bench creates a fresh
/// namespace per scenario, so its seed cannot name the namespace in advance. Kubernetes names
/// cannot contain `*` or `?`, so a pattern never collides with a real name.
pub fn association<'a>(
    iam: &'a iam::IamState,
    namespace: &str,
    service_account: &str,
) -> Option<&'a iam::Association> {
    iam.associations
        .iter()
        .find(|a| a.namespace == namespace && a.service_account == service_account)
        .or_else(|| {
            iam.associations.iter().find(|a| {
                iam::wildcard(&a.namespace, namespace)
                    && iam::wildcard(&a.service_account, service_account)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_fit_sts_limits() {
        let s = session_name("web-0", "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
        assert!(s.starts_with("eks-secretbench-web-0-0f1e"));
        assert!(s.len() <= 64);
        let long = session_name(&"p".repeat(100), "u");
        assert_eq!(long.len(), 64);
        assert!(session_name("we!rd pod", "u").starts_with("eks-secretbench-werdpod-"));
    }

    #[test]
    fn exact_associations_win_over_wildcard_ones() {
        let assoc = |ns: &str, sa: &str, role: &str| iam::Association {
            namespace: ns.into(),
            service_account: sa.into(),
            role_arn: role.into(),
        };
        let iam = iam::IamState {
            associations: vec![
                assoc("*", "sample-app", "wild"),
                assoc("team-a", "sample-app", "exact"),
            ],
            ..iam::IamState::default()
        };
        let role = |ns: &str, sa: &str| association(&iam, ns, sa).map(|a| a.role_arn.as_str());
        assert_eq!(role("team-a", "sample-app"), Some("exact"));
        assert_eq!(role("scenario-1", "sample-app"), Some("wild"));
        assert_eq!(role("scenario-1", "other"), None);
    }

    #[test]
    fn bearer_prefix_is_optional() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("a.b.c"));
        assert_eq!(bearer(&h), Some("a.b.c"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer a.b.c"),
        );
        assert_eq!(bearer(&h), Some("a.b.c"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer  "));
        assert_eq!(bearer(&h), None);
    }
}
