//! Cluster backends. Everything after "the cluster is up" (installs, smoke, scenarios) only
//! needs the kubeconfig that [`Cluster::kubeconfig`] gives.
//!
//! - `host` ([`host`]): a real single-node Kubernetes run as processes on this machine.
//! - `kind`, `existing`: not built yet; they say so.

pub mod host;

use std::fmt::Display;
use std::path::PathBuf;
use std::time::Instant;

use crate::kubectl::Kubectl;
use crate::scenario::model::Provider;
use crate::stack::Stack;

/// Which backend to use (`--backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Single-node Kubernetes as processes on this machine (root, no Docker).
    Host,
    /// A kind cluster (needs Docker). Not built yet.
    Kind,
    /// Whatever the current kubeconfig points at. Not built yet.
    Existing,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(transparent)]
    Host(#[from] host::HostError),
    #[error("the `{0}` backend is not built yet; use `--backend host`")]
    NotBuilt(&'static str),
    #[error(transparent)]
    Stack(#[from] crate::stack::StackError),
}

/// A cluster the bench can bring up, use and take down.
#[derive(Debug)]
pub enum Cluster {
    Host(host::HostCluster),
    Kind,
    Existing,
}

impl Cluster {
    pub fn new(backend: Backend, stack: Stack) -> Self {
        match backend {
            Backend::Host => Self::Host(host::HostCluster::new(stack)),
            Backend::Kind => Self::Kind,
            Backend::Existing => Self::Existing,
        }
    }

    /// Brings the cluster up (node Ready, driver and providers Running); returns the
    /// kubeconfig path.
    pub async fn up(&self) -> Result<PathBuf, ClusterError> {
        match self {
            Self::Host(h) => Ok(h.up().await?),
            Self::Kind => Err(ClusterError::NotBuilt("kind")),
            Self::Existing => Err(ClusterError::NotBuilt("existing")),
        }
    }

    /// Removes everything `up` made.
    pub async fn down(&self) -> Result<(), ClusterError> {
        match self {
            Self::Host(h) => Ok(h.down().await?),
            Self::Kind => Err(ClusterError::NotBuilt("kind")),
            Self::Existing => Err(ClusterError::NotBuilt("existing")),
        }
    }

    /// The admin kubeconfig of the cluster.
    pub fn kubeconfig(&self) -> Result<PathBuf, ClusterError> {
        match self {
            Self::Host(h) => Ok(h.kubeconfig()),
            Self::Kind => Err(ClusterError::NotBuilt("kind")),
            Self::Existing => Err(ClusterError::NotBuilt("existing")),
        }
    }
}

impl Cluster {
    /// kubectl bound to the cluster's admin kubeconfig.
    pub async fn kubectl(&self) -> Result<Kubectl, ClusterError> {
        match self {
            Self::Host(h) => Ok(h.kubectl_any().await?),
            Self::Kind => Err(ClusterError::NotBuilt("kind")),
            Self::Existing => Err(ClusterError::NotBuilt("existing")),
        }
    }

    /// An address of this machine that pods in the cluster can reach: the emulators listen
    /// there (host: the bridge `sbbr0`; kind: the `kind` network's gateway).
    pub async fn emulator_host(&self) -> Result<String, ClusterError> {
        match self {
            Self::Host(_) => Ok(host::NODE_IP.to_owned()),
            Self::Kind => Err(ClusterError::NotBuilt("kind")),
            Self::Existing => Err(ClusterError::NotBuilt("existing")),
        }
    }

    /// The providers `up` installs on this backend. The host backend has only Azure: the AWS
    /// and Vault providers cannot be built offline (their modules are refused by the Go
    /// module proxy; see stack/README.md).
    pub fn providers(&self) -> &'static [Provider] {
        match self {
            Self::Host(_) => &[Provider::Azure],
            Self::Kind | Self::Existing => &Provider::ALL,
        }
    }

    /// The backend's name, for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Host(_) => "host",
            Self::Kind => "kind",
            Self::Existing => "existing",
        }
    }
}

/// Progress lines on stderr: `[tag  12.3s] message (+1.2s)`, total and per-step time.
#[derive(Debug)]
pub struct Progress {
    tag: &'static str,
    t0: Instant,
    last: Instant,
}

impl Progress {
    pub fn new(tag: &'static str) -> Self {
        let now = Instant::now();
        Self {
            tag,
            t0: now,
            last: now,
        }
    }

    pub fn step(&mut self, msg: impl Display) {
        let now = Instant::now();
        eprintln!(
            "[{} {:>5.1}s] {msg} (+{:.1}s)",
            self.tag,
            now.duration_since(self.t0).as_secs_f64(),
            now.duration_since(self.last).as_secs_f64()
        );
        tracing::debug!(tag = self.tag, %msg, "progress");
        self.last = now;
    }

    pub fn elapsed_secs(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }
}
