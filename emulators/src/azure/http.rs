//! The front door of the HTTPS listener. A request whose Host names a vault (or a Key Vault path
//! on a bare loopback host, which goes to the dev vault) takes the Key Vault pipeline: challenge,
//! api-version, fault rules, token and access policy, body limit, dispatch, persistence, journal.
//! Everything else is Entra ID.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use super::auth::{self, audience_host};
use super::error::KvError;
use super::route::{self, Route};
use super::state::Vault;
use super::{AzureEmulator, MAX_BODY_BYTES, entra, objects};
use crate::core::faults::Scope;
use crate::core::journal::Record;
use crate::core::tenant::RequestTenant;

/// What a handler returns: status, body (none for 204) and whether state changed.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub status: StatusCode,
    pub body: Option<serde_json::Value>,
    pub mutated: bool,
    /// For a long-running operation (202): where to poll, sent as `Location` with `Retry-After`.
    pub poll_at: Option<String>,
}

impl Outcome {
    pub fn read(body: serde_json::Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(body),
            mutated: false,
            poll_at: None,
        }
    }

    pub fn wrote(body: serde_json::Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(body),
            mutated: true,
            poll_at: None,
        }
    }

    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            mutated: true,
            poll_at: None,
        }
    }
}

pub(crate) type OpResult = Result<Outcome, KvError>;

/// What every handler needs besides the vault: the base URL clients used (ids and nextLinks are
/// built from it), the time, id generation and the paging query.
pub(crate) struct Ctx<'a> {
    pub az: &'a AzureEmulator,
    pub base: String,
    pub now: i64,
    pub query: HashMap<String, String>,
    pub record: &'a mut Record,
}

impl Ctx<'_> {
    pub fn new_version_id(&self) -> String {
        self.az.core.ids.uuid().replace('-', "")
    }
}

/// `Host` without the port, lowercase, and the port if one was given.
fn split_host(headers: &HeaderMap, uri: &Uri) -> (String, String, Option<u16>) {
    let raw = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let (host, port) = if let Some(rest) = raw.strip_prefix('[') {
        // [::1]:8443
        let (h, p) = rest.split_once(']').unwrap_or((rest, ""));
        (
            h.to_owned(),
            p.strip_prefix(':').and_then(|p| p.parse().ok()),
        )
    } else {
        match raw.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => (h.to_owned(), p.parse().ok()),
            _ => (raw.clone(), None),
        }
    };
    (raw, host.to_ascii_lowercase(), port)
}

fn is_loopback_name(host: &str) -> bool {
    host == "localhost" || host == "::1" || host.parse::<std::net::Ipv4Addr>().is_ok()
}

pub(crate) async fn front(
    State(az): State<Arc<AzureEmulator>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (raw_host, host, port) = split_host(&headers, &uri);
    let path = uri.path();
    let vault_host = {
        let state = az.read();
        if state.vaults.contains_key(&host) {
            Some(host.clone())
        } else if route::is_keyvault_path(path) && is_loopback_name(&host) {
            Some(state.dev_vault_host())
        } else if route::is_keyvault_path(path)
            && host.contains('.')
            && super::is_vault_suffix(&state, &host)
        {
            // Under a vault suffix but no such vault: real DNS would not resolve it; say so.
            return kv_response(
                &KvError::new(
                    StatusCode::NOT_FOUND,
                    "VaultNotFound",
                    format!("No vault is served at {host} (create it by seed or admin API)."),
                ),
                "",
            );
        } else {
            None
        }
    };
    match vault_host {
        Some(vault_host) => {
            keyvault(
                &az,
                &vault_host,
                &raw_host,
                port,
                method,
                &uri,
                &headers,
                body,
            )
            .await
        }
        None => entra::handle(&az, &raw_host, port, method, &uri, &headers, body).await,
    }
}

pub(crate) fn kv_response(err: &KvError, request_id: &str) -> Response {
    json_response(err.status, Some(&err.body()), request_id)
}

