//! kubectl from the stack cache, bound to one kubeconfig.

use std::path::{Path, PathBuf};

use crate::cmd::{Cmd, CmdError};

#[derive(Debug, Clone)]
pub struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
}

impl Kubectl {
    pub fn new(bin: impl Into<PathBuf>, kubeconfig: impl Into<PathBuf>) -> Self {
        Self {
            bin: bin.into(),
            kubeconfig: kubeconfig.into(),
        }
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// `kubectl --kubeconfig K ARGS...`, ready for more arguments.
    pub fn cmd<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
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
