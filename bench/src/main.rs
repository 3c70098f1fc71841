//! `just bench`: throughput and latency of the AWS emulator on loopback, its cold start, and its
//! memory with 10,000 secrets loaded. Runs the release binary as a separate process, as users do.
//!
//! Prints a table; with `--check`, exits non-zero when a target is missed.

use std::io::{BufRead, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::net::TcpStream;

const CONNECTIONS: usize = 16;
const WARMUP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(5);
const SECRETS: usize = 10_000;

struct Target {
    name: &'static str,
    measured: f64,
    limit: f64,
    /// true: the measured value must be at least the limit; false: at most.
    at_least: bool,
    unit: &'static str,
}

fn spawn(extra: &[&str]) -> (Child, String, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_secretbench-emulators"))
        .args(["--aws", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the emulator: {e}"));
    let mut line = String::new();
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("no ready line: {e}"));
    let ready = started.elapsed();
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad ready line {line}: {e}"));
    let url = v["aws"]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("no aws url in {line}"))
        .to_owned();
    (child, url, ready)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[idx]) / 1000.0
}

struct LoadResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

/// CONNECTIONS keep-alive connections, each sending `body` back to back.
async fn load(url: &str, target: &'static str, body: &'static str) -> LoadResult {
    let authority = url.trim_start_matches("http://").to_owned();
    let deadline_warm = Instant::now() + WARMUP;
    let deadline = deadline_warm + MEASURE;
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let authority = authority.clone();
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(&authority).await.unwrap_or_else(|e| panic!("connect: {e}"));
            let _ = stream.set_nodelay(true);
            let io = hyper_util::rt::TokioIo::new(stream);
            let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(io)
                .await
                .unwrap_or_else(|e| panic!("handshake: {e}"));
            tokio::spawn(conn);
            let mut latencies: Vec<u32> = Vec::with_capacity(200_000);
            let mut errors = 0u64;
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                let req = http::Request::post("/")
                    .header("host", authority.as_str())
                    .header("content-type", "application/x-amz-json-1.1")
                    .header("x-amz-target", target)
                    .header("x-amz-date", "20250101T000000Z")
                    .header(
                        "authorization",
                        "AWS4-HMAC-SHA256 Credential=AKIABENCH/20250101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000",
                    )
                    .body(Full::new(Bytes::from_static(body.as_bytes())))
                    .unwrap_or_else(|e| panic!("request: {e}"));
                let response = sender.send_request(req).await.unwrap_or_else(|e| panic!("send: {e}"));
                let ok = response.status().is_success();
                let _ = response.into_body().collect().await;
                if now >= deadline_warm {
                    latencies.push(u32::try_from(now.elapsed().as_micros()).unwrap_or(u32::MAX));
                    if !ok {
                        errors += 1;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap_or_else(|e| panic!("load task: {e}"));
        all.extend(l);
        errors += e;
    }
    all.sort_unstable();
    LoadResult {
        rps: all.len() as f64 / MEASURE.as_secs_f64(),
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        errors,
    }
}

fn write_seed(path: &std::path::Path) {
    let mut f = std::fs::File::create(path).unwrap_or_else(|e| panic!("seed file: {e}"));
    let _ = writeln!(f, "aws:\n  secrets:");
    for i in 0..SECRETS {
        let _ = writeln!(
            f,
            "    - name: app/secret-{i:05}\n      secretString: '{{\"username\":\"user{i}\",\"password\":\"p@ss-{i:05}\"}}'"
        );
    }
    let _ = writeln!(f, "  parameters:");
    for i in 0..10 {
        let _ = writeln!(f, "    - name: /bench/param-{i}\n      value: value-{i}");
    }
}

#[tokio::main]
async fn main() {
    let check = std::env::args().any(|a| a == "--check");
    let mut targets = Vec::new();

    // Cold start: process start to ready line, median of five.
    let mut starts: Vec<Duration> = (0..5)
        .map(|_| {
            let (child, _, ready) = spawn(&[]);
            stop(child);
            ready
        })
        .collect();
    starts.sort_unstable();
    let start_ms = starts[2].as_secs_f64() * 1000.0;
    println!(
        "cold start (median of 5): {start_ms:.1} ms (min {:.1}, max {:.1})",
        starts[0].as_secs_f64() * 1000.0,
        starts[4].as_secs_f64() * 1000.0
    );
    targets.push(Target {
        name: "ready after start",
        measured: start_ms,
        limit: 100.0,
        at_least: false,
        unit: "ms",
    });

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let seed = dir.path().join("seed.yaml");
    write_seed(&seed);
    let seed_arg = seed.to_string_lossy().into_owned();
    let (child, url, ready) = spawn(&["--seed", &seed_arg]);
    let pid = child.id();
    let idle_rss = rss_mib(pid);
    println!(
        "seeded {SECRETS} secrets in {:.0} ms; resident {idle_rss:.1} MiB",
        ready.as_secs_f64() * 1000.0
    );
    targets.push(Target {
        name: "resident with 10,000 secrets",
        measured: idle_rss,
        limit: 30.0,
        at_least: false,
        unit: "MiB",
    });

    let runs: [(&str, &'static str, &'static str); 2] = [
        (
            "GetSecretValue",
            "secretsmanager.GetSecretValue",
            r#"{"SecretId":"app/secret-04242"}"#,
        ),
        (
            "GetParameters (10 names)",
            "AmazonSSM.GetParameters",
            r#"{"Names":["/bench/param-0","/bench/param-1","/bench/param-2","/bench/param-3","/bench/param-4","/bench/param-5","/bench/param-6","/bench/param-7","/bench/param-8","/bench/param-9"],"WithDecryption":true}"#,
        ),
    ];
    let url = Arc::new(url);
    for (name, target, body) in runs {
        let r = load(&url, target, body).await;
        println!(
            "{name:<26} {:>9.0} req/s  p50 {:.2} ms  p99 {:.2} ms  non-2xx {}  ({CONNECTIONS} connections, {}s)",
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.errors,
            MEASURE.as_secs()
        );
        if name == "GetSecretValue" {
            targets.push(Target {
                name: "GetSecretValue throughput",
                measured: r.rps,
                limit: 20_000.0,
                at_least: true,
                unit: "req/s",
            });
            targets.push(Target {
                name: "GetSecretValue p99",
                measured: r.p99_ms,
                limit: 5.0,
                at_least: false,
                unit: "ms",
            });
        }
        if r.errors > 0 {
            targets.push(Target {
                name: "non-2xx answers",
                measured: r.errors as f64,
                limit: 0.0,
                at_least: false,
                unit: "",
            });
        }
    }
    println!("resident after load: {:.1} MiB", rss_mib(pid));
    stop(child);

    println!(
        "\n{:<32} {:>12} {:>12}  verdict",
        "target", "measured", "limit"
    );
    let mut missed = 0;
    for t in &targets {
        let ok = if t.at_least {
            t.measured >= t.limit
        } else {
            t.measured <= t.limit
        };
        missed += usize::from(!ok);
        let bound = if t.at_least { ">=" } else { "<=" };
        println!(
            "{:<32} {:>9.1} {:<3}{:>4}{:>7.1} {:<3} {}",
            t.name,
            t.measured,
            t.unit,
            bound,
            t.limit,
            t.unit,
            if ok { "ok" } else { "MISSED" }
        );
    }
    if check && missed > 0 {
        std::process::exit(1);
    }
}
