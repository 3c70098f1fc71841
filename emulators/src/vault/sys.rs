//! The `sys/` endpoints: health and seal status, secret and auth mounts, policies (both the legacy
//! `sys/policy` and `sys/policies/acl`), the CLI's `internal/ui/mounts` preflight, capabilities and
//! leases.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

use super::envelope::{Lease, Reply};
use super::error::{VaultError, VaultResult};
use super::mounts::{self, AuthMount, Engine, Mount};
use super::policy::{self, Acl, Policy};
use super::router::{self, Ctx, Op, Req};
use super::{VERSION, VaultState};

/// Vault's answers to `sys/` paths carry `mount_type: "system"`; the older endpoints (mounts,
/// auth, the legacy `sys/policy`, capabilities) also copy `data` to the top level, the newer
/// ones (`sys/policies/acl`) do not.
fn system(reply: Reply) -> Reply {
    reply.mount_type("system")
}

pub fn read(state: &VaultState, ctx: &Ctx<'_>, rest: &str, req: &Req) -> VaultResult<Reply> {
    let reply = match (rest, req.op) {
        ("health", Op::Read) => return health(state, ctx, req),
        ("seal-status", Op::Read) => return Ok(Reply::raw(seal_status(state), StatusCode::OK)),
        ("leader", Op::Read) => {
            return Ok(Reply::raw(
                json!({"ha_enabled": false, "is_self": false, "active_time": "0001-01-01T00:00:00Z", "leader_address": "", "leader_cluster_address": "", "performance_standby": false, "performance_standby_last_remote_wal": 0}),
                StatusCode::OK,
            ));
        }
        ("mounts", Op::Read) => Reply::data(Value::Object(
            state
                .mounts
                .iter()
                .map(|(k, m)| (k.clone(), m.view()))
                .collect(),
        )),
        ("auth", Op::Read) => Reply::data(Value::Object(
            state
                .auth
                .iter()
                .map(|(k, m)| (k.clone(), m.view()))
                .collect(),
        )),
        ("policy", Op::Read) | ("policy" | "policy/", Op::List) => {
            let names = policy_names(state);
            Reply::data(json!({ "keys": names, "policies": names }))
        }
        ("policies/acl" | "policies/acl/", Op::List) => {
            return router::keys_reply(policy_names(state)).map(system);
        }
        _ => {
            if let Some(path) = rest.strip_prefix("mounts/") {
                let tune = path.ends_with("/tune");
                let path = path.strip_suffix("/tune").unwrap_or(path);
                let key = mounts::key(path);
                let Some(m) = state.mounts.get(&key) else {
                    return Err(VaultError::bad_request(if tune {
                        format!("cannot fetch sysview for path \"{key}\"")
                    } else {
                        format!("No secret engine mount at {key}")
                    }));
                };
                if tune {
                    let (default_ttl, max_ttl) = m.effective_ttls();
                    let mut data = json!({
                        "default_lease_ttl": default_ttl,
                        "max_lease_ttl": max_ttl,
                        "description": m.description,
                        "force_no_cache": false,
                    });
                    if !m.options.is_empty() {
                        data["options"] = json!(m.options);
                    }
                    Reply::data(data)
                } else {
                    Reply::data(m.view())
                }
            } else if let Some(path) = rest.strip_prefix("auth/") {
                let key = mounts::key(path.strip_suffix("/tune").unwrap_or(path));
                let m = state
                    .auth
                    .get(&key)
                    .ok_or_else(|| VaultError::bad_request(format!("No auth engine at {key}")))?;
                if path.ends_with("/tune") {
                    Reply::data(json!({
                        "default_lease_ttl": super::DEFAULT_LEASE_TTL,
                        "max_lease_ttl": super::MAX_LEASE_TTL,
                        "description": m.description,
                        "force_no_cache": false,
                        "token_type": "default-service",
                    }))
                } else {
                    Reply::data(m.view())
                }
            } else if let Some(name) = rest.strip_prefix("policy/") {
                let (name, text) = read_policy(state, name)?;
                Reply::data(json!({ "name": name, "rules": text }))
            } else if let Some(name) = rest.strip_prefix("policies/acl/") {
                let (name, text) = read_policy(state, name)?;
                return Ok(system(Reply::data(json!({ "name": name, "policy": text }))));
            } else if let Some(path) = rest.strip_prefix("internal/ui/mounts/") {
                return ui_mount(state, path);
            } else if rest == "internal/ui/mounts" {
                return Ok(Reply::data(json!({
                    "secret": Value::Object(state.mounts.iter().filter(|(_, m)| !matches!(m.engine, Engine::Builtin) || m.kind == "cubbyhole").map(|(k, m)| (k.clone(), m.view())).collect()),
                    "auth": Value::Object(state.auth.iter().map(|(k, m)| (k.clone(), m.view())).collect()),
                })));
            } else {
                return Err(unknown(rest));
            }
        }
    };
    Ok(system(reply.sys()))
}

