//! The token auth method: the token store, minting (create, login), lookup, renewal and
//! revocation, and the `auth` block of Vault's envelope.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

use super::envelope::Reply;
use super::error::{VaultError, VaultResult};
use super::policy::{DEFAULT, ROOT};
use super::router::{self, Caller, Ctx, Op, Req};
use super::{DEFAULT_LEASE_TTL, MAX_LEASE_TTL, VaultState, duration};
use crate::core::Core;
use crate::core::clock::rfc3339;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    pub id: String,
    pub accessor: String,
    pub policies: Vec<String>,
    #[serde(default)]
    pub meta: Option<BTreeMap<String, String>>,
    pub display_name: String,
    /// The path that created it (`auth/token/create`, `auth/kubernetes/login`).
    pub path: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// The TTL asked for at creation; 0 = never expires.
    pub creation_ttl: u64,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub expire_time: Option<OffsetDateTime>,
    pub explicit_max_ttl: u64,
    pub renewable: bool,
    pub orphan: bool,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub entity_id: String,
}

impl Token {
    pub fn valid(&self, now: OffsetDateTime) -> bool {
        self.expire_time.is_none_or(|t| t > now)
    }

    pub fn ttl(&self, now: OffsetDateTime) -> u64 {
        self.expire_time
            .map_or(0, |t| u64::try_from((t - now).whole_seconds()).unwrap_or(0))
    }

    pub fn is_root(&self) -> bool {
        self.policies.iter().any(|p| p == ROOT)
    }

    /// The `auth` block of a create, login or renew answer.
    pub fn auth_block(&self, now: OffsetDateTime) -> Value {
        self.auth_block_with_ttl(self.ttl(now))
    }

    /// The `auth` block with the lease the answer grants (Vault reports the TTL it computed,
    /// not the time left after computing it).
    pub fn auth_block_with_ttl(&self, ttl: u64) -> Value {
        json!({
            "client_token": self.id,
            "accessor": self.accessor,
            "policies": self.policies,
            "token_policies": self.policies,
            "metadata": self.meta,
            "lease_duration": ttl,
            "renewable": self.renewable,
            "entity_id": self.entity_id,
            "token_type": "service",
            "orphan": self.orphan,
            "mfa_requirement": null,
            "num_uses": 0,
        })
    }

