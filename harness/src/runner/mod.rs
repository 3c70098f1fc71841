//! The scenario runner: every scenario × provider in a fresh namespace, against the real
//! driver and providers and the emulators, with snapshots, a summary table, JUnit XML and, on
//! failure, an artifacts folder.
//!
//! - [`vars`]: `${name}` substitution.
//! - [`manifests`]: manifests → objects for one provider (namespace, SPC parameters, credentials).
//! - [`backend`]: calls to the emulators (service APIs and the admin API).
//! - [`tenancy`]: a case's own AWS account, Key Vault and Vault namespace, so cases run at once.
//! - [`exec`]: the operations of a step.
//! - [`values`]: what `capture` and `check` compare, and the Prometheus text format.
//! - [`snapshot`]: redaction and `.snap` files.
//! - [`artifacts`]: diagnostics collected on failure.
//! - [`report`]: the table and JUnit.
//! - [`timeline`]: what each case did and saw, when (for the run report, [`crate::report`]).

pub mod artifacts;
pub mod backend;
pub mod estimate;
pub mod exec;
pub mod manifests;
pub mod matrix;
pub mod report;
pub mod snapshot;
pub mod tenancy;
pub mod timeline;
pub mod values;
pub mod vars;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use serde_json::json;

use crate::cluster::Progress;
use crate::kubectl::Kubectl;
use crate::realvault::RealVault;
use crate::report::model::{SpanKind, Timeline};
use crate::scenario::model::{Binding, Identity, Op, Outcome, Provider, Scenario};
use crate::scenario::{Loaded, lint};
use crate::wiring::{self, Endpoints, IdentityPath, Wiring};
use backend::Backend;
use exec::{Case, Failure};
use manifests::Shaping;
use tenancy::Tenants;
use vars::Vars;

/// How a scenario × provider run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed {
        step: String,
        message: String,
    },
    /// `expect: fail` and the named step failed: the bug is still there.
    StillReproduces {
        step: String,
        message: String,
    },
    /// `expect: fail` and every step passed: the bug is gone in these versions.
    NoLongerReproduces,
    /// One run of a repro whose trigger step (`expect.trigger`) failed: the race did not go
    /// the bug's way, so the run says nothing of the bug and is tried again ([`run_unit`]).
    NotTriggered {
        step: String,
        message: String,
    },
    /// No run got past the trigger step in all its attempts: neither a reproduction nor a
    /// fix, and no error of the bench either.
    Inconclusive {
        step: String,
        attempts: u32,
        /// Why the trigger step failed in the last attempt.
        message: String,
    },
    Skipped(String),
}

impl Verdict {
    /// Whether the suite may still exit 0.
    pub fn ok(&self) -> bool {
        !matches!(self, Verdict::Failed { .. })
    }

    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Passed => "pass",
            Verdict::Failed { .. } => "FAIL",
            Verdict::StillReproduces { .. } => "still reproduces",
            Verdict::NoLongerReproduces => "no longer reproduces",
            Verdict::NotTriggered { .. } => "not triggered",
            Verdict::Inconclusive { .. } => "inconclusive",
            Verdict::Skipped(_) => "skipped",
        }
    }

    /// A run that set the bug up, or a case that did not try to: everything but
    /// [`Verdict::NotTriggered`] (and [`Verdict::Inconclusive`], which only sums those up).
    pub fn triggered(&self) -> bool {
        !matches!(
            self,
            Verdict::NotTriggered { .. } | Verdict::Inconclusive { .. }
        )
    }
}

/// One scenario × provider result.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub scenario: String,
    pub provider: Provider,
    pub verdict: Verdict,
    pub duration: Duration,
    /// Step id → how long it took.
    pub steps: Vec<(String, Duration)>,
    /// New or updated snapshots, version notes.
    pub notes: Vec<String>,
    pub artifacts: Option<PathBuf>,
    /// What ran (`driver v1.6.0, azure v1.8.2`); filled in by [`matrix`].
    pub versions: String,
    /// How the runs went when the case was repeated ([`matrix`]).
    pub tally: Option<matrix::Tally>,
    /// What happened when (absent for skipped cases).
    pub timeline: Option<Timeline>,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Only these providers (empty: every provider a scenario names).
    pub providers: Vec<Provider>,
    pub snapshot_mode: snapshot::Mode,
    /// Where artifacts folders go (one per failed case).
    pub artifacts: PathBuf,
    /// The driver's rotation poll interval (deadlines `rotation + ...` derive from it).
    pub rotation: Duration,
    pub backend_name: String,
    /// What the cluster runs: the driver's version and each provider's (for repro notes).
    pub running: RunningVersions,
    /// How many cases run at the same time (`--jobs`; 1: one after another).
    pub jobs: usize,
}

/// `--jobs` when not given: cases spend most of their time waiting on the cluster (a pod
/// starting, the rotation poll), not on this machine. Measured on 2 cores, three providers,
/// 79 cases: 16 jobs ran the suite in 4 min 30 s to 4 min 50 s over four runs, 8 in 6 min 18 s
/// (measured before exclusive cases stopped holding up other providers'), one after another
/// in 29 min 8 s, with the same verdicts.
pub fn default_jobs() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    (cores * 8).clamp(2, MAX_JOBS)
}

/// At most this many cases at once: each needs a Key Vault name the Azure provider's pods
/// resolve, from a fixed pool.
pub const MAX_JOBS: usize = wiring::azure::CASE_VAULTS;

/// The driver and provider versions the cluster runs (read from its DaemonSets).
pub type RunningVersions = crate::install::VersionSet;

/// The cluster and emulators a run uses, wired once.
#[derive(Debug)]
pub struct Environment {
    pub kubectl: Kubectl,
    pub backend: Backend,
    /// The emulator address pods are told.
    pub host: String,
    /// Wired providers; a provider missing here is in `unavailable`.
    pub wirings: BTreeMap<Provider, Wiring>,
    pub unavailable: BTreeMap<Provider, Unavailable>,
    /// The emulators' addresses as pods reach them, for every scenario whatever its provider
    /// ([`emulator_vars`]).
    pub emulator_vars: BTreeMap<String, String>,
    /// The Key Vault listener's port, in the per-case vault's URL ([`key_vault_vars`]).
    pub azure_port: u16,
    /// `--vault real`: the Vault scenarios' backend is this dev server, not the emulator
    /// (the `endpoints` given to [`Environment::prepare`] already name it).
    pub real_vault: Option<RealVault>,
}

