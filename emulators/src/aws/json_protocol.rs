//! The AWS JSON 1.1 front door: `POST /` with `X-Amz-Target: <prefix>.<Operation>`. It reads the
//! body under a limit, resolves the caller from SigV4, applies fault rules, dispatches to Secrets
//! Manager or SSM, persists changes, journals the call, and renders errors in AWS's JSON shape.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use super::error::{self, AwsError, MessageKey};
use super::iam::{IamState, Identity, Mode};
use super::validate::{self, Table};
use super::{AwsEmulator, DEFAULT_REGION, MAX_BODY_BYTES, secretsmanager, sigv4, ssm, sts};
use crate::core::Core;
use crate::core::faults::Scope;
use crate::core::journal::Record;
use crate::core::tenant::RequestTenant;

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// What a handler returns: the response body, and whether state changed (and must be persisted).
#[derive(Debug)]
pub(crate) struct Outcome {
    pub body: serde_json::Value,
    pub mutated: bool,
}

impl Outcome {
    pub fn read(body: serde_json::Value) -> Self {
        Self {
            body,
            mutated: false,
        }
    }

    pub fn wrote(body: serde_json::Value) -> Self {
        Self {
            body,
            mutated: true,
        }
    }
}

pub(crate) type OpResult = Result<Outcome, AwsError>;

/// One authenticated call, as handlers see it.
pub(crate) struct Call<'a> {
    pub core: &'a Core,
    pub account: String,
    pub region: String,
    pub identity: Identity,
    /// The IAM action prefix, `secretsmanager` or `ssm`.
    pub action_prefix: &'static str,
    pub operation: String,
    pub record: &'a mut Record,
}

impl Call<'_> {
    /// The IAM action this call needs, e.g. `secretsmanager:GetSecretValue`.
    pub fn action(&self) -> String {
        format!("{}:{}", self.action_prefix, self.operation)
    }

    pub fn authorize(&self, iam: &IamState, resource: &str) -> Result<(), AwsError> {
        iam.authorize(&self.identity, &self.action(), resource)
    }
}

/// Deserializes an operation's input; a type mismatch is AWS's SerializationException.
pub(crate) fn input<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, AwsError> {
    serde_json::from_value(value).map_err(|e| AwsError::serialization(e.to_string()))
}

/// The required member `name`, or coral's "must not be null" validation error.
pub(crate) fn required<'a, T>(value: &'a Option<T>, member: &str) -> Result<&'a T, AwsError> {
    value.as_ref().ok_or_else(|| AwsError::missing(member))
}

/// Who is calling and in which region, from the SigV4 Authorization header.
pub(crate) struct Caller {
    /// The account whose state the call sees: the credentials' ([`super::accounts`]).
    pub account: String,
    pub region: String,
    pub identity: Identity,
    /// Whether `account` is the emulator's own (the default tenant).
    pub default_account: bool,
}

impl Caller {
    /// The tenant of the call, for the journal and fault rules.
    pub fn tenant(&self) -> RequestTenant {
        RequestTenant::new("aws", &self.account, self.default_account)
    }
}

pub(crate) struct Signed<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

