//! Versions as an axis of a run, above the per-case runner: which driver and provider versions
//! each case runs on ([`schedule`]), the cluster moved once per set of versions, each set's
//! cases run with [`run_all`], repeated cases counted ("reproduces k/N"), and every result
//! labelled with the versions that ran.
//!
//! A case's versions: the run's current set (the pins, or `--driver`/`--azure-provider`/...,
//! or for `run` without them what the cluster runs), each point of `--matrix`, and for a
//! scenario with `spec.versions` the versions it was reported on ([`Pick`]). Sets other than
//! the current one run first, so the cluster ends on the current set.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::{CaseResult, Environment, Options, Verdict};
use crate::cluster::EmulatorAddress;
use crate::cluster::existing::{DaemonSetInfo, daemonsets};
use crate::cluster::{Cluster, UpOptions};
use crate::install::{Bundle, Plan, VersionSet};
use crate::kubectl::Kubectl;
use crate::realvault::{ROOT_TOKEN, RealVault};
use crate::scenario::Loaded;
use crate::scenario::model::{Outcome, Provider};
use crate::stack::Stack;
use crate::wiring::emulators::{EmulatorPorts, REAL_VAULT_PORT, reachable_here};
use crate::wiring::{EmulatorProcess, Endpoints};

/// Which versions a scenario with `spec.versions` runs on (`--versions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Pick {
    /// The versions the scenario was reported on (`spec.versions`, over the current set).
    Reported,
    /// The run's current versions.
    Current,
}

/// What a `--matrix` axis varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AxisKey {
    Driver,
    Provider(Provider),
}

/// `--matrix driver=v1.5.4,v1.6.0`: one component at several versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    pub key: AxisKey,
    pub values: Vec<String>,
}

impl FromStr for Axis {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (k, vs) = s.split_once('=').ok_or_else(|| {
            format!("`{s}`: expected COMPONENT=V1,V2 (e.g. driver=v1.5.4,v1.6.0)")
        })?;
        let key = match k.trim() {
            "driver" => AxisKey::Driver,
            "aws" => AxisKey::Provider(Provider::Aws),
            "azure" => AxisKey::Provider(Provider::Azure),
            "vault" => AxisKey::Provider(Provider::Vault),
            other => {
                return Err(format!(
                    "`{other}`: a matrix axis is driver, aws, azure or vault"
                ));
            }
        };
        let values: Vec<String> = vs
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        if values.is_empty() {
            return Err(format!("`{s}`: no versions after `=`"));
        }
        Ok(Self { key, values })
    }
}

/// Every point of the axes over `base` (the cartesian product; `base` alone without axes).
pub fn points(base: &VersionSet, axes: &[Axis]) -> Vec<VersionSet> {
    let mut out = vec![base.clone()];
    for axis in axes {
        out = out
            .iter()
            .flat_map(|set| {
                axis.values.iter().map(move |v| match axis.key {
                    AxisKey::Driver => set.clone().with_driver(v),
                    AxisKey::Provider(p) => set.clone().with_provider(p, v),
                })
            })
            .collect();
    }
    out
}

/// One set of versions and the cases (scenario index, provider) that run on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub versions: VersionSet,
    pub cases: Vec<(usize, Provider)>,
}

/// Which versions each case runs on, grouped by set: sets other than `current` first (in
/// the order cases first ask for them), `current` last. Two sets that agree on the driver
/// and the case's provider are the same for that case.
pub fn schedule(
    scenarios: &[Loaded],
    providers: &[Provider],
    current: &VersionSet,
    axes: &[Axis],
    picks: Option<&[Pick]>,
) -> Vec<Group> {
    let currents = points(current, axes);
    let mut groups: Vec<Group> = Vec::new();
    for (i, loaded) in scenarios.iter().enumerate() {
        let spec = &loaded.scenario.spec;
        for &p in &spec.providers {
            if !providers.is_empty() && !providers.contains(&p) {
                continue;
            }
            let mut sets: Vec<VersionSet> = Vec::new();
            let wanted: &[Pick] = match (&spec.versions, picks) {
                (None, _) => &[Pick::Current],
                (Some(_), Some(picks)) => picks,
                (Some(_), None) => &[Pick::Reported],
            };
            for pick in wanted {
                match (pick, &spec.versions) {
                    (Pick::Reported, Some(v)) => sets.push(current.overlaid(v)),
                    _ => sets.extend(currents.iter().cloned()),
                }
            }
            let mut seen: Vec<VersionSet> = Vec::new();
            for set in sets {
                if seen.iter().any(|s| s.same_for(&set, p)) {
                    continue;
                }
                seen.push(set.clone());
                // A case joins a group whose set agrees on what it runs.
                match groups.iter_mut().find(|g| g.versions.same_for(&set, p)) {
                    Some(g) => g.cases.push((i, p)),
                    None => groups.push(Group {
                        versions: set,
                        cases: vec![(i, p)],
                    }),
                }
            }
        }
    }
    groups.sort_by_key(|g| g.versions == *current);
    groups
}

