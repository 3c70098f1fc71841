//! Pointing the real providers at the emulators, the way a user points them at a private
//! endpoint: chart settings and DaemonSet settings the provider documents, SecretProviderClass
//! parameters, credentials in Secrets. No provider is modified.
//!
//! - [`emulators`]: the emulator process a run starts and its ready line.
//! - [`tenant`]: one tenant of the emulators (an AWS account, a Vault namespace, a Key Vault) and
//!   its scoped admin API.
//! - [`azure`], [`aws`], [`vault`]: one module per provider: what to set up in the cluster once
//!   per run ([`wire`]) and what every scenario gets ([`Wiring`]).
//! - Shared steps: [`emulator_url`] (an emulator's URL as pods reach it), [`daemonset`] (a
//!   provider's DaemonSet by its release labels) and [`rollout`] (waiting for it with a deadline).
//!
//! `docs/wiring/README.md` says what each provider's wiring sets and which source says why.

pub mod aws;
pub mod azure;
pub mod emulators;
pub mod tenant;
pub mod vault;

use std::collections::BTreeMap;

use crate::cmd::CmdError;
use crate::kubectl::Kubectl;
use crate::scenario::model::{Identity, Provider};

pub use emulators::{EmulatorProcess, Endpoints};

#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error(transparent)]
    Cmd(#[from] CmdError),
    #[error(transparent)]
    Api(#[from] crate::kube_api::ApiError),
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
    /// The identity paths the provider can take here (a binding's `identity` picks one).
    pub identities: BTreeMap<Identity, IdentityPath>,
    /// The path a binding that names none takes.
    pub default_identity: Option<Identity>,
}

/// What choosing one identity path means for a scenario.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdentityPath {
    /// SecretProviderClass parameters that select it (merged after the wiring's own).
    pub parameters: BTreeMap<String, String>,
    /// Why the path cannot run on this cluster; its cases are skipped with this reason.
    pub unavailable: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NodePublishSecret {
    pub name: String,
    pub string_data: BTreeMap<String, String>,
}

/// How long a provider DaemonSet may take to roll out after the wiring changed it (image
/// present, one pod per node restarting).
pub const ROLLOUT_LIMIT: std::time::Duration = std::time::Duration::from_secs(180);

/// `scheme://host:port` of an emulator as pods reach it. `host` is the address the bench made
/// reachable (the ready line may say `0.0.0.0` or loopback); the port is the ready line's, since
/// an emulator can be moved off its default, and `default_port` only when the ready URL has none.
pub fn emulator_url(scheme: &str, host: &str, ready_url: &str, default_port: u16) -> String {
    let port = ready_port(ready_url, default_port);
    // A bare IPv6 address needs brackets in a URL; a name or IPv4 address does not.
    if host.contains(':') && !host.starts_with('[') {
        format!("{scheme}://[{host}]:{port}")
    } else {
        format!("{scheme}://{host}:{port}")
    }
}

/// The port in an emulator's ready-line URL (`default_port` when it names none): the emulators
/// take a free port when the usual one is taken, so every address pods are told carries it.
pub fn ready_port(ready_url: &str, default_port: u16) -> u16 {
    ready_url
        .trim_end_matches('/')
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .unwrap_or(default_port)
}

/// The one DaemonSet in `namespace` carrying `selector` (a Helm release's selector labels), so
/// the wiring follows the installed release rather than a name computed from chart internals.
pub async fn daemonset(
    kubectl: &Kubectl,
    provider: Provider,
    namespace: &str,
    selector: &str,
) -> Result<String, WiringError> {
    let sets = kubectl
        .api()
        .await?
        .list(Some(namespace), "daemonsets", Some(selector))
        .await?;
    let names: Vec<&str> = sets
        .iter()
        .filter_map(|d| d["metadata"]["name"].as_str())
        .collect();
    match names.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(WiringError::Provider {
            provider,
            message: format!(
                "no DaemonSet labelled {selector} in {namespace}: is the provider chart installed?"
            ),
        }),
        many => Err(WiringError::Provider {
            provider,
            message: format!(
                "{} DaemonSets labelled {selector} in {namespace} ({}); expected one",
                many.len(),
                many.join(", ")
            ),
        }),
    }
}

/// Waits (with [`ROLLOUT_LIMIT`]) until every pod of DaemonSet `name` runs its current template.
pub async fn rollout(kubectl: &Kubectl, namespace: &str, name: &str) -> Result<(), WiringError> {
    let what = format!("DaemonSet {namespace}/{name} to roll out");
    kubectl
        .api()
        .await?
        .wait_for(
            &what,
            ROLLOUT_LIMIT,
            Some(namespace),
            "daemonsets",
            name,
            crate::kube_api::rolled_out,
        )
        .await?;
    Ok(())
}

/// Sets up the cluster side for `provider` once per run and returns what scenarios get.
pub async fn wire(provider: Provider, ctx: &WireCtx<'_>) -> Result<Wiring, WiringError> {
    match provider {
        Provider::Aws => aws::wire(ctx).await,
        Provider::Azure => azure::wire(ctx).await,
        Provider::Vault => vault::wire(ctx).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulator_urls_use_the_reachable_host_and_the_ready_port() {
        assert_eq!(
            emulator_url("http", "172.18.0.1", "http://0.0.0.0:14566", 4566),
            "http://172.18.0.1:14566"
        );
        assert_eq!(
            emulator_url("http", "172.18.0.1", "", 8200),
            "http://172.18.0.1:8200"
        );
        assert_eq!(
            emulator_url("http", "fd00::1", "http://[::]:8200/", 1),
            "http://[fd00::1]:8200"
        );
        assert_eq!(
            emulator_url("https", "emu.test", "https://emu.test:8443", 1),
            "https://emu.test:8443"
        );
    }
}