pub(crate) fn resolve_caller(
    aws: &AwsEmulator,
    req: &Signed<'_>,
    signing_name: &str,
) -> Result<Caller, AwsError> {
    let state = aws.read();
    let account = state.account_id.clone();
    let strict = state.iam.signatures == Mode::Strict || state.iam.authorization == Mode::Strict;
    let Some(value) = req.headers.get(header::AUTHORIZATION) else {
        if strict {
            return Err(AwsError::client(
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ));
        }
        return Ok(Caller {
            identity: Identity::anonymous(&account),
            account,
            region: DEFAULT_REGION.to_owned(),
            default_account: true,
        });
    };
    let text = value.to_str().map_err(|_| {
        AwsError::client(
            "IncompleteSignatureException",
            "Authorization header is not valid ASCII",
        )
    })?;
    let auth = sigv4::parse(text)?;
    if auth.service != signing_name {
        return Err(AwsError::client(
            "InvalidSignatureException",
            format!("Credential should be scoped to correct service: '{signing_name}'. "),
        ));
    }
    let identity = state
        .iam
        .identify(&account, &auth.access_key_id, aws.core.clock.now())?;
    if state.iam.signatures == Mode::Strict {
        let secret = identity.secret_key.as_deref().ok_or_else(|| {
            AwsError::client(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        })?;
        sigv4::check_time(req.headers, aws.core.clock.peek())?;
        sigv4::verify(
            &auth,
            secret,
            req.method.as_str(),
            req.uri.path(),
            req.uri.query().unwrap_or_default(),
            req.headers,
            req.body,
        )?;
    }
    Ok(Caller {
        default_account: identity.account == account,
        account: identity.account.clone(),
        region: auth.region,
        identity,
    })
}

/// Reads a request body under [`MAX_BODY_BYTES`] and the core's read timeout.
pub(crate) async fn read_body(
    core: &Core,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, AwsError> {
    use crate::core::body::{BodyError, read_limited};
    read_limited(core, headers, body, MAX_BODY_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge(limit) => AwsError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLargeException",
                format!("Request body is larger than the limit of {limit} bytes"),
            ),
            BodyError::TimedOut(_) => AwsError::new(
                StatusCode::REQUEST_TIMEOUT,
                "RequestTimeoutException",
                "The request body was not received within the timeout period.",
            ),
            BodyError::ShuttingDown => AwsError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailableException",
                "The service is shutting down.",
            ),
            BodyError::Unreadable(why) => {
                AwsError::serialization(format!("cannot read request body: {why}"))
            }
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonService {
    SecretsManager,
    Ssm,
}

impl JsonService {
    fn from_prefix(prefix: &str) -> Option<Self> {
        match prefix {
            "secretsmanager" => Some(Self::SecretsManager),
            "AmazonSSM" => Some(Self::Ssm),
            _ => None,
        }
    }

    /// The name used in the journal, fault rules, SigV4 scope and IAM actions.
    fn name(self) -> &'static str {
        match self {
            Self::SecretsManager => "secretsmanager",
            Self::Ssm => "ssm",
        }
    }

    /// The members the service model constrains, checked before dispatch.
    fn table(self) -> Table {
        match self {
            Self::SecretsManager => secretsmanager::model::TABLE,
            Self::Ssm => ssm::model::TABLE,
        }
    }

    fn message_key(self) -> MessageKey {
        match self {
            Self::SecretsManager => MessageKey::Upper,
            Self::Ssm => MessageKey::Lower,
        }
    }

    fn internal_error(self) -> AwsError {
        match self {
            Self::SecretsManager => AwsError::internal(
                "InternalServiceError",
                "An error occurred on the server side.",
            ),
            Self::Ssm => AwsError::internal(
                "InternalServerError",
                "An error occurred on the server side.",
            ),
        }
    }
}

fn json_response(status: StatusCode, request_id: &str, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-RequestId", v);
    }
    response
}

fn error_response(err: &AwsError, key: MessageKey, request_id: &str) -> Response {
    json_response(err.status, request_id, error::json_body(err, key))
}

/// `POST /`: JSON 1.1 when `X-Amz-Target` is present, otherwise the STS query protocol.
pub(crate) async fn post_root(
    State(aws): State<Arc<AwsEmulator>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // Any X-Amz-Target means the JSON protocol, even one that is not visible ASCII: AWS answers
    // it with UnknownOperationException, not with the query protocol's MissingAction.
    let Some(target) = headers
        .get("x-amz-target")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    else {
        return sts::post_root(aws, method, uri, headers, body).await;
    };
    let started = Instant::now();
    let request_id = aws.core.request_id();
    let (prefix, operation) = target.split_once('.').unwrap_or((target.as_str(), ""));
    let Some(service) = JsonService::from_prefix(prefix) else {
        let mut record = Record::new("aws", target.clone());
        let err = AwsError::client(
            "UnknownOperationException",
            format!("Unknown operation {target}"),
        );
        return finish(
            &aws,
            &mut record,
            started,
            &request_id,
            Err(err),
            MessageKey::Upper,
        );
    };
    let mut record = Record::new(service.name(), operation);
    let result = serve_json(
        &aws,
        service,
        operation,
        &method,
        &uri,
        &headers,
        body,
        &mut record,
    )
    .await;
    finish(
        &aws,
        &mut record,
        started,
        &request_id,
        result,
        service.message_key(),
    )
}

