//! kubectl from the stack cache, bound to one kubeconfig, and the API client for the same
//! kubeconfig ([`Kubectl::api`]). API work (apply, get, delete, scale, waits) goes through the
//! client; kubectl remains for what a user would type or read: describe, logs, exec.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::OnceCell;

use crate::cmd::{Cmd, CmdError};
use crate::kube_api::{ApiError, KubeApi};

#[derive(Debug, Clone)]
pub struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    /// Built on first use and shared by clones: one connection pool and one discovery cache.
    api: Arc<OnceCell<KubeApi>>,
    /// kubectl processes started through this handle (and clones sharing its count).
    started: Arc<AtomicU64>,
}

impl Kubectl {
    pub fn new(bin: impl Into<PathBuf>, kubeconfig: impl Into<PathBuf>) -> Self {
        Self {
            bin: bin.into(),
            kubeconfig: kubeconfig.into(),
            api: Arc::default(),
            started: Arc::default(),
        }
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The API client for this kubeconfig, connected on first use.
    pub async fn api(&self) -> Result<&KubeApi, ApiError> {
        self.api
            .get_or_try_init(|| KubeApi::from_kubeconfig(&self.kubeconfig))
            .await
    }

    /// The same kubectl and API client with a count of its own starting at zero, so one case
    /// can say how many kubectl processes it started while others run beside it.
    pub fn counted(&self) -> Self {
        Self {
            started: Arc::default(),
            ..self.clone()
        }
    }

    /// kubectl processes started through this handle (see [`Kubectl::counted`]).
    pub fn processes_started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// `kubectl --kubeconfig K ARGS...`, ready for more arguments. Counted here, as every
    /// caller runs the command it builds.
    pub fn cmd<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.started.fetch_add(1, Ordering::Relaxed);
        Cmd::new(&self.bin)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
    }

    pub async fn run<I, S>(&self, args: I) -> Result<String, CmdError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd(args).output().await
    }

    pub async fn ok<I, S>(&self, args: I) -> bool
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd(args).succeeds().await
    }

    /// `kubectl apply -f -` of one object or a `List`, server-side checked.
    pub async fn apply_json(&self, object: &serde_json::Value) -> Result<String, CmdError> {
        self.cmd(["apply", "-f", "-"])
            .stdin(object.to_string())
            .output()
            .await
    }

    /// `kubectl get` as JSON; `Ok(None)` when the object does not exist.
    pub async fn get_json(
        &self,
        namespace: Option<&str>,
        resource: &str,
        name: Option<&str>,
    ) -> Result<Option<serde_json::Value>, CmdError> {
        let mut args: Vec<&str> = Vec::new();
        if let Some(ns) = namespace {
            args.extend(["-n", ns]);
        }
        args.extend(["get", resource]);
        args.extend(name);
        args.extend(["-o", "json", "--ignore-not-found"]);
        let out = self.run(args).await?;
        if out.trim().is_empty() {
            return Ok(None);
        }
        serde_json::from_str(&out)
            .map(Some)
            .map_err(|e| CmdError::BadOutput {
                command: format!("kubectl get {resource}"),
                message: format!("not JSON: {e}"),
            })
    }

    /// Waits (kubectl's own `rollout status`, which watches) until every pod of `what`
    /// (`daemonset/NAME`, `deployment/NAME`) runs its current template, at most `limit`.
    pub async fn rollout_status(
        &self,
        namespace: &str,
        what: &str,
        limit: std::time::Duration,
    ) -> Result<(), CmdError> {
        self.cmd([
            "-n",
            namespace,
            "rollout",
            "status",
            what,
            &format!("--timeout={}s", limit.as_secs()),
        ])
        // kubectl's own deadline fires first; ours only catches a kubectl that hangs.
        .timeout(limit + std::time::Duration::from_secs(15))
        .output()
        .await?;
        Ok(())
    }

    /// Whether node `name` has condition Ready=True.
    pub async fn node_ready(&self, name: &str) -> bool {
        self.run([
            "get",
            "node",
            name,
            "-o",
            r#"jsonpath={.status.conditions[?(@.type=="Ready")].status}"#,
        ])
        .await
        .is_ok_and(|s| s.trim() == "True")
    }
}
