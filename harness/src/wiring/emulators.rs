//! The emulators a run starts: `secretbench emulators` as a child process listening where the
//! backend says (`EmulatorAddress::listen`), on the services' usual ports when they are free.
//! Its state dir is kept between runs so the Key Vault and AWS CAs (and so the ConfigMaps the
//! providers trust) stay the same; every scenario starts from a reset.
//!
//! The AWS emulator also listens over HTTPS on port 443 of that address when the harness may
//! bind it there (root, or `net.ipv4.ip_unprivileged_port_start` low enough): the AWS provider's
//! IRSA STS client dials `https://sts.<region>.amazonaws.com` on 443 and nothing else
//! (`harness/src/wiring/aws.rs`), so that port is never moved. Where 443 cannot be had, the
//! emulators start without it and IRSA cases are skipped with the reason; the ready line says
//! which port is served.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::time::Duration;

use tokio::io::AsyncBufReadExt as _;
use tokio::process::{Child, Command};

use super::WiringError;

/// The services' usual local ports (LocalStack's, Key Vault emulators', a Vault dev server's),
/// used when free.
pub const AWS_PORT: u16 = 4566;
/// HTTPS's port, the only one the AWS provider's STS client dials.
pub const AWS_HTTPS_PORT: u16 = 443;
pub const AZURE_PORT: u16 = 8443;
pub const VAULT_PORT: u16 = 8200;
/// The real Vault dev server under `--vault real` (its cluster listener takes the next port).
pub const REAL_VAULT_PORT: u16 = 8210;

/// Fixed ports for some emulators (`--emulator-ports`).
pub const ENV_PORTS: &str = "SECRETBENCH_EMULATOR_PORTS";

/// The port each emulator listens on: a fixed one (`aws=4566,azure=8443,vault=8200`, any
/// subset; `0` for any free port), else the usual port when it is free, else any free port.
/// Pods are told every address (the wiring reads the ports from the ready line), so a port
/// taken by LocalStack or a Vault dev server costs nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmulatorPorts {
    pub aws: Option<u16>,
    pub azure: Option<u16>,
    pub vault: Option<u16>,
}

impl FromStr for EmulatorPorts {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut ports = Self::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (service, port) = item.split_once('=').ok_or_else(|| {
                format!("`{item}`: expected SERVICE=PORT (aws=4566,azure=8443,vault=8200)")
            })?;
            let port: u16 = port
                .trim()
                .parse()
                .map_err(|_| format!("`{item}`: `{}` is not a port (0-65535)", port.trim()))?;
            let slot = match service.trim() {
                "aws" => &mut ports.aws,
                "azure" => &mut ports.azure,
                "vault" => &mut ports.vault,
                other => {
                    return Err(format!(
                        "`{item}`: no emulator `{other}` (aws, azure, vault)"
                    ));
                }
            };
            if slot.replace(port).is_some() {
                return Err(format!("`{item}`: {} is given twice", service.trim()));
            }
        }
        Ok(ports)
    }
}

impl EmulatorPorts {
    /// The port to ask for: the fixed one, else `usual` when nothing listens there on `ip`,
    /// else 0 (the emulator binds any free port and its ready line says which).
    pub fn pick(fixed: Option<u16>, usual: u16, ip: IpAddr) -> u16 {
        match fixed {
            Some(p) => p,
            None if std::net::TcpListener::bind((ip, usual)).is_ok() => usual,
            None => 0,
        }
    }
}

/// A ready-line URL as this process reaches it: an emulator listening on all interfaces is
/// asked on loopback.
pub fn reachable_here(url: &str) -> String {
    url.replacen("://0.0.0.0:", "://127.0.0.1:", 1)
        .replacen("://[::]:", "://[::1]:", 1)
}

