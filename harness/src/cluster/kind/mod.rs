//! The `kind` backend: a one-node kind cluster with the install plan (`crate::install`): charts
//! from a bundle (`--bundle`, loaded with `kind load image-archive`) or else from their upstream
//! Helm repositories, images from the bundle or else pulled. It needs Docker or Podman, and the
//! internet for whatever the bundle does not carry, so it runs on CI and laptops.
//!
//! - Cluster `secretbench`, node image pinned by digest in `stack/versions.env`
//!   (`KIND_NODE_IMAGE_V<major>_<minor>`), config `kind-config.yaml` at the top of the checkout.
//! - kubeconfig in the state dir, never in `~/.kube/config`.
//! - `kind`, `helm`, `kubectl` and `docker` or `podman` come from PATH ([`runtime`]: which
//!   runtime, which setup, kind's network and node container).
//! - Ownership ([`ownership`]): a `secretbench` cluster the bench did not create is never
//!   deleted or recreated; a stopped node container is started, not replaced.
//! - Addresses ([`addresses`]): where the emulators listen and what pods are told, per setup
//!   (rootful Linux, Docker Desktop, rootless Docker, rootless Podman), checked by a probe pod
//!   ([`probe`]) before anything is installed.
//!
//! State: `${SECRETBENCH_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/secretbench}/kind`.

pub mod addresses;
pub mod ownership;
pub mod probe;
pub mod runtime;

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::address::EmulatorAddress;
use super::host::StateDir;
use super::tools;
use super::{Progress, UpOptions};
use crate::cmd::{Cmd, CmdError};
use crate::install::helm::Helm;
use crate::install::{Bundle, ChartSources, Images, InstallError, Installer};
use crate::kubectl::Kubectl;
use crate::stack::{Stack, StackError, Versions};
use crate::wait;
use addresses::{Choice, Facts, Overrides, Refusal, ThisMachine};
use ownership::Marker;
use runtime::{Kind, Requested, Runtime, RuntimeError, Setup};

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

/// `kind create cluster --wait`: how long kind waits for the control plane to be Ready.
const CREATE_WAIT: &str = "120s";
/// The whole `kind create cluster`, first image pull included.
const CREATE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// How often the node's readiness is checked.
const POLL: Duration = Duration::from_secs(1);
/// The probe pod, its image pull included.
const PROBE_LIMIT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum KindError {
    #[error("`{tool}` is not on PATH: {hint}")]
    MissingTool { tool: &'static str, hint: String },
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
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
    #[error("kind config {} does not exist (set {ENV_CONFIG} to use another file)", .0.display())]
    NoConfig(PathBuf),
    #[error("the emulators' address: {0}")]
    Address(#[from] Refusal),
    #[error("{0}")]
    NotOurs(String),
    #[error(
        "a pod cannot reach the emulator address {advertise}:{port} ({}): {advice}",
        if log.is_empty() { "no answer".to_owned() } else { format!("the probe pod said: {log}") }
    )]
    Unreachable {
        advertise: IpAddr,
        port: u16,
        log: String,
        advice: String,
    },
    #[error("cannot listen on {ip} for the probe: {source}")]
    Listen {
        ip: IpAddr,
        #[source]
        source: std::io::Error,
    },
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
    /// kind's `KIND_EXPERIMENTAL_PROVIDER`.
    pub provider: Requested,
    /// kind's `KIND_EXPERIMENTAL_DOCKER_NETWORK` / `KIND_EXPERIMENTAL_PODMAN_NETWORK`.
    pub docker_network: Option<String>,
    pub podman_network: Option<String>,
    /// `SECRETBENCH_EMULATOR_HOST` / `SECRETBENCH_EMULATOR_LISTEN`.
    pub emulator: Overrides,
    pub machine: ThisMachine,
}

impl KindOptions {
    pub fn from_env() -> Self {
        let var = |k| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Self {
            node_image: var(ENV_NODE_IMAGE),
            kubernetes_version: var(ENV_KUBERNETES_VERSION),
            config: var(ENV_CONFIG).map(PathBuf::from),
            provider: Requested::parse(var(runtime::ENV_PROVIDER).as_deref()),
            docker_network: var(runtime::ENV_DOCKER_NETWORK),
            podman_network: var(runtime::ENV_PODMAN_NETWORK),
            emulator: Overrides {
                host: var(addresses::ENV_EMULATOR_HOST),
                listen: var(addresses::ENV_EMULATOR_LISTEN),
            },
            machine: ThisMachine::Real,
        }
    }

    fn network_override(&self, kind: Kind) -> Option<String> {
        match kind {
            Kind::Docker => self.docker_network.clone(),
            Kind::Podman => self.podman_network.clone(),
        }
    }
}

/// The Kubernetes version in a node image's tag: `kindest/node:v1.34.8@sha256:…` → `v1.34.8`.
pub fn image_kubernetes_version(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next()?;
    let (_, tag) = without_digest.rsplit_once(':')?;
    // `localhost:5000/node` has a colon but no tag.
    if tag.contains('/') {
        return None;
    }
    let (_, _, patch) = tools::parse_version(tag)?;
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
    let (major, minor, patch) = tools::parse_version(wanted).ok_or_else(|| {
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

/// kubectl more than one minor version away from the API server (`kubectl version -o json`),
/// which Kubernetes does not support (kind, known issues: "Kubectl Version Skew").
pub fn kubectl_skew(version_json: &str) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(version_json).ok()?;
    let git = |k: &str| {
        v.pointer(&format!("/{k}/gitVersion"))?
            .as_str()
            .map(str::to_owned)
    };
    let (client, server) = (git("clientVersion")?, git("serverVersion")?);
    let minor = |s: &str| {
        let core = s.split(['+', '-']).next()?;
        tools::parse_version(core).map(|(major, minor, _)| (major, minor))
    };
    let ((cm, cn), (sm, sn)) = (minor(&client)?, minor(&server)?);
    (cm != sm || cn.abs_diff(sn) > 1).then_some((client, server))
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
            "the kind backend needs helm {v} (HELM_VERSION in stack/versions.env): `{}`",
            tools::helm_install_command(&pinned("HELM_VERSION")),
            v = pinned("HELM_VERSION")
        ),
        "kubectl" => kubectl_hint(versions),
        _ => "install it".to_owned(),
    }
}

