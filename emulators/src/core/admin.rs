//! The admin API, served under [`ADMIN_PREFIX`](super::ADMIN_PREFIX) on every listener: journal,
//! fault rules, clock, seeding, state dump and reset. Errors are `{"error": "..."}` with a 4xx.
//!
//! `?tenant=<service>/<name>` scopes the journal, fault rules, seed, state and reset to one tenant
//! ([`super::tenant`]); without it they act on everything, as they always did. `/tenants` lists,
//! creates and removes tenants. The clock stays one for all.
//!
//! It reads every secret and can turn authorization off, and in the bench every pod reaches the
//! listeners, so it takes a token (`Authorization: Bearer <token>`): one made at start and named
//! in the ready line, unless the operator opens it explicitly ([`AdminAccess::Open`]). A request
//! without it is refused in the listener's own service's error shape ([`Service::refuse_admin`]).

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

use super::body::{BodyError, read_limited};
use super::faults::RuleSpec;
use super::journal;
use super::tenant::{TenantError, TenantId, owner_of};
use super::{Core, Service, seed};

/// Largest admin request body (seed documents are the big ones).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Who may use the admin API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AdminAccess {
    /// A token drawn at start from the operating system's randomness, named in the ready line.
    #[default]
    Generated,
    /// This token.
    Token(String),
    /// No token: anything that reaches a listener may read and change everything. Local use only.
    Open,
}

impl AdminAccess {
    /// The token requests must carry (drawn now for [`AdminAccess::Generated`]), or `None` when
    /// the API is open.
    pub fn into_token(self) -> Option<String> {
        match self {
            Self::Generated => {
                use rand::Rng;
                let bytes: [u8; 32] = rand::rng().random();
                Some(hex::encode(bytes))
            }
            Self::Token(t) => Some(t),
            Self::Open => None,
        }
    }
}

/// Wraps `admin` so that only requests carrying `token` reach it; the others get `refuse`'s
/// answer (the listener's service's error shape). With no token, `admin` is returned as it is.
pub fn guard(admin: Router, token: Option<&str>, service: Arc<dyn Service>) -> Router {
    let Some(token) = token else {
        return admin;
    };
    let expected: Arc<str> = Arc::from(format!("Bearer {token}"));
    admin.layer(axum::middleware::from_fn(move |req: Request, next: Next| {
        let expected = Arc::clone(&expected);
        let service = Arc::clone(&service);
        async move {
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes().to_vec());
            match given {
                Some(g) if same(&g, expected.as_bytes()) => next.run(req).await,
                Some(_) => service.refuse_admin("The secretbench admin token is not valid."),
                None => service.refuse_admin(
                    "The secretbench admin API needs the admin token: send 'Authorization: Bearer <adminToken from the ready line>'.",
                ),
            }
        }
    }))
}

/// Compares without stopping at the first difference, so timing does not leak the token.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Clone)]
struct Admin {
    core: Arc<Core>,
    services: Arc<Vec<Arc<dyn Service>>>,
}

pub fn router(core: Arc<Core>, services: Vec<Arc<dyn Service>>) -> Router {
    let state = Admin {
        core,
        services: Arc::new(services),
    };
    Router::new()
        .route("/health", get(health))
        .route("/journal", get(journal_query).delete(journal_clear))
        .route(
            "/faults",
            get(faults_list).post(faults_add).delete(faults_clear),
        )
        .route("/faults/{id}", delete(faults_remove))
        .route("/clock", get(clock_get).post(clock_set))
        .route("/seed", post(seed_apply))
        .route("/state", get(state_dump))
        .route("/reset", post(reset))
        .route("/tenants", get(tenants_list))
        .route(
            "/tenants/{*id}",
            delete(tenant_drop).put(tenant_create).get(tenant_get),
        )
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such admin endpoint") })
        .with_state(state)
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, axum::Json(json!({ "error": message.to_string() }))).into_response()
}

/// `?tenant=` on the endpoints that take it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantQuery {
    tenant: Option<String>,
}

