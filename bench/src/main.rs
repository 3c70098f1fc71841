//! `just bench`: throughput and latency of the emulators on loopback with 16 keep-alive
//! connections, their cold start, their memory with 10,000 secrets loaded, and a soak: memory
//! after many hostile requests (megabyte names, junk bodies, bodies declared too large) and after
//! many create/delete cycles. It drives the release `secretbench-emulators` binary as a separate
//! process, as users run it. Beside the Vault emulator's KV v2 reads it measures the same reads on
//! a real Vault dev server (the stack's build of the pinned `VAULT_VERSION`, `stack/build.sh
//! vault`), in the same run.
//!
//! Then tenants at scale: many Vault namespaces and AWS accounts with one secret each
//! (`--tenancy-only` runs just that).
//!
//! Prints the figures and a target table; with `--check`, exits 1 when a target is missed.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use secretbench::realvault;
use tokio::net::TcpStream;

mod soak;
mod tenancy;

const SECRETS: usize = 10_000;
const EMULATOR_VAULT_READ: &str = "Vault KV v2 read";
const REAL_VAULT_READ: &str = "  real Vault (dev)";
const VAULT_TOKEN: &str = "root";
const SM_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIABENCH/20250101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=00";
const SSM_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIABENCH/20250101/us-east-1/ssm/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=00";

#[derive(Debug, Parser)]
#[command(about = "Load, latency, cold start and memory of the secretbench emulators")]
struct Args {
    /// The emulator binary; defaults to the one next to this benchmark.
    #[arg(long)]
    binary: Option<PathBuf>,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Seconds of measurement per workload (after one second of warm-up).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Exit 1 when a target is missed.
    #[arg(long)]
    check: bool,
    /// Hostile requests the soak sends.
    #[arg(long, default_value_t = 1000)]
    soak_requests: usize,
    /// Create/delete cycles the soak runs (a Secrets Manager secret and a Vault KV entry each).
    #[arg(long, default_value_t = 1000)]
    soak_cycles: usize,
    /// Vault namespaces the tenancy measurement creates (one secret each).
    #[arg(long, default_value_t = 1000)]
    namespaces: usize,
    /// AWS accounts the tenancy measurement creates (one secret each).
    #[arg(long, default_value_t = 200)]
    accounts: usize,
    /// Run only the tenancy measurement.
    #[arg(long)]
    tenancy_only: bool,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

struct Emulator {
    child: Child,
    ready: serde_json::Value,
    startup: Duration,
}

impl Emulator {
    fn start(binary: &Path, args: &[&str]) -> Result<Self, Failure> {
        let started = Instant::now();
        let mut child = Command::new(binary)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let startup = started.elapsed();
        let ready =
            serde_json::from_str(&line).map_err(|e| format!("bad ready line {line:?}: {e}"))?;
        Ok(Self {
            child,
            ready,
            startup,
        })
    }

    fn url(&self, service: &str) -> Result<String, Failure> {
        Ok(self.ready[service]["url"]
            .as_str()
            .ok_or_else(|| format!("no {service} url in the ready line"))?
            .to_owned())
    }

    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// One request a workload repeats.
#[derive(Clone)]
struct Workload {
    name: &'static str,
    method: http::Method,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    body: &'static str,
}

/// How to reach a listener: plain TCP, or TLS trusting the emulator's CA with this server name.
#[derive(Clone)]
struct Endpoint {
    addr: String,
    host: String,
    tls: Option<(
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    )>,
}

impl Endpoint {
    fn plain(url: &str) -> Self {
        let addr = url.trim_start_matches("http://").to_owned();
        Self {
            host: addr.clone(),
            addr,
            tls: None,
        }
    }

    async fn connect(
        &self,
    ) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, Failure> {
        let stream = TcpStream::connect(&self.addr).await?;
        stream.set_nodelay(true)?;
        match &self.tls {
            None => handshake(stream).await,
            Some((config, name)) => {
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                    .connect(name.clone(), stream)
                    .await?;
                handshake(tls).await
            }
        }
    }

    /// One request on a fresh connection, for set-up steps; returns status and body.
    async fn once(
        &self,
        req: http::request::Builder,
        body: String,
    ) -> Result<(http::StatusCode, Bytes), Failure> {
        let mut sender = self.connect().await?;
        let response = sender
            .send_request(
                req.header("host", self.host.as_str())
                    .body(Full::new(Bytes::from(body)))?,
            )
            .await?;
        let status = response.status();
        Ok((status, response.into_body().collect().await?.to_bytes()))
    }
}

async fn handshake<S>(
    io: S,
) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, Failure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

struct Figures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    failures: u64,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[idx.min(sorted.len() - 1)]) / 1000.0
}

