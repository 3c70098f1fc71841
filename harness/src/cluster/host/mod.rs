//! The `host` backend: a real single-node Kubernetes run as processes on this machine, with the
//! flags, configs, certificates, order and cleanup that `stack/NOTES.md` specifies and explains.
//!
//! - [`pki`]: CA, certificates, service-account keys (openssl).
//! - [`config`]: containerd, CNI, kubelet, kube-proxy configs and kubeconfigs.
//! - [`processes`]: daemons in their own sessions, pid files, stop by recorded PID only.
//! - [`network`]: bridge `sbbr0` (node address) and iptables cleanup.
//! - [`images`]: the stack's and a bundle's images, imported into containerd.
//!
//! The driver and providers go in through the install plan (`crate::install`), as on every backend.
//! - [`cleanup`]: the bookkeeping taken at `up` and the undoing at `down`.
//!
//! State: `${SECRETBENCH_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/secretbench}/host`.
//! Run as root.

pub mod cleanup;
pub mod config;
pub mod images;
pub mod network;
pub mod pki;
pub mod processes;

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Progress, UpOptions};
use crate::cmd::CmdError;
use crate::install::{self, Bundle, ChartSources, Images, InstallError, Installer, Plan};
use crate::kubectl::Kubectl;
use crate::stack::{Built, Stack, StackError};
use crate::wait;

pub const NODE: &str = "secretbench";
pub const BRIDGE: &str = "sbbr0";
pub const POD_CIDR: &str = "10.244.0.0/24";
/// The bridge's own address: node IP, apiserver address and the pods' gateway.
pub const NODE_IP: &str = "10.244.0.1";
pub const SERVICE_CIDR: &str = "10.96.0.0/16";
pub const API_SERVICE_IP: &str = "10.96.0.1";
pub const ETCD_PORT: u16 = 23790;
/// The charts' `kubeletRootDir` default.
pub const KUBELET_DIR: &str = "/var/lib/kubelet";

pub fn api_server_url() -> String {
    format!("https://{NODE_IP}:6443")
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("the host backend must run as root")]
    NotRoot,
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Cmd(#[from] CmdError),
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error(transparent)]
    Timeout(#[from] wait::Timeout),
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error("{0}")]
    Daemon(String),
}

pub(crate) fn io_err(action: &'static str, path: &Path, source: std::io::Error) -> HostError {
    HostError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Writes a whole file with the given mode.
pub(crate) async fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), HostError> {
    use tokio::io::AsyncWriteExt as _;
    let mut f = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .await
        .map_err(|e| io_err("writing", path, e))?;
    f.write_all(data)
        .await
        .map_err(|e| io_err("writing", path, e))?;
    f.flush().await.map_err(|e| io_err("writing", path, e))
}

/// The state dir and the places in it.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// `${SECRETBENCH_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/secretbench}/host`.
    pub fn from_env() -> Self {
        Self::new(Self::base_from_env().join("host"))
    }

    /// `${SECRETBENCH_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/secretbench}`: every
    /// backend keeps its state in its own folder under it.
    pub fn base_from_env() -> PathBuf {
        let var = |k| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        var("SECRETBENCH_STATE").unwrap_or_else(|| {
            match (var("XDG_STATE_HOME"), var("HOME")) {
                (Some(state), _) => state.join("secretbench"),
                (None, Some(home)) => home.join(".local/state/secretbench"),
                // The backend runs as root; with no home at all, use the system's state location.
                (None, None) => PathBuf::from("/var/lib/secretbench"),
            }
        })
    }

    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn pki(&self, file: &str) -> PathBuf {
        self.root.join("pki").join(file)
    }

    pub fn kubeconfig(&self, user: &str) -> PathBuf {
        self.root.join("kubeconfig").join(format!("{user}.conf"))
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.root.join("logs").join(format!("{name}.log"))
    }

    pub fn pid_file(&self, name: &str) -> PathBuf {
        self.root.join("pids").join(name)
    }

    pub fn containerd_sock(&self) -> PathBuf {
        self.root.join("containerd/containerd.sock")
    }

    /// Present from the start of `up` until the end of `down`.
    pub fn up_marker(&self) -> PathBuf {
        self.root.join("up")
    }

    fn file(&self, rel: &str) -> String {
        self.root.join(rel).to_string_lossy().into_owned()
    }
}

