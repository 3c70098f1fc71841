//! KV version 1: one unversioned map per path; a write replaces it whole.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use super::envelope::{Lease, Reply};
use super::error::{VaultError, VaultResult};
use super::mounts::Mount;
use super::router::{self, Op, Req};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    pub data: BTreeMap<String, Map<String, Value>>,
}

impl Store {
    pub fn exists(&self, key: &str) -> bool {
        self.data.contains_key(key)
    }
}

pub fn read(store: &Store, mount: &Mount, key: &str, req: &Req) -> VaultResult<Reply> {
    match req.op {
        Op::List => {
            let dir = if key.is_empty() || key.ends_with('/') {
                key.to_owned()
            } else {
                format!("{key}/")
            };
            router::keys_reply(router::list_children(store.data.keys(), &dir))
        }
        _ => {
            let data = store.data.get(key).ok_or_else(VaultError::not_found)?;
            // A `ttl` (or legacy `lease`) key sets the advisory lease duration, as passthrough does.
            let ttl = ["ttl", "lease"]
                .iter()
                .find_map(|k| super::duration::field(data, k).ok().flatten())
                .and_then(|secs| u64::try_from(secs).ok())
                .unwrap_or_else(|| mount.lease_ttl());
            let mut reply = Reply::data(Value::Object(data.clone()));
            reply.lease = Lease {
                id: String::new(),
                duration: ttl,
                renewable: false,
            };
            Ok(reply)
        }
    }
}

pub fn write(store: &mut Store, key: &str, req: &Req) -> VaultResult<Reply> {
    if key.is_empty() {
        return Err(VaultError::unsupported_operation());
    }
    match req.op {
        Op::Write => {
            if req.body.is_empty() {
                return Err(VaultError::bad_request("missing data fields"));
            }
            store.data.insert(key.to_owned(), req.body.clone());
            Ok(Reply::no_content().mutated())
        }
        Op::Delete => {
            store.data.remove(key);
            Ok(Reply::no_content().mutated())
        }
        _ => Err(VaultError::unsupported_operation()),
    }
}
