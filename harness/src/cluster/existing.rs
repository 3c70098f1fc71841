//! The `existing` backend: whatever cluster the user's kubeconfig points at (EKS, AKS, a
//! cluster another tool made). The bench takes nothing down there, and installs only when
//! asked (`up --install`: the install plan, charts from a bundle or the upstream repositories,
//! images pulled by the cluster).
//!
//! Otherwise the user installs, before `up`:
//! - the Secrets Store CSI Driver, with the plan's values (`crate::install::plan`: Secret sync,
//!   rotation, the token audiences of the three providers);
//! - the providers they want to test (a provider with no DaemonSet is skipped);
//! - and sets `SECRETBENCH_EMULATOR_HOST` to an address of this machine that pods reach: the
//!   emulators listen there.
//!
//! `up` then checks that the driver DaemonSet exists and is rolled out.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::tools;
use super::{Progress, UpOptions};
use crate::cmd::CmdError;
use crate::install::helm::Helm;
use crate::install::{Bundle, ChartSources, Images, InstallError, Installer};
use crate::kube_api::{ApiError, KubeApi};
use crate::kubectl::Kubectl;
use crate::scenario::model::Provider;
use crate::stack::Stack;

/// Where pods reach this machine; required.
pub const ENV_EMULATOR_HOST: &str = "SECRETBENCH_EMULATOR_HOST";
/// The container every install of the driver has (chart and plain manifests alike).
/// The driver container's name in the chart and in the plain manifests.
pub const DRIVER_CONTAINER: &str = "secrets-store";

#[derive(Debug, thiserror::Error)]
pub enum ExistingError {
    #[error("no kubeconfig: set KUBECONFIG or create ~/.kube/config")]
    NoKubeconfig,
    #[error(
        "KUBECONFIG lists several files ({0}); the bench passes one file to kubectl: \
         `kubectl config view --flatten > FILE` and set KUBECONFIG=FILE"
    )]
    SeveralKubeconfigs(String),
    #[error("kubeconfig {} does not exist (set KUBECONFIG)", .0.display())]
    KubeconfigMissing(PathBuf),
    #[error(
        "{ENV_EMULATOR_HOST} is not set: the existing backend needs an address of this machine \
         that pods in the cluster can reach (the emulators listen there)"
    )]
    NoEmulatorHost,
    #[error("{ENV_EMULATOR_HOST} must be a host name or an IP address, not `{0}`")]
    BadEmulatorHost(String),
    #[error(
        "{ENV_EMULATOR_HOST}={0}: the emulators listen there and pods get it in hostAliases, so it must be an IP address of this machine"
    )]
    EmulatorHostNotIp(String),
    #[error("`kubectl` is not on PATH: the existing backend talks to the cluster with it")]
    NoKubectl,
    #[error(
        "the cluster has no Secrets Store CSI Driver: no DaemonSet in any namespace has a \
         `{DRIVER_CONTAINER}` container. Install it first, e.g. `helm install csi-secrets-store \
         secrets-store-csi-driver --repo https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts \
         -n kube-system --set syncSecret.enabled=true --set enableSecretRotation=true`"
    )]
    NoDriver,
    #[error("the driver DaemonSet {daemonset} is not rolled out ({status}): {source}")]
    NotRolledOut {
        /// `namespace/name`.
        daemonset: String,
        status: String,
        #[source]
        source: Box<CmdError>,
    },
    #[error("`helm` is not on PATH: `up --install` installs the plan's charts with it")]
    NoHelm,
    #[error(
        "--bundle on the existing backend needs --install: the bench installs into a cluster it \
         did not make only when asked"
    )]
    BundleWithoutInstall,
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error("reading the cluster's DaemonSets: {0}")]
    Parse(String),
    #[error(transparent)]
    Cmd(#[from] CmdError),
}

