//! The provider-independent smoke check (`stack/manifests/smoke-fake.yaml`): a pod mounts the
//! fake provider's files through the driver, becomes Ready, `kubectl exec` reads the mounted
//! file, and the driver syncs it into Secret `smoke-synced`. Works on any backend.

use std::time::Duration;

use base64::Engine as _;

use crate::cluster::Progress;
use crate::cmd::CmdError;
use crate::kubectl::Kubectl;
use crate::stack::Stack;
use crate::wait;

const NS: &str = "secretbench-smoke";
const MANIFEST: &str = "smoke-fake.yaml";

#[derive(Debug, thiserror::Error)]
pub enum SmokeError {
    #[error(transparent)]
    Cmd(#[from] CmdError),
    #[error(transparent)]
    Timeout(#[from] wait::Timeout),
    #[error("smoke: {0}")]
    Check(String),
}

/// Runs the fake-provider smoke and removes what it created.
pub async fn fake(stack: &Stack, kubectl: &Kubectl) -> Result<(), SmokeError> {
    let mut pr = Progress::new("smoke");
    let manifest = stack.manifest(MANIFEST);
    kubectl.cmd(["apply", "-f"]).arg(&manifest).output().await?;
    kubectl
        .cmd([
            "-n",
            NS,
            "wait",
            "pod/smoke",
            "--for=condition=Ready",
            "--timeout=120s",
        ])
        .timeout(Duration::from_secs(130))
        .output()
        .await?;
    pr.step("pod smoke Running and Ready (CSI volume mounted)");
    let content = kubectl
        .run([
            "-n",
            NS,
            "exec",
            "smoke",
            "--",
            "cat",
            "/mnt/secrets-store/foo",
        ])
        .await?;
    if content.trim_end() != "secret" {
        return Err(SmokeError::Check(format!(
            "/mnt/secrets-store/foo is {content:?}, expected \"secret\""
        )));
    }
    pr.step("kubectl exec read /mnt/secrets-store/foo = secret");
    wait::until(
        "synced Secret smoke-synced",
        Duration::from_secs(30),
        Duration::from_millis(500),
        || async {
            Ok::<_, SmokeError>(
                kubectl
                    .ok(["-n", NS, "get", "secret", "smoke-synced"])
                    .await,
            )
        },
    )
    .await?;
    let b64 = kubectl
        .run([
            "-n",
            NS,
            "get",
            "secret",
            "smoke-synced",
            "-o",
            "jsonpath={.data.username}",
        ])
        .await?;
    let username = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| SmokeError::Check(format!("Secret smoke-synced: bad base64: {e}")))?;
    if username != b"secret" {
        return Err(SmokeError::Check(format!(
            "Secret smoke-synced has username {:?}, expected \"secret\"",
            String::from_utf8_lossy(&username)
        )));
    }
    pr.step("Secret smoke-synced synced (username=secret)");
    kubectl
        .cmd(["delete", "-f"])
        .arg(&manifest)
        .arg("--wait=true")
        .timeout(Duration::from_secs(120))
        .output()
        .await?;
    pr.step("smoke resources deleted");
    eprintln!(
        "[smoke] passed in {:.1}s (mount, exec read, Secret sync, delete)",
        pr.elapsed_secs()
    );
    Ok(())
}
