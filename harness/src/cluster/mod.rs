//! Cluster backends. Everything after "the cluster is up" (installs, smoke, scenarios) only
//! needs the kubeconfig that [`Cluster::kubeconfig`] gives.
//!
//! - `host` ([`host`]): a real single-node Kubernetes run as processes on this machine.
//! - `kind` ([`kind`]): a kind cluster with the upstream charts (Docker, registry, internet).
//! - `existing` ([`existing`]): the user's cluster, with the driver and providers they
//!   installed.

pub mod existing;
pub mod host;
pub mod kind;
pub mod tools;

use std::fmt::Display;
use std::path::PathBuf;
use std::time::Instant;

use crate::kubectl::Kubectl;
use crate::stack::Stack;

/// Which backend to use (`--backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Single-node Kubernetes as processes on this machine (root, no Docker).
    Host,
    /// A kind cluster with the upstream charts (needs Docker, kind, helm and kubectl).
    Kind,
    /// Whatever the current kubeconfig points at; the driver and providers installed by the
    /// user, `SECRETBENCH_EMULATOR_HOST` set.
    Existing,
}

/// What `up` installs besides the cluster.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// A bundle of image archives and charts (`--bundle`, `SECRETBENCH_BUNDLE`).
    pub bundle: Option<PathBuf>,
    /// `existing` only: install the plan into the cluster (`--install`); the other backends
    /// always do.
    pub install: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(transparent)]
    Host(#[from] host::HostError),
    #[error(transparent)]
    Kind(#[from] kind::KindError),
    #[error(transparent)]
    Existing(#[from] existing::ExistingError),
    #[error(transparent)]
    Stack(#[from] crate::stack::StackError),
    #[error(transparent)]
    Install(#[from] crate::install::InstallError),
}

/// A cluster the bench can bring up, use and take down.
#[derive(Debug)]
pub enum Cluster {
    Host(host::HostCluster),
    Kind(kind::KindCluster),
    Existing(existing::ExistingCluster),
}

impl Cluster {
    pub fn new(backend: Backend, stack: Stack) -> Self {
        match backend {
            Backend::Host => Self::Host(host::HostCluster::new(stack)),
            Backend::Kind => Self::Kind(kind::KindCluster::new(stack)),
            Backend::Existing => Self::Existing(existing::ExistingCluster::new(stack)),
        }
    }

    /// Brings the cluster up (node Ready, the install plan's driver and providers Running);
    /// returns the kubeconfig path.
    pub async fn up(&self, opts: &UpOptions) -> Result<PathBuf, ClusterError> {
        match self {
            Self::Host(h) => Ok(h.up(opts).await?),
            Self::Kind(k) => Ok(k.up(opts).await?),
            Self::Existing(e) => Ok(e.up(opts).await?),
        }
    }

    /// Removes everything `up` made.
    pub async fn down(&self) -> Result<(), ClusterError> {
        match self {
            Self::Host(h) => Ok(h.down().await?),
            Self::Kind(k) => Ok(k.down().await?),
            Self::Existing(e) => Ok(e.down().await?),
        }
    }

    /// The admin kubeconfig of the cluster.
    pub fn kubeconfig(&self) -> Result<PathBuf, ClusterError> {
        match self {
            Self::Host(h) => Ok(h.kubeconfig()),
            Self::Kind(k) => Ok(k.kubeconfig()),
            Self::Existing(e) => Ok(e.kubeconfig()?),
        }
    }
}

impl Cluster {
    /// kubectl bound to the cluster's admin kubeconfig.
    pub async fn kubectl(&self) -> Result<Kubectl, ClusterError> {
        match self {
            Self::Host(h) => Ok(h.kubectl_any().await?),
            Self::Kind(k) => Ok(k.kubectl()?),
            Self::Existing(e) => Ok(e.kubectl()?),
        }
    }

    /// An address of this machine that pods in the cluster can reach: the emulators listen
    /// there (host: the bridge `sbbr0`; kind: the `kind` network's gateway; existing:
    /// `SECRETBENCH_EMULATOR_HOST`).
    pub async fn emulator_host(&self) -> Result<String, ClusterError> {
        match self {
            Self::Host(_) => Ok(host::NODE_IP.to_owned()),
            Self::Kind(k) => Ok(k.emulator_host().await?),
            Self::Existing(e) => Ok(e.emulator_host()?),
        }
    }

    /// The backend's name, for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Host(_) => "host",
            Self::Kind(_) => "kind",
            Self::Existing(_) => "existing",
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
