//! The database secrets engine's shapes: connections and roles are stored, and every read of
//! `creds/<role>` mints fresh credentials with a lease (no database is contacted).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

use super::envelope::{Lease, Reply};
use super::error::{VaultError, VaultResult};
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
            let mut view = c.clone();
            view.remove("password");
            Ok(Reply::data(Value::Object(view)))
        }
        _ => Err(VaultError::unsupported_path()),
    }
}

pub fn write(store: &mut Store, rest: &str, req: &Req) -> VaultResult<Reply> {
    let b = &req.body;
    match req.op {
        Op::Write if rest.starts_with("config/") && rest.len() > 7 => {
            if router::str_field(b, "plugin_name").unwrap_or("").is_empty() {
                return Err(VaultError::bad_request("empty plugin name"));
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