fn unknown(rest: &str) -> VaultError {
    let known = [
        "health",
        "seal-status",
        "mounts",
        "auth",
        "policy",
        "policies/acl",
        "capabilities-self",
        "capabilities",
        "leases/renew",
        "leases/revoke",
        "leader",
    ];
    if rest == "health" {
        // sys/health is Vault's own HTTP handler: any other method is a bare 405.
        VaultError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            errors: Vec::new(),
        }
    } else if known.contains(&rest) {
        VaultError::unsupported_operation()
    } else {
        VaultError::unsupported_path()
    }
}

/// The stored policies in order, then `root` (the policy store lists `root` last).
fn policy_names(state: &VaultState) -> Vec<String> {
    let mut names: Vec<String> = state.policies.keys().cloned().collect();
    names.push(policy::ROOT.to_owned());
    names
}

fn read_policy(state: &VaultState, name: &str) -> VaultResult<(String, String)> {
    let name = name.to_lowercase();
    if name == policy::ROOT {
        return Ok((name, String::new()));
    }
    let p = state
        .policies
        .get(&name)
        .ok_or_else(VaultError::not_found)?;
    Ok((name, p.text.clone()))
}

/// A health status-code override such as `sealedcode=204`; a bad one is a bare 400, as
/// Vault's `getSysHealth` answers it (`respondError(w, 400, nil)`).
fn code_param(req: &Req, name: &str, default: u16) -> VaultResult<u16> {
    match req.query.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=999).contains(c))
            .ok_or_else(bare_bad_request),
    }
}

fn bare_bad_request() -> VaultError {
    VaultError {
        status: StatusCode::BAD_REQUEST,
        errors: Vec::new(),
    }
}

fn health(state: &VaultState, ctx: &Ctx<'_>, req: &Req) -> VaultResult<Reply> {
    for flag in ["standbyok", "perfstandbyok"] {
        if let Some(v) = req.query.get(flag)
            && !v.is_empty()
            && parse_go_bool(v).is_none()
        {
            return Err(bare_bad_request());
        }
    }
    // The emulator is always initialised, unsealed and active; the other codes are still
    // validated so a bad probe is refused as Vault refuses it.
    for (name, default) in [
        ("standbycode", 429),
        ("drsecondarycode", 472),
        ("performancestandbycode", 473),
        ("sealedcode", 503),
        ("uninitcode", 501),
        ("removedcode", 530),
        ("haunhealthycode", 474),
    ] {
        code_param(req, name, default)?;
    }
    let status = code_param(req, "activecode", 200)?;
    let body = json!({
        "initialized": true,
        "sealed": false,
        "standby": false,
        "performance_standby": false,
        "replication_performance_mode": "disabled",
        "replication_dr_mode": "disabled",
        "server_time_utc": ctx.now.unix_timestamp(),
        "version": VERSION,
        "enterprise": false,
        "cluster_name": "vault-cluster-secretbench",
        "cluster_id": state.cluster_id,
        "echo_duration_ms": 0,
        "clock_skew_ms": 0,
        "replication_primary_canary_age_ms": 0,
    });
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    if req.head {
        return Ok(Reply::default().with_status(status));
    }
    Ok(Reply::raw(body, status))
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn seal_status(state: &VaultState) -> Value {
    json!({
        "type": "shamir",
        "initialized": true,
        "sealed": false,
        "t": 1,
        "n": 1,
        "progress": 0,
        "nonce": "",
        "version": VERSION,
        "build_date": "2025-01-01T00:00:00Z",
        "migration": false,
        "cluster_name": "vault-cluster-secretbench",
        "cluster_id": state.cluster_id,
        "recovery_seal": false,
        "storage_type": "inmem",
    })
}

/// `sys/internal/ui/mounts/<path>`: the mount serving `path` with its effective TTLs and its
/// path, in `data` only and without a mount type, as Vault answers the CLI's preflight.
fn ui_mount(state: &VaultState, path: &str) -> VaultResult<Reply> {
    let found = mounts::find(&state.mounts, path)
        .filter(|(_, m, _)| !matches!(m.engine, Engine::Builtin))
        .map(|(k, m, _)| {
            let mut view = m.view();
            let (default_ttl, max_ttl) = m.effective_ttls();
            view["config"]["default_lease_ttl"] = json!(default_ttl);
            view["config"]["max_lease_ttl"] = json!(max_ttl);
            (k.to_owned(), view)
        })
        .or_else(|| {
            path.strip_prefix("auth/").and_then(|p| {
                mounts::find(&state.auth, p).map(|(k, m, _)| (format!("auth/{k}"), m.view()))
            })
        });
    let Some((key, mut view)) = found else {
        return Err(VaultError::new(
            StatusCode::FORBIDDEN,
            format!(
                "preflight capability check returned 403, please ensure client's policies grant access to path \"{path}/\""
            ),
        ));
    };
    if let Value::Object(m) = &mut view {
        m.insert("path".into(), json!(key));
    }
    Ok(Reply::data(view))
}

fn string_map(value: Option<&Value>, field: &str) -> VaultResult<BTreeMap<String, String>> {
    match value {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(n) => Ok((k.clone(), n.to_string())),
                Value::Bool(b) => Ok((k.clone(), b.to_string())),
                other => Err(VaultError::bad_request(format!(
                    "error converting input {other} for field \"{field}\""
                ))),
            })
            .collect(),
        Some(other) => Err(VaultError::bad_request(format!(
            "error converting input {other} for field \"{field}\""
        ))),
    }
}

