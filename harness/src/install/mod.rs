//! Installing the driver and the providers: one plan, one installer, every backend.
//!
//! - [`plan`]: the releases (chart, release name, namespace, values, images), from
//!   `stack/versions.env`, the same on every backend.
//! - [`bundle`] and [`archive`]: what an air-gapped user carries in (image archives and
//!   charts), read and checked before anything is installed.
//! - [`helm`]: `helm upgrade --install`, the one way a release gets into a cluster.
//! - [`image_ref`]: image names as containerd resolves them.
//!
//! A backend supplies only the cluster, how images get into it (host: containerd import;
//! kind: `kind load image-archive`; existing: the cluster pulls), where charts come from
//! ([`ChartSources`]: the offline stack, a bundle, the upstream repositories) and the address
//! pods reach the emulators at. [`Installer::install`] does the rest.

pub mod archive;
pub mod bundle;
pub mod helm;
pub mod image_ref;
pub mod plan;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cluster::Progress;
use crate::cmd::{Cmd, CmdError};
use crate::kubectl::Kubectl;
use crate::scenario::model::Provider;
pub use bundle::{Bundle, BundleError};
use helm::{ChartRef, Helm};
pub use plan::{Component, Plan, Release, VersionSet};

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("helm release {release}: {message}")]
    Helm { release: String, message: String },
    #[error(transparent)]
    Cmd(#[from] CmdError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the driver cannot be installed: {0}")]
    NoDriver(String),
    #[error(transparent)]
    Stack(#[from] crate::stack::StackError),
}

fn io_err(action: &'static str, path: &Path, source: std::io::Error) -> InstallError {
    InstallError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Where each release's chart may come from, in this order: the bundle, the offline stack,
/// the upstream repository.
#[derive(Debug, Clone, Default)]
pub struct ChartSources<'a> {
    /// Charts the offline stack built, by chart name (host backend).
    pub stack: BTreeMap<String, PathBuf>,
    pub bundle: Option<&'a Bundle>,
    /// Whether the upstream repositories may be used (a backend with the internet).
    pub repositories: bool,
}

impl ChartSources<'_> {
    pub fn resolve(&self, r: &Release) -> Option<ChartRef> {
        if let Some(c) = self.bundle.and_then(|b| b.chart_of(r)) {
            return Some(ChartRef::Local(c.path.clone()));
        }
        if let Some(p) = self.stack.get(r.chart) {
            return Some(ChartRef::Local(p.clone()));
        }
        match &r.repo {
            Some(url) if self.repositories => Some(ChartRef::Repo(url.clone())),
            _ => None,
        }
    }

    fn unavailable(&self, r: &Release) -> String {
        match (&r.repo, self.repositories) {
            (None, _) => format!(
                "chart {} exists only in the offline stack (host backend)",
                r.chart
            ),
            (Some(_), false) => format!(
                "no chart {} {}: add it and its image {} to a bundle (`--bundle DIR`, README \"Bundles\")",
                r.chart,
                r.version,
                r.images.join(", ")
            ),
            (Some(url), true) => format!("chart {} {} from {url}", r.chart, r.version),
        }
    }
}

/// Which images the cluster can run.
#[derive(Debug, Clone)]
pub enum Images {
    /// Nothing can be pulled: only these (normalised) references are there.
    Loaded(BTreeSet<String>),
    /// The cluster pulls what it lacks.
    Pulled,
}

impl Images {
    fn missing<'r>(&self, r: &'r Release) -> Vec<&'r str> {
        match self {
            Images::Pulled => Vec::new(),
            Images::Loaded(have) => r
                .images
                .iter()
                .filter(|i| !have.contains(*i))
                .map(String::as_str)
                .collect(),
        }
    }
}

/// What became of one release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Installed,
    /// Already running this chart version with these values.
    Unchanged,
    Skipped(String),
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub releases: Vec<(Component, State)>,
}