/// What the emulators' log says about why they stopped: the error line the binary prints
/// (`Error: cannot listen on ... for aws: Address already in use`), without the backtrace a
/// `RUST_BACKTRACE` in the environment appends; else the last lines.
fn why_stopped(log_text: &str) -> String {
    let lines: Vec<&str> = log_text.lines().filter(|l| !l.trim().is_empty()).collect();
    if let Some(error) = lines.iter().rev().find(|l| l.starts_with("Error: ")) {
        return (*error).to_owned();
    }
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

/// Why the emulators stopped before their ready line, with what to do about it.
fn early_exit(status: Option<std::process::ExitStatus>, tail: &str, log: &Path) -> String {
    let status = status.map_or_else(|| "still running".to_owned(), |s| s.to_string());
    let hint = if tail.contains("Address already in use") {
        format!(
            "; another program has that port (LocalStack listens on {AWS_PORT}, a Vault dev \
             server on {VAULT_PORT}): stop it, or fix other ports with --emulator-ports / \
             {ENV_PORTS} (unfixed ports move to a free one by themselves)"
        )
    } else if tail.contains("Cannot assign requested address") {
        "; that address is not one of this machine's (README, \"Backends\", says where the \
         emulators listen on each setup)"
            .to_owned()
    } else {
        String::new()
    };
    let said = if tail.is_empty() {
        "nothing".to_owned()
    } else {
        tail.to_owned()
    };
    format!(
        "exited before its ready line ({status}); it said: {said}{hint} (log: {})",
        log.display()
    )
}

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
    /// The admin API's token (`adminToken`), or `None` when the emulators serve it open.
    pub admin_token: Option<String>,
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
            admin_token: v
                .get("adminToken")
                .and_then(|t| t.as_str())
                .map(str::to_owned),
        })
    }

    /// The admin API (served on every listener; the AWS one is plain HTTP).
    pub fn admin(&self, path: &str) -> String {
        format!("{}/_secretbench/{path}", self.aws_url)
    }

    /// `request` with the admin token the emulators asked for, if any.
    pub fn with_admin_token(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.admin_token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }
}

/// A `map_err` for an I/O failure of `action` on `path`.
fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WiringError {
    let path = path.to_owned();
    move |source| WiringError::Io {
        action,
        path,
        source,
    }
}

fn https_port_free(ip: IpAddr) -> std::io::Result<()> {
    std::net::TcpListener::bind((ip, AWS_HTTPS_PORT)).map(drop)
}

/// The running emulator process; killed when dropped.
#[derive(Debug)]
pub struct EmulatorProcess {
    pub endpoints: Endpoints,
    child: Child,
}

impl EmulatorProcess {
    /// Starts `program emulators ...` listening on `listen` and waits (up to 15 s) for the
    /// ready line. Its log goes to `log`.
    pub async fn start(
        program: &Path,
        listen: IpAddr,
        ports: &EmulatorPorts,
        state_dir: &Path,
        log: &Path,
    ) -> Result<Self, WiringError> {
        std::fs::create_dir_all(state_dir).map_err(io_error("creating", state_dir))?;
        let addr = |fixed, usual| {
            SocketAddr::new(listen, EmulatorPorts::pick(fixed, usual, listen)).to_string()
        };
        let mut args = vec![
            "emulators".to_owned(),
            "--aws".to_owned(),
            addr(ports.aws, AWS_PORT),
            "--azure".to_owned(),
            addr(ports.azure, AZURE_PORT),
            "--vault".to_owned(),
            addr(ports.vault, VAULT_PORT),
            "--state-dir".to_owned(),
            state_dir.display().to_string(),
        ];
        let https = SocketAddr::new(listen, AWS_HTTPS_PORT);
        match https_port_free(listen) {
            Ok(()) => args.extend(["--aws-https".to_owned(), https.to_string()]),
            Err(e) => tracing::warn!(
                %listen, error = %e,
                "no HTTPS listener for AWS on port {AWS_HTTPS_PORT}: IRSA cases will be skipped"
            ),
        }
        match Self::spawn(program, &args, log).await {
            // Port 443 was free when probed but taken before the emulators bound it (another
            // run starting at the same moment): the rest still works, without IRSA.
            Err(WiringError::Emulators(why))
                if why.contains(&format!("cannot listen on {https} for aws")) =>
            {
                tracing::warn!(
                    %listen,
                    "port {AWS_HTTPS_PORT} was taken meanwhile: no HTTPS listener for AWS, IRSA cases will be skipped"
                );
                args.truncate(args.len() - 2);
                Self::spawn(program, &args, log).await
            }
            other => other,
        }
    }