/// Every daemon `up` starts, in start order.
pub const DAEMONS: &[&str] = &[
    "etcd",
    "containerd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
];

/// Daemon command lines (program, args), with the flags stack/NOTES.md gives.
pub fn etcd_args(state: &StateDir) -> Vec<String> {
    let c = format!("http://127.0.0.1:{ETCD_PORT}");
    vec![
        "--name".into(),
        "sb".into(),
        "--data-dir".into(),
        state.file("etcd"),
        "--listen-client-urls".into(),
        c.clone(),
        "--advertise-client-urls".into(),
        c,
        "--listen-peer-urls".into(),
        "http://127.0.0.1:23800".into(),
        "--initial-advertise-peer-urls".into(),
        "http://127.0.0.1:23800".into(),
        "--initial-cluster".into(),
        "sb=http://127.0.0.1:23800".into(),
        "--listen-metrics-urls".into(),
        "http://127.0.0.1:23810".into(),
    ]
}

pub fn apiserver_args(state: &StateDir) -> Vec<String> {
    let p = |f: &str| state.pki(f).to_string_lossy().into_owned();
    vec![
        format!("--etcd-servers=http://127.0.0.1:{ETCD_PORT}"),
        format!("--bind-address={NODE_IP}"),
        format!("--advertise-address={NODE_IP}"),
        "--secure-port=6443".into(),
        format!("--service-cluster-ip-range={SERVICE_CIDR}"),
        format!("--tls-cert-file={}", p("apiserver.crt")),
        format!("--tls-private-key-file={}", p("apiserver.key")),
        format!("--client-ca-file={}", p("ca.crt")),
        format!(
            "--kubelet-client-certificate={}",
            p("apiserver-kubelet-client.crt")
        ),
        format!("--kubelet-client-key={}", p("apiserver-kubelet-client.key")),
        format!("--kubelet-certificate-authority={}", p("ca.crt")),
        "--kubelet-preferred-address-types=InternalIP,Hostname".into(),
        format!("--service-account-key-file={}", p("sa.pub")),
        format!("--service-account-signing-key-file={}", p("sa.key")),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
        "--api-audiences=https://kubernetes.default.svc.cluster.local".into(),
        "--authorization-mode=Node,RBAC".into(),
        "--enable-admission-plugins=NodeRestriction".into(),
        "--allow-privileged=true".into(),
    ]
}

pub fn controller_manager_args(state: &StateDir) -> Vec<String> {
    let kc = state
        .kubeconfig("controller-manager")
        .to_string_lossy()
        .into_owned();
    let p = |f: &str| state.pki(f).to_string_lossy().into_owned();
    vec![
        format!("--kubeconfig={kc}"),
        format!("--authentication-kubeconfig={kc}"),
        format!("--authorization-kubeconfig={kc}"),
        "--bind-address=127.0.0.1".into(),
        "--leader-elect=false".into(),
        format!("--service-account-private-key-file={}", p("sa.key")),
        format!("--root-ca-file={}", p("ca.crt")),
        format!("--cluster-signing-cert-file={}", p("ca.crt")),
        format!("--cluster-signing-key-file={}", p("ca.key")),
        "--use-service-account-credentials=true".into(),
        format!("--service-cluster-ip-range={SERVICE_CIDR}"),
    ]
}

pub fn scheduler_args(state: &StateDir) -> Vec<String> {
    let kc = state.kubeconfig("scheduler").to_string_lossy().into_owned();
    vec![
        format!("--kubeconfig={kc}"),
        format!("--authentication-kubeconfig={kc}"),
        format!("--authorization-kubeconfig={kc}"),
        "--bind-address=127.0.0.1".into(),
        "--leader-elect=false".into(),
    ]
}

pub fn kubelet_args(state: &StateDir) -> Vec<String> {
    vec![
        format!("--config={}", state.file("kubelet-config.yaml")),
        format!("--kubeconfig={}", state.kubeconfig("kubelet").display()),
        format!("--hostname-override={NODE}"),
        format!("--node-ip={NODE_IP}"),
        format!("--root-dir={KUBELET_DIR}"),
    ]
}