/// Moves cases of the `current` set to an earlier set that runs them on the same versions (it
/// differs only in another provider: `vault 1.5.1` for an AWS case) while that set's cases
/// leave slots idle: a set with one repro otherwise runs one case while `jobs - 1` slots wait.
/// A set's room is what its longest case leaves free in `jobs` slots, by `expected`; the
/// longest candidates that fit go first, none longer than the set's longest (it would make the
/// set last longer), none that must run alone (`alone`: it would idle the set's other slots).
pub fn fill(
    groups: &mut [Group],
    current: &VersionSet,
    jobs: usize,
    expected: impl Fn(usize, Provider) -> Duration,
    alone: impl Fn(usize, Provider) -> bool,
) {
    let Some(ci) = groups.iter().position(|g| g.versions == *current) else {
        return;
    };
    for gi in 0..groups.len() {
        if gi == ci {
            continue;
        }
        let longest = groups[gi]
            .cases
            .iter()
            .map(|&(i, p)| expected(i, p))
            .max()
            .unwrap_or_default();
        let load: Duration = groups[gi].cases.iter().map(|&(i, p)| expected(i, p)).sum();
        let mut room = (longest * u32::try_from(jobs).unwrap_or(u32::MAX)).saturating_sub(load);
        let mut candidates: Vec<(usize, Provider)> = groups[ci]
            .cases
            .iter()
            .copied()
            .filter(|&(i, p)| groups[gi].versions.same_for(current, p) && !alone(i, p))
            .collect();
        candidates.sort_by_key(|&(i, p)| std::cmp::Reverse(expected(i, p)));
        for case in candidates {
            let d = expected(case.0, case.1);
            if d > longest || d > room {
                continue;
            }
            room -= d;
            groups[ci].cases.retain(|c| *c != case);
            groups[gi].cases.push(case);
        }
    }
}

/// How the runs of a repeated case went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Runs that count: every run but the untriggered ones.
    pub runs: u32,
    /// Runs in which the expected step failed (a repro that reproduced).
    pub reproduced: u32,
    pub passed: u32,
    /// Runs that failed otherwise (an error).
    pub failed: u32,
    /// Runs stopped by the repro's trigger step (`expect.trigger`): they set nothing up, so
    /// they are not in `runs`, only reported beside it.
    pub untriggered: u32,
    /// The runs asked for (`--repeat`); more than `runs` when the attempts ran out first.
    pub wanted: u32,
    /// Whether the scenario is a repro (`expect: fail`): the count is of reproductions.
    pub repro: bool,
}

impl Tally {
    /// `reproduces 3/5`, `passed 5/5`, `reproduces 5/5, 3 attempts untriggered`,
    /// `reproduces 4/4 (5 wanted), 40 attempts untriggered`.
    pub fn label(&self) -> String {
        let mut out = if self.repro {
            format!("reproduces {}/{}", self.reproduced, self.runs)
        } else {
            format!("passed {}/{}", self.passed, self.runs)
        };
        if self.wanted > self.runs {
            out.push_str(&format!(" ({} wanted)", self.wanted));
        }
        match self.untriggered {
            0 => {}
            1 => out.push_str(", 1 attempt untriggered"),
            n => out.push_str(&format!(", {n} attempts untriggered")),
        }
        out
    }
}

