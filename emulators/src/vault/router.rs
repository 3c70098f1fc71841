//! Which part of the emulator serves a path, what the call is named in the journal, which
//! capability it needs, and the dispatch to the handlers.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use time::OffsetDateTime;

use super::envelope::Reply;
use super::error::{VaultError, VaultResult};
use super::mounts::{self, AuthMethod, Engine};
use super::policy::Caps;
use super::{VaultState, database, k8s_auth, kv1, kv2, pki, sys, tokens};
use crate::core::Core;

/// The logical operation, as Vault derives it from the HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    List,
    /// POST and PUT: create or update, decided by an existence check.
    Write,
    Delete,
    Patch,
}

impl Op {
    pub fn is_read(self) -> bool {
        matches!(self, Op::Read | Op::List)
    }
}

#[derive(Debug)]
pub struct Req {
    pub op: Op,
    /// The path after `/v1/`, without a leading slash.
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// The JSON body of writes; the query parameters of reads.
    pub body: Map<String, Value>,
    pub head: bool,
}

/// The caller's token, resolved before dispatch.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: String,
    pub accessor: String,
    pub policies: Vec<String>,
    pub display_name: String,
    pub root: bool,
    pub entity_id: String,
}

impl Caller {
    /// Vault's client id (sdk `logical.TokenEntry.CreateClientID`): the entity, or for a token
    /// without one the SHA-256 of its sorted policies (joined by 0x7F), 0x00 and the namespace
    /// id (`root`), base64.
    pub fn client_id(&self) -> String {
        use base64::Engine as _;
        use sha2::Digest as _;
        if !self.entity_id.is_empty() {
            return self.entity_id.clone();
        }
        let mut policies = self.policies.clone();
        policies.sort();
        let input = format!("{}\u{0}root", policies.join("\u{7f}"));
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(input.as_bytes()))
    }
}

pub struct Ctx<'a> {
    pub core: &'a Core,
    pub now: OffsetDateTime,
    pub caller: Option<Caller>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    Token,
    Kubernetes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Kv1,
    Kv2,
    Pki,
    Database,
    Builtin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Sys(String),
    Auth {
        mount: String,
        rest: String,
        kind: AuthKind,
    },
    Engine {
        mount: String,
        rest: String,
        kind: EngineKind,
    },
    None,
}

pub fn classify(state: &VaultState, path: &str) -> Target {
    if let Some(rest) = path.strip_prefix("sys/") {
        return Target::Sys(rest.to_owned());
    }
    if path == "sys" {
        return Target::Sys(String::new());
    }
    if let Some(after) = path.strip_prefix("auth/") {
        return match mounts::find(&state.auth, after) {
            Some((mount, m, rest)) => Target::Auth {
                mount: mount.to_owned(),
                rest: rest.to_owned(),
                kind: match m.method {
                    AuthMethod::Token => AuthKind::Token,
                    AuthMethod::Kubernetes(_) => AuthKind::Kubernetes,
                },
            },
            None => Target::None,
        };
    }
    match mounts::find(&state.mounts, path) {
        Some((mount, m, rest)) => Target::Engine {
            mount: mount.to_owned(),
            rest: rest.to_owned(),
            kind: match m.engine {
                Engine::Kv1(_) => EngineKind::Kv1,
                Engine::Kv2(_) => EngineKind::Kv2,
                Engine::Pki(_) => EngineKind::Pki,
                Engine::Database(_) => EngineKind::Database,
                Engine::Builtin => EngineKind::Builtin,
            },
        },
        None => Target::None,
    }
}

fn first_segment(rest: &str) -> &str {
    rest.split('/').next().unwrap_or("")
}

fn verb(op: Op) -> &'static str {
    match op {
        Op::Read => "read",
        Op::List => "list",
        Op::Write => "write",
        Op::Delete => "delete",
        Op::Patch => "patch",
    }
}

/// The journal's and fault rules' name for a call, e.g. `kv2.read` or `sys.health`.
pub fn operation(target: &Target, op: Op) -> String {
    match target {
        Target::Sys(rest) => {
            let seg = first_segment(rest);
            match seg {
                "policies" => "sys.policies.acl".into(),
                "internal" => "sys.internal.ui.mounts".into(),
                "" => "sys".into(),
                other => format!("sys.{other}"),
            }
        }
        Target::Auth { rest, kind, .. } => {
            let family = match kind {
                AuthKind::Token => "token",
                AuthKind::Kubernetes => "kubernetes",
            };
            match first_segment(rest) {
                "" => format!("{family}.{}", verb(op)),
                seg => format!("{family}.{seg}"),
            }
        }
        Target::Engine { rest, kind, .. } => match kind {
            EngineKind::Kv1 => format!("kv1.{}", verb(op)),
            EngineKind::Kv2 => match first_segment(rest) {
                "data" => format!("kv2.{}", verb(op)),
                "metadata" => format!("kv2.metadata.{}", verb(op)),
                seg @ ("delete" | "undelete" | "destroy" | "config" | "subkeys") => {
                    format!("kv2.{seg}")
                }
                _ => "kv2.invalid".into(),
            },
            EngineKind::Pki => format!("pki.{}", first_segment(rest)),
            EngineKind::Database => format!("database.{}", first_segment(rest)),
            EngineKind::Builtin => "builtin".into(),
        },
        Target::None => "unknown".into(),
    }
}

