//! KV version 2: versioned secrets under `data/`, their metadata under `metadata/`, soft delete,
//! undelete and destroy, check-and-set, and the mount's `config`.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use time::OffsetDateTime;

use super::envelope::Reply;
use super::error::{VaultError, VaultResult};
use super::router::{self, Ctx, Op, Req};
use crate::core::clock::rfc3339;

/// Versions kept when neither the secret nor the mount sets `max_versions`.
pub const DEFAULT_MAX_VERSIONS: u64 = 10;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    pub max_versions: u64,
    pub cas_required: bool,
    pub delete_version_after: u64,
}

/// Who changed a secret and how (the KV plugin's `getAttribution`, backend.go): the token's
/// display name, its client id, its entity, and the request's operation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Attribution {
    pub actor: String,
    pub client_id: String,
    #[serde(default)]
    pub entity_id: String,
    pub operation: String,
}

impl Attribution {
    /// The caller of a request, for the operation it performs.
    pub fn of(ctx: &Ctx<'_>, operation: &str) -> Option<Self> {
        ctx.caller.as_ref().map(|c| Self {
            actor: c.display_name.clone(),
            client_id: c.client_id(),
            entity_id: c.entity_id.clone(),
            operation: operation.to_owned(),
        })
    }

    /// As metadata reads show it (protobuf JSON: an empty entity is left out).
    fn view(&self) -> Value {
        let mut v = json!({
            "actor": self.actor,
            "client_id": self.client_id,
            "operation": self.operation,
        });
        if !self.entity_id.is_empty() {
            v["entity_id"] = json!(self.entity_id);
        }
        v
    }
}

fn attribution_view(a: Option<&Attribution>) -> Value {
    a.map_or(Value::Null, Attribution::view)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    /// `None` once destroyed.
    pub data: Option<Map<String, Value>>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_time: OffsetDateTime,
    /// When it is (or will be, with `delete_version_after`) deleted.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub deletion_time: Option<OffsetDateTime>,
    pub destroyed: bool,
    #[serde(default)]
    pub created_by: Option<Attribution>,
    #[serde(default)]
    pub deleted_by: Option<Attribution>,
}

impl Version {
    /// Deleted now: a deletion time that has come (a future one is only scheduled).
    fn deleted(&self, now: OffsetDateTime) -> bool {
        self.deletion_time.is_some_and(|t| t <= now)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    // Stored as a list: numeric map keys do not survive serde's buffering of the flattened,
    // tagged engine enum this sits in.
    #[serde(with = "versions_as_list")]
    pub versions: BTreeMap<u64, Version>,
    pub current_version: u64,
    pub oldest_version: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_time: OffsetDateTime,
    pub max_versions: u64,
    pub cas_required: bool,
    pub delete_version_after: u64,
    pub custom_metadata: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub last_updated_by: Option<Attribution>,
}

mod versions_as_list {
    use super::Version;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(map: &BTreeMap<u64, Version>, s: S) -> Result<S::Ok, S::Error> {
        map.iter().collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<u64, Version>, D::Error> {
        Ok(Vec::<(u64, Version)>::deserialize(d)?.into_iter().collect())
    }
}

impl Secret {
    fn new(now: OffsetDateTime) -> Self {
        Self {
            versions: BTreeMap::new(),
            current_version: 0,
            oldest_version: 0,
            created_time: now,
            updated_time: now,
            max_versions: 0,
            cas_required: false,
            delete_version_after: 0,
            custom_metadata: None,
            last_updated_by: None,
        }
    }