/// A tenant named by the admin API, resolved against the running services.
struct Scoped {
    id: TenantId,
    service: Arc<dyn Service>,
}

impl Scoped {
    fn key(&self) -> String {
        self.id.to_string()
    }
}

fn tenant_error(e: &TenantError) -> Response {
    let status = match e {
        TenantError::NotFound(_) | TenantError::NotRunning(_) => StatusCode::NOT_FOUND,
        TenantError::Default(_) => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    error(status, e)
}

/// Parses `<service>/<name>` and puts the name in the service's canonical form.
fn resolve(a: &Admin, raw: &str) -> Result<Scoped, TenantError> {
    let id: TenantId = raw.parse()?;
    let service = a
        .services
        .iter()
        .find(|s| s.name() == id.service)
        .ok_or_else(|| TenantError::NotRunning(id.service.clone()))?;
    let name = service.tenant_name(&id.name)?;
    Ok(Scoped {
        id: TenantId::new(service.name(), name),
        service: Arc::clone(service),
    })
}

#[allow(clippy::result_large_err)] // The error is the finished response; boxing it buys nothing here.
fn scope(
    a: &Admin,
    q: Result<Query<TenantQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Option<Scoped>, Response> {
    let Query(q) = q.map_err(|e| error(StatusCode::BAD_REQUEST, e.body_text()))?;
    q.tenant
        .map(|raw| resolve(a, &raw))
        .transpose()
        .map_err(|e| tenant_error(&e))
}

/// Reads an admin request's body with the same limits every service applies.
#[allow(clippy::result_large_err)] // The error is the finished response; boxing it buys nothing here.
async fn read_body(core: &Core, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    read_limited(core, headers, body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let status = match e {
                BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                BodyError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
                BodyError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
                BodyError::Unreadable(_) => StatusCode::BAD_REQUEST,
            };
            error(status, e)
        })
}

#[allow(clippy::result_large_err)] // The error is the finished response; boxing it buys nothing here.
fn parse_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("invalid request body: {e}"),
        )
    })
}

async fn health(State(a): State<Admin>) -> Response {
    let services: Vec<&str> = a.services.iter().map(|s| s.name()).collect();
    axum::Json(
        json!({ "status": "ok", "services": services, "deterministic": a.core.is_deterministic() }),
    )
    .into_response()
}

async fn journal_query(
    State(a): State<Admin>,
    q: Result<Query<journal::Query>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match q {
        Ok(Query(mut q)) => {
            // The tenant in its canonical form, so `azure/Case-1` finds `azure/case-1`'s entries.
            if let Some(raw) = q.tenant.take() {
                match resolve(&a, &raw) {
                    Ok(scoped) => q.tenant = Some(scoped.key()),
                    Err(e) => return tenant_error(&e),
                }
            }
            axum::Json(json!({ "entries": a.core.journal.query(&q) })).into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, e.body_text()),
    }
}

