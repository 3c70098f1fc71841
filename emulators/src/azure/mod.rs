//! The Azure Key Vault + Entra ID emulator (issue 3), over HTTPS with a CA it generates.
//!
//! One listener serves every vault (told apart by the Host header: `name.suffix`) and the Entra
//! endpoints (any other host). Dev mode needs no configuration: vault `dev` under
//! `vault.localhost` and one principal allowed everything on it, all named in the ready line.
//! Requests with a bare loopback Host (`127.0.0.1`, `localhost`) and a Key Vault path go to the
//! dev vault, for clients that cannot resolve `dev.vault.localhost`.

mod auth;
pub mod certificates;
mod entra;
mod error;
mod http;
pub mod keys;
pub mod limits;
mod objects;
mod route;
pub mod secrets;
pub mod seed;
pub mod state;
pub mod store;
pub mod tenancy;
pub mod tls;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::path::PathBuf;
use std::sync::{Arc, RwLockReadGuard, RwLockWriteGuard};

use crate::core::persist::{PersistError, Persister};
use crate::core::seed::SeedError;
use crate::core::shared_state::SharedState;
use crate::core::tenant::{TenantError, TenantView};
use crate::core::{Core, Service};
use state::{AzureState, Dev};

/// Largest request body accepted (a certificate import with a chain stays far below it).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Extra DNS suffixes (comma-separated) the serving certificate covers from the first start, for
/// vaults created later under a custom suffix by clients that pin the certificate at startup.
pub const SUFFIX_ENV: &str = "SECRETBENCH_AZURE_DNS_SUFFIX";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    Secret,
    Key,
    Certificate,
}

impl Kind {
    pub fn title(self) -> &'static str {
        match self {
            Self::Secret => "Secret",
            Self::Key => "Key",
            Self::Certificate => "Certificate",
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Self::Secret => "secret",
            Self::Key => "key",
            Self::Certificate => "certificate",
        }
    }

    pub fn collection(self) -> &'static str {
        match self {
            Self::Secret => "secrets",
            Self::Key => "keys",
            Self::Certificate => "certificates",
        }
    }

    pub fn deleted_collection(self) -> &'static str {
        match self {
            Self::Secret => "deletedsecrets",
            Self::Key => "deletedkeys",
            Self::Certificate => "deletedcertificates",
        }
    }
}

#[derive(Debug)]
pub struct AzureEmulator {
    core: Arc<Core>,
    state: SharedState<AzureState>,
    pki: tls::Pki,
    signer: auth::Signer,
    /// The listener's port, for the vault URLs in the ready line (0 until bound).
    port: std::sync::atomic::AtomicU16,
}

fn setup_error(path: PathBuf, message: String) -> PersistError {
    PersistError::Write {
        path,
        source: std::io::Error::other(message),
    }
}

impl AzureEmulator {
    /// Loads `state_file` when it exists (its folder also keeps the CA and the token key);
    /// without one, state is in memory and the CA goes to a fresh temp folder.
    pub fn new(core: Arc<Core>, state_file: Option<PathBuf>) -> Result<Self, PersistError> {
        let state_dir = state_file
            .as_deref()
            .and_then(std::path::Path::parent)
            .map(PathBuf::from);
        let state = SharedState::open(state_file, || AzureState::fresh(Dev::new(&core)))?;
        let initial = state.read();
        let mut names: Vec<String> = std::env::var(SUFFIX_ENV)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .flat_map(|s| [s.to_owned(), format!("*.{s}")])
            .collect();
        for vault in initial.vaults.values() {
            names.push(vault.suffix.clone());
            names.push(format!("*.{}", vault.suffix));
        }
        names.extend(initial.login_host.clone());
        let pki = tls::Pki::new(state_dir.as_deref(), &names)
            .map_err(|e| setup_error(state_dir.clone().unwrap_or_default(), e.to_string()))?;
        let signer =
            auth::Signer::new(&pki).map_err(|e| setup_error(pki.ca_file.clone(), e.to_string()))?;
        drop(initial);
        Ok(Self {
            core,
            state,
            pki,
            signer,
            port: std::sync::atomic::AtomicU16::new(0),
        })
    }

    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// The CA certificate (PEM) clients must trust.
    pub fn ca_pem(&self) -> &str {
        &self.pki.ca_pem
    }

    pub fn ca_file(&self) -> &std::path::Path {
        &self.pki.ca_file
    }

