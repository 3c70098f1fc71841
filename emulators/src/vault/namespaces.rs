//! Vault tenancy: namespaces, as Vault Enterprise has them. Each namespace is a Vault of its own
//! (mounts, secrets, policies, auth methods, tokens); a request picks one with the
//! `X-Vault-Namespace` header, the path prefix form (`/v1/team-a/secret/data/x`), or both (the
//! header, then the path's leading segments, longest existing match first). No header and no
//! prefix is the root namespace: what a single user always had.
//!
//! Namespaces exist once created: through the admin API (`PUT /_secretbench/tenants/vault/<path>`)
//! or a seed scoped to one (`POST /_secretbench/seed?tenant=vault/<path>`), creating missing
//! parents too. A new one holds what Vault gives a new namespace: the `cubbyhole/`, `identity/`
//! and `sys/` mounts, token auth and the `default` policy, but no `secret/` mount (that one is
//! dev mode's, in root only). The root token works in every namespace, as Vault's does.
//!
//! A request naming a namespace that does not exist is refused as Vault Enterprise refuses it
//! (HashiCorp's support article on HCP Vault logins: a misspelled namespace answers 403
//! `{"errors":["permission denied"]}`); the journal says why.

use super::VaultState;
use super::error::VaultError;
use crate::core::Core;
use crate::core::tenant::{TenantError, TenantId, TenantView};

/// The tenant name of the root namespace (Vault refuses `root` as a namespace name, so it cannot
/// collide with one).
pub const ROOT: &str = "root";

/// Names Vault refuses for a namespace: its own top-level paths (`sys/namespaces` answers them
/// with an error).
const RESERVED: [&str; 6] = ["root", "sys", "audit", "auth", "cubbyhole", "identity"];

fn tenant(path: &str) -> TenantId {
    TenantId::new("vault", if path.is_empty() { ROOT } else { path })
}

/// A namespace path with its slashes at either end dropped; `""` and `root` are the root.
pub fn canonical(name: &str) -> Result<String, TenantError> {
    let path = name.trim_matches('/');
    if path.is_empty() || path == ROOT {
        return Ok(String::new());
    }
    let bad = |why: &str| TenantError::Invalid {
        service: "vault",
        name: name.to_owned(),
        why: why.to_owned(),
    };
    for segment in path.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(bad("a namespace path has no empty, '.' or '..' segment"));
        }
        if RESERVED.contains(&segment) {
            return Err(bad(&format!("'{segment}' is reserved by Vault")));
        }
        if segment
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+' || c == '*')
        {
            return Err(bad("a namespace name has no spaces, '+' or '*'"));
        }
    }
    Ok(path.to_owned())
}

/// The tenant name of a namespace path (`root` for the root namespace).
pub fn tenant_name(path: &str) -> String {
    if path.is_empty() {
        ROOT.to_owned()
    } else {
        path.to_owned()
    }
}

/// Where a request goes: the namespace and the path inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `""` for the root namespace.
    pub namespace: String,
    pub path: String,
}

impl VaultState {
    /// A new namespace's content.
    pub fn namespace(core: &Core, root_token: &str) -> Self {
        let mut state = Self::fresh(core, root_token);
        state.mounts.remove("secret/");
        state
    }

    /// The state of namespace `path` (`""`: root).
    pub fn space(&self, path: &str) -> Option<&VaultState> {
        if path.is_empty() {
            Some(self)
        } else {
            self.namespaces.get(path)
        }
    }

    pub fn space_mut(&mut self, path: &str) -> Option<&mut VaultState> {
        if path.is_empty() {
            Some(self)
        } else {
            self.namespaces.get_mut(path)
        }
    }

    /// Picks the namespace of a request from its header and path (see the module's doc).
    pub fn resolve(&self, header: Option<&str>, path: &str) -> Result<Resolved, NamespaceRefusal> {
        let base = match header {
            None => String::new(),
            Some(h) => canonical(h).map_err(|_| NamespaceRefusal(h.to_owned()))?,
        };
        if !base.is_empty() && !self.namespaces.contains_key(&base) {
            return Err(NamespaceRefusal(base));
        }
        if self.namespaces.is_empty() {
            return Ok(Resolved {
                namespace: base,
                path: path.to_owned(),
            });
        }
        // The longest run of leading segments that names a namespace below `base`.
        let segments: Vec<&str> = path.split('/').collect();
        for take in (1..segments.len()).rev() {
            let prefix = segments[..take].join("/");
            let candidate = if base.is_empty() {
                prefix
            } else {
                format!("{base}/{prefix}")
            };
            if self.namespaces.contains_key(&candidate) {
                return Ok(Resolved {
                    namespace: candidate,
                    path: segments[take..].join("/"),
                });
            }
        }
        Ok(Resolved {
            namespace: base,
            path: path.to_owned(),
        })
    }

    /// The namespaces, root first.
    pub fn tenant_views(&self) -> Vec<TenantView> {
        std::iter::once(String::new())
            .chain(self.namespaces.keys().cloned())
            .map(|path| TenantView {
                id: format!("vault/{}", tenant_name(&path)),
                service: "vault",
                default: path.is_empty(),
                name: tenant_name(&path),
            })
            .collect()
    }

