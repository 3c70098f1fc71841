//! The HashiCorp Vault emulator (issue 4): sys endpoints, KV v1 and v2, tokens with TTLs, ACL
//! policies, the Kubernetes auth method (TokenReview against the cluster), PKI issue and database
//! credentials, all behind Vault's JSON envelope and error shapes.
//!
//! It starts like `vault server -dev`: initialised, unsealed, KV v2 at `secret/`, and a root token
//! ([`DEFAULT_ROOT_TOKEN`] unless the seed names another) that the ready line reports.

mod database;
pub mod duration;
mod envelope;
mod error;
mod hcl;
mod http;
mod json_body;
mod k8s_auth;
mod kv1;
mod kv2;
mod mounts;
pub mod namespaces;
mod pki;
pub mod policy;
mod review;
mod router;
pub mod seed;
mod sys;
mod tokens;

use axum::Router;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLockReadGuard, RwLockWriteGuard};

use crate::core::persist::{PersistError, Persister};
use crate::core::seed::SeedError;
use crate::core::shared_state::SharedState;
use crate::core::tenant::{TenantError, TenantView};
use crate::core::{Core, Service};

pub use mounts::{AuthMethod, AuthMount, Engine, Mount};

/// The root token of a fresh emulator, as `vault server -dev` with `-dev-root-token-id=root`
/// (vault-helm's `devRootToken` and the vaultrs tests use the same).
pub const DEFAULT_ROOT_TOKEN: &str = "root";
/// Largest request body accepted: Vault's default `max_request_size` (32 MiB).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Vault's system default lease TTL (768h), used where a mount or role sets none.
pub const DEFAULT_LEASE_TTL: u64 = 768 * 3600;
/// The version the health endpoint reports: the real Vault pinned as `VAULT_VERSION` in
/// `stack/versions.env` (see `build.rs`), which the differential suite holds it to.
pub const VERSION: &str = env!("SECRETBENCH_VAULT_VERSION");
/// The KV and Kubernetes auth plugins that Vault builds in (`running_plugin_version`).
pub const KV_PLUGIN_VERSION: &str = env!("SECRETBENCH_VAULT_KV_PLUGIN");
pub const K8S_PLUGIN_VERSION: &str = env!("SECRETBENCH_VAULT_K8S_PLUGIN");
/// Vault's system maximum lease TTL (768h): token and lease TTLs are capped to it.
pub const MAX_LEASE_TTL: u64 = 768 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VaultState {
    pub root_token: String,
    pub cluster_id: String,
    /// Secret engines by path with its trailing slash (`secret/`).
    pub mounts: BTreeMap<String, Mount>,
    /// Auth methods by path with its trailing slash (`token/`, `kubernetes/`).
    pub auth: BTreeMap<String, AuthMount>,
    /// ACL policies by name; `root` is implicit and never stored.
    pub policies: BTreeMap<String, policy::Policy>,
    pub tokens: tokens::TokenStore,
    /// Child namespaces by path (`team-a`, `team-a/app`), each a Vault of its own
    /// ([`namespaces`]); absent while there are none, so a state file without them reads as it
    /// always did.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub namespaces: BTreeMap<String, VaultState>,
}

impl VaultState {
    /// What a dev-mode server holds at start.
    pub fn fresh(core: &Core, root_token: &str) -> Self {
        let mut state = Self {
            root_token: root_token.to_owned(),
            cluster_id: core.ids.uuid(),
            mounts: BTreeMap::new(),
            auth: BTreeMap::new(),
            policies: BTreeMap::new(),
            tokens: tokens::TokenStore::default(),
            namespaces: BTreeMap::new(),
        };
        for (path, kind, description) in [
            (
                "cubbyhole/",
                "cubbyhole",
                "per-token private secret storage",
            ),
            ("identity/", "identity", "identity store"),
            (
                "sys/",
                "system",
                "system endpoints used for control, policy and debugging",
            ),
        ] {
            state.mounts.insert(
                path.to_owned(),
                Mount::new(core, kind, description, Engine::Builtin),
            );
        }
        state.mounts.insert(
            "secret/".to_owned(),
            Mount::kv(core, 2, "key/value secret storage"),
        );
        state.auth.insert(
            "token/".to_owned(),
            AuthMount::new(core, "token", "token based credentials", AuthMethod::Token),
        );
        if let Ok(default) = policy::Policy::parse(policy::DEFAULT_RULES) {
            state.policies.insert(policy::DEFAULT.to_owned(), default);
        }
        state.tokens.insert_root(core, root_token);
        state
    }
}

