//! Entra ID (and AD FS) endpoints the SDKs and the Azure provider call: the token endpoint
//! (client secret and client assertion), OpenID discovery documents, instance discovery and the
//! signing keys. Errors use Entra's OAuth shape: `{"error","error_description","error_codes"}`.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Instant;

use super::AzureEmulator;
use super::auth::{Claims, TOKEN_LIFETIME_SECONDS};
use super::http::read_body;
use super::state::{AzureState, Principal};
use crate::core::journal::Record;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Debug)]
struct EntraError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    description: String,
}

impl EntraError {
    fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error,
            code,
            description: description.into(),
        }
    }

    fn response(&self, request_id: &str) -> Response {
        let body = json!({
            "error": self.error,
            "error_description": format!("AADSTS{}: {}", self.code, self.description),
            "error_codes": [self.code],
            "trace_id": request_id,
            "correlation_id": request_id,
        });
        json(self.status, &body)
    }
}

fn json(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, serde_json::to_vec(body).unwrap_or_default()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    r
}

enum Endpoint {
    Token { tenant: String },
    OpenId { tenant: String, adfs: bool },
    InstanceDiscovery,
    Keys,
    Unknown,
}

fn classify(method: &Method, path: &str) -> Endpoint {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let tenant = segs.first().map(|s| (*s).to_owned()).unwrap_or_default();
    let post = *method == Method::POST;
    let get = *method == Method::GET;
    match segs.as_slice() {
        [_, "oauth2", "v2.0", "token"] | [_, "oauth2", "token"] if post => {
            Endpoint::Token { tenant }
        }
        ["adfs", ".well-known", "openid-configuration"] if get => {
            Endpoint::OpenId { tenant, adfs: true }
        }
        [_, "v2.0", ".well-known", "openid-configuration"]
        | [_, ".well-known", "openid-configuration"]
            if get =>
        {
            Endpoint::OpenId {
                tenant,
                adfs: false,
            }
        }
        [_, "discovery", "instance"] if get => Endpoint::InstanceDiscovery,
        [_, "discovery", "v2.0", "keys"] | [_, "discovery", "keys"] if get => Endpoint::Keys,
        _ => Endpoint::Unknown,
    }
}

pub(crate) async fn handle(
    az: &AzureEmulator,
    raw_host: &str,
    _port: Option<u16>,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let request_id = az.core.request_id();
    let endpoint = classify(&method, uri.path());
    let op = match &endpoint {
        Endpoint::Token { .. } => "Token",
        Endpoint::OpenId { .. } => "OpenIdConfiguration",
        Endpoint::InstanceDiscovery => "InstanceDiscovery",
        Endpoint::Keys => "Keys",
        Endpoint::Unknown => "Unknown",
    };
    let mut record = Record::new("entra", op);
    let query: HashMap<String, String> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let result = serve(
        az,
        raw_host,
        endpoint,
        &query,
        headers,
        body,
        &mut record,
        op,
    )
    .await;
    let (status, error, response) = match result {
        Ok(v) => (StatusCode::OK, None, json(StatusCode::OK, &v)),
        Err(e) => (e.status, Some(e.error.to_owned()), e.response(&request_id)),
    };
    az.core
        .journal_request(record, started, status.as_u16(), error);
    response
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    az: &AzureEmulator,
    host: &str,
    endpoint: Endpoint,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Body,
    record: &mut Record,
    op: &str,
) -> Result<Value, EntraError> {
    if let Some(injected) = az
        .core
        .inject_faults("entra", op, None, crate::core::faults::Scope::Request(None))
        .await
    {
        return Err(EntraError {
            status: injected.status_code(),
            error: "temporarily_unavailable",
            code: 0,
            description: format!("{}: {}", injected.code, injected.message),
        });
    }
    match endpoint {
        Endpoint::OpenId { tenant, adfs } => Ok(openid(host, &tenant, adfs)),
        Endpoint::InstanceDiscovery => Ok(instance_discovery(host, query)),
        Endpoint::Keys => Ok(json!({ "keys": [az.signer.jwk.clone()] })),
        Endpoint::Token { tenant } => {
            record.key("tenant", tenant.clone());
            let bytes = read_body(az, headers, body)
                .await
                .map_err(|e| EntraError::new(e.status, "invalid_request", 900144, e.message))?;
            let form: HashMap<String, String> =
                serde_urlencoded::from_bytes(&bytes).map_err(|_| {
                    EntraError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        900144,
                        "The request body must be application/x-www-form-urlencoded.",
                    )
                })?;
            if let Some(client) = form.get("client_id") {
                record.identity = Some(client.clone());
            }
            // Which credential the client presented, so a journal shows e.g. that a workload
            // identity mount really exchanged a service-account token.
            let grant = if form.contains_key("client_secret") {
                "client_secret"
            } else if form.contains_key("client_assertion") {
                "client_assertion"
            } else {
                "none"
            };
            record.key("grant", grant);
            let now = az.core.clock.now().unix_timestamp();
            let claims = {
                let state = az.read();
                token_claims(&state, host, &tenant, &form, now)?
            };
            let token = az.signer.issue(&claims).map_err(|e| {
                tracing::error!(error = %e, "cannot sign token");
                EntraError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    0,
                    "token signing failed",
                )
            })?;
            Ok(json!({
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECONDS,
                "ext_expires_in": TOKEN_LIFETIME_SECONDS,
                "access_token": token,
            }))
        }
        Endpoint::Unknown => Err(EntraError::new(
            StatusCode::NOT_FOUND,
            "invalid_request",
            90002,
            "This endpoint is not served by the emulator's Entra ID.",
        )),
    }
}

