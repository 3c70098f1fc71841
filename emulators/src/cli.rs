//! The binary contract of `secretbench-emulators` (also `secretbench emulators`):
//! `--aws ADDR [--aws-https ADDR] --azure ADDR --vault ADDR --state-dir DIR [--seed FILE]
//! [--deterministic] [--admin-token TOKEN | --open-admin]`.
//! A service not asked for is not started; with no service flag, every built service starts on its
//! default address. Once all listeners are bound, one JSON line with each service's URL (and the
//! admin token) goes to stdout. SIGTERM or SIGINT stops it cleanly.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::core::admin::AdminAccess;
use crate::server::{self, DEFAULT_AWS_ADDR, DEFAULT_AZURE_ADDR, DEFAULT_VAULT_ADDR, Options};

#[derive(Debug, Parser)]
#[command(
    name = "secretbench-emulators",
    version,
    about = "Emulators of the secret stores behind the Secrets Store CSI Driver providers"
)]
pub struct Args {
    /// Address of the AWS listener (Secrets Manager, SSM, STS, Pod Identity agent).
    #[arg(long, value_name = "ADDR")]
    pub aws: Option<SocketAddr>,
    /// A second AWS listener serving the same services over HTTPS, with a CA the emulator
    /// writes out (for clients reached through redirected AWS host names, on port 443).
    #[arg(long, value_name = "ADDR", requires = "aws")]
    pub aws_https: Option<SocketAddr>,
    /// Address of the Azure Key Vault + Entra ID listener (HTTPS, with a CA it writes out).
    #[arg(long, value_name = "ADDR")]
    pub azure: Option<SocketAddr>,
    /// Address of the HashiCorp Vault listener (KV v1/v2, token and Kubernetes auth, PKI,
    /// database credentials, sys endpoints).
    #[arg(long, value_name = "ADDR")]
    pub vault: Option<SocketAddr>,
    /// Directory for state files; without it, state lives in memory only.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// A YAML seed document to preload (see the README).
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Seeded ids, numbered request ids and a manual clock, for stable snapshots.
    #[arg(long)]
    pub deterministic: bool,
    /// The token the admin API (`/_secretbench/...`) requires as `Authorization: Bearer TOKEN`;
    /// without it one is generated and printed in the ready line (`adminToken`).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SECRETBENCH_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
    /// Serve the admin API without a token. Local use only: anything that reaches a listener can
    /// then read every secret and change every setting.
    #[arg(long, conflicts_with = "admin_token")]
    pub open_admin: bool,
}

impl Args {
    pub fn options(&self) -> Result<Options, std::net::AddrParseError> {
        // With no service flag at all, every service starts on its default address.
        let none_asked = self.aws.is_none() && self.azure.is_none() && self.vault.is_none();
        let pick = |asked: Option<SocketAddr>, default: &str| match asked {
            Some(addr) => Ok(Some(addr)),
            None if none_asked => default.parse().map(Some),
            None => Ok(None),
        };
        Ok(Options {
            aws: pick(self.aws, DEFAULT_AWS_ADDR)?,
            aws_https: self.aws_https,
            azure: pick(self.azure, DEFAULT_AZURE_ADDR)?,
            vault: pick(self.vault, DEFAULT_VAULT_ADDR)?,
            state_dir: self.state_dir.clone(),
            seed: self.seed.clone(),
            deterministic: self.deterministic,
            admin: match (&self.admin_token, self.open_admin) {
                (_, true) => AdminAccess::Open,
                (Some(token), false) => AdminAccess::Token(token.clone()),
                (None, false) => AdminAccess::Generated,
            },
            timeouts: crate::core::Timeouts::default(),
        })
    }
}

/// Runs until SIGTERM or SIGINT. Used by both binaries.
pub async fn run(args: Args) -> anyhow::Result<()> {
    // Handlers go in before the ready line: a supervisor may send SIGTERM the moment it reads
    // the line, and an unhandled SIGTERM would kill the process instead of stopping it cleanly.
    let stop = shutdown_signal()?;
    let running = server::start(args.options()?).await?;
    println!("{}", running.ready_line());
    stop.await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

/// Registers SIGTERM and SIGINT now; the returned future completes on the first of them.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("SECRETBENCH_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    // Logs go to stderr: stdout carries only the ready line, which scripts parse.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Options {
        let mut argv = vec!["secretbench-emulators"];
        argv.extend_from_slice(args);
        Args::parse_from(argv).options().expect("valid addresses")
    }

    #[test]
    fn no_service_flag_starts_every_service_on_its_default() {
        let o = parse(&[]);
        assert_eq!(o.aws, Some(DEFAULT_AWS_ADDR.parse().expect("addr")));
        assert_eq!(o.azure, Some(DEFAULT_AZURE_ADDR.parse().expect("addr")));
        assert_eq!(o.vault, Some(DEFAULT_VAULT_ADDR.parse().expect("addr")));
    }

    #[test]
    fn the_https_listener_comes_with_the_aws_one() {
        let o = parse(&["--aws", "127.0.0.1:0", "--aws-https", "127.0.0.1:0"]);
        assert_eq!(o.aws_https, Some("127.0.0.1:0".parse().expect("addr")));
        assert_eq!(parse(&[]).aws_https, None, "no HTTPS unless asked for");
        let alone = Args::try_parse_from(["secretbench-emulators", "--aws-https", "127.0.0.1:0"]);
        assert!(alone.is_err(), "--aws-https without --aws is refused");
    }

    #[test]
    fn the_admin_api_takes_a_generated_token_unless_told_otherwise() {
        assert_eq!(parse(&[]).admin, AdminAccess::Generated);
        assert_eq!(
            parse(&["--admin-token", "t0k"]).admin,
            AdminAccess::Token("t0k".into())
        );
        assert_eq!(parse(&["--open-admin"]).admin, AdminAccess::Open);
        assert!(
            Args::try_parse_from(["x", "--open-admin", "--admin-token", "t"]).is_err(),
            "a token and an open API contradict each other"
        );
    }

    #[test]
    fn a_service_not_asked_for_is_not_started() {
        let o = parse(&["--vault", "127.0.0.1:0", "--deterministic"]);
        assert_eq!(o.vault, Some("127.0.0.1:0".parse().expect("addr")));
        assert_eq!((o.aws, o.azure), (None, None));
        assert!(o.deterministic);
    }
}