/// `$KUBECONFIG` when it names one file, else `~/.kube/config` (kubectl's own rule; an empty
/// `KUBECONFIG` counts as unset, as kubectl has it).
pub fn resolve_kubeconfig(
    kubeconfig_env: Option<&OsStr>,
    home: Option<&Path>,
) -> Result<PathBuf, ExistingError> {
    if let Some(value) = kubeconfig_env {
        let mut paths: Vec<PathBuf> = std::env::split_paths(value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if paths.len() > 1 {
            return Err(ExistingError::SeveralKubeconfigs(
                value.to_string_lossy().into_owned(),
            ));
        }
        if let Some(one) = paths.pop() {
            return Ok(one);
        }
    }
    home.map(|h| h.join(".kube").join("config"))
        .ok_or(ExistingError::NoKubeconfig)
}

/// The value of `SECRETBENCH_EMULATOR_HOST`, checked.
pub fn emulator_host_from(value: Option<&str>) -> Result<String, ExistingError> {
    let host = value.map(str::trim).filter(|v| !v.is_empty());
    let host = host.ok_or(ExistingError::NoEmulatorHost)?;
    if host.contains(['/', ' ', '\t']) || host.contains("://") {
        return Err(ExistingError::BadEmulatorHost(host.to_owned()));
    }
    Ok(host.to_owned())
}

/// What `up` (and the runner, for the driver's flags) needs to know of one DaemonSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSetInfo {
    pub namespace: String,
    pub name: String,
    pub containers: Vec<String>,
    pub images: Vec<String>,
    pub desired: i64,
    pub updated: i64,
    pub available: i64,
    pub generation: i64,
    pub observed_generation: i64,
    /// The arguments of its [`DRIVER_CONTAINER`] container, if it has one (e.g.
    /// `--rotation-poll-interval=10s`).
    pub driver_args: Vec<String>,
}

impl DaemonSetInfo {
    /// `kubectl rollout status`'s test: the controller saw the latest spec and every
    /// scheduled pod is updated and available.
    pub fn rolled_out(&self) -> bool {
        self.observed_generation >= self.generation
            && self.updated == self.desired
            && self.available == self.desired
    }

    pub fn status(&self) -> String {
        format!(
            "{} desired, {} updated, {} available",
            self.desired, self.updated, self.available
        )
    }
}

/// `kubectl get daemonsets -A -o json` → one [`DaemonSetInfo`] per item.
pub fn parse_daemonsets(json: &str) -> Result<Vec<DaemonSetInfo>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let items = v["items"]
        .as_array()
        .ok_or("no `items` list in the output")?;
    Ok(items.iter().map(daemonset_info).collect())
}

/// Every DaemonSet in the cluster, through the API client.
pub async fn daemonsets(api: &KubeApi) -> Result<Vec<DaemonSetInfo>, ApiError> {
    let items = api.list(None, "daemonsets", None).await?;
    Ok(items.iter().map(daemonset_info).collect())
}

/// What the bench reads off one DaemonSet object.
fn daemonset_info(d: &serde_json::Value) -> DaemonSetInfo {
    let text = |x: &serde_json::Value| x.as_str().unwrap_or_default().to_owned();
    let num = |x: &serde_json::Value| x.as_i64().unwrap_or(0);
    let containers = d
        .pointer("/spec/template/spec/containers")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    DaemonSetInfo {
        namespace: text(&d["metadata"]["namespace"]),
        name: text(&d["metadata"]["name"]),
        containers: containers.iter().map(|c| text(&c["name"])).collect(),
        images: containers.iter().map(|c| text(&c["image"])).collect(),
        desired: num(&d["status"]["desiredNumberScheduled"]),
        updated: num(&d["status"]["updatedNumberScheduled"]),
        available: num(&d["status"]["numberAvailable"]),
        generation: num(&d["metadata"]["generation"]),
        observed_generation: num(&d["status"]["observedGeneration"]),
        driver_args: containers
            .iter()
            .filter(|c| c["name"] == DRIVER_CONTAINER)
            .flat_map(|c| c["args"].as_array().cloned().unwrap_or_default())
            .map(|a| text(&a))
            .collect(),
    }
}