/// Why a provider's cases cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// Not installed in the cluster: its cases are skipped, with how to add it.
    NotInstalled(String),
    /// Installed, but wiring it to the emulators failed: its cases fail.
    WiringFailed(String),
}

impl Unavailable {
    /// The verdict every case of that provider gets.
    pub fn verdict(&self) -> Verdict {
        match self {
            Unavailable::NotInstalled(why) => Verdict::Skipped(why.clone()),
            Unavailable::WiringFailed(why) => Verdict::Failed {
                step: "wiring".to_owned(),
                message: why.clone(),
            },
        }
    }
}

impl Environment {
    /// Wires each provider the backend installed (and the run wants) to the emulators.
    pub async fn prepare(
        kubectl: Kubectl,
        address: &crate::cluster::EmulatorAddress,
        endpoints: &Endpoints,
        installed: &[Provider],
        wanted: &[Provider],
        backend_name: &str,
        real_vault: Option<RealVault>,
    ) -> anyhow::Result<Self> {
        let mut wirings = BTreeMap::new();
        let mut unavailable = BTreeMap::new();
        // Pods are told the advertised address; the harness's own calls use the local one.
        let host = address.advertise.to_string();
        let local = address.local().to_string();
        let ctx = wiring::WireCtx {
            kubectl: &kubectl,
            host: &host,
            endpoints,
        };
        for p in Provider::ALL {
            if !wanted.is_empty() && !wanted.contains(&p) {
                continue;
            }
            if !installed.contains(&p) {
                unavailable.insert(p, Unavailable::NotInstalled(not_installed(p, backend_name)));
                continue;
            }
            match wiring::wire(p, &ctx).await {
                Ok(w) => {
                    wirings.insert(p, w);
                }
                Err(e) => {
                    unavailable.insert(
                        p,
                        Unavailable::WiringFailed(format!("wiring the {p} provider failed: {e}")),
                    );
                }
            }
        }
        let region = wirings
            .values()
            .find_map(|w| w.vars.get("awsRegion").cloned())
            .unwrap_or_else(|| "us-east-1".to_owned());
        let backend = Backend::new(endpoints.clone(), &local, &region)?;
        let emulator_vars = emulator_vars(&host, endpoints);
        let azure_port = wiring::ready_port(&endpoints.azure_url, wiring::emulators::AZURE_PORT);
        Ok(Self {
            kubectl,
            backend,
            host,
            wirings,
            unavailable,
            emulator_vars,
            azure_port,
            real_vault,
        })
    }

    /// Emulators back to empty, then every wiring's seed; under `--vault real` the Vault
    /// wiring's seed goes to a restarted dev server through its HTTP API instead.
    async fn fresh_backend(&self) -> Result<(), Failure> {
        self.backend.reset().await?;
        for (p, w) in &self.wirings {
            match (p, &self.real_vault) {
                (Provider::Vault, Some(real)) => real
                    .reset_and_seed(&w.seed)
                    .await
                    .map_err(|e| Failure::new(e.to_string()))?,
                _ => self.backend.seed(&w.seed).await?,
            }
        }
        Ok(())
    }

    /// `provider`'s emulator defaults back to empty, then its wiring's seed (the other
    /// providers' cases go on meanwhile, in their own tenants); under `--vault real` the Vault
    /// dev server restarted with the Vault wiring's seed.
    async fn fresh_provider(&self, provider: Provider) -> Result<(), Failure> {
        let Some(w) = self.wirings.get(&provider) else {
            return Ok(());
        };
        if let (Provider::Vault, Some(real)) = (provider, &self.real_vault) {
            return real
                .reset_and_seed(&w.seed)
                .await
                .map_err(|e| Failure::new(e.to_string()));
        }
        let default = match provider {
            Provider::Aws => format!("aws/{}", wiring::aws::ACCOUNT_ID),
            Provider::Azure => format!("azure/{}", wiring::azure::VAULT),
            Provider::Vault => "vault/root".to_owned(),
        };
        self.backend.reset_tenant(&default).await?;
        self.backend.seed(&w.seed).await?;
        Ok(())
    }

    /// Why a case must run alone among its provider's cases, if it must: the scenario says
    /// so, or it is a Vault case against a real dev server (one server, no namespaces,
    /// restarted for each case).
    fn exclusive(&self, sc: &Scenario, provider: Provider) -> Option<String> {
        sc.spec.exclusive.clone().or_else(|| {
            (provider == Provider::Vault && self.real_vault.is_some())
                .then(|| "--vault real: one Vault dev server, reset for each case".to_owned())
        })
    }

    /// A case's tenants, empty of anything from before, seeded like the emulators' defaults.
    async fn fresh_tenants(&self, tenants: &Tenants) -> Result<(), Failure> {
        self.drop_tenants(tenants).await?;
        for t in tenants.all() {
            self.backend.create_tenant(&t.id()).await?;
        }
        for (t, doc) in tenants.seeds(&self.wirings) {
            self.backend.seed_tenant(Some(&t.id()), &doc).await?;
        }
        Ok(())
    }

    async fn drop_tenants(&self, tenants: &Tenants) -> Result<(), Failure> {
        for t in tenants.all() {
            self.backend.drop_tenant(&t.id()).await?;
        }
        Ok(())
    }

    /// The verdict of a case that cannot run here, if it cannot: its provider is not installed
    /// (skipped) or not wired (failed), its identity path is missing, or the scenario needs an
    /// emulator feature the real Vault server does not have.
    fn settled(&self, sc: &Scenario, provider: Provider) -> Option<Verdict> {
        if let Some(why) = self.unavailable.get(&provider) {
            return Some(why.verdict());
        }
        if let Some(why) = identity_unavailable(self, sc, provider) {
            return Some(Verdict::Skipped(why));
        }
        if provider == Provider::Vault && self.real_vault.is_some() {
            return emulator_features(sc).map(|f| {
                Verdict::Skipped(format!(
                    "uses {f}, an emulator feature that real Vault (--vault real) does not have"
                ))
            });
        }
        None
    }
}