impl Outcome {
    pub fn running(&self) -> impl Iterator<Item = Component> + '_ {
        self.releases
            .iter()
            .filter(|(_, s)| !matches!(s, State::Skipped(_)))
            .map(|(c, _)| *c)
    }

    /// `driver (unchanged), azure provider (installed); skipped: aws provider (why)`.
    pub fn summary(&self) -> String {
        let mut done = Vec::new();
        let mut skipped = Vec::new();
        for (c, s) in &self.releases {
            match s {
                State::Installed => done.push(format!("{c} (installed)")),
                State::Unchanged => done.push(format!("{c} (unchanged)")),
                State::Skipped(why) => skipped.push(format!("{c}: {why}")),
            }
        }
        let mut out = done.join(", ");
        if !skipped.is_empty() {
            out.push_str("; not installed: ");
            out.push_str(&skipped.join("; "));
        }
        out
    }
}

/// `helm release aws (secrets-store-csi-driver-provider-aws 3.1.1)`, and how it went.
fn describe(r: &Release, state: &State) -> String {
    let what = format!("helm release {} ({} {})", r.name, r.chart, r.version);
    match state {
        State::Installed => format!("{what} installed"),
        State::Unchanged => format!("{what} unchanged"),
        State::Skipped(why) => format!("{what} not installed: {why}"),
    }
}

/// How long the DaemonSets may take to roll out after their releases went in.
const ROLLOUT: Duration = Duration::from_secs(180);

/// Installs the plan into one cluster.
#[derive(Debug)]
pub struct Installer<'a> {
    pub plan: &'a Plan,
    pub helm: &'a Helm,
    pub kubectl: &'a Kubectl,
    /// Values files and prepared charts go here.
    pub work: PathBuf,
}

