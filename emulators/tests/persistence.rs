//! State survives restarts, including a kill in the middle of a stream of writes.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use std::io::BufRead;
use std::process::{Command, Stdio};

#[tokio::test]
async fn state_survives_a_graceful_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = secretbench_emulators::Options {
        state_dir: Some(dir.path().to_owned()),
        ..secretbench_emulators::Options::ephemeral()
    };
    let env = common::emulator_with(options.clone()).await;
    let sm = env.secretsmanager("us-east-1").await;
    sm.create_secret()
        .name("kept")
        .secret_string("one")
        .send()
        .await
        .expect("create");
    sm.put_secret_value()
        .secret_id("kept")
        .secret_string("two")
        .send()
        .await
        .expect("put");
    env.running.shutdown().await;

    let env = common::emulator_with(options).await;
    let sm = env.secretsmanager("us-east-1").await;
    let got = sm
        .get_secret_value()
        .secret_id("kept")
        .send()
        .await
        .expect("still there");
    assert_eq!(got.secret_string(), Some("two"));
    let prev = sm
        .get_secret_value()
        .secret_id("kept")
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .expect("history too");
    assert_eq!(prev.secret_string(), Some("one"));
}

fn spawn_emulator(state_dir: &std::path::Path) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_secretbench-emulators"))
        .args(["--aws", "127.0.0.1:0", "--state-dir"])
        .arg(state_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn emulator");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ready line");
    let ready: serde_json::Value = serde_json::from_str(&line).expect("ready line is JSON");
    let url = ready["aws"]["url"].as_str().expect("aws url").to_owned();
    (child, url)
}

/// Every write acknowledged before SIGKILL is there after restart, and the state file is never torn.
#[tokio::test]
async fn acknowledged_writes_survive_a_kill_during_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, url) = spawn_emulator(dir.path());
    let config = common::sdk_config(&url, "us-east-1", common::static_credentials()).await;
    let sm = aws_sdk_secretsmanager::Client::new(&config);

    // Writers run concurrently; the kill lands while some are in flight.
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for w in 0..4 {
        let sm = sm.clone();
        let acknowledged = std::sync::Arc::clone(&acknowledged);
        tasks.push(tokio::spawn(async move {
            for i in 0..1000 {
                let name = format!("w{w}-{i}");
                if sm
                    .create_secret()
                    .name(&name)
                    .secret_string("v")
                    .send()
                    .await
                    .is_err()
                {
                    return;
                }
                acknowledged.lock().expect("lock").push(name);
            }
        }));
    }
    // Kill once a fair number of writes have been acknowledged, polling rather than sleeping.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while acknowledged.lock().expect("lock").len() < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "writes did not progress"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.kill().expect("kill");
    let _ = child.wait();
    for t in tasks {
        let _ = t.await;
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();

    let (mut child, url) = spawn_emulator(dir.path());
    let config = common::sdk_config(&url, "us-east-1", common::static_credentials()).await;
    let sm = aws_sdk_secretsmanager::Client::new(&config);
    let mut missing = Vec::new();
    for name in &acknowledged {
        if sm.describe_secret().secret_id(name).send().await.is_err() {
            missing.push(name.clone());
        }
    }
    child.kill().expect("kill");
    let _ = child.wait();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes lost: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(acknowledged.len() >= 50);
}

#[test]
fn a_corrupt_state_file_stops_startup_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("aws.json"), b"{\"accountId\": ").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_secretbench-emulators"))
        .args(["--aws", "127.0.0.1:0", "--state-dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not valid"), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "no ready line for a failed start");
}
