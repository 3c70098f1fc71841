//! What a handler answers and how it becomes Vault's JSON envelope.
//!
//! Every success carries all of `request_id, lease_id, renewable, lease_duration, data, wrap_info,
//! warnings, auth, mount_type` (vaultrs refuses a body without the first four); an answer with
//! nothing to say is a 204 with no body, as `respondOk` does.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lease {
    pub id: String,
    pub duration: u64,
    pub renewable: bool,
}

#[derive(Debug, Default)]
pub struct Reply {
    /// 200 unless a handler answers like Vault's `RespondWithStatusCode` (a 404 with a body).
    pub status: Option<StatusCode>,
    pub data: Option<Value>,
    pub auth: Option<Value>,
    pub lease: Lease,
    pub warnings: Vec<String>,
    /// The engine's type (`kv`, `pki`...); empty for sys and auth paths.
    pub mount_type: String,
    /// sys endpoints also copy each `data` member to the top level (Vault's HTTPSysInjector).
    pub sys_inject: bool,
    /// A body served as-is, outside the envelope (sys/health, sys/seal-status).
    pub raw: Option<Value>,
    /// A body that is not JSON, with its content type (a backend's `HTTPRawBody`, e.g. PKI's
    /// `ca/pem`); empty text is a 204 with no body and no content type, as Vault sends it.
    pub text: Option<(&'static str, Vec<u8>)>,
    /// State changed: persist before answering.
    pub mutated: bool,
    /// [`Reply::without_mount_type`].
    pub no_mount_type: bool,
}

impl Reply {
    pub fn data(data: Value) -> Self {
        Self {
            data: Some(data),
            ..Self::default()
        }
    }

    /// A successful write with nothing to return: 204.
    pub fn no_content() -> Self {
        Self::default()
    }

    pub fn raw(body: Value, status: StatusCode) -> Self {
        Self {
            raw: Some(body),
            status: Some(status),
            ..Self::default()
        }
    }

    /// A raw answer (`logical.HTTPRawBody`): 200 with `body` as `content_type`, or 204 when
    /// `body` is empty.
    pub fn text(content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            text: Some((content_type, body)),
            ..Self::default()
        }
    }

    pub fn mutated(mut self) -> Self {
        self.mutated = true;
        self
    }

    pub fn mount_type(mut self, kind: &str) -> Self {
        if !self.no_mount_type {
            kind.clone_into(&mut self.mount_type);
        }
        self
    }

    /// An answer that names no mount type whatever serves it: what Vault sends for a
    /// backend's unauthenticated paths (PKI's `cert/*`, observed on v1.21.1).
    pub fn without_mount_type(mut self) -> Self {
        self.no_mount_type = true;
        self
    }

    pub fn sys(mut self) -> Self {
        self.sys_inject = true;
        self
    }

    pub fn warn(mut self, warning: impl Into<String>) -> Self {
        self.warnings.push(warning.into());
        self
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    /// The status and body to send; `None` body means an empty 204.
    pub fn render(self, request_id: &str) -> (StatusCode, Option<Value>) {
        if let Some(raw) = self.raw {
            return (self.status.unwrap_or(StatusCode::OK), Some(raw));
        }
        if self.data.is_none()
            && self.auth.is_none()
            && self.warnings.is_empty()
            && self.lease.id.is_empty()
        {
            return (self.status.unwrap_or(StatusCode::NO_CONTENT), None);
        }
        let status = self.status.unwrap_or(StatusCode::OK);
        // An answer that is an error with a body (a deleted KV v2 version, an invalid KV v2
        // path) names no mount type.
        let mount_type = if status.is_client_error() {
            String::new()
        } else {
            self.mount_type
        };
        let mut body = Map::new();
        if self.sys_inject
            && let Some(Value::Object(data)) = &self.data
        {
            for (k, v) in data {
                body.insert(k.clone(), v.clone());
            }
        }
        let envelope = json!({
            "request_id": request_id,
            "lease_id": self.lease.id,
            "renewable": self.lease.renewable,
            "lease_duration": self.lease.duration,
            "data": self.data,
            "wrap_info": Value::Null,
            "warnings": if self.warnings.is_empty() { Value::Null } else { json!(self.warnings) },
            "auth": self.auth,
            "mount_type": mount_type,
        });
        if let Value::Object(fields) = envelope {
            body.extend(fields);
        }
        (status, Some(Value::Object(body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_reply_is_204_and_data_reply_has_every_envelope_field() {
        assert_eq!(
            Reply::no_content().render("r"),
            (StatusCode::NO_CONTENT, None)
        );
        let (status, body) = Reply::data(json!({"a": 1})).mount_type("kv").render("r1");
        assert_eq!(status, StatusCode::OK);
        let body = body.unwrap_or_default();
        for field in [
            "request_id",
            "lease_id",
            "renewable",
            "lease_duration",
            "data",
            "wrap_info",
            "warnings",
            "auth",
            "mount_type",
        ] {
            assert!(body.get(field).is_some(), "{field} missing");
        }
        assert_eq!(body["mount_type"], "kv");
        assert_eq!(body["warnings"], Value::Null);
    }

    #[test]
    fn sys_replies_copy_data_to_the_top_level() {
        let (_, body) = Reply::data(json!({"keys": ["a"]})).sys().render("r");
        assert_eq!(body.unwrap_or_default()["keys"], json!(["a"]));
    }
}