async fn connection(
    endpoint: Endpoint,
    w: Workload,
    warm_until: Instant,
    until: Instant,
) -> Result<(Vec<u32>, u64), Failure> {
    let mut sender = endpoint.connect().await?;
    let mut latencies = Vec::with_capacity(200_000);
    let mut failures = 0;
    loop {
        let sent = Instant::now();
        if sent >= until {
            return Ok((latencies, failures));
        }
        let mut req = http::Request::builder()
            .method(w.method.clone())
            .uri(w.path)
            .header("host", endpoint.host.as_str());
        for (k, v) in &w.headers {
            req = req.header(*k, v.as_str());
        }
        let response = sender
            .send_request(req.body(Full::new(Bytes::from_static(w.body.as_bytes())))?)
            .await?;
        let ok = response.status().is_success();
        response.into_body().collect().await?;
        if sent >= warm_until {
            latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
            failures += u64::from(!ok);
        }
    }
}

async fn load(endpoint: &Endpoint, w: &Workload, args: &Args) -> Result<Figures, Failure> {
    let warm_until = Instant::now() + Duration::from_secs(1);
    let until = warm_until + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| tokio::spawn(connection(endpoint.clone(), w.clone(), warm_until, until)))
        .collect();
    let mut all = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (latencies, f) = t.await??;
        all.extend(latencies);
        failures += f;
    }
    all.sort_unstable();
    Ok(Figures {
        rps: all.len() as f64 / args.seconds as f64,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        failures,
    })
}

fn write_seed(path: &Path) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "aws:\n  secrets:")?;
    for i in 0..SECRETS {
        writeln!(
            f,
            "    - name: app/secret-{i:05}\n      secretString: '{{\"username\":\"user{i}\",\"password\":\"p@ss-{i:05}\"}}'"
        )?;
    }
    writeln!(f, "  parameters:")?;
    for i in 0..10 {
        writeln!(f, "    - name: /bench/param-{i}\n      value: value-{i}")?;
    }
    writeln!(f, "vault:\n  rootToken: {VAULT_TOKEN}")?;
    f.flush()
}

struct Target {
    name: String,
    measured: f64,
    limit: f64,
    at_least: bool,
    unit: &'static str,
}

impl Target {
    fn met(&self) -> bool {
        if self.at_least {
            self.measured >= self.limit
        } else {
            self.measured <= self.limit
        }
    }
}

/// An unsigned-but-scoped AWS JSON call: the scope names the service, as the emulator requires.
fn aws_json(
    name: &'static str,
    target: &'static str,
    authorization: &'static str,
    body: &'static str,
) -> Workload {
    Workload {
        name,
        method: http::Method::POST,
        path: "/",
        headers: vec![
            ("content-type", "application/x-amz-json-1.1".to_owned()),
            ("x-amz-target", target.to_owned()),
            ("x-amz-date", "20250101T000000Z".to_owned()),
            ("authorization", authorization.to_owned()),
        ],
        body,
    }
}

/// Key Vault GetSecret over TLS: a token from the emulator's Entra endpoint (client credentials
/// of the dev principal), one secret written, then GETs with the bearer token on keep-alive TLS.
async fn azure_workload(azure: &Emulator) -> Result<(Endpoint, Workload), Failure> {
    let info = &azure.ready["azure"];
    let field = |k: &str| -> Result<String, Failure> {
        Ok(info[k]
            .as_str()
            .ok_or_else(|| format!("no {k} in the azure ready line"))?
            .to_owned())
    };
    let addr = field("url")?.trim_start_matches("https://").to_owned();
    let port = addr.rsplit(':').next().unwrap_or_default().to_owned();
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(field("caFile")?)?;
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&ca) {
        roots.add(cert?)?;
    }
    let config = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let tls = |host: &str| -> Result<Endpoint, Failure> {
        Ok(Endpoint {
            addr: addr.clone(),
            host: format!("{host}:{port}"),
            tls: Some((
                Arc::clone(&config),
                rustls::pki_types::ServerName::try_from(host.to_owned())?,
            )),
        })
    };
    let login = tls("localhost")?;
    let form = serde_urlencoded::to_string([
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", field("clientId")?),
        ("client_secret", field("clientSecret")?),
        ("scope", format!("https://vault.localhost:{port}/.default")),
    ])?;
    let (status, body) = login
        .once(
            http::Request::post(format!("/{}/oauth2/v2.0/token", field("tenantId")?))
                .header("content-type", "application/x-www-form-urlencoded"),
            form,
        )
        .await?;
    if !status.is_success() {
        return Err(format!(
            "token request refused: {status} {}",
            String::from_utf8_lossy(&body)
        )
        .into());
    }
    let token: serde_json::Value = serde_json::from_slice(&body)?;
    let bearer = format!(
        "Bearer {}",
        token["access_token"].as_str().ok_or("no access_token")?
    );
    let vault_host = field("vaults")
        .ok()
        .or_else(|| info["vaults"][0].as_str().map(str::to_owned))
        .ok_or("no vault in the azure ready line")?;
    let vault_host = vault_host
        .trim_start_matches("https://")
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let keyvault = tls(&vault_host)?;
    let (status, body) = keyvault
        .once(
            http::Request::put("/secrets/bench?api-version=7.4")
                .header("authorization", bearer.as_str())
                .header("content-type", "application/json"),
            r#"{"value":"s3cr3t"}"#.to_owned(),
        )
        .await?;
    if !status.is_success() {
        return Err(format!(
            "cannot set the Key Vault secret: {status} {}",
            String::from_utf8_lossy(&body)
        )
        .into());
    }
    let workload = Workload {
        name: "Key Vault GetSecret (TLS)",
        method: http::Method::GET,
        path: "/secrets/bench/?api-version=7.4",
        headers: vec![("authorization", bearer)],
        body: "",
    };
    Ok((keyvault, workload))
}