fn kubectl_hint(versions: &Versions) -> String {
    let v = versions.get("KUBECTL_VERSION").unwrap_or("?");
    format!(
        "install kubectl {v} (KUBECTL_VERSION in stack/versions.env, within one minor version \
         of every Kubernetes in KIND_KUBERNETES_VERSIONS): \
         https://dl.k8s.io/release/{v}/bin/<os>/<arch>/kubectl"
    )
}

#[derive(Debug, Clone)]
struct Tools {
    kind: PathBuf,
    helm: PathBuf,
    kubectl: PathBuf,
    runtime: Runtime,
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

    fn path(&self) -> OsString {
        self.search_path
            .clone()
            .or_else(|| std::env::var_os("PATH"))
            .unwrap_or_default()
    }

    fn require(&self, tool: &'static str) -> Result<PathBuf, KindError> {
        tools::find_in_path(tool, &self.path()).ok_or_else(|| KindError::MissingTool {
            tool,
            hint: install_hint(tool, self.stack.versions()),
        })
    }

    /// Docker or Podman, as kind will pick it.
    async fn runtime(&self) -> Result<Runtime, KindError> {
        Ok(runtime::find(&self.options.provider, &self.path(), |k| {
            self.options.network_override(k)
        })
        .await?)
    }

    async fn tools(&self) -> Result<Tools, KindError> {
        Ok(Tools {
            kind: self.require("kind")?,
            helm: self.require("helm")?,
            kubectl: self.require("kubectl")?,
            runtime: self.runtime().await?,
        })
    }