    fn version_metadata(&self, number: u64, v: &Version) -> Value {
        json!({
            "created_time": rfc3339(v.created_time),
            "custom_metadata": self.custom_metadata,
            "deletion_time": v.deletion_time.map(rfc3339).unwrap_or_default(),
            "destroyed": v.destroyed,
            "version": number,
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    pub config: Config,
    pub secrets: BTreeMap<String, Secret>,
}

fn invalid_path(op: Op) -> Reply {
    let sub = match op {
        Op::Write | Op::Patch => "put",
        Op::Read => "get",
        Op::List => "list",
        Op::Delete => "delete",
    };
    Reply::default()
        .warn(format!(
            "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv {sub}' for this operation."
        ))
        .with_status(StatusCode::NOT_FOUND)
}

/// Splits `data/foo` into (`data`, `foo`).
fn split(rest: &str) -> (&str, &str) {
    rest.split_once('/').unwrap_or((rest, ""))
}

impl Store {
    /// Whether a write to `rest` creates (false) or updates (true); `None` for paths without an
    /// existence check.
    pub fn exists(&self, rest: &str) -> Option<bool> {
        match split(rest) {
            // The plugin's existence checks: the key's metadata exists.
            ("data" | "metadata", key) => Some(self.secrets.contains_key(key)),
            _ => None,
        }
    }

    fn max_versions(&self, secret: &Secret) -> u64 {
        if secret.max_versions > 0 {
            secret.max_versions
        } else if self.config.max_versions > 0 {
            self.config.max_versions
        } else {
            DEFAULT_MAX_VERSIONS
        }
    }

    /// Adds a version as a write to `data/<key>` does; used by handlers and the seed. `by` is
    /// the writer (none for the seed).
    pub fn put(
        &mut self,
        key: &str,
        data: Map<String, Value>,
        cas: Option<u64>,
        now: OffsetDateTime,
        by: Option<Attribution>,
    ) -> VaultResult<Value> {
        let config_cas = self.config.cas_required;
        let config_dva = self.config.delete_version_after;
        let existing = self.secrets.get(key);
        let current = existing.map_or(0, |s| s.current_version);
        let cas_required = config_cas || existing.is_some_and(|s| s.cas_required);
        match cas {
            Some(n) if n != current => {
                return Err(VaultError::bad_request(
                    "check-and-set parameter did not match the current version",
                ));
            }
            None if cas_required => {
                return Err(VaultError::bad_request(
                    "check-and-set parameter required for this call",
                ));
            }
            _ => {}
        }
        let secret = self
            .secrets
            .entry(key.to_owned())
            .or_insert_with(|| Secret::new(now));
        let number = secret.current_version + 1;
        secret.current_version = number;
        secret.updated_time = now;
        let deletion_time = deletion_time(now, config_dva, secret.delete_version_after);
        secret.last_updated_by.clone_from(&by);
        secret.versions.insert(
            number,
            Version {
                data: Some(data),
                created_time: now,
                deletion_time,
                destroyed: false,
                created_by: by,
                deleted_by: None,
            },
        );
        let max = self
            .secrets
            .get(key)
            .map_or(DEFAULT_MAX_VERSIONS, |s| self.max_versions(s));
        let secret = self.secrets.get_mut(key).ok_or_else(VaultError::internal)?;
        prune(secret, max);
        let v = secret
            .versions
            .get(&number)
            .ok_or_else(VaultError::internal)?;
        Ok(json!({
            "created_time": rfc3339(v.created_time),
            "custom_metadata": secret.custom_metadata,
            "deletion_time": v.deletion_time.map(rfc3339).unwrap_or_default(),
            "destroyed": false,
            "version": number,
        }))
    }
}

/// When a version made at `created` is deleted by `delete_version_after` (the plugin's
/// `deletionTime`): the secret's setting, or the mount's when that is shorter or the secret
/// has none; never when neither is set.
fn deletion_time(created: OffsetDateTime, mount: u64, secret: u64) -> Option<OffsetDateTime> {
    let mut min = secret;
    if (mount != 0 && mount < min) || min == 0 {
        min = mount;
    }
    (min > 0).then(|| {
        created + time::Duration::seconds(i64::try_from(min).unwrap_or(i64::MAX / 4).min(1 << 40))
    })
}

/// Drops the oldest versions beyond `max`, as Vault's cleanup does on write.
fn prune(secret: &mut Secret, max: u64) {
    let mut pruned = false;
    while secret.versions.len() as u64 > max {
        if let Some(oldest) = secret.versions.keys().next().copied() {
            secret.versions.remove(&oldest);
            pruned = true;
        }
    }
    if pruned {
        secret.oldest_version = secret.versions.keys().next().copied().unwrap_or(0);
    }
}

fn version_param(req: &Req) -> VaultResult<u64> {
    match req.body.get("version") {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| VaultError::bad_request(format!("error converting input {n} for field \"version\""))),
        Some(Value::String(s)) if s.is_empty() => Ok(0),
        Some(Value::String(s)) => s.parse::<u64>().map_err(|_| {
            VaultError::bad_request(format!(
                "Field validation failed: error converting input for field \"version\": cannot parse '' as int: strconv.ParseInt: parsing \"{s}\": invalid syntax"
            ))
        }),
        Some(other) => Err(VaultError::bad_request(format!(
            "error converting input {other} for field \"version\""
        ))),
    }
}

pub fn read(store: &Store, ctx: &Ctx<'_>, rest: &str, req: &Req) -> VaultResult<Reply> {
    let (section, key) = split(rest);
    match (section, req.op) {
        ("data", Op::Read) if !key.is_empty() => read_data(store, ctx, key, req),
        ("metadata", Op::List) => {
            let dir = if key.is_empty() || key.ends_with('/') {
                key.to_owned()
            } else {
                format!("{key}/")
            };
            router::keys_reply(router::list_children(store.secrets.keys(), &dir))
        }
        ("metadata", Op::Read) if !key.is_empty() => read_metadata(store, key),
        ("subkeys", Op::Read) if !key.is_empty() => read_subkeys(store, ctx, key, req),
        ("config", Op::Read) if key.is_empty() => Ok(Reply::data(json!({
            "cas_required": store.config.cas_required,
            "delete_version_after": super::duration::go_string(store.config.delete_version_after),
            "max_versions": store.config.max_versions,
        }))),
        ("data" | "metadata" | "subkeys" | "config", _)
            if !key.is_empty() || section == "config" =>
        {
            Err(VaultError::unsupported_operation())
        }
        _ => Ok(invalid_path(req.op)),
    }
}

fn read_data(store: &Store, ctx: &Ctx<'_>, key: &str, req: &Req) -> VaultResult<Reply> {
    let Some(secret) = store.secrets.get(key) else {
        return Err(VaultError::not_found());
    };
    let mut number = version_param(req)?;
    if number == 0 {
        number = secret.current_version;
    }
    let Some(v) = secret.versions.get(&number) else {
        return Err(VaultError::not_found());
    };
    let metadata = secret.version_metadata(number, v);
    if v.deleted(ctx.now) || v.destroyed {
        // Vault answers a deleted or destroyed version with a 404 that still carries the body.
        return Ok(Reply::data(json!({ "data": null, "metadata": metadata }))
            .with_status(StatusCode::NOT_FOUND));
    }
    Ok(Reply::data(json!({ "data": v.data, "metadata": metadata })))
}

fn read_subkeys(store: &Store, ctx: &Ctx<'_>, key: &str, req: &Req) -> VaultResult<Reply> {
    let reply = read_data(store, ctx, key, req)?;
    if reply.status.is_some() {
        return Ok(reply);
    }
    let data = reply.data.unwrap_or_default();
    fn skeleton(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), skeleton(v))).collect())
            }
            _ => Value::Null,
        }
    }
    Ok(Reply::data(json!({
        "subkeys": skeleton(&data["data"]),
        "metadata": data["metadata"],
    })))
}

