//! `secretbench`: the command people type. The emulators, and the clusters the bench runs
//! on: `up`, `smoke`, `down`, `kubeconfig` (the host backend is `secretbench::cluster::host`).

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use secretbench::cluster::{Backend, Cluster};
use secretbench::scenario::model::Provider;
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
    /// Cluster backend: `host`, `kind` or `existing` (README, "Backends").
    #[arg(long, value_enum, default_value = "host", env = "SECRETBENCH_BACKEND")]
    backend: Backend,
}

/// What `up` installs (README, "Bundles").
#[derive(Debug, clap::Args)]
struct InstallArgs {
    /// A bundle: a folder of image archives and Helm charts (e.g. the AWS and Vault providers
    /// built elsewhere), installed with the rest of the plan.
    #[arg(long, env = secretbench::install::bundle::ENV_BUNDLE)]
    bundle: Option<std::path::PathBuf>,
    /// `existing` backend: install the plan into the cluster (charts from the bundle or the
    /// upstream repositories). The other backends always install it.
    #[arg(long)]
    install: bool,
}

impl InstallArgs {
    fn options(&self) -> secretbench::cluster::UpOptions {
        secretbench::cluster::UpOptions {
            bundle: self.bundle.clone(),
            install: self.install,
        }
    }
}

#[derive(Debug, clap::Args)]
struct UpArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    install: InstallArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service emulators (same flags as `secretbench-emulators`).
    Emulators(secretbench_emulators::cli::Args),
    /// Bring the cluster up: node Ready, the CSI driver and the providers Running.
    Up(UpArgs),
    /// Smoke check on the running cluster: a pod mounts the fake provider's secret. The fake
    /// provider's image is built by the offline stack, so this runs on the host backend (and
    /// on any cluster where that image and chart were installed).
    Smoke(ClusterArgs),
    /// Take the cluster down and remove everything it made outside its state dir.
    Down(ClusterArgs),
    /// Print the cluster's admin kubeconfig path.
    Kubeconfig(ClusterArgs),
    /// Run scenarios on a cluster that is up (see `up`), against the emulators and the real
    /// driver and providers; prints a table, writes JUnit and artifacts on failure.
    Run(RunArgs),
    /// `up` (or reuse), then `run` every scenario for every provider.
    E2e(RunArgs),
    /// Check scenario files: the format, then manifests, bindings, snapshot names and step ids.
    Lint(LintArgs),
    /// Print the JSON Schema of scenario.yaml (committed as scenarios/scenario.schema.json).
    Schema,
    /// Reproduce an upstream bug: `repro new NAME` scaffolds a scenario folder to fill in.
    #[command(subcommand)]
    Repro(secretbench::scenario::scaffold::ReproCommand),
    /// Bundles of image archives and charts for clusters that cannot pull (README, "Bundles").
    #[command(subcommand)]
    Bundle(BundleCommand),
}