fn json_response(
    status: StatusCode,
    body: Option<&serde_json::Value>,
    request_id: &str,
) -> Response {
    let mut response = match body {
        Some(b) => (status, serde_json::to_vec(b).unwrap_or_default()).into_response(),
        None => status.into_response(),
    };
    let h = response.headers_mut();
    if body.is_some() {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-ms-request-id", v);
    }
    h.insert(
        "x-ms-keyvault-service-version",
        HeaderValue::from_static("1.9.0.0"),
    );
    response
}

/// The api-versions of Key Vault's data plane (the REST API specs,
/// `specification/keyvault/data-plane/Microsoft.KeyVault/{stable,preview}/<version>`), plus the
/// preview the Rust SDK's main branch sends, and 2026-04-01, the default of the Python SDKs
/// azure-keyvault-secrets and azure-keyvault-certificates 4.12.0. Key Vault refuses any other.
pub(crate) const API_VERSIONS: [&str; 23] = [
    "2015-06-01",
    "2016-10-01",
    "7.0",
    "7.0-preview",
    "7.1",
    "7.1-preview",
    "7.2",
    "7.2-preview",
    "7.3",
    "7.3-preview",
    "7.4",
    "7.4-preview.1",
    "7.5",
    "7.5-preview.1",
    "7.6",
    "7.6-preview.1",
    "7.6-preview.2",
    "2025-06-01-preview",
    "2025-07-01",
    "2025-07-01-preview",
    "2026-01-01-preview",
    "2026-03-01-preview",
    "2026-04-01",
];

/// The newest stable api-version, which Key Vault names when it refuses an unknown one.
const LATEST_API_VERSION: &str = "2026-04-01";

pub(crate) fn api_version_ok(v: &str) -> bool {
    API_VERSIONS.contains(&v)
}

#[allow(clippy::too_many_arguments)]
async fn keyvault(
    az: &AzureEmulator,
    vault_host: &str,
    raw_host: &str,
    port: Option<u16>,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let request_id = az.core.request_id();
    let route = route::parse(&method, uri.path());
    let mut record = Record::new("keyvault", route.op);
    let vault_name = vault_host.split('.').next().unwrap_or_default();
    record.key("vault", vault_name);
    // Each vault is a tenant; the dev vault is the default one.
    record.tenant = Some(RequestTenant::new(
        "azure",
        vault_name,
        vault_name == super::state::DEV_VAULT,
    ));
    if let Some(name) = &route.name {
        record.key("name", name.clone());
    }
    if let Some(version) = route.version.as_deref().filter(|v| !v.is_empty()) {
        record.key("version", version);
    }
    let (result, challenge) = serve(
        az,
        vault_host,
        raw_host,
        port,
        &route,
        uri,
        headers,
        body,
        &mut record,
    )
    .await;
    let (status, error, mut response) = match result {
        Ok(outcome) => (outcome.status, None, {
            let mut response = json_response(outcome.status, outcome.body.as_ref(), &request_id);
            if let Some(Ok(location)) = outcome.poll_at.as_deref().map(HeaderValue::from_str) {
                let h = response.headers_mut();
                h.insert(header::LOCATION, location);
                // The emulator finishes at once: the next poll already finds it done.
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("0"));
            }
            response
        }),
        Err(err) => (
            err.status,
            Some(err.code.clone()),
            kv_response(&err, &request_id),
        ),
    };
    if status == StatusCode::METHOD_NOT_ALLOWED
        && let Ok(allow) = HeaderValue::from_str(&route.allow.join(", "))
    {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    if let Some(challenge) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
    }
    az.core
        .journal_request(record, started, status.as_u16(), error);
    response
}

