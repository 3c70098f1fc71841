//! Slow and careless clients on every listener: heads and bodies that never finish, bodies
//! declared larger than the service takes, and names a million characters long. Each is answered
//! (or closed) the way a real server does, in time, in the service's own shape, and none of them
//! grows the journal.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.

mod azure_common;

use secretbench_emulators::core::Timeouts;
use secretbench_emulators::{Options, Running, start};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Short timeouts, so a test waits milliseconds where a real client would wait seconds.
const SHORT: Timeouts = Timeouts {
    header_read: Duration::from_millis(300),
    body_read: Duration::from_millis(300),
    shutdown_grace: Duration::from_secs(3),
};
/// Longer than any answer or close these tests expect, so a hang fails instead of passing.
const DEADLINE: Duration = Duration::from_secs(10);

fn loopback() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 0)))
}

async fn emulators() -> Running {
    start(Options {
        aws: loopback(),
        azure: loopback(),
        vault: loopback(),
        timeouts: SHORT,
        ..Options::default()
    })
    .await
    .expect("start")
}

fn addr(running: &Running, service: &str) -> String {
    running
        .url(service)
        .expect("url")
        .split("://")
        .nth(1)
        .expect("authority")
        .to_owned()
}

/// Sends `bytes` and reads until the server closes the connection; what it answered, if anything.
async fn exchange(addr: &str, bytes: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(bytes).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut answer))
        .await
        .expect("the server neither answered nor closed the connection in time")
        .expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_head_that_never_ends_is_closed_after_the_header_timeout() {
    let running = emulators().await;
    for service in ["aws", "vault"] {
        let answer = exchange(
            &addr(&running, service),
            b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: secretsmanager.Lis",
        )
        .await;
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{service}: {answer}"
        );
    }
    // An idle keep-alive connection is closed the same way.
    let answer = exchange(&addr(&running, "aws"), b"").await;
    assert!(answer.is_empty(), "{answer}");
    running.shutdown().await;
}

#[tokio::test]
async fn a_body_that_never_ends_gets_a_408_in_the_service_shape() {
    let running = emulators().await;
    let aws = exchange(
        &addr(&running, "aws"),
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: secretsmanager.ListSecrets\r\nContent-Length: 100\r\n\r\n{\"Max",
    )
    .await;
    assert!(aws.starts_with("HTTP/1.1 408"), "{aws}");
    assert!(
        aws.contains("\"__type\":\"RequestTimeoutException\""),
        "{aws}"
    );
    let vault = exchange(
        &addr(&running, "vault"),
        b"POST /v1/secret/data/x HTTP/1.1\r\nHost: x\r\nX-Vault-Token: root\r\nContent-Length: 100\r\n\r\n{\"da",
    )
    .await;
    assert!(vault.starts_with("HTTP/1.1 408"), "{vault}");
    assert!(vault.contains("{\"errors\":["), "{vault}");
    running.shutdown().await;
}

/// The limits: AWS 1 MiB, Vault 32 MiB (`max_request_size`), Key Vault 1 MiB. A declared
/// Content-Length over them is refused before any of the body is sent.
#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_at_once_with_413() {
    let running = emulators().await;
    let aws = exchange(
        &addr(&running, "aws"),
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: secretsmanager.ListSecrets\r\nContent-Length: {}\r\n\r\n",
            1024 * 1024 + 1
        )
        .as_bytes(),
    )
    .await;
    assert!(aws.starts_with("HTTP/1.1 413"), "{aws}");
    assert!(aws.contains("RequestEntityTooLargeException"), "{aws}");
    let sts = exchange(
        &addr(&running, "aws"),
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 99999999999\r\n\r\n",
    )
    .await;
    assert!(sts.starts_with("HTTP/1.1 413"), "{sts}");
    assert!(sts.contains("<ErrorResponse"), "{sts}");
    let vault = exchange(
        &addr(&running, "vault"),
        format!(
            "PUT /v1/secret/data/x HTTP/1.1\r\nHost: x\r\nX-Vault-Token: root\r\nContent-Length: {}\r\n\r\n",
            32 * 1024 * 1024 + 1
        )
        .as_bytes(),
    )
    .await;
    assert!(vault.starts_with("HTTP/1.1 413"), "{vault}");
    assert!(vault.contains("http: request body too large"), "{vault}");

    running.shutdown().await;

    // Key Vault, over TLS, with a valid token: the client declares 2 MiB and never sends a byte.
    let az = azure_common::start_with(Options {
        azure: loopback(),
        timeouts: SHORT,
        ..Options::default()
    })
    .await;
    let token = az.token().await;
    let never = futures::stream::pending::<Result<bytes::Bytes, std::io::Error>>();
    let response = tokio::time::timeout(
        DEADLINE,
        az.http()
            .put(format!("{}/secrets/big?api-version=7.4", az.vault_url()))
            .bearer_auth(&token)
            .header("content-length", 2 * 1024 * 1024)
            .body(reqwest::Body::wrap_stream(never))
            .send(),
    )
    .await
    .expect("Key Vault answered in time")
    .expect("response");
    assert_eq!(response.status().as_u16(), 413);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "RequestEntityTooLarge");
}

