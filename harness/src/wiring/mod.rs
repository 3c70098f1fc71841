//! Pointing the real providers at the emulators, the way a user points them at a private
//! endpoint: chart settings and DaemonSet settings the provider documents, SecretProviderClass
//! parameters, credentials in Secrets. No provider is modified.
//!
//! - [`emulators`]: the emulator process a run starts and its ready line.
//! - [`azure`], [`aws`], [`vault`]: one module per provider: what to set up in the cluster once
//!   per run ([`wire`]) and what every scenario gets ([`Wiring`]).

pub mod aws;
pub mod azure;
pub mod emulators;
pub mod vault;

use std::collections::BTreeMap;

use crate::cmd::CmdError;
use crate::kubectl::Kubectl;
use crate::scenario::model::Provider;

pub use emulators::{EmulatorProcess, Endpoints};

#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error(transparent)]
    Cmd(#[from] CmdError),
    #[error(transparent)]
    Timeout(#[from] crate::wait::Timeout),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("emulators: {0}")]
    Emulators(String),
    #[error("{provider}: {message}")]
    Provider { provider: Provider, message: String },
}

/// What the cluster side needs to know to wire a provider.
#[derive(Debug)]
pub struct WireCtx<'a> {
    pub kubectl: &'a Kubectl,
    /// The address pods reach the emulators at (also where they listen).
    pub host: &'a str,
    pub endpoints: &'a Endpoints,
}

/// What every scenario run for one provider gets from the wiring.
#[derive(Debug, Clone, Default)]
pub struct Wiring {
    /// SecretProviderClass parameters; a binding's own parameters win over these.
    pub parameters: BTreeMap<String, String>,
    /// `${name}` variables for manifests and steps (e.g. `awsRegion`, `vaultAddress`).
    pub vars: BTreeMap<String, String>,
    /// Emulator seed (the document `POST /_secretbench/seed` takes) applied after every
    /// reset: principals, roles, vaults; never the scenario's own secrets.
    pub seed: serde_json::Value,
    /// A Secret created in each scenario namespace and referenced as `nodePublishSecretRef`
    /// by the CSI volumes that name none (credentials the provider reads per mount).
    pub node_publish_secret: Option<NodePublishSecret>,
    /// Objects applied in each scenario namespace before the scenario's own manifests
    /// (`${namespace}` is substituted), e.g. a ServiceAccount annotation or RBAC.
    pub namespace_manifests: Vec<serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct NodePublishSecret {
    pub name: String,
    pub string_data: BTreeMap<String, String>,
}

/// Sets up the cluster side for `provider` once per run and returns what scenarios get.
pub async fn wire(provider: Provider, ctx: &WireCtx<'_>) -> Result<Wiring, WiringError> {
    match provider {
        Provider::Aws => aws::wire(ctx).await,
        Provider::Azure => azure::wire(ctx).await,
        Provider::Vault => vault::wire(ctx).await,
    }
}