    /// The dev principal and tenant.
    pub fn dev(&self) -> Dev {
        self.read().dev.clone()
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, AzureState> {
        self.state.read()
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, AzureState> {
        self.state.write()
    }
}

/// Whether `host` is `something.<suffix>` for the suffix of some vault (or the real one).
fn is_vault_suffix(state: &AzureState, host: &str) -> bool {
    state
        .vaults
        .values()
        .any(|v| host.ends_with(&format!(".{}", v.suffix)))
        || host.ends_with(".vault.azure.net")
}

impl Service for AzureEmulator {
    fn name(&self) -> &'static str {
        "azure"
    }

    fn reset(&self) {
        let mut state = self.write();
        let dev = state.dev.clone();
        *state = AzureState::fresh(dev);
    }

    fn dump(&self) -> serde_json::Value {
        serde_json::to_value(&*self.read()).unwrap_or_default()
    }

    fn seed(&self, section: serde_json::Value) -> Result<(), SeedError> {
        let seed: seed::AzureSeed = crate::core::seed::section("azure", section)?;
        let invalid = |message: String| SeedError::Invalid {
            service: "azure",
            message,
        };
        let hosts = {
            let mut state = self.write();
            seed.apply(&mut state, &self.core).map_err(invalid)?
        };
        for host in hosts {
            self.pki
                .cover(&host)
                .map_err(|e| invalid(format!("cannot re-issue the serving certificate: {e}")))?;
        }
        Ok(())
    }

    fn tenants(&self) -> Vec<TenantView> {
        self.read().tenant_views()
    }

    fn tenant_name(&self, name: &str) -> Result<String, TenantError> {
        tenancy::tenant_name(name)
    }

    fn create_tenant(&self, name: &str) -> Result<bool, TenantError> {
        Ok(self.write().create_vault(name))
    }

    fn reset_tenant(&self, name: &str) -> Result<(), TenantError> {
        self.write().reset_vault(name)
    }

    fn drop_tenant(&self, name: &str) -> Result<(), TenantError> {
        self.write().drop_vault(name)
    }

    /// A tenant's seed may name only its own vault (and principals, which Entra shares); with
    /// no `vaults` entry, the vault is created as [`AzureState::create_vault`] makes it.
    fn seed_tenant(&self, name: &str, section: serde_json::Value) -> Result<(), TenantError> {
        let seed: seed::AzureSeed = crate::core::seed::section("azure", section)
            .map_err(|e| TenantError::Seed(e.to_string()))?;
        if seed.login_host.is_some() {
            return Err(TenantError::Seed(
                "loginHost is shared by every vault and cannot be set by a tenant's seed".into(),
            ));
        }
        if let Some(other) = seed
            .vaults
            .iter()
            .find(|v| !v.name.eq_ignore_ascii_case(name))
        {
            return Err(TenantError::Seed(format!(
                "a seed for tenant azure/{name} cannot hold vault '{}'",
                other.name
            )));
        }
        let hosts = {
            let mut state = self.write();
            if seed.vaults.is_empty() {
                state.create_vault(name);
            }
            seed.apply(&mut state, &self.core)
                .map_err(TenantError::Seed)?
        };
        for host in hosts {
            self.pki.cover(&host).map_err(|e| {
                TenantError::Seed(format!("cannot re-issue the serving certificate: {e}"))
            })?;
        }
        Ok(())
    }

    fn dump_tenant(&self, name: &str) -> Result<serde_json::Value, TenantError> {
        self.read().dump_vault(name)
    }

    fn persister(&self) -> &Persister {
        self.state.persister()
    }

    fn router(self: Arc<Self>) -> Router {
        Router::new()
            .fallback(http::front)
            // Bodies are read with our own limit so the error has Key Vault's shape.
            .layer(DefaultBodyLimit::disable())
            .with_state(self)
    }

    fn ready_info(&self) -> serde_json::Map<String, serde_json::Value> {
        let state = self.read();
        let mut info = serde_json::Map::new();
        info.insert(
            "caFile".into(),
            self.pki.ca_file.display().to_string().into(),
        );
        let port = match self.port.load(std::sync::atomic::Ordering::Relaxed) {
            0 | 443 => String::new(),
            p => format!(":{p}"),
        };
        let vaults: Vec<serde_json::Value> = state
            .vaults
            .values()
            .map(|v| format!("https://{}{port}", v.host()).into())
            .collect();
        info.insert("vaults".into(), vaults.into());
        info.insert("tenantId".into(), state.dev.tenant_id.clone().into());
        info.insert("clientId".into(), state.dev.client_id.clone().into());
        info.insert(
            "clientSecret".into(),
            state.dev.client_secret.clone().into(),
        );
        info
    }

    fn bound(&self, local: std::net::SocketAddr) {
        self.port
            .store(local.port(), std::sync::atomic::Ordering::Relaxed);
    }

    fn tls(&self) -> Option<Arc<rustls::ServerConfig>> {
        Some(Arc::clone(&self.pki.server_config))
    }

    fn refuse_admin(&self, message: &str) -> axum::response::Response {
        http::kv_response(
            &error::KvError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "Unauthorized",
                message,
            ),
            "",
        )
    }
}