/// One result for the runs of one case: the tally, and the verdict they add up to. An error
/// in any run is the verdict (it says nothing of the bug); otherwise a repro still reproduces
/// when it reproduced in any run, so "reproduces 2/5" is never reported as fixed. Runs whose
/// trigger step failed count for nothing; when no run got past it, the case is inconclusive.
/// `wanted`: the runs asked for (`--repeat`).
pub fn fold(mut runs: Vec<CaseResult>, repro: bool, wanted: u32) -> Option<CaseResult> {
    let n = u32::try_from(runs.len()).unwrap_or(u32::MAX);
    let mut tally = Tally {
        repro,
        wanted,
        ..Tally::default()
    };
    for r in &runs {
        match r.verdict {
            Verdict::StillReproduces { .. } => tally.reproduced += 1,
            Verdict::Passed | Verdict::NoLongerReproduces => tally.passed += 1,
            Verdict::Failed { .. } => tally.failed += 1,
            Verdict::NotTriggered { .. } | Verdict::Inconclusive { .. } => tally.untriggered += 1,
            Verdict::Skipped(_) => {}
        }
    }
    tally.runs = n - tally.untriggered;
    let first_failed = runs
        .iter()
        .position(|r| matches!(r.verdict, Verdict::Failed { .. }));
    let first_reproduced = runs
        .iter()
        .position(|r| matches!(r.verdict, Verdict::StillReproduces { .. }));
    let first_triggered = runs.iter().position(|r| r.verdict.triggered());
    let duration = runs.iter().map(|r| r.duration).sum();
    let mut notes: Vec<String> = Vec::new();
    for r in &runs {
        for note in &r.notes {
            if !notes.contains(note) {
                notes.push(note.clone());
            }
        }
    }
    let artifacts = runs.iter().find_map(|r| r.artifacts.clone());
    // With no run triggered, the last attempt says best why the trigger did not hold.
    let pick = first_failed
        .or(first_reproduced)
        .or(first_triggered)
        .unwrap_or(runs.len().saturating_sub(1));
    if pick >= runs.len() {
        return None;
    }
    let mut out = runs.swap_remove(pick);
    match &mut out.verdict {
        Verdict::Failed { message, .. } => {
            *message = format!("run {} of {n}: {message}", pick + 1);
        }
        Verdict::NotTriggered { step, message } => {
            out.verdict = Verdict::Inconclusive {
                step: std::mem::take(step),
                attempts: tally.untriggered,
                message: std::mem::take(message),
            };
        }
        _ => {}
    }
    if n > 1 {
        out.tally = Some(tally);
    }
    out.duration = duration;
    out.notes = notes;
    out.artifacts = artifacts;
    Some(out)
}

/// What a matrix run gives back.
#[derive(Debug)]
pub struct Ran {
    /// One result per case and set of versions (repeats folded), by scenario, provider, set.
    pub results: Vec<CaseResult>,
    /// The run's current versions (the cluster ends on them).
    pub current: VersionSet,
    /// The driver's rotation poll interval (as last read).
    pub rotation: std::time::Duration,
}

/// What a matrix run needs besides the scenarios.
#[derive(Debug)]
pub struct Matrix<'a> {
    pub cluster: &'a Cluster,
    pub stack: &'a Stack,
    /// The bundle and `--install` of `up` (the versions are set per group).
    pub up: UpOptions,
    /// `e2e`: bring the cluster up (and end on `current`) even when nothing has to move.
    pub bring_up: bool,
    /// `--driver`/`--azure-provider`/...; `None` for `run` without them: what the cluster runs.
    pub current: Option<VersionSet>,
    pub axes: Vec<Axis>,
    /// `--versions`; `None`: a scenario with `spec.versions` runs on those.
    pub picks: Option<Vec<Pick>>,
    /// `--repeat`, over each scenario's `spec.repeat`.
    pub repeat: Option<NonZeroU32>,
    /// Per-case options (providers, snapshots, artifacts root, backend); the rotation
    /// interval and the running versions are read again after every move.
    pub options: Options,
    /// Where the emulators keep their state and log.
    pub run_dir: PathBuf,
    /// The `secretbench` binary (it also runs the emulators).
    pub exe: PathBuf,
    /// `--emulator-ports`.
    pub emulator_ports: EmulatorPorts,
    /// `--vault real`: the Vault server binary the Vault cases run against instead of the
    /// emulator (started for each set of versions, restarted fresh for every case).
    pub real_vault: Option<PathBuf>,
}