pub fn kube_proxy_args(state: &StateDir) -> Vec<String> {
    vec![format!("--config={}", state.file("kube-proxy-config.yaml"))]
}

/// The single-node host cluster.
#[derive(Debug)]
pub struct HostCluster {
    stack: Stack,
    state: StateDir,
}

const POLL: Duration = Duration::from_millis(500);

impl HostCluster {
    pub fn new(stack: Stack) -> Self {
        Self::with_state(stack, StateDir::from_env())
    }

    pub fn with_state(stack: Stack, state: StateDir) -> Self {
        Self { stack, state }
    }

    pub fn state(&self) -> &StateDir {
        &self.state
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.state.kubeconfig("admin")
    }

    fn kubectl(&self, built: &Built) -> Kubectl {
        Kubectl::new(built.kube("kubectl"), self.kubeconfig())
    }

    /// kubectl from the stack cache, for callers outside `up` (scenarios, smoke).
    pub async fn kubectl_any(&self) -> Result<Kubectl, HostError> {
        let dir = self.stack.component_dir("kubernetes").await?;
        Ok(Kubectl::new(dir.join("bin/kubectl"), self.kubeconfig()))
    }

    /// Whether a previous `up` left a complete, healthy cluster running.
    async fn healthy(&self, built: &Built) -> bool {
        DAEMONS.iter().all(|d| processes::running(&self.state, d))
            && self.kubectl(built).node_ready(NODE).await
    }

    /// Brings the cluster up and installs the plan (the stack's charts and images, and a
    /// bundle's); returns the admin kubeconfig. A cluster from an earlier `up` that is still
    /// running and healthy is kept (only the plan is brought up to date); a half-made one is
    /// taken down first.
    pub async fn up(&self, opts: &UpOptions) -> Result<PathBuf, HostError> {
        if !rustix::process::geteuid().is_root() {
            return Err(HostError::NotRoot);
        }
        let mut pr = Progress::new("host up");
        let plan = Plan::from_versions(self.stack.versions())?;
        // A bad bundle is refused before anything starts.
        let bundle = match &opts.bundle {
            Some(dir) => Some(Bundle::open(dir, &plan).map_err(InstallError::from)?),
            None => None,
        };
        let built = self.stack.ensure_built().await?;
        let pause_image = self.stack.versions().get("PAUSE_IMAGE")?.to_owned();
        pr.step("stack binaries and images present");

        if self.state.up_marker().exists() {
            if self.healthy(&built).await {
                pr.step("already up and healthy: keeping it");
                self.import_stack_images(&built, &mut pr).await?;
                self.install(&built, &plan, bundle.as_ref(), &mut pr)
                    .await?;
                return Ok(self.kubeconfig());
            }
            pr.step("an earlier up is unfinished or broken: taking it down first");
            self.down().await?;
        }
        let s = &self.state;
        for d in ["logs", "pids"] {
            let p = s.root().join(d);
            tokio::fs::create_dir_all(&p)
                .await
                .map_err(|e| io_err("creating", &p, e))?;
        }
        cleanup::snapshot(s).await?;
        write_file(&s.up_marker(), b"", 0o644).await?;
        if pki::ensure(s).await? {
            pr.step("PKI made");
        }
        config::write_all(s, &pause_image).await?;

        network::create_bridge().await?;
        pr.step(format!("bridge {BRIDGE} {NODE_IP}/24 up"));

        processes::start(s, "etcd", &built.etcd, &etcd_args(s)).await?;
        let containerd_args = vec!["--config".to_owned(), s.file("containerd/config.toml")];
        processes::start(s, "containerd", Path::new("containerd"), &containerd_args).await?;
        processes::start(
            s,
            "kube-apiserver",
            &built.kube("kube-apiserver"),
            &apiserver_args(s),
        )
        .await?;
        wait::until("containerd", Duration::from_secs(60), POLL, || async {
            processes::check_running(s, "containerd")?;
            Ok::<_, HostError>(images::ctr(s).arg("version").succeeds().await)
        })
        .await?;
        pr.step("etcd, containerd, kube-apiserver started; containerd answers");
        // Imported while the API server starts.
        self.import_stack_images(&built, &mut pr).await?;

        let kubectl = self.kubectl(&built);
        wait::until(
            "kube-apiserver /readyz",
            Duration::from_secs(60),
            POLL,
            || async {
                processes::check_running(s, "etcd")?;
                processes::check_running(s, "kube-apiserver")?;
                Ok::<_, HostError>(kubectl.ok(["get", "--raw", "/readyz"]).await)
            },
        )
        .await?;
        pr.step("kube-apiserver ready");

        processes::start(
            s,
            "kube-controller-manager",
            &built.kube("kube-controller-manager"),
            &controller_manager_args(s),
        )
        .await?;
        processes::start(
            s,
            "kube-scheduler",
            &built.kube("kube-scheduler"),
            &scheduler_args(s),
        )
        .await?;

        // The driver mounts KUBELET_DIR/pods with Bidirectional propagation, which needs a
        // shared mount; / is private here, so make the kubelet dir a shared bind of itself.
        tokio::fs::create_dir_all(KUBELET_DIR)
            .await
            .map_err(|e| io_err("creating", Path::new(KUBELET_DIR), e))?;
        crate::cmd::Cmd::new("mount")
            .args(["--bind", KUBELET_DIR, KUBELET_DIR])
            .output()
            .await?;
        crate::cmd::Cmd::new("mount")
            .args(["--make-rshared", KUBELET_DIR])
            .output()
            .await?;
        processes::start(s, "kubelet", &built.kube("kubelet"), &kubelet_args(s)).await?;
        processes::start(
            s,
            "kube-proxy",
            &built.kube("kube-proxy"),
            &kube_proxy_args(s),
        )
        .await?;
        wait::until("node Ready", Duration::from_secs(90), POLL, || async {
            processes::check_running(s, "kubelet")?;
            Ok::<_, HostError>(kubectl.node_ready(NODE).await)
        })
        .await?;
        pr.step(format!("node {NODE} Ready"));

        self.install(&built, &plan, bundle.as_ref(), &mut pr)
            .await?;
        for d in DAEMONS {
            processes::check_running(s, d)?;
        }
        eprintln!(
            "[host up] node Ready, driver and providers Running in {:.1}s",
            pr.elapsed_secs()
        );
        Ok(self.kubeconfig())
    }