async fn journal_clear(
    State(a): State<Admin>,
    q: Result<Query<TenantQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match scope(&a, q) {
        Ok(Some(t)) => a.core.journal.clear_tenant(&t.key()),
        Ok(None) => a.core.journal.clear(),
        Err(r) => return r,
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn faults_list(
    State(a): State<Admin>,
    q: Result<Query<TenantQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let tenant = match scope(&a, q) {
        Ok(t) => t.map(|t| t.key()),
        Err(r) => return r,
    };
    axum::Json(json!({ "rules": a.core.faults.list(tenant.as_deref()) })).into_response()
}

async fn faults_add(
    State(a): State<Admin>,
    q: Result<Query<TenantQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let from_query = match scope(&a, q) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let body = match read_body(&a.core, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut spec: RuleSpec = match parse_json(&body) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let from_body = match spec
        .tenant
        .as_deref()
        .map(|raw| resolve(&a, raw))
        .transpose()
    {
        Ok(t) => t,
        Err(e) => return tenant_error(&e),
    };
    let tenant = match (from_query, from_body) {
        (Some(q), Some(b)) if q.id != b.id => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the rule's tenant {} differs from ?tenant={}", b.id, q.id),
            );
        }
        (q, b) => q.or(b),
    };
    if let Some(t) = &tenant {
        // A rule for requests of another emulator than its tenant's would never fire: say so
        // rather than let a scenario pass for the wrong reason.
        if owner_of(&spec.service) != Some(t.service.name()) {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "a rule for service '{}' never sees requests of tenant {}",
                    spec.service, t.id
                ),
            );
        }
    }
    spec.tenant = tenant.map(|t| t.key());
    match a.core.faults.add(spec) {
        Ok(id) => (StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

async fn faults_clear(
    State(a): State<Admin>,
    q: Result<Query<TenantQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match scope(&a, q) {
        Ok(Some(t)) => a.core.faults.clear_tenant(&t.key()),
        Ok(None) => a.core.faults.clear(),
        Err(r) => return r,
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn faults_remove(State(a): State<Admin>, Path(id): Path<String>) -> Response {
    match id.parse::<u64>() {
        Ok(id) if a.core.faults.remove(id) => StatusCode::NO_CONTENT.into_response(),
        _ => error(StatusCode::NOT_FOUND, format!("no fault rule {id}")),
    }
}

fn clock_view(core: &Core) -> Response {
    axum::Json(json!({
        "now": super::clock::rfc3339(core.clock.peek()),
        "deterministic": core.is_deterministic(),
    }))
    .into_response()
}

async fn clock_get(State(a): State<Admin>) -> Response {
    clock_view(&a.core)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockChange {
    advance_seconds: Option<i64>,
    set: Option<String>,
}

async fn clock_set(State(a): State<Admin>, headers: HeaderMap, body: Body) -> Response {
    let body = match read_body(&a.core, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let change: ClockChange = match parse_json(&body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let moved = match (change.advance_seconds, change.set) {
        (Some(s), None) if s >= 0 => a.core.clock.advance(time::Duration::seconds(s)),
        (None, Some(t)) => {
            let Ok(to) =
                time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
            else {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("'{t}' is not an RFC 3339 time"),
                );
            };
            a.core.clock.set(to)
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "give exactly one of advanceSeconds (>= 0) or set",
            );
        }
    };
    match moved {
        Ok(()) => clock_view(&a.core),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

async fn seed_apply(
    State(a): State<Admin>,
    q: Result<Query<TenantQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let tenant = match scope(&a, q) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let body = match read_body(&a.core, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let text = match std::str::from_utf8(&body) {
        Ok(t) => t,
        Err(_) => return error(StatusCode::BAD_REQUEST, "seed document is not UTF-8"),
    };
    let doc = match seed::parse(text) {
        Ok(d) => d,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    if let Some(tenant) = tenant {
        return match seed_tenant(&tenant, doc).await {
            Ok(applied) => {
                axum::Json(json!({ "applied": applied, "tenant": tenant.key() })).into_response()
            }
            Err(SeedTenantError::Tenant(e)) => tenant_error(&e),
            Err(SeedTenantError::Persist(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
        };
    }
    match apply_seed(&a.services, doc).await {
        Ok(applied) => axum::Json(json!({ "applied": applied })).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

#[derive(Debug, thiserror::Error)]
enum SeedTenantError {
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error(transparent)]
    Persist(#[from] super::persist::PersistError),
}

/// A seed for one tenant: only its service's section, applied inside that tenant.
async fn seed_tenant(tenant: &Scoped, doc: seed::Document) -> Result<Vec<String>, SeedTenantError> {
    let mut applied = Vec::new();
    for (name, section) in doc {
        if name != tenant.id.service {
            return Err(TenantError::ForeignSection {
                tenant: tenant.id.clone(),
                section: name,
            }
            .into());
        }
        tenant.service.seed_tenant(&tenant.id.name, section)?;
        tenant.service.persister().commit().await?;
        applied.push(name);
    }
    Ok(applied)
}

/// Applies each section to its service; a section for a service that is not running is an error,
/// because silently dropping seeded secrets would make a scenario pass for the wrong reason.
pub async fn apply_seed(
    services: &[Arc<dyn Service>],
    doc: seed::Document,
) -> Result<Vec<String>, anyhow::Error> {
    let mut applied = Vec::new();
    for (name, section) in doc {
        let service = services.iter().find(|s| s.name() == name).ok_or_else(|| {
            anyhow::anyhow!("seed has a '{name}' section but the {name} emulator is not running")
        })?;
        service.seed(section)?;
        service.persister().commit().await?;
        applied.push(name);
    }
    Ok(applied)
}

async fn state_dump(
    State(a): State<Admin>,
    q: Result<Query<TenantQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match scope(&a, q) {
        Ok(Some(t)) => {
            return match t.service.dump_tenant(&t.id.name) {
                Ok(v) => axum::Json(v).into_response(),
                Err(e) => tenant_error(&e),
            };
        }
        Ok(None) => {}
        Err(r) => return r,
    }
    let dump: serde_json::Map<String, serde_json::Value> = a
        .services
        .iter()
        .map(|s| (s.name().to_owned(), s.dump()))
        .collect();
    axum::Json(dump).into_response()
}

async fn reset(
    State(a): State<Admin>,
    q: Result<Query<TenantQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match scope(&a, q) {
        Ok(Some(t)) => {
            return forget(&a, &t, t.service.reset_tenant(&t.id.name)).await;
        }
        Ok(None) => {}
        Err(r) => return r,
    }
    for service in a.services.iter() {
        service.reset();
        if let Err(e) = service.persister().commit().await {
            return error(StatusCode::INTERNAL_SERVER_ERROR, e);
        }
    }
    a.core.journal.clear();
    a.core.faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// After a tenant was reset or dropped (`changed`): persists the change and forgets the tenant's
/// journal entries and fault rules.
async fn forget(a: &Admin, t: &Scoped, changed: Result<(), TenantError>) -> Response {
    if let Err(e) = changed {
        return tenant_error(&e);
    }
    if let Err(e) = t.service.persister().commit().await {
        return error(StatusCode::INTERNAL_SERVER_ERROR, e);
    }
    a.core.journal.clear_tenant(&t.key());
    a.core.faults.clear_tenant(&t.key());
    tracing::debug!(tenant = %t.id, "tenant state forgotten");
    StatusCode::NO_CONTENT.into_response()
}

async fn tenants_list(State(a): State<Admin>) -> Response {
    let tenants: Vec<_> = a.services.iter().flat_map(|s| s.tenants()).collect();
    axum::Json(json!({ "tenants": tenants })).into_response()
}

async fn tenant_get(State(a): State<Admin>, Path(id): Path<String>) -> Response {
    let t = match resolve(&a, &id) {
        Ok(t) => t,
        Err(e) => return tenant_error(&e),
    };
    match t
        .service
        .tenants()
        .into_iter()
        .find(|v| v.name == t.id.name)
    {
        Some(view) => axum::Json(view).into_response(),
        None => tenant_error(&TenantError::NotFound(t.id)),
    }
}

async fn tenant_create(State(a): State<Admin>, Path(id): Path<String>) -> Response {
    let t = match resolve(&a, &id) {
        Ok(t) => t,
        Err(e) => return tenant_error(&e),
    };
    let created = match t.service.create_tenant(&t.id.name) {
        Ok(c) => c,
        Err(e) => return tenant_error(&e),
    };
    if let Err(e) = t.service.persister().commit().await {
        return error(StatusCode::INTERNAL_SERVER_ERROR, e);
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (
        status,
        axum::Json(json!({ "id": t.key(), "created": created })),
    )
        .into_response()
}

async fn tenant_drop(State(a): State<Admin>, Path(id): Path<String>) -> Response {
    let t = match resolve(&a, &id) {
        Ok(t) => t,
        Err(e) => return tenant_error(&e),
    };
    let dropped = t.service.drop_tenant(&t.id.name);
    forget(&a, &t, dropped).await
}