impl Installer<'_> {
    /// Every release whose chart and images are available: the driver first (the providers'
    /// charts need its CRDs), then the others side by side. Releases already up to date are
    /// left alone unless `force`. Then waits for their DaemonSets.
    pub async fn install(
        &self,
        sources: &ChartSources<'_>,
        images: &Images,
        force: bool,
        pr: &mut Progress,
    ) -> Result<Outcome, InstallError> {
        tokio::fs::create_dir_all(&self.work)
            .await
            .map_err(|e| io_err("creating", &self.work, e))?;
        let (driver, others): (Vec<&Release>, Vec<&Release>) = self
            .plan
            .releases
            .iter()
            .partition(|r| r.component == Component::Driver);
        let mut outcome = Outcome::default();
        for r in driver {
            let state = self.release(r, sources, images, force).await?;
            if let State::Skipped(why) = state {
                return Err(InstallError::NoDriver(why));
            }
            pr.step(format!("{}: {}", r.component, describe(r, &state)));
            outcome.releases.push((r.component, state));
        }
        let states = futures::future::try_join_all(
            others
                .iter()
                .map(|r| self.release(r, sources, images, force)),
        )
        .await?;
        for (r, state) in others.iter().zip(states) {
            if state == State::Installed {
                pr.step(format!("{}: {}", r.component, describe(r, &state)));
            }
            outcome.releases.push((r.component, state));
        }
        for c in outcome.running().collect::<Vec<_>>() {
            if let Some(r) = self.plan.release(c) {
                self.kubectl
                    .rollout_status(
                        plan::NAMESPACE,
                        &format!("daemonset/{}", r.daemonset),
                        ROLLOUT,
                    )
                    .await?;
            }
        }
        Ok(outcome)
    }

    /// One release: skipped (and why), left alone, or installed.
    async fn release(
        &self,
        r: &Release,
        sources: &ChartSources<'_>,
        images: &Images,
        force: bool,
    ) -> Result<State, InstallError> {
        let chart = match (sources.resolve(r), images.missing(r)) {
            (None, _) => return Ok(State::Skipped(sources.unavailable(r))),
            (Some(_), missing) if !missing.is_empty() => {
                return Ok(State::Skipped(format!(
                    "image {} is not in the cluster; bring it in a bundle (`--bundle DIR`, README \"Bundles\")",
                    missing.join(", ")
                )));
            }
            (Some(chart), _) => chart,
        };
        if !force && self.helm.up_to_date(r).await? {
            return Ok(State::Unchanged);
        }
        let chart = self.prepare(r, chart, sources).await?;
        let values = self.work.join(format!("{}.values.json", r.name));
        tokio::fs::write(&values, r.values.to_string())
            .await
            .map_err(|e| io_err("writing", &values, e))?;
        self.helm.upgrade_install(r, &chart, &values).await?;
        Ok(State::Installed)
    }

    /// A chart ready for helm. A provider chart that lists the driver chart as a dependency
    /// but does not package it (a chart folder from a source checkout) is refused by helm even
    /// when the dependency is disabled, so a copy gets the plan's own driver chart in its
    /// `charts/`; a packaged one (`helm pull`) is used as it is.
    async fn prepare(
        &self,
        r: &Release,
        chart: ChartRef,
        sources: &ChartSources<'_>,
    ) -> Result<ChartRef, InstallError> {
        let ChartRef::Local(path) = &chart else {
            return Ok(chart);
        };
        let meta = if path.is_dir() {
            archive::read_chart_dir(path)
        } else {
            match archive::read_file(path) {
                Ok(archive::Content::Chart(m)) => Ok(m),
                Ok(archive::Content::Image(_)) => {
                    return Err(InstallError::Helm {
                        release: r.name.to_owned(),
                        message: format!("{} is an image archive, not a chart", path.display()),
                    });
                }
                Err(e) => Err(e),
            }
        }
        .map_err(|e| InstallError::Helm {
            release: r.name.to_owned(),
            message: e.to_string(),
        })?;
        if !meta
            .missing_dependencies()
            .iter()
            .any(|d| d.name == bundle::DRIVER_CHART)
        {
            return Ok(chart);
        }
        let root = self
            .work
            .join("charts")
            .join(format!("{}-{}", meta.name, meta.version));
        if root.exists() {
            tokio::fs::remove_dir_all(&root)
                .await
                .map_err(|e| io_err("removing", &root, e))?;
        }
        tokio::fs::create_dir_all(&root)
            .await
            .map_err(|e| io_err("creating", &root, e))?;
        let copy = root.join(&meta.name);
        if path.is_dir() {
            Cmd::new("cp")
                .arg("-a")
                .arg(path)
                .arg(&copy)
                .output()
                .await?;
        } else {
            Cmd::new("tar")
                .arg("-xzf")
                .arg(path)
                .arg("-C")
                .arg(&root)
                .output()
                .await?;
        }
        let deps = copy.join("charts");
        tokio::fs::create_dir_all(&deps)
            .await
            .map_err(|e| io_err("creating", &deps, e))?;
        let driver = self
            .plan
            .release(Component::Driver)
            .and_then(|d| sources.resolve(d).map(|c| (d, c)));
        match driver {
            Some((_, ChartRef::Local(d))) => {
                Cmd::new("cp").arg("-a").arg(&d).arg(&deps).output().await?;
            }
            Some((d, ChartRef::Repo(url))) => {
                self.helm
                    .cmd([
                        "pull",
                        d.chart,
                        "--repo",
                        &url,
                        "--version",
                        &d.version,
                        "-d",
                    ])
                    .arg(&deps)
                    .output()
                    .await?;
            }
            None => {
                return Err(InstallError::NoDriver(format!(
                    "{} depends on chart {} and none is available",
                    path.display(),
                    bundle::DRIVER_CHART
                )));
            }
        }
        Ok(ChartRef::Local(copy))
    }
}

