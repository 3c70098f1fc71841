#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.
//! The emulator process as `run` starts it, with the real binary: listening on all interfaces
//! and asked on loopback, and a port that is taken reported with the bind error itself.

use std::net::IpAddr;

use secretbench::wiring::emulators::{EmulatorPorts, EmulatorProcess};

const BIN: &str = env!("CARGO_BIN_EXE_secretbench");

fn any_free() -> EmulatorPorts {
    EmulatorPorts {
        aws: Some(0),
        azure: Some(0),
        vault: Some(0),
    }
}

#[tokio::test]
async fn on_all_interfaces_the_harness_asks_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let p = EmulatorProcess::start(
        BIN.as_ref(),
        "0.0.0.0".parse::<IpAddr>().unwrap(),
        &any_free(),
        &dir.path().join("state"),
        &dir.path().join("emulators.log"),
    )
    .await
    .unwrap();
    let e = p.endpoints.clone();
    for url in [&e.aws_url, &e.vault_url] {
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert!(!url.ends_with(":0"), "{url}");
    }
    assert!(
        e.azure_url.starts_with("https://127.0.0.1:"),
        "{}",
        e.azure_url
    );
    let health = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/v1/sys/health", e.vault_url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    p.stop().await;
}

#[tokio::test]
async fn a_taken_port_is_reported_with_the_bind_error() {
    let dir = tempfile::tempdir().unwrap();
    let lo: IpAddr = "127.0.0.1".parse().unwrap();
    let taken = std::net::TcpListener::bind((lo, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let ports = EmulatorPorts {
        vault: Some(port),
        ..any_free()
    };
    let log = dir.path().join("emulators.log");
    let e = EmulatorProcess::start(BIN.as_ref(), lo, &ports, &dir.path().join("state"), &log)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("cannot listen on 127.0.0.1:{port} for vault")),
        "{e}"
    );
    assert!(e.contains("Address already in use"), "{e}");
    assert!(e.contains("--emulator-ports"), "{e}");
    assert!(e.contains(&log.display().to_string()), "{e}");
    drop(taken);
}