/// Paths any caller may use without a token.
pub fn unauthenticated(target: &Target) -> bool {
    match target {
        Target::Sys(rest) => matches!(rest.as_str(), "health" | "seal-status" | "leader"),
        Target::Auth { rest, kind, .. } => *kind == AuthKind::Kubernetes && rest == "login",
        _ => false,
    }
}

/// Paths any valid token may use whatever its policies say (the CLI's preflight).
pub fn token_only(target: &Target) -> bool {
    matches!(target, Target::Sys(rest) if rest.starts_with("internal/ui/mounts"))
}

/// The capability the call needs; a write is `create` when nothing exists yet, else `update`.
pub fn required(state: &VaultState, target: &Target, req: &Req) -> Caps {
    match req.op {
        Op::Read => Caps::READ,
        Op::List => Caps::LIST,
        Op::Delete => Caps::DELETE,
        Op::Patch => Caps::PATCH,
        Op::Write => {
            let exists = match target {
                Target::Engine { mount, rest, .. } => {
                    match state.mounts.get(mount).map(|m| &m.engine) {
                        Some(Engine::Kv1(store)) => Some(store.exists(rest)),
                        Some(Engine::Kv2(store)) => store.exists(rest),
                        _ => None,
                    }
                }
                _ => None,
            };
            match exists {
                Some(false) => Caps::CREATE,
                _ => Caps::UPDATE,
            }
        }
    }
}

/// Calls that only read state.
pub fn dispatch_read(
    state: &VaultState,
    ctx: &Ctx<'_>,
    target: &Target,
    req: &Req,
) -> VaultResult<Reply> {
    match target {
        Target::Sys(rest) => sys::read(state, ctx, rest, req),
        Target::Auth { mount, rest, kind } => {
            let reply = match kind {
                AuthKind::Token => tokens::read(state, ctx, rest, req),
                AuthKind::Kubernetes => match state.auth.get(mount).map(|m| &m.method) {
                    Some(AuthMethod::Kubernetes(store)) => k8s_auth::read(store, rest, req),
                    _ => Err(VaultError::no_route(&req.path)),
                },
            }?;
            Ok(reply.mount_type(auth_type(*kind)))
        }
        Target::Engine { mount, rest, .. } => {
            let Some(m) = state.mounts.get(mount) else {
                return Err(VaultError::no_route(&req.path));
            };
            let reply = match &m.engine {
                Engine::Kv1(store) => kv1::read(store, m, rest, req),
                Engine::Kv2(store) => kv2::read(store, ctx, rest, req),
                Engine::Pki(store) => pki::read(store, rest, req),
                Engine::Database(store) => database::read(store, ctx, mount, m, rest, req),
                Engine::Builtin => Err(VaultError::unsupported_path()),
            }?;
            Ok(reply.mount_type(&m.kind))
        }
        Target::None => Err(VaultError::no_route(&req.path)),
    }
}

/// Calls that may change state.
pub fn dispatch_write(
    state: &mut VaultState,
    ctx: &Ctx<'_>,
    target: &Target,
    req: &Req,
) -> VaultResult<Reply> {
    match target {
        Target::Sys(rest) => sys::write(state, ctx, rest, req),
        Target::Auth { mount, rest, kind } => {
            let reply = match kind {
                AuthKind::Token => tokens::write(state, ctx, rest, req),
                AuthKind::Kubernetes => match state.auth.get_mut(mount).map(|m| &mut m.method) {
                    Some(AuthMethod::Kubernetes(store)) => k8s_auth::write(store, rest, req),
                    _ => Err(VaultError::no_route(&req.path)),
                },
            }?;
            Ok(reply.mount_type(auth_type(*kind)))
        }
        Target::Engine { mount, rest, .. } => {
            let Some(m) = state.mounts.get_mut(mount) else {
                return Err(VaultError::no_route(&req.path));
            };
            let kind = m.kind.clone();
            let reply = match &mut m.engine {
                Engine::Kv1(store) => kv1::write(store, rest, req),
                Engine::Kv2(store) => kv2::write(store, ctx, rest, req),
                Engine::Pki(store) => pki::write(store, ctx, rest, req),
                Engine::Database(store) => database::write(store, rest, req),
                Engine::Builtin => Err(VaultError::unsupported_path()),
            }?;
            Ok(reply.mount_type(&kind))
        }
        Target::None => Err(VaultError::no_route(&req.path)),
    }
}

