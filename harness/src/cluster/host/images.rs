//! How images get into the host cluster, where nothing can be pulled: the stack's image
//! tarballs and a bundle's image archives, imported into its containerd.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use super::{HostError, StateDir, io_err};
use crate::cmd::Cmd;
use crate::install::Bundle;
use crate::install::image_ref::normalize;

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

/// Imports a bundle's image archives. An OCI archive whose manifest containerd already has
/// under every name is skipped; a docker-archive carries no manifest digest, so it is imported
/// again (containerd keeps the blobs it has, so this costs a read of the file). Returns the
/// references now present.
pub async fn import_bundle(
    state: &StateDir,
    bundle: &Bundle,
) -> Result<BTreeSet<String>, HostError> {
    let mut present = BTreeSet::new();
    for archive in &bundle.images {
        let mut have_all = archive.digest.is_some();
        for reference in &archive.references {
            let listed = ctr(state)
                .args(["images", "ls", &format!("name=={reference}")])
                .output()
                .await?;
            have_all &= listed_digest(&listed) == archive.digest;
        }
        if !have_all {
            ctr(state)
                .args(["images", "import"])
                .arg(&archive.path)
                .timeout(Duration::from_secs(300))
                .output()
                .await?;
            tracing::info!(file = %archive.path.display(), references = ?archive.references, "imported");
        }
        for reference in &archive.references {
            let listed = ctr(state)
                .args(["images", "ls", &format!("name=={reference}")])
                .output()
                .await?;
            if listed_digest(&listed).is_none() {
                return Err(HostError::Daemon(format!(
                    "{}: containerd did not list {reference} after importing it",
                    archive.path.display()
                )));
            }
            present.insert(reference.clone());
        }
    }
    Ok(present)
}

/// The (normalised) references of the stack's images.
pub fn stack_references(images_txt: &str) -> BTreeSet<String> {
    parse_images_txt(images_txt)
        .into_iter()
        .map(|(_, r)| normalize(&r))
        .collect()
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
}