/// Reads a body under [`MAX_BODY_BYTES`] and the core's read timeout.
pub(crate) async fn read_body(
    az: &AzureEmulator,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, KvError> {
    use crate::core::body::{BodyError, read_limited};
    read_limited(&az.core, headers, body, MAX_BODY_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge(limit) => KvError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!("The request body is larger than the limit of {limit} bytes."),
            ),
            BodyError::TimedOut(_) => KvError::new(
                StatusCode::REQUEST_TIMEOUT,
                "RequestTimeout",
                "The request body was not received within the timeout period.",
            ),
            BodyError::ShuttingDown => KvError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "The service is shutting down.",
            ),
            BodyError::Unreadable(why) => {
                KvError::bad_parameter(format!("Cannot read the request body: {why}"))
            }
        })
}

/// The challenge for this vault as seen through the request's host and port.
fn challenge_for(login_host: Option<&str>, vault: &Vault, port: Option<u16>) -> (String, String) {
    let port_part = match port {
        Some(p) if p != 443 => format!(":{p}"),
        _ => String::new(),
    };
    let authority = vault.authority.clone().unwrap_or_else(|| {
        let login = login_host.unwrap_or("localhost");
        format!("https://{login}{port_part}/{}", vault.tenant_id)
    });
    let resource = format!("https://{}{port_part}", vault.suffix);
    (authority, resource)
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    az: &AzureEmulator,
    vault_host: &str,
    raw_host: &str,
    port: Option<u16>,
    route: &Route,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
    record: &mut Record,
) -> (OpResult, Option<String>) {
    // Authentication comes before anything else, as in Key Vault: a client's first request is
    // sent without a token precisely to get the challenge.
    let (challenge, vault_suffix, vault_tenant) = {
        let state = az.read();
        let Some(vault) = state.vaults.get(vault_host) else {
            return (Err(KvError::internal()), None);
        };
        let (authority, resource) = challenge_for(state.login_host.as_deref(), vault, port);
        (
            auth::challenge(&authority, &resource),
            vault.suffix.clone(),
            vault.tenant_id.clone(),
        )
    };
    let unauthorized = |message: &str| {
        (
            Err(KvError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                message,
            )),
            Some(challenge.clone()),
        )
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = token else {
        return unauthorized("AKV10000: Request is missing a Bearer or PoP token.");
    };
    let claims = match az.signer.verify(token) {
        Ok(c) => c,
        Err(e) => return unauthorized(&format!("AKV10020: Invalid token: {e}.")),
    };
    let now = az.core.clock.now().unix_timestamp();
    if claims.exp <= now {
        return unauthorized("AKV10020: Invalid token: the token is expired.");
    }
    if audience_host(&claims.aud) != vault_suffix {
        return unauthorized(&format!(
            "AKV10022: Invalid audience. Expected https://{vault_suffix}, found: {}.",
            claims.aud
        ));
    }
    if !claims.tid.eq_ignore_ascii_case(&vault_tenant) {
        return unauthorized(&format!(
            "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{vault_tenant}/, found https://sts.windows.net/{}/.",
            claims.tid
        ));
    }
    record.identity = Some(claims.appid.clone());

    let query: HashMap<String, String> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    match query.get("api-version") {
        None => {
            return (
                Err(KvError::bad_parameter(
                    "The request URI must contain an 'api-version' query parameter.",
                )),
                None,
            );
        }
        Some(v) if !api_version_ok(v) => {
            return (
                Err(KvError::bad_parameter(format!(
                    "The specified version ({v}) is not recognized. Consider using the latest supported version ({LATEST_API_VERSION})."
                ))),
                None,
            );
        }
        Some(_) => {}
    }

    let tenant = record.tenant.as_ref().map(|t| t.id.clone());
    if let Some(injected) = az
        .core
        .inject_faults(
            "keyvault",
            route.op,
            None,
            Scope::Request(tenant.as_deref()),
        )
        .await
    {
        return (
            Err(KvError::new(
                injected.status_code(),
                injected.code,
                injected.message,
            )),
            None,
        );
    }

    let bytes = match read_body(az, headers, body).await {
        Ok(b) => b,
        Err(e) => return (Err(e), None),
    };
    let input = if route.writes && !bytes.is_empty() {
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) if v.is_object() => Some(v),
            Ok(_) => {
                return (
                    Err(KvError::bad_parameter(
                        "The request body must be a JSON object.",
                    )),
                    None,
                );
            }
            Err(e) => {
                return (
                    Err(KvError::bad_parameter(format!(
                        "The request body is not valid JSON: {e}"
                    ))),
                    None,
                );
            }
        }
    } else {
        None
    };

    let principal = [claims.oid.as_str(), claims.appid.as_str()];
    let mut ctx = Ctx {
        az,
        base: format!("https://{raw_host}"),
        now,
        query,
        record,
    };
    // Handlers are synchronous and hold the lock only for their own duration. A panic is a bug,
    // but it must still produce a well-formed 500 rather than a dropped connection.
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        if route.writes {
            let mut state = az.write();
            let vault = state
                .vaults
                .get_mut(vault_host)
                .ok_or_else(KvError::internal)?;
            authorize(vault, &principal, route, &claims)?;
            objects::write(&mut ctx, vault, route, input)
        } else {
            let state = az.read();
            let vault = state.vaults.get(vault_host).ok_or_else(KvError::internal)?;
            authorize(vault, &principal, route, &claims)?;
            objects::read(&mut ctx, vault, route)
        }
    }))
    .unwrap_or_else(|_| {
        tracing::error!(operation = route.op, "handler panicked");
        Err(KvError::internal())
    });
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => return (Err(e), None),
    };
    if outcome.mutated
        && let Err(e) = az.state.persister().commit().await
    {
        tracing::error!(error = %e, "cannot persist state");
        return (Err(KvError::internal()), None);
    }
    (Ok(outcome), None)
}

