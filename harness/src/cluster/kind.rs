//! The `kind` backend: a one-node kind cluster with the install plan (`crate::install`): charts
//! from a bundle (`--bundle`, loaded with `kind load image-archive`) or else from their upstream
//! Helm repositories, images from the bundle or else pulled. It needs Docker, and the internet
//! for whatever the bundle does not carry, so it runs on CI and laptops.
//!
//! - Cluster `secretbench`, node image pinned by digest in `stack/versions.env`
//!   (`KIND_NODE_IMAGE_V<major>_<minor>`), config `kind-config.yaml` at the top of the checkout.
//! - kubeconfig in the state dir, never in `~/.kube/config`.
//! - `kind`, `helm`, `kubectl` and `docker` come from PATH.
//! - The emulators listen on the gateway of the Docker network `kind`: that address is this
//!   machine's, and the node (so every pod) routes to it.
//!
//! State: `${SECRETBENCH_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/secretbench}/kind`.

use std::ffi::OsString;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::host::StateDir;
use super::tools;
use super::{Progress, UpOptions};
use crate::cmd::{Cmd, CmdError};
use crate::install::helm::Helm;
use crate::install::{Bundle, ChartSources, Images, InstallError, Installer, Plan};
use crate::kubectl::Kubectl;
use crate::stack::{Stack, StackError, Versions};
use crate::wait;

/// The kind cluster's name.
pub const CLUSTER: &str = "secretbench";
/// Its only node (kind names it `<cluster>-control-plane`).
pub const NODE: &str = "secretbench-control-plane";

/// A node image to use as is, instead of the one pinned for a Kubernetes version.
pub const ENV_NODE_IMAGE: &str = "SECRETBENCH_KIND_NODE_IMAGE";
/// The Kubernetes version to run (`v1.35`, `1.35.5`); it must have a pinned node image.
pub const ENV_KUBERNETES_VERSION: &str = "SECRETBENCH_KUBERNETES_VERSION";
/// Another kind config file than the checkout's `kind-config.yaml`.
pub const ENV_CONFIG: &str = "SECRETBENCH_KIND_CONFIG";
/// kind's own override of its Docker network's name.
const ENV_NETWORK: &str = "KIND_EXPERIMENTAL_DOCKER_NETWORK";
const DEFAULT_NETWORK: &str = "kind";

