use clap::Parser;
use secretbench_emulators::cli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cli::init_tracing();
    cli::run(cli::Args::parse()).await
}