/// The driver's DaemonSet: the one with a `secrets-store` container.
pub fn find_driver(daemonsets: &[DaemonSetInfo]) -> Option<&DaemonSetInfo> {
    daemonsets
        .iter()
        .find(|d| d.containers.iter().any(|c| c == DRIVER_CONTAINER))
}

/// The cluster of the user's kubeconfig.
#[derive(Debug)]
pub struct ExistingCluster {
    stack: Stack,
    /// Where `up --install` keeps helm's home and the values files.
    root: PathBuf,
    /// Tests: where kubectl is looked up instead of `PATH`, and the kubeconfig instead of
    /// `KUBECONFIG` (the environment cannot be changed safely in a threaded test).
    search_path: Option<OsString>,
    kubeconfig_override: Option<PathBuf>,
}

impl ExistingCluster {
    pub fn new(stack: Stack) -> Self {
        Self {
            stack,
            root: super::host::StateDir::base_from_env().join("existing"),
            search_path: None,
            kubeconfig_override: None,
        }
    }

    #[cfg(test)]
    fn with_test_env(stack: Stack, root: &Path, search_path: &Path, kubeconfig: &Path) -> Self {
        Self {
            stack,
            root: root.to_owned(),
            search_path: Some(search_path.into()),
            kubeconfig_override: Some(kubeconfig.to_path_buf()),
        }
    }

    fn find(&self, tool: &str) -> Option<PathBuf> {
        match &self.search_path {
            Some(path) => tools::find_in_path(tool, path),
            None => tools::which(tool),
        }
    }