/// The real Vault dev server on loopback, from the stack's build (or `SECRETBENCH_VAULT_BIN`),
/// and the version pinned for it.
async fn start_real_vault(dir: &Path) -> Result<(realvault::DevServer, String), Failure> {
    let stack = secretbench::stack::Stack::locate()?;
    let version = stack.versions().get("VAULT_VERSION")?.to_owned();
    let binary = realvault::binary(&stack).await?;
    let server = realvault::DevServer::start(
        &binary,
        realvault::free_loopback_address()?,
        &dir.join("vault.log"),
    )
    .await?;
    println!(
        "real Vault dev server ({}) ready in {:.0} ms",
        binary.display(),
        server.startup.as_secs_f64() * 1000.0
    );
    Ok((server, version))
}

async fn run(args: Args) -> Result<bool, Failure> {
    let binary = match &args.binary {
        Some(b) => b.clone(),
        None => std::env::current_exe()?
            .parent()
            .ok_or("the benchmark has no directory")?
            .join("secretbench-emulators"),
    };
    let mut targets = Vec::new();
    if args.tenancy_only {
        targets.extend(tenancy::run(&binary, args.namespaces, args.accounts).await?);
        return Ok(report(&targets));
    }

    let mut starts = Vec::new();
    for _ in 0..5 {
        starts.push(Emulator::start(&binary, &["--aws", "127.0.0.1:0"])?.startup);
    }
    starts.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "cold start to ready line: median {:.1} ms (min {:.1}, max {:.1}) over 5 starts",
        ms(starts[2]),
        ms(starts[0]),
        ms(starts[4])
    );
    targets.push(Target {
        name: "ready after process start".into(),
        measured: ms(starts[2]),
        limit: 100.0,
        at_least: false,
        unit: "ms",
    });

    let dir = tempfile::tempdir()?;
    let seed = dir.path().join("seed.yaml");
    write_seed(&seed)?;
    let seed_arg = seed.to_string_lossy().into_owned();
    let emulator = Emulator::start(
        &binary,
        &[
            "--aws",
            "127.0.0.1:0",
            "--vault",
            "127.0.0.1:0",
            "--seed",
            &seed_arg,
        ],
    )?;
    let loaded = emulator.rss_mib();
    println!(
        "loaded {SECRETS} secrets in {:.0} ms; resident {loaded:.1} MiB",
        ms(emulator.startup)
    );
    targets.push(Target {
        name: format!("resident, {SECRETS} secrets loaded"),
        measured: loaded,
        limit: 30.0,
        at_least: false,
        unit: "MiB",
    });

    let aws = Endpoint::plain(&emulator.url("aws")?);
    let vault_url = emulator.url("vault")?;
    let vault = Endpoint::plain(&vault_url);
    // The real Vault dev server, and on both the KV entry the Vault workloads read.
    let (real_vault, real_version) = start_real_vault(dir.path()).await?;
    let real = Endpoint::plain(real_vault.url());
    for (url, token) in [
        (vault_url.as_str(), VAULT_TOKEN),
        (real_vault.url(), realvault::ROOT_TOKEN),
    ] {
        realvault::VaultApi::new(url, token)?
            .write(
                "secret/data/bench",
                &serde_json::json!({"data": {"password": "s3cr3t"}}),
            )
            .await?;
    }

    let workloads = [
        (
            &aws,
            aws_json(
                "AWS GetSecretValue",
                "secretsmanager.GetSecretValue",
                SM_AUTH,
                r#"{"SecretId":"app/secret-04242"}"#,
            ),
            Some((20_000.0, 5.0)),
        ),
        (
            &aws,
            aws_json(
                "AWS GetParameters (10)",
                "AmazonSSM.GetParameters",
                SSM_AUTH,
                r#"{"Names":["/bench/param-0","/bench/param-1","/bench/param-2","/bench/param-3","/bench/param-4","/bench/param-5","/bench/param-6","/bench/param-7","/bench/param-8","/bench/param-9"],"WithDecryption":true}"#,
            ),
            None,
        ),
        (
            &vault,
            Workload {
                name: EMULATOR_VAULT_READ,
                method: http::Method::GET,
                path: "/v1/secret/data/bench",
                headers: vec![("x-vault-token", VAULT_TOKEN.to_owned())],
                body: "",
            },
            Some((20_000.0, 5.0)),
        ),
        (
            &real,
            Workload {
                name: REAL_VAULT_READ,
                method: http::Method::GET,
                path: "/v1/secret/data/bench",
                headers: vec![("x-vault-token", realvault::ROOT_TOKEN.to_owned())],
                body: "",
            },
            // Real Vault is the reference, not held to the emulator's targets.
            None,
        ),
    ];
    println!(
        "\n{:<24} {:>10} {:>9} {:>9} {:>8}   ({} connections, {} s each)",
        "workload", "req/s", "p50 ms", "p99 ms", "non-2xx", args.connections, args.seconds
    );
    let azure = Emulator::start(&binary, &["--azure", "127.0.0.1:0"])?;
    let (keyvault, get_secret) = azure_workload(&azure).await?;
    let workloads: Vec<_> = workloads
        .into_iter()
        .chain([(&keyvault, get_secret, Some((10_000.0, 5.0)))])
        .collect();
    let mut vault_pair = Vec::new();
    for (endpoint, w, target) in workloads {
        let f = load(endpoint, &w, &args).await?;
        println!(
            "{:<24} {:>10.0} {:>9.2} {:>9.2} {:>8}",
            w.name, f.rps, f.p50_ms, f.p99_ms, f.failures
        );
        if w.name == EMULATOR_VAULT_READ || w.name == REAL_VAULT_READ {
            vault_pair.push((w.name, f.rps, f.p50_ms, f.p99_ms));
        }
        if let Some((rps, p99)) = target {
            targets.push(Target {
                name: format!("{} throughput", w.name),
                measured: f.rps,
                limit: rps,
                at_least: true,
                unit: "req/s",
            });
            targets.push(Target {
                name: format!("{} p99", w.name),
                measured: f.p99_ms,
                limit: p99,
                at_least: false,
                unit: "ms",
            });
        }
        targets.push(Target {
            name: format!("{} non-2xx", w.name),
            measured: f.failures as f64,
            limit: 0.0,
            at_least: false,
            unit: "",
        });
    }
    println!("resident after load: {:.1} MiB", emulator.rss_mib());
    if let [(_, e_rps, e_p50, e_p99), (_, r_rps, r_p50, r_p99)] = vault_pair[..] {
        println!(
            "\nVault KV v2 reads, side by side: emulator {e_rps:.0} req/s (p50 {e_p50:.2} ms, p99 {e_p99:.2} ms), \
             real Vault {} dev server {r_rps:.0} req/s (p50 {r_p50:.2} ms, p99 {r_p99:.2} ms); \
             the emulator serves {:.1}x the requests",
            real_version,
            e_rps / r_rps
        );
    }
    real_vault.stop().await;

    targets.extend(soak::run(&binary, args.soak_requests, args.soak_cycles).await?);
    targets.extend(tenancy::run(&binary, args.namespaces, args.accounts).await?);
    Ok(report(&targets))
}

/// Prints the target table; whether every target was met.
fn report(targets: &[Target]) -> bool {
    println!(
        "\n{:<34} {:>14} {:>16}  verdict",
        "target", "measured", "limit"
    );
    for t in targets {
        println!(
            "{:<34} {:>10.1} {:<5} {} {:>8.1} {:<5} {}",
            t.name,
            t.measured,
            t.unit,
            if t.at_least { ">=" } else { "<=" },
            t.limit,
            t.unit,
            if t.met() { "ok" } else { "MISSED" }
        );
    }
    targets.iter().all(Target::met)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let check = args.check;
    match run(args).await {
        Ok(all_met) if all_met || !check => std::process::ExitCode::SUCCESS,
        Ok(_) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench failed: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
