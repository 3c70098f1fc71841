//! Fault injection: rules that make matching requests fail, slow down or throttle, so scenarios can
//! exercise failover and recovery. Each service renders an injected error in its own wire shape.

use serde::{Deserialize, Serialize};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::ids::Ids;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InjectedError {
    /// The service's error code, e.g. `InternalServiceError` or `ThrottlingException`.
    pub code: String,
    pub status: u16,
    #[serde(default)]
    pub message: String,
}

impl InjectedError {
    /// The HTTP status; rules only accept 400-599, so the fallback is never taken.
    pub fn status_code(&self) -> http::StatusCode {
        http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleSpec {
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Only requests of this tenant (`aws/111122223333`, `vault/team-a`, `azure/case-1`);
    /// unset, requests of every tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<InjectedError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Apply only to the first N matching requests, then stand aside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_n: Option<u64>,
    /// Apply to each matching request with this probability (0..=1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RuleError {
    #[error("a fault rule needs an error, a latency, or both")]
    Empty,
    #[error("probability must be between 0 and 1, got {0}")]
    Probability(f64),
    #[error("an injected error's status must be 400-599, got {0}")]
    Status(u16),
}

impl RuleSpec {
    fn validate(&self) -> Result<(), RuleError> {
        if self.error.is_none() && self.latency_ms.is_none() {
            return Err(RuleError::Empty);
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(RuleError::Probability(p));
        }
        if let Some(e) = &self.error
            && !(400..=599).contains(&e.status)
        {
            return Err(RuleError::Status(e.status));
        }
        Ok(())
    }

    fn matches(&self, service: &str, operation: &str, region: Option<&str>, scope: Scope) -> bool {
        self.service == service
            && self.operation.as_deref().is_none_or(|o| o == operation)
            && self.region.as_deref().is_none_or(|r| Some(r) == region)
            && match scope {
                Scope::Request(tenant) => self.tenant.as_deref().is_none_or(|t| Some(t) == tenant),
                Scope::TenantOnly(tenant) => self.tenant.as_deref() == Some(tenant),
            }
    }
}

/// Which rules a request is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// The rules for every tenant, and those of this tenant when it is known.
    Request(Option<&'a str>),
    /// Only the rules of this tenant: the second check of a request whose tenant is learnt only
    /// after its first check (the Pod Identity agent and STS find the account in the role they
    /// are asked for), so rules for every tenant keep firing where they always did.
    TenantOnly(&'a str),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleView {
    pub id: u64,
    #[serde(flatten)]
    pub spec: RuleSpec,
    pub hits: u64,
}

#[derive(Debug)]
struct Rule {
    id: u64,
    spec: RuleSpec,
    matched: AtomicU64,
    hits: AtomicU64,
}

/// What the service must do to a request a rule caught.
#[derive(Debug, Default, PartialEq)]
pub struct Effect {
    pub delay: Option<Duration>,
    pub error: Option<InjectedError>,
}

#[derive(Debug, Default)]
pub struct Faults {
    // Checked before taking the lock so requests pay nothing while no rule exists.
    any: AtomicBool,
    next_id: AtomicU64,
    rules: RwLock<Vec<Rule>>,
}

impl Faults {
    pub fn add(&self, spec: RuleSpec) -> Result<u64, RuleError> {
        spec.validate()?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let mut rules = self.rules.write().unwrap_or_else(|p| p.into_inner());
        rules.push(Rule {
            id,
            spec,
            matched: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        });
        self.any.store(true, Ordering::Release);
        Ok(id)
    }

    pub fn remove(&self, id: u64) -> bool {
        let mut rules = self.rules.write().unwrap_or_else(|p| p.into_inner());
        let before = rules.len();
        rules.retain(|r| r.id != id);
        self.any.store(!rules.is_empty(), Ordering::Release);
        rules.len() != before
    }

    pub fn clear(&self) {
        self.rules
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.any.store(false, Ordering::Release);
    }

    /// Removes the rules of one tenant, keeping the others'.
    pub fn clear_tenant(&self, tenant: &str) {
        let mut rules = self.rules.write().unwrap_or_else(|p| p.into_inner());
        rules.retain(|r| r.spec.tenant.as_deref() != Some(tenant));
        self.any.store(!rules.is_empty(), Ordering::Release);
    }

    /// The rules, or with `tenant` only that tenant's.
    pub fn list(&self, tenant: Option<&str>) -> Vec<RuleView> {
        self.rules
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|r| tenant.is_none_or(|t| r.spec.tenant.as_deref() == Some(t)))
            .map(|r| RuleView {
                id: r.id,
                spec: r.spec.clone(),
                hits: r.hits.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// The first rule that matches and fires decides the effect; later rules are not consulted.
    pub fn check(
        &self,
        ids: &Ids,
        service: &str,
        operation: &str,
        region: Option<&str>,
        scope: Scope,
    ) -> Effect {
        if !self.any.load(Ordering::Acquire) {
            return Effect::default();
        }
        let rules = self.rules.read().unwrap_or_else(|p| p.into_inner());
        for rule in rules
            .iter()
            .filter(|r| r.spec.matches(service, operation, region, scope))
        {
            let nth = rule.matched.fetch_add(1, Ordering::Relaxed) + 1;
            if rule.spec.first_n.is_some_and(|n| nth > n) {
                continue;
            }
            if rule.spec.probability.is_some_and(|p| ids.unit() >= p) {
                continue;
            }
            rule.hits.fetch_add(1, Ordering::Relaxed);
            return Effect {
                delay: rule.spec.latency_ms.map(Duration::from_millis),
                error: rule.spec.error.clone(),
            };
        }
        Effect::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_rule(first_n: Option<u64>, region: Option<&str>) -> RuleSpec {
        RuleSpec {
            service: "secretsmanager".into(),
            operation: Some("GetSecretValue".into()),
            region: region.map(Into::into),
            tenant: None,
            error: Some(InjectedError {
                code: "InternalServiceError".into(),
                status: 500,
                message: "injected".into(),
            }),
            latency_ms: None,
            first_n,
            probability: None,
        }
    }

    #[test]
    fn first_n_fires_exactly_n_times() {
        let f = Faults::default();
        f.add(error_rule(Some(2), None)).expect("valid rule");
        let ids = Ids::Random;
        let fired: Vec<bool> = (0..4)
            .map(|_| {
                f.check(
                    &ids,
                    "secretsmanager",
                    "GetSecretValue",
                    Some("us-east-1"),
                    Scope::Request(None),
                )
                .error
                .is_some()
            })
            .collect();
        assert_eq!(fired, [true, true, false, false]);
        assert_eq!(f.list(None)[0].hits, 2);
    }

    #[test]
    fn region_and_operation_must_match() {
        let f = Faults::default();
        let id = f
            .add(error_rule(None, Some("us-west-2")))
            .expect("valid rule");
        let ids = Ids::Random;
        assert!(
            f.check(
                &ids,
                "secretsmanager",
                "GetSecretValue",
                Some("us-east-1"),
                Scope::Request(None)
            )
            .error
            .is_none()
        );
        assert!(
            f.check(
                &ids,
                "secretsmanager",
                "DescribeSecret",
                Some("us-west-2"),
                Scope::Request(None)
            )
            .error
            .is_none()
        );
        assert!(
            f.check(
                &ids,
                "secretsmanager",
                "GetSecretValue",
                Some("us-west-2"),
                Scope::Request(None)
            )
            .error
            .is_some()
        );
        assert!(f.remove(id));
        assert!(
            f.check(
                &ids,
                "secretsmanager",
                "GetSecretValue",
                Some("us-west-2"),
                Scope::Request(None)
            )
            .error
            .is_none()
        );
    }

    #[test]
    fn invalid_rules_are_refused() {
        let f = Faults::default();
        let mut empty = error_rule(None, None);
        empty.error = None;
        assert_eq!(f.add(empty), Err(RuleError::Empty));
        let mut p = error_rule(None, None);
        p.probability = Some(1.5);
        assert_eq!(f.add(p), Err(RuleError::Probability(1.5)));
        let mut s = error_rule(None, None);
        if let Some(e) = s.error.as_mut() {
            e.status = 200;
        }
        assert_eq!(f.add(s), Err(RuleError::Status(200)));
    }

    #[test]
    fn probability_zero_never_fires() {
        let f = Faults::default();
        let mut r = error_rule(None, None);
        r.probability = Some(0.0);
        f.add(r).expect("valid rule");
        let ids = Ids::deterministic(1);
        assert!((0..100).all(|_| {
            f.check(
                &ids,
                "secretsmanager",
                "GetSecretValue",
                None,
                Scope::Request(None),
            )
            .error
            .is_none()
        }));
    }

    #[test]
    fn tenant_rules_fire_only_for_their_tenant() {
        let f = Faults::default();
        let mut rule = error_rule(None, None);
        rule.tenant = Some("aws/111122223333".into());
        f.add(rule).expect("valid rule");
        let ids = Ids::Random;
        let fires = |scope| {
            f.check(&ids, "secretsmanager", "GetSecretValue", None, scope)
                .error
                .is_some()
        };
        assert!(fires(Scope::Request(Some("aws/111122223333"))));
        assert!(fires(Scope::TenantOnly("aws/111122223333")));
        assert!(!fires(Scope::Request(Some("aws/123456789012"))));
        assert!(!fires(Scope::Request(None)));
        assert_eq!(f.list(Some("aws/111122223333")).len(), 1);
        assert!(f.list(Some("aws/123456789012")).is_empty());
        // A rule for every tenant fires in the first check only.
        f.add(error_rule(None, None)).expect("valid rule");
        assert!(!fires(Scope::TenantOnly("aws/123456789012")));
        assert!(fires(Scope::Request(Some("aws/123456789012"))));
        f.clear_tenant("aws/111122223333");
        assert_eq!(f.list(None).len(), 1);
    }
}