/// The built-in variables naming each emulated service as pods reach it, written the way a
/// client of that service is pointed at a private endpoint:
/// - `awsEndpoint`, and per service `awsSecretsManagerEndpoint`, `awsSsmEndpoint`,
///   `awsStsEndpoint` (the values of `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `_SSM`, `_STS`; one
///   listener serves all three, over plain HTTP);
/// - `vaultAddress` (`VAULT_ADDR`, SPC `vaultAddress`);
/// - `azureLoginHost` and `azureAuthorityHost` (`AZURE_AUTHORITY_HOST`, the custom cloud's
///   `activeDirectoryEndpoint`: Entra ID's token and discovery endpoints; the tenant `adfs`
///   follows it);
/// - `emulatorHost`: the address all of them listen on, for a pod's `hostAliases` (the Azure
///   names resolve nowhere else).
///
/// The case's Key Vault comes with its tenant: [`key_vault_vars`].
pub fn emulator_vars(host: &str, endpoints: &Endpoints) -> BTreeMap<String, String> {
    let aws = wiring::emulator_url(
        "http",
        host,
        &endpoints.aws_url,
        wiring::emulators::AWS_PORT,
    );
    let vault = wiring::emulator_url(
        "http",
        host,
        &endpoints.vault_url,
        wiring::emulators::VAULT_PORT,
    );
    let azure_port = wiring::ready_port(&endpoints.azure_url, wiring::emulators::AZURE_PORT);
    let mut vars = BTreeMap::new();
    for name in [
        "awsEndpoint",
        "awsSecretsManagerEndpoint",
        "awsSsmEndpoint",
        "awsStsEndpoint",
    ] {
        vars.insert(name.to_owned(), aws.clone());
    }
    vars.insert("vaultAddress".to_owned(), vault);
    vars.insert(
        "azureLoginHost".to_owned(),
        wiring::azure::LOGIN_HOST.to_owned(),
    );
    vars.insert(
        "azureAuthorityHost".to_owned(),
        format!("https://{}:{azure_port}/", wiring::azure::LOGIN_HOST),
    );
    vars.insert("emulatorHost".to_owned(), host.to_owned());
    vars
}

/// The Key Vault `vault` as pods name it: `azureKeyVaultHost` (its DNS name, for
/// `hostAliases`) and `azureKeyVaultUrl` (its vault URI, `https://<name>.<suffix>:<port>/`, as
/// the portal shows it and the SDKs take it; the Azure provider builds the same from
/// `keyvaultName` and the cloud's DNS suffix).
pub fn key_vault_vars(vault: &str, azure_port: u16) -> BTreeMap<String, String> {
    let host = wiring::azure::vault_host(vault);
    BTreeMap::from([
        (
            "azureKeyVaultUrl".to_owned(),
            format!("https://{host}:{azure_port}/"),
        ),
        ("azureKeyVaultHost".to_owned(), host),
    ])
}

/// The emulator-only operations a scenario uses (fault rules, journal asserts, database
/// credentials without a database), named for a skip reason; `collect: [journal]` is
/// diagnostics and needs none of them.
pub fn emulator_features(sc: &Scenario) -> Option<String> {
    let ops = sc
        .spec
        .steps
        .iter()
        .flat_map(|s| s.try_.iter().chain(&s.catch).chain(&s.finally))
        .chain(&sc.spec.catch)
        .chain(&sc.spec.finally);
    let (mut faults, mut journal) = (false, false);
    // A real Vault makes database credentials by running the role's statements in the
    // database; the bench runs none, so only the emulator can answer `creds/<role>`.
    let mut database = sc
        .spec
        .bindings
        .get(&Provider::Vault)
        .is_some_and(|b| b.actions.values().flatten().any(is_database_action));
    for op in ops {
        match op {
            Op::Faults(_) => faults = true,
            Op::Journal(_) => journal = true,
            Op::Backend(a) if is_database_action(a) => database = true,
            _ => {}
        }
    }
    let mut features = Vec::new();
    if faults {
        features.push("fault injection");
    }
    if journal {
        features.push("the request journal");
    }
    if database {
        features.push("database credentials without a database");
    }
    match features.as_slice() {
        [] => None,
        [one] => Some((*one).to_owned()),
        [init @ .., last] => Some(format!("{} and {last}", init.join(", "))),
    }
}

fn is_database_action(a: &crate::scenario::model::BackendAction) -> bool {
    use crate::scenario::model::BackendAction as A;
    matches!(a, A::VaultDatabaseConfig(_) | A::VaultDatabaseRole(_))
}

/// The note of a skipped case: the provider is not in the cluster, and how to add it.
pub fn not_installed(p: Provider, backend_name: &str) -> String {
    match (p, backend_name) {
        (Provider::Azure, "host") => {
            "the azure provider is not installed on the host backend (it comes from the offline stack: `just up`)".to_owned()
        }
        (_, "host" | "kind") => format!(
            "the {p} provider is not installed on the {backend_name} backend: bring its image and chart in a bundle (`--bundle DIR`, README \"Bundles\")"
        ),
        _ => format!(
            "no {p} provider DaemonSet in the cluster: install it, or `up --install [--bundle DIR]` (README \"Backends\")"
        ),
    }
}

/// Loads and lints scenario files; any problem stops the run before it touches the cluster.
pub fn load(paths: &[PathBuf]) -> anyhow::Result<Vec<Loaded>> {
    let report = lint::lint_paths(paths);
    if !report.is_clean() {
        anyhow::bail!("the scenarios have problems; fix them first:\n{report}");
    }
    let mut out = Vec::new();
    for (file, _) in &report.files {
        match crate::scenario::load_file(file) {
            Ok(l) => out.push(l),
            Err(d) => anyhow::bail!(
                "{}",
                d.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }
    Ok(out)
}

/// The driver's default `--rotation-poll-interval`.
const DRIVER_DEFAULT_ROTATION: Duration = Duration::from_secs(120);

/// The rotation poll interval the installed driver runs with, from its DaemonSet's arguments
/// (the driver's default when the flag is absent). `Err` when no driver DaemonSet is found.
pub fn rotation_interval(
    daemonsets: &[crate::cluster::existing::DaemonSetInfo],
) -> anyhow::Result<Duration> {
    let driver = crate::cluster::existing::find_driver(daemonsets)
        .ok_or_else(|| anyhow::anyhow!("no Secrets Store CSI Driver DaemonSet in the cluster"))?;
    rotation_from_args(&driver.driver_args)
}

/// `--rotation-poll-interval=D` among the driver's arguments, else its default.
pub fn rotation_from_args(args: &[String]) -> anyhow::Result<Duration> {
    match args
        .iter()
        .find_map(|a| a.strip_prefix("--rotation-poll-interval="))
    {
        Some(v) => crate::scenario::duration::parse_duration(v)
            .map_err(|e| anyhow::anyhow!("driver flag --rotation-poll-interval={v}: {e}")),
        None => Ok(DRIVER_DEFAULT_ROTATION),
    }
}

/// `sb-<scenario>-<provider>`, cut to a DNS label.
pub fn namespace_for(scenario: &str, provider: Provider) -> String {
    let mut ns = format!("sb-{scenario}-{provider}");
    if ns.len() > 63 {
        ns = format!(
            "sb-{}-{provider}",
            &scenario[..63 - 4 - provider.as_str().len()]
        );
    }
    ns.trim_end_matches('-').to_owned()
}

/// One scenario × provider, run `times` times one after another (the runs share its
/// namespace, so they never overlap); a repro with a trigger step gets up to `attempts` runs
/// per counted run ([`run_unit`]).
#[derive(Debug, Clone, Copy)]
pub struct Unit<'a> {
    pub loaded: &'a Loaded,
    pub provider: Provider,
    pub times: u32,
}

impl Unit<'_> {
    /// How long all its runs are expected to take (repro attempts not counted: most trigger).
    pub fn expected(&self, rotation: Duration) -> Duration {
        estimate::expected(&self.loaded.scenario, rotation) * self.times
    }
}