fn read_metadata(store: &Store, key: &str) -> VaultResult<Reply> {
    let Some(s) = store.secrets.get(key) else {
        return Err(VaultError::not_found());
    };
    let versions: Map<String, Value> = s
        .versions
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                json!({
                    "created_by": attribution_view(v.created_by.as_ref()),
                    "created_time": rfc3339(v.created_time),
                    "deleted_by": attribution_view(v.deleted_by.as_ref()),
                    "deletion_time": v.deletion_time.map(rfc3339).unwrap_or_default(),
                    "destroyed": v.destroyed,
                }),
            )
        })
        .collect();
    Ok(Reply::data(json!({
        "cas_required": s.cas_required,
        "created_time": rfc3339(s.created_time),
        "current_version": s.current_version,
        "custom_metadata": s.custom_metadata,
        "delete_version_after": super::duration::go_string(s.delete_version_after),
        "last_updated_by": attribution_view(s.last_updated_by.as_ref()),
        "max_versions": s.max_versions,
        "oldest_version": s.oldest_version,
        "updated_time": rfc3339(s.updated_time),
        "versions": versions,
    })))
}

pub fn write(store: &mut Store, ctx: &Ctx<'_>, rest: &str, req: &Req) -> VaultResult<Reply> {
    let (section, key) = split(rest);
    if key.is_empty() && section != "config" {
        return Ok(invalid_path(req.op));
    }
    match (section, req.op) {
        ("data", Op::Write) => {
            let data = match req.body.get("data") {
                Some(Value::Object(m)) => m.clone(),
                _ => return Err(VaultError::bad_request("no data provided")),
            };
            let cas = match req.body.get("options") {
                Some(Value::Object(o)) => router::u64_field(o, "cas")?,
                _ => None,
            };
            let operation = if store.secrets.contains_key(key) {
                "update"
            } else {
                "create"
            };
            let written = store.put(key, data, cas, ctx.now, Attribution::of(ctx, operation))?;
            Ok(Reply::data(written).mutated())
        }
        ("data", Op::Patch) => patch(store, ctx, key, req),
        ("data", Op::Delete) => {
            if let Some(s) = store.secrets.get_mut(key)
                && let Some(v) = s.versions.get_mut(&s.current_version)
                && !v.deleted(ctx.now)
                && !v.destroyed
            {
                let by = Attribution::of(ctx, "delete");
                v.deletion_time = Some(ctx.now);
                v.deleted_by.clone_from(&by);
                s.last_updated_by = by;
            }
            Ok(Reply::no_content().mutated())
        }
        (op @ ("delete" | "undelete" | "destroy"), Op::Write) => {
            let versions = versions_field(req)?;
            let config_dva = store.config.delete_version_after;
            if let Some(s) = store.secrets.get_mut(key) {
                let by = Attribution::of(ctx, "update");
                for n in versions {
                    let Some(v) = s.versions.get_mut(&n) else {
                        continue;
                    };
                    match op {
                        "delete" if !v.destroyed && !v.deleted(ctx.now) => {
                            v.deletion_time = Some(ctx.now);
                            v.deleted_by.clone_from(&by);
                        }
                        "undelete" if !v.destroyed => {
                            v.deletion_time =
                                deletion_time(ctx.now, config_dva, s.delete_version_after);
                            v.deleted_by = None;
                        }
                        "destroy" => {
                            v.destroyed = true;
                            v.data = None;
                        }
                        _ => {}
                    }
                }
                // Destroying records nobody (path_destroy.go keeps the attribution).
                match op {
                    "delete" => s.last_updated_by = by,
                    "undelete" => {
                        s.last_updated_by = by.map(|mut a| {
                            "undelete".clone_into(&mut a.operation);
                            a
                        });
                    }
                    _ => {}
                }
            }
            Ok(Reply::no_content().mutated())
        }
        ("metadata", Op::Write) => {
            let max_versions = router::u64_field(&req.body, "max_versions")?;
            let cas_required = router::bool_field(&req.body, "cas_required")?;
            let delete_after = router::duration_field(&req.body, "delete_version_after")?;
            let custom = custom_metadata(req)?;
            let max_default = store.config.max_versions;
            let s = store
                .secrets
                .entry(key.to_owned())
                .or_insert_with(|| Secret::new(ctx.now));
            if let Some(m) = max_versions {
                s.max_versions = m;
            }
            if let Some(c) = cas_required {
                s.cas_required = c;
            }
            if let Some(d) = delete_after {
                s.delete_version_after = d;
            }
            if let Some(c) = custom {
                s.custom_metadata = Some(c);
            }
            s.updated_time = ctx.now;
            let max = if s.max_versions > 0 {
                s.max_versions
            } else if max_default > 0 {
                max_default
            } else {
                DEFAULT_MAX_VERSIONS
            };
            prune(s, max);
            Ok(Reply::no_content().mutated())
        }
        ("metadata", Op::Delete) => {
            store.secrets.remove(key);
            Ok(Reply::no_content().mutated())
        }
        ("config", Op::Write) => {
            if let Some(m) = router::u64_field(&req.body, "max_versions")? {
                store.config.max_versions = m;
            }
            if let Some(c) = router::bool_field(&req.body, "cas_required")? {
                store.config.cas_required = c;
            }
            if let Some(d) = router::validated_duration_field(&req.body, "delete_version_after")? {
                store.config.delete_version_after = d;
            }
            Ok(Reply::no_content().mutated())
        }
        ("data" | "metadata" | "delete" | "undelete" | "destroy" | "config" | "subkeys", _) => {
            Err(VaultError::unsupported_operation())
        }
        _ => Ok(invalid_path(req.op)),
    }
}