/// The long-input probe: SecretIds of a million characters used to reach the handler and the
/// journal whole (about 1 MB of memory per call). The model table refuses them first, in
/// coral's words, and the journal keeps none of it.
#[tokio::test]
async fn million_character_names_are_refused_by_the_model_and_not_journaled() {
    let running = emulators().await;
    let url = running.url("aws").expect("url").to_owned();
    let http = reqwest::Client::new();
    let long = "a".repeat(1_000_000);
    for target in [
        "secretsmanager.GetSecretValue",
        "secretsmanager.DescribeSecret",
    ] {
        let r = http
            .post(&url)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", target)
            .body(serde_json::json!({ "SecretId": long }).to_string())
            .send()
            .await
            .expect("call");
        assert_eq!(r.status().as_u16(), 400, "{target}");
        let body: serde_json::Value = r.json().await.expect("json");
        assert_eq!(body["__type"], "ValidationException");
        assert!(
            body["Message"]
                .as_str()
                .expect("message")
                .ends_with("at 'secretId' failed to satisfy constraint: Member must have length less than or equal to 2048"),
            "{target}"
        );
    }
    let r = http
        .post(&url)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "AmazonSSM.GetParameter")
        .body(serde_json::json!({ "Name": long }).to_string())
        .send()
        .await
        .expect("call");
    assert_eq!(r.status().as_u16(), 400);
    // Vault has no name limit but the request line's (HTTP's URI limit, 64 KiB: longer ones get
    // 414); the journal cuts what it keeps.
    let answer = exchange(
        &addr(&running, "vault"),
        format!(
            "GET /v1/secret/data/{} HTTP/1.1\r\nHost: x\r\nX-Vault-Token: root\r\nConnection: close\r\n\r\n",
            "p".repeat(60_000)
        )
        .as_bytes(),
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 404"),
        "{}",
        &answer[..100.min(answer.len())]
    );
    assert!(
        running.core.journal.bytes() < 64 * 1024,
        "{} bytes journaled",
        running.core.journal.bytes()
    );
    running.shutdown().await;
}

/// In-process shutdown with a request in flight that takes a minute (an injected latency) and a
/// head that never ends: the grace period, then the connections are closed and shutdown is done.
#[tokio::test]
async fn shutdown_closes_what_the_grace_period_did_not_finish() {
    let running = emulators().await;
    let url = running.url("aws").expect("url").to_owned();
    let http = reqwest::Client::new();
    let fault = http
        .post(format!("{url}/_secretbench/faults"))
        .bearer_auth(running.admin_token().expect("token"))
        .body(r#"{"service":"secretsmanager","operation":"ListSecrets","latencyMs":60000}"#)
        .send()
        .await
        .expect("fault");
    assert_eq!(fault.status().as_u16(), 201);
    let slow = tokio::spawn(
        http.post(&url)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", "secretsmanager.ListSecrets")
            .body("{}")
            .send(),
    );
    // The slow call is in flight once the fault rule has caught it (polled, with a deadline).
    let in_flight = async {
        loop {
            let rules: serde_json::Value = http
                .get(format!("{url}/_secretbench/faults"))
                .bearer_auth(running.admin_token().expect("token"))
                .send()
                .await
                .expect("faults")
                .json()
                .await
                .expect("json");
            if rules["rules"][0]["hits"].as_u64().unwrap_or(0) > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(DEADLINE, in_flight)
        .await
        .expect("the slow call reached the fault");
    let mut held = TcpStream::connect(addr(&running, "aws"))
        .await
        .expect("connect");
    held.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Le")
        .await
        .expect("write");
    let started = std::time::Instant::now();
    tokio::time::timeout(DEADLINE, running.shutdown())
        .await
        .expect("shutdown completes");
    let took = started.elapsed();
    assert!(
        took >= SHORT.shutdown_grace,
        "the call in flight got its grace: {took:?}"
    );
    assert!(
        took <= SHORT.shutdown_grace + Duration::from_secs(2),
        "{took:?}"
    );
    let answer = tokio::time::timeout(DEADLINE, slow)
        .await
        .expect("the slow call ended")
        .expect("task");
    assert!(answer.is_err(), "its connection was closed: {answer:?}");
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(DEADLINE, held.read_to_end(&mut rest))
        .await
        .expect("the held connection is closed");
    // Closed with bytes unread, the socket may be reset rather than shut down: closed either way.
    assert!(
        closed.is_ok()
            || closed
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "{closed:?}"
    );
}
