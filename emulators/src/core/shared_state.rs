//! One service's state: behind a lock for the handlers, and persisted through a [`Persister`]
//! when the service has a state file. Every emulator keeps its state this way.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::persist::{self, PersistError, Persister};

#[derive(Debug)]
pub struct SharedState<S> {
    inner: Arc<RwLock<S>>,
    persister: Persister,
}

impl<S> SharedState<S>
where
    S: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Loads `file` when it exists, else starts from `fresh()`. With a file, every
    /// [`Persister::commit`] writes the whole state back before it returns.
    pub fn open(file: Option<PathBuf>, fresh: impl FnOnce() -> S) -> Result<Self, PersistError> {
        let initial = match &file {
            Some(path) => persist::load::<S>(path)?,
            None => None,
        }
        .unwrap_or_else(fresh);
        let inner = Arc::new(RwLock::new(initial));
        let persister = match file {
            Some(path) => {
                let snapshot = Arc::clone(&inner);
                Persister::start(
                    path,
                    Box::new(move || {
                        serde_json::to_vec(&*snapshot.read().unwrap_or_else(|p| p.into_inner()))
                    }),
                )
            }
            None => Persister::disabled(),
        };
        Ok(Self { inner, persister })
    }
}

impl<S> SharedState<S> {
    // A handler that panicked while holding the lock was already answered with a 500; the state it
    // left is still the best there is, so poisoning is ignored rather than taking the service down.
    pub fn read(&self) -> RwLockReadGuard<'_, S> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, S> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn persister(&self) -> &Persister {
        &self.persister
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reopening_the_file_gives_back_what_was_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("svc.json");
        let state = SharedState::open(Some(file.clone()), Vec::<u32>::new).expect("open");
        state.write().push(7);
        state.persister().commit().await.expect("commit");
        let again = SharedState::open(Some(file), || vec![1]).expect("reopen");
        assert_eq!(*again.read(), vec![7]);
        let memory = SharedState::open(None, || vec![1]).expect("in memory");
        assert_eq!(*memory.read(), vec![1]);
    }
}
