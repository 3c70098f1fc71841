//! The database secrets engine's shapes: connections and roles are stored, and every read of
//! `creds/<role>` mints fresh credentials with a lease (no database is contacted: a connection
//! behaves as one written with `verify_connection=false` whose database always accepts).
//!
//! Before minting, a read checks what Vault checks before it dials the database (Vault 1.21
//! `builtin/logical/database/path_creds_create.go`): the role, its connection, and that the
//! connection's `allowed_roles` name the role. The last two are plain Go errors there, so they
//! come back as 500s in a multierror, as a real server answers them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

use super::envelope::{Lease, Reply};
use super::error::{VaultError, VaultResult, multierror};
use super::mounts::Mount;
use super::router::{self, Ctx, Op, Req};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub db_name: String,
    pub creation_statements: Vec<String>,
    pub default_ttl: u64,
    pub max_ttl: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    pub connections: BTreeMap<String, Map<String, Value>>,
    pub roles: BTreeMap<String, Role>,
}

pub fn read(
    store: &Store,
    ctx: &Ctx<'_>,
    mount_path: &str,
    mount: &Mount,
    rest: &str,
    req: &Req,
) -> VaultResult<Reply> {
    match (rest, req.op) {
        (_, Op::Read) if rest.starts_with("creds/") => {
            let name = &rest["creds/".len()..];
            let role = store
                .roles
                .get(name)
                .ok_or_else(|| VaultError::bad_request(format!("unknown role: {name}")))?;
            let connection = store.connections.get(&role.db_name).ok_or_else(|| {
                plain_error(format!(
                    "failed to find entry for connection with name: {:?}",
                    role.db_name
                ))
            })?;
            if !role_allowed(connection, name) {
                return Err(plain_error(format!("{name:?} is not an allowed role")));
            }
            let display = ctx
                .caller
                .as_ref()
                .map_or("token", |c| c.display_name.as_str())
                .chars()
                .take(8)
                .collect::<String>();
            let role_part: String = name.chars().take(8).collect();
            let username = format!(
                "v-{display}-{role_part}-{}-{}",
                ctx.core.ids.alphanumeric(20),
                ctx.now.unix_timestamp()
            );
            let password = format!("A1a-{}", ctx.core.ids.alphanumeric(20));
            let ttl = if role.default_ttl > 0 {
                role.default_ttl
            } else {
                mount.lease_ttl()
            };
            let mut reply = Reply::data(json!({ "username": username, "password": password }));
            reply.lease = Lease {
                id: format!("{mount_path}creds/{name}/{}", ctx.core.ids.alphanumeric(24)),
                duration: ttl,
                renewable: true,
            };
            Ok(reply)
        }
        ("roles" | "roles/", Op::List) => router::keys_reply(store.roles.keys().cloned().collect()),
        ("config" | "config/", Op::List) => {
            router::keys_reply(store.connections.keys().cloned().collect())
        }
        (_, Op::Read) if rest.starts_with("roles/") => {
            let r = store
                .roles
                .get(&rest["roles/".len()..])
                .ok_or_else(VaultError::not_found)?;
            Ok(Reply::data(json!({
                "db_name": r.db_name,
                "creation_statements": r.creation_statements,
                "credential_type": "password",
                "default_ttl": r.default_ttl,
                "max_ttl": r.max_ttl,
                "renew_statements": [],
                "revocation_statements": [],
                "rollback_statements": [],
            })))
        }
        (_, Op::Read) if rest.starts_with("config/") => {
            let c = store
                .connections
                .get(&rest["config/".len()..])
                .ok_or_else(VaultError::not_found)?;
            Ok(Reply::data(connection_view(c)))
        }
        _ => Err(VaultError::unsupported_path()),
    }
}

/// A handler's plain Go error, which Vault's router wraps in a multierror and answers with 500.
fn plain_error(message: String) -> VaultError {
    VaultError::internal_message(multierror(&[message]))
}

/// The members of a connection's config that are the engine's own; every other member written
/// is the plugin's, shown under `connection_details` (Vault 1.21 `path_config_connection.go`).
const CONNECTION_FIELDS: [&str; 12] = [
    "plugin_name",
    "plugin_version",
    "allowed_roles",
    "verify_connection",
    "password_policy",
    "root_rotation_statements",
    "root_credentials_rotate_statements",
    "rotation_period",
    "rotation_schedule",
    "rotation_window",
    "disable_automated_rotation",
    "skip_static_role_import_rotation",
];