    pub fn kubeconfig(&self) -> Result<PathBuf, ExistingError> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let path = match &self.kubeconfig_override {
            Some(p) => p.clone(),
            None => resolve_kubeconfig(std::env::var_os("KUBECONFIG").as_deref(), home.as_deref())?,
        };
        if path.is_file() {
            Ok(path)
        } else {
            Err(ExistingError::KubeconfigMissing(path))
        }
    }

    pub fn kubectl(&self) -> Result<Kubectl, ExistingError> {
        let bin = self.find("kubectl").ok_or(ExistingError::NoKubectl)?;
        Ok(Kubectl::new(bin, self.kubeconfig()?))
    }

    /// With `--install`, installs the plan; then checks that the driver is installed and
    /// rolled out, and says which providers it sees no DaemonSet of.
    pub async fn up(&self, opts: &UpOptions) -> Result<PathBuf, ExistingError> {
        let mut pr = Progress::new("existing up");
        let kubectl = self.kubectl()?;
        let plan = opts
            .plan(self.stack.versions())
            .map_err(InstallError::from)?;
        if opts.install {
            let bundle = match &opts.bundle {
                Some(dir) => Some(Bundle::open(dir, &plan).map_err(InstallError::from)?),
                None => None,
            };
            let helm_bin = self.find("helm").ok_or(ExistingError::NoHelm)?;
            let helm = Helm::new(helm_bin, self.root.join("helm"), kubectl.kubeconfig());
            let installer = Installer {
                plan: &plan,
                helm: &helm,
                kubectl: &kubectl,
                work: self.root.join("install"),
            };
            let sources = ChartSources {
                stack: Default::default(),
                bundle: bundle.as_ref(),
                repositories: true,
            };
            let outcome = installer
                .install(&sources, &Images::Pulled, false, &mut pr)
                .await?;
            pr.step(outcome.summary());
        } else if opts.bundle.is_some() {
            return Err(ExistingError::BundleWithoutInstall);
        }
        let out = kubectl
            .cmd([
                "--request-timeout=30s",
                "get",
                "daemonsets",
                "--all-namespaces",
                "-o",
                "json",
            ])
            .timeout(Duration::from_secs(40))
            .output()
            .await?;
        let daemonsets = parse_daemonsets(&out).map_err(ExistingError::Parse)?;
        let driver = find_driver(&daemonsets).ok_or(ExistingError::NoDriver)?;
        let ds = format!("ds/{}", driver.name);
        if let Err(source) = kubectl
            .cmd([
                "-n",
                &driver.namespace,
                "rollout",
                "status",
                &ds,
                "--timeout=120s",
            ])
            .timeout(Duration::from_secs(130))
            .output()
            .await
        {
            return Err(ExistingError::NotRolledOut {
                daemonset: format!("{}/{}", driver.namespace, driver.name),
                status: driver.status(),
                source: Box::new(source),
            });
        }
        pr.step(format!(
            "driver DaemonSet {}/{} rolled out",
            driver.namespace, driver.name
        ));
        let running = crate::install::providers_running(&plan, &daemonsets);
        for p in Provider::ALL.into_iter().filter(|p| !running.contains(p)) {
            tracing::warn!(provider = %p, "no DaemonSet runs this provider's image");
            pr.step(format!(
                "no {p} provider DaemonSet found: {p} cases are skipped until it is installed (`up --install`)"
            ));
        }
        Ok(kubectl.kubeconfig().to_path_buf())
    }

    /// Leaves the cluster as it is: the bench did not make it.
    pub async fn down(&self) -> Result<(), ExistingError> {
        let mut pr = Progress::new("existing down");
        pr.step("the cluster is not the bench's: nothing to take down");
        Ok(())
    }

    pub fn emulator_host(&self) -> Result<String, ExistingError> {
        emulator_host_from(std::env::var(ENV_EMULATOR_HOST).ok().as_deref())
    }

    /// `SECRETBENCH_EMULATOR_HOST`, where the emulators also listen (as before the listen and
    /// advertised addresses were told apart).
    pub fn emulator_address(&self) -> Result<crate::cluster::EmulatorAddress, ExistingError> {
        let host = self.emulator_host()?;
        let ip = host
            .parse()
            .map_err(|_| ExistingError::EmulatorHostNotIp(host.clone()))?;
        Ok(crate::cluster::EmulatorAddress::same(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_from_env_or_home() {
        let home = Path::new("/home/u");
        assert_eq!(
            resolve_kubeconfig(Some(OsStr::new("/k/config")), Some(home)).unwrap(),
            Path::new("/k/config")
        );
        assert_eq!(
            resolve_kubeconfig(None, Some(home)).unwrap(),
            Path::new("/home/u/.kube/config")
        );
        assert_eq!(
            resolve_kubeconfig(Some(OsStr::new("")), Some(home)).unwrap(),
            Path::new("/home/u/.kube/config"),
            "empty KUBECONFIG is unset"
        );
        assert_eq!(
            resolve_kubeconfig(Some(OsStr::new("/k/a:")), Some(home)).unwrap(),
            Path::new("/k/a")
        );
        assert!(matches!(
            resolve_kubeconfig(Some(OsStr::new("/k/a:/k/b")), Some(home)),
            Err(ExistingError::SeveralKubeconfigs(_))
        ));
        assert!(matches!(
            resolve_kubeconfig(None, None),
            Err(ExistingError::NoKubeconfig)
        ));
    }

    #[test]
    fn emulator_host_is_required() {
        assert_eq!(emulator_host_from(Some("10.0.0.5")).unwrap(), "10.0.0.5");
        assert_eq!(
            emulator_host_from(Some(" bench.internal\n")).unwrap(),
            "bench.internal"
        );
        let e = emulator_host_from(None).unwrap_err().to_string();
        assert!(e.contains(ENV_EMULATOR_HOST), "{e}");
        assert!(matches!(
            emulator_host_from(Some("  ")),
            Err(ExistingError::NoEmulatorHost)
        ));
        assert!(matches!(
            emulator_host_from(Some("http://10.0.0.5:8200")),
            Err(ExistingError::BadEmulatorHost(_))
        ));
    }

    fn ds(ns: &str, name: &str, containers: &[(&str, &str)], status: [i64; 5]) -> String {
        let cs: Vec<_> = containers
            .iter()
            .map(|(n, i)| serde_json::json!({"name": n, "image": i}))
            .collect();
        serde_json::json!({
            "metadata": {"namespace": ns, "name": name, "generation": status[3]},
            "spec": {"template": {"spec": {"containers": cs}}},
            "status": {
                "desiredNumberScheduled": status[0],
                "updatedNumberScheduled": status[1],
                "numberAvailable": status[2],
                "observedGeneration": status[4],
            }
        })
        .to_string()
    }

    fn list(items: &[String]) -> String {
        format!(
            r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#,
            items.join(",")
        )
    }

    #[test]
    fn finds_the_driver_and_its_rollout() {
        let chart = ds(
            "kube-system",
            "csi-secrets-store-secrets-store-csi-driver",
            &[
                (
                    "node-driver-registrar",
                    "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.16.0",
                ),
                (
                    "secrets-store",
                    "registry.k8s.io/csi-secrets-store/driver:v1.6.0",
                ),
                (
                    "liveness-probe",
                    "registry.k8s.io/sig-storage/livenessprobe:v2.18.0",
                ),
            ],
            [3, 3, 3, 2, 2],
        );
        let other = ds(
            "kube-system",
            "kube-proxy",
            &[("kube-proxy", "k")],
            [3, 3, 3, 1, 1],
        );
        let all = parse_daemonsets(&list(&[other.clone(), chart])).unwrap();
        let d = find_driver(&all).unwrap();
        assert_eq!(d.name, "csi-secrets-store-secrets-store-csi-driver");
        assert!(d.rolled_out());

        // Installed from the plain manifests (deploy/secrets-store-csi-driver.yaml), mid-rollout.
        let yaml = ds(
            "kube-system",
            "csi-secrets-store",
            &[(
                "secrets-store",
                "registry.k8s.io/csi-secrets-store/driver:v1.6.0",
            )],
            [3, 1, 2, 4, 4],
        );
        let all = parse_daemonsets(&list(&[yaml])).unwrap();
        let d = find_driver(&all).unwrap();
        assert_eq!(d.name, "csi-secrets-store");
        assert!(!d.rolled_out());
        assert_eq!(d.status(), "3 desired, 1 updated, 2 available");

        let stale = ds("ns", "x", &[("secrets-store", "d")], [1, 1, 1, 5, 4]);
        assert!(!parse_daemonsets(&list(&[stale])).unwrap()[0].rolled_out());

        let none = parse_daemonsets(&list(&[other])).unwrap();
        assert!(find_driver(&none).is_none());
        assert!(parse_daemonsets(&list(&[])).unwrap().is_empty());
        assert!(parse_daemonsets("{}").is_err());
        assert!(parse_daemonsets("error: the server doesn't have a resource type").is_err());
    }

    #[test]
    fn driver_arguments_are_read() {
        let json = r#"{"items": [{"metadata": {"namespace": "kube-system", "name": "d"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "node-driver-registrar", "args": ["--v=5"]},
                {"name": "secrets-store", "args": ["--endpoint=x", "--rotation-poll-interval=10s"]}]}}},
            "status": {}}]}"#;
        let all = parse_daemonsets(json).unwrap();
        assert_eq!(
            find_driver(&all).unwrap().driver_args,
            vec![
                "--endpoint=x".to_owned(),
                "--rotation-poll-interval=10s".to_owned()
            ]
        );
    }

    fn stack() -> Stack {
        Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap()
    }

    /// A fake kubectl (shell builtins only) that prints `daemonsets.json` for `get daemonsets`
    /// and fails `rollout status` when `rollout-fails` is not empty.
    fn fake_kubectl(dir: &Path) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let (json, fails, log) = (
            dir.join("daemonsets.json"),
            dir.join("rollout-fails"),
            dir.join("log"),
        );
        std::fs::write(&fails, "").unwrap();
        let script = format!(
            r#"#!/bin/sh
printf '%s\n' "$*" >> '{log}'
case "$*" in
  *"get daemonsets --all-namespaces -o json"*)
    while IFS= read -r line || [ -n "$line" ]; do printf '%s\n' "$line"; done < '{json}' ;;
  *"rollout status"*)
    if [ -s '{fails}' ]; then printf 'error: timed out waiting for the condition\n' >&2; exit 1; fi ;;
  *) exit 9 ;;
