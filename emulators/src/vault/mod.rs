//! The HashiCorp Vault emulator (issue 4): not built yet. The listener answers every request with
//! Vault's error shape and a 501 so a client sees plainly that nothing is served.

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use std::path::PathBuf;
use std::sync::Arc;

use crate::core::persist::{PersistError, Persister};
use crate::core::seed::SeedError;
use crate::core::{Core, Service};

#[derive(Debug)]
pub struct VaultEmulator {
    #[allow(dead_code)]
    core: Arc<Core>,
    persister: Persister,
}

impl VaultEmulator {
    pub fn new(core: Arc<Core>, _state_file: Option<PathBuf>) -> Result<Self, PersistError> {
        Ok(Self {
            core,
            persister: Persister::disabled(),
        })
    }
}

impl Service for VaultEmulator {
    fn name(&self) -> &'static str {
        "vault"
    }
    fn reset(&self) {}
    fn dump(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
    fn seed(&self, _section: serde_json::Value) -> Result<(), SeedError> {
        Err(SeedError::Invalid {
            service: "vault",
            message: "the vault emulator is not built yet".into(),
        })
    }
    fn persister(&self) -> &Persister {
        &self.persister
    }
    fn router(self: Arc<Self>) -> Router {
        Router::new().fallback(|| async {
            (
                StatusCode::NOT_IMPLEMENTED,
                axum::Json(serde_json::json!({ "errors": ["the vault emulator is not built yet"] })),
            )
                .into_response()
        })
    }
}