impl Matrix<'_> {
    /// What the cluster runs, every provider filled in from the pins when absent, and the
    /// DaemonSets that say so (they also tell which providers are installed and how often
    /// the driver rotates).
    async fn running(
        &self,
        kubectl: &Kubectl,
        plan: &Plan,
    ) -> anyhow::Result<(VersionSet, Vec<DaemonSetInfo>)> {
        let ds = daemonsets(kubectl.api().await?).await?;
        Ok((VersionSet::running(plan, &ds), ds))
    }

    /// The versions of `plan`'s set that the bundle cannot serve (its problems), if any.
    fn bundle_problems(&self, plan: &Plan) -> anyhow::Result<Vec<String>> {
        let Some(dir) = &self.up.bundle else {
            return Ok(Vec::new());
        };
        let (_, problems) = Bundle::read(dir, plan)?;
        Ok(problems.iter().map(ToString::to_string).collect())
    }

    async fn move_to(&self, set: &VersionSet) -> anyhow::Result<()> {
        eprintln!("[matrix] moving the cluster to {set}");
        let opts = UpOptions {
            versions: Some(set.clone()),
            ..self.up.clone()
        };
        self.cluster.up(&opts).await.map_err(|e| {
            anyhow::anyhow!(
                "moving the cluster to {set} failed: {e} (run `secretbench down` to clean up)"
            )
        })?;
        Ok(())
    }

    /// Runs every case on every set of versions it asks for.
    pub async fn run(&self, scenarios: &[Loaded]) -> anyhow::Result<Ran> {
        let pinned = VersionSet::pinned(self.stack.versions())?;
        let pinned_plan = Plan::new(self.stack.versions(), &pinned)?;
        let mut kubectl = None;
        let mut running = None;
        if !self.bring_up {
            let k = self.cluster.kubectl().await?;
            let (mut r, _) = self.running(&k, &pinned_plan).await?;
            for (p, v) in &pinned.providers {
                r.providers.entry(*p).or_insert_with(|| v.clone());
            }
            running = Some(r);
            kubectl = Some(k);
        }
        let current = match (&self.current, &running) {
            (Some(c), _) => c.clone(),
            (None, Some(r)) => r.clone(),
            (None, None) => pinned.clone(),
        };
        let groups = schedule(
            scenarios,
            &self.options.providers,
            &current,
            &self.axes,
            self.picks.as_deref(),
        );
        let mut groups = groups;
        let rotation = Duration::from_secs(crate::install::plan::ROTATION_POLL_SECS);
        fill(
            &mut groups,
            &current,
            self.options.jobs,
            |i, _| {
                let sc = &scenarios[i].scenario;
                let times = self.repeat.or(sc.spec.repeat).map_or(1, NonZeroU32::get);
                super::estimate::expected(sc, rotation) * times
            },
            // As `Environment::exclusive` decides it once the set runs.
            |i, p| {
                scenarios[i].scenario.spec.exclusive.is_some()
                    || (p == Provider::Vault && self.real_vault.is_some())
            },
        );
        if groups.len() > 1 {
            eprintln!("[matrix] {} sets of versions:", groups.len());
            for g in &groups {
                eprintln!("[matrix]   {} ({} case(s))", g.versions, g.cases.len());
            }
        }
        let mut emulators: Option<(EmulatorProcess, EmulatorAddress)> = None;
        let mut results: Vec<(usize, Provider, usize, CaseResult)> = Vec::new();
        let mut last_rotation = std::time::Duration::ZERO;
        // The set the cluster was last moved to.
        let mut at: Option<VersionSet> = None;
        for (gi, group) in groups.iter().enumerate() {
            let plan = Plan::new(self.stack.versions(), &group.versions)?;
            let problems = self.bundle_problems(&plan)?;
            if !problems.is_empty() {
                let why = format!(
                    "the bundle cannot serve {}: {}",
                    group.versions,
                    problems.join("; ")
                );
                for &(i, p) in &group.cases {
                    results.push((i, p, gi, skipped(&scenarios[i], p, &group.versions, &why)));
                }
                continue;
            }
            let needs_move = match &running {
                None => true,
                Some(r) => group
                    .cases
                    .iter()
                    .any(|&(_, p)| !r.same_for(&group.versions, p)),
            };
            if needs_move || (self.bring_up && at.is_none()) {
                self.move_to(&group.versions).await?;
                at = Some(group.versions.clone());
                kubectl = Some(self.cluster.kubectl().await?);
            }
            let k = match &kubectl {
                Some(k) => k.clone(),
                None => self.cluster.kubectl().await?,
            };
            let (now, ds) = self.running(&k, &plan).await?;
            running = Some(now.clone());
            if emulators.is_none() {
                let address = self.cluster.emulator_address().await?;
                eprintln!("emulators: {address}");
                let process = EmulatorProcess::start(
                    &self.exe,
                    address.listen,
                    &self.emulator_ports,
                    &self.run_dir.join("emulators"),
                    &self.run_dir.join("emulators.log"),
                )
                .await?;
                emulators = Some((process, address));
            }
            let Some((emu, address)) = &emulators else {
                anyhow::bail!("the emulators did not start");
            };
            let (group_results, rotation) = self
                .run_group(
                    scenarios,
                    group,
                    &plan,
                    &now,
                    &ds,
                    &k,
                    address,
                    &emu.endpoints,
                )
                .await?;
            last_rotation = rotation.unwrap_or(last_rotation);
            results.extend(group_results.into_iter().map(|(i, p, r)| (i, p, gi, r)));
        }
        if let Some((e, _)) = emulators {
            e.stop().await;
        }
        // End where the run started (`run`) or on the current versions (`e2e`, which brings
        // the cluster up even when no case ran).
        let ends_elsewhere = at.as_ref().is_some_and(|a| *a != current);
        if ends_elsewhere || (self.bring_up && at.is_none()) {
            self.move_to(&current).await?;
        }
        results.sort_by_key(|(i, p, gi, _)| (*i, *p, *gi));
        Ok(Ran {
            results: results.into_iter().map(|(_, _, _, r)| r).collect(),
            current,
            rotation: last_rotation,
        })
    }

    /// `--vault real`: a fresh Vault dev server where the emulators listen (so pods reach it at
    /// the advertised address), and the endpoints with the Vault ones pointing at it.
    async fn start_real_vault(
        &self,
        address: &EmulatorAddress,
        endpoints: &Endpoints,
    ) -> anyhow::Result<(Option<RealVault>, Endpoints)> {
        let Some(bin) = &self.real_vault else {
            return Ok((None, endpoints.clone()));
        };
        let listen = std::net::SocketAddr::new(address.listen, REAL_VAULT_PORT);
        let real = RealVault::start(bin, listen, &self.run_dir.join("vault.log"))
            .await
            .map_err(|e| anyhow::anyhow!("starting the real Vault dev server: {e}"))?;
        let mut endpoints = endpoints.clone();
        endpoints.vault_url = reachable_here(real.url());
        endpoints.vault_token = ROOT_TOKEN.to_owned();
        eprintln!(
            "Vault scenarios run against the real Vault dev server at {}",
            real.url()
        );
        Ok((Some(real), endpoints))
    }

    /// One group, on a cluster that runs (or should run) its versions.
    #[allow(clippy::too_many_arguments)] // the group's whole context, each from a different owner
    async fn run_group(
        &self,
        scenarios: &[Loaded],
        group: &Group,
        plan: &Plan,
        now: &VersionSet,
        daemonsets: &[DaemonSetInfo],
        kubectl: &Kubectl,
        address: &EmulatorAddress,
        endpoints: &Endpoints,
    ) -> anyhow::Result<(
        Vec<(usize, Provider, CaseResult)>,
        Option<std::time::Duration>,
    )> {
        let mut out = Vec::new();
        // Cases the cluster cannot run on these versions (the existing backend without
        // `--install`, a provider left on another tag) are skipped, never run on the wrong ones.
        let mut runnable: BTreeMap<usize, Vec<Provider>> = BTreeMap::new();
        for &(i, p) in &group.cases {
            let provider_differs = now
                .providers
                .get(&p)
                .is_some_and(|v| Some(v) != group.versions.providers.get(&p));
            if now.driver != group.versions.driver || provider_differs {
                let why = format!(
                    "needs {}, but the cluster runs {} after the move{}",
                    group.versions.label(p),
                    now.label(p),
                    if self.cluster.name() == "existing" && !self.up.install {
                        " (the existing backend installs only with `--install`)"
                    } else {
                        ""
                    }
                );
                out.push((i, p, skipped(&scenarios[i], p, &group.versions, &why)));
            } else {
                runnable.entry(i).or_default().push(p);
            }
        }
        if runnable.is_empty() {
            return Ok((out, None));
        }
        let installed = crate::install::providers_running(plan, daemonsets);
        let wanted: Vec<Provider> = runnable.values().flatten().copied().collect();
        let (real_vault, endpoints) = if wanted.contains(&Provider::Vault) {
            self.start_real_vault(address, endpoints).await?
        } else {
            (None, endpoints.clone())
        };
        let env = Environment::prepare(
            kubectl.clone(),
            address,
            &endpoints,
            &installed,
            &wanted,
            self.cluster.name(),
            real_vault,
        )
        .await?;
        let rotation = super::rotation_interval(daemonsets)?;
        eprintln!(
            "[matrix] {}: driver rotation poll interval {} (deadlines `rotation + ...` use it)",
            group.versions,
            crate::scenario::duration::format_duration(rotation)
        );
        let slug = slug(&group.versions);
        let opts = Options {
            rotation,
            running: now.clone(),
            artifacts: self.options.artifacts.join(&slug),
            ..self.options.clone()
        };
        let narrowed: Vec<(usize, Loaded)> = runnable
            .into_iter()
            .map(|(i, providers)| (i, narrowed(&scenarios[i], &providers)))
            .collect();
        let mut units = Vec::new();
        let mut repros = Vec::new();
        for (i, loaded) in &narrowed {
            let times = self
                .repeat
                .or(loaded.scenario.spec.repeat)
                .map_or(1, NonZeroU32::get);
            for &provider in &loaded.scenario.spec.providers {
                units.push(super::Unit {
                    loaded,
                    provider,
                    times,
                });
                repros.push((
                    *i,
                    loaded
                        .scenario
                        .spec
                        .expect
                        .as_ref()
                        .is_some_and(|e| e.outcome == Outcome::Fail),
                ));
            }
        }
        let ran = super::run_units(&env, &units, &opts).await;
        for ((unit, (i, repro)), runs) in units.iter().zip(repros).zip(ran) {
            if let Some(mut r) = fold(runs, repro, unit.times) {
                r.versions = group.versions.label(unit.provider);
                if let Some(a) = &r.artifacts {
                    let _ = std::fs::write(a.join("versions.txt"), format!("{}\n", group.versions));
                }
                out.push((i, unit.provider, r));
            }
        }
        if let Some(real) = env.real_vault {
            real.stop().await;
        }
        Ok((out, Some(rotation)))
    }
}