#[derive(Debug, Subcommand)]
enum BundleCommand {
    /// What a bundle holds (images, charts, the release each serves), what each provider still
    /// lacks, and every problem that would refuse it; exits 1 when there is one.
    Inspect {
        /// The bundle folder.
        dir: std::path::PathBuf,
    },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// `e2e` only: what `up` installs.
    #[command(flatten)]
    install: InstallArgs,
    /// Scenario files or folders (searched recursively for scenario.yaml).
    #[arg(default_value = "scenarios")]
    paths: Vec<std::path::PathBuf>,
    /// Only these providers (repeatable; default: every provider a scenario names).
    #[arg(long = "provider", value_enum)]
    providers: Vec<ProviderArg>,
    /// Replace stored snapshots that differ instead of failing.
    #[arg(long)]
    update_snapshots: bool,
    /// Where artifacts of failed cases go (a `run-<time>` folder inside).
    #[arg(long, default_value = "artifacts")]
    artifacts: std::path::PathBuf,
    /// Also write JUnit XML here.
    #[arg(long)]
    junit: Option<std::path::PathBuf>,
    /// Where report.html and report.json go (default: the run's artifacts folder).
    #[arg(long, value_name = "DIR")]
    report: Option<std::path::PathBuf>,
    /// Write no report.
    #[arg(long, conflicts_with_all = ["report", "report_history"])]
    no_report: bool,
    /// Earlier runs' report.json files, for rotation latency across runs (repeatable).
    #[arg(long = "report-history", value_name = "FILE", num_args = 1..)]
    report_history: Vec<std::path::PathBuf>,
    /// Fixed emulator ports, e.g. `aws=4566,azure=8443,vault=8200` (any subset; 0: any free
    /// port). Unfixed ones take the service's usual port when free, else any free port.
    #[arg(long, env = secretbench::wiring::emulators::ENV_PORTS, value_name = "SERVICE=PORT,...")]
    emulator_ports: Option<secretbench::wiring::emulators::EmulatorPorts>,
    /// The Vault the Vault scenarios run against: the emulator, or a real Vault dev server
    /// (`stack/build.sh vault`, built on first use) started beside the emulators. Scenarios
    /// that use fault injection or the journal are skipped with `real`.
    #[arg(
        long,
        value_enum,
        default_value = "emulator",
        env = "SECRETBENCH_VAULT"
    )]
    vault: VaultArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum VaultArg {
    Emulator,
    Real,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ProviderArg {
    Aws,
    Azure,
    Vault,
}

impl From<ProviderArg> for Provider {
    fn from(p: ProviderArg) -> Self {
        match p {
            ProviderArg::Aws => Provider::Aws,
            ProviderArg::Azure => Provider::Azure,
            ProviderArg::Vault => Provider::Vault,
        }
    }
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
    let (args, command, opts) = match cli.command {
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
        Command::Run(a) => {
            init_tracing();
            return run_scenarios(a, false).await;
        }
        Command::E2e(a) => {
            init_tracing();
            return run_scenarios(a, true).await;
        }
        Command::Repro(cmd) => {
            println!("{}", secretbench::scenario::scaffold::run(cmd)?);
            return Ok(());
        }
        Command::Bundle(BundleCommand::Inspect { dir }) => return inspect_bundle(&dir),
        Command::Up(a) => (a.cluster, "up", a.install.options()),
        Command::Smoke(a) => (a, "smoke", Default::default()),
        Command::Down(a) => (a, "down", Default::default()),
        Command::Kubeconfig(a) => (a, "kubeconfig", Default::default()),
    };
    init_tracing();
    // On Ctrl-C or SIGTERM the command's future is dropped, which kills the helper it is
    // running (every command is `kill_on_drop`); daemons already started keep running in
    // their own sessions until `secretbench down`.
    tokio::select! {
        r = run(args, command, &opts) => r,
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

async fn run(
    args: ClusterArgs,
    command: &str,
    opts: &secretbench::cluster::UpOptions,
) -> anyhow::Result<()> {
    let stack = Stack::locate()?;
    let cluster = Cluster::new(args.backend, stack.clone());
    match command {
        "up" => {
            let kc = cluster.up(opts).await.context(
                "secretbench up failed (logs in the state dir's logs/; run `secretbench down` to clean up)",
            )?;
            println!("KUBECONFIG={}", kc.display());
        }
        "smoke" => {
            secretbench::smoke::fake(&stack, &cluster.kubectl().await?, cluster.name()).await?
        }
        "down" => cluster.down().await?,
        _ => println!("KUBECONFIG={}", cluster.kubeconfig()?.display()),
    }
    Ok(())
}

/// `bundle inspect DIR`: the report, and exit 1 when the bundle would be refused.
fn inspect_bundle(dir: &std::path::Path) -> anyhow::Result<()> {
    use secretbench::install::{Bundle, Plan};
    let plan = Plan::from_versions(Stack::locate()?.versions())?;
    let (bundle, problems) = Bundle::read(dir, &plan)?;
    print!("{}", bundle.report(&plan, &problems));
    if !problems.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

/// `run` and `e2e`: load and lint the scenarios, (for e2e) bring the cluster up, start the
/// emulators where pods reach them, wire the providers, run, report.
async fn run_scenarios(args: RunArgs, bring_up: bool) -> anyhow::Result<()> {
    use secretbench::runner::{self, report, snapshot};
    use secretbench::wiring::EmulatorProcess;

    let scenarios = runner::load(&args.paths)?;
    // A bad history file is the user's mistake: say so before the run, not after it.
    let history = secretbench::report::history(&args.report_history)?;
    let started_at = runner::timeline::now();
    let providers: Vec<Provider> = args.providers.iter().map(|&p| p.into()).collect();
    let stack = Stack::locate()?;
    let running = runner::RunningVersions::from_stack(stack.versions());
    // Built (when not cached yet) before the cluster is touched: a cold build takes minutes. Not
    // needed when the run has no Vault cases.
    let vault_cases = providers.is_empty() || providers.contains(&Provider::Vault);
    let vault_bin = match args.vault {
        VaultArg::Real if vault_cases => Some(secretbench::realvault::ensure_binary(&stack).await?),
        VaultArg::Real | VaultArg::Emulator => None,
    };
    let cluster = Cluster::new(args.cluster.backend, stack.clone());
    if bring_up {
        cluster
            .up(&args.install.options())
            .await
            .context("secretbench up failed (run `secretbench down` to clean up)")?;
    }
    let kubectl = cluster.kubectl().await?;
    let rotation = runner::rotation_interval(&kubectl).await?;
    eprintln!(
        "driver rotation poll interval: {} (deadlines `rotation + ...` use it)",
        secretbench::scenario::duration::format_duration(rotation)
    );
    let address = cluster.emulator_address().await?;
    eprintln!("emulators: {address}");
    let run_dir = secretbench::cluster::host::StateDir::base_from_env().join("runs");
    let exe = std::env::current_exe().context("locating the secretbench binary")?;
    let emulators = EmulatorProcess::start(
        &exe,
        address.listen,
        &args.emulator_ports.unwrap_or_default(),
        &run_dir.join("emulators"),
        &run_dir.join("emulators.log"),
    )
    .await?;
    let plan = secretbench::install::Plan::from_versions(stack.versions())?;
    let installed = secretbench::install::installed_providers(&plan, &kubectl).await?;
    let mut endpoints = emulators.endpoints.clone();
    let real_vault = match &vault_bin {
        None => None,
        Some(bin) => {
            use secretbench::realvault::{ROOT_TOKEN, RealVault};
            // Listening where the emulators listen, so pods reach it at the advertised address.
            let listen = std::net::SocketAddr::new(
                address.listen,
                secretbench::wiring::emulators::REAL_VAULT_PORT,
            );
            let real = RealVault::start(bin, listen, &run_dir.join("vault.log"))
                .await
                .context("starting the real Vault dev server")?;
            endpoints.vault_url = secretbench::wiring::emulators::reachable_here(real.url());
            endpoints.vault_token = ROOT_TOKEN.to_owned();
            eprintln!(
                "Vault scenarios run against the real Vault dev server at {}",
                real.url()
            );
            Some(real)
        }
    };
    let env = runner::Environment::prepare(
        kubectl,
        &address,
        &endpoints,
        &installed,
        &providers,
        cluster.name(),
        real_vault,
    )
    .await?;
    let artifacts = runner::artifacts_root(&args.artifacts);
    let opts = runner::Options {
        providers,
        snapshot_mode: snapshot::Mode::from_env(args.update_snapshots),
        artifacts: artifacts.clone(),
        rotation,
        backend_name: cluster.name().to_owned(),
        running,
    };
    let results = tokio::select! {
        r = runner::run_all(&env, &scenarios, &opts) => r,
        signal = interrupted() => anyhow::bail!("run interrupted by {signal}; scenario namespaces named sb-* may remain"),
    };
    emulators.stop().await;
    if let Some(real) = env.real_vault {
        real.stop().await;
    }
    print!("{}", report::table(&results));
    if let Some(path) = &args.junit {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(path, report::junit(&results))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if !args.no_report {
        let dir = args.report.clone().unwrap_or(artifacts);
        let meta = secretbench::report::RunMeta {
            started_at,
            backend: opts.backend_name.clone(),
            running: opts.running.clone(),
            rotation,
        };
        let report = secretbench::report::build(&results, &meta, &dir);
        let written = secretbench::report::write(&dir, &report, &history)?;
        eprintln!(
            "report: {} ({} KiB), data in {}",
            written.html.display(),
            written.html_bytes.div_ceil(1024),
            written.json.display()
        );
    }
    if results.iter().any(|r| !r.verdict.ok()) {
        std::process::exit(1);
    }
    Ok(())
}