/// `PATCH data/<key>`: a JSON merge patch over the current version, written as a new version.
fn patch(store: &mut Store, ctx: &Ctx<'_>, key: &str, req: &Req) -> VaultResult<Reply> {
    let current = store
        .secrets
        .get(key)
        .and_then(|s| s.versions.get(&s.current_version))
        .filter(|v| !v.destroyed && !v.deleted(ctx.now))
        .and_then(|v| v.data.clone())
        .ok_or_else(VaultError::not_found)?;
    let patch = match req.body.get("data") {
        Some(Value::Object(m)) => m.clone(),
        _ => return Err(VaultError::bad_request("no data provided")),
    };
    let mut merged = Value::Object(current);
    merge(&mut merged, &Value::Object(patch));
    let cas = match req.body.get("options") {
        Some(Value::Object(o)) => router::u64_field(o, "cas")?,
        _ => None,
    };
    let data = match merged {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let written = store.put(key, data, cas, ctx.now, Attribution::of(ctx, "patch"))?;
    Ok(Reply::data(written).mutated())
}

/// RFC 7396 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn versions_field(req: &Req) -> VaultResult<Vec<u64>> {
    let list = router::list_field(&req.body, "versions")?.unwrap_or_default();
    if list.is_empty() {
        return Err(VaultError::bad_request("No version number provided"));
    }
    list.iter()
        .map(|s| {
            s.parse::<u64>().map_err(|_| {
                VaultError::bad_request(format!(
                    "error converting input {s} for field \"versions\""
                ))
            })
        })
        .collect()
}