fn auth_type(kind: AuthKind) -> &'static str {
    match kind {
        AuthKind::Token => "token",
        AuthKind::Kubernetes => "kubernetes",
    }
}

/// A string field of a body, or `None`.
pub fn str_field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

/// A list field given as a JSON array or a comma-separated string, as Vault's `TypeCommaStringSlice`.
pub fn list_field(
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<String>>, VaultError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        )),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.trim().to_owned()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(VaultError::bad_request(format!(
                    "error converting input {other} for field \"{name}\""
                ))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(VaultError::bad_request(format!(
            "error converting input {other} for field \"{name}\""
        ))),
    }
}

/// A boolean field given as a JSON bool or a string (`"true"`), as Vault's `TypeBool`.
pub fn bool_field(body: &Map<String, Value>, name: &str) -> Result<Option<bool>, VaultError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => s.parse::<bool>().map(Some).map_err(|_| {
            VaultError::bad_request(format!(
                "error converting input {s} for field \"{name}\": strconv.ParseBool: parsing \"{s}\": invalid syntax"
            ))
        }),
        Some(other) => Err(VaultError::bad_request(format!(
            "error converting input {other} for field \"{name}\""
        ))),
    }
}

/// A duration field, as Vault's `TypeDurationSecond` (a negative one counts as none), on a path
/// with an existence check: its field validation runs there and refuses a bad value with the
/// field's own message.
pub fn duration_field(body: &Map<String, Value>, name: &str) -> Result<Option<u64>, VaultError> {
    super::duration::field(body, name)
        .map(|d| d.map(|secs| u64::try_from(secs).unwrap_or(0)))
        .map_err(VaultError::bad_request)
}

/// [`duration_field`] on a path without an existence check: the framework's request
/// validation refuses a bad value, prefixing `Field validation failed: `.
pub fn validated_duration_field(
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<u64>, VaultError> {
    duration_field(body, name).map_err(|mut e| {
        for m in &mut e.errors {
            *m = format!("Field validation failed: {m}");
        }
        e
    })
}

/// An unsigned integer field given as a number or a numeric string.
pub fn u64_field(body: &Map<String, Value>, name: &str) -> Result<Option<u64>, VaultError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
        Some(Value::String(s)) if s.parse::<u64>().is_ok() => Ok(s.parse::<u64>().ok()),
        Some(other) => Err(VaultError::bad_request(format!(
            "error converting input {other} for field \"{name}\""
        ))),
    }
}

/// Immediate children of `dir` among `keys`: `a` for a leaf, `a/` for a folder.
pub fn list_children<'a>(keys: impl Iterator<Item = &'a String>, dir: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in keys {
        let Some(rest) = key.strip_prefix(dir) else {
            continue;
        };
        if rest.is_empty() {
            continue;
        }
        let child = match rest.find('/') {
            Some(i) => &rest[..=i],
            None => rest,
        };
        if out.last().map(String::as_str) != Some(child) && !out.iter().any(|c| c == child) {
            out.push(child.to_owned());
        }
    }
    out.sort();
    out
}

/// A list answer, or the 404 with no errors Vault gives for an empty one.
pub fn keys_reply(keys: Vec<String>) -> VaultResult<Reply> {
    if keys.is_empty() {
        return Err(VaultError::not_found());
    }
    Ok(Reply::data(serde_json::json!({ "keys": keys })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_leaves_and_folders() {
        let keys = [
            "a".to_owned(),
            "b/c".to_owned(),
            "b/d".to_owned(),
            "x/y/z".to_owned(),
        ];
        assert_eq!(list_children(keys.iter(), ""), ["a", "b/", "x/"]);
        assert_eq!(list_children(keys.iter(), "b/"), ["c", "d"]);
        assert!(list_children(keys.iter(), "q/").is_empty());
    }

    #[test]
    fn operation_names() {
        let t = Target::Engine {
            mount: "secret/".into(),
            rest: "data/x".into(),
            kind: EngineKind::Kv2,
        };
        assert_eq!(operation(&t, Op::Read), "kv2.read");
        assert_eq!(
            operation(&Target::Sys("health".into()), Op::Read),
            "sys.health"
        );
        let a = Target::Auth {
            mount: "kubernetes/".into(),
            rest: "login".into(),
            kind: AuthKind::Kubernetes,
        };
        assert_eq!(operation(&a, Op::Write), "kubernetes.login");
        assert!(unauthenticated(&a));
    }
}
