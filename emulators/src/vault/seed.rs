//! The `vault` section of a seed document: root token, mounts, KV data, policies, tokens and
//! auth methods (Kubernetes config and roles). Entries are upserted, so seeding twice is harmless.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use super::mounts::{self, AuthMethod, AuthMount, Engine, Mount};
use super::policy::{self, Policy};
use super::tokens::Spec;
use super::{VaultState, duration, k8s_auth};
use crate::core::Core;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VaultSeed {
    /// Replaces the root token (the old one stops working).
    #[serde(default)]
    pub root_token: Option<String>,
    #[serde(default)]
    pub mounts: Vec<SeedMount>,
    #[serde(default)]
    pub kv: Vec<SeedKv>,
    #[serde(default)]
    pub policies: Vec<SeedPolicy>,
    #[serde(default)]
    pub tokens: Vec<SeedToken>,
    #[serde(default)]
    pub auth: Vec<SeedAuth>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedMount {
    pub path: String,
    /// `kv`, `kv-v2`, `pki` or `database`.
    #[serde(rename = "type")]
    pub kind: String,
    /// KV version (1 or 2) for `type: kv`; default 1 as in Vault.
    #[serde(default)]
    pub version: Option<u8>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedKv {
    /// The mount path, e.g. `secret`.
    pub mount: String,
    /// The secret's path inside the mount (no `data/`), e.g. `app/db`.
    pub path: String,
    /// One map, or (KV v2 only) several written in order as versions 1, 2, ...
    #[serde(default)]
    pub data: Option<Map<String, Value>>,
    #[serde(default)]
    pub versions: Vec<Map<String, Value>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedPolicy {
    pub name: String,
    /// HCL or JSON policy text.
    pub rules: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedToken {
    pub id: String,
    #[serde(default)]
    pub policies: Vec<String>,
    /// `1h`, `30m`, or seconds; absent = 768h.
    #[serde(default)]
    pub ttl: Option<String>,
    #[serde(default)]
    pub renewable: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedAuth {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub config: Option<SeedK8sConfig>,
    #[serde(default)]
    pub roles: Vec<SeedK8sRole>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedK8sConfig {
    pub kubernetes_host: String,
    #[serde(default)]
    pub kubernetes_ca_cert: String,
    #[serde(default)]
    pub token_reviewer_jwt: String,
    /// Use nothing of the pod Vault runs in (its CA, its token): what a Vault outside the
    /// cluster is configured with. Default false, as in Vault.
    #[serde(default)]
    pub disable_local_ca_jwt: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedK8sRole {
    pub name: String,
    pub bound_service_account_names: Vec<String>,
    pub bound_service_account_namespaces: Vec<String>,
    #[serde(default)]
    pub audience: String,
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub ttl: Option<String>,
}

fn err(e: super::error::VaultError) -> String {
    e.summary()
}

impl VaultSeed {
    pub fn apply(self, state: &mut VaultState, core: &Core) -> Result<(), String> {
        if let Some(root) = self.root_token {
            if root.is_empty() {
                return Err("rootToken must not be empty".into());
            }
            let old = state.root_token.clone();
            state.tokens.revoke(&old);
            state.tokens.insert_root(core, &root);
            // The root token is one for every namespace: the old one stops working there too.
            for space in state.namespaces.values_mut() {
                space.tokens.revoke(&old);
                space.tokens.insert_root(core, &root);
                space.root_token.clone_from(&root);
            }
            state.root_token = root;
        }
        for m in self.mounts {
            let key = mounts::key(&m.path);
            let mut options = BTreeMap::new();
            if let Some(v) = m.version {
                if v != 1 && v != 2 {
                    return Err(format!("mount {key}: version must be 1 or 2, got {v}"));
                }
                options.insert("version".to_owned(), v.to_string());
            }
            let mount = Mount::create(core, &m.kind, &m.description, &options)
                .map_err(|e| format!("mount {key}: {e}"))?;
            state.mounts.insert(key, mount);
        }
        let now = core.clock.now();
        for kv in self.kv {
            let key = mounts::key(&kv.mount);
            let mount = state
                .mounts
                .get_mut(&key)
                .ok_or_else(|| format!("kv entry {}: no mount at {key}", kv.path))?;
            let mut versions = kv.versions;
            if let Some(d) = kv.data {
                versions.push(d);
            }
            if versions.is_empty() {
                return Err(format!("kv entry {}: give data or versions", kv.path));
            }
            match &mut mount.engine {
                Engine::Kv2(store) => {
                    for v in versions {
                        store.put(&kv.path, v, None, now, None).map_err(err)?;
                    }
                }
                Engine::Kv1(store) => {
                    if versions.len() > 1 {
                        return Err(format!(
                            "kv entry {}: KV v1 mount {key} has no versions",
                            kv.path
                        ));
                    }
                    if let Some(v) = versions.pop() {
                        store.data.insert(kv.path.clone(), v);
                    }
                }
                _ => return Err(format!("kv entry {}: {key} is not a KV mount", kv.path)),
            }
        }
        for p in self.policies {
            let name = p.name.to_lowercase();
            if name == policy::ROOT {
                return Err("the root policy cannot be seeded".into());
            }
            let parsed = Policy::parse(&p.rules).map_err(|e| format!("policy {name}: {e}"))?;
            state.policies.insert(name, parsed);
        }
        for t in self.tokens {
            let ttl = t
                .ttl
                .as_deref()
                .map(|text| {
                    duration::parse_str(text)
                        .and_then(|s| u64::try_from(s).map_err(|_| "ttl must be positive".into()))
                })
                .transpose()
                .map_err(|e| format!("token {}: {e}", t.id))?;
            state.tokens.tokens.remove(&t.id);
            state.tokens.mint(
                core,
                now,
                Spec {
                    id: Some(t.id.clone()),
                    policies: t.policies,
                    display_name: "token".into(),
                    path: "auth/token/create".into(),
                    ttl,
                    renewable: t.renewable.unwrap_or(true),
                    orphan: true,
                    ..Spec::default()
                },
            );
        }
        for a in self.auth {
            let key = mounts::key(&a.path);
            if a.kind != "kubernetes" {
                return Err(format!("auth {key}: only type kubernetes can be seeded"));
            }
            let mount = state.auth.entry(key.clone()).or_insert_with(|| {
                AuthMount::new(
                    core,
                    "kubernetes",
                    "",
                    AuthMethod::Kubernetes(k8s_auth::Store::default()),
                )
            });
            let AuthMethod::Kubernetes(store) = &mut mount.method else {
                return Err(format!("auth {key} is not a kubernetes method"));
            };
            if let Some(c) = a.config {
                let mut body = Map::new();
                body.insert("kubernetes_host".into(), c.kubernetes_host.into());
                body.insert("kubernetes_ca_cert".into(), c.kubernetes_ca_cert.into());
                body.insert("token_reviewer_jwt".into(), c.token_reviewer_jwt.into());
                body.insert("disable_local_ca_jwt".into(), c.disable_local_ca_jwt.into());
                store.config = Some(
                    k8s_auth::parse_config(&body)
                        .map_err(|e| format!("auth {key} config: {}", err(e)))?,
                );
            }
            for r in a.roles {
                let mut body = Map::new();
                body.insert(
                    "bound_service_account_names".into(),
                    r.bound_service_account_names.into(),
                );
                body.insert(
                    "bound_service_account_namespaces".into(),
                    r.bound_service_account_namespaces.into(),
                );
                body.insert("audience".into(), r.audience.into());
                body.insert("policies".into(), r.policies.into());
                if let Some(ttl) = r.ttl {
                    body.insert("ttl".into(), ttl.into());
                }
                let role = k8s_auth::parse_role(None, &body)
                    .map_err(|e| format!("auth {key} role {}: {}", r.name, err(e)))?;
                store.roles.insert(r.name, role);
            }
        }
        Ok(())
    }
}