#[derive(Debug)]
pub struct VaultEmulator {
    core: Arc<Core>,
    state: SharedState<VaultState>,
    review: review::Reviewer,
}

impl VaultEmulator {
    /// Loads `state_file` when it exists; with a path, every change is written back before it is
    /// acknowledged.
    pub fn new(core: Arc<Core>, state_file: Option<PathBuf>) -> Result<Self, PersistError> {
        let state = SharedState::open(state_file, || VaultState::fresh(&core, DEFAULT_ROOT_TOKEN))?;
        Ok(Self {
            core,
            state,
            review: review::Reviewer,
        })
    }

    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// The token with every capability.
    pub fn root_token(&self) -> String {
        self.read().root_token.clone()
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, VaultState> {
        self.state.read()
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, VaultState> {
        self.state.write()
    }
}

impl Service for VaultEmulator {
    fn name(&self) -> &'static str {
        "vault"
    }

    /// Back to a fresh dev server, keeping the root token the ready line announced.
    fn reset(&self) {
        let mut state = self.write();
        let root = state.root_token.clone();
        *state = VaultState::fresh(&self.core, &root);
    }

    fn dump(&self) -> serde_json::Value {
        serde_json::to_value(&*self.read()).unwrap_or_default()
    }

    fn seed(&self, section: serde_json::Value) -> Result<(), SeedError> {
        let seed: seed::VaultSeed = crate::core::seed::section("vault", section)?;
        let mut state = self.write();
        seed.apply(&mut state, &self.core)
            .map_err(|message| SeedError::Invalid {
                service: "vault",
                message,
            })
    }

    fn tenants(&self) -> Vec<TenantView> {
        self.read().tenant_views()
    }

    fn tenant_name(&self, name: &str) -> Result<String, TenantError> {
        namespaces::canonical(name).map(|path| namespaces::tenant_name(&path))
    }

    fn create_tenant(&self, name: &str) -> Result<bool, TenantError> {
        let path = namespaces::canonical(name)?;
        Ok(self.write().create_namespace(&self.core, &path))
    }

    fn reset_tenant(&self, name: &str) -> Result<(), TenantError> {
        let path = namespaces::canonical(name)?;
        self.write().reset_namespace(&self.core, &path)
    }

    fn drop_tenant(&self, name: &str) -> Result<(), TenantError> {
        let path = namespaces::canonical(name)?;
        self.write().drop_namespace(&path)
    }

    /// Seeds one namespace, creating it (and its parents) first; its `rootToken` stays the
    /// root namespace's business.
    fn seed_tenant(&self, name: &str, section: serde_json::Value) -> Result<(), TenantError> {
        let path = namespaces::canonical(name)?;
        let seed: seed::VaultSeed = crate::core::seed::section("vault", section)
            .map_err(|e| TenantError::Seed(e.to_string()))?;
        if seed.root_token.is_some() && !path.is_empty() {
            return Err(TenantError::Seed(format!(
                "rootToken belongs to the root namespace and cannot be set by a seed for vault/{path}"
            )));
        }
        let mut state = self.write();
        state.create_namespace(&self.core, &path);
        let space = state.space_mut(&path).ok_or_else(|| {
            TenantError::NotFound(crate::core::tenant::TenantId::new("vault", name))
        })?;
        seed.apply(space, &self.core).map_err(TenantError::Seed)
    }

    fn dump_tenant(&self, name: &str) -> Result<serde_json::Value, TenantError> {
        let path = namespaces::canonical(name)?;
        self.read().dump_namespace(&path)
    }

    fn persister(&self) -> &Persister {
        self.state.persister()
    }

    fn router(self: Arc<Self>) -> Router {
        http::router(self)
    }

    fn ready_info(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut info = serde_json::Map::new();
        info.insert("rootToken".into(), self.root_token().into());
        info
    }

    fn refuse_admin(&self, message: &str) -> axum::response::Response {
        http::error_response(&error::VaultError::new(
            axum::http::StatusCode::FORBIDDEN,
            format!("permission denied: {message}"),
        ))
    }
}