    fn lookup_data(&self, now: OffsetDateTime) -> Value {
        json!({
            "accessor": self.accessor,
            "creation_time": self.created.unix_timestamp(),
            "creation_ttl": self.creation_ttl,
            "display_name": self.display_name,
            "entity_id": self.entity_id,
            "expire_time": self.expire_time.map(rfc3339),
            "explicit_max_ttl": self.explicit_max_ttl,
            "id": self.id,
            "issue_time": rfc3339(self.created),
            "meta": self.meta,
            "num_uses": 0,
            "orphan": self.orphan,
            "path": self.path,
            "policies": self.policies,
            "renewable": self.renewable,
            "ttl": self.ttl(now),
            "type": "service",
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenStore {
    pub tokens: BTreeMap<String, Token>,
}

/// What a new token should be.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    pub id: Option<String>,
    pub policies: Vec<String>,
    pub no_default_policy: bool,
    pub meta: Option<BTreeMap<String, String>>,
    pub display_name: String,
    pub path: String,
    /// `None` = the system default (768h); `Some(0)` with the root policy = never expires.
    pub ttl: Option<u64>,
    pub explicit_max_ttl: u64,
    pub renewable: bool,
    pub orphan: bool,
    pub parent: Option<String>,
    pub entity_id: String,
}

/// Sorted, deduplicated policies, with `default` added unless asked not to (never beside root).
pub fn normalise_policies(policies: &[String], no_default: bool) -> Vec<String> {
    let mut out: Vec<String> = policies
        .iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let root = out.iter().any(|p| p == ROOT);
    if !no_default && !root && !out.iter().any(|p| p == DEFAULT) {
        out.push(DEFAULT.to_owned());
    }
    if root {
        out.retain(|p| p == ROOT);
    }
    out.sort();
    out.dedup();
    out
}

impl TokenStore {
    pub fn insert_root(&mut self, core: &Core, id: &str) {
        let token = Token {
            id: id.to_owned(),
            accessor: core.ids.alphanumeric(24),
            policies: vec![ROOT.to_owned()],
            meta: None,
            // What `vault server -dev -dev-root-token-id=<id>` makes: a root token created
            // through the token store.
            display_name: "token".into(),
            path: "auth/token/create".into(),
            created: core.clock.now(),
            creation_ttl: 0,
            expire_time: None,
            explicit_max_ttl: 0,
            renewable: false,
            orphan: true,
            parent: None,
            entity_id: String::new(),
        };
        self.tokens.insert(id.to_owned(), token);
    }

    pub fn mint(&mut self, core: &Core, now: OffsetDateTime, spec: Spec) -> Token {
        let policies = normalise_policies(&spec.policies, spec.no_default_policy);
        let root = policies.iter().any(|p| p == ROOT);
        let mut ttl = match spec.ttl {
            Some(t) => t,
            None if root => 0,
            None => DEFAULT_LEASE_TTL,
        };
        if spec.explicit_max_ttl > 0 && (ttl == 0 || ttl > spec.explicit_max_ttl) {
            ttl = spec.explicit_max_ttl;
        }
        // Callers cap TTLs to the system maximum as Vault does; this keeps the clock arithmetic
        // in range whatever they pass.
        ttl = ttl.min(MAX_LEASE_TTL);
        let id = spec
            .id
            .unwrap_or_else(|| format!("hvs.{}", core.ids.alphanumeric(24)));
        let token = Token {
            id: id.clone(),
            accessor: core.ids.alphanumeric(24),
            policies,
            meta: spec.meta.filter(|m| !m.is_empty()),
            display_name: spec.display_name,
            path: spec.path,
            created: now,
            creation_ttl: ttl,
            expire_time: (ttl > 0).then(|| now + seconds(ttl)),
            explicit_max_ttl: spec.explicit_max_ttl,
            renewable: spec.renewable && ttl > 0,
            orphan: spec.orphan,
            parent: spec.parent,
            entity_id: spec.entity_id,
        };
        self.tokens.insert(id, token.clone());
        token
    }

    /// Revokes `id` and, as Vault does, every non-orphan token it created.
    pub fn revoke(&mut self, id: &str) {
        let mut pending = vec![id.to_owned()];
        while let Some(next) = pending.pop() {
            self.tokens.remove(&next);
            pending.extend(
                self.tokens
                    .values()
                    .filter(|t| t.parent.as_deref() == Some(next.as_str()) && !t.orphan)
                    .map(|t| t.id.clone()),
            );
        }
    }

    /// The caller behind a token id, if the token exists and has not expired.
    pub fn resolve(&self, id: &str, now: OffsetDateTime) -> Option<Caller> {
        let t = self.tokens.get(id).filter(|t| t.valid(now))?;
        Some(Caller {
            id: t.id.clone(),
            accessor: t.accessor.clone(),
            policies: t.policies.clone(),
            display_name: t.display_name.clone(),
            root: t.is_root(),
            entity_id: t.entity_id.clone(),
        })
    }

    fn renew(
        &mut self,
        id: &str,
        increment: Option<u64>,
        now: OffsetDateTime,
    ) -> VaultResult<(Value, Vec<String>)> {
        let t = self
            .tokens
            .get_mut(id)
            .filter(|t| t.valid(now))
            .ok_or_else(|| VaultError::bad_request("invalid lease ID"))?;
        if !t.renewable || t.expire_time.is_none() {
            return Err(VaultError::bad_request("lease is not renewable"));
        }
        // framework.LeaseExtend: the increment, else the token's TTL, within the maximum counted
        // from the token's issue time.
        let (ttl, warnings) = calculate_ttl(
            now,
            t.created,
            increment.unwrap_or(0),
            t.creation_ttl,
            t.explicit_max_ttl,
        )?;
        t.expire_time = Some(truncate(now) + seconds(ttl));
        Ok((t.auth_block_with_ttl(ttl), warnings))
    }
}

/// `secs` as a time offset (capped callers keep it far from overflow).
fn seconds(secs: u64) -> Duration {
    Duration::seconds(i64::try_from(secs.min(MAX_LEASE_TTL * 1000)).unwrap_or(0))
}

/// Whole seconds, the precision of every TTL computation in Vault.
fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// Vault's `framework.CalculateTTL` (sdk `framework/lease.go`) without periods: the increment,
/// else the backend's TTL, else the system default, capped to what is left of the maximum
/// (the system's 768h, or a smaller explicit maximum) counted from `start`, with Vault's
/// warning when it caps.
pub fn calculate_ttl(
    now: OffsetDateTime,
    start: OffsetDateTime,
    increment: u64,
    backend_ttl: u64,
    explicit_max: u64,
) -> VaultResult<(u64, Vec<String>)> {
    let (now, start) = (truncate(now), truncate(start));
    let mut max = MAX_LEASE_TTL;
    if explicit_max > 0 && explicit_max < max {
        max = explicit_max;
    }
    let mut ttl = if increment > 0 {
        increment
    } else if backend_ttl > 0 {
        backend_ttl
    } else {
        DEFAULT_LEASE_TTL
    };
    let left = (start + seconds(max) - now).whole_seconds();
    let Ok(left) = u64::try_from(left) else {
        return Err(VaultError::internal_message(
            "past the max TTL, cannot renew",
        ));
    };
    if left == 0 {
        return Err(VaultError::internal_message(
            "past the max TTL, cannot renew",
        ));
    }
    let mut warnings = Vec::new();
    if left < ttl {
        warnings.push(format!(
            "TTL of \"{}\" exceeded the effective max_ttl of \"{}\"; TTL value is capped accordingly",
            duration::human(ttl),
            duration::human(left)
        ));
        ttl = left;
    }
    Ok((ttl, warnings))
}

fn caller<'a>(ctx: &'a Ctx<'_>) -> VaultResult<&'a Caller> {
    ctx.caller
        .as_ref()
        .ok_or_else(VaultError::permission_denied)
}

fn token_param(req: &Req) -> VaultResult<String> {
    router::str_field(&req.body, "token")
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| VaultError::bad_request("missing token"))
}

pub fn read(state: &VaultState, ctx: &Ctx<'_>, rest: &str, req: &Req) -> VaultResult<Reply> {
    match (rest, req.op) {
        ("lookup-self", Op::Read) => {
            let c = caller(ctx)?;
            let t = state
                .tokens
                .tokens
                .get(&c.id)
                .ok_or_else(VaultError::invalid_token)?;
            Ok(Reply::data(t.lookup_data(ctx.now)))
        }
        ("accessors" | "accessors/", Op::List) => {
            let keys = state
                .tokens
                .tokens
                .values()
                .map(|t| t.accessor.clone())
                .collect();
            router::keys_reply(keys)
        }
        (
            "create" | "create-orphan" | "lookup" | "lookup-accessor" | "renew" | "renew-self"
            | "revoke" | "revoke-self" | "lookup-self",
            _,
        ) => Err(VaultError::unsupported_operation()),
        _ => Err(VaultError::unsupported_path()),
    }
}

pub fn write(state: &mut VaultState, ctx: &Ctx<'_>, rest: &str, req: &Req) -> VaultResult<Reply> {
    if req.op != Op::Write {
        return Err(match rest {
            "create" | "create-orphan" | "lookup" | "lookup-accessor" | "renew" | "renew-self"
            | "revoke" | "revoke-self" | "lookup-self" => VaultError::unsupported_operation(),
            _ => VaultError::unsupported_path(),
        });
    }
    match rest {
        "create" | "create-orphan" => create(state, ctx, rest == "create-orphan", req),
        "lookup" | "lookup-self" => {
            let id = if rest == "lookup" {
                token_param(req)?
            } else {
                caller(ctx)?.id.clone()
            };
            let t = state
                .tokens
                .tokens
                .get(&id)
                .filter(|t| t.valid(ctx.now))
                .ok_or_else(|| VaultError::new(StatusCode::FORBIDDEN, "bad token"))?;
            Ok(Reply::data(t.lookup_data(ctx.now)))
        }
        "lookup-accessor" => {
            let accessor = router::str_field(&req.body, "accessor")
                .filter(|a| !a.is_empty())
                .ok_or_else(|| VaultError::bad_request("missing accessor"))?;
            let t = state
                .tokens
                .tokens
                .values()
                .find(|t| t.accessor == accessor && t.valid(ctx.now))
                .ok_or_else(|| VaultError::bad_request("invalid accessor"))?;
            // A lookup by accessor never reveals the token itself.
            let mut data = t.lookup_data(ctx.now);
            data["id"] = json!("");
            Ok(Reply::data(data))
        }
        "renew" | "renew-self" => {
            let id = if rest == "renew" {
                token_param(req)?
            } else {
                caller(ctx)?.id.clone()
            };
            let increment = router::validated_duration_field(&req.body, "increment")?;
            let (auth, warnings) = state.tokens.renew(&id, increment, ctx.now)?;
            Ok(Reply {
                auth: Some(auth),
                warnings,
                ..Reply::default()
            }
            .mutated())
        }
        "revoke" | "revoke-self" => {
            let id = if rest == "revoke" {
                token_param(req)?
            } else {
                caller(ctx)?.id.clone()
            };
            state.tokens.revoke(&id);
            Ok(Reply::no_content().mutated())
        }
        _ => Err(VaultError::unsupported_path()),
    }
}

fn create(
    state: &mut VaultState,
    ctx: &Ctx<'_>,
    orphan_path: bool,
    req: &Req,
) -> VaultResult<Reply> {
    let parent = caller(ctx)?.clone();
    let b = &req.body;
    let requested = router::list_field(b, "policies")?;
    let policies = match requested {
        Some(p) if !p.is_empty() => p,
        // No policies asked: the child inherits the parent's.
        _ => parent.policies.clone(),
    };
    if !parent.root {
        let allowed = normalise_policies(&parent.policies, false);
        if policies
            .iter()
            .any(|p| p != DEFAULT && !allowed.contains(p))
        {
            return Err(VaultError::bad_request(
                "child policies must be subset of parent",
            ));
        }
    }
    let no_parent = router::bool_field(b, "no_parent")?.unwrap_or(false);
    if no_parent && !parent.root {
        return Err(VaultError::bad_request(
            "root or sudo privileges required to create orphan token",
        ));
    }
    // `create-orphan` needs no privilege; `no_parent` does.
    let orphan = orphan_path || no_parent;
    let meta: Option<BTreeMap<String, String>> = match b.get("meta") {
        Some(Value::Object(m)) => Some(
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect(),
        ),
        _ => None,
    };
    let id = router::str_field(b, "id")
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if let Some(id) = &id {
        if !parent.root {
            return Err(VaultError::bad_request(
                "root or sudo privileges required to specify token id",
            ));
        }
        if state.tokens.tokens.contains_key(id) {
            return Err(VaultError::bad_request(
                "cannot create a token with a duplicate ID",
            ));
        }
    }
    let display = router::str_field(b, "display_name").unwrap_or("");
    let display_name = if display.is_empty() {
        "token".to_owned()
    } else {
        format!("token-{display}")
    };
    // The token store's order and messages (vault/token_store.go handleCreateCommon): the
    // explicit maximum, then the TTL, each parsed by parseutil with its bare error.
    let explicit_max_ttl = match duration_param(b, "explicit_max_ttl")? {
        Some(d) if d < 0 => {
            return Err(VaultError::bad_request("explicit_max_ttl must be positive"));
        }
        Some(d) => d.unsigned_abs(),
        None => 0,
    };
    let ttl = match duration_param(b, "ttl")? {
        Some(d) if d < 0 => return Err(VaultError::bad_request("ttl must be positive")),
        Some(d) => d.unsigned_abs(),
        None => 0,
    };
    let no_default_policy = router::bool_field(b, "no_default_policy")?.unwrap_or(false);
    let final_policies = normalise_policies(&policies, no_default_policy);
    let root = final_policies.iter().any(|p| p == ROOT);
    let mut warnings = Vec::new();
    let mut ttl = ttl;
    if ttl > 0 || !root {
        let (capped, w) = calculate_ttl(ctx.now, ctx.now, 0, ttl, explicit_max_ttl)?;
        ttl = capped;
        warnings.extend(w);
    }
    if ttl == 0 && explicit_max_ttl > 0 {
        ttl = explicit_max_ttl;
    }
    if id.is_some() {
        warnings.push("Supplying a custom ID for the token uses the weaker SHA1 hashing instead of the more secure SHA2-256 HMAC for token obfuscation. SHA1 hashed tokens on the wire leads to less secure lookups.".into());
    }
    for p in &final_policies {
        if p != ROOT && !state.policies.contains_key(p) {
            warnings.push(format!("Policy \"{p}\" does not exist"));
        }
    }
    let spec = Spec {
        id,
        policies,
        no_default_policy,
        meta,
        display_name,
        path: if orphan_path {
            "auth/token/create-orphan"
        } else {
            "auth/token/create"
        }
        .into(),
        ttl: Some(ttl),
        explicit_max_ttl,
        renewable: router::bool_field(b, "renewable")?.unwrap_or(true),
        orphan,
        parent: (!orphan).then(|| parent.id.clone()),
        entity_id: String::new(),
    };
    let token = state.tokens.mint(ctx.core, ctx.now, spec);
    Ok(Reply {
        auth: Some(token.auth_block_with_ttl(ttl)),
        warnings,
        ..Reply::default()
    }
    .mutated())
}

/// A duration the token store reads as a string and parses itself: its error is parseutil's
/// alone (`time: invalid duration "x"`), not the framework's field error.
fn duration_param(body: &serde_json::Map<String, Value>, name: &str) -> VaultResult<Option<i64>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(v) => duration::parse_value(v).map_err(VaultError::bad_request),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_added_and_root_stands_alone() {
        assert_eq!(
            normalise_policies(&["b".into(), "a".into()], false),
            ["a", "b", "default"]
        );
        assert_eq!(normalise_policies(&["a".into()], true), ["a"]);
        assert_eq!(
            normalise_policies(&["root".into(), "x".into()], false),
            ["root"]
        );
    }

    #[test]
    fn revocation_cascades_to_children_but_not_orphans() {
        let core = Core::new(true);
        let now = core.clock.now();
        let mut store = TokenStore::default();
        let parent = store.mint(
            &core,
            now,
            Spec {
                policies: vec!["a".into()],
                renewable: true,
                ..Spec::default()
            },
        );
        let child = store.mint(
            &core,
            now,
            Spec {
                parent: Some(parent.id.clone()),
                ..Spec::default()
            },
        );
        let orphan = store.mint(
            &core,
            now,
            Spec {
                parent: Some(parent.id.clone()),
                orphan: true,
                ..Spec::default()
            },
        );
        store.revoke(&parent.id);
        assert!(!store.tokens.contains_key(&child.id));
        assert!(store.tokens.contains_key(&orphan.id));
        assert_eq!(parent.creation_ttl, DEFAULT_LEASE_TTL);
    }
}