fn finish(
    aws: &AwsEmulator,
    record: &mut Record,
    started: Instant,
    request_id: &str,
    result: Result<serde_json::Value, AwsError>,
    key: MessageKey,
) -> Response {
    let (status, error, response) = match result {
        Ok(body) => (
            StatusCode::OK,
            None,
            json_response(
                StatusCode::OK,
                request_id,
                serde_json::to_vec(&body).unwrap_or_default(),
            ),
        ),
        Err(err) => (
            err.status,
            Some(err.code.to_string()),
            error_response(&err, key, request_id),
        ),
    };
    aws.core
        .journal_request(std::mem::take(record), started, status.as_u16(), error);
    response
}

#[allow(clippy::too_many_arguments)]
async fn serve_json(
    aws: &AwsEmulator,
    service: JsonService,
    operation: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
    record: &mut Record,
) -> Result<serde_json::Value, AwsError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // Both services speak JSON 1.1 only; a 1.0 (or any other) content type names no operation
    // of theirs. Parameters such as `; charset=utf-8` are allowed.
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case(CONTENT_TYPE) {
        return Err(AwsError::new(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            format!("Content-Type must be {CONTENT_TYPE}, got '{content_type}'"),
        ));
    }
    let bytes = read_body(&aws.core, headers, body).await?;
    let signed = Signed {
        method,
        uri,
        headers,
        body: &bytes,
    };
    let caller = resolve_caller(aws, &signed, service.name())?;
    record.region = Some(caller.region.clone());
    record.identity = Some(caller.identity.arn.clone());
    let tenant = caller.tenant();
    record.tenant = Some(tenant.clone());

    if let Some(injected) = aws
        .core
        .inject_faults(
            service.name(),
            operation,
            Some(&caller.region),
            Scope::Request(Some(&tenant.id)),
        )
        .await
    {
        return Err(AwsError::new(
            injected.status_code(),
            injected.code,
            injected.message,
        ));
    }

    let value: serde_json::Value = if bytes.is_empty() {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| AwsError::serialization(format!("Malformed JSON request body: {e}")))?
    };
    if !value.is_object() {
        return Err(AwsError::serialization(
            "Start of structure or map expected",
        ));
    }
    validate::check(service.table(), operation, &value)?;

    let mut call = Call {
        core: &aws.core,
        account: caller.account,
        region: caller.region,
        identity: caller.identity,
        action_prefix: service.name(),
        operation: operation.to_owned(),
        record,
    };
    // Handlers are synchronous and hold the state lock only for their own duration. A panic is a
    // bug, but it must still produce a well-formed 500 rather than a dropped connection.
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| match service {
        JsonService::SecretsManager => secretsmanager::handle(aws, &mut call, value),
        JsonService::Ssm => ssm::handle(aws, &mut call, value),
    }))
    .unwrap_or_else(|_| {
        tracing::error!(operation, "handler panicked");
        Err(service.internal_error())
    })?;
    if outcome.mutated {
        aws.state.persister().commit().await.map_err(|e| {
            tracing::error!(error = %e, "cannot persist state");
            service.internal_error()
        })?;
    }
    Ok(outcome.body)
}

/// Any path other than the ones AWS serves.
pub(crate) async fn unknown_path(uri: Uri) -> Response {
    let err = AwsError::new(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        format!("No AWS operation is served at {}", uri.path()),
    );
    error_response(&err, MessageKey::Lower, "")
}
