//! The provider-independent smoke check (`stack/manifests/smoke-fake.yaml`): a pod mounts the
//! fake provider's files through the driver, becomes Ready, `kubectl exec` reads the mounted
//! file, and the driver syncs it into Secret `smoke-synced`.
//!
//! Where it runs: wherever the plan's fake provider release is installed, which is the host
//! backend: its image (`FAKE_PROVIDER_IMAGE`, `localhost/...`) is built by the offline stack and
//! exists in no registry, so kind and `existing` clusters do not have it. On those the smoke
//! says so before touching the cluster and names the check that does run there (a scenario
//! against a real provider).

use std::time::Duration;

use base64::Engine as _;

use crate::cluster::Progress;
use crate::cmd::CmdError;
use crate::install::plan::NAMESPACE;
use crate::install::{Component, Plan};
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

/// Why the smoke cannot run on `backend`, when the fake provider's DaemonSet is missing.
pub fn not_installed(backend: &str, image: &str) -> String {
    format!(
        "the fake provider is not installed on this {backend} cluster: its image {image} is \
         built by the offline stack and is in no registry, so only the host backend installs \
         it (`secretbench up --backend host`, then `secretbench smoke --backend host`). To check \
         the driver on {backend}, run a scenario against a real provider instead, e.g. \
         `secretbench e2e --backend {backend} --provider aws scenarios/mount`"
    )
}

/// Runs the fake-provider smoke and removes what it created.
pub async fn fake(stack: &Stack, kubectl: &Kubectl, backend: &str) -> Result<(), SmokeError> {
    let mut pr = Progress::new("smoke");
    let plan =
        Plan::from_versions(stack.versions()).map_err(|e| SmokeError::Check(e.to_string()))?;
    if let Some(fake) = plan.release(Component::Fake) {
        let ds = kubectl
            .get_json(Some(NAMESPACE), "daemonset", Some(&fake.daemonset))
            .await?;
        if ds.is_none() {
            return Err(SmokeError::Check(not_installed(
                backend,
                &fake.images.join(", "),
            )));
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[tokio::test]
    async fn without_the_fake_provider_the_smoke_says_where_it_runs() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let kubectl = dir.path().join("kubectl");
        // kubectl on a kind cluster: `get --ignore-not-found` of a missing DaemonSet prints
        // nothing and exits 0; anything else would be the smoke touching the cluster.
        std::fs::write(
            &kubectl,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\ncase \"$*\" in *\"get daemonset\"*) ;; *) exit 9 ;; esac\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).unwrap();
        let stack = Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap();
        let e = fake(
            &stack,
            &Kubectl::new(&kubectl, dir.path().join("kc")),
            "kind",
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("smoke: the fake provider is not installed on this kind cluster"),
            "{e}"
        );
        assert!(e.contains("localhost/secretbench/fake-provider:"), "{e}");
        assert!(
            e.contains("--backend kind --provider aws scenarios/mount"),
            "{e}"
        );
        let calls = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            calls.lines().collect::<Vec<_>>(),
            [format!(
                "--kubeconfig {} -n kube-system get daemonset secretbench-fake-provider -o json --ignore-not-found",
                dir.path().join("kc").display()
            )],
            "nothing applied"
        );
    }
}
