//! The secretbench harness library: the pinned offline stack, the cluster backends and the
//! checks that run once a cluster is up. `main.rs` is the command line on top of it.
//!
//! Where things are:
//! - [`stack`]: `stack/versions.env` and the binaries/images `stack/build.sh` caches.
//! - [`cluster`]: the `Cluster` backends; the single-node host cluster is [`cluster::host`].
//! - [`install`]: the install plan (driver and providers as Helm releases), bundles, helm.
//! - [`scenario`]: the scenario format, its loader, `lint` and JSON Schema.
//! - [`runner`]: runs scenarios; [`report`]: the run report (HTML + JSON).
//! - [`smoke`]: the provider-independent smoke check (fake provider).
//! - [`realvault`]: the real Vault server (dev mode) beside the Vault emulator.
//! - [`cmd`], [`wait`], [`kubectl`], [`kube_api`]: running programs, deadlines for polls and
//!   watches, kubectl, the Kubernetes API.

pub mod cluster;
pub mod cmd;
pub mod install;
pub mod kube_api;
pub mod kubectl;
pub mod project;
pub mod realvault;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod smoke;
pub mod stack;
pub mod wait;
pub mod wiring;