    /// Creates namespace `path` and its missing parents; `true` when `path` did not exist.
    pub fn create_namespace(&mut self, core: &Core, path: &str) -> bool {
        if path.is_empty() || self.namespaces.contains_key(path) {
            return false;
        }
        let root_token = self.root_token.clone();
        let mut at = String::new();
        for segment in path.split('/') {
            if !at.is_empty() {
                at.push('/');
            }
            at.push_str(segment);
            if !self.namespaces.contains_key(&at) {
                self.namespaces
                    .insert(at.clone(), Self::namespace(core, &root_token));
            }
        }
        true
    }

    /// Back to a new namespace (root: a fresh dev server, its child namespaces kept).
    pub fn reset_namespace(&mut self, core: &Core, path: &str) -> Result<(), TenantError> {
        let root_token = self.root_token.clone();
        if path.is_empty() {
            let children = std::mem::take(&mut self.namespaces);
            *self = Self::fresh(core, &root_token);
            self.namespaces = children;
            return Ok(());
        }
        let space = self
            .namespaces
            .get_mut(path)
            .ok_or_else(|| TenantError::NotFound(tenant(path)))?;
        *space = Self::namespace(core, &root_token);
        Ok(())
    }

    /// Removes namespace `path` and the namespaces below it.
    pub fn drop_namespace(&mut self, path: &str) -> Result<(), TenantError> {
        if path.is_empty() {
            return Err(TenantError::Default(tenant(path)));
        }
        if self.namespaces.remove(path).is_none() {
            return Err(TenantError::NotFound(tenant(path)));
        }
        let below = format!("{path}/");
        self.namespaces.retain(|k, _| !k.starts_with(&below));
        Ok(())
    }

    /// One namespace's state (root: without its children), for the admin API.
    pub fn dump_namespace(&self, path: &str) -> Result<serde_json::Value, TenantError> {
        let space = self
            .space(path)
            .ok_or_else(|| TenantError::NotFound(tenant(path)))?;
        let mut value = serde_json::to_value(space).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.remove("namespaces");
        }
        Ok(value)
    }
}

/// A request for a namespace that does not exist (or cannot).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("namespace '{0}' does not exist")]
pub struct NamespaceRefusal(pub String);

impl From<NamespaceRefusal> for VaultError {
    fn from(_: NamespaceRefusal) -> Self {
        VaultError::permission_denied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> (Core, VaultState) {
        let core = Core::new(true);
        let state = VaultState::fresh(&core, "root");
        (core, state)
    }

    #[test]
    fn names_are_checked_and_root_is_empty() {
        assert_eq!(canonical("/team-a/"), Ok("team-a".to_owned()));
        assert_eq!(canonical("root"), Ok(String::new()));
        assert_eq!(canonical(""), Ok(String::new()));
        assert!(canonical("sys").is_err());
        assert!(canonical("a//b").is_err());
        assert!(canonical("a b").is_err());
        assert!(canonical("a/../b").is_err());
    }

    #[test]
    fn header_and_path_prefix_pick_the_longest_existing_namespace() {
        let (core, mut s) = state();
        assert!(s.create_namespace(&core, "team-a/app"));
        assert!(s.namespaces.contains_key("team-a"), "parents are created");
        let r = |h: Option<&str>, p: &str| s.resolve(h, p);
        assert_eq!(
            r(None, "secret/data/x"),
            Ok(Resolved {
                namespace: String::new(),
                path: "secret/data/x".into()
            })
        );
        assert_eq!(
            r(Some("team-a"), "kv/data/x").map(|x| x.namespace),
            Ok("team-a".into())
        );
        assert_eq!(
            r(Some("team-a"), "app/kv/data/x"),
            Ok(Resolved {
                namespace: "team-a/app".into(),
                path: "kv/data/x".into()
            })
        );
        assert_eq!(
            r(None, "team-a/app/kv/data/x").map(|x| x.namespace),
            Ok("team-a/app".into())
        );
        assert_eq!(
            r(Some("nope"), "kv/data/x"),
            Err(NamespaceRefusal("nope".into()))
        );
        assert_eq!(r(Some("/"), "kv").map(|x| x.namespace), Ok(String::new()));
    }

    #[test]
    fn a_new_namespace_has_no_secret_mount_and_dropping_takes_children() {
        let (core, mut s) = state();
        s.create_namespace(&core, "a/b");
        let a = s.space("a").expect("exists");
        assert!(!a.mounts.contains_key("secret/"));
        assert!(a.mounts.contains_key("cubbyhole/"));
        assert!(a.tokens.resolve("root", core.clock.now()).is_some());
        assert_eq!(
            s.tenant_views()
                .into_iter()
                .map(|v| v.id)
                .collect::<Vec<_>>(),
            ["vault/root", "vault/a", "vault/a/b"]
        );
        s.reset_namespace(&core, "").expect("root resets");
        assert_eq!(s.namespaces.len(), 2, "children survive a root reset");
        assert_eq!(s.drop_namespace(""), Err(TenantError::Default(tenant(""))));
        s.drop_namespace("a").expect("exists");
        assert!(s.namespaces.is_empty());
    }
}
