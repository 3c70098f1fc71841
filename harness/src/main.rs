//! `secretbench`: the command people type. For now it carries the emulators; clusters, scenarios
//! and reports join as they are built.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "secretbench",
    version,
    about = "End-to-end test bench for the Secrets Store CSI Driver and its providers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service emulators (same flags as `secretbench-emulators`).
    Emulators(secretbench_emulators::cli::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    secretbench_emulators::cli::init_tracing();
    match Cli::parse().command {
        Command::Emulators(args) => secretbench_emulators::cli::run(args).await,
    }
}