const RESERVED: [&str; 4] = ["sys/", "auth/", "cubbyhole/", "identity/"];

pub fn write(state: &mut VaultState, ctx: &Ctx<'_>, rest: &str, req: &Req) -> VaultResult<Reply> {
    if let Some(path) = rest.strip_prefix("mounts/") {
        if let Some(path) = path.strip_suffix("/tune") {
            return tune(state, path, req);
        }
        return write_mount(state, ctx, path, req);
    }
    if let Some(path) = rest.strip_prefix("auth/") {
        let key = mounts::key(path);
        return match req.op {
            Op::Write => {
                if state.auth.contains_key(&key) {
                    return Err(VaultError::bad_request(format!(
                        "path is already in use at {key}"
                    )));
                }
                let kind = router::str_field(&req.body, "type").unwrap_or("");
                if kind.is_empty() {
                    return Err(VaultError::bad_request(
                        "backend type must be specified as a string",
                    ));
                }
                let description = router::str_field(&req.body, "description").unwrap_or("");
                let m = AuthMount::create(ctx.core, kind, description)
                    .map_err(VaultError::bad_request)?;
                state.auth.insert(key, m);
                Ok(Reply::no_content().mutated())
            }
            Op::Delete => {
                if key == "token/" {
                    return Err(VaultError::bad_request(
                        "token credential backend cannot be disabled",
                    ));
                }
                state.auth.remove(&key);
                Ok(Reply::no_content().mutated())
            }
            _ => Err(VaultError::unsupported_operation()),
        };
    }
    if let Some(name) = rest.strip_prefix("policy/") {
        return write_policy(state, name, true, req);
    }
    if let Some(name) = rest.strip_prefix("policies/acl/") {
        return write_policy(state, name, false, req);
    }
    match (rest, req.op) {
        ("capabilities-self" | "capabilities", Op::Write) => capabilities(state, ctx, rest, req),
        ("leases/renew", Op::Write) => renew_lease(state, req),
        ("leases/revoke", Op::Write) => {
            lease_id(req)?;
            Ok(Reply::no_content())
        }
        _ => Err(unknown(rest)),
    }
}

