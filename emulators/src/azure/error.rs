//! Key Vault's error shape: `{"error":{"code","message"[,"innererror":{"code"}]}}` with a status.

use axum::http::StatusCode;
use serde_json::json;

use super::Kind;

#[derive(Debug, Clone, PartialEq)]
pub struct KvError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub inner: Option<String>,
}

impl KvError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            inner: None,
        }
    }

    pub fn with_inner(mut self, inner: impl Into<String>) -> Self {
        self.inner = Some(inner.into());
        self
    }

    pub fn bad_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadParameter", message)
    }

    pub fn invalid_name(name: &str) -> Self {
        Self::bad_parameter(format!("The request URI contains an invalid name: {name}"))
    }

    pub fn not_found(kind: Kind, name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("{}NotFound", kind.title()),
            format!(
                "A {k} with (name/id) {name} was not found in this key vault. If you recently deleted this {k} you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
                k = kind.noun()
            ),
        )
    }

    pub fn version_not_found(kind: Kind, name: &str, version: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("{}NotFound", kind.title()),
            format!(
                "A {} with (name/id) {name}/{version} was not found in this key vault. If you recently deleted this {} you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
                kind.noun(),
                kind.noun()
            ),
        )
    }

    pub fn deleted_not_found(kind: Kind, name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("{}NotFound", kind.title()),
            format!("Deleted {} not found: {name}", kind.title()),
        )
    }

    pub fn disabled(kind: Kind, operation: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "Operation {operation} is not allowed on a disabled {}.",
                kind.noun()
            ),
        )
        .with_inner(format!("{}Disabled", kind.title()))
    }

    pub fn conflict_deleted(kind: Kind, name: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "{} {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the {} can only be recovered or purged.",
                kind.title(),
                kind.noun()
            ),
        )
        .with_inner("ObjectIsDeletedButRecoverable")
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "An unexpected error occurred in the emulator.",
        )
    }

    pub fn body(&self) -> serde_json::Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(inner) = &self.inner {
            error["innererror"] = json!({ "code": inner });
        }
        json!({ "error": error })
    }
}