esac
"#,
            log = log.display(),
            json = json.display(),
            fails = fails.display(),
        );
        let k = bin.join("kubectl");
        std::fs::write(&k, script).unwrap();
        std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin
    }

    #[tokio::test]
    async fn up_checks_the_driver_with_a_fake_kubectl() {
        let tmp = tempfile::tempdir().unwrap();
        let bin = fake_kubectl(tmp.path());
        let kc = tmp.path().join("config");
        std::fs::write(&kc, "apiVersion: v1\n").unwrap();
        let c = ExistingCluster::with_test_env(stack(), tmp.path(), &bin, &kc);
        let up = UpOptions::default();
        let json = tmp.path().join("daemonsets.json");

        std::fs::write(&json, list(&[])).unwrap();
        let e = c.up(&up).await.unwrap_err();
        assert!(matches!(e, ExistingError::NoDriver), "{e}");
        assert!(
            e.to_string().contains("helm install csi-secrets-store"),
            "{e}"
        );

        let driver = ds(
            "csi",
            "secrets-store-csi-driver",
            &[(
                "secrets-store",
                "registry.k8s.io/csi-secrets-store/driver:v1.6.0",
            )],
            [2, 1, 1, 3, 3],
        );
        std::fs::write(&json, list(&[driver])).unwrap();
        std::fs::write(tmp.path().join("rollout-fails"), "x").unwrap();
        let e = c.up(&up).await.unwrap_err().to_string();
        assert!(
            e.contains("csi/secrets-store-csi-driver is not rolled out"),
            "{e}"
        );
        assert!(e.contains("2 desired, 1 updated, 1 available"), "{e}");

        std::fs::write(tmp.path().join("rollout-fails"), "").unwrap();
        std::fs::write(tmp.path().join("log"), "").unwrap();
        assert_eq!(c.up(&up).await.unwrap(), kc);
        let log = std::fs::read_to_string(tmp.path().join("log")).unwrap();
        assert!(
            log.contains("-n csi rollout status ds/secrets-store-csi-driver --timeout=120s"),
            "{log}"
        );
        c.down().await.unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("log")).unwrap(),
            log,
            "down runs nothing"
        );

        let gone =
            ExistingCluster::with_test_env(stack(), tmp.path(), &bin, &tmp.path().join("nope"));
        assert!(matches!(
            gone.up(&up).await,
            Err(ExistingError::KubeconfigMissing(_))
        ));
        let no_kubectl = ExistingCluster::with_test_env(stack(), tmp.path(), tmp.path(), &kc);
        assert!(matches!(
            no_kubectl.up(&up).await,
            Err(ExistingError::NoKubectl)
        ));
        let bundle_alone = UpOptions {
            bundle: Some(tmp.path().to_owned()),
            install: false,
            versions: None,
        };
        assert!(matches!(
            c.up(&bundle_alone).await,
            Err(ExistingError::BundleWithoutInstall)
        ));
        let install = UpOptions {
            bundle: None,
            install: true,
            versions: None,
        };
        assert!(matches!(c.up(&install).await, Err(ExistingError::NoHelm)));
    }
}
