//! `secretbench`: the command people type. The emulators, and the clusters the bench runs
//! on: `up`, `smoke`, `down`, `kubeconfig` (the host backend is `secretbench::cluster::host`).

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use secretbench::cluster::{Backend, Cluster};
use secretbench::install::VersionSet;
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
    #[command(flatten)]
    versions: VersionArgs,
}

/// Versions other than the pins of `stack/versions.env` (README, "Versions").
#[derive(Debug, clap::Args)]
struct VersionArgs {
    /// The Secrets Store CSI Driver release to run (e.g. v1.5.4); the host backend builds it
    /// from the module proxy (cached per version). Its chart and CRDs move with it.
    #[arg(long, value_name = "VERSION", value_parser = release_tag)]
    driver: Option<String>,
    /// The Azure provider release to run (e.g. v1.7.0), built like the driver.
    #[arg(long, value_name = "VERSION", value_parser = release_tag)]
    azure_provider: Option<String>,
    /// The AWS provider's image tag (e.g. 3.0.0); it comes from a bundle, which must carry it.
    #[arg(long, value_name = "TAG", value_parser = release_tag)]
    aws_provider: Option<String>,
    /// The Vault CSI provider's image tag (e.g. 1.7.3); it comes from a bundle, which must carry it.
    #[arg(long, value_name = "TAG", value_parser = release_tag)]
    vault_provider: Option<String>,
}

/// `v1.5.4`, `1.7.3`, `v1.6.0-rc.1`: what the upstream projects tag their releases with.
fn release_tag(s: &str) -> Result<String, String> {
    let bare = s.strip_prefix('v').unwrap_or(s);
    let (core, pre) = bare.split_once('-').unwrap_or((bare, ""));
    let parts: Vec<&str> = core.split('.').collect();
    let ok = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && pre
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!("`{s}` is not a release tag like v1.5.4"))
    }
}

impl VersionArgs {
    /// The pins with these versions over them; `None` when no version was given.
    fn set(&self, v: &secretbench::stack::Versions) -> anyhow::Result<Option<VersionSet>> {
        let given = [
            (None, &self.driver),
            (Some(Provider::Aws), &self.aws_provider),
            (Some(Provider::Azure), &self.azure_provider),
            (Some(Provider::Vault), &self.vault_provider),
        ];
        if given.iter().all(|(_, x)| x.is_none()) {
            return Ok(None);
        }
        let mut set = VersionSet::pinned(v)?;
        for (p, x) in given {
            set = match (p, x) {
                (None, Some(d)) => set.with_driver(d),
                (Some(p), Some(t)) => set.with_provider(p, t),
                _ => set,
            };
        }
        Ok(Some(set))
    }
}

impl InstallArgs {
    fn options(&self, stack: &Stack) -> anyhow::Result<secretbench::cluster::UpOptions> {
        Ok(secretbench::cluster::UpOptions {
            bundle: self.bundle.clone(),
            install: self.install,
            versions: self.versions.set(stack.versions())?,
        })
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
    /// Check scenarios before any cluster: the format, manifests against the Kubernetes schema,
    /// references, provider objects, variables, snapshots and repro placeholders.
    Lint(LintArgs),
    /// Print the JSON Schema of scenario.yaml (committed as scenarios/scenario.schema.json), or
    /// with --markdown the format reference (scenarios/FORMAT.md).
    Schema(SchemaArgs),
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
    /// Scenario files or folders (searched recursively for scenario.yaml) [default: the
    /// checkout's scenarios/].
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
    /// Scenarios with `spec.versions` (repros): run on the versions they were reported on
    /// (`reported`, the default), on the run's versions (`current`), or both
    /// (`reported,current`), with a verdict per version.
    #[arg(long, value_enum, value_delimiter = ',')]
    versions: Vec<secretbench::runner::matrix::Pick>,
    /// Run every case on each of these versions, e.g. `driver=v1.5.4,v1.6.0` (repeatable:
    /// `--matrix azure=v1.7.0,v1.8.2` adds an axis).
    #[arg(long, value_name = "COMPONENT=V1,V2")]
    matrix: Vec<secretbench::runner::matrix::Axis>,
    /// Run each case N times and count the outcomes ("reproduces k/N"); over a scenario's
    /// own `spec.repeat`.
    #[arg(long, value_name = "N")]
    repeat: Option<std::num::NonZeroU32>,
    /// How many cases run at the same time, each with its own namespace and its own tenants
    /// in the emulators (1: one after another, in order) [default: eight times the cores, 2 to 16].
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..=secretbench::runner::MAX_JOBS as i64))]
    jobs: Option<u16>,
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
    /// Scenario files or folders (searched recursively for scenario.yaml) [default: the
    /// checkout's scenarios/].
    paths: Vec<std::path::PathBuf>,
}

#[derive(Debug, clap::Args)]
struct SchemaArgs {
    /// Print the format reference (Markdown) instead of the JSON Schema.
    #[arg(long)]
    markdown: bool,
}

/// The paths given, else the checkout's `scenarios/` (found from the working directory).
fn scenario_paths(given: Vec<std::path::PathBuf>) -> anyhow::Result<Vec<std::path::PathBuf>> {
    if !given.is_empty() {
        return Ok(given);
    }
    let cwd = std::env::current_dir().context("reading the current directory")?;
    Ok(vec![secretbench::project::default_scenarios(&cwd)])
}

