//! What goes into the cluster once it runs: the image tarballs (imported into containerd,
//! since nothing can be pulled), the driver chart, the fake provider and the Azure chart.

use std::path::Path;
use std::time::Duration;

use super::{HostError, StateDir, io_err};
use crate::cmd::Cmd;
use crate::kubectl::Kubectl;
use crate::stack::{Built, Stack};

/// The DaemonSets that must be rolled out before `up` reports success.
pub const DAEMONSETS: &[&str] = &[
    "ds/csi-secrets-store-secrets-store-csi-driver",
    "ds/secretbench-fake-provider",
    "ds/azure-csi-secrets-store-provider-azure",
];

/// `ctr` against our containerd, in the CRI namespace.
pub fn ctr(state: &StateDir) -> Cmd {
    Cmd::new("ctr")
        .arg("--address")
        .arg(state.containerd_sock())
        .args(["-n", "k8s.io"])
}

/// `images.txt`: `<tarball> <image ref>` per line.
pub fn parse_images_txt(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_owned(), w.next()?.to_owned()))
        })
        .collect()
}

/// The digest column of `ctr images ls name==REF` (header line, then one row), if listed.
pub fn listed_digest(ctr_ls: &str) -> Option<String> {
    ctr_ls
        .lines()
        .nth(1)
        .and_then(|row| row.split_whitespace().nth(2))
        .map(str::to_owned)
}

/// The manifest digest in an OCI layout's `index.json`.
pub fn index_digest(index_json: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(index_json).ok()?;
    v["manifests"][0]["digest"].as_str().map(str::to_owned)
}

/// Imports each image whose digest containerd does not already have under its ref.
/// Returns how many were imported.
pub async fn import_images(state: &StateDir, images_dir: &Path) -> Result<usize, HostError> {
    let list_path = images_dir.join("images.txt");
    let list = tokio::fs::read_to_string(&list_path)
        .await
        .map_err(|e| io_err("reading", &list_path, e))?;
    let mut imported = 0;
    for (tar, reference) in parse_images_txt(&list) {
        let tar = images_dir.join(tar);
        let index = Cmd::new("tar")
            .arg("-xOf")
            .arg(&tar)
            .arg("index.json")
            .output()
            .await?;
        let want = index_digest(&index).ok_or_else(|| {
            HostError::Daemon(format!(
                "{}: no manifest digest in index.json",
                tar.display()
            ))
        })?;
        let have = ctr(state)
            .args(["images", "ls", &format!("name=={reference}")])
            .output()
            .await?;
        if listed_digest(&have).as_deref() != Some(want.as_str()) {
            ctr(state)
                .args(["images", "import"])
                .arg(&tar)
                .timeout(Duration::from_secs(120))
                .output()
                .await?;
            tracing::info!(%reference, "imported");
            imported += 1;
        }
    }
    Ok(imported)
}

fn helm(state: &StateDir, built: &Built) -> Cmd {
    let h = state.root().join("helm");
    Cmd::new(&built.helm)
        .env("HELM_CACHE_HOME", h.join("cache"))
        .env("HELM_CONFIG_HOME", h.join("config"))
        .env("HELM_DATA_HOME", h.join("data"))
        .env("KUBECONFIG", state.kubeconfig("admin"))
}

/// The driver's rotation poll interval (the chart's default is 2m). Short, so that rotation
/// scenarios and repros that wait out `rotation + 30s` stay quick; the runner reads the value
/// back from the DaemonSet rather than trusting this constant.
pub const ROTATION_POLL: Duration = Duration::from_secs(10);

/// The driver chart's settings: Secret sync, rotation every [`ROTATION_POLL`], and the token
/// audiences the AWS, Azure and Vault providers ask for.
pub fn driver_values() -> Vec<String> {
    let rotation = format!("rotationPollInterval={}s", ROTATION_POLL.as_secs());
    [
        "syncSecret.enabled=true",
        "enableSecretRotation=true",
        rotation.as_str(),
        "tokenRequests[0].audience=sts.amazonaws.com",
        "tokenRequests[1].audience=pods.eks.amazonaws.com",
        "tokenRequests[2].audience=api://AzureADTokenExchange",
        "tokenRequests[3].audience=vault",
    ]
    .iter()
    .flat_map(|v| ["--set".to_owned(), (*v).to_owned()])
    .collect()
}

/// `helm install` of the driver chart (waits for it, including its CRD Job).
pub async fn driver(state: &StateDir, built: &Built) -> Result<(), HostError> {
    helm(state, built)
        .args(["install", "csi-secrets-store"])
        .arg(&built.driver_chart)
        .args(["-n", "kube-system", "--wait", "--timeout", "3m"])
        .args(driver_values())
        .timeout(Duration::from_secs(200))
        .output()
        .await?;
    Ok(())
}

/// The fake provider DaemonSet and the Azure provider chart (driver already installed, so
/// its `secrets-store-csi-driver.install=false`).
pub async fn providers(
    state: &StateDir,
    built: &Built,
    stack: &Stack,
    kubectl: &Kubectl,
) -> Result<(), HostError> {
    kubectl
        .cmd(["apply", "-f"])
        .arg(stack.manifest("fake-provider.yaml"))
        .output()
        .await?;
    helm(state, built)
        .args(["install", "azure"])
        .arg(&built.azure_chart)
        .args(["-n", "kube-system", "--wait", "--timeout", "2m"])
        .args(["--set", "secrets-store-csi-driver.install=false"])
        .timeout(Duration::from_secs(140))
        .output()
        .await?;
    Ok(())
}

/// Waits until the driver and provider DaemonSets are rolled out.
pub async fn wait_rollouts(kubectl: &Kubectl) -> Result<(), HostError> {
    for ds in DAEMONSETS {
        kubectl
            .cmd([
                "-n",
                "kube-system",
                "rollout",
                "status",
                ds,
                "--timeout=120s",
            ])
            .timeout(Duration::from_secs(130))
            .output()
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_image_list_and_ctr_output() {
        let l = parse_images_txt("pause.tar registry.k8s.io/pause:3.10.1\n\nshell.tar a/b:c\n");
        assert_eq!(
            l,
            vec![
                (
                    "pause.tar".to_owned(),
                    "registry.k8s.io/pause:3.10.1".to_owned()
                ),
                ("shell.tar".to_owned(), "a/b:c".to_owned())
            ]
        );
        let ls = "REF                          TYPE                                    DIGEST                  SIZE    PLATFORMS   LABELS\n\
                  registry.k8s.io/pause:3.10.1 application/vnd.oci.image.manifest.v1+json sha256:abc 1.2 MiB linux/amd64 io.cri-containerd.image=managed\n";
        assert_eq!(listed_digest(ls).as_deref(), Some("sha256:abc"));
        assert_eq!(
            listed_digest("REF TYPE DIGEST SIZE PLATFORMS LABELS\n"),
            None
        );
        assert_eq!(
            index_digest(r#"{"schemaVersion":2,"manifests":[{"digest":"sha256:def"}]}"#).as_deref(),
            Some("sha256:def")
        );
    }

    #[test]
    fn driver_values_pair_set_flags() {
        let v = driver_values();
        assert_eq!(v.len(), 14);
        assert!(v.chunks(2).all(|p| p[0] == "--set"));
        assert!(v.contains(&"tokenRequests[2].audience=api://AzureADTokenExchange".to_owned()));
    }
}
