//! Emulators of the secret stores the Secrets Store CSI Driver providers talk to.
//!
//! Start them in-process (tests get ephemeral ports and the URLs back) with [`start`], or run the
//! `secretbench-emulators` binary, whose command line is [`cli::Args`].

pub mod aws;
pub mod azure;
pub mod cli;
pub mod core;
pub mod server;
pub mod vault;

pub use server::{Options, Running, StartError, start};