/// `allowed_roles` as Vault keeps it: a list, from a JSON array or a comma-separated string.
fn allowed_roles(connection: &Map<String, Value>) -> Vec<String> {
    router::list_field(connection, "allowed_roles")
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Whether the connection lets `role` mint credentials: `*`, or a glob naming it.
fn role_allowed(connection: &Map<String, Value>, role: &str) -> bool {
    allowed_roles(connection)
        .iter()
        .any(|p| p == "*" || super::k8s_auth::glob(p, role))
}

/// A connection as `GET config/<name>` shows it: the engine's fields with their defaults, the
/// plugin's under `connection_details`, and never the password.
fn connection_view(c: &Map<String, Value>) -> Value {
    let details: Map<String, Value> = c
        .iter()
        .filter(|(k, _)| !CONNECTION_FIELDS.contains(&k.as_str()) && k.as_str() != "password")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let text = |k: &str| router::str_field(c, k).unwrap_or("").to_owned();
    let flag = |k: &str, default: bool| router::bool_field(c, k).ok().flatten().unwrap_or(default);
    json!({
        "allowed_roles": allowed_roles(c),
        "connection_details": details,
        "disable_automated_rotation": flag("disable_automated_rotation", false),
        "password_policy": text("password_policy"),
        "plugin_name": text("plugin_name"),
        "plugin_version": text("plugin_version"),
        "root_credentials_rotate_statements": router::list_field(c, "root_rotation_statements")
            .ok()
            .flatten()
            .unwrap_or_default(),
        "rotation_period": 0,
        "rotation_schedule": "",
        "rotation_window": 0,
        "skip_static_role_import_rotation": flag("skip_static_role_import_rotation", false),
        "verify_connection": flag("verify_connection", true),
    })
}

pub fn write(store: &mut Store, rest: &str, req: &Req) -> VaultResult<Reply> {
    let b = &req.body;
    match req.op {
        Op::Write if rest.starts_with("config/") && rest.len() > 7 => {
            let plugin = router::str_field(b, "plugin_name").unwrap_or("");
            if plugin.is_empty() {
                return Err(VaultError::bad_request("empty plugin name"));
            }
            // The PostgreSQL plugin's own check when Vault creates the database object (even
            // with verify_connection=false): it must be able to log in somehow.
            let has = |k: &str| !router::str_field(b, k).unwrap_or("").is_empty();
            let self_managed = router::bool_field(b, "self_managed")?.unwrap_or(false);
            if plugin == "postgresql-database-plugin"
                && !self_managed
                && !(has("username") && has("password"))
            {
                return Err(VaultError::bad_request(
                    "error creating database object: must either provide username/password or set self-managed to 'true'",
                ));
            }
            store
                .connections
                .insert(rest["config/".len()..].to_owned(), b.clone());
            Ok(Reply::no_content().mutated())
        }
        Op::Write if rest.starts_with("roles/") && rest.len() > 6 => {
            let db_name = router::str_field(b, "db_name").unwrap_or("");
            if db_name.is_empty() {
                return Err(VaultError::bad_request("empty database name attribute"));
            }
            let role = Role {
                db_name: db_name.to_owned(),
                creation_statements: router::list_field(b, "creation_statements")?
                    .unwrap_or_default(),
                default_ttl: router::duration_field(b, "default_ttl")?.unwrap_or(0),
                max_ttl: router::duration_field(b, "max_ttl")?.unwrap_or(0),
            };
            store.roles.insert(rest["roles/".len()..].to_owned(), role);
            Ok(Reply::no_content().mutated())
        }
        Op::Delete if rest.starts_with("roles/") => {
            store.roles.remove(&rest["roles/".len()..]);
            Ok(Reply::no_content().mutated())
        }
        Op::Delete if rest.starts_with("config/") => {
            store.connections.remove(&rest["config/".len()..]);
            Ok(Reply::no_content().mutated())
        }
        _ if rest.starts_with("creds/") => Err(VaultError::unsupported_operation()),
        _ => Err(VaultError::unsupported_path()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn allowed_roles_take_lists_commas_and_globs() {
        let c = connection(json!({"allowed_roles": "app-*, reader"}));
        assert!(role_allowed(&c, "app-db"));
        assert!(role_allowed(&c, "reader"));
        assert!(!role_allowed(&c, "writer"));
        assert!(role_allowed(
            &connection(json!({"allowed_roles": ["*"]})),
            "any"
        ));
        // Vault's default is no role at all.
        assert!(!role_allowed(&connection(json!({})), "any"));
    }

    #[test]
    fn a_connection_read_hides_the_password_and_nests_the_plugins_fields() {
        let view = connection_view(&connection(json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": "postgres://{{username}}:{{password}}@db/x",
            "username": "root",
            "password": "hunter2",
        })));
        assert_eq!(
            view["connection_details"],
            json!({"connection_url": "postgres://{{username}}:{{password}}@db/x", "username": "root"})
        );
        assert_eq!(view["verify_connection"], true, "Vault's default");
        assert_eq!(view["allowed_roles"], json!([]));
        assert!(!view.to_string().contains("hunter2"));
    }
}
