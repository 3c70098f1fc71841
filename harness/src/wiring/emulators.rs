//! The emulators a run starts: `secretbench emulators` as a child process listening on the
//! address pods reach. Its state dir is kept between runs so the Key Vault and AWS CAs (and so
//! the ConfigMaps the providers trust) stay the same; every scenario starts from a reset.
//!
//! The AWS emulator also listens over HTTPS on port 443 of that address when the harness may
//! bind it there (root, or `net.ipv4.ip_unprivileged_port_start` low enough): the AWS provider's
//! IRSA STS client dials `https://sts.<region>.amazonaws.com` on 443 and nothing else
//! (`harness/src/wiring/aws.rs`). Where 443 cannot be had, the emulators start without it and
//! IRSA cases are skipped with the reason; the ready line says which port is served.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncBufReadExt as _;
use tokio::process::{Child, Command};

use super::WiringError;

/// Ports the emulators listen on (the services' usual local ports).
pub const AWS_PORT: u16 = 4566;
/// HTTPS's port, the only one the AWS provider's STS client dials.
pub const AWS_HTTPS_PORT: u16 = 443;
pub const AZURE_PORT: u16 = 8443;
pub const VAULT_PORT: u16 = 8200;

/// Where each emulator answers, from the ready line.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub aws_url: String,
    /// The AWS listener over HTTPS and the CA its certificate chains to, when it was started.
    pub aws_https_url: Option<String>,
    pub aws_ca_file: Option<PathBuf>,
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
        let optional = |ptr: &str| v.pointer(ptr).and_then(|x| x.as_str()).map(str::to_owned);
        Ok(Self {
            aws_url: s("/aws/url")?,
            aws_https_url: optional("/aws/httpsUrl"),
            aws_ca_file: optional("/aws/caFile").map(PathBuf::from),
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

/// `host:port` as a socket address string (brackets around an IPv6 address).
fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Whether the emulators may listen on `host`:443: the listener is bound and released again, so
/// the emulators are only asked for a port they can have (a refused bind would stop them all).
fn https_port_free(host: &str) -> std::io::Result<()> {
    std::net::TcpListener::bind(join_host_port(host, AWS_HTTPS_PORT)).map(drop)
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
        let mut command = Command::new(program);
        command
            .arg("emulators")
            .args(["--aws", &join_host_port(host, AWS_PORT)]);
        match https_port_free(host) {
            Ok(()) => {
                command.args(["--aws-https", &join_host_port(host, AWS_HTTPS_PORT)]);
            }
            Err(e) => tracing::warn!(
                %host, error = %e,
                "no HTTPS listener for AWS on port {AWS_HTTPS_PORT}: IRSA cases will be skipped"
            ),
        }
        let mut child = command
            .args(["--azure", &join_host_port(host, AZURE_PORT)])
            .args(["--vault", &join_host_port(host, VAULT_PORT)])
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
        assert_eq!((e.aws_https_url, e.aws_ca_file), (None, None));
        assert!(Endpoints::from_ready_line(r#"{"aws":{"url":"x"}}"#).is_err());
        let e = Endpoints::from_ready_line(
            r#"{"aws":{"url":"http://10.0.0.1:4566","httpsUrl":"https://10.0.0.1:443","caFile":"/s/aws-ca.pem"},"azure":{"url":"https://10.0.0.1:8443","caFile":"/s/azure-ca.pem"},"vault":{"url":"http://10.0.0.1:8200","rootToken":"root"}}"#,
        )
        .unwrap();
        assert_eq!(e.aws_https_url.as_deref(), Some("https://10.0.0.1:443"));
        assert_eq!(e.aws_ca_file, Some(PathBuf::from("/s/aws-ca.pem")));
        assert_eq!(join_host_port("fd00::1", 443), "[fd00::1]:443");
        assert_eq!(join_host_port("10.0.0.1", 443), "10.0.0.1:443");
    }
}