    async fn import_stack_images(&self, built: &Built, pr: &mut Progress) -> Result<(), HostError> {
        let n = images::import_images(&self.state, &built.images).await?;
        pr.step(format!("stack images: {n} imported"));
        Ok(())
    }

    /// The bundle's images into containerd, then the plan with the stack's and the bundle's
    /// charts: every release whose chart and images are here.
    async fn install(
        &self,
        built: &Built,
        plan: &Plan,
        bundle: Option<&Bundle>,
        pr: &mut Progress,
    ) -> Result<(), HostError> {
        let s = &self.state;
        let list = built.images.join("images.txt");
        let text = tokio::fs::read_to_string(&list)
            .await
            .map_err(|e| io_err("reading", &list, e))?;
        let mut loaded = images::stack_references(&text);
        if let Some(b) = bundle {
            let from_bundle = images::import_bundle(s, b).await?;
            pr.step(format!(
                "bundle {}: {} image(s) present",
                b.dir.display(),
                from_bundle.len()
            ));
            loaded.extend(from_bundle);
        }
        let kubectl = self.kubectl(built);
        let helm = install::helm::Helm::new(&built.helm, s.root().join("helm"), &self.kubeconfig());
        let installer = Installer {
            plan,
            helm: &helm,
            kubectl: &kubectl,
            work: s.root().join("install"),
        };
        let sources = ChartSources {
            stack: built.charts(&self.stack),
            bundle,
            repositories: false,
        };
        let outcome = installer
            .install(&sources, &Images::Loaded(loaded), false, pr)
            .await?;
        pr.step(outcome.summary());
        Ok(())
    }

