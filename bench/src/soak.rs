//! The soak: memory of one emulator process after many hostile requests (the long-input probe of
//! issue 15: names a megabyte long, junk bodies, headers and paths near HTTP's limits, durations
//! past Go's, bodies declared too large) and after many create/delete cycles, with the count of
//! 5xx answers and of requests left unanswered. Memory must stay bounded: the journal keeps at
//! most 16 MiB, and nothing else is kept from a refused request.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Emulator, Endpoint, Failure, SM_AUTH, SSM_AUTH, Target, VAULT_TOKEN};

/// How much resident memory may grow over the soak's two phases.
const HOSTILE_GROWTH_LIMIT_MIB: f64 = 48.0;
const CYCLES_GROWTH_LIMIT_MIB: f64 = 24.0;
/// A request nobody answers within this is counted as unanswered.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Tally {
    sent: usize,
    server_errors: usize,
    unanswered: usize,
}

impl Tally {
    fn count(&mut self, status: Option<u16>) {
        self.sent += 1;
        match status {
            Some(s) if s >= 500 => self.server_errors += 1,
            Some(_) => {}
            None => self.unanswered += 1,
        }
    }
}

/// One request on a fresh connection; its status, or `None` when none came.
async fn status_of(
    endpoint: &Endpoint,
    method: http::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: String,
) -> Option<u16> {
    let mut req = http::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let answer = tokio::time::timeout(ANSWER_WITHIN, endpoint.once(req, body)).await;
    match answer {
        Ok(Ok((status, _))) => Some(status.as_u16()),
        _ => None,
    }
}

/// Headers declaring `declared` bytes and none of them sent: the answer must come anyway.
async fn declared_only(addr: &str, declared: usize) -> Option<u16> {
    let exchange = async {
        let mut tcp = TcpStream::connect(addr).await.ok()?;
        let head = format!(
            "POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: secretsmanager.CreateSecret\r\nContent-Length: {declared}\r\n\r\n"
        );
        tcp.write_all(head.as_bytes()).await.ok()?;
        let mut answer = vec![0u8; 64];
        let n = tcp.read(&mut answer).await.ok()?;
        let line = String::from_utf8_lossy(&answer[..n]).into_owned();
        line.split(' ').nth(1)?.parse().ok()
    };
    tokio::time::timeout(ANSWER_WITHIN, exchange)
        .await
        .ok()
        .flatten()
}

fn aws_json<'a>(target: &'a str, auth: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", target),
        ("x-amz-date", "20250101T000000Z"),
        ("authorization", auth),
    ]
}

async fn hostile(aws: &Endpoint, vault: &Endpoint, requests: usize) -> Tally {
    let mega = "a".repeat(1_000_000);
    let long_target = format!("secretsmanager.{}", "T".repeat(60_000));
    let mut tally = Tally::default();
    for i in 0..requests {
        let status = match i % 8 {
            0 => {
                status_of(
                    aws,
                    http::Method::POST,
                    "/",
                    &aws_json("secretsmanager.GetSecretValue", SM_AUTH),
                    serde_json::json!({ "SecretId": mega }).to_string(),
                )
                .await
            }
            1 => {
                status_of(
                    aws,
                    http::Method::POST,
                    "/",
                    &aws_json("secretsmanager.CreateSecret", SM_AUTH),
                    serde_json::json!({ "Name": mega, "SecretString": "v" }).to_string(),
                )
                .await
            }
            2 => {
                let names: Vec<&str> = std::iter::repeat_n(&mega[..100_000], 10).collect();
                status_of(
                    aws,
                    http::Method::POST,
                    "/",
                    &aws_json("AmazonSSM.GetParameters", SSM_AUTH),
                    serde_json::json!({ "Names": names }).to_string(),
                )
                .await
            }
            3 => {
                status_of(
                    aws,
                    http::Method::POST,
                    "/",
                    &aws_json(&long_target, SM_AUTH),
                    "{}".to_owned(),
                )
                .await
            }
            4 => {
                status_of(
                    aws,
                    http::Method::POST,
                    "/",
                    &aws_json("secretsmanager.ListSecrets", SM_AUTH),
                    format!("{{\"Filters\": [{}", "[".repeat(900_000)),
                )
                .await
            }
            5 => {
                status_of(
                    vault,
                    http::Method::GET,
                    &format!("/v1/secret/data/{}", &mega[..60_000]),
                    &[("x-vault-token", VAULT_TOKEN)],
                    String::new(),
                )
                .await
            }
            6 => {
                status_of(
                    vault,
                    http::Method::POST,
                    "/v1/auth/token/create",
                    &[("x-vault-token", VAULT_TOKEN)],
                    r#"{"ttl": "99999999999999h", "explicit_max_ttl": 1e300}"#.to_owned(),
                )
                .await
            }
            _ => declared_only(&aws.addr, 2 * 1024 * 1024).await,
        };
        tally.count(status);
    }
    tally
}