/// The providers whose DaemonSet runs in the cluster (found by the repository of each
/// provider's image, whatever its tag, in any namespace).
pub fn providers_running(
    plan: &Plan,
    daemonsets: &[crate::cluster::existing::DaemonSetInfo],
) -> Vec<Provider> {
    Provider::ALL
        .into_iter()
        .filter(|p| {
            plan.release(Component::of_provider(*p)).is_some_and(|r| {
                r.images.iter().any(|want| {
                    let repo = image_ref::repository(want);
                    daemonsets
                        .iter()
                        .flat_map(|d| &d.images)
                        .any(|i| image_ref::repository(&image_ref::normalize(i)) == repo)
                })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::existing::DaemonSetInfo;
    use crate::stack::Stack;

    fn plan() -> Plan {
        let s = Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap();
        Plan::from_versions(s.versions()).unwrap()
    }

    #[test]
    fn charts_come_from_the_bundle_then_the_stack_then_the_repository() {
        let p = plan();
        let aws = p.release(Component::Aws).unwrap();
        let azure = p.release(Component::Azure).unwrap();
        let fake = p.release(Component::Fake).unwrap();
        let mut s = ChartSources::default();
        s.stack
            .insert(azure.chart.to_owned(), PathBuf::from("/stack/azure"));
        assert_eq!(s.resolve(aws), None);
        assert!(
            s.unavailable(aws).contains("--bundle DIR"),
            "{}",
            s.unavailable(aws)
        );
        assert_eq!(
            s.resolve(azure),
            Some(ChartRef::Local("/stack/azure".into()))
        );
        s.repositories = true;
        assert_eq!(
            s.resolve(aws),
            Some(ChartRef::Repo(
                "https://aws.github.io/secrets-store-csi-driver-provider-aws".into()
            ))
        );
        assert_eq!(s.resolve(fake), None, "the fake provider has no repository");
        assert!(s.unavailable(fake).contains("offline stack"));
        let t = tempfile::tempdir().unwrap();
        archive::tests::write_tar(
            &t.path().join("azure.tgz"),
            &[(
                "csi-secrets-store-provider-azure/Chart.yaml",
                b"name: csi-secrets-store-provider-azure\nversion: 1.8.2\n",
            )],
            true,
        );
        archive::tests::write_tar(
            &t.path().join("img.tar"),
            &[(
                "index.json",
                archive::tests::oci_index(&format!(
                    r#"{{"io.containerd.image.name":"{}"}}"#,
                    azure.images[0]
                ))
                .as_bytes(),
            )],
            false,
        );
        let b = Bundle::open(t.path(), &p).unwrap();
        s.bundle = Some(&b);
        assert_eq!(
            s.resolve(azure),
            Some(ChartRef::Local(t.path().join("azure.tgz"))),
            "the bundle's chart wins"
        );
    }

    #[test]
    fn images_must_be_loaded_when_nothing_can_be_pulled() {
        let p = plan();
        let aws = p.release(Component::Aws).unwrap();
        assert!(Images::Pulled.missing(aws).is_empty());
        let loaded = Images::Loaded(BTreeSet::from([aws.images[0].clone()]));
        assert!(loaded.missing(aws).is_empty());
        assert_eq!(
            Images::Loaded(BTreeSet::new()).missing(aws),
            [aws.images[0].as_str()]
        );
    }

    #[test]
    fn finds_providers_by_image_repository() {
        let ds = |images: &[&str]| DaemonSetInfo {
            namespace: "kube-system".into(),
            name: "x".into(),
            containers: vec![],
            images: images.iter().map(|s| (*s).to_owned()).collect(),
            desired: 1,
            updated: 1,
            available: 1,
            generation: 1,
            observed_generation: 1,
            driver_args: vec![],
        };
        let p = plan();
        assert_eq!(
            providers_running(
                &p,
                &[
                    ds(&["hashicorp/vault-csi-provider:1.7.3"]),
                    ds(&["mcr.microsoft.com/oss/v2/azure/secrets-store/provider-azure:v1.8.2"])
                ]
            ),
            [Provider::Azure, Provider::Vault]
        );
        assert!(providers_running(&p, &[ds(&["busybox"])]).is_empty());
    }

    #[test]
    fn summaries_say_what_happened() {
        let o = Outcome {
            releases: vec![
                (Component::Driver, State::Unchanged),
                (Component::Azure, State::Installed),
                (Component::Aws, State::Skipped("no chart".into())),
            ],
        };
        assert_eq!(
            o.summary(),
            "driver (unchanged), azure provider (installed); not installed: aws provider: no chart"
        );
        assert_eq!(
            o.running().collect::<Vec<_>>(),
            [Component::Driver, Component::Azure]
        );
    }
}