/// `kind create cluster --wait`: how long kind waits for the control plane to be Ready.
const CREATE_WAIT: &str = "120s";
/// The whole `kind create cluster`, first image pull included.
const CREATE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// How often the node's readiness is checked.
const POLL: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum KindError {
    #[error("`{tool}` is not on PATH: {hint}")]
    MissingTool { tool: &'static str, hint: String },
    #[error(transparent)]
    Cmd(#[from] CmdError),
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(transparent)]
    Timeout(#[from] wait::Timeout),
    #[error("kind node image: {0}")]
    NodeImage(String),
    #[error("docker network `{network}`: {message}")]
    Network { network: String, message: String },
    #[error("kind config {} does not exist (set {ENV_CONFIG} to use another file)", .0.display())]
    NoConfig(PathBuf),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What can be chosen about the cluster without a new CLI flag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindOptions {
    /// A node image used as is ([`ENV_NODE_IMAGE`]).
    pub node_image: Option<String>,
    /// A Kubernetes version with a pinned node image ([`ENV_KUBERNETES_VERSION`]); default:
    /// the first of `KIND_KUBERNETES_VERSIONS`.
    pub kubernetes_version: Option<String>,
    /// The kind config ([`ENV_CONFIG`]); default: `kind-config.yaml` next to `stack/`.
    pub config: Option<PathBuf>,
}

impl KindOptions {
    pub fn from_env() -> Self {
        let var = |k| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Self {
            node_image: var(ENV_NODE_IMAGE),
            kubernetes_version: var(ENV_KUBERNETES_VERSION),
            config: var(ENV_CONFIG).map(PathBuf::from),
        }
    }
}

/// `v1.35.5`, `1.35` → (1, 35, Some(5)), (1, 35, None).
pub fn parse_kubernetes_version(s: &str) -> Option<(u32, u32, Option<u32>)> {
    let s = s.trim();
    let s = s.strip_prefix('v').unwrap_or(s);
    let mut parts = s.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = match parts.next() {
        Some(p) => Some(p.parse().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor, patch))
}

/// The Kubernetes version in a node image's tag: `kindest/node:v1.34.8@sha256:…` → `v1.34.8`.
pub fn image_kubernetes_version(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next()?;
    let (_, tag) = without_digest.rsplit_once(':')?;
    // `localhost:5000/node` has a colon but no tag.
    if tag.contains('/') {
        return None;
    }
    let (_, _, patch) = parse_kubernetes_version(tag)?;
    patch.is_some().then_some(tag)
}

/// The node image for `options`: the override, else the image `versions.env` pins for the
/// requested (or default) Kubernetes version.
pub fn node_image(versions: &Versions, options: &KindOptions) -> Result<String, KindError> {
    if let Some(image) = &options.node_image {
        return Ok(image.clone());
    }
    let pinned = versions.get("KIND_KUBERNETES_VERSIONS")?;
    let wanted = match &options.kubernetes_version {
        Some(v) => v.as_str(),
        None => pinned.split(',').next().unwrap_or_default(),
    };
    let (major, minor, patch) = parse_kubernetes_version(wanted).ok_or_else(|| {
        KindError::NodeImage(format!(
            "`{wanted}` is not a Kubernetes version (like v1.35 or v1.35.5)"
        ))
    })?;
    let key = format!("KIND_NODE_IMAGE_V{major}_{minor}");
    let image = versions.get(&key).map_err(|_| {
        KindError::NodeImage(format!(
            "stack/versions.env pins no node image for Kubernetes v{major}.{minor} (no {key}; \
             pinned: {pinned}); add one from the kind release notes or set {ENV_NODE_IMAGE}"
        ))
    })?;
    if let Some(patch) = patch {
        let want = format!("v{major}.{minor}.{patch}");
        if image_kubernetes_version(image) != Some(want.as_str()) {
            return Err(KindError::NodeImage(format!(
                "stack/versions.env pins {image} ({key}) for v{major}.{minor}, not {want}; \
                 ask for v{major}.{minor} or set {ENV_NODE_IMAGE}"
            )));
        }
    }
    Ok(image.to_owned())
}

/// Why a running cluster does not match the requested image, if it does not.
pub fn version_mismatch(kubelet_version: &str, image: &str) -> Option<String> {
    let want = image_kubernetes_version(image)?;
    let have = kubelet_version.trim();
    (have != want).then(|| format!("it runs Kubernetes {have}, not {want}"))
}

/// `kind load image-archive FILE --name secretbench`: a bundle's image into the node's
/// containerd (docker-archive and OCI archives alike; kind imports with `ctr`).
pub fn load_archive_args(archive: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["load", "image-archive"]
        .iter()
        .map(OsString::from)
        .collect();
    args.push(archive.into());
    args.push("--name".into());
    args.push(CLUSTER.into());
    args
}

/// `kind create cluster` arguments.
pub fn create_args(image: &str, config: &Path, kubeconfig: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["create", "cluster", "--name", CLUSTER, "--image", image]
        .iter()
        .map(OsString::from)
        .collect();
    args.push("--config".into());
    args.push(config.into());
    args.push("--kubeconfig".into());
    args.push(kubeconfig.into());
    args.push("--wait".into());
    args.push(CREATE_WAIT.into());
    args
}

/// `kind delete cluster`, touching only our kubeconfig (kind would otherwise edit
/// `$KUBECONFIG` or `~/.kube/config`).
pub fn delete_args(kubeconfig: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["delete", "cluster", "--name", CLUSTER, "--kubeconfig"]
        .iter()
        .map(OsString::from)
        .collect();
    args.push(kubeconfig.into());
    args
}

pub fn export_kubeconfig_args(kubeconfig: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["export", "kubeconfig", "--name", CLUSTER, "--kubeconfig"]
        .iter()
        .map(OsString::from)
        .collect();
    args.push(kubeconfig.into());
    args
}

/// Whether `kind get clusters` output (one name a line) lists `name`.
pub fn lists_cluster(out: &str, name: &str) -> bool {
    out.lines().any(|l| l.trim() == name)
}

/// kind's Docker network: `kind`, unless kind is told otherwise.
pub fn network_name(env_override: Option<&str>) -> String {
    env_override
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(DEFAULT_NETWORK)
        .to_owned()
}

/// The IPv4 gateway of a network from `docker network inspect` output.
///
/// Docker does not always fill `IPAM.Config[].Gateway`: it is missing when the daemon picked
/// the address itself on some versions (moby#26799), empty on others (moby#51890), and was once
/// given in CIDR form (moby#26522). The bridge's default gateway is the subnet's first address,
/// so that is the fallback.
pub fn gateway_ipv4(inspect_json: &str) -> Result<Ipv4Addr, String> {
    let v: serde_json::Value = serde_json::from_str(inspect_json)
        .map_err(|e| format!("unreadable inspect output: {e}"))?;
    let configs = v
        .get(0)
        .and_then(|n| n.pointer("/IPAM/Config"))
        .and_then(serde_json::Value::as_array)
        .ok_or("no IPAM.Config in the inspect output")?;
    let field = |c: &serde_json::Value, k: &str| {
        c.get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let gateway = configs.iter().find_map(|c| {
        let gw = field(c, "Gateway")?;
        let addr = gw.split('/').next()?;
        addr.parse::<Ipv4Addr>().ok()
    });
    if let Some(gw) = gateway {
        return Ok(gw);
    }
    configs
        .iter()
        .find_map(|c| first_host(&field(c, "Subnet")?))
        .ok_or_else(|| "no IPv4 gateway or subnet in IPAM.Config".to_owned())
}

/// The first host address of an IPv4 CIDR (`172.18.0.0/16` → `172.18.0.1`).
fn first_host(cidr: &str) -> Option<Ipv4Addr> {
    let (addr, bits) = cidr.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    if bits > 30 {
        return None;
    }
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    Some(Ipv4Addr::from((u32::from(addr) & mask) + 1))
}

/// How to get a missing tool, naming the `versions.env` key that pins it.
pub fn install_hint(tool: &str, versions: &Versions) -> String {
    let pinned = |key: &str| versions.get(key).unwrap_or("?").to_owned();
    match tool {
        "kind" => format!(
            "the kind backend needs kind {v} (KIND_VERSION in stack/versions.env): \
             `go install sigs.k8s.io/kind@{v}`",
            v = pinned("KIND_VERSION")
        ),
        "helm" => format!(
            "the kind backend needs helm {v} (HELM_VERSION in stack/versions.env): \
             `go install helm.sh/helm/v3/cmd/helm@{v}`",
            v = pinned("HELM_VERSION")
        ),
        "kubectl" => format!(
            "install kubectl within one minor version of the cluster's Kubernetes \
             (KIND_KUBERNETES_VERSIONS in stack/versions.env: {})",
            pinned("KIND_KUBERNETES_VERSIONS")
        ),
        "docker" => "kind runs its node as a Docker container: install Docker and let this \
                     user run it"
            .to_owned(),
        _ => "install it".to_owned(),
    }
}

#[derive(Debug, Clone)]
struct Tools {
    kind: PathBuf,
    helm: PathBuf,
    kubectl: PathBuf,
}

/// The one-node kind cluster.
#[derive(Debug)]
pub struct KindCluster {
    stack: Stack,
    root: PathBuf,
    options: KindOptions,
    /// Where the programs are looked up instead of `PATH` (tests run fakes of them).
    search_path: Option<OsString>,
}

impl KindCluster {
    /// State under the common state base, options from the environment.
    pub fn new(stack: Stack) -> Self {
        Self::with_options(
            stack,
            StateDir::base_from_env().join("kind"),
            KindOptions::from_env(),
        )
    }

    pub fn with_options(stack: Stack, root: PathBuf, options: KindOptions) -> Self {
        Self {
            stack,
            root,
            options,
            search_path: None,
        }
    }

    #[cfg(test)]
    fn with_search_path(mut self, path: impl Into<OsString>) -> Self {
        self.search_path = Some(path.into());
        self
    }

    /// The cluster's admin kubeconfig (written by kind at create time or by
    /// `kind export kubeconfig` when an existing cluster is reused).
    pub fn kubeconfig(&self) -> PathBuf {
        self.root.join("kubeconfig")
    }

    fn require(&self, tool: &'static str) -> Result<PathBuf, KindError> {
        let found = match &self.search_path {
            Some(path) => tools::find_in_path(tool, path),
            None => tools::which(tool),
        };
        found.ok_or_else(|| KindError::MissingTool {
            tool,
            hint: install_hint(tool, self.stack.versions()),
        })
    }

    fn tools(&self) -> Result<Tools, KindError> {
        let found = Tools {
            kind: self.require("kind")?,
            helm: self.require("helm")?,
            kubectl: self.require("kubectl")?,
        };
        self.require("docker")?;
        Ok(found)
    }

    /// Says when kind or helm is not the pinned version; other versions usually work, and the
    /// warning explains a difference from CI.
    async fn warn_on_version_drift(&self, t: &Tools) {
        let v = self.stack.versions();
        let checks = [
            ("kind", &t.kind, "version", "KIND_VERSION"),
            ("helm", &t.helm, "version --short", "HELM_VERSION"),
        ];
        for (tool, path, args, key) in checks {
            let Ok(pinned) = v.get(key) else { continue };
            let out = Cmd::new(path)
                .args(args.split(' '))
                .timeout(Duration::from_secs(30))
                .output()
                .await
                .unwrap_or_default();
            let found = match tool {
                "kind" => tools::parse_kind_version(&out),
                _ => tools::parse_helm_version(&out),
            };
            if found != Some(pinned) {
                tracing::warn!(
                    tool,
                    found = found.unwrap_or("unknown"),
                    pinned,
                    "not the version pinned in stack/versions.env ({key})"
                );
            }
        }
    }

    fn config_path(&self) -> Result<PathBuf, KindError> {
        let path = match &self.options.config {
            Some(p) => p.clone(),
            None => self
                .stack
                .dir()
                .parent()
                .map_or_else(|| self.stack.dir().join(".."), Path::to_path_buf)
                .join("kind-config.yaml"),
        };
        if path.is_file() {
            Ok(path)
        } else {
            Err(KindError::NoConfig(path))
        }
    }

    /// helm with our own home: no repository or cache of the user's is read or changed.
    fn helm(&self, t: &Tools) -> Helm {
        Helm::new(&t.helm, self.root.join("helm"), &self.kubeconfig())
    }

    /// Why the existing cluster cannot be reused, or `None` when it can.
    async fn unusable(&self, t: &Tools, kubectl: &Kubectl, image: &str) -> Option<String> {
        let exported = Cmd::new(&t.kind)
            .args(export_kubeconfig_args(&self.kubeconfig()))
            .timeout(Duration::from_secs(60))
            .output()
            .await;
        if let Err(e) = exported {
            return Some(format!("its kubeconfig cannot be exported ({e})"));
        }
        if !kubectl
            .ok(["--request-timeout=10s", "get", "--raw", "/readyz"])
            .await
        {
            return Some("its API server is not ready".to_owned());
        }
        if !kubectl.node_ready(NODE).await {
            return Some(format!("node {NODE} is not Ready"));
        }
        let kubelet = kubectl
            .run([
                "--request-timeout=10s",
                "get",
                "node",
                NODE,
                "-o",
                "jsonpath={.status.nodeInfo.kubeletVersion}",
            ])
            .await
            .unwrap_or_default();
        version_mismatch(&kubelet, image)
    }

    /// Creates the cluster (or reuses a healthy one with the requested Kubernetes), loads a
    /// bundle's images, installs the plan and waits for its DaemonSets; returns the kubeconfig.
    pub async fn up(&self, opts: &UpOptions) -> Result<PathBuf, KindError> {
        let mut pr = Progress::new("kind up");
        let t = self.tools()?;
        let versions = self.stack.versions();
        let image = node_image(versions, &self.options)?;
        let config = self.config_path()?;
        let plan = Plan::from_versions(versions)?;
        let bundle = match &opts.bundle {
            Some(dir) => Some(Bundle::open(dir, &plan).map_err(InstallError::from)?),
            None => None,
        };
        self.warn_on_version_drift(&t).await;
        tokio::fs::create_dir_all(&self.root)
            .await
            .map_err(|source| KindError::Io {
                action: "creating",
                path: self.root.clone(),
                source,
            })?;
        pr.step(format!(
            "kind, helm, kubectl and docker found; node image {image}"
        ));

        let kc = self.kubeconfig();
        let kubectl = Kubectl::new(&t.kubectl, &kc);
        let clusters = Cmd::new(&t.kind)
            .args(["get", "clusters"])
            .timeout(Duration::from_secs(60))
            .output()
            .await?;
        let mut reuse = false;
        if lists_cluster(&clusters, CLUSTER) {
            match self.unusable(&t, &kubectl, &image).await {
                None => {
                    reuse = true;
                    pr.step(format!(
                        "kind cluster {CLUSTER} exists and is healthy: reusing it"
                    ));
                }
                Some(why) => {
                    pr.step(format!(
                        "kind cluster {CLUSTER} exists but {why}: recreating it"
                    ));
                    Cmd::new(&t.kind)
                        .args(delete_args(&kc))
                        .timeout(Duration::from_secs(180))
                        .output()
                        .await?;
                }
            }
        }
        if !reuse {
            Cmd::new(&t.kind)
                .args(create_args(&image, &config, &kc))
                .timeout(CREATE_TIMEOUT)
                .output()
                .await?;
            pr.step(format!("kind cluster {CLUSTER} created"));
        }
        wait::until(
            &format!("node {NODE} Ready"),
            Duration::from_secs(120),
            POLL,
            || async { Ok::<_, KindError>(kubectl.node_ready(NODE).await) },
        )
        .await?;
        pr.step(format!("node {NODE} Ready"));

        if let Some(b) = &bundle {
            for archive in &b.images {
                Cmd::new(&t.kind)
                    .args(load_archive_args(&archive.path))
                    .timeout(Duration::from_secs(600))
                    .output()
                    .await?;
            }
            pr.step(format!(
                "bundle {}: {} image archive(s) loaded",
                b.dir.display(),
                b.images.len()
            ));
        }
        let helm = self.helm(&t);
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
        eprintln!(
            "[kind up] node Ready, driver and providers Running in {:.1}s",
            pr.elapsed_secs()
        );
        Ok(kc)
    }

    /// Deletes the cluster (nothing to do when there is none) and its kubeconfig.
    pub async fn down(&self) -> Result<(), KindError> {
        let mut pr = Progress::new("kind down");
        let kind = self.require("kind")?;
        let kc = self.kubeconfig();
        Cmd::new(kind)
            .args(delete_args(&kc))
            .timeout(Duration::from_secs(180))
            .output()
            .await?;
        match tokio::fs::remove_file(&kc).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(KindError::Io {
                    action: "removing",
                    path: kc,
                    source,
                });
            }
        }
        pr.step(format!("kind cluster {CLUSTER} deleted"));
        Ok(())
    }

    /// kubectl from PATH with the cluster's kubeconfig.
    pub fn kubectl(&self) -> Result<Kubectl, KindError> {
        Ok(Kubectl::new(self.require("kubectl")?, self.kubeconfig()))
    }

    /// The IPv4 gateway of kind's Docker network.
    pub async fn emulator_host(&self) -> Result<String, KindError> {
        let docker = self.require("docker")?;
        let network = network_name(std::env::var(ENV_NETWORK).ok().as_deref());
        let out = Cmd::new(docker)
            .args(["network", "inspect", &network])
            .timeout(Duration::from_secs(30))
            .output()
            .await?;
        gateway_ipv4(&out)
            .map(|ip| ip.to_string())
            .map_err(|message| KindError::Network { network, message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real_versions() -> Versions {
        Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack"))
            .unwrap()
            .versions()
            .clone()
    }

    fn versions(text: &str) -> Versions {
        Versions::parse(text).unwrap()
    }

    const PINS: &str = "KIND_KUBERNETES_VERSIONS=v1.34.8,v1.35.5\n\
        KIND_NODE_IMAGE_V1_34=kindest/node:v1.34.8@sha256:aa\n\
        KIND_NODE_IMAGE_V1_35=kindest/node:v1.35.5@sha256:bb\n";

    #[test]
    fn parses_kubernetes_versions() {
        assert_eq!(parse_kubernetes_version("v1.35.5"), Some((1, 35, Some(5))));
        assert_eq!(parse_kubernetes_version("1.34"), Some((1, 34, None)));
        assert_eq!(parse_kubernetes_version(" v1.34 "), Some((1, 34, None)));
        assert_eq!(parse_kubernetes_version("v1"), None);
        assert_eq!(parse_kubernetes_version("v1.34.x"), None);
        assert_eq!(parse_kubernetes_version("1.2.3.4"), None);
        assert_eq!(parse_kubernetes_version("latest"), None);
    }

    #[test]
    fn reads_the_version_from_image_tags() {
        assert_eq!(
            image_kubernetes_version("kindest/node:v1.34.8@sha256:0272"),
            Some("v1.34.8")
        );
        assert_eq!(
            image_kubernetes_version("localhost:5000/node:v1.35.5"),
            Some("v1.35.5")
        );
        assert_eq!(image_kubernetes_version("localhost:5000/node"), None);
        assert_eq!(image_kubernetes_version("kindest/node@sha256:0272"), None);
        assert_eq!(image_kubernetes_version("my/node:latest"), None);
    }

    #[test]
    fn picks_the_pinned_node_image() {
        let v = versions(PINS);
        let pick = |k: Option<&str>, img: Option<&str>| {
            node_image(
                &v,
                &KindOptions {
                    node_image: img.map(str::to_owned),
                    kubernetes_version: k.map(str::to_owned),
                    config: None,
                },
            )
        };
        assert_eq!(
            pick(None, None).unwrap(),
            "kindest/node:v1.34.8@sha256:aa",
            "the first listed version is the default"
        );
        assert_eq!(
            pick(Some("v1.35"), None).unwrap(),
            "kindest/node:v1.35.5@sha256:bb"
        );
        assert_eq!(
            pick(Some("1.35.5"), None).unwrap(),
            "kindest/node:v1.35.5@sha256:bb"
        );
        assert_eq!(
            pick(Some("v1.36.1"), Some("my/node:x")).unwrap(),
            "my/node:x",
            "an explicit image wins"
        );
        let e = pick(Some("v1.36"), None).unwrap_err().to_string();
        assert!(e.contains("KIND_NODE_IMAGE_V1_36"), "{e}");
        assert!(e.contains(ENV_NODE_IMAGE), "{e}");
        let e = pick(Some("v1.35.1"), None).unwrap_err().to_string();
        assert!(e.contains("not v1.35.1"), "{e}");
        let e = pick(Some("newest"), None).unwrap_err().to_string();
        assert!(e.contains("not a Kubernetes version"), "{e}");
    }

    #[test]
    fn versions_env_pins_an_image_for_every_kind_version() {
        let v = real_versions();
        let listed = v.get("KIND_KUBERNETES_VERSIONS").unwrap();
        let mut n = 0;
        for version in listed.split(',') {
            let options = KindOptions {
                kubernetes_version: Some(version.to_owned()),
                ..KindOptions::default()
            };
            let image = node_image(&v, &options).unwrap();
            assert!(image.starts_with("kindest/node:"), "{image}");
            let digest = image.split_once("@sha256:").map(|(_, d)| d).unwrap_or("");
            assert_eq!(digest.len(), 64, "{image} is pinned by digest");
            assert!(digest.chars().all(|c| c.is_ascii_hexdigit()), "{image}");
            n += 1;
        }
        assert!(n >= 2, "the e2e matrix runs two Kubernetes versions");
        assert!(v.get("KIND_VERSION").unwrap().starts_with("v0."));
    }

    #[test]
    fn detects_a_cluster_on_another_version() {
        let img = "kindest/node:v1.34.8@sha256:aa";
        assert_eq!(version_mismatch("v1.34.8\n", img), None);
        assert_eq!(
            version_mismatch("v1.35.5", img).as_deref(),
            Some("it runs Kubernetes v1.35.5, not v1.34.8")
        );
        assert_eq!(version_mismatch("v1.35.5", "my/node:dev"), None);
    }

    #[test]
    fn kind_command_lines() {
        let kc = Path::new("/st/kind/kubeconfig");
        assert_eq!(
            create_args(
                "kindest/node:v1.34.8@sha256:aa",
                Path::new("/c/kind-config.yaml"),
                kc
            ),
            [
                "create",
                "cluster",
                "--name",
                "secretbench",
                "--image",
                "kindest/node:v1.34.8@sha256:aa",
                "--config",
                "/c/kind-config.yaml",
                "--kubeconfig",
                "/st/kind/kubeconfig",
                "--wait",
                "120s"
            ]
            .map(OsString::from)
        );
        assert_eq!(
            delete_args(kc),
            [
                "delete",
                "cluster",
                "--name",
                "secretbench",
                "--kubeconfig",
                "/st/kind/kubeconfig"
            ]
            .map(OsString::from)
        );
        assert_eq!(
            export_kubeconfig_args(kc)[..2],
            ["export", "kubeconfig"].map(OsString::from)
        );
    }

    #[test]
    fn reads_kind_get_clusters() {
        assert!(lists_cluster("kind\nsecretbench\n", "secretbench"));
        assert!(!lists_cluster("secretbench-old\n", "secretbench"));
        assert!(!lists_cluster("", "secretbench"));
    }

    #[test]
    fn network_name_override() {
        assert_eq!(network_name(None), "kind");
        assert_eq!(network_name(Some("")), "kind");
        assert_eq!(network_name(Some("ci-net")), "ci-net");
    }

    #[test]
    fn gateway_from_docker_network_inspect() {
        // kind's network: an IPv6 ULA subnet first, then Docker's IPv4 pick.
        let kind = r#"[{"Name":"kind","Driver":"bridge","EnableIPv6":true,
            "IPAM":{"Driver":"default","Options":{},"Config":[
              {"Subnet":"fc00:f853:ccd:e793::/64","Gateway":"fc00:f853:ccd:e793::1"},
              {"Subnet":"172.18.0.0/16","Gateway":"172.18.0.1"}]}}]"#;
        assert_eq!(gateway_ipv4(kind), Ok(Ipv4Addr::new(172, 18, 0, 1)));
        let empty_fields = r#"[{"IPAM":{"Config":[
              {"Subnet":"172.19.0.0/16","IPRange":"","Gateway":""}]}}]"#;
        assert_eq!(gateway_ipv4(empty_fields), Ok(Ipv4Addr::new(172, 19, 0, 1)));
        let no_gateway = r#"[{"IPAM":{"Config":[{"Subnet":"10.89.0.0/24"}]}}]"#;
        assert_eq!(gateway_ipv4(no_gateway), Ok(Ipv4Addr::new(10, 89, 0, 1)));
        let cidr_gateway =
            r#"[{"IPAM":{"Config":[{"Subnet":"172.20.0.0/16","Gateway":"172.20.0.1/16"}]}}]"#;
        assert_eq!(gateway_ipv4(cidr_gateway), Ok(Ipv4Addr::new(172, 20, 0, 1)));
        let v6_only = r#"[{"IPAM":{"Config":[{"Subnet":"fc00::/64","Gateway":"fc00::1"}]}}]"#;
        assert!(gateway_ipv4(v6_only).is_err());
        assert!(gateway_ipv4("[]").is_err());
        assert!(gateway_ipv4("Error: No such network: kind").is_err());
    }

    #[test]
    fn first_host_of_subnets() {
        assert_eq!(
            first_host("172.18.0.0/16"),
            Some(Ipv4Addr::new(172, 18, 0, 1))
        );
        assert_eq!(
            first_host("172.18.5.7/16"),
            Some(Ipv4Addr::new(172, 18, 0, 1))
        );
        assert_eq!(first_host("10.0.0.0/8"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(first_host("10.0.0.4/31"), None);
        assert_eq!(first_host("fc00::/64"), None);
        assert_eq!(first_host("nonsense"), None);
    }

    #[test]
    fn missing_tools_name_their_pins() {
        let v = real_versions();
        let kind = install_hint("kind", &v);
        assert!(kind.contains("KIND_VERSION"), "{kind}");
        assert!(kind.contains("go install sigs.k8s.io/kind@v0."), "{kind}");
        let helm = install_hint("helm", &v);
        assert!(helm.contains("HELM_VERSION"), "{helm}");
        assert!(helm.contains(v.get("HELM_VERSION").unwrap()), "{helm}");
        assert!(install_hint("kubectl", &v).contains("KIND_KUBERNETES_VERSIONS"));
        assert!(install_hint("docker", &v).contains("Docker"));
    }

    #[test]
    fn committed_kind_config() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kind-config.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(doc["kind"], "Cluster");
        assert_eq!(doc["apiVersion"], "kind.x-k8s.io/v1alpha4");
        let nodes = doc["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 1, "one node: {NODE}");
        assert_eq!(nodes[0]["role"], "control-plane");
        assert!(
            doc.get("name").is_none(),
            "the name comes from --name {CLUSTER}"
        );
    }

    #[test]
    fn finds_the_committed_config_by_default() {
        let stack = Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap();
        let c = KindCluster::with_options(
            stack.clone(),
            PathBuf::from("/st/kind"),
            KindOptions::default(),
        );
        assert!(c.config_path().unwrap().ends_with("kind-config.yaml"));
        assert_eq!(c.kubeconfig(), Path::new("/st/kind/kubeconfig"));
        let missing = KindCluster::with_options(
            stack,
            PathBuf::from("/st/kind"),
            KindOptions {
                config: Some(PathBuf::from("/nonexistent/kind.yaml")),
                ..KindOptions::default()
            },
        );
        assert!(matches!(missing.config_path(), Err(KindError::NoConfig(_))));
    }

    /// Writes an executable shell script; the fakes use shell builtins only, so they run with
    /// nothing else on their PATH.
    fn script(path: &Path, body: &str) {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Fakes of kind, helm, kubectl and docker that log their command lines.
    fn fake_tools(dir: &Path) -> (PathBuf, PathBuf) {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let log = dir.join("log");
        let exists = dir.join("exists");
        let kubelet = dir.join("kubelet-version");
        std::fs::write(&kubelet, "v1.34.8\n").unwrap();
        // What helm "installed": <release>.chart and <release>.values; a deleted cluster
        // empties them.
        let releases = dir.join("releases");
        std::fs::create_dir_all(&releases).unwrap();
        let (l, e, k, r) = (
            log.display(),
            exists.display(),
            kubelet.display(),
            releases.display(),
        );
        script(
            &bin.join("kind"),
            &format!(
                r#"printf '%s\n' "kind $*" >> '{l}'
case "$1 $2" in
  "version ") printf 'kind v0.32.0 go1.26.8 linux/amd64\n' ;;
  "get clusters") if [ -s '{e}' ]; then printf 'secretbench\n'; fi ;;
  "create cluster") printf x > '{e}' ;;
  "delete cluster") : > '{e}'; for f in '{r}'/*; do : > "$f"; done ;;
  "export kubeconfig") ;;
  "load image-archive") ;;
  *) exit 9 ;;
esac
"#
            ),
        );
        script(
            &bin.join("helm"),
            &format!(
                r#"printf '%s\n' "helm $*" >> '{l}'
case "$1" in
  version) printf 'v3.22.0+gabc\n' ;;
  upgrade) read -r v < "${{12}}"; printf '%s\n' "$v" > '{r}'/"$3.values"
           printf '%s-%s\n' "$4" "$8" > '{r}'/"$3.chart" ;;
  list) n=${{8#^}}; n=${{n%$}}
        if [ -s '{r}'/"$n.chart" ]; then read -r c < '{r}'/"$n.chart"
          printf '[{{"name":"%s","status":"deployed","chart":"%s"}}]' "$n" "$c"
        else printf '[]'; fi ;;
  get) read -r v < '{r}'/"$3.values"; printf '%s' "$v" ;;
  *) exit 9 ;;
esac
"#
            ),
        );
        script(
            &bin.join("kubectl"),
            &format!(
                r#"printf '%s\n' "kubectl $*" >> '{l}'
case "$*" in
  *readyz*) printf ok ;;
  *conditions*) printf True ;;
  *kubeletVersion*) read -r v < '{k}'; printf '%s' "$v" ;;
  *"rollout status"*) printf 'rolled out\n' ;;
  *) exit 9 ;;
esac
"#
            ),
        );
        script(
            &bin.join("docker"),
            &format!(
                r#"printf '%s\n' "docker $*" >> '{l}'
printf '%s' '[{{"IPAM":{{"Config":[{{"Subnet":"172.18.0.0/16","Gateway":"172.18.0.1"}}]}}}}]'
"#
            ),
        );
        (bin, log)
    }

    /// The log since the last call, one command line a line, with the temp dir as `$T`.
    fn take_log(log: &Path, tmp: &Path) -> Vec<String> {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        std::fs::write(log, "").unwrap();
        let t = tmp.display().to_string();
        text.lines().map(|l| l.replace(&t, "$T")).collect()
    }

    #[tokio::test]
    async fn up_reuse_recreate_and_down_with_fake_tools() {
        let tmp = tempfile::tempdir().unwrap();
        let (bin, log) = fake_tools(tmp.path());
        let stack = Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap();
        let image = node_image(stack.versions(), &KindOptions::default()).unwrap();
        let c = KindCluster::with_options(stack, tmp.path().join("state"), KindOptions::default())
            .with_search_path(&bin);
        let kc = "$T/state/kubeconfig";

        // A fresh machine: create, then install and wait for the four releases (the fake
        // provider's chart exists only in the offline stack).
        let up = UpOptions::default();
        assert_eq!(
            c.up(&up).await.unwrap(),
            tmp.path().join("state/kubeconfig")
        );
        let l = take_log(&log, tmp.path());
        assert_eq!(l[0], "kind version");
        assert_eq!(l[1], "helm version --short");
        assert_eq!(l[2], "kind get clusters");
        assert!(
            l[3].starts_with(&format!(
                "kind create cluster --name secretbench --image {image} --config "
            )) && l[3].ends_with(&format!("kind-config.yaml --kubeconfig {kc} --wait 120s")),
            "{}",
            l[3]
        );
        let helm: Vec<_> = l.iter().filter(|x| x.starts_with("helm upgrade")).collect();
        assert_eq!(helm.len(), 4);
        for (line, name) in helm
            .iter()
            .zip(["csi-secrets-store", "aws", "azure", "vault"])
        {
            assert!(
                line.starts_with(&format!("helm upgrade --install {name} ")),
                "{line}"
            );
            assert!(
                line.ends_with(&format!(
                    "--namespace kube-system --values $T/state/install/{name}.values.json --wait --timeout 300s"
                )),
                "{line}"
            );
        }
        assert!(helm[1].contains(" secrets-store-csi-driver-provider-aws --repo https://aws.github.io/secrets-store-csi-driver-provider-aws --version 3.1.1 "), "{}", helm[1]);
        let rollouts: Vec<_> = l.iter().filter(|x| x.contains("rollout status")).collect();
        assert_eq!(
            rollouts[3],
            &format!(
                "kubectl --kubeconfig {kc} -n kube-system rollout status daemonset/vault-csi-provider --timeout=180s"
            )
        );
        let last_helm = l
            .iter()
            .rposition(|x| x.starts_with("helm upgrade"))
            .unwrap();
        let first_rollout = l.iter().position(|x| x.contains("rollout status")).unwrap();
        assert!(
            last_helm < first_rollout,
            "every chart is installed before the waits"
        );

        // Up again: the healthy cluster on the same version is reused, its releases too.
        c.up(&up).await.unwrap();
        let l = take_log(&log, tmp.path());
        assert!(l.contains(&format!(
            "kind export kubeconfig --name secretbench --kubeconfig {kc}"
        )));
        assert!(
            !l.iter()
                .any(|x| x.starts_with("kind create") || x.starts_with("kind delete"))
        );
        assert_eq!(
            l.iter().filter(|x| x.starts_with("helm upgrade")).count(),
            0,
            "{l:#?}"
        );
        assert_eq!(
            l.iter()
                .filter(|x| x.starts_with("helm get values"))
                .count(),
            4
        );

        // A cluster on another Kubernetes is made again, and installed again.
        std::fs::write(tmp.path().join("kubelet-version"), "v1.35.5\n").unwrap();
        c.up(&up).await.unwrap();
        let l = take_log(&log, tmp.path());
        let delete = l
            .iter()
            .position(|x| x.starts_with("kind delete cluster"))
            .unwrap();
        let create = l
            .iter()
            .position(|x| x.starts_with("kind create cluster"))
            .unwrap();
        assert!(delete < create);
        assert_eq!(
            l.iter().filter(|x| x.starts_with("helm upgrade")).count(),
            4
        );

        assert_eq!(c.emulator_host().await.unwrap(), "172.18.0.1");
        assert_eq!(take_log(&log, tmp.path()), ["docker network inspect kind"]);
        assert_eq!(
            c.kubectl().unwrap().kubeconfig(),
            tmp.path().join("state/kubeconfig")
        );

        std::fs::write(tmp.path().join("state/kubeconfig"), "x").unwrap();
        c.down().await.unwrap();
        assert_eq!(
            take_log(&log, tmp.path()),
            [format!(
                "kind delete cluster --name secretbench --kubeconfig {kc}"
            )]
        );
        assert!(!tmp.path().join("state/kubeconfig").exists());
        c.down().await.unwrap();
    }

    #[tokio::test]
    async fn a_bundle_is_loaded_and_its_charts_installed_instead_of_the_repositories() {
        use crate::install::archive::tests::{oci_index, write_tar};
        let tmp = tempfile::tempdir().unwrap();
        let (bin, log) = fake_tools(tmp.path());
        let stack = Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap();
        let c = KindCluster::with_options(stack, tmp.path().join("state"), KindOptions::default())
            .with_search_path(&bin);
        let b = tmp.path().join("bundle");
        std::fs::create_dir_all(&b).unwrap();
        write_tar(
            &b.join("vault.tar"),
            &[(
                "index.json",
                oci_index(r#"{"io.containerd.image.name":"docker.io/hashicorp/vault-csi-provider:1.7.4"}"#)
                    .as_bytes(),
            )],
            false,
        );
        write_tar(
            &b.join("vault-0.34.1.tgz"),
            &[(
                "vault/Chart.yaml",
                b"apiVersion: v2\nname: vault\nversion: 0.34.1\n",
            )],
            true,
        );
        let opts = UpOptions {
            bundle: Some(b.clone()),
            install: false,
        };
        c.up(&opts).await.unwrap();
        let l = take_log(&log, tmp.path());
        let load = l
            .iter()
            .position(|x| x == "kind load image-archive $T/bundle/vault.tar --name secretbench")
            .unwrap_or_else(|| panic!("{l:#?}"));
        let vault = l
            .iter()
            .position(|x| x.starts_with("helm upgrade --install vault $T/bundle/vault-0.34.1.tgz --namespace kube-system "))
            .unwrap_or_else(|| panic!("{l:#?}"));
        assert!(
            load < vault,
            "images are loaded before the charts that run them"
        );
        assert!(
            l.iter().any(|x| x.starts_with(
                "helm upgrade --install aws secrets-store-csi-driver-provider-aws --repo "
            )),
            "what the bundle lacks comes from the repositories: {l:#?}"
        );

        // A bad bundle is refused before the cluster is touched.
        std::fs::write(b.join("broken.tar"), "not a tar").unwrap();
        let e = c.up(&opts).await.unwrap_err().to_string();
        assert!(e.contains("broken.tar"), "{e}");
        assert!(
            !take_log(&log, tmp.path())
                .iter()
                .any(|x| x.starts_with("kind ")),
            "nothing ran"
        );
    }

    #[tokio::test]
    async fn a_missing_tool_is_named_with_its_pin() {
        let tmp = tempfile::tempdir().unwrap();
        let stack = Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap();
        let c = KindCluster::with_options(stack, tmp.path().join("state"), KindOptions::default())
            .with_search_path(tmp.path());
        let e = c.up(&UpOptions::default()).await.unwrap_err();
        assert!(
            matches!(e, KindError::MissingTool { tool: "kind", .. }),
            "{e}"
        );
        assert!(e.to_string().contains("KIND_VERSION"), "{e}");
        assert!(matches!(
            c.emulator_host().await,
            Err(KindError::MissingTool { tool: "docker", .. })
        ));
        assert!(
            !tmp.path().join("state").exists(),
            "nothing made before the tools are found"
        );
    }
}