    /// Runs `program args...` and reads its ready line.
    async fn spawn(program: &Path, args: &[String], log: &Path) -> Result<Self, WiringError> {
        let log_file = std::fs::File::create(log).map_err(io_error("creating", log))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .map_err(io_error("starting", program))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| WiringError::Emulators("no stdout pipe".into()))?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(15), lines.next_line())
            .await
            .map_err(|_| WiringError::Emulators("no ready line within 15 s".into()))?
            .map_err(io_error("reading the ready line of", program))?;
        let Some(line) = line else {
            let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .ok()
                .and_then(Result::ok);
            return Err(WiringError::Emulators(early_exit(
                status,
                &why_stopped(&std::fs::read_to_string(log).unwrap_or_default()),
                log,
            )));
        };
        let mut endpoints = Endpoints::from_ready_line(&line)?;
        for url in [
            &mut endpoints.aws_url,
            &mut endpoints.azure_url,
            &mut endpoints.vault_url,
        ] {
            *url = reachable_here(url);
        }
        if let Some(url) = &mut endpoints.aws_https_url {
            *url = reachable_here(url);
        }
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
        assert_eq!(e.admin_token, None, "an open admin API names no token");
        let e = Endpoints::from_ready_line(
            r#"{"adminToken":"t0k","aws":{"url":"http://10.0.0.1:4566"},"azure":{"url":"https://10.0.0.1:8443","caFile":"/s/azure-ca.pem"},"vault":{"url":"http://10.0.0.1:8200","rootToken":"root"}}"#,
        )
        .unwrap();
        assert_eq!(e.admin_token.as_deref(), Some("t0k"));
        assert!(Endpoints::from_ready_line(r#"{"aws":{"url":"x"}}"#).is_err());
        let e = Endpoints::from_ready_line(
            r#"{"aws":{"url":"http://10.0.0.1:4566","httpsUrl":"https://10.0.0.1:443","caFile":"/s/aws-ca.pem"},"azure":{"url":"https://10.0.0.1:8443","caFile":"/s/azure-ca.pem"},"vault":{"url":"http://10.0.0.1:8200","rootToken":"root"}}"#,
        )
        .unwrap();
        assert_eq!(e.aws_https_url.as_deref(), Some("https://10.0.0.1:443"));
        assert_eq!(e.aws_ca_file, Some(PathBuf::from("/s/aws-ca.pem")));
    }

    #[test]
    fn ports_fixed_by_flag() {
        assert_eq!(
            "aws=14566, vault=0".parse::<EmulatorPorts>(),
            Ok(EmulatorPorts {
                aws: Some(14566),
                azure: None,
                vault: Some(0)
            })
        );
        assert_eq!("".parse::<EmulatorPorts>(), Ok(EmulatorPorts::default()));
        let e = "aws=4566,aws=1".parse::<EmulatorPorts>().unwrap_err();
        assert!(e.contains("given twice"), "{e}");
        let e = "gcp=1".parse::<EmulatorPorts>().unwrap_err();
        assert!(e.contains("no emulator `gcp`"), "{e}");
        let e = "aws=70000".parse::<EmulatorPorts>().unwrap_err();
        assert!(e.contains("not a port"), "{e}");
        assert!("4566".parse::<EmulatorPorts>().is_err());
    }

    #[test]
    fn a_taken_usual_port_moves_to_a_free_one() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let taken = std::net::TcpListener::bind((lo, 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        assert_eq!(
            EmulatorPorts::pick(None, port, lo),
            0,
            "taken: any free port"
        );
        assert_eq!(
            EmulatorPorts::pick(Some(port), port, lo),
            port,
            "fixed: asked for anyway, so the bind error says why"
        );
        drop(taken);
        assert_eq!(
            EmulatorPorts::pick(None, port, lo),
            port,
            "free: the usual port"
        );
    }

    #[test]
    fn urls_of_all_interfaces_are_asked_on_loopback() {
        assert_eq!(
            reachable_here("http://0.0.0.0:4566"),
            "http://127.0.0.1:4566"
        );
        assert_eq!(reachable_here("https://[::]:8443"), "https://[::1]:8443");
        assert_eq!(
            reachable_here("http://172.18.0.1:8200"),
            "http://172.18.0.1:8200"
        );
    }

    #[test]
    fn the_error_line_is_found_under_a_backtrace() {
        // What the binary (anyhow, RUST_BACKTRACE=1) writes when a port is taken.
        let log = "Error: cannot listen on 127.0.0.1:8200 for vault: Address already in use (os error 98)\n\n\
                   Caused by:\n    Address already in use (os error 98)\n\nStack backtrace:\n   \
                   0: anyhow::error::<impl anyhow::Error>::msg\n   1: main\n   2: _start\n";
        assert_eq!(
            why_stopped(log),
            "Error: cannot listen on 127.0.0.1:8200 for vault: Address already in use (os error 98)"
        );
        assert_eq!(why_stopped("a\nb\n\nc\n"), "a | b | c");
        assert_eq!(why_stopped(""), "");
    }

    #[test]
    fn an_early_exit_says_why() {
        let log = Path::new("/st/runs/emulators.log");
        let m = early_exit(
            None,
            "Error: cannot listen on 127.0.0.1:4566 for aws: Address already in use (os error 98)",
            log,
        );
        assert!(
            m.contains("it said: Error: cannot listen on 127.0.0.1:4566 for aws"),
            "{m}"
        );
        assert!(m.contains("--emulator-ports"), "{m}");
        assert!(m.ends_with("(log: /st/runs/emulators.log)"), "{m}");
        let m = early_exit(
            None,
            "Error: cannot listen on 172.18.0.1:4566 for aws: Cannot assign requested address (os error 99)",
            log,
        );
        assert!(m.contains("not one of this machine's"), "{m}");
        assert!(early_exit(None, "", log).contains("it said: nothing"));
    }
}