/// Creates and deletes a secret and a KV entry `cycles` times on two keep-alive connections;
/// returns how many calls did not succeed.
async fn cycles(aws: &Endpoint, vault: &Endpoint, cycles: usize) -> Result<usize, Failure> {
    let mut aws_conn = aws.connect().await?;
    let mut vault_conn = vault.connect().await?;
    let value = "v".repeat(4096);
    let mut failures = 0;
    for i in 0..cycles {
        let name = format!("cycle-{i}");
        let calls = [
            (
                "secretsmanager.CreateSecret",
                serde_json::json!({ "Name": name, "SecretString": value }),
            ),
            (
                "secretsmanager.DeleteSecret",
                serde_json::json!({ "SecretId": name, "ForceDeleteWithoutRecovery": true }),
            ),
        ];
        for (target, body) in calls {
            let mut req = http::Request::post("/").header("host", aws.host.as_str());
            for (k, v) in aws_json(target, SM_AUTH) {
                req = req.header(k, v);
            }
            // The connection takes the next request only once it is done with the last one.
            aws_conn
                .ready()
                .await
                .map_err(|e| format!("cycle {i}, {target}: {e}"))?;
            let response = aws_conn
                .send_request(req.body(Full::new(Bytes::from(body.to_string())))?)
                .await
                .map_err(|e| format!("cycle {i}, {target}: {e}"))?;
            failures += usize::from(!response.status().is_success());
            response.into_body().collect().await?;
        }
        for (method, path, body) in [
            (
                http::Method::POST,
                format!("/v1/secret/data/{name}"),
                serde_json::json!({ "data": { "v": value } }).to_string(),
            ),
            (
                http::Method::DELETE,
                format!("/v1/secret/metadata/{name}"),
                String::new(),
            ),
        ] {
            let what = format!("cycle {i}, {method} {path}");
            let req = http::Request::builder()
                .method(method)
                .uri(path)
                .header("host", vault.host.as_str())
                .header("x-vault-token", VAULT_TOKEN)
                .body(Full::new(Bytes::from(body)))?;
            vault_conn
                .ready()
                .await
                .map_err(|e| format!("{what}: {e}"))?;
            let response = vault_conn
                .send_request(req)
                .await
                .map_err(|e| format!("{what}: {e}"))?;
            failures += usize::from(!response.status().is_success());
            response.into_body().collect().await?;
        }
    }
    Ok(failures)
}

pub(super) async fn run(
    binary: &Path,
    requests: usize,
    cycle_count: usize,
) -> Result<Vec<Target>, Failure> {
    let emulator = Emulator::start(binary, &["--aws", "127.0.0.1:0", "--vault", "127.0.0.1:0"])?;
    let aws = Endpoint::plain(&emulator.url("aws")?);
    let vault = Endpoint::plain(&emulator.url("vault")?);
    // A few ordinary calls first, so the baseline includes what any first request allocates.
    cycles(&aws, &vault, 10).await?;
    let baseline = emulator.rss_mib();
    let started = std::time::Instant::now();
    let tally = hostile(&aws, &vault, requests).await;
    let after_hostile = emulator.rss_mib();
    println!(
        "\nsoak: resident {baseline:.1} MiB; after {} hostile requests ({:.1} s) {after_hostile:.1} MiB; {} answered 5xx, {} unanswered",
        tally.sent,
        started.elapsed().as_secs_f64(),
        tally.server_errors,
        tally.unanswered
    );
    let started = std::time::Instant::now();
    let failed = cycles(&aws, &vault, cycle_count).await?;
    let after_cycles = emulator.rss_mib();
    println!(
        "soak: after {cycle_count} create/delete cycles ({:.1} s) {after_cycles:.1} MiB; {failed} calls failed",
        started.elapsed().as_secs_f64()
    );
    let target = |name: String, measured: f64, limit: f64, unit: &'static str| Target {
        name,
        measured,
        limit,
        at_least: false,
        unit,
    };
    Ok(vec![
        target(
            "soak: hostile requests answered 5xx".into(),
            tally.server_errors as f64,
            0.0,
            "",
        ),
        target(
            "soak: hostile requests unanswered".into(),
            tally.unanswered as f64,
            0.0,
            "",
        ),
        target(
            format!("soak: RSS growth, {requests} hostile"),
            after_hostile - baseline,
            HOSTILE_GROWTH_LIMIT_MIB,
            "MiB",
        ),
        target(
            format!("soak: RSS growth, {cycle_count} cycles"),
            after_cycles - after_hostile,
            CYCLES_GROWTH_LIMIT_MIB,
            "MiB",
        ),
        target(
            "soak: create/delete calls failed".into(),
            failed as f64,
            0.0,
            "",
        ),
    ])
}
