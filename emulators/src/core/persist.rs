//! Persistence of a service's state to one file in the state dir.
//!
//! A write is acknowledged only once it is on disk, so a kill at any moment loses nothing that a
//! client was told succeeded. Writers do not each pay for an fsync: concurrent commits are grouped
//! into one snapshot by a single background task (group commit). The file is replaced atomically
//! (temp file, fsync, rename, fsync of the directory), so it is always either the old or the new
//! state, never a torn one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Notify, watch};

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot write state file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read state file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state file {path} is not valid: {source} (move it away to start empty)")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot serialize state: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("the state writer has stopped")]
    WriterGone,
}

pub type Snapshot = Box<dyn Fn() -> Result<Vec<u8>, serde_json::Error> + Send + Sync>;

struct Inner {
    path: PathBuf,
    requested: AtomicU64,
    wake: Notify,
    // (generation written, error of the last write if it failed)
    done: watch::Sender<(u64, Option<String>)>,
    snapshot: Snapshot,
}

/// Durable storage for one service. Without a state dir it does nothing and costs nothing.
#[derive(Clone, Default)]
pub struct Persister {
    inner: Option<Arc<Inner>>,
}

impl std::fmt::Debug for Persister {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Persister")
            .field("path", &self.inner.as_ref().map(|i| i.path.clone()))
            .finish()
    }
}

impl Persister {
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Starts the writer task. `snapshot` serializes the current state; it is called from a
    /// blocking thread, so it may take locks.
    pub fn start(path: PathBuf, snapshot: Snapshot) -> Self {
        let (done, _) = watch::channel((0, None));
        let inner = Arc::new(Inner {
            path,
            requested: AtomicU64::new(0),
            wake: Notify::new(),
            done,
            snapshot,
        });
        tokio::spawn(writer(Arc::clone(&inner)));
        Self { inner: Some(inner) }
    }

    /// Waits until every change made before this call is on disk.
    pub async fn commit(&self) -> Result<(), PersistError> {
        let Some(inner) = &self.inner else {
            return Ok(());
        };
        let generation = inner.requested.fetch_add(1, Ordering::AcqRel) + 1;
        let mut rx = inner.done.subscribe();
        inner.wake.notify_one();
        let result = rx
            .wait_for(|(written, _)| *written >= generation)
            .await
            .map_err(|_| PersistError::WriterGone)?;
        match &result.1 {
            Some(message) => Err(PersistError::Write {
                path: inner.path.clone(),
                source: std::io::Error::other(message.clone()),
            }),
            None => Ok(()),
        }
    }
}

async fn writer(inner: Arc<Inner>) {
    loop {
        inner.wake.notified().await;
        let generation = inner.requested.load(Ordering::Acquire);
        let task_inner = Arc::clone(&inner);
        let outcome = tokio::task::spawn_blocking(move || {
            let bytes = (task_inner.snapshot)().map_err(|e| e.to_string())?;
            write_atomic(&task_inner.path, &bytes).map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(format!("state writer panicked: {e}")));
        if let Err(message) = &outcome {
            tracing::error!(path = %inner.path.display(), error = %message, "state write failed");
        }
        inner.done.send_replace((generation, outcome.err()));
        // A commit that arrived while we were writing left a permit in `wake`, so the loop runs again.
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new content.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Reads a state file written by [`write_atomic`]; `Ok(None)` when there is none yet.
pub fn load<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, PersistError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| PersistError::Corrupt {
                    path: path.to_owned(),
                    source,
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PersistError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn commit_returns_after_the_state_is_on_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        let state = Arc::new(Mutex::new(vec![1u32]));
        let s = Arc::clone(&state);
        let p = Persister::start(
            path.clone(),
            Box::new(move || serde_json::to_vec(&*s.lock().unwrap_or_else(|e| e.into_inner()))),
        );
        for i in 2..=50u32 {
            state.lock().unwrap_or_else(|e| e.into_inner()).push(i);
            p.commit().await.expect("commit");
            let on_disk: Vec<u32> = load(&path).expect("load").expect("present");
            assert_eq!(on_disk.len(), i as usize);
        }
    }

    #[tokio::test]
    async fn concurrent_commits_all_complete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        let p = Persister::start(path.clone(), Box::new(|| serde_json::to_vec(&[1, 2, 3])));
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let p = p.clone();
                tokio::spawn(async move { p.commit().await })
            })
            .collect();
        for t in tasks {
            t.await.expect("join").expect("commit");
        }
        assert_eq!(load::<Vec<u8>>(&path).expect("load"), Some(vec![1, 2, 3]));
    }

    #[test]
    fn a_corrupt_file_is_reported_not_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        std::fs::write(&path, b"{\"half").expect("write");
        assert!(matches!(
            load::<serde_json::Value>(&path),
            Err(PersistError::Corrupt { .. })
        ));
        assert!(
            load::<serde_json::Value>(&dir.path().join("none.json"))
                .expect("load")
                .is_none()
        );
    }

    #[tokio::test]
    async fn disabled_persister_commits_instantly() {
        Persister::disabled().commit().await.expect("noop");
    }
}
