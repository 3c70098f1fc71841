//! The mount tables: which engine serves a path, and which auth method serves `auth/<path>`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use super::{database, k8s_auth, kv1, kv2, pki};
use crate::core::Core;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "engine", rename_all = "lowercase")]
pub enum Engine {
    Kv1(kv1::Store),
    Kv2(kv2::Store),
    Pki(pki::Store),
    Database(database::Store),
    /// Listed like Vault's own (sys, cubbyhole, identity) but serving nothing here.
    Builtin,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Mount {
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub accessor: String,
    pub uuid: String,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub default_lease_ttl: u64,
    #[serde(default)]
    pub max_lease_ttl: u64,
    #[serde(flatten)]
    pub engine: Engine,
}

fn accessor(core: &Core, kind: &str) -> String {
    format!(
        "{}_{}",
        kind.replace('-', "_"),
        core.ids.from_alphabet(b"0123456789abcdef", 8)
    )
}

impl Mount {
    pub fn new(core: &Core, kind: &str, description: &str, engine: Engine) -> Self {
        Self {
            kind: kind.to_owned(),
            description: description.to_owned(),
            accessor: accessor(core, kind),
            uuid: core.ids.uuid(),
            options: BTreeMap::new(),
            default_lease_ttl: 0,
            max_lease_ttl: 0,
            engine,
        }
    }

    pub fn kv(core: &Core, version: u8, description: &str) -> Self {
        let (engine, v) = if version == 2 {
            (Engine::Kv2(kv2::Store::default()), "2")
        } else {
            (Engine::Kv1(kv1::Store::default()), "1")
        };
        let mut mount = Self::new(core, "kv", description, engine);
        mount.options.insert("version".into(), v.into());
        mount
    }

    /// A mount of `kind` with `options`, or Vault's refusal for a type it does not know.
    pub fn create(
        core: &Core,
        kind: &str,
        description: &str,
        options: &BTreeMap<String, String>,
    ) -> Result<Self, String> {
        let mut mount = match kind {
            "kv" | "generic" => {
                let version = options.get("version").map(String::as_str).unwrap_or("");
                match version {
                    "" | "1" => Self::kv(core, 1, description),
                    "2" => Self::kv(core, 2, description),
                    other => return Err(format!("invalid version provided: {other}")),
                }
            }
            "kv-v2" => Self::kv(core, 2, description),
            "pki" => Self::new(core, "pki", description, Engine::Pki(pki::Store::default())),
            "database" => Self::new(
                core,
                "database",
                description,
                Engine::Database(database::Store::default()),
            ),
            other => return Err(format!("plugin not found in the catalog: {other}")),
        };
        for (k, v) in options {
            if k != "version" {
                mount.options.insert(k.clone(), v.clone());
            }
        }
        Ok(mount)
    }

    /// The mount as `GET sys/mounts` lists it.
    pub fn view(&self) -> Value {
        let mut config = json!({
            "default_lease_ttl": self.default_lease_ttl,
            "force_no_cache": false,
            "max_lease_ttl": self.max_lease_ttl,
        });
        let options = if self.options.is_empty() {
            Value::Null
        } else {
            json!(self.options)
        };
        plugin_view(&self.kind, &mut config, options, |v| {
            v.insert("accessor".into(), json!(self.accessor));
            v.insert("description".into(), json!(self.description));
            v.insert("uuid".into(), json!(self.uuid));
        })
    }

    /// The mount's TTLs with the system's filled in where it sets none, as `sys/mounts/<path>/tune`
    /// and `sys/internal/ui/mounts` report them.
    pub fn effective_ttls(&self) -> (u64, u64) {
        let max = if self.max_lease_ttl > 0 {
            self.max_lease_ttl
        } else {
            super::MAX_LEASE_TTL
        };
        (self.lease_ttl(), max)
    }