fn write_mount(state: &mut VaultState, ctx: &Ctx<'_>, path: &str, req: &Req) -> VaultResult<Reply> {
    let key = mounts::key(path);
    match req.op {
        Op::Write => {
            if RESERVED.iter().any(|r| key.starts_with(r)) {
                return Err(VaultError::bad_request(format!("cannot mount \"{key}\"")));
            }
            if let Some(existing) = state
                .mounts
                .keys()
                .find(|k| key.starts_with(k.as_str()) || k.starts_with(&key))
            {
                return Err(VaultError::bad_request(format!(
                    "path is already in use at {existing}"
                )));
            }
            let kind = router::str_field(&req.body, "type").unwrap_or("");
            if kind.is_empty() {
                return Err(VaultError::bad_request(
                    "backend type must be specified as a string",
                ));
            }
            let options = string_map(req.body.get("options"), "options")?;
            let description = router::str_field(&req.body, "description").unwrap_or("");
            let mut mount = Mount::create(ctx.core, kind, description, &options)
                .map_err(VaultError::bad_request)?;
            if let Some(Value::Object(config)) = req.body.get("config") {
                apply_config(&mut mount, config)?;
            }
            state.mounts.insert(key, mount);
            Ok(Reply::no_content().mutated())
        }
        Op::Delete => {
            if RESERVED.iter().any(|r| key.starts_with(r)) {
                return Err(VaultError::bad_request(format!("cannot unmount \"{key}\"")));
            }
            state.mounts.remove(&key);
            Ok(Reply::no_content().mutated())
        }
        _ => Err(VaultError::unsupported_operation()),
    }
}

/// A mount's `config` TTLs at enable time, with `handleMount`'s messages
/// (`unable to parse default TTL of 10 m: time: ...`).
fn apply_config(mount: &mut Mount, config: &Map<String, Value>) -> VaultResult<()> {
    for (field, what) in [("default_lease_ttl", "default"), ("max_lease_ttl", "max")] {
        if let Some(secs) = ttl_setting(config, field, |text, e| {
            format!("unable to parse {what} TTL of {text}: {e}")
        })? {
            set_ttl(mount, field, secs);
        }
    }
    Ok(())
}

fn set_ttl(mount: &mut Mount, field: &str, secs: u64) {
    if field == "default_lease_ttl" {
        mount.default_lease_ttl = secs;
    } else {
        mount.max_lease_ttl = secs;
    }
}

/// A TTL setting given as text (`"1h"`, `"3600"`, `"system"` for the system's own), parsed by
/// parseutil; `message` words the error.
fn ttl_setting(
    body: &Map<String, Value>,
    field: &str,
    message: impl Fn(&str, &str) -> String,
) -> VaultResult<Option<u64>> {
    let text = match body.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    match text.as_str() {
        "" => Ok(None),
        "system" => Ok(Some(0)),
        t => super::duration::parse_str(t)
            .map(|secs| Some(u64::try_from(secs).unwrap_or(0)))
            .map_err(|e| VaultError::bad_request(message(t, &e))),
    }
}

/// `sys/mounts/<path>/tune`: lease TTLs, description, and the KV v1 → v2 upgrade.
fn tune(state: &mut VaultState, path: &str, req: &Req) -> VaultResult<Reply> {
    if req.op != Op::Write {
        return Err(VaultError::unsupported_operation());
    }
    let key = mounts::key(path);
    let mount = state.mounts.get_mut(&key).ok_or_else(|| {
        VaultError::bad_request(format!("cannot fetch sysview for path \"{key}\""))
    })?;
    // Tuning reports parseutil's error as it is.
    for field in ["default_lease_ttl", "max_lease_ttl"] {
        if let Some(secs) = ttl_setting(&req.body, field, |_, e| e.to_owned())? {
            set_ttl(mount, field, secs);
        }
    }
    if let Some(d) = router::str_field(&req.body, "description") {
        d.clone_into(&mut mount.description);
    }
    let options = string_map(req.body.get("options"), "options")?;
    if options.get("version").map(String::as_str) == Some("2")
        && let Engine::Kv1(v1) = &mount.engine
    {
        let mut v2 = super::kv2::Store::default();
        let now = crate::core::clock::DETERMINISTIC_EPOCH;
        for (k, data) in &v1.data {
            v2.put(k, data.clone(), None, now, None)?;
        }
        mount.engine = Engine::Kv2(v2);
        mount.options.insert("version".into(), "2".into());
    }
    Ok(Reply::no_content().mutated())
}

