//! `vault server -dev`: in memory, initialised and unsealed, KV v2 at `secret/`, root token
//! [`ROOT_TOKEN`], plain HTTP on the address it is given (hashicorp/vault v1.21.1
//! `command/server.go`, dev mode; `docs/concepts/dev-server.mdx`).
//!
//! Dev mode also opens a cluster listener on the API port + 1 (`findClusterAddress`), so a
//! caller choosing ports needs both free ([`free_loopback_address`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use super::RealVaultError;
use crate::wait::{Poll, until_poll};

/// The dev server's root token (`-dev-root-token-id`), the same as the emulator's default.
pub const ROOT_TOKEN: &str = "root";
/// How long a dev server may take to answer `sys/health` with 200 (about 1 s here).
const START_LIMIT: Duration = Duration::from_secs(30);

/// A running dev server; killed when dropped.
#[derive(Debug)]
pub struct DevServer {
    binary: PathBuf,
    listen: SocketAddr,
    log: PathBuf,
    child: Child,
    url: String,
    /// How long the last start took until `sys/health` answered 200.
    pub startup: Duration,
}

/// `127.0.0.1:P` where P and P + 1 (the cluster port) are both free right now.
pub fn free_loopback_address() -> Result<SocketAddr, RealVaultError> {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    for _ in 0..50 {
        let first = TcpListener::bind((ip, 0)).map_err(RealVaultError::Port)?;
        let port = first.local_addr().map_err(RealVaultError::Port)?.port();
        if port < u16::MAX && TcpListener::bind((ip, port + 1)).is_ok() {
            return Ok(SocketAddr::new(ip, port));
        }
    }
    Err(RealVaultError::Port(std::io::Error::other(
        "no two consecutive free ports on 127.0.0.1 after 50 tries",
    )))
}

impl DevServer {
    /// Starts `binary server -dev` on `listen` with its output in `log`, and waits until it
    /// answers `sys/health` with 200.
    pub async fn start(
        binary: &Path,
        listen: SocketAddr,
        log: &Path,
    ) -> Result<Self, RealVaultError> {
        let started = Instant::now();
        let child = spawn(binary, listen, log)?;
        let mut server = Self {
            binary: binary.to_owned(),
            listen,
            log: log.to_owned(),
            child,
            url: format!("http://{listen}"),
            startup: Duration::ZERO,
        };
        server.wait_healthy().await?;
        server.startup = started.elapsed();
        tracing::info!(url = %server.url, startup_ms = server.startup.as_millis(), "Vault dev server ready");
        Ok(server)
    }

    /// `http://host:port`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// A fresh server on the same address: dev mode keeps everything in memory, so this is
    /// how real Vault gets back to its start state (the emulator's `reset`).
    pub async fn restart(&mut self) -> Result<(), RealVaultError> {
        self.kill().await;
        let started = Instant::now();
        self.child = spawn(&self.binary, self.listen, &self.log)?;
        self.wait_healthy().await?;
        self.startup = started.elapsed();
        Ok(())
    }

    pub async fn stop(mut self) {
        self.kill().await;
    }

    async fn kill(&mut self) {
        // SIGKILL and reap: nothing of a dev server outlives it (no files, memory storage).
        let _ = self.child.kill().await;
    }

    async fn wait_healthy(&mut self) -> Result<(), RealVaultError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| RealVaultError::Client(e.to_string()))?;
        let health = format!("{}/v1/sys/health", self.url);
        let what = format!("the Vault dev server on {} to be healthy", self.listen);
        let child = &mut self.child;
        let log = &self.log;
        until_poll::<_, _, _, RealVaultError>(&what, START_LIMIT, Duration::from_millis(50), || {
            let exited = child.try_wait();
            let request = http.get(&health).send();
            async move {
                if let Ok(Some(status)) = exited {
                    return Err(RealVaultError::Exited {
                        status: status.to_string(),
                        log: log.clone(),
                        tail: log_tail(log),
                    });
                }
                Ok(match request.await {
                    Ok(r) if r.status().as_u16() == 200 => Poll::Done(()),
                    Ok(r) => Poll::NotYet(format!("sys/health answered {}", r.status())),
                    Err(e) => Poll::NotYet(e.to_string()),
                })
            }
        })
        .await
    }
}

fn spawn(binary: &Path, listen: SocketAddr, log: &Path) -> Result<Child, RealVaultError> {
    let io = |source| RealVaultError::Io {
        path: log.to_owned(),
        source,
    };
    if let Some(dir) = log.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let out = std::fs::File::create(log).map_err(io)?;
    let err = out.try_clone().map_err(io)?;
    Command::new(binary)
        .args([
            "server",
            "-dev",
            &format!("-dev-root-token-id={ROOT_TOKEN}"),
            &format!("-dev-listen-address={listen}"),
            // Dev mode writes the root token to ~/.vault-token unless told not to.
            "-dev-no-store-token",
            "-log-level=warn",
        ])
        // The caller's VAULT_* variables (an address, a token, a dev token id) must not leak
        // into the server; it needs nothing from the environment.
        .env_clear()
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| RealVaultError::Spawn {
            binary: binary.to_owned(),
            source,
        })
}

/// The last lines of the server's log, for an error message.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_a_port_pair_on_loopback() {
        let a = free_loopback_address().unwrap();
        assert!(a.ip().is_loopback());
        assert!(a.port() < u16::MAX);
    }

    #[tokio::test]
    async fn a_binary_that_exits_is_reported_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        // `/bin/false` exits 1 at once, whatever its arguments.
        let log = dir.path().join("vault.log");
        let e = DevServer::start(
            Path::new("/bin/false"),
            free_loopback_address().unwrap(),
            &log,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, RealVaultError::Exited { .. }), "{e}");
        let missing = DevServer::start(
            &dir.path().join("no-such-vault"),
            free_loopback_address().unwrap(),
            &log,
        )
        .await
        .unwrap_err();
        assert!(matches!(missing, RealVaultError::Spawn { .. }), "{missing}");
    }
}