    pub fn lease_ttl(&self) -> u64 {
        if self.default_lease_ttl > 0 {
            self.default_lease_ttl
        } else {
            super::DEFAULT_LEASE_TTL
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum AuthMethod {
    Token,
    Kubernetes(k8s_auth::Store),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuthMount {
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub accessor: String,
    pub uuid: String,
    #[serde(flatten)]
    pub method: AuthMethod,
}

impl AuthMount {
    pub fn new(core: &Core, kind: &str, description: &str, method: AuthMethod) -> Self {
        Self {
            kind: kind.to_owned(),
            description: description.to_owned(),
            accessor: accessor(core, &format!("auth_{kind}")),
            uuid: core.ids.uuid(),
            method,
        }
    }

    pub fn create(core: &Core, kind: &str, description: &str) -> Result<Self, String> {
        match kind {
            "kubernetes" => Ok(Self::new(
                core,
                kind,
                description,
                AuthMethod::Kubernetes(k8s_auth::Store::default()),
            )),
            "token" => Err("token credential backend cannot be instantiated".into()),
            other => Err(format!("plugin not found in the catalog: {other}")),
        }
    }

    pub fn view(&self) -> Value {
        let mut config = json!({
            "default_lease_ttl": 0,
            "force_no_cache": false,
            "max_lease_ttl": 0,
            "token_type": "default-service",
        });
        let options = match self.method {
            AuthMethod::Token => Value::Null,
            AuthMethod::Kubernetes(_) => json!({}),
        };
        plugin_view(&self.kind, &mut config, options, |v| {
            v.insert("accessor".into(), json!(self.accessor));
            v.insert("description".into(), json!(self.description));
            v.insert("uuid".into(), json!(self.uuid));
        })
    }
}

/// What differs between mount types in `sys/mounts` and `sys/auth` (Vault v1.21.1, as its dev
/// server lists them): where the plugin comes from (`running_plugin_version`), whether it has a
/// deprecation status, mount-table flags of the built-in mounts, and their options.
fn plugin_view(
    kind: &str,
    config: &mut Value,
    options: Value,
    identity: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> Value {
    let vault_builtin = format!("v{}+builtin.vault", super::VERSION);
    let (running, deprecation) = match kind {
        // Plugin module versions already carry their `v` (v0.25.0).
        "kv" => (format!("{}+builtin", super::KV_PLUGIN_VERSION), true),
        "kubernetes" => (format!("{}+builtin", super::K8S_PLUGIN_VERSION), true),
        "pki" => (vault_builtin, true),
        _ => (vault_builtin, false),
    };
    let headers = match kind {
        "identity" => Some("Authorization"),
        "system" => Some("Accept"),
        _ => None,
    };
    if let (Some(h), Value::Object(c)) = (headers, &mut *config) {
        c.insert("passthrough_request_headers".into(), json!([h]));
    }
    // Engines Vault builds in report `{}` rather than no options.
    let options = match (kind, options) {
        ("pki" | "database", Value::Null) => json!({}),
        (_, o) => o,
    };
    let mut v = serde_json::Map::new();
    v.insert("config".into(), config.clone());
    if deprecation {
        v.insert("deprecation_status".into(), json!("supported"));
    }
    v.insert("external_entropy_access".into(), json!(false));
    v.insert("local".into(), json!(kind == "cubbyhole"));
    v.insert("options".into(), options);
    v.insert("plugin_version".into(), json!(""));
    v.insert("running_plugin_version".into(), json!(running));
    v.insert("running_sha256".into(), json!(""));
    v.insert("seal_wrap".into(), json!(kind == "system"));
    v.insert("type".into(), json!(kind));
    identity(&mut v);
    Value::Object(v)
}

/// Normalises a user-given mount path to the table's key form (`secret/`).
pub fn key(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    format!("{trimmed}/")
}

/// The longest mount whose path prefixes `path`, and the rest of the path after it.
pub fn find<'a, T>(
    table: &'a BTreeMap<String, T>,
    path: &'a str,
) -> Option<(&'a str, &'a T, &'a str)> {
    table
        .iter()
        .filter(|(k, _)| path.starts_with(k.as_str()) || format!("{path}/") == **k)
        .max_by_key(|(k, _)| k.len())
        .map(|(k, v)| (k.as_str(), v, path.get(k.len()..).unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_longest_mount() {
        let mut t = BTreeMap::new();
        t.insert("secret/".to_owned(), 1);
        t.insert("secret/team/".to_owned(), 2);
        assert_eq!(find(&t, "secret/data/x"), Some(("secret/", &1, "data/x")));
        assert_eq!(find(&t, "secret/team/x"), Some(("secret/team/", &2, "x")));
        assert_eq!(find(&t, "secret"), Some(("secret/", &1, "")));
        assert_eq!(find(&t, "secretx/y"), None);
        assert_eq!(key("/kv/"), "kv/");
    }
}