/// Runs every case once, up to `opts.jobs` at a time; results in the scenarios' order.
pub async fn run_all(env: &Environment, scenarios: &[Loaded], opts: &Options) -> Vec<CaseResult> {
    let units: Vec<Unit<'_>> = scenarios
        .iter()
        .flat_map(|loaded| {
            loaded
                .scenario
                .spec
                .providers
                .iter()
                .filter(|p| opts.providers.is_empty() || opts.providers.contains(p))
                .map(move |&provider| Unit {
                    loaded,
                    provider,
                    times: 1,
                })
        })
        .collect();
    run_units(env, &units, opts)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// What concurrent cases share: who may run (one gate per provider: a case that must run
/// alone takes its provider's for writing, the others for reading; tokio's lock is fair, so
/// cases start in order), the Key Vault slots, and the case counter that numbers AWS accounts.
struct Schedule {
    gates: [tokio::sync::RwLock<()>; 3],
    slots: Mutex<Vec<usize>>,
    cases: AtomicUsize,
    progress: Mutex<Progress>,
}

impl Schedule {
    fn gate(&self, provider: Provider) -> &tokio::sync::RwLock<()> {
        &self.gates[Provider::ALL
            .iter()
            .position(|p| *p == provider)
            .unwrap_or_default()]
    }

    fn step(&self, msg: impl std::fmt::Display) {
        if let Ok(mut p) = self.progress.lock() {
            p.step(msg);
        }
    }

    /// A free slot. There are as many as cases may run at once, so one is always free; the
    /// fallback only keeps a broken invariant from taking the run down.
    fn take_slot(&self) -> usize {
        self.slots
            .lock()
            .ok()
            .and_then(|mut s| s.pop())
            .unwrap_or(MAX_JOBS - 1)
    }

    fn give_slot(&self, slot: usize) {
        if let Ok(mut s) = self.slots.lock() {
            s.push(slot);
        }
    }
}

/// Runs every unit, up to `opts.jobs` cases at a time; one list of results per unit, in the
/// units' order whatever order they finished in.
pub async fn run_units(
    env: &Environment,
    units: &[Unit<'_>],
    opts: &Options,
) -> Vec<Vec<CaseResult>> {
    let jobs = opts.jobs.clamp(1, MAX_JOBS);
    let sched = Schedule {
        gates: Default::default(),
        slots: Mutex::new((0..jobs).rev().collect()),
        cases: AtomicUsize::new(0),
        progress: Mutex::new(Progress::new("run")),
    };
    // Nothing of an earlier run (state dirs persist) may reach the first cases.
    if let Err(e) = env.fresh_backend().await {
        let why = Verdict::Failed {
            step: "setup".to_owned(),
            message: format!("resetting the emulators: {e}"),
        };
        return units
            .iter()
            .map(|u| vec![not_run(u, why.clone())])
            .collect();
    }
    let mut out: Vec<(usize, Vec<CaseResult>)> =
        futures::stream::iter(start_order(env, units, opts.rotation))
            .map(|(i, unit)| {
                let sched = &sched;
                async move { (i, run_unit(env, unit, opts, sched).await) }
            })
            .buffer_unordered(jobs)
            .collect()
            .await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// The order units start in: the ones that must run alone first (one started among others
/// waits for every running case to end while the free slots idle; at the start there is
/// nothing to wait for), then the longest expected first, so no long case starts at the end
/// and holds the run up alone. Equal estimates keep the scenarios' order.
fn start_order<'u, 'a>(
    env: &Environment,
    units: &'u [Unit<'a>],
    rotation: Duration,
) -> Vec<(usize, &'u Unit<'a>)> {
    let mut order: Vec<(usize, &Unit<'_>)> = units.iter().enumerate().collect();
    order.sort_by_key(|(_, u)| {
        let alone = env.exclusive(&u.loaded.scenario, u.provider).is_some();
        (!alone, std::cmp::Reverse(u.expected(rotation)))
    });
    order
}

fn not_run(unit: &Unit<'_>, verdict: Verdict) -> CaseResult {
    CaseResult {
        scenario: unit.loaded.scenario.metadata.name.clone(),
        provider: unit.provider,
        verdict,
        duration: Duration::ZERO,
        steps: Vec::new(),
        notes: Vec::new(),
        artifacts: None,
        versions: String::new(),
        tally: None,
        timeline: None,
    }
}

async fn run_unit(
    env: &Environment,
    unit: &Unit<'_>,
    opts: &Options,
    sched: &Schedule,
) -> Vec<CaseResult> {
    let sc = &unit.loaded.scenario;
    let name = &sc.metadata.name;
    if let Some(verdict) = env.settled(sc, unit.provider) {
        return vec![not_run(unit, verdict)];
    }
    let alone = env.exclusive(sc, unit.provider);
    let attempts = sc.spec.expect.as_ref().map_or(1, |e| e.attempts());
    // A run whose trigger step failed did not set the bug up: the case runs again, like a
    // repeat (fresh namespace and tenants), until `times` runs got past the trigger. The
    // attempts are pooled over the runs (`times` × `attempts` in all), so a run that triggers
    // at once leaves its unused attempts to the next one: with a rarely won race, more of the
    // wanted runs count for the same worst-case cost.
    let budget = unit.times.saturating_mul(attempts);
    let mut results = Vec::new();
    let (mut triggered, mut used, mut a) = (0, 0, 0);
    while triggered < unit.times && used < budget {
        used += 1;
        a += 1;
        let k = triggered + 1;
        let mut o = opts.clone();
        if unit.times > 1 {
            o.artifacts = o.artifacts.join(format!("run-{k}"));
        }
        if a > 1 {
            o.artifacts = o.artifacts.join(format!("attempt-{a}"));
        }
        let result = run_once(env, unit, &o, sched, alone.as_deref()).await;
        let mut label = match unit.times {
            1 => String::new(),
            n => format!(" (run {k} of {n})"),
        };
        if attempts > 1 {
            label.push_str(&format!(" attempt {used} of {budget}"));
        }
        sched.step(format!(
            "{name}/{}{label}: {}",
            unit.provider,
            result.verdict.label()
        ));
        if result.verdict.triggered() {
            triggered += 1;
            a = 0;
        }
        results.push(result);
    }
    results
}

/// One run of a unit's case: alone (the gate taken for writing, the emulators reset) or
/// beside others in its own tenants.
async fn run_once(
    env: &Environment,
    unit: &Unit<'_>,
    o: &Options,
    sched: &Schedule,
    alone: Option<&str>,
) -> CaseResult {
    let name = &unit.loaded.scenario.metadata.name;
    match alone {
        Some(why) => {
            let _alone = sched.gate(unit.provider).write().await;
            sched.step(format!(
                "{name}/{}: runs alone among {} cases ({why})",
                unit.provider, unit.provider
            ));
            let fresh = async {
                env.fresh_provider(unit.provider).await?;
                env.backend.journal_head().await.map_err(Failure::from)
            };
            match fresh.await {
                Ok(since) => {
                    let alone = Isolation::Alone { since };
                    run_case(env, unit.loaded, unit.provider, o, alone, sched).await
                }
                Err(e) => not_run(
                    unit,
                    Verdict::Failed {
                        step: "setup".to_owned(),
                        message: format!("resetting the emulators: {e}"),
                    },
                ),
            }
        }
        None => {
            let _shared = sched.gate(unit.provider).read().await;
            let slot = sched.take_slot();
            let index = sched.cases.fetch_add(1, Ordering::Relaxed);
            let tenants = Tenants::new(
                index,
                slot,
                &namespace_for(name, unit.provider),
                env.real_vault.is_none(),
            );
            let own = Isolation::Tenants(&tenants);
            let r = run_case(env, unit.loaded, unit.provider, o, own, sched).await;
            sched.give_slot(slot);
            r
        }
    }
}

/// The binding's identity path, or the wiring's default, and what it sets.
fn identity_path<'w>(
    wiring: &'w Wiring,
    binding: &Binding,
    provider: Provider,
) -> Result<Option<(Identity, &'w IdentityPath)>, String> {
    let Some(identity) = binding.identity.or(wiring.default_identity) else {
        return Ok(None);
    };
    match wiring.identities.get(&identity) {
        Some(path) => Ok(Some((identity, path))),
        None => Err(format!(
            "the {provider} wiring has no identity path `{identity}`"
        )),
    }
}

/// Why the identity path a case takes cannot run on this cluster, if it cannot.
fn identity_unavailable(env: &Environment, sc: &Scenario, provider: Provider) -> Option<String> {
    let wiring = env.wirings.get(&provider)?;
    let binding = sc.spec.bindings.get(&provider)?;
    let (identity, path) = identity_path(wiring, binding, provider).ok()??;
    path.unavailable
        .as_ref()
        .map(|why| format!("identity {identity}: {why}"))
}

/// How a case is kept apart from the others.
#[derive(Debug, Clone, Copy)]
enum Isolation<'t> {
    /// In its own tenants, beside other cases.
    Tenants(&'t Tenants),
    /// On its provider's emulator defaults, with no other case of its provider running; it
    /// reads the journal after sequence number `since`.
    Alone { since: u64 },
}

/// One run of one case, kept apart from the others as `isolation` says.
async fn run_case(
    env: &Environment,
    loaded: &Loaded,
    provider: Provider,
    opts: &Options,
    isolation: Isolation<'_>,
    sched: &Schedule,
) -> CaseResult {
    let tenants = match isolation {
        Isolation::Tenants(t) => Some(t),
        Isolation::Alone { .. } => None,
    };
    let t0 = Instant::now();
    let sc: &Scenario = &loaded.scenario;
    let name = sc.metadata.name.clone();
    let namespace = namespace_for(&name, provider);
    let mut notes = Vec::new();
    if let Some(v) = &sc.spec.versions {
        let diff = opts.running.differences(v, provider);
        if !diff.is_empty() {
            notes.push(format!("reported on {}", diff.join(", ")));
        }
    }
    let empty = Wiring::default();
    let wiring = env.wirings.get(&provider).unwrap_or(&empty);
    let default_binding = Default::default();
    let binding = sc.spec.bindings.get(&provider).unwrap_or(&default_binding);

    let mut vars = Vars::new();
    vars.extend(&env.emulator_vars);
    for w in env.wirings.values() {
        vars.extend(&w.vars);
    }
    vars.extend(&wiring.vars);
    if let Some(t) = tenants {
        vars.extend(&t.vars());
    }
    let case_vault = vars
        .get("azureVault")
        .unwrap_or(wiring::azure::VAULT)
        .to_owned();
    vars.extend(&key_vault_vars(&case_vault, env.azure_port));
    vars.set("namespace", namespace.clone());
    vars.set("provider", provider.as_str());
    vars.set("scenario", name.clone());
    vars.extend(&binding.vars);

    let mut parameters = wiring.parameters.clone();
    if let Some(t) = tenants {
        parameters.extend(t.parameters(provider));
    }
    let mut param_error = None;
    match identity_path(wiring, binding, provider) {
        Ok(Some((_, path))) => parameters.extend(path.parameters.clone()),
        Ok(None) => {}
        Err(e) => param_error = Some(e),
    }
    for (k, v) in &binding.parameters {
        match vars.expand(v) {
            Ok(v) => {
                parameters.insert(k.clone(), v);
            }
            Err(e) => param_error = Some(e.to_string()),
        }
    }
    let source = loaded.file.display().to_string();
    // The cluster's issuer differs by backend; snapshots name it by role.
    let issuer = vars.get("awsOidcIssuer").unwrap_or_default().to_owned();
    // A case's own account and vault read as the emulators' defaults, so a snapshot holds
    // whether the case ran alone or beside others.
    let (account, vault) = match tenants {
        Some(t) => (
            t.account().to_owned(),
            t.azure.keyvault_name().unwrap_or_default().to_owned(),
        ),
        None => (String::new(), String::new()),
    };
    let redactor = match snapshot::Redactor::new(&namespace) {
        Ok(r) => r
            .with_hmac_versions(provider == Provider::Vault)
            .with_value(&issuer, "[oidc-issuer]")
            .with_value(&account, wiring::aws::ACCOUNT_ID)
            .with_value(&vault, wiring::azure::VAULT),
        Err(e) => {
            return finished(
                &name,
                provider,
                t0,
                Verdict::Failed {
                    step: "setup".into(),
                    message: e.to_string(),
                },
                vec![],
                notes,
                None,
            );
        }
    };
    let artifacts = opts.artifacts.join(format!("{name}-{provider}"));
    let scoped = match isolation {
        Isolation::Tenants(t) => env.backend.scoped(t),
        Isolation::Alone { since } => env.backend.alone(provider, since),
    };
    let mut case = Case {
        kubectl: &env.kubectl,
        backend: &scoped,
        namespace: namespace.clone(),
        dir: loaded.dir.clone(),
        vars,
        binding,
        shaping: Shaping {
            namespace: namespace.clone(),
            provider: provider.as_str().to_owned(),
            parameters,
            node_publish_secret: wiring.node_publish_secret.as_ref().map(|s| s.name.clone()),
        },
        snapshots: snapshot::Snapshots::new(
            &loaded.dir,
            &source,
            provider.as_str(),
            opts.snapshot_mode,
        ),
        redactor,
        rotation: opts.rotation,
        artifacts: artifacts.clone(),
        applied: Vec::new(),
        extra_namespaces: Vec::new(),
        notes: Vec::new(),
        timeline: timeline::Recorder::new(&namespace),
        started: time::OffsetDateTime::now_utc(),
    };

    let mut steps = Vec::new();
    let mut failed: Option<(String, String)> = param_error.map(|e| ("setup".to_owned(), e));
    if failed.is_none() {
        let span = case.timeline.begin(SpanKind::Setup, "setup", String::new());
        let result = match tenants {
            Some(t) => env.fresh_tenants(t).await,
            None => Ok(()),
        };
        let result = match result {
            Ok(()) => setup(env, &mut case, wiring).await,
            Err(e) => Err(e),
        };
        case.timeline
            .end(span, result.as_ref().err().map(|e| e.0.as_str()));
        if let Err(e) = result {
            failed = Some(("setup".to_owned(), e.to_string()));
        }
    }
    if failed.is_none() {
        for (i, step) in sc.spec.steps.iter().enumerate() {
            let id = step.id.clone().unwrap_or_else(|| format!("step-{}", i + 1));
            let ts = Instant::now();
            let span = case.timeline.begin(
                SpanKind::Step,
                &id,
                step.description.clone().unwrap_or_default(),
            );
            sched.step(format!("{name}/{provider}: {id}"));
            let mut result = run_ops(&mut case, &step.try_).await;
            if result.is_err() {
                let _ = run_ops(&mut case, &step.catch).await;
            }
            let fin = run_ops(&mut case, &step.finally).await;
            if result.is_ok() {
                result = fin;
            }
            steps.push((id.clone(), ts.elapsed()));
            case.timeline
                .end(span, result.as_ref().err().map(|e| e.0.as_str()));
            if let Err(e) = result {
                failed = Some((id, e.0));
                break;
            }
        }
    }
    // A run stopped by its trigger step went wrong in no way worth diagnostics: the race it
    // needs went the other way, and the case runs again.
    let untriggered = matches!(
        (&failed, sc.spec.expect.as_ref().and_then(|e| e.trigger.as_ref())),
        (Some((step, _)), Some(trigger)) if step == trigger
    );
    if failed.is_some() && !untriggered && !sc.spec.catch.is_empty() {
        let span = case
            .timeline
            .begin(SpanKind::Cleanup, "catch", String::new());
        let result = run_ops(&mut case, &sc.spec.catch).await;
        case.timeline
            .end(span, result.as_ref().err().map(|e| e.0.as_str()));
    }
    if !sc.spec.finally.is_empty() {
        let span = case
            .timeline
            .begin(SpanKind::Cleanup, "finally", String::new());
        let result = run_ops(&mut case, &sc.spec.finally).await;
        case.timeline
            .end(span, result.as_ref().err().map(|e| e.0.as_str()));
        if let Err(e) = result
            && failed.is_none()
        {
            failed = Some(("finally".to_owned(), e.0));
        }
    }
    let verdict = judge(sc, failed);
    let mut kept = None;
    if matches!(verdict, Verdict::Failed { .. }) {
        use crate::scenario::model::Collect;
        artifacts::collect(
            &case,
            &[
                Collect::Events,
                Collect::Describe,
                Collect::Logs,
                Collect::Journal,
            ],
        )
        .await;
        let _ = std::fs::write(artifacts.join("result.txt"), format!("{verdict:?}\n"));
        kept = Some(artifacts);
    }
    timeline::collect(&case).await;
    let span = case
        .timeline
        .begin(SpanKind::Teardown, "teardown", String::new());
    let result = teardown(&mut case).await;
    case.timeline
        .end(span, result.as_ref().err().map(|e| e.0.as_str()));
    if let Err(e) = result {
        notes.push(format!("cleanup: {e}"));
    }
    if let Some(t) = tenants
        && let Err(e) = env.drop_tenants(t).await
    {
        notes.push(format!("cleanup: dropping the case's tenants: {e}"));
    }
    notes.append(&mut case.notes);
    CaseResult {
        timeline: Some(case.timeline.finish()),
        ..finished(&name, provider, t0, verdict, steps, notes, kept)
    }
}

fn finished(
    name: &str,
    provider: Provider,
    t0: Instant,
    verdict: Verdict,
    steps: Vec<(String, Duration)>,
    notes: Vec<String>,
    artifacts: Option<PathBuf>,
) -> CaseResult {
    CaseResult {
        scenario: name.to_owned(),
        provider,
        verdict,
        duration: t0.elapsed(),
        steps,
        notes,
        artifacts,
        versions: String::new(),
        tally: None,
        timeline: None,
    }
}

/// Pass/fail against `spec.expect`.
pub fn judge(sc: &Scenario, failed: Option<(String, String)>) -> Verdict {
    let expect_fail = sc
        .spec
        .expect
        .as_ref()
        .filter(|e| e.outcome == Outcome::Fail);
    match (expect_fail, failed) {
        (None, None) => Verdict::Passed,
        (None, Some((step, message))) => Verdict::Failed { step, message },
        (Some(_), None) => Verdict::NoLongerReproduces,
        (Some(e), Some((step, message))) if e.trigger.as_ref() == Some(&step) => {
            Verdict::NotTriggered { step, message }
        }
        (Some(e), Some((step, message))) => match &e.step {
            Some(want) if *want != step => Verdict::Failed {
                step: step.clone(),
                message: format!(
                    "the bug is expected in step `{want}`, but step `{step}` failed: {message}"
                ),
            },
            _ => Verdict::StillReproduces { step, message },
        },
    }
}

async fn run_ops(case: &mut Case<'_>, ops: &[Op]) -> Result<(), Failure> {
    for op in ops {
        let op = case.vars.expand_typed(op)?;
        let span = case.timeline.begin_op(&op);
        let result = case.run(&op).await;
        case.timeline
            .end(span, result.as_ref().err().map(|e| e.0.as_str()));
        result?;
    }
    Ok(())
}

/// A fresh namespace (an old one from an interrupted run is removed first),
/// the wiring's objects and credentials.
async fn setup(env: &Environment, case: &mut Case<'_>, wiring: &Wiring) -> Result<(), Failure> {
    let api = env.kubectl.api().await?;
    let ns = case.namespace.clone();
    if api.get(None, "namespace", &ns).await?.is_some() {
        api.delete(None, "namespace", &ns).await?;
        wait_namespace_gone(&env.kubectl, &ns).await?;
    }
    api.apply(&json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ns, "labels": {"secretbench.dev/scenario": case.vars.get("scenario").unwrap_or_default()}}}))
        .await?;
    // Pods start once their ServiceAccount exists; the namespace's default one comes from the
    // controller-manager shortly after the namespace.
    api.wait_exists(
        Duration::from_secs(30),
        Some(&ns),
        "serviceaccount",
        "default",
    )
    .await?;
    for m in &wiring.namespace_manifests {
        let mut doc = case
            .vars
            .expand_value(m)
            .map_err(|e| Failure::new(e.to_string()))?;
        doc["metadata"]["namespace"] = json!(ns);
        api.apply(&doc).await?;
    }
    if let Some(secret) = &wiring.node_publish_secret {
        api.apply(&json!({
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": secret.name, "namespace": ns,
                // The driver only watches node-publish Secrets with this label (rotation).
                "labels": {"secrets-store.csi.k8s.io/used": "true"}},
            "stringData": secret.string_data,
        }))
        .await?;
    }
    Ok(())
}