fn openid(host: &str, tenant: &str, adfs: bool) -> Value {
    let base = format!("https://{host}/{tenant}");
    if adfs {
        return json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/oauth2/authorize"),
            "token_endpoint": format!("{base}/oauth2/token"),
            "jwks_uri": format!("{base}/discovery/keys"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt"],
            "response_types_supported": ["code", "id_token", "code id_token", "token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
        });
    }
    json!({
        "issuer": format!("{base}/v2.0"),
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "jwks_uri": format!("https://{host}/{tenant}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
        "tenant_region_scope": null,
        "cloud_instance_name": host,
        "cloud_graph_host_name": host,
        "msgraph_host": host,
        "rbac_url": format!("https://{host}"),
    })
}

fn instance_discovery(host: &str, query: &HashMap<String, String>) -> Value {
    // authorization_endpoint=https://{authority host}/{tenant}/oauth2/v2.0/authorize
    let (auth_host, tenant) = query
        .get("authorization_endpoint")
        .and_then(|e| e.strip_prefix("https://"))
        .map(|rest| {
            let mut parts = rest.split('/');
            let h = parts.next().unwrap_or(host).to_owned();
            let t = parts.next().unwrap_or("common").to_owned();
            (h, t)
        })
        .unwrap_or_else(|| (host.to_owned(), "common".to_owned()));
    json!({
        "tenant_discovery_endpoint": format!("https://{auth_host}/{tenant}/v2.0/.well-known/openid-configuration"),
        "api-version": "1.1",
        "metadata": [{
            "preferred_network": auth_host,
            "preferred_cache": auth_host,
            "aliases": [auth_host],
        }],
    })
}

fn bad_request(error: &'static str, code: u32, description: impl Into<String>) -> EntraError {
    EntraError::new(StatusCode::BAD_REQUEST, error, code, description)
}

fn unauthorized(code: u32, description: impl Into<String>) -> EntraError {
    EntraError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        code,
        description,
    )
}