/// `custom_metadata` decoded as the plugin does (mapstructure with weak typing into
/// `map[string]string`): numbers keep their text, booleans become `1`/`0`, anything nested is
/// refused with mapstructure's message.
fn custom_metadata(req: &Req) -> VaultResult<Option<BTreeMap<String, String>>> {
    let refuse = |v: &Value| {
        let go_type = match v {
            Value::Array(_) => "[]interface {}",
            _ => "map[string]interface {}",
        };
        VaultError::bad_request(format!(
            "custom_metadata validation failed: '' expected type 'string', got unconvertible type '{go_type}', value: '{}'",
            go_fmt(v)
        ))
    };
    match req.body.get("custom_metadata") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(n) => Ok((k.clone(), n.to_string())),
                Value::Bool(b) => Ok((k.clone(), if *b { "1" } else { "0" }.to_owned())),
                Value::Null => Ok((k.clone(), String::new())),
                other => Err(refuse(other)),
            })
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map(Some),
        Some(other) => Err(refuse(other)),
    }
}

/// Go's `%v` of a decoded JSON value (`map[a:1 b:[x y]]`), for mapstructure's messages.
fn go_fmt(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_fmt).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, v)| format!("{k}:{}", go_fmt(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        crate::core::clock::DETERMINISTIC_EPOCH
    }

    #[test]
    fn cas_and_pruning() {
        let mut s = Store::default();
        let mut data = Map::new();
        data.insert("a".into(), json!(1));
        assert!(s.put("k", data.clone(), Some(1), now(), None).is_err());
        assert_eq!(
            s.put("k", data.clone(), Some(0), now(), None)
                .map(|v| v["version"].clone()),
            Ok(json!(1))
        );
        for _ in 0..12 {
            s.put("k", data.clone(), None, now(), None)
                .map(|_| ())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let secret = &s.secrets["k"];
        assert_eq!(secret.current_version, 13);
        assert_eq!(secret.versions.len(), 10);
        assert_eq!(secret.oldest_version, 4);
        assert_eq!(s.max_versions(secret), 10);
    }

    #[test]
    fn merge_patch_removes_nulls_and_merges_objects() {
        let mut t = json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge(&mut t, &json!({"a": null, "b": {"c": 9}, "e": "x"}));
        assert_eq!(t, json!({"b": {"c": 9, "d": 3}, "e": "x"}));
    }
}