    /// Stops everything `up` started and removes everything it made outside the state dir.
    /// Safe to run at any time (also after a failed or partial `up`, or twice).
    pub async fn down(&self) -> Result<(), HostError> {
        if !rustix::process::geteuid().is_root() {
            return Err(HostError::NotRoot);
        }
        let mut pr = Progress::new("host down");
        let s = &self.state;
        if !s.root().is_dir() {
            pr.step("nothing to do (no state dir)");
            return Ok(());
        }
        processes::stop(s, Duration::from_secs(15), &["kubelet"]).await;
        pr.step("kubelet stopped");
        // With kubelet gone nothing restarts containers: kill them all through containerd.
        if processes::running(s, "containerd") {
            kill_containers(s).await;
            pr.step("containers removed");
        }
        processes::stop(
            s,
            Duration::from_secs(20),
            &[
                "kube-proxy",
                "kube-scheduler",
                "kube-controller-manager",
                "kube-apiserver",
            ],
        )
        .await;
        processes::stop(s, Duration::from_secs(15), &["etcd", "containerd"]).await;
        pr.step("control plane, etcd and containerd stopped");
        if let Ok(kube) = self.stack.component_dir("kubernetes").await {
            let kp = kube.join("bin/kube-proxy");
            if kp.is_file() {
                let _ = crate::cmd::Cmd::new(kp).arg("--cleanup").succeeds().await;
            }
        }
        cleanup::unmount_all(s).await;
        network::delete_bridge().await;
        network::clean_iptables().await;
        cleanup::remove_cgroups().await?;
        cleanup::remove_global_paths(s).await;
        cleanup::restore_sysctls(s).await;
        cleanup::remove_cluster_data(s).await;
        pr.step("mounts, bridge, iptables, cgroups, global paths and sysctls cleaned");
        eprintln!("[host down] done in {:.1}s", pr.elapsed_secs());
        Ok(())
    }
}

/// SIGKILL every task, then delete tasks and containers (sandboxes included).
async fn kill_containers(s: &StateDir) {
    let list = |what: &'static str| async move {
        images::ctr(s)
            .args([what, "ls", "-q"])
            .output()
            .await
            .map(|o| {
                o.lines()
                    .map(str::to_owned)
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    for t in list("tasks").await {
        let _ = images::ctr(s)
            .args(["tasks", "kill", "-s", "SIGKILL", &t])
            .succeeds()
            .await;
    }
    for t in list("tasks").await {
        let _ = images::ctr(s)
            .args(["tasks", "delete", "-f", &t])
            .succeeds()
            .await;
    }
    for c in list("containers").await {
        let _ = images::ctr(s)
            .args(["containers", "delete", &c])
            .succeeds()
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_paths() {
        let s = StateDir::new(PathBuf::from("/st/host"));
        assert_eq!(
            s.kubeconfig("admin"),
            Path::new("/st/host/kubeconfig/admin.conf")
        );
        assert_eq!(s.pid_file("etcd"), Path::new("/st/host/pids/etcd"));
        assert_eq!(
            s.containerd_sock(),
            Path::new("/st/host/containerd/containerd.sock")
        );
    }

    #[test]
    fn daemon_flags_match_host_ref() {
        let s = StateDir::new(PathBuf::from("/st/host"));
        let a = apiserver_args(&s);
        for f in [
            "--etcd-servers=http://127.0.0.1:23790",
            "--bind-address=10.244.0.1",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
            "--service-account-key-file=/st/host/pki/sa.pub",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=true",
        ] {
            assert!(a.iter().any(|x| x == f), "apiserver lacks {f}");
        }
        assert!(controller_manager_args(&s).contains(&"--leader-elect=false".to_owned()));
        assert!(
            scheduler_args(&s)
                .contains(&"--kubeconfig=/st/host/kubeconfig/scheduler.conf".to_owned())
        );
        assert_eq!(
            kubelet_args(&s),
            vec![
                "--config=/st/host/kubelet-config.yaml",
                "--kubeconfig=/st/host/kubeconfig/kubelet.conf",
                "--hostname-override=secretbench",
                "--node-ip=10.244.0.1",
                "--root-dir=/var/lib/kubelet",
            ]
        );
        let e = etcd_args(&s);
        assert_eq!(e[3], "/st/host/etcd");
        assert!(e.contains(&"http://127.0.0.1:23790".to_owned()));
    }

    #[test]
    fn state_dir_from_env_ends_in_host() {
        assert!(StateDir::from_env().root().ends_with("host"));
    }
}