use secretbench_emulators::cli::init_tracing;

/// The command line's edge: a user's mistake (a bad scenario, an existing repro name, a missing
/// cluster) prints its message and causes and exits 1; no backtrace, whatever RUST_BACKTRACE
/// says (a panic, a bug, still has one).
#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run_cli(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprint!("{}", error_chain(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// `error: ...` and one `caused by: ...` per cause that adds something (many errors already
/// carry their source's text in their own message).
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = format!("error: {e}\n");
    let mut said = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !said.contains(&text) {
            out.push_str(&format!("  caused by: {text}\n"));
            said.push_str(&text);
        }
    }
    out
}

async fn run_cli(cli: Cli) -> anyhow::Result<()> {
    let (args, command, opts) = match cli.command {
        Command::Emulators(args) => {
            init_tracing();
            return secretbench_emulators::cli::run(args).await;
        }
        Command::Lint(a) => {
            let report = secretbench::scenario::lint::lint_paths(&scenario_paths(a.paths)?);
            println!(
                "{}",
                report.render(secretbench::scenario::Style::for_stdout())
            );
            if !report.is_clean() {
                anyhow::bail!("lint found {} problem(s)", report.problems());
            }
            return Ok(());
        }
        Command::Schema(a) => {
            if a.markdown {
                print!("{}", secretbench::scenario::reference::markdown());
            } else {
                print!("{}", secretbench::scenario::schema::json());
            }
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
            let cwd = std::env::current_dir().context("reading the current directory")?;
            println!("{}", secretbench::scenario::scaffold::run(cmd, &cwd)?);
            return Ok(());
        }
        Command::Bundle(BundleCommand::Inspect { dir }) => return inspect_bundle(&dir),
        Command::Up(a) => {
            let opts = a.install.options(&Stack::locate()?)?;
            (a.cluster, "up", opts)
        }
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

/// `run` and `e2e`: load and lint the scenarios, then the matrix layer moves the cluster to
/// each set of versions the cases need (for e2e: brings it up), starts the emulators where
/// pods reach them, wires the providers and runs; then the report.
async fn run_scenarios(args: RunArgs, bring_up: bool) -> anyhow::Result<()> {
    use secretbench::runner::{self, matrix::Matrix, report, snapshot};

    let scenarios = runner::load(&scenario_paths(args.paths.clone())?)?;
    // A bad history file is the user's mistake: say so before the run, not after it.
    let history = secretbench::report::history(&args.report_history)?;
    let started_at = runner::timeline::now();
    let providers: Vec<Provider> = args.providers.iter().map(|&p| p.into()).collect();
    let stack = Stack::locate()?;
    // Built (when not cached yet) before the cluster is touched: a cold build takes minutes. Not
    // needed when the run has no Vault cases.
    let vault_cases = providers.is_empty() || providers.contains(&Provider::Vault);
    let real_vault = match args.vault {
        VaultArg::Real if vault_cases => Some(secretbench::realvault::ensure_binary(&stack).await?),
        VaultArg::Real | VaultArg::Emulator => None,
    };
    let up = args.install.options(&stack)?;
    let current = match (&up.versions, bring_up) {
        (Some(set), _) => Some(set.clone()),
        // e2e always brings the plan up to date: the pins.
        (None, true) => Some(VersionSet::pinned(stack.versions())?),
        (None, false) => None,
    };
    let cluster = Cluster::new(args.cluster.backend, stack.clone());
    let artifacts = runner::artifacts_root(&args.artifacts);
    let matrix = Matrix {
        cluster: &cluster,
        stack: &stack,
        up,
        bring_up,
        current,
        axes: args.matrix,
        picks: (!args.versions.is_empty()).then_some(args.versions),
        repeat: args.repeat,
        options: runner::Options {
            providers,
            snapshot_mode: snapshot::Mode::from_env(args.update_snapshots),
            artifacts: artifacts.clone(),
            rotation: std::time::Duration::ZERO,
            backend_name: cluster.name().to_owned(),
            running: VersionSet::default(),
            jobs: args.jobs.map_or_else(runner::default_jobs, usize::from),
        },
        run_dir: secretbench::cluster::host::StateDir::base_from_env().join("runs"),
        exe: std::env::current_exe().context("locating the secretbench binary")?,
        emulator_ports: args.emulator_ports.unwrap_or_default(),
        real_vault,
    };
    let ran = tokio::select! {
        r = matrix.run(&scenarios) => r?,
        signal = interrupted() => anyhow::bail!("run interrupted by {signal}; scenario namespaces named sb-* may remain"),
    };
    let results = ran.results;
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
            backend: cluster.name().to_owned(),
            running: ran.current,
            rotation: ran.rotation,
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn emulators_help_describes_every_listener() {
        let mut cmd = Cli::command();
        let help = cmd
            .find_subcommand_mut("emulators")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("--vault"), "{help}");
        assert!(!help.contains("not built"), "{help}");
    }

    #[test]
    fn errors_print_their_causes_once() {
        let inner = std::io::Error::other("disk full");
        let e = anyhow::Error::new(inner).context("writing x");
        assert_eq!(
            error_chain(&e),
            "error: writing x\n  caused by: disk full\n"
        );
        let e = anyhow::anyhow!("writing x: disk full").context("saving");
        assert_eq!(
            error_chain(&e),
            "error: saving\n  caused by: writing x: disk full\n"
        );
    }
}