fn authorize(
    vault: &Vault,
    principal: &[&str],
    route: &Route,
    claims: &auth::Claims,
) -> Result<(), KvError> {
    let Some(kind) = route.kind else {
        return Ok(());
    };
    if vault.allows(principal, kind, route.permission) {
        return Ok(());
    }
    Err(KvError::new(
        StatusCode::FORBIDDEN,
        "Forbidden",
        format!(
            "The user, group or application 'appid={};oid={};iss={}' does not have {} {} permission on key vault '{};location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
            claims.appid,
            claims.oid,
            claims.iss,
            kind.collection(),
            route.permission,
            vault.name
        ),
    )
    .with_inner("AccessDenied"))
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed expectation is the test failing
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        for ok in [
            "7.4",
            "7.6-preview.2",
            "2016-10-01",
            "2025-07-01",
            "2026-03-01-preview",
            "2026-04-01",
        ] {
            assert!(api_version_ok(ok), "{ok}");
        }
        for bad in [
            "",
            "banana",
            "7",
            "7.44",
            "7.9",
            "1.0",
            "2015-01-01",
            "2025-7-01",
            "9999-99-99",
            "2024-01-01",
        ] {
            assert!(!api_version_ok(bad), "{bad}");
        }
    }

    #[test]
    fn hosts_split_into_name_and_port() {
        let mut h = HeaderMap::new();
        h.insert(
            header::HOST,
            HeaderValue::from_static("Dev.Vault.Localhost:8443"),
        );
        let (raw, host, port) = split_host(&h, &Uri::from_static("/"));
        assert_eq!(
            (raw.as_str(), host.as_str(), port),
            (
                "Dev.Vault.Localhost:8443",
                "dev.vault.localhost",
                Some(8443)
            )
        );
        h.insert(header::HOST, HeaderValue::from_static("[::1]:9"));
        assert_eq!(split_host(&h, &Uri::from_static("/")).1, "::1");
        assert!(is_loopback_name("127.0.0.1") && !is_loopback_name("dev.vault.localhost"));
    }
}
