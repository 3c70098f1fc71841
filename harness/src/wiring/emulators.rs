//! The emulators a run starts: `secretbench emulators` as a child process listening on the
//! address pods reach. Its state dir is kept between runs so the Key Vault CA (and so the
//! ConfigMap the Azure provider trusts) stays the same; every scenario starts from a reset.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncBufReadExt as _;
use tokio::process::{Child, Command};

use super::WiringError;

/// Ports the emulators listen on (the services' usual local ports).
pub const AWS_PORT: u16 = 4566;
pub const AZURE_PORT: u16 = 8443;
pub const VAULT_PORT: u16 = 8200;
/// The real Vault dev server under `--vault real` (its cluster listener takes the next port).
pub const REAL_VAULT_PORT: u16 = 8210;

/// Where each emulator answers, from the ready line.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub aws_url: String,
    pub azure_url: String,
    pub azure_ca_file: PathBuf,
    pub vault_url: String,
    pub vault_token: String,
}

impl Endpoints {
    /// Parses the emulators' JSON ready line.
    pub fn from_ready_line(line: &str) -> Result<Self, WiringError> {
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| WiringError::Emulators(format!("ready line is not JSON ({e}): {line}")))?;
        let s = |ptr: &str| {
            v.pointer(ptr)
                .and_then(|x| x.as_str())
                .map(str::to_owned)
                .ok_or_else(|| WiringError::Emulators(format!("ready line has no {ptr}: {line}")))
        };
        Ok(Self {
            aws_url: s("/aws/url")?,
            azure_url: s("/azure/url")?,
            azure_ca_file: PathBuf::from(s("/azure/caFile")?),
            vault_url: s("/vault/url")?,
            vault_token: s("/vault/rootToken")?,
        })
    }

    /// The admin API (served on every listener; the AWS one is plain HTTP).
    pub fn admin(&self, path: &str) -> String {
        format!("{}/_secretbench/{path}", self.aws_url)
    }
}

/// The running emulator process; killed when dropped.
#[derive(Debug)]
pub struct EmulatorProcess {
    pub endpoints: Endpoints,
    child: Child,
}

impl EmulatorProcess {
    /// Starts `program emulators ...` on `host` and waits (up to 15 s) for the ready line.
    /// Its log goes to `log`.
    pub async fn start(
        program: &Path,
        host: &str,
        state_dir: &Path,
        log: &Path,
    ) -> Result<Self, WiringError> {
        let io = |action, path: &Path| {
            let path = path.to_owned();
            move |source| WiringError::Io {
                action,
                path,
                source,
            }
        };
        std::fs::create_dir_all(state_dir).map_err(io("creating", state_dir))?;
        let log_file = std::fs::File::create(log).map_err(io("creating", log))?;
        let mut child = Command::new(program)
            .arg("emulators")
            .args(["--aws", &format!("{host}:{AWS_PORT}")])
            .args(["--azure", &format!("{host}:{AZURE_PORT}")])
            .args(["--vault", &format!("{host}:{VAULT_PORT}")])
            .arg("--state-dir")
            .arg(state_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .map_err(io("starting", program))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| WiringError::Emulators("no stdout pipe".into()))?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(15), lines.next_line())
            .await
            .map_err(|_| WiringError::Emulators("no ready line within 15 s".into()))?
            .map_err(io("reading the ready line of", program))?
            .ok_or_else(|| {
                WiringError::Emulators(format!(
                    "exited before its ready line; see {}",
                    log.display()
                ))
            })?;
        let endpoints = Endpoints::from_ready_line(&line)?;
        tracing::info!(aws = %endpoints.aws_url, azure = %endpoints.azure_url, vault = %endpoints.vault_url, "emulators ready");
        Ok(Self { endpoints, child })
    }

    /// Stops the emulators with SIGKILL (as dropping the process would): nothing is lost,
    /// since every acknowledged write is already on disk.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ready_line() {
        let e = Endpoints::from_ready_line(
            r#"{"aws":{"url":"http://10.0.0.1:4566"},"azure":{"url":"https://10.0.0.1:8443","caFile":"/s/azure-ca.pem"},"vault":{"url":"http://10.0.0.1:8200","rootToken":"root"}}"#,
        )
        .unwrap();
        assert_eq!(e.admin("reset"), "http://10.0.0.1:4566/_secretbench/reset");
        assert_eq!(e.vault_token, "root");
        assert!(Endpoints::from_ready_line(r#"{"aws":{"url":"x"}}"#).is_err());
    }
}
