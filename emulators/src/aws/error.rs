//! AWS errors and their three wire shapes: AWS JSON 1.1 (Secrets Manager, SSM), the query
//! protocol's XML (STS), and the Pod Identity agent's `{"code","message"}`.

use axum::http::StatusCode;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AwsError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
}

impl AwsError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// A 400 with the given code: most AWS client errors.
    pub fn client(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::client("ValidationException", message)
    }

    /// Coral's wording for a required member that is absent.
    pub fn missing(member: &str) -> Self {
        Self::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::client("SerializationException", message)
    }

    pub fn access_denied(identity: &str, action: &str, resource: &str) -> Self {
        Self::client(
            "AccessDeniedException",
            format!(
                "User: {identity} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
            ),
        )
    }

    pub fn internal(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, code, message)
    }
}

/// Which key carries the message in a JSON error body: Secrets Manager says `Message`, SSM `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKey {
    Upper,
    Lower,
}

pub fn json_body(err: &AwsError, key: MessageKey) -> Vec<u8> {
    let key = match key {
        MessageKey::Upper => "Message",
        MessageKey::Lower => "message",
    };
    let mut body = serde_json::Map::new();
    body.insert("__type".into(), err.code.as_ref().into());
    body.insert(key.into(), err.message.clone().into());
    serde_json::to_vec(&body).unwrap_or_default()
}

pub fn xml_body(err: &AwsError, request_id: &str) -> String {
    let kind = if err.status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        xml_escape(&err.code),
        xml_escape(&err.message),
        xml_escape(request_id)
    )
}

pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_error_uses_the_service_message_key() {
        let e = AwsError::client(
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.",
        );
        let v: serde_json::Value =
            serde_json::from_slice(&json_body(&e, MessageKey::Upper)).expect("json");
        assert_eq!(v["__type"], "ResourceNotFoundException");
        assert_eq!(
            v["Message"],
            "Secrets Manager can't find the specified secret."
        );
        let v: serde_json::Value =
            serde_json::from_slice(&json_body(&e, MessageKey::Lower)).expect("json");
        assert!(v.get("Message").is_none());
        assert_eq!(
            v["message"],
            "Secrets Manager can't find the specified secret."
        );
    }

    #[test]
    fn xml_error_escapes_and_names_the_fault_side() {
        let e = AwsError::client("InvalidIdentityToken", "bad <token> & more");
        let x = xml_body(&e, "rid");
        assert!(x.contains("<Type>Sender</Type>"));
        assert!(x.contains("<Message>bad &lt;token&gt; &amp; more</Message>"));
        assert!(
            xml_body(&AwsError::internal("InternalFailure", "x"), "r")
                .contains("<Type>Receiver</Type>")
        );
    }
}
