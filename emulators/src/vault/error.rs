//! Vault's error answers: `{"errors": [...]}` with the status Vault's `RespondErrorCommon` picks.

use axum::http::StatusCode;

/// An error answer. `errors` is empty for "nothing at this path", as Vault sends it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status}: {errors:?}")]
pub struct VaultError {
    pub status: StatusCode,
    pub errors: Vec<String>,
}

impl VaultError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            errors: vec![message.into()],
        }
    }

    /// `logical.ErrorResponse`: a 400 with the handler's message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A read that found nothing: 404 with an empty error list.
    pub fn not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            errors: Vec::new(),
        }
    }

    /// A bare `logical.ErrPermissionDenied`: no token at all, or a refused login.
    pub fn permission_denied() -> Self {
        Self::new(StatusCode::FORBIDDEN, "permission denied")
    }

    /// A valid token whose policies refuse the request. Vault's `checkToken` appends
    /// `ErrPermissionDenied` to a multierror, so the one message is that multierror's text.
    pub fn acl_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "1 error occurred:\n\t* permission denied\n\n",
        )
    }

    /// A missing, expired or revoked token: recent Vault names both causes, as one multierror
    /// message (not two entries).
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n",
        )
    }

    /// `logical.ErrUnsupportedOperation`, wrapped in a multierror as Vault's router returns it.
    pub fn unsupported_operation() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "1 error occurred:\n\t* unsupported operation\n\n",
        )
    }

    /// `logical.ErrUnsupportedPath`: a path inside a mount that no route of its backend serves.
    pub fn unsupported_path() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "1 error occurred:\n\t* unsupported path\n\n",
        )
    }

    pub fn no_route(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("no handler for route \"{path}\". route entry not found."),
        )
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }

    /// A handler's plain Go error (not a `logical.ErrorResponse`): Vault answers 500 with it.
    pub fn internal_message(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "errors": self.errors })
    }

    /// The first message, for the journal.
    pub fn summary(&self) -> String {
        self.errors.first().cloned().unwrap_or_default()
    }
}

pub type VaultResult<T> = Result<T, VaultError>;

/// Errors joined as hashicorp/go-multierror prints them (`1 error occurred:\n\t* x\n\n`).
pub fn multierror(errors: &[String]) -> String {
    let head = if errors.len() == 1 {
        "1 error occurred:".to_owned()
    } else {
        format!("{} errors occurred:", errors.len())
    };
    let items: Vec<String> = errors.iter().map(|e| format!("* {e}")).collect();
    format!("{head}\n\t{}\n\n", items.join("\n\t"))
}
