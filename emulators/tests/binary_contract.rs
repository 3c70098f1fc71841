//! The command-line contract of `secretbench-emulators`, exercised on the real binary.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn ready_line(child: &mut std::process::Child) -> serde_json::Value {
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ready line");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("ready line is not JSON ({e}): {line}"))
}

fn wait_exit(child: &mut std::process::Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "did not exit within {within:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn prints_one_json_ready_line_and_exits_cleanly_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_secretbench-emulators"))
        .args(["--aws", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let ready = ready_line(&mut child);
    let url = ready["aws"]["url"].as_str().expect("aws url");
    assert!(url.starts_with("http://127.0.0.1:"));
    assert!(
        ready.get("azure").is_none() && ready.get("vault").is_none(),
        "services not asked for are not started"
    );
    let health = std::net::TcpStream::connect(url.trim_start_matches("http://")).is_ok();
    assert!(health, "the listener is bound when the line is printed");
    let pid = child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(
        wait_exit(&mut child, Duration::from_secs(10)).success(),
        "SIGTERM is a clean exit"
    );
}

#[test]
fn vault_ready_line_names_its_url_and_root_token() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_secretbench-emulators"))
        .args(["--vault", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let ready = ready_line(&mut child);
    let url = ready["vault"]["url"].as_str().expect("vault url");
    assert!(url.starts_with("http://127.0.0.1:"));
    assert_eq!(ready["vault"]["rootToken"], "root");
    let pid = child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
}

#[test]
fn the_azure_ready_line_names_the_ca_the_vaults_and_the_dev_principal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_secretbench-emulators"))
        .args(["--azure", "127.0.0.1:0", "--state-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let ready = ready_line(&mut child);
    let azure = &ready["azure"];
    assert!(
        azure["url"]
            .as_str()
            .expect("url")
            .starts_with("https://127.0.0.1:")
    );
    let ca_file = azure["caFile"].as_str().expect("caFile");
    assert_eq!(
        std::path::Path::new(ca_file),
        dir.path().join("azure-ca.pem")
    );
    let ca = std::fs::read_to_string(ca_file).expect("CA written");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    let port = azure["url"]
        .as_str()
        .expect("url")
        .rsplit(':')
        .next()
        .expect("port");
    assert_eq!(
        azure["vaults"][0],
        format!("https://dev.vault.localhost:{port}")
    );
    for field in ["tenantId", "clientId", "clientSecret"] {
        assert!(
            azure[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}"
        );
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
}

#[test]
fn a_bad_seed_file_stops_startup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = dir.path().join("seed.yaml");
    std::fs::write(&seed, "aws:\n  secrets:\n    - nam: typo\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_secretbench-emulators"))
        .args(["--aws", "127.0.0.1:0", "--seed"])
        .arg(&seed)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid 'aws' section"));
}

#[test]
fn a_busy_port_is_reported() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_secretbench-emulators"))
        .args(["--aws", &addr])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen on"));
}

/// A supervisor may send SIGTERM the instant it reads the ready line; that must still be a clean
/// stop, so the handlers have to be in place before the line is printed.
#[test]
fn sigterm_right_after_the_ready_line_is_a_clean_stop() {
    for _ in 0..20 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_secretbench-emulators"))
            .args(["--aws", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        ready_line(&mut child);
        // A direct kill(2), not a spawned `kill`: the signal must land within microseconds.
        let pid =
            rustix::process::Pid::from_raw(i32::try_from(child.id()).expect("pid")).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("signal");
        let exit = wait_exit(&mut child, Duration::from_secs(10));
        assert!(exit.success(), "exit after an immediate SIGTERM: {exit:?}");
    }
}

/// Kills the child when a test fails before it stops the process itself.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sigterm(child: &std::process::Child) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).expect("pid")).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("signal");
}

fn addr_of(ready: &serde_json::Value, service: &str) -> String {
    let url = ready[service]["url"].as_str().expect("url");
    url.split("://").nth(1).expect("authority").to_owned()
}

/// One complete request on a fresh connection (so it is accepted and served), then the start
/// of a second one that never ends.
fn hold_partial<S: std::io::Read + std::io::Write>(mut stream: S, first: &str, partial: &str) -> S {
    stream.write_all(first.as_bytes()).expect("first request");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    // The answer to the first request ends with its body; `Connection: keep-alive` is the default.
    while !String::from_utf8_lossy(&seen).contains("\r\n\r\n") {
        let n = stream.read(&mut buf).expect("first answer");
        assert!(n > 0, "the connection closed before answering");
        seen.extend_from_slice(&buf[..n]);
    }
    stream
        .write_all(partial.as_bytes())
        .expect("partial request");
    stream.flush().expect("flush");
    stream
}

fn tls_client(ca_file: &str) -> std::sync::Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca_file).expect("CA file");
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.expect("CA PEM")).expect("CA");
    }
    std::sync::Arc::new(
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

/// The binary with all three listeners on ephemeral ports, and its ready line.
fn every_listener(state_dir: &std::path::Path) -> (Reaped, serde_json::Value) {
    let child = Command::new(env!("CARGO_BIN_EXE_secretbench-emulators"))
        .args(["--aws", "127.0.0.1:0", "--azure", "127.0.0.1:0"])
        .args(["--vault", "127.0.0.1:0", "--state-dir"])
        .arg(state_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut child = Reaped(child);
    let ready = ready_line(&mut child.0);
    (child, ready)
}

/// Issue 15: SIGTERM used to wait forever for a client holding a partial request. Now idle
/// connections close at once, bodies still arriving are abandoned, and anything else gets the
/// grace period (3 s) before it is closed.
#[test]
fn sigterm_completes_within_seconds_while_clients_hold_partial_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, ready) = every_listener(dir.path());
    let connect =
        |service: &str| std::net::TcpStream::connect(addr_of(&ready, service)).expect("connect");
    let aws_ping = "GET /_secretbench/health HTTP/1.1\r\nHost: x\r\n\r\n";
    let vault_ping = "GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n";
    // Headers that never end, and a body that never ends, on each plain listener.
    let mut held: Vec<Box<dyn std::any::Any>> = vec![
        Box::new(hold_partial(
            connect("aws"),
            aws_ping,
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Tar",
        )),
        Box::new(hold_partial(
            connect("aws"),
            aws_ping,
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: secretsmanager.ListSecrets\r\nContent-Length: 1000\r\n\r\n{\"Max",
        )),
        Box::new(hold_partial(
            connect("vault"),
            vault_ping,
            "GET /v1/sys/hea",
        )),
        Box::new(hold_partial(
            connect("vault"),
            vault_ping,
            "POST /v1/secret/data/x HTTP/1.1\r\nHost: x\r\nX-Vault-Token: root\r\nContent-Length: 1000\r\n\r\n{\"data\":",
        )),
    ];
    // On the HTTPS listener: a handshake never begun, headers and a body that never end.
    held.push(Box::new(connect("azure")));
    let config = tls_client(ready["azure"]["caFile"].as_str().expect("caFile"));
    let azure_ping = "GET /_secretbench/health HTTP/1.1\r\nHost: localhost\r\n\r\n";
    for partial in [
        "GET /secrets?api-version=7.4 HTTP/1.1\r\nHost: localh",
        "PUT /secrets/x?api-version=7.4 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{\"va",
    ] {
        let tls = rustls::ClientConnection::new(
            std::sync::Arc::clone(&config),
            "localhost".try_into().expect("name"),
        )
        .expect("tls");
        let stream = rustls::StreamOwned::new(tls, connect("azure"));
        held.push(Box::new(hold_partial(stream, azure_ping, partial)));
    }

    let asked = Instant::now();
    sigterm(&child.0);
    let status = wait_exit(&mut child.0, Duration::from_secs(6));
    let took = asked.elapsed();
    eprintln!(
        "shutdown with {} connections holding partial requests took {took:?}",
        held.len()
    );
    assert!(status.success(), "a clean exit: {status:?}");
    drop(held);
}

#[tokio::test]
async fn the_ready_line_names_the_admin_token_and_every_listener_requires_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_child, ready) = every_listener(dir.path());
    let token = ready["adminToken"].as_str().expect("adminToken").to_owned();
    assert_eq!(token.len(), 64, "32 random bytes, hex");
    let ca = std::fs::read(ready["azure"]["caFile"].as_str().expect("caFile")).expect("CA");
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).expect("CA")])
        .no_proxy()
        .build()
        .expect("client");
    let state = async |service: &str, bearer: Option<&str>| {
        let url = ready[service]["url"]
            .as_str()
            .expect("url")
            .replace("127.0.0.1", "localhost");
        let mut req = http.get(format!("{url}/_secretbench/state"));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        (
            status,
            r.json::<serde_json::Value>().await.unwrap_or_default(),
        )
    };
    // Refused in each service's own words, with no token or a wrong one.
    for bearer in [None, Some("guess")] {
        let (status, body) = state("aws", bearer).await;
        assert_eq!(
            (status, body["__type"].as_str()),
            (403, Some("AccessDeniedException"))
        );
        let (status, body) = state("vault", bearer).await;
        assert_eq!(status, 403);
        assert!(
            body["errors"][0]
                .as_str()
                .expect("errors")
                .starts_with("permission denied")
        );
        let (status, body) = state("azure", bearer).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("Unauthorized"))
        );
    }
    for service in ["aws", "azure", "vault"] {
        let (status, body) = state(service, Some(&token)).await;
        assert_eq!(status, 200, "{service}");
        assert!(body.get(service).is_some(), "{service}: {body}");
    }
    let seed = http
        .post(format!(
            "{}/_secretbench/seed",
            ready["aws"]["url"].as_str().expect("url")
        ))
        .body("aws:\n  authorization: permissive\n")
        .send()
        .await
        .expect("seed");
    assert_eq!(
        seed.status().as_u16(),
        403,
        "no reseeding without the token"
    );
}

#[tokio::test]
async fn open_admin_serves_the_admin_api_without_a_token_and_names_none() {
    let child = Command::new(env!("CARGO_BIN_EXE_secretbench-emulators"))
        .args(["--aws", "127.0.0.1:0", "--open-admin"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut child = Reaped(child);
    let ready = ready_line(&mut child.0);
    assert!(ready.get("adminToken").is_none(), "{ready}");
    let url = ready["aws"]["url"].as_str().expect("url");
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("{url}/_secretbench/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(r.status().as_u16(), 200);
}
