//! Real Vault in the bench: the server pinned as `VAULT_VERSION` in `stack/versions.env`,
//! built by `stack/build.sh vault`, run as a dev server. It is the oracle of the emulator's
//! differential suite (`just vault-diff`), the backend of the Vault scenarios under
//! `secretbench run|e2e --vault real`, and the other half of the Vault pair in `just bench`.
//!
//! - [`server`]: `vault server -dev` on an address, waited for with a deadline, restarted to
//!   get back to its start state.
//! - [`api`]: calls to a Vault HTTP API with a token.
//! - [`seed`]: an emulator seed's `vault` section applied through that API.

pub mod api;
pub mod seed;
pub mod server;

use std::path::{Path, PathBuf};

use serde_json::Value;
use tokio::sync::Mutex;

use crate::stack::{Stack, StackError};
pub use api::{ApiError, VaultApi};
pub use server::{DevServer, ROOT_TOKEN, free_loopback_address};

/// Overrides the stack-built binary (e.g. to compare the emulator with another Vault build).
pub const BIN_ENV: &str = "SECRETBENCH_VAULT_BIN";
/// The stack component (`stack/build.sh vault`).
pub const COMPONENT: &str = "vault";

#[derive(Debug, thiserror::Error)]
pub enum RealVaultError {
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Timeout(#[from] crate::wait::Timeout),
    #[error(
        "no Vault binary at {0}: build it with `stack/build.sh vault` (or set SECRETBENCH_VAULT_BIN)"
    )]
    NotBuilt(PathBuf),
    #[error("cannot start {}: {source}", binary.display())]
    Spawn {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the Vault dev server exited ({status}); its log {}:\n{tail}", log.display())]
    Exited {
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("choosing a port for the Vault dev server: {0}")]
    Port(#[source] std::io::Error),
    #[error("HTTP client: {0}")]
    Client(String),
    #[error("seeding real Vault: {0}")]
    Seed(String),
}

/// The Vault binary: `$SECRETBENCH_VAULT_BIN`, else the stack's build (not built yet is an
/// error naming the command that builds it).
pub async fn binary(stack: &Stack) -> Result<PathBuf, RealVaultError> {
    let path = match std::env::var_os(BIN_ENV) {
        Some(p) => PathBuf::from(p),
        None => stack.component_dir(COMPONENT).await?.join("bin/vault"),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(RealVaultError::NotBuilt(path))
    }
}

/// [`binary`], building the stack component first when it is not in the cache (about 10
/// minutes on 2 cores the first time; cached by version after that).
pub async fn ensure_binary(stack: &Stack) -> Result<PathBuf, RealVaultError> {
    if std::env::var_os(BIN_ENV).is_none() {
        stack.ensure_component(COMPONENT).await?;
    }
    binary(stack).await
}

/// A dev server the scenario runner resets between cases and seeds through the API.
#[derive(Debug)]
pub struct RealVault {
    server: Mutex<DevServer>,
    api: VaultApi,
}

impl RealVault {
    pub async fn start(
        binary: &Path,
        listen: std::net::SocketAddr,
        log: &Path,
    ) -> Result<Self, RealVaultError> {
        let server = DevServer::start(binary, listen, log).await?;
        let api = VaultApi::new(server.url(), ROOT_TOKEN)?;
        Ok(Self {
            server: Mutex::new(server),
            api,
        })
    }

    pub fn url(&self) -> &str {
        self.api.url()
    }

    pub fn api(&self) -> &VaultApi {
        &self.api
    }

    /// Back to a fresh dev server, then the seed document's `vault` section.
    pub async fn reset_and_seed(&self, doc: &Value) -> Result<(), RealVaultError> {
        self.server.lock().await.restart().await?;
        if let Some(s) = seed::section(doc)? {
            seed::apply(&self.api, &s).await?;
        }
        Ok(())
    }

    pub async fn stop(self) {
        self.server.into_inner().stop().await;
    }
}
