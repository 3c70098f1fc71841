//! Which `secretbench` kind cluster the bench made. A cluster of that name may be the user's
//! own (made by hand, by another checkout, by an older bench): the bench never deletes or
//! recreates one it did not make. When it creates the cluster it writes a marker in its state
//! dir naming the node container's id; a cluster is the bench's when its node container has
//! that id (a cluster deleted and made again by someone else has a new one).

use std::path::{Path, PathBuf};

use super::KindError;
use super::runtime::Kind;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Marker {
    pub cluster: String,
    pub runtime: Kind,
    /// The node container's full id when the bench created it.
    pub container: String,
}

impl Marker {
    pub fn path(state: &Path) -> PathBuf {
        state.join("owned-cluster.json")
    }

    /// The marker, or `None` when there is none (or it is unreadable, which counts as none:
    /// the safe answer is "not ours").
    pub fn read(state: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(Self::path(state)).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn write(&self, state: &Path) -> Result<(), KindError> {
        let path = Self::path(state);
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        std::fs::write(&path, text).map_err(|source| KindError::Io {
            action: "writing",
            path,
            source,
        })
    }

    pub fn remove(state: &Path) -> Result<(), KindError> {
        let path = Self::path(state);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(KindError::Io {
                action: "removing",
                path,
                source,
            }),
        }
    }

    /// Whether the cluster whose node container has `container_id` on `runtime` is this one.
    pub fn owns(&self, cluster: &str, runtime: Kind, container_id: &str) -> bool {
        self.cluster == cluster && self.runtime == runtime && self.container == container_id
    }
}

/// What to tell the user about a `secretbench` cluster the bench did not make.
pub fn not_ours(cluster: &str, state: &Path) -> String {
    format!(
        "kind cluster {cluster} was not made by secretbench (no matching marker in {}), so the \
         bench does not delete or recreate it. If it is yours to throw away: `kind delete \
         cluster --name {cluster}`, then run up again; or make it usable yourself (start it, \
         or give it the pinned Kubernetes version)",
        Marker::path(state).display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_owns_only_its_own_container() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Marker::read(dir.path()), None);
        let m = Marker {
            cluster: "secretbench".into(),
            runtime: Kind::Docker,
            container: "4f1c0e2d9a".into(),
        };
        m.write(dir.path()).unwrap();
        let read = Marker::read(dir.path()).unwrap();
        assert_eq!(read, m);
        assert!(read.owns("secretbench", Kind::Docker, "4f1c0e2d9a"));
        assert!(
            !read.owns("secretbench", Kind::Docker, "77aa"),
            "made again by someone else"
        );
        assert!(!read.owns("secretbench", Kind::Podman, "4f1c0e2d9a"));
        assert!(!read.owns("other", Kind::Docker, "4f1c0e2d9a"));
        std::fs::write(Marker::path(dir.path()), "not json").unwrap();
        assert_eq!(Marker::read(dir.path()), None, "unreadable is not ours");
        Marker::remove(dir.path()).unwrap();
        Marker::remove(dir.path()).unwrap();
        assert!(!Marker::path(dir.path()).exists());
        let msg = not_ours("secretbench", dir.path());
        assert!(
            msg.contains("kind delete cluster --name secretbench"),
            "{msg}"
        );
    }
}