/// `sys/policies/acl/<name>` and the legacy `sys/policy/<name>` (`handlePolicySet`/`Delete`,
/// vault/logical_system.go): names are lowercased (with a warning), `rules` is the legacy
/// field (with a warning), and base64-encoded policy text is decoded first.
fn write_policy(state: &mut VaultState, path: &str, legacy: bool, req: &Req) -> VaultResult<Reply> {
    let name = path.to_lowercase();
    match req.op {
        Op::Write => {
            if name == policy::ROOT {
                return Err(VaultError::bad_request("cannot update \"root\" policy"));
            }
            if name.is_empty() {
                return Err(VaultError::bad_request(
                    "policy name must be provided in the URL",
                ));
            }
            let mut warnings = Vec::new();
            if name != path {
                warnings.push(format!("policy name was converted to {name}"));
            }
            let mut text = router::str_field(&req.body, "policy")
                .unwrap_or("")
                .to_owned();
            if text.is_empty() && legacy {
                text = router::str_field(&req.body, "rules")
                    .unwrap_or("")
                    .to_owned();
                warnings.push("'rules' is deprecated, please use 'policy' instead".into());
            }
            if text.is_empty() {
                return Err(VaultError::bad_request(
                    "'policy' parameter not supplied or empty",
                ));
            }
            use base64::Engine as _;
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&text)
                && let Ok(decoded) = String::from_utf8(bytes)
            {
                text = decoded;
            }
            let parsed = Policy::parse(&text)
                .map_err(|e| VaultError::bad_request(format!("failed to parse policy: {e}")))?;
            state.policies.insert(name, parsed);
            let mut reply = Reply::no_content().mutated();
            reply.warnings = warnings;
            Ok(system(reply))
        }
        Op::Delete => {
            if name == policy::ROOT {
                return Err(VaultError::bad_request("cannot delete \"root\" policy"));
            }
            if name == policy::DEFAULT {
                return Err(VaultError::bad_request("cannot delete default policy"));
            }
            state.policies.remove(&name);
            Ok(Reply::no_content().mutated())
        }
        _ => Err(VaultError::unsupported_operation()),
    }
}

fn capabilities(state: &VaultState, ctx: &Ctx<'_>, rest: &str, req: &Req) -> VaultResult<Reply> {
    let policies: Vec<String> = if rest == "capabilities" {
        let token = router::str_field(&req.body, "token").unwrap_or("");
        state
            .tokens
            .resolve(token, ctx.now)
            .map(|c| c.policies)
            .ok_or_else(|| VaultError::bad_request("invalid token"))?
    } else {
        ctx.caller
            .as_ref()
            .map(|c| c.policies.clone())
            .unwrap_or_default()
    };
    let mut paths = router::list_field(&req.body, "paths")?.unwrap_or_default();
    if paths.is_empty()
        && let Some(p) = router::str_field(&req.body, "path")
    {
        paths.push(p.to_owned());
    }
    if paths.is_empty() {
        return Err(VaultError::bad_request("paths must be supplied"));
    }
    let root = policies.iter().any(|p| p == policy::ROOT);
    let acl = Acl::new(policies.iter().filter_map(|p| state.policies.get(p)));
    let mut data = Map::new();
    for path in &paths {
        let names: Vec<&str> = if root {
            vec!["root"]
        } else {
            acl.capabilities(path.trim_start_matches('/')).names()
        };
        // Only a single path keeps the pre-1.0 `capabilities` member (handleCapabilities).
        if paths.len() == 1 {
            data.insert("capabilities".into(), json!(names));
        }
        data.insert(path.clone(), json!(names));
    }
    Ok(system(Reply::data(Value::Object(data)).sys()))
}

fn lease_id(req: &Req) -> VaultResult<String> {
    router::str_field(&req.body, "lease_id")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| VaultError::bad_request("lease_id must be specified"))
}

/// Renews a dynamic-secret lease. Leases are not stored, so any id under a database mount's
/// `creds/` renews for the role's TTL.
fn renew_lease(state: &VaultState, req: &Req) -> VaultResult<Reply> {
    let id = lease_id(req)?;
    let mount = mounts::find(&state.mounts, &id)
        .filter(|(_, m, rest)| {
            matches!(m.engine, Engine::Database(_)) && rest.starts_with("creds/")
        })
        .ok_or_else(|| VaultError::bad_request("lease not found"))?;
    let increment = router::validated_duration_field(&req.body, "increment")?;
    let ttl = increment
        .filter(|i| *i > 0)
        .unwrap_or_else(|| mount.1.lease_ttl())
        .min(super::MAX_LEASE_TTL);
    Ok(Reply {
        lease: Lease {
            id,
            duration: ttl,
            renewable: true,
        },
        ..Reply::default()
    })
}