/// Waits until the namespace is gone: everything in it deleted, its finalizers done.
async fn wait_namespace_gone(kubectl: &Kubectl, ns: &str) -> Result<(), Failure> {
    Ok(kubectl
        .api()
        .await?
        .wait_gone(Duration::from_secs(120), None, "namespace", ns)
        .await?)
}

/// Deletes what the scenario applied, newest first, then the namespace, and waits for it.
async fn teardown(case: &mut Case<'_>) -> Result<(), Failure> {
    let mut objects = std::mem::take(&mut case.applied);
    objects.reverse();
    case.delete_objects(&objects).await?;
    let mut namespaces = std::mem::take(&mut case.extra_namespaces);
    namespaces.push(case.namespace.clone());
    let api = case.kubectl.api().await?;
    for ns in &namespaces {
        api.delete(None, "namespace", ns).await?;
    }
    for ns in &namespaces {
        wait_namespace_gone(case.kubectl, ns).await?;
    }
    Ok(())
}

/// Where the run writes its artifacts: `artifacts/<UTC time>` under the current directory.
pub fn artifacts_root(base: &Path) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    base.join(format!("run-{stamp}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(expect: &str) -> Scenario {
        let text = format!(
            "apiVersion: secretbench.dev/v1alpha1\nkind: Scenario\nmetadata: {{name: x, description: d}}\n\
             spec:\n  providers: [azure]\n  bindings: {{azure: {{}}}}\n{expect}  steps: []\n"
        );
        crate::scenario::load_str(Path::new("x/scenario.yaml"), &text)
            .unwrap()
            .scenario
    }

    #[test]
    fn verdicts_follow_expect() {
        let plain = scenario("");
        assert_eq!(judge(&plain, None), Verdict::Passed);
        assert!(!judge(&plain, Some(("check".into(), "boom".into()))).ok());
        let bug = scenario("  expect: {outcome: fail, reason: r, step: check}\n");
        assert_eq!(judge(&bug, None), Verdict::NoLongerReproduces);
        assert!(matches!(
            judge(&bug, Some(("check".into(), "m".into()))),
            Verdict::StillReproduces { .. }
        ));
        let wrong = judge(&bug, Some(("deploy".into(), "pod not ready".into())));
        assert!(!wrong.ok());
        assert!(format!("{wrong:?}").contains("expected in step `check`"));
    }

    #[test]
    fn a_failed_trigger_step_is_no_verdict_on_the_bug() {
        let racy = scenario(
            "  expect: {outcome: fail, reason: r, step: check, trigger: raced}
",
        );
        let e = racy.spec.expect.as_ref().unwrap();
        assert_eq!(
            e.attempts(),
            crate::scenario::model::Expect::DEFAULT_ATTEMPTS
        );
        let missed = judge(&racy, Some(("raced".into(), "has an owner".into())));
        assert_eq!(
            missed,
            Verdict::NotTriggered {
                step: "raced".into(),
                message: "has an owner".into()
            }
        );
        assert!(
            missed.ok() && !missed.triggered(),
            "run again, fail nothing"
        );
        assert_eq!(missed.label(), "not triggered");
        // Past the trigger, the bug's step decides exactly as without one.
        assert!(matches!(
            judge(&racy, Some(("check".into(), "m".into()))),
            Verdict::StillReproduces { .. }
        ));
        assert_eq!(judge(&racy, None), Verdict::NoLongerReproduces);
        assert!(!judge(&racy, Some(("deploy".into(), "x".into()))).ok());
        let three = scenario(
            "  expect: {outcome: fail, reason: r, step: check, trigger: raced, attempts: 3}\n",
        );
        assert_eq!(three.spec.expect.as_ref().unwrap().attempts(), 3);
        let plain = scenario("  expect: {outcome: fail, reason: r, step: check}\n");
        assert_eq!(plain.spec.expect.as_ref().unwrap().attempts(), 1);
    }

    #[test]
    fn emulator_addresses_are_built_ins_lint_knows() {
        let endpoints = Endpoints {
            aws_url: "http://0.0.0.0:4570".into(),
            azure_url: "https://0.0.0.0:8444".into(),
            vault_url: "http://0.0.0.0:8201".into(),
            ..Endpoints::default()
        };
        let mut vars = emulator_vars("10.88.0.1", &endpoints);
        vars.extend(key_vault_vars("secretbench-3", 8444));
        assert_eq!(vars["awsSecretsManagerEndpoint"], "http://10.88.0.1:4570");
        assert_eq!(vars["awsStsEndpoint"], vars["awsEndpoint"]);
        assert_eq!(vars["vaultAddress"], "http://10.88.0.1:8201");
        assert_eq!(
            vars["azureKeyVaultUrl"],
            "https://secretbench-3.vault.kv.test:8444/"
        );
        assert_eq!(vars["azureKeyVaultHost"], "secretbench-3.vault.kv.test");
        assert_eq!(vars["azureAuthorityHost"], "https://login.kv.test:8444/");
        assert_eq!(vars["emulatorHost"], "10.88.0.1");
        for name in vars.keys() {
            assert!(
                crate::scenario::lint::BUILTIN_VARS.contains(&name.as_str()),
                "{name} is set by every run but lint does not know it"
            );
        }
    }

    #[test]
    fn real_vault_skips_what_only_the_emulator_has() {
        let with = |steps: &str| {
            let text = format!(
                "apiVersion: secretbench.dev/v1alpha1\nkind: Scenario\nmetadata: {{name: x, description: d}}\n\
                 spec:\n  providers: [vault]\n  bindings: {{vault: {{}}}}\n  steps:\n{steps}"
            );
            crate::scenario::load_str(Path::new("x/scenario.yaml"), &text)
                .unwrap()
                .scenario
        };
        let plain = with("    - id: a\n      try:\n        - collect: [journal]\n");
        assert_eq!(emulator_features(&plain), None);
        let journal = with(
            "    - id: a\n      try:\n        - journal: { service: vault, operation: kv2.read, within: 5s }\n",
        );
        assert_eq!(
            emulator_features(&journal).as_deref(),
            Some("the request journal")
        );
        let faults = with(
            "    - id: a\n      try:\n        - apply: { path: m.yaml }\n      finally:\n        - faults: { clear: {} }\n",
        );
        assert_eq!(
            emulator_features(&faults).as_deref(),
            Some("fault injection")
        );
        let database = with(
            "    - id: a\n      try:\n        - journal: { service: vault, operation: database.creds, within: 5s }\n        - backend: { vault.database.role: { mount: database, name: r, dbName: pg, creationStatements: [x] } }\n",
        );
        assert_eq!(
            emulator_features(&database).as_deref(),
            Some("the request journal and database credentials without a database")
        );
    }

    #[test]
    fn version_notes_name_only_what_differs() {
        let running = RunningVersions {
            driver: "v1.6.0".into(),
            providers: BTreeMap::from([(Provider::Azure, "v1.8.2".into())]),
        };
        let pins = |d: &str, p: &str| crate::scenario::model::Versions {
            driver: Some(d.into()),
            providers: BTreeMap::from([(Provider::Azure, p.into())]),
        };
        assert!(
            running
                .differences(&pins("v1.6.0", "1.8.2"), Provider::Azure)
                .is_empty()
        );
        assert_eq!(
            running.differences(&pins("v1.4.4", "v1.8.2"), Provider::Azure),
            vec!["driver v1.4.4 (runs v1.6.0)".to_owned()]
        );
    }

    #[test]
    fn rotation_interval_comes_from_the_driver_flags() {
        let args = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            rotation_from_args(&args(&["--endpoint=x", "--rotation-poll-interval=10s"])).unwrap(),
            Duration::from_secs(10)
        );
        assert_eq!(
            rotation_from_args(&args(&["--enable-secret-rotation=true"])).unwrap(),
            DRIVER_DEFAULT_ROTATION
        );
        assert!(rotation_from_args(&args(&["--rotation-poll-interval=soon"])).is_err());
    }

    #[test]
    fn a_provider_not_installed_is_skipped_and_a_broken_wiring_fails() {
        let skipped = Unavailable::NotInstalled(not_installed(Provider::Aws, "host")).verdict();
        assert!(skipped.ok());
        assert!(
            format!("{skipped:?}").contains("--bundle DIR"),
            "{skipped:?}"
        );
        let failed =
            Unavailable::WiringFailed("wiring the aws provider failed: x".into()).verdict();
        assert!(!failed.ok(), "a broken wiring must not exit 0");
        assert_eq!(failed.label(), "FAIL");
        assert!(not_installed(Provider::Vault, "existing").contains("up --install"));
    }

    #[test]
    fn the_binding_picks_the_identity_path_and_the_wiring_supplies_the_default() {
        let w = wiring::aws::wiring(json!({}), "https://issuer", Some("no 443".into()));
        let binding = |identity: Option<Identity>| Binding {
            identity,
            ..Binding::default()
        };
        let (id, path) = identity_path(&w, &binding(None), Provider::Aws)
            .unwrap()
            .unwrap();
        assert_eq!(id, Identity::PodIdentity);
        assert_eq!(path.parameters["usePodIdentity"], "true");
        let (id, path) = identity_path(&w, &binding(Some(Identity::Irsa)), Provider::Aws)
            .unwrap()
            .unwrap();
        assert_eq!(id, Identity::Irsa);
        assert_eq!(path.unavailable.as_deref(), Some("no 443"));
        let azure = Wiring::default();
        assert!(
            identity_path(&azure, &binding(None), Provider::Azure)
                .unwrap()
                .is_none()
        );
        let e = identity_path(&azure, &binding(Some(Identity::Irsa)), Provider::Azure).unwrap_err();
        assert_eq!(e, "the azure wiring has no identity path `irsa`");
    }

    #[test]
    fn namespaces_are_dns_labels() {
        assert_eq!(namespace_for("mount", Provider::Azure), "sb-mount-azure");
        let long = namespace_for(&"a".repeat(80), Provider::Vault);
        assert!(long.len() <= 63 && long.ends_with("-vault"), "{long}");
    }
}