    /// kind, told to use the runtime (and network) the bench found.
    fn kind(&self, kind: &Path, rt: &Runtime) -> Cmd {
        runtime::kind_env(rt)
            .into_iter()
            .fold(Cmd::new(kind), |c, (k, v)| c.env(k, v))
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
            if !found.is_some_and(|f| tools::same_release(f, pinned)) {
                tracing::warn!(
                    tool,
                    found = found.unwrap_or("unknown"),
                    pinned,
                    "not the version pinned in stack/versions.env ({key}); {}",
                    install_hint(tool, v)
                );
            }
        }
    }

    /// Warns when kubectl is too far from the cluster's version for Kubernetes to support it.
    async fn warn_on_kubectl_skew(&self, kubectl: &Kubectl) {
        let out = kubectl
            .run(["--request-timeout=10s", "version", "-o", "json"])
            .await
            .unwrap_or_default();
        if let Some((client, server)) = kubectl_skew(&out) {
            tracing::warn!(
                %client,
                %server,
                "kubectl is more than one minor version from the cluster; {}",
                kubectl_hint(self.stack.versions())
            );
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

    async fn export_kubeconfig(&self, t: &Tools) -> Result<(), KindError> {
        self.kind(&t.kind, &t.runtime)
            .args(export_kubeconfig_args(&self.kubeconfig()))
            .timeout(Duration::from_secs(60))
            .output()
            .await?;
        Ok(())
    }

    /// Why the existing cluster cannot be reused, or `None` when it can.
    async fn unusable(&self, t: &Tools, kubectl: &Kubectl, image: &str) -> Option<String> {
        if let Err(e) = self.export_kubeconfig(t).await {
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

    /// Whether the node container is the one the bench created.
    fn owns(&self, rt: &Runtime, node: Option<&runtime::Container>) -> bool {
        node.is_some_and(|n| {
            Marker::read(&self.root).is_some_and(|m| m.owns(CLUSTER, rt.kind, &n.id))
        })
    }

    /// Starts a stopped node container (after a reboot or a Docker Desktop restart) and waits
    /// for its API server.
    async fn start_node(
        &self,
        t: &Tools,
        kubectl: &Kubectl,
        status: &str,
        pr: &mut Progress,
    ) -> Result<(), KindError> {
        pr.step(format!(
            "node container {NODE} is {status}: starting it (not recreating)"
        ));
        t.runtime.start(NODE).await?;
        wait::until(
            &format!("the API server of kind cluster {CLUSTER} after its node started"),
            Duration::from_secs(180),
            Duration::from_secs(2),
            || async {
                Ok::<_, KindError>(
                    self.export_kubeconfig(t).await.is_ok()
                        && kubectl
                            .ok(["--request-timeout=5s", "get", "--raw", "/readyz"])
                            .await,
                )
            },
        )
        .await?;
        pr.step(format!("node container {NODE} started"));
        Ok(())
    }

    /// Creates the cluster, or reuses (starting its node if stopped) a healthy one with the
    /// requested Kubernetes; recreates it only when the bench made it. Then finds and probes
    /// the emulator address, loads a bundle's images, installs the plan and waits for its
    /// DaemonSets; returns the kubeconfig.
    pub async fn up(&self, opts: &UpOptions) -> Result<PathBuf, KindError> {
        let mut pr = Progress::new("kind up");
        let t = self.tools().await?;
        let versions = self.stack.versions();
        let image = node_image(versions, &self.options)?;
        let config = self.config_path()?;
        let plan = opts.plan(versions)?;
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
            "kind, helm, kubectl and {} found; node image {image}",
            t.runtime.kind
        ));

        let kc = self.kubeconfig();
        let kubectl = Kubectl::new(&t.kubectl, &kc);
        let clusters = self
            .kind(&t.kind, &t.runtime)
            .args(["get", "clusters"])
            .timeout(Duration::from_secs(60))
            .output()
            .await?;
        let mut reuse = false;
        if lists_cluster(&clusters, CLUSTER) {
            let node = t.runtime.container(NODE).await?;
            let owned = self.owns(&t.runtime, node.as_ref());
            if let Some(n) = node.as_ref().filter(|n| !n.running()) {
                self.start_node(&t, &kubectl, &n.status, &mut pr).await?;
            }
            match self.unusable(&t, &kubectl, &image).await {
                None => {
                    reuse = true;
                    pr.step(format!(
                        "kind cluster {CLUSTER} exists and is healthy: reusing it{}",
                        if owned {
                            ""
                        } else {
                            " (not made by secretbench: `down` will leave it)"
                        }
                    ));
                }
                Some(why) if owned => {
                    pr.step(format!(
                        "kind cluster {CLUSTER} exists but {why}: recreating it"
                    ));
                    self.kind(&t.kind, &t.runtime)
                        .args(delete_args(&kc))
                        .timeout(Duration::from_secs(180))
                        .output()
                        .await?;
                    Marker::remove(&self.root)?;
                }
                Some(why) => {
                    return Err(KindError::NotOurs(format!(
                        "kind cluster {CLUSTER} exists but {why}. {}",
                        ownership::not_ours(CLUSTER, &self.root)
                    )));
                }
            }
        }
        if !reuse {
            self.kind(&t.kind, &t.runtime)
                .args(create_args(&image, &config, &kc))
                .timeout(CREATE_TIMEOUT)
                .output()
                .await?;
            let node = t.runtime.container(NODE).await?.ok_or_else(|| {
                KindError::NotOurs(format!(
                    "kind created cluster {CLUSTER} but {} has no container {NODE}",
                    t.runtime.kind
                ))
            })?;
            Marker {
                cluster: CLUSTER.to_owned(),
                runtime: t.runtime.kind,
                container: node.id,
            }
            .write(&self.root)?;
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
        self.warn_on_kubectl_skew(&kubectl).await;

        if let Some(b) = &bundle {
            for archive in &b.images {
                self.kind(&t.kind, &t.runtime)
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
        self.probe(&t.runtime, &kubectl, &mut pr).await?;

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

    /// Finds the emulator address and has a pod connect to it; an address pods cannot reach
    /// fails `up` with what to change.
    async fn probe(
        &self,
        rt: &Runtime,
        kubectl: &Kubectl,
        pr: &mut Progress,
    ) -> Result<(), KindError> {
        let choice = self.choose_address(rt).await?;
        pr.step(choice.describe());
        let image = self.stack.versions().get("SHELL_IMAGE")?;
        let a = choice.address;
        let (port, outcome) = probe::run(
            kubectl,
            image,
            self.options.machine.bind_ip(a.listen),
            a.advertise,
            PROBE_LIMIT,
        )
        .await?;
        let (log, dropped) = match outcome {
            probe::Outcome::Reached => {
                pr.step(format!("a pod reached {}:{port}", a.advertise));
                return Ok(());
            }
            probe::Outcome::NotRun(why) => {
                tracing::warn!(%why, "the probe pod did not run: whether pods reach the emulators is unchecked");
                pr.step("probe pod did not run (see the warning): address unchecked");
                return Ok(());
            }
            probe::Outcome::TimedOut(log) => (log, true),
            probe::Outcome::Refused(log) => (log, false),
        };
        Err(KindError::Unreachable {
            advertise: a.advertise,
            port,
            log,
            advice: addresses::unreachable_advice(&choice, port, dropped),
        })
    }

    /// What the setup is and where the emulators go ([`addresses`]).
    async fn choose_address(&self, rt: &Runtime) -> Result<Choice, KindError> {
        let overridden = self.options.emulator.host.is_some();
        let setup = rt.setup().await?;
        let network = match setup {
            Setup::Rootful => match rt.inspect_network().await {
                Ok(n) => Some(n),
                Err(_) if overridden => None,
                Err(e) => return Err(e.into()),
            },
            Setup::DockerDesktop | Setup::Rootless => None,
        };
        let resolved = match (setup, rt.kind) {
            (Setup::DockerDesktop, _) => rt.resolve_in(NODE, addresses::DOCKER_DESKTOP_HOST).await,
            (Setup::Rootless, Kind::Podman) => rt.resolve_in(NODE, addresses::PODMAN_HOST).await,
            _ => None,
        };
        let primary = match setup {
            Setup::Rootless => self.options.machine.primary_ipv4(),
            _ => None,
        };
        let facts = Facts {
            runtime: rt.kind,
            setup,
            network,
            resolved,
            primary,
        };
        Ok(addresses::choose(
            &facts,
            &self.options.emulator,
            &self.options.machine,
        )?)
    }

    /// Deletes the cluster and its kubeconfig when the bench made it; a `secretbench`
    /// cluster made any other way is left alone (its kubeconfig copy here is removed).
    pub async fn down(&self) -> Result<(), KindError> {
        let mut pr = Progress::new("kind down");
        let kind = self.require("kind")?;
        let rt = self.runtime().await?;
        let kc = self.kubeconfig();
        let clusters = self
            .kind(&kind, &rt)
            .args(["get", "clusters"])
            .timeout(Duration::from_secs(60))
            .output()
            .await?;
        if lists_cluster(&clusters, CLUSTER) {
            let node = rt.container(NODE).await?;
            if !self.owns(&rt, node.as_ref()) {
                remove_file(&kc).await?;
                pr.step(format!(
                    "left alone: {}",
                    ownership::not_ours(CLUSTER, &self.root)
                ));
                return Ok(());
            }
            self.kind(&kind, &rt)
                .args(delete_args(&kc))
                .timeout(Duration::from_secs(180))
                .output()
                .await?;
            pr.step(format!("kind cluster {CLUSTER} deleted"));
        } else {
            pr.step(format!("no kind cluster {CLUSTER}: nothing to delete"));
        }
        Marker::remove(&self.root)?;
        remove_file(&kc).await
    }

    /// kubectl from PATH with the cluster's kubeconfig.
    pub fn kubectl(&self) -> Result<Kubectl, KindError> {
        Ok(Kubectl::new(self.require("kubectl")?, self.kubeconfig()))
    }

    /// Where the emulators listen and what pods are told (the same choice `up` probed).
    pub async fn emulator_address(&self) -> Result<EmulatorAddress, KindError> {
        let rt = self.runtime().await?;
        Ok(self.choose_address(&rt).await?.address)
    }
}

async fn remove_file(path: &Path) -> Result<(), KindError> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(KindError::Io {
            action: "removing",
            path: path.to_owned(),
            source,
        }),
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
                    ..KindOptions::default()
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
    fn missing_tools_name_their_pins() {
        let v = real_versions();
        let kind = install_hint("kind", &v);
        assert!(kind.contains("KIND_VERSION"), "{kind}");
        assert!(kind.contains("go install sigs.k8s.io/kind@v0."), "{kind}");
        let helm = install_hint("helm", &v);
        assert!(helm.contains("HELM_VERSION"), "{helm}");
        assert!(helm.contains(v.get("HELM_VERSION").unwrap()), "{helm}");
        assert!(
            helm.contains("-ldflags \"-X helm.sh/helm/v3/internal/version.version="),
            "the exact command, with the version the release build sets: {helm}"
        );
        let kubectl = install_hint("kubectl", &v);
        assert!(kubectl.contains("KUBECTL_VERSION"), "{kubectl}");
        assert!(
            kubectl.contains(&format!(
                "https://dl.k8s.io/release/{}/bin/",
                v.get("KUBECTL_VERSION").unwrap()
            )),
            "{kubectl}"
        );
    }

    #[test]
    fn kubectl_within_one_minor_of_the_cluster() {
        let json = |c: &str, s: &str| {
            format!(
                r#"{{"clientVersion":{{"gitVersion":"{c}"}},"kustomizeVersion":"v5.7.1","serverVersion":{{"gitVersion":"{s}"}}}}"#
            )
        };
        assert_eq!(kubectl_skew(&json("v1.35.5", "v1.34.8")), None);
        assert_eq!(kubectl_skew(&json("v1.34.4", "v1.35.5")), None);
        assert_eq!(
            kubectl_skew(&json("v1.32.2", "v1.35.5")),
            Some(("v1.32.2".into(), "v1.35.5".into()))
        );
        assert_eq!(
            kubectl_skew(&json("v1.36.0+k3s1", "v1.34.8")).map(|s| s.0),
            Some("v1.36.0+k3s1".into())
        );
        assert_eq!(
            kubectl_skew("error: no server"),
            None,
            "unknown is not a skew"
        );
        // kubectl's pin works with every Kubernetes the e2e matrix runs.
        let v = real_versions();
        for k in v.get("KIND_KUBERNETES_VERSIONS").unwrap().split(',') {
            assert_eq!(
                kubectl_skew(&json(v.get("KUBECTL_VERSION").unwrap(), k)),
                None,
                "{k}"
            );
        }
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

    /// One setup reproduced by the stand-ins, with the runtime's own output for it (recorded
    /// shapes: see `runtime::tests`).
    #[derive(Clone, Copy, PartialEq)]
    enum Fake {
        RootfulDocker,
        DockerDesktop,
        RootlessDocker,
        RootfulPodman,
        RootlessPodman,
    }

    /// The fakes' world, in files under the temp dir:
    /// - `log`: every command line (`kind ...`, `docker ...`, `kubectl ...`);
    /// - `cluster`: the node container's id while cluster `secretbench` exists;
    /// - `node-status`: `running` or `exited`;
    /// - `kubelet-version`; `releases/`: what helm installed;
    /// - `kind-env`: the runtime (and network) kind was told to use;
    /// - `probe-*`: the probe pod (see [`simulate_probe_pod`]).
    struct World {
        dir: PathBuf,
        bin: PathBuf,
    }

    impl World {
        fn new(dir: &Path, fake: Fake) -> Self {
            let bin = dir.join("bin");
            std::fs::create_dir_all(bin.join("..").join("releases")).unwrap();
            std::fs::create_dir_all(&bin).unwrap();
            let w = World {
                dir: dir.to_owned(),
                bin,
            };
            w.set("kubelet-version", "v1.34.8");
            w.set("node-status", "running");
            w.kind();
            w.helm();
            w.kubectl();
            match fake {
                Fake::RootfulDocker => w.docker(runtime::tests::ROOTFUL_DOCKER_INFO, ""),
                Fake::DockerDesktop => w.docker(
                    runtime::tests::DOCKER_DESKTOP_INFO,
                    // `getent ahostsv4 host.docker.internal` in a node on Docker Desktop 4.x.
                    "192.168.65.254  STREAM host.docker.internal",
                ),
                Fake::RootlessDocker => w.docker(runtime::tests::ROOTLESS_DOCKER_INFO, ""),
                Fake::RootfulPodman => w.podman(runtime::tests::ROOTFUL_PODMAN_INFO, ""),
                Fake::RootlessPodman => w.podman(
                    runtime::tests::ROOTLESS_PODMAN_INFO,
                    // Podman 5.3+ with pasta: host.containers.internal is the
                    // --map-guest-addr address.
                    "169.254.1.2     STREAM host.containers.internal",
                ),
            }
            w
        }

        fn f(&self, name: &str) -> String {
            self.dir.join(name).display().to_string()
        }

        fn set(&self, name: &str, value: &str) {
            std::fs::write(self.dir.join(name), value).unwrap();
        }

        fn get(&self, name: &str) -> String {
            std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
        }

        fn kind(&self) {
            let (l, c, s, n, r, e) = (
                self.f("log"),
                self.f("cluster"),
                self.f("node-status"),
                self.f("counter"),
                self.f("releases"),
                self.f("kind-env"),
            );
            script(
                &self.bin.join("kind"),
                &format!(
                    r#"printf '%s\n' "kind $*" >> '{l}'
printf '%s %s\n' "$KIND_EXPERIMENTAL_PROVIDER" "$KIND_EXPERIMENTAL_PODMAN_NETWORK$KIND_EXPERIMENTAL_DOCKER_NETWORK" > '{e}'
case "$1 $2" in
  "version ") printf 'kind v0.32.0 go1.26.8 linux/amd64\n' ;;
  "get clusters") if [ -s '{c}' ]; then printf 'secretbench\n'; fi ;;
  "create cluster") read -r i < '{n}' || i=0; i=$((i+1)); printf '%s\n' "$i" > '{n}'
                    printf 'node%s\n' "$i" > '{c}'; printf 'running\n' > '{s}' ;;
  "delete cluster") : > '{c}'; for f in '{r}'/*; do : > "$f"; done ;;
  "export kubeconfig") ;;
  "load image-archive") ;;
  *) exit 9 ;;
esac
"#
                ),
            );
        }

        fn helm(&self) {
            let (l, r) = (self.f("log"), self.f("releases"));
            script(
                &self.bin.join("helm"),
                &format!(
                    r#"printf '%s\n' "helm $*" >> '{l}'
case "$1" in
  version) printf 'v3.22\n' ;;
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
        }

        fn kubectl(&self) {
            let (l, k, s) = (
                self.f("log"),
                self.f("kubelet-version"),
                self.f("node-status"),
            );
            let (m, pl, ph, pf) = (
                self.f("probe-manifest"),
                self.f("probe-log"),
                self.f("probe-phase"),
                self.f("probe-fail"),
            );
            script(
                &self.bin.join("kubectl"),
                &format!(
                    r#"printf '%s\n' "kubectl $*" >> '{l}'
read -r st < '{s}'
case "$*" in
  *readyz*) [ "$st" = running ] || exit 1; printf ok ;;
  *conditions*) [ "$st" = running ] || exit 1; printf True ;;
  *kubeletVersion*) read -r v < '{k}'; printf '%s' "$v" ;;
  *"version -o json"*) read -r v < '{k}'
      printf '{{"clientVersion":{{"gitVersion":"v1.35.5"}},"serverVersion":{{"gitVersion":"%s"}}}}' "$v" ;;
  *"apply -f -"*) IFS= read -r m || :; printf '%s' "$m" > '{m}'
      if [ -s '{pf}' ]; then read -r f < '{pf}'; printf '%s\n' "$f" > '{pl}'; printf Failed > '{ph}'; fi ;;
  *"get pod secretbench-probe"*) if [ -s '{ph}' ]; then read -r p < '{ph}'; printf '%s ' "$p"
      else printf 'Pending ContainerCreating'; fi ;;
  *"logs secretbench-probe"*) read -r p < '{pl}'; printf '%s\n' "$p" ;;
  *"delete pod secretbench-probe"*) : > '{m}'; : > '{pl}'; : > '{ph}' ;;
  *"rollout status"*) printf 'rolled out\n' ;;
  *) exit 9 ;;
esac
"#
                ),
            );
        }

        /// `docker` as the setup's Docker answers: `-v`, `info`, `network inspect kind`
        /// (`runtime::tests::DOCKER_KIND_NETWORK`), `inspect` of the node, `start`, `exec
        /// getent`.
        fn docker(&self, info: &str, getent: &str) {
            self.runtime_fake(
                "docker",
                "Docker version 27.5.1, build 9f9e405",
                info,
                runtime::tests::DOCKER_KIND_NETWORK,
                getent,
            );
        }

        fn podman(&self, info: &str, getent: &str) {
            self.runtime_fake(
                "podman",
                "podman version 5.4.0",
                info,
                runtime::tests::PODMAN_KIND_NETWORK,
                getent,
            );
        }

        fn runtime_fake(&self, name: &str, version: &str, info: &str, network: &str, getent: &str) {
            self.set(&format!("{name}-info"), info);
            self.set(&format!("{name}-getent"), getent);
            let (l, i, g, c, s) = (
                self.f("log"),
                self.f(&format!("{name}-info")),
                self.f(&format!("{name}-getent")),
                self.f("cluster"),
                self.f("node-status"),
            );
            script(
                &self.bin.join(name),
                &format!(
                    r#"printf '%s\n' "{name} $*" >> '{l}'
case "$1" in
  -v) printf '%s\n' '{version}' ;;
  info) read -r i < '{i}'; printf '%s\n' "$i" ;;
  network) printf '%s' '{network}' ;;
  inspect) if [ -s '{c}' ]; then read -r id < '{c}'; read -r st < '{s}'; printf '%s %s\n' "$id" "$st"
           else printf 'Error: no such object: "%s"\n' "$4" >&2; exit 125; fi ;;
  start) printf 'running\n' > '{s}'; printf '%s\n' "$2" ;;
  exec) if [ -s '{g}' ]; then read -r e < '{g}'; printf '%s\n' "$e"; else exit 2; fi ;;
  *) exit 9 ;;
esac
"#
                ),
            );
        }

        /// The log since the last call, one command line a line, with the temp dir as `$T`.
        fn take_log(&self) -> Vec<String> {
            let text = self.get("log");
            self.set("log", "");
            let t = self.dir.display().to_string();
            text.lines().map(|l| l.replace(&t, "$T")).collect()
        }
    }

    /// The probe pod, played by this test: once the fake kubectl has the pod's manifest, it
    /// fetches the pod's URL with the advertised address replaced by loopback (the stand-in
    /// machine binds its pretend addresses there), and writes what it got as the pod's log.
    fn simulate_probe_pod(dir: &Path) -> tokio::task::JoinHandle<()> {
        let (manifest, log, phase, urls) = (
            dir.join("probe-manifest"),
            dir.join("probe-log"),
            dir.join("probe-phase"),
            dir.join("probe-urls"),
        );
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let text = std::fs::read_to_string(&manifest).unwrap_or_default();
                let done = std::fs::metadata(&phase).is_ok_and(|m| m.len() > 0);
                let Ok(pod) = serde_json::from_str::<serde_json::Value>(&text) else {
                    continue;
                };
                if done || pod["metadata"]["name"] != probe::POD {
                    continue;
                }
                let url = pod["spec"]["containers"][0]["command"][6]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let port = url
                    .trim_end_matches('/')
                    .rsplit_once(':')
                    .unwrap()
                    .1
                    .parse::<u16>()
                    .unwrap();
                let mut seen = std::fs::read_to_string(&urls).unwrap_or_default();
                seen.push_str(&url);
                seen.push('\n');
                std::fs::write(&urls, seen).unwrap();
                let reply = probe::tests::fetch(port).await;
                let body = reply.split("\r\n\r\n").nth(1).unwrap_or_default();
                std::fs::write(&log, body).unwrap();
                std::fs::write(&phase, "Succeeded").unwrap();
            }
        })
    }

    fn stack() -> Stack {
        Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap()
    }

    /// The machine the stand-ins run on: the rootful bridges' gateways are its addresses, its
    /// default route leaves from 192.168.1.20.
    fn this_machine() -> ThisMachine {
        ThisMachine::StandIn {
            addresses: vec![
                "172.18.0.1".parse().unwrap(),
                "10.89.0.1".parse().unwrap(),
                "192.168.1.20".parse().unwrap(),
            ],
            primary: Some("192.168.1.20".parse().unwrap()),
        }
    }

    fn cluster(w: &World, options: KindOptions) -> KindCluster {
        KindCluster::with_options(
            stack(),
            w.dir.join("state"),
            KindOptions {
                machine: this_machine(),
                ..options
            },
        )
        .with_search_path(&w.bin)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn rootful_docker_up_reuse_recreate_and_down() {
        let tmp = tempfile::tempdir().unwrap();
        let w = World::new(tmp.path(), Fake::RootfulDocker);
        let _pod = simulate_probe_pod(tmp.path());
        let image = node_image(stack().versions(), &KindOptions::default()).unwrap();
        let c = cluster(&w, KindOptions::default());
        let kc = "$T/state/kubeconfig";

        // A fresh machine: create (and mark as ours), probe, then install and wait for the
        // four releases (the fake provider's chart exists only in the offline stack).
        let up = UpOptions::default();
        assert_eq!(
            c.up(&up).await.unwrap(),
            tmp.path().join("state/kubeconfig")
        );
        let l = w.take_log();
        assert_eq!(l[0], "docker -v", "Docker detected as kind detects it");
        assert_eq!(l[1], "kind version");
        assert_eq!(l[2], "helm version --short");
        assert_eq!(l[3], "kind get clusters");
        assert!(
            l[4].starts_with(&format!(
                "kind create cluster --name secretbench --image {image} --config "
            )) && l[4].ends_with(&format!("kind-config.yaml --kubeconfig {kc} --wait 120s")),
            "{}",
            l[4]
        );
        assert_eq!(w.get("kind-env"), "docker \n", "kind is told the runtime");
        assert_eq!(
            Marker::read(&tmp.path().join("state")),
            Some(Marker {
                cluster: "secretbench".into(),
                runtime: Kind::Docker,
                container: "node1".into()
            })
        );
        let position = |prefix: &str| {
            l.iter()
                .position(|x| x.starts_with(prefix))
                .unwrap_or_else(|| panic!("no `{prefix}` in {l:#?}"))
        };
        assert!(l.contains(&"docker info --format {{json .}}".to_owned()));
        assert!(l.contains(&"docker network inspect kind".to_owned()));
        let probe = position("kubectl --kubeconfig $T/state/kubeconfig apply -f -");
        let first_helm = position("helm upgrade");
        assert!(
            probe < first_helm,
            "the address is probed before installing"
        );
        assert!(
            w.get("probe-manifest").is_empty(),
            "the probe pod is deleted afterwards"
        );
        assert!(w.get("probe-urls").starts_with("http://172.18.0.1:"));
        let helm: Vec<_> = l.iter().filter(|x| x.starts_with("helm upgrade")).collect();
        let name = |line: &str| line.split(' ').nth(3).unwrap_or_default().to_owned();
        assert_eq!(name(helm[0]), "csi-secrets-store", "the driver goes first");
        // The providers' releases are installed side by side, in any order.
        let mut names: Vec<_> = helm.iter().map(|l| name(l)).collect();
        names.sort();
        assert_eq!(names, ["aws", "azure", "csi-secrets-store", "vault"]);
        for line in &helm {
            let name = name(line);
            assert!(
                line.ends_with(&format!(
                    "--namespace kube-system --values $T/state/install/{name}.values.json --wait --timeout 300s"
                )),
                "{line}"
            );
        }
        let aws = helm.iter().find(|l| name(l) == "aws").unwrap();
        assert!(aws.contains(" secrets-store-csi-driver-provider-aws --repo https://aws.github.io/secrets-store-csi-driver-provider-aws --version 3.1.1 "), "{aws}");
        let rollouts: Vec<_> = l.iter().filter(|x| x.contains("rollout status")).collect();
        assert_eq!(rollouts.len(), 4);
        assert!(
            rollouts.contains(&&format!(
                "kubectl --kubeconfig {kc} -n kube-system rollout status daemonset/vault-csi-provider --timeout=180s"
            )),
            "{rollouts:#?}"
        );
        let last_helm = l
            .iter()
            .rposition(|x| x.starts_with("helm upgrade"))
            .unwrap();
        let first_rollout =
            position("kubectl --kubeconfig $T/state/kubeconfig -n kube-system rollout status");
        assert!(
            last_helm < first_rollout,
            "every chart is installed before the waits"
        );

        // Up again: the healthy cluster on the same version is reused, its releases too.
        c.up(&up).await.unwrap();
        let l = w.take_log();
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

        // Ours, on another Kubernetes: made again, installed again, marked again.
        w.set("kubelet-version", "v1.35.5");
        c.up(&up).await.unwrap();
        let l = w.take_log();
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
        assert_eq!(
            Marker::read(&tmp.path().join("state")).unwrap().container,
            "node2"
        );

        assert_eq!(
            c.emulator_address().await.unwrap(),
            EmulatorAddress::same(ip("172.18.0.1"))
        );
        assert_eq!(
            c.kubectl().unwrap().kubeconfig(),
            tmp.path().join("state/kubeconfig")
        );

        w.take_log();
        std::fs::write(tmp.path().join("state/kubeconfig"), "x").unwrap();
        c.down().await.unwrap();
        let l = w.take_log();
        assert!(l.contains(&format!(
            "kind delete cluster --name secretbench --kubeconfig {kc}"
        )));
        assert!(!tmp.path().join("state/kubeconfig").exists());
        assert_eq!(Marker::read(&tmp.path().join("state")), None);
        c.down().await.unwrap();
        assert!(
            !w.take_log().iter().any(|x| x.starts_with("kind delete")),
            "no cluster, nothing deleted"
        );
    }

    #[tokio::test]
    async fn a_cluster_the_bench_did_not_make_survives_up_and_down() {
        let tmp = tempfile::tempdir().unwrap();
        let w = World::new(tmp.path(), Fake::RootfulDocker);
        let _pod = simulate_probe_pod(tmp.path());
        // Made by hand: `kind create cluster --name secretbench`, no marker.
        w.set("cluster", "handmade\n");
        let c = cluster(&w, KindOptions::default());

        // Healthy and on the pinned version: used as it is.
        c.up(&UpOptions::default()).await.unwrap();
        let l = w.take_log();
        assert!(
            !l.iter()
                .any(|x| x.starts_with("kind create") || x.starts_with("kind delete"))
        );
        assert_eq!(
            Marker::read(&tmp.path().join("state")),
            None,
            "still not ours"
        );

        // On another version: refused, not recreated.
        w.set("kubelet-version", "v1.33.1");
        let e = c.up(&UpOptions::default()).await.unwrap_err().to_string();
        assert!(e.contains("it runs Kubernetes v1.33.1, not v1.34.8"), "{e}");
        assert!(e.contains("not made by secretbench"), "{e}");
        assert!(e.contains("kind delete cluster --name secretbench"), "{e}");
        assert!(!w.take_log().iter().any(|x| x.starts_with("kind delete")));

        // A marker for another container (the bench's cluster was deleted and someone made
        // a new one by hand) is not ownership either.
        Marker {
            cluster: CLUSTER.into(),
            runtime: Kind::Docker,
            container: "node7".into(),
        }
        .write(&tmp.path().join("state"))
        .unwrap();
        assert!(c.up(&UpOptions::default()).await.is_err());

        c.down().await.unwrap();
        let l = w.take_log();
        assert!(!l.iter().any(|x| x.starts_with("kind delete")), "{l:#?}");
        assert_eq!(w.get("cluster"), "handmade\n", "the cluster survives down");
    }

    #[tokio::test]
    async fn a_stopped_node_is_started_not_recreated() {
        let tmp = tempfile::tempdir().unwrap();
        let w = World::new(tmp.path(), Fake::DockerDesktop);
        let _pod = simulate_probe_pod(tmp.path());
        let c = cluster(&w, KindOptions::default());
        c.up(&UpOptions::default()).await.unwrap();
        w.take_log();
        // Docker Desktop restarted: the node container is there but exited.
        w.set("node-status", "exited");
        c.up(&UpOptions::default()).await.unwrap();
        let l = w.take_log();
        assert!(
            l.contains(&"docker start secretbench-control-plane".to_owned()),
            "{l:#?}"
        );
        assert!(
            !l.iter()
                .any(|x| x.starts_with("kind create") || x.starts_with("kind delete"))
        );
        assert_eq!(w.get("node-status"), "running\n");
        assert_eq!(
            Marker::read(&tmp.path().join("state")).unwrap().container,
            "node1"
        );

        // The same for a cluster that is not ours: starting is not deleting.
        Marker::remove(&tmp.path().join("state")).unwrap();
        w.set("node-status", "exited");
        c.up(&UpOptions::default()).await.unwrap();
        assert!(
            w.take_log()
                .contains(&"docker start secretbench-control-plane".to_owned())
        );
    }

    #[tokio::test]
    async fn docker_desktop_listens_on_loopback_and_pods_use_host_docker_internal() {
        let tmp = tempfile::tempdir().unwrap();
        let w = World::new(tmp.path(), Fake::DockerDesktop);
        let _pod = simulate_probe_pod(tmp.path());
        let c = cluster(&w, KindOptions::default());
        c.up(&UpOptions::default()).await.unwrap();
        let l = w.take_log();
        assert!(
            l.contains(
                &"docker exec secretbench-control-plane getent ahostsv4 host.docker.internal"
                    .to_owned()
            )
        );
        assert!(
            !l.iter().any(|x| x.starts_with("docker network inspect")),
            "the VM's network gateway is not used"
        );
        assert!(
            w.get("probe-urls").starts_with("http://192.168.65.254:"),
            "the probe pod fetched {}",
            w.get("probe-urls")
        );
        assert_eq!(
            c.emulator_address().await.unwrap(),
            EmulatorAddress {
                listen: ip("127.0.0.1"),
                advertise: ip("192.168.65.254")
            }
        );
    }

    #[tokio::test]
    async fn rootless_docker_listens_everywhere_and_pods_use_this_machines_address() {
        let tmp = tempfile::tempdir().unwrap();
        let w = World::new(tmp.path(), Fake::RootlessDocker);
        let _pod = simulate_probe_pod(tmp.path());
        let c = cluster(&w, KindOptions::default());
        c.up(&UpOptions::default()).await.unwrap();
        assert_eq!(
            c.emulator_address().await.unwrap(),
            EmulatorAddress {
                listen: ip("0.0.0.0"),
                advertise: ip("192.168.1.20")
            }
        );
        assert!(w.get("probe-urls").starts_with("http://192.168.1.20:"));
        // The user knows better (slirp4netns with the host loopback allowed).
        let c = cluster(
            &w,
            KindOptions {
                emulator: Overrides {
                    host: Some("10.0.2.2".into()),
                    listen: Some("127.0.0.1".into()),
                },
                ..KindOptions::default()
            },
        );
        assert_eq!(
            c.emulator_address().await.unwrap(),
            EmulatorAddress {
                listen: ip("127.0.0.1"),
                advertise: ip("10.0.2.2")
            }
        );
    }

    #[tokio::test]
    async fn podman_is_driven_the_way_kind_drives_it() {
        let tmp = tempfile::tempdir().unwrap();
        let w = World::new(tmp.path(), Fake::RootlessPodman);
        let _pod = simulate_probe_pod(tmp.path());
        let c = cluster(
            &w,
            KindOptions {
                provider: Requested::One(Kind::Podman),
                podman_network: Some("kind-ci".into()),
                ..KindOptions::default()
            },
        );
        c.up(&UpOptions::default()).await.unwrap();
        let l = w.take_log();
        assert!(!l.iter().any(|x| x.starts_with("docker")), "{l:#?}");
        assert!(l.contains(&"podman info --format json".to_owned()));
        assert!(
            l.contains(
                &"podman exec secretbench-control-plane getent ahostsv4 host.containers.internal"
                    .to_owned()
            )
        );
        assert_eq!(
            w.get("kind-env"),
            "podman kind-ci\n",
            "kind gets KIND_EXPERIMENTAL_PROVIDER and KIND_EXPERIMENTAL_PODMAN_NETWORK"
        );
        assert_eq!(
            Marker::read(&tmp.path().join("state")).unwrap().runtime,
            Kind::Podman
        );
        assert!(w.get("probe-urls").starts_with("http://169.254.1.2:"));
        assert_eq!(
            c.emulator_address().await.unwrap(),
            EmulatorAddress {
                listen: ip("0.0.0.0"),
                advertise: ip("169.254.1.2")
            }
        );

        // Rootful Podman: the gateway of `podman network inspect`'s subnets[].
        let tmp = tempfile::tempdir().unwrap();
        let w = World::new(tmp.path(), Fake::RootfulPodman);
        let c = cluster(
            &w,
            KindOptions {
                provider: Requested::One(Kind::Podman),
                ..KindOptions::default()
            },
        );
        assert_eq!(
            c.emulator_address().await.unwrap(),
            EmulatorAddress::same(ip("10.89.0.1"))
        );
        assert!(
            w.take_log()
                .contains(&"podman network inspect kind".to_owned())
        );
    }

    #[tokio::test]
    async fn the_runtime_is_detected_as_kind_detects_it() {
        // No docker: Podman.
        let tmp = tempfile::tempdir().unwrap();
        let w = World::new(tmp.path(), Fake::RootfulPodman);
        let c = cluster(&w, KindOptions::default());
        assert_eq!(
            c.emulator_address().await.unwrap(),
            EmulatorAddress::same(ip("10.89.0.1"))
        );
        // A `docker` that is podman-docker's shim says "podman version": Podman as well.
        script(&w.bin.join("docker"), "printf 'podman version 5.4.0\\n'\n");
        assert_eq!(
            c.emulator_address().await.unwrap(),
            EmulatorAddress::same(ip("10.89.0.1"))
        );
        // Neither, or something kind knows but the bench does not drive.
        std::fs::remove_file(w.bin.join("docker")).unwrap();
        std::fs::remove_file(w.bin.join("podman")).unwrap();
        let e = c.emulator_address().await.unwrap_err().to_string();
        assert!(e.contains("neither Docker nor Podman"), "{e}");
        let c = cluster(
            &w,
            KindOptions {
                provider: Requested::Other("nerdctl".into()),
                ..KindOptions::default()
            },
        );
        let e = c.emulator_address().await.unwrap_err().to_string();
        assert!(e.contains("KIND_EXPERIMENTAL_PROVIDER=nerdctl"), "{e}");
    }

    #[tokio::test]
    async fn an_engine_elsewhere_is_refused_with_what_to_set() {
        let tmp = tempfile::tempdir().unwrap();
        let w = World::new(tmp.path(), Fake::RootfulDocker);
        // Rootful Docker's answers, from an engine in a VM (colima) or behind DOCKER_HOST.
        let c = KindCluster::with_options(
            stack(),
            w.dir.join("state"),
            KindOptions {
                machine: ThisMachine::StandIn {
                    addresses: vec![],
                    primary: None,
                },
                ..KindOptions::default()
            },
        )
        .with_search_path(&w.bin);
        let e = c.up(&UpOptions::default()).await.unwrap_err().to_string();
        assert!(
            e.contains("the kind network's gateway 172.18.0.1 is not an address of this machine"),
            "{e}"
        );
        assert!(e.contains("SECRETBENCH_EMULATOR_HOST"), "{e}");
        assert!(
            !w.take_log().iter().any(|x| x.starts_with("helm upgrade")),
            "nothing installed"
        );
    }

    #[tokio::test]
    async fn a_firewall_dropping_bridge_traffic_fails_up_with_the_rule_to_add() {
        let tmp = tempfile::tempdir().unwrap();
        let w = World::new(tmp.path(), Fake::RootfulDocker);
        // UFW's default `deny (incoming)` drops the packets: busybox wget gives up.
        w.set("probe-fail", "wget: download timed out");
        let c = cluster(&w, KindOptions::default());
        let e = c.up(&UpOptions::default()).await.unwrap_err().to_string();
        assert!(
            e.starts_with("a pod cannot reach the emulator address 172.18.0.1:"),
            "{e}"
        );
        assert!(
            e.contains("the probe pod said: wget: download timed out"),
            "{e}"
        );
        assert!(
            e.contains("firewall drops traffic from the kind network (172.18.0.0/16)"),
            "{e}"
        );
        assert!(e.contains("sudo ufw allow in from 172.18.0.0/16"), "{e}");
        let l = w.take_log();
        assert!(
            !l.iter().any(|x| x.starts_with("helm upgrade")),
            "nothing installed"
        );
        assert!(
            l.iter().any(
                |x| x.ends_with("delete pod secretbench-probe --ignore-not-found --wait=false")
            ),
            "the probe pod is removed: {l:#?}"
        );
    }

    #[tokio::test]
    async fn a_bundle_is_loaded_and_its_charts_installed_instead_of_the_repositories() {
        use crate::install::archive::tests::{oci_index, write_tar};
        let tmp = tempfile::tempdir().unwrap();
        let w = World::new(tmp.path(), Fake::RootfulDocker);
        let _pod = simulate_probe_pod(tmp.path());
        let c = cluster(&w, KindOptions::default());
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
            versions: None,
        };
        c.up(&opts).await.unwrap();
        let l = w.take_log();
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
            !w.take_log().iter().any(|x| x.starts_with("kind ")),
            "nothing ran"
        );
    }

    #[tokio::test]
    async fn a_missing_tool_is_named_with_its_pin() {
        let tmp = tempfile::tempdir().unwrap();
        let c =
            KindCluster::with_options(stack(), tmp.path().join("state"), KindOptions::default())
                .with_search_path(tmp.path());
        let e = c.up(&UpOptions::default()).await.unwrap_err();
        assert!(
            matches!(e, KindError::MissingTool { tool: "kind", .. }),
            "{e}"
        );
        assert!(e.to_string().contains("KIND_VERSION"), "{e}");
        assert!(matches!(
            c.emulator_address().await,
            Err(KindError::Runtime(RuntimeError::Missing(None)))
        ));
        assert!(
            !tmp.path().join("state").exists(),
            "nothing made before the tools are found"
        );
    }
}
