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
