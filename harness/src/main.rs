//! `secretbench`: the command people type. The emulators, and the clusters the bench runs
//! on: `up`, `smoke`, `down`, `kubeconfig` (the host backend is `secretbench::cluster::host`).

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use secretbench::cluster::{Backend, Cluster};
use secretbench::kubectl::Kubectl;
use secretbench::stack::Stack;

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

#[derive(Debug, clap::Args)]
struct ClusterArgs {
    /// Cluster backend (only `host` is built so far).
    #[arg(long, value_enum, default_value = "host", env = "SECRETBENCH_BACKEND")]
    backend: Backend,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service emulators (same flags as `secretbench-emulators`).
    Emulators(secretbench_emulators::cli::Args),
    /// Bring the cluster up: node Ready, the CSI driver and the providers Running.
    Up(ClusterArgs),
    /// Smoke check on the running cluster: a pod mounts the fake provider's secret.
    Smoke(ClusterArgs),
    /// Take the cluster down and remove everything it made outside its state dir.
    Down(ClusterArgs),
    /// Print the cluster's admin kubeconfig path.
    Kubeconfig(ClusterArgs),
    /// Check scenario files: the format, then manifests, bindings, snapshot names and step ids.
    Lint(LintArgs),
    /// Print the JSON Schema of scenario.yaml (committed as scenarios/scenario.schema.json).
    Schema,
    /// Reproduce an upstream bug: `repro new NAME` scaffolds a scenario folder to fill in.
    #[command(subcommand)]
    Repro(secretbench::scenario::scaffold::ReproCommand),
}

#[derive(Debug, clap::Args)]
struct LintArgs {
    /// Scenario files or folders (searched recursively for scenario.yaml).
    #[arg(default_value = "scenarios")]
    paths: Vec<std::path::PathBuf>,
}

use secretbench_emulators::cli::init_tracing;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (args, command) = match cli.command {
        Command::Emulators(args) => {
            init_tracing();
            return secretbench_emulators::cli::run(args).await;
        }
        Command::Lint(a) => {
            let report = secretbench::scenario::lint::lint_paths(&a.paths);
            println!("{report}");
            if !report.is_clean() {
                std::process::exit(1);
            }
            return Ok(());
        }
        Command::Schema => {
            print!("{}", secretbench::scenario::schema::json());
            return Ok(());
        }
        Command::Repro(cmd) => {
            println!("{}", secretbench::scenario::scaffold::run(cmd)?);
            return Ok(());
        }
        Command::Up(a) => (a, "up"),
        Command::Smoke(a) => (a, "smoke"),
        Command::Down(a) => (a, "down"),
        Command::Kubeconfig(a) => (a, "kubeconfig"),
    };
    init_tracing();
    // On Ctrl-C or SIGTERM the command's future is dropped, which kills the helper it is
    // running (every command is `kill_on_drop`); daemons already started keep running in
    // their own sessions until `secretbench down`.
    tokio::select! {
        r = run(args, command) => r,
        signal = interrupted() => {
            anyhow::bail!(
                "{command} interrupted by {signal}; the cluster may be half made: run `secretbench down`"
            )
        }
    }
}

async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

async fn run(args: ClusterArgs, command: &str) -> anyhow::Result<()> {
    let stack = Stack::locate()?;
    let cluster = Cluster::new(args.backend, stack.clone());
    match command {
        "up" => {
            let kc = cluster.up().await.context(
                "secretbench up failed (logs in the state dir's logs/; run `secretbench down` to clean up)",
            )?;
            println!("KUBECONFIG={}", kc.display());
        }
        "smoke" => {
            let kc = cluster.kubeconfig()?;
            let kubectl_bin = stack.component_dir("kubernetes").await?.join("bin/kubectl");
            secretbench::smoke::fake(&stack, &Kubectl::new(kubectl_bin, kc)).await?;
        }
        "down" => cluster.down().await?,
        _ => println!("KUBECONFIG={}", cluster.kubeconfig()?.display()),
    }
    Ok(())
}
