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
            return router::keys_reply(policy_names(state)).map(Reply::sys);
        }
        _ => {
            if let Some(path) = rest.strip_prefix("mounts/") {
                let path = path.strip_suffix("/tune").unwrap_or(path);
                let m = state.mounts.get(&mounts::key(path)).ok_or_else(|| {
                    VaultError::bad_request(format!(
                        "cannot fetch sysview for path \"{}\"",
                        mounts::key(path)
                    ))
                })?;
                if rest.ends_with("/tune") {
                    Reply::data(json!({
                        "default_lease_ttl": m.lease_ttl(),
                        "max_lease_ttl": m.lease_ttl(),
                        "description": m.description,
                        "force_no_cache": false,
                        "options": m.options,
                    }))
                } else {
                    Reply::data(m.view())
                }
            } else if let Some(path) = rest.strip_prefix("auth/") {
                let m = state.auth.get(&mounts::key(path)).ok_or_else(|| {
                    VaultError::bad_request(format!("No auth engine at {}", mounts::key(path)))
                })?;
                Reply::data(m.view())
            } else if let Some(name) = rest.strip_prefix("policy/") {
                let (name, text) = read_policy(state, name)?;
                Reply::data(json!({ "name": name, "rules": text }))
            } else if let Some(name) = rest.strip_prefix("policies/acl/") {
                let (name, text) = read_policy(state, name)?;
                Reply::data(json!({ "name": name, "policy": text }))
            } else if rest == "internal/ui/mounts" {
                Reply::data(json!({
                    "secret": Value::Object(state.mounts.iter().filter(|(_, m)| !matches!(m.engine, Engine::Builtin) || m.kind == "cubbyhole").map(|(k, m)| (k.clone(), m.view())).collect()),
                    "auth": Value::Object(state.auth.iter().map(|(k, m)| (k.clone(), m.view())).collect()),
                }))
            } else if let Some(path) = rest.strip_prefix("internal/ui/mounts/") {
                return ui_mount(state, path);
            } else {
                return Err(unknown(rest, req));
            }
        }
    };
    Ok(reply.sys())
}

fn unknown(rest: &str, req: &Req) -> VaultError {
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
    if known.contains(&rest) {
        VaultError::unsupported_operation()
    } else {
        VaultError::no_route(&req.path)
    }
}

fn policy_names(state: &VaultState) -> Vec<String> {
    let mut names: Vec<String> = state.policies.keys().cloned().collect();
    names.push(policy::ROOT.to_owned());
    names.sort();
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

/// Parses a health status-code override such as `sealedcode=204`.
fn code_param(req: &Req, name: &str, default: u16) -> VaultResult<u16> {
    match req.query.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=999).contains(c))
            .ok_or_else(|| {
                VaultError::bad_request(format!(
                    "unable to parse {name} code: strconv.Atoi: parsing \"{v}\": invalid syntax"
                ))
            }),
    }
}

fn health(state: &VaultState, ctx: &Ctx<'_>, req: &Req) -> VaultResult<Reply> {
    for flag in ["standbyok", "perfstandbyok"] {
        if let Some(v) = req.query.get(flag)
            && !v.is_empty()
            && v.parse::<bool>().is_err()
        {
            return Err(VaultError::bad_request(format!(
                "bad value for {flag} parameter: strconv.ParseBool: parsing \"{v}\": invalid syntax"
            )));
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
    });
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    if req.head {
        return Ok(Reply::default().with_status(status));
    }
    Ok(Reply::raw(body, status))
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

fn ui_mount(state: &VaultState, path: &str) -> VaultResult<Reply> {
    let found = mounts::find(&state.mounts, path)
        .filter(|(_, m, _)| !matches!(m.engine, Engine::Builtin))
        .map(|(k, m, _)| (k.to_owned(), m.view()))
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
    Ok(Reply::data(view).sys())
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
    let policy_name = rest
        .strip_prefix("policy/")
        .map(|n| (n, "rules"))
        .or_else(|| rest.strip_prefix("policies/acl/").map(|n| (n, "policy")));
    if let Some((name, _)) = policy_name {
        return write_policy(state, name, req);
    }
    match (rest, req.op) {
        ("capabilities-self" | "capabilities", Op::Write) => capabilities(state, ctx, rest, req),
        ("leases/renew", Op::Write) => renew_lease(state, req),
        ("leases/revoke", Op::Write) => {
            lease_id(req)?;
            Ok(Reply::no_content())
        }
        _ => Err(unknown(rest, req)),
    }
}

fn write_mount(state: &mut VaultState, ctx: &Ctx<'_>, path: &str, req: &Req) -> VaultResult<Reply> {
    let key = mounts::key(path);
    match req.op {
        Op::Write => {
            if RESERVED.iter().any(|r| key.starts_with(r)) {
                return Err(VaultError::bad_request(format!(
                    "cannot mount under reserved path \"{key}\""
                )));
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

fn apply_config(mount: &mut Mount, config: &Map<String, Value>) -> VaultResult<()> {
    if let Some(t) = router::duration_field(config, "default_lease_ttl")? {
        mount.default_lease_ttl = t;
    }
    if let Some(t) = router::duration_field(config, "max_lease_ttl")? {
        mount.max_lease_ttl = t;
    }
    Ok(())
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
    apply_config(mount, &req.body)?;
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
            v2.put(k, data.clone(), None, now)?;
        }
        mount.engine = Engine::Kv2(v2);
        mount.options.insert("version".into(), "2".into());
    }
    Ok(Reply::no_content().mutated())
}

fn write_policy(state: &mut VaultState, name: &str, req: &Req) -> VaultResult<Reply> {
    let name = name.to_lowercase();
    match req.op {
        Op::Write => {
            if name == policy::ROOT {
                return Err(VaultError::bad_request("cannot update \"root\" policy"));
            }
            if name.is_empty() {
                return Err(VaultError::bad_request("policy name must be provided"));
            }
            let text = router::str_field(&req.body, "policy")
                .or_else(|| router::str_field(&req.body, "rules"))
                .unwrap_or("");
            if text.trim().is_empty() {
                return Err(VaultError::bad_request(
                    "'policy' parameter not supplied or empty",
                ));
            }
            let parsed = Policy::parse(text)
                .map_err(|e| VaultError::bad_request(format!("failed to parse policy: {e}")))?;
            state.policies.insert(name, parsed);
            Ok(Reply::no_content().mutated())
        }
        Op::Delete => {
            if name == policy::ROOT || name == policy::DEFAULT {
                return Err(VaultError::bad_request(format!(
                    "cannot delete \"{name}\" policy"
                )));
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
    let mut first = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let names: Vec<&str> = if root {
            vec!["root"]
        } else {
            acl.capabilities(path.trim_start_matches('/')).names()
        };
        if i == 0 {
            first = names.clone();
        }
        data.insert(path.clone(), json!(names));
    }
    data.insert("capabilities".into(), json!(first));
    Ok(Reply::data(Value::Object(data)).sys())
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
    let increment = router::duration_field(&req.body, "increment")?;
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