/// Checks a client-credentials request and returns the access token's claims.
fn token_claims(
    state: &AzureState,
    host: &str,
    tenant: &str,
    form: &HashMap<String, String>,
    now: i64,
) -> Result<Claims, EntraError> {
    let adfs = tenant.eq_ignore_ascii_case("adfs");
    let grant = form
        .get("grant_type")
        .map(String::as_str)
        .unwrap_or_default();
    if grant != "client_credentials" {
        return Err(bad_request(
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        ));
    }
    let client_id = form.get("client_id").ok_or_else(|| {
        bad_request(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )
    })?;
    // v2 sends `scope` (`https://vault.azure.net/.default openid ...`); v1 and AD FS `resource`.
    let resource = form
        .get("scope")
        .and_then(|s| {
            s.split_whitespace()
                .find_map(|s| s.strip_suffix("/.default"))
        })
        .map(str::to_owned)
        .or_else(|| form.get("resource").cloned())
        .ok_or_else(|| {
            bad_request(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            )
        })?;
    if !adfs && !state.knows_tenant(tenant) {
        return Err(bad_request(
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        ));
    }
    let principal: &Principal = state
        .principals
        .get(client_id)
        .filter(|p| adfs || p.tenant_id.eq_ignore_ascii_case(tenant))
        .ok_or_else(|| {
            bad_request(
                "unauthorized_client",
                700016,
                format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."),
            )
        })?;
    match (form.get("client_secret"), form.get("client_assertion")) {
        (Some(secret), _) => {
            if principal.client_secret.as_deref() != Some(secret.as_str()) {
                return Err(unauthorized(
                    7000215,
                    format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                    ),
                ));
            }
        }
        (None, Some(assertion)) => {
            if form.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE) {
                return Err(bad_request(
                    "invalid_request",
                    90014,
                    "The request body must contain the following parameter: 'client_assertion_type'.",
                ));
            }
            check_assertion(principal, assertion, now)?;
        }
        (None, None) => {
            return Err(unauthorized(
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
            ));
        }
    }
    let iss = if adfs {
        format!("https://{host}/adfs")
    } else {
        format!("https://{host}/{tenant}/v2.0")
    };
    // Key Vault tokens carry the resource without a trailing slash.
    let aud = resource.trim_end_matches('/').to_owned();
    Ok(Claims {
        aud,
        iss,
        tid: principal.tenant_id.clone(),
        oid: principal.object_id.clone(),
        appid: principal.client_id.clone(),
        azp: principal.client_id.clone(),
        sub: principal.object_id.clone(),
        iat: now,
        nbf: now,
        exp: now + TOKEN_LIFETIME_SECONDS + 1,
        ver: "2.0".to_owned(),
    })
}

/// A federated credential (workload identity): the assertion is a Kubernetes service-account
/// token. Its issuer, subject and audience must match one of the principal's federated
/// credentials and it must be within its lifetime. Its signature is not checked: the emulator
/// does not fetch the cluster's keys.
fn check_assertion(principal: &Principal, assertion: &str, now: i64) -> Result<(), EntraError> {
    let payload = assertion
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .ok_or_else(|| unauthorized(50027, "JWT token is invalid or malformed."))?;
    let iss = payload["iss"].as_str().unwrap_or_default();
    let sub = payload["sub"].as_str().unwrap_or_default();
    let auds: Vec<&str> = match &payload["aud"] {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if let Some(exp) = payload["exp"].as_i64()
        && exp <= now
    {
        return Err(unauthorized(
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    let by_issuer: Vec<_> = principal
        .federated_credentials
        .iter()
        .filter(|f| f.issuer == iss)
        .collect();
    if by_issuer.is_empty() {
        return Err(unauthorized(
            700211,
            format!(
                "No matching federated identity record found for presented assertion issuer '{iss}'."
            ),
        ));
    }
    let by_subject: Vec<_> = by_issuer.into_iter().filter(|f| f.subject == sub).collect();
    if by_subject.is_empty() {
        return Err(unauthorized(
            700213,
            format!(
                "No matching federated identity record found for presented assertion subject '{sub}'."
            ),
        ));
    }
    if !by_subject
        .iter()
        .any(|f| f.audiences.iter().any(|a| auds.contains(&a.as_str())))
    {
        return Err(unauthorized(
            700212,
            format!(
                "No matching federated identity record found for presented assertion audience '{}'.",
                auds.join(",")
            ),
        ));
    }
    Ok(())
}