/// A scenario limited to some of its providers.
fn narrowed(loaded: &Loaded, providers: &[Provider]) -> Loaded {
    let mut l = loaded.clone();
    l.scenario.spec.providers.retain(|p| providers.contains(p));
    l
}

fn skipped(loaded: &Loaded, p: Provider, set: &VersionSet, why: &str) -> CaseResult {
    CaseResult {
        scenario: loaded.scenario.metadata.name.clone(),
        provider: p,
        verdict: Verdict::Skipped(why.to_owned()),
        duration: std::time::Duration::ZERO,
        steps: Vec::new(),
        notes: Vec::new(),
        artifacts: None,
        versions: set.label(p),
        tally: None,
        timeline: None,
    }
}

/// `driver-v1.5.4_aws-3.1.1_azure-v1.8.2_vault-1.7.4`: a folder name for a set's artifacts.
pub fn slug(set: &VersionSet) -> String {
    let mut s = format!("driver-{}", set.driver);
    for (p, v) in &set.providers {
        s.push_str(&format!("_{p}-{v}"));
    }
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::Duration;

    fn set() -> VersionSet {
        VersionSet {
            driver: "v1.6.0".into(),
            providers: BTreeMap::from([
                (Provider::Aws, "3.1.1".into()),
                (Provider::Azure, "v1.8.2".into()),
                (Provider::Vault, "1.7.4".into()),
            ]),
        }
    }

    fn scenario(name: &str, providers: &str, extra: &str) -> Loaded {
        let text = format!(
            "apiVersion: secretbench.dev/v1alpha1\nkind: Scenario\nmetadata: {{name: {name}, description: d}}\n\
             spec:\n  providers: [{providers}]\n  bindings: {{aws: {{}}, azure: {{}}, vault: {{}}}}\n{extra}  steps: []\n"
        );
        crate::scenario::load_str(Path::new(&format!("{name}/scenario.yaml")), &text).unwrap()
    }

    #[test]
    fn axes_parse_and_multiply() {
        let a: Axis = "driver=v1.5.4, v1.6.0".parse().unwrap();
        assert_eq!(a.key, AxisKey::Driver);
        assert_eq!(a.values, ["v1.5.4", "v1.6.0"]);
        assert!(
            "driver"
                .parse::<Axis>()
                .unwrap_err()
                .contains("COMPONENT=V1,V2")
        );
        assert!(
            "gcp=v1"
                .parse::<Axis>()
                .unwrap_err()
                .contains("driver, aws, azure or vault")
        );
        assert!(
            "driver="
                .parse::<Axis>()
                .unwrap_err()
                .contains("no versions")
        );
        let b: Axis = "azure=v1.7.0,v1.8.2".parse().unwrap();
        let ps = points(&set(), &[a, b]);
        let labels: Vec<String> = ps.iter().map(|s| s.label(Provider::Azure)).collect();
        assert_eq!(
            labels,
            [
                "driver v1.5.4, azure v1.7.0",
                "driver v1.5.4, azure v1.8.2",
                "driver v1.6.0, azure v1.7.0",
                "driver v1.6.0, azure v1.8.2"
            ]
        );
        assert_eq!(points(&set(), &[]), vec![set()]);
    }

    #[test]
    fn a_set_with_idle_slots_takes_current_cases_that_run_the_same_there() {
        let cur = set();
        let old_driver = cur.clone().with_driver("v1.4.8");
        let old_vault = cur.clone().with_provider(Provider::Vault, "1.5.1");
        let mut groups = vec![
            Group {
                versions: old_driver.clone(),
                cases: vec![(0, Provider::Aws)],
            },
            Group {
                versions: old_vault.clone(),
                cases: vec![(1, Provider::Vault)],
            },
            Group {
                versions: cur.clone(),
                cases: vec![
                    (2, Provider::Aws),
                    (2, Provider::Vault),
                    (3, Provider::Azure),
                    (4, Provider::Aws),
                    (5, Provider::Azure),
                    (6, Provider::Aws),
                ],
            },
        ];
        // Seconds per scenario: 1 is the lone repro (30 s); 4 is longer than it, 6 must run alone.
        let secs = [30, 30, 10, 20, 40, 25, 5];
        let expected = |i: usize, _| Duration::from_secs(secs[i]);
        fill(&mut groups, &cur, 3, expected, |i, _| i == 6);
        // Nothing runs the same on another driver; on vault 1.5.1 every non-Vault case does,
        // up to the 60 s the repro leaves free in 3 slots (25 + 20 + 10), longest first.
        assert_eq!(groups[0].cases, vec![(0, Provider::Aws)]);
        assert_eq!(
            groups[1].cases,
            vec![
                (1, Provider::Vault),
                (5, Provider::Azure),
                (3, Provider::Azure),
                (2, Provider::Aws)
            ]
        );
        assert_eq!(
            groups[2].cases,
            vec![(2, Provider::Vault), (4, Provider::Aws), (6, Provider::Aws)]
        );
        // One slot: no room beside the repro.
        let mut one = groups.clone();
        let before = one.clone();
        fill(&mut one, &cur, 1, expected, |_, _| false);
        assert_eq!(one, before);
    }

    #[test]
    fn repros_run_on_their_reported_versions_and_the_current_set_runs_last() {
        let scenarios = vec![
            scenario("mount", "aws, azure", ""),
            scenario("old-bug", "azure, vault", "  versions: {driver: v1.4.8}\n"),
            scenario(
                "vault-bug",
                "vault",
                "  versions: {providers: {vault: v1.5.1}}\n",
            ),
            scenario("same-bug", "azure", "  versions: {driver: v1.6.0}\n"),
        ];
        let cur = set();
        let g = schedule(&scenarios, &[], &cur, &[], None);
        let shown: Vec<(String, Vec<(usize, Provider)>)> = g
            .iter()
            .map(|g| (g.versions.to_string(), g.cases.clone()))
            .collect();
        assert_eq!(
            shown,
            vec![
                (
                    "driver v1.4.8, aws 3.1.1, azure v1.8.2, vault 1.7.4".to_owned(),
                    vec![(1, Provider::Azure), (1, Provider::Vault)]
                ),
                (
                    "driver v1.6.0, aws 3.1.1, azure v1.8.2, vault 1.5.1".to_owned(),
                    vec![(2, Provider::Vault)]
                ),
                (
                    cur.to_string(),
                    vec![
                        (0, Provider::Aws),
                        (0, Provider::Azure),
                        (3, Provider::Azure)
                    ]
                ),
            ]
        );
        // Both: one run per version; a report on the current versions runs once.
        let both = schedule(
            &scenarios,
            &[Provider::Azure],
            &cur,
            &[],
            Some(&[Pick::Reported, Pick::Current]),
        );
        assert_eq!(both.len(), 2);
        assert_eq!(both[0].cases, [(1, Provider::Azure)]);
        assert_eq!(
            both[1].cases,
            [
                (0, Provider::Azure),
                (1, Provider::Azure),
                (3, Provider::Azure)
            ]
        );
        // A matrix runs everything on every point (the reported set too, by default).
        let m = schedule(
            &scenarios[..1],
            &[Provider::Azure],
            &cur,
            &["driver=v1.5.4,v1.6.0".parse().unwrap()],
            None,
        );
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].versions.driver, "v1.5.4");
        assert_eq!(m[1].versions, cur, "the current set last");
    }

    fn result(verdict: Verdict) -> CaseResult {
        CaseResult {
            scenario: "s".into(),
            provider: Provider::Azure,
            verdict,
            duration: Duration::from_secs(2),
            steps: vec![],
            notes: vec!["n".into()],
            artifacts: None,
            versions: String::new(),
            tally: None,
            timeline: None,
        }
    }

    fn repro() -> Verdict {
        Verdict::StillReproduces {
            step: "check".into(),
            message: "m".into(),
        }
    }

    #[test]
    fn repeated_runs_are_counted() {
        let r = fold(
            vec![
                result(Verdict::NoLongerReproduces),
                result(repro()),
                result(Verdict::NoLongerReproduces),
                result(repro()),
                result(Verdict::NoLongerReproduces),
            ],
            true,
            5,
        )
        .unwrap();
        assert!(matches!(r.verdict, Verdict::StillReproduces { .. }));
        let t = r.tally.unwrap();
        assert_eq!((t.runs, t.reproduced, t.passed, t.failed), (5, 2, 3, 0));
        assert_eq!(t.label(), "reproduces 2/5");
        assert_eq!(r.duration, Duration::from_secs(10));
        assert_eq!(r.notes, ["n"], "notes once");

        let none = fold(vec![result(Verdict::NoLongerReproduces); 3], true, 3).unwrap();
        assert_eq!(none.verdict, Verdict::NoLongerReproduces);
        assert_eq!(none.tally.unwrap().label(), "reproduces 0/3");

        let broken = fold(
            vec![
                result(repro()),
                result(Verdict::Failed {
                    step: "deploy".into(),
                    message: "pod not ready".into(),
                }),
            ],
            true,
            2,
        )
        .unwrap();
        assert!(!broken.verdict.ok(), "an error in any run is the verdict");
        assert!(format!("{:?}", broken.verdict).contains("run 2 of 2: pod not ready"));

        let once = fold(vec![result(Verdict::Passed)], false, 1).unwrap();
        assert_eq!(once.tally, None, "a single run has no count");
        assert!(fold(Vec::new(), false, 1).is_none());
    }

    fn untriggered() -> Verdict {
        Verdict::NotTriggered {
            step: "raced".into(),
            message: "the Secret has an owner".into(),
        }
    }

    #[test]
    fn untriggered_runs_count_apart_and_only_triggered_runs_decide() {
        // --repeat 3 with retries: run 1 took two attempts, run 3 three.
        let r = fold(
            vec![
                result(untriggered()),
                result(repro()),
                result(repro()),
                result(untriggered()),
                result(untriggered()),
                result(repro()),
            ],
            true,
            3,
        )
        .unwrap();
        assert!(matches!(r.verdict, Verdict::StillReproduces { .. }));
        let t = r.tally.unwrap();
        assert_eq!((t.runs, t.reproduced, t.untriggered), (3, 3, 3));
        assert_eq!(t.label(), "reproduces 3/3, 3 attempts untriggered");
        assert_eq!(r.duration, Duration::from_secs(12), "every attempt's time");

        // Triggered runs that did not reproduce: fixed, whatever the untriggered ones.
        let fixed = fold(
            vec![result(untriggered()), result(Verdict::NoLongerReproduces)],
            true,
            1,
        )
        .unwrap();
        assert_eq!(fixed.verdict, Verdict::NoLongerReproduces);
        assert_eq!(
            fixed.tally.unwrap().label(),
            "reproduces 0/1, 1 attempt untriggered"
        );

        // One run that triggered at once has no count, as before.
        let once = fold(vec![result(repro())], true, 1).unwrap();
        assert_eq!(once.tally, None);

        // No attempt triggered: inconclusive, neither a verdict on the bug nor an error.
        let never = fold(vec![result(untriggered()); 8], true, 1).unwrap();
        assert_eq!(
            never.verdict,
            Verdict::Inconclusive {
                step: "raced".into(),
                attempts: 8,
                message: "the Secret has an owner".into()
            }
        );
        assert!(never.verdict.ok(), "inconclusive does not fail the run");
        assert_eq!(never.tally.unwrap().runs, 0);
        assert_eq!(crate::runner::report::result_label(&never), "inconclusive");
        let single = fold(vec![result(untriggered())], true, 1).unwrap();
        assert!(matches!(
            single.verdict,
            Verdict::Inconclusive { attempts: 1, .. }
        ));

        // --repeat 2, the pooled 16 attempts spent before a second run triggered.
        let mut runs = vec![result(untriggered()); 15];
        runs.insert(3, result(repro()));
        let short = fold(runs, true, 2).unwrap();
        assert!(matches!(short.verdict, Verdict::StillReproduces { .. }));
        assert_eq!(
            short.tally.unwrap().label(),
            "reproduces 1/1 (2 wanted), 15 attempts untriggered"
        );

        // An error in a triggered run is still the verdict.
        let broken = fold(
            vec![
                result(untriggered()),
                result(Verdict::Failed {
                    step: "deploy".into(),
                    message: "pod not ready".into(),
                }),
            ],
            true,
            5,
        )
        .unwrap();
        assert!(!broken.verdict.ok());
    }

    #[test]
    fn artifact_folders_name_the_versions() {
        assert_eq!(
            slug(&set()),
            "driver-v1.6.0_aws-3.1.1_azure-v1.8.2_vault-1.7.4"
        );
    }
}
