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
