//! The token auth method: the token store, minting (create, login), lookup, renewal and
//! revocation, and the `auth` block of Vault's envelope.

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

/// A length of time given in seconds (at most [`super::duration::MAX_SECONDS`] when it came from
/// a request, so it always fits).
fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX))
}

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
        json!({
            "client_token": self.id,
            "accessor": self.accessor,
            "policies": self.policies,
            "token_policies": self.policies,
            "metadata": self.meta,
            "lease_duration": self.ttl(now),
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
            display_name: "root".into(),
            path: "auth/token/root".into(),
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
            // No token outlives the system's max lease TTL (Vault's `framework.CalculateTTL`).
            Some(t) => t.min(MAX_LEASE_TTL),
            None if root => 0,
            None => DEFAULT_LEASE_TTL,
        };
        if spec.explicit_max_ttl > 0 && (ttl == 0 || ttl > spec.explicit_max_ttl) {
            ttl = spec.explicit_max_ttl.min(MAX_LEASE_TTL);
        }
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
            expire_time: (ttl > 0).then(|| now.saturating_add(seconds(ttl))),
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
        })
    }

    fn renew(
        &mut self,
        id: &str,
        increment: Option<u64>,
        now: OffsetDateTime,
    ) -> VaultResult<Value> {
        let t = self
            .tokens
            .get_mut(id)
            .filter(|t| t.valid(now))
            .ok_or_else(|| VaultError::bad_request("invalid lease ID"))?;
        if !t.renewable || t.expire_time.is_none() {
            return Err(VaultError::bad_request("lease is not renewable"));
        }
        let mut ttl = increment.filter(|i| *i > 0).unwrap_or(t.creation_ttl);
        // A renewal never takes a token past its explicit max TTL, nor past the system's max
        // lease TTL from its creation (Vault's `framework.CalculateTTL`).
        for max in [t.explicit_max_ttl, MAX_LEASE_TTL] {
            if max > 0 {
                let max_end = t.created.saturating_add(seconds(max));
                let left = u64::try_from((max_end - now).whole_seconds()).unwrap_or(0);
                ttl = ttl.min(left);
            }
        }
        t.expire_time = Some(now.saturating_add(seconds(ttl)));
        Ok(t.auth_block(now))
    }
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
            "create" | "create-orphan" | "lookup" | "renew" | "renew-self" | "revoke"
            | "revoke-self" | "lookup-self",
            _,
        ) => Err(VaultError::unsupported_operation()),
        _ => Err(VaultError::no_route(&req.path)),
    }
}

pub fn write(state: &mut VaultState, ctx: &Ctx<'_>, rest: &str, req: &Req) -> VaultResult<Reply> {
    if req.op != Op::Write {
        return Err(match rest {
            "create" | "create-orphan" | "lookup" | "renew" | "renew-self" | "revoke"
            | "revoke-self" | "lookup-self" => VaultError::unsupported_operation(),
            _ => VaultError::no_route(&req.path),
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
                .ok_or_else(|| VaultError::bad_request("bad token"))?;
            Ok(Reply::data(t.lookup_data(ctx.now)))
        }
        "renew" | "renew-self" => {
            let id = if rest == "renew" {
                token_param(req)?
            } else {
                caller(ctx)?.id.clone()
            };
            let increment = router::duration_field(&req.body, "increment")?;
            let auth = state.tokens.renew(&id, increment, ctx.now)?;
            Ok(Reply {
                auth: Some(auth),
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
        _ => Err(VaultError::no_route(&req.path)),
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
    let spec = Spec {
        id,
        policies,
        no_default_policy: router::bool_field(b, "no_default_policy")?.unwrap_or(false),
        meta,
        display_name,
        path: if orphan_path {
            "auth/token/create-orphan"
        } else {
            "auth/token/create"
        }
        .into(),
        ttl: duration::token_field(b, "ttl")
            .map_err(VaultError::bad_request)?
            .filter(|t| *t > 0),
        explicit_max_ttl: duration::token_field(b, "explicit_max_ttl")
            .map_err(VaultError::bad_request)?
            .unwrap_or(0),
        renewable: router::bool_field(b, "renewable")?.unwrap_or(true),
        orphan,
        parent: (!orphan).then(|| parent.id.clone()),
        entity_id: String::new(),
    };
    let asked = spec.ttl;
    let token = state.tokens.mint(ctx.core, ctx.now, spec);
    let mut reply = Reply {
        auth: Some(token.auth_block(ctx.now)),
        ..Reply::default()
    };
    if let Some(asked) = asked.filter(|a| *a > MAX_LEASE_TTL) {
        reply = reply.warn(format!(
            "TTL of \"{}\" exceeded the effective max_ttl of \"{}\"; TTL value is capped accordingly",
            duration::go_string(asked),
            duration::go_string(MAX_LEASE_TTL)
        ));
    }
    Ok(reply.mutated())
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
