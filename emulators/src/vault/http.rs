//! The request pipeline: `/v1/<path>` with Vault's method mapping, a body limit, token resolution
//! and ACL checks, fault rules, dispatch, persistence before answering a write, the journal, and a
//! panic turned into a well-formed 500.

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use super::envelope::Reply;
use super::error::{VaultError, VaultResult};
use super::mounts::AuthMethod;
use super::namespaces::{self, Resolved};
use super::policy::Acl;
use super::router::{self, AuthKind, Ctx, Op, Req, Target};
use super::tokens::Spec;
use super::{MAX_BODY_BYTES, VaultEmulator, VaultState, k8s_auth};
use crate::core::faults::Scope;
use crate::core::journal::Record;
use crate::core::tenant::RequestTenant;

/// The header that names a request's namespace (Vault Enterprise's `consts.NamespaceHeaderName`).
const NAMESPACE_HEADER: &str = "x-vault-namespace";

pub fn router(vault: Arc<VaultEmulator>) -> Router {
    Router::new()
        .fallback(handle)
        // Bodies are read with our own limit so the error has Vault's shape.
        .layer(DefaultBodyLimit::disable())
        .with_state(vault)
}

fn json_response(status: StatusCode, body: Option<&Value>) -> Response {
    match body {
        None => status.into_response(),
        Some(v) => {
            let mut response = (status, serde_json::to_vec(v).unwrap_or_default()).into_response();
            // Exactly `application/json`: Vault Agent caches only that.
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
    }
}

/// An error answer outside the request pipeline (the admin API's refusal).
pub(super) fn error_response(err: &VaultError) -> Response {
    json_response(err.status, Some(&err.body()))
}

/// A body to send: Vault's JSON (none for a 204), or a backend's raw text with its type.
enum Answer {
    Json(Option<Value>),
    Text(&'static str, Vec<u8>),
}

async fn handle(
    State(vault): State<Arc<VaultEmulator>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let request_id = vault.core.request_id();
    let mut record = Record::new("vault", "unknown");
    let result = serve(&vault, &method, &uri, &headers, body, &mut record).await;
    let (status, body, error) = match result {
        Ok(mut reply) => match reply.text.take() {
            Some((content_type, text)) => {
                let status = if text.is_empty() {
                    StatusCode::NO_CONTENT
                } else {
                    StatusCode::OK
                };
                (status, Answer::Text(content_type, text), None)
            }
            None => {
                let (status, body) = reply.render(&request_id);
                (status, Answer::Json(body), None)
            }
        },
        Err(err) => (
            err.status,
            Answer::Json(Some(err.body())),
            Some(err.summary()),
        ),
    };
    vault
        .core
        .journal_request(record, started, status.as_u16(), error);
    let mut response = match body {
        Answer::Json(json) => json_response(status, json.as_ref()),
        Answer::Text(_, text) if text.is_empty() => status.into_response(),
        Answer::Text(content_type, text) => {
            let mut r = (status, text).into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            r
        }
    };
    // Vault echoes the namespace header in its answer (http/handler.go, wrapGenericHandler).
    if let Some(ns) = headers.get(NAMESPACE_HEADER).filter(|v| !v.is_empty()) {
        response.headers_mut().insert(NAMESPACE_HEADER, ns.clone());
    }
    response
}

/// The `sys/` endpoints Vault serves in the root namespace only; asked for with a namespace
/// header, they are refused before anything else (`restrictedSysAPIsNonLogical`).
const ROOT_ONLY_SYS: [&str; 14] = [
    "raw",
    "generate-recovery-token",
    "init",
    "seal",
    "step-down",
    "unseal",
    "health",
    "rekey-recovery-key",
    "rekey",
    "storage",
    "generate-root",
    "metrics",
    "pprof",
    "in-flight-req",
];

fn root_only(headers: &HeaderMap, path: &str) -> bool {
    headers.get(NAMESPACE_HEADER).is_some_and(|v| !v.is_empty())
        && path
            .strip_prefix("sys/")
            .and_then(|rest| rest.split('/').next())
            .is_some_and(|first| ROOT_ONLY_SYS.contains(&first))
}

async fn read_body(
    vault: &VaultEmulator,
    headers: &HeaderMap,
    body: Body,
) -> VaultResult<bytes::Bytes> {
    use crate::core::body::{BodyError, read_limited};
    read_limited(&vault.core, headers, body, MAX_BODY_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge(_) => VaultError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "http: request body too large",
            ),
            BodyError::TimedOut(_) => VaultError::new(
                StatusCode::REQUEST_TIMEOUT,
                "failed to read request body: i/o timeout",
            ),
            BodyError::ShuttingDown => {
                VaultError::new(StatusCode::SERVICE_UNAVAILABLE, "Vault is shutting down")
            }
            BodyError::Unreadable(why) => {
                VaultError::bad_request(format!("failed to read request body: {why}"))
            }
        })
}

fn op_of(method: &Method, query: &BTreeMap<String, String>) -> VaultResult<Op> {
    Ok(match method.as_str() {
        "GET" | "HEAD" => {
            if query.get("list").is_some_and(|v| v == "true" || v == "1") {
                Op::List
            } else {
                Op::Read
            }
        }
        "LIST" => Op::List,
        "POST" | "PUT" => Op::Write,
        "DELETE" => Op::Delete,
        "PATCH" => Op::Patch,
        _ => {
            return Err(VaultError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                errors: Vec::new(),
            });
        }
    })
}

fn token_of(headers: &HeaderMap) -> Option<String> {
    if let Some(t) = headers.get("x-vault-token").and_then(|v| v.to_str().ok())
        && !t.is_empty()
    {
        return Some(t.to_owned());
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

async fn serve(
    vault: &VaultEmulator,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
    record: &mut Record,
) -> VaultResult<Reply> {
    let Some(path) = uri.path().strip_prefix("/v1/") else {
        return Err(VaultError::not_found());
    };
    if root_only(headers, path) {
        return Err(VaultError::bad_request(
            "operation unavailable in namespaces",
        ));
    }
    let mut path = path.trim_start_matches('/').to_owned();
    let query: BTreeMap<String, String> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let op = op_of(method, &query)?;
    // A list is of a directory: Vault appends the slash before routing and the ACL check
    // (`http/logical.go`, buildLogicalRequestNoAuth), so `list` on `secret/metadata/app/*`
    // covers `LIST secret/metadata/app`.
    if op == Op::List && !path.ends_with('/') {
        path.push('/');
    }
    let bytes = read_body(vault, headers, body).await?;
    // Vault's HTTP layer checks every body against its JSON limits before routing (a 500).
    super::json_body::check_limits(&bytes).map_err(VaultError::internal_message)?;
    // Reads take their parameters from the query string; a body on a GET (the CSI provider sends
    // secretArgs that way) is ignored, as Vault ignores it.
    let body = if op.is_read() {
        query
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect()
    } else if op == Op::Patch {
        // Vault's HTTP layer takes PATCH only as a JSON merge patch, then decodes it with a
        // shorter message (vault http/logical.go buildLogicalRequestNoAuth).
        let media = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if media.is_empty() {
            return Err(VaultError::bad_request("mime: no media type"));
        }
        if media != "application/merge-patch+json" {
            return Err(VaultError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "PATCH requires Content-Type of application/merge-patch+json, provided {media}"
                ),
            ));
        }
        super::json_body::decode(&bytes)
            .map_err(|_| VaultError::bad_request("error parsing JSON"))?
    } else {
        super::json_body::decode(&bytes).map_err(VaultError::bad_request)?
    };
    let header = headers
        .get(NAMESPACE_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let resolved = vault.read().resolve(header.as_deref(), &path);
    let Resolved { namespace, path } = resolved.map_err(|refusal| {
        record.key("namespace", refusal.0.clone());
        record.key("refused", refusal.to_string());
        VaultError::from(refusal)
    })?;
    if !namespace.is_empty() {
        record.key("namespace", namespace.clone());
    }
    let tenant = RequestTenant::new(
        "vault",
        &namespaces::tenant_name(&namespace),
        namespace.is_empty(),
    );
    record.tenant = Some(tenant.clone());
    let req = Req {
        op,
        path,
        query,
        body,
        head: method == Method::HEAD,
    };

    let target = router::classify(space(&vault.read(), &namespace)?, &req.path);
    record.operation = router::operation(&target, req.op);
    record.key("path", req.path.clone());

    if let Some(injected) = vault
        .core
        .inject_faults(
            "vault",
            &record.operation,
            None,
            Scope::Request(Some(&tenant.id)),
        )
        .await
    {
        let status = injected.status_code();
        let message = if injected.message.is_empty() {
            injected.code
        } else {
            injected.message
        };
        return Err(VaultError::new(status, message));
    }

    let now = vault.core.clock.now();
    let caller = if router::unauthenticated(&target) {
        None
    } else {
        let guard = vault.read();
        let state = space(&guard, &namespace)?;
        let Some(token) = token_of(headers) else {
            return Err(VaultError::permission_denied());
        };
        // The root namespace's root token works in every namespace, as in Vault.
        let caller = state
            .tokens
            .resolve(&token, now)
            .or_else(|| guard.tokens.resolve(&token, now).filter(|c| c.root))
            .ok_or_else(VaultError::invalid_token)?;
        record.identity = Some(caller.display_name.clone());
        if !caller.root && !router::token_only(&target) {
            let needed = router::required(state, &target, &req);
            let acl = Acl::new(caller.policies.iter().filter_map(|p| state.policies.get(p)));
            if !acl.allows(&req.path, needed) {
                return Err(VaultError::acl_denied());
            }
        }
        Some(caller)
    };
    let ctx = Ctx {
        core: &vault.core,
        now,
        caller,
    };

    if let Target::Auth {
        mount,
        rest,
        kind: AuthKind::Kubernetes,
    } = &target
        && rest == "login"
        && req.op == Op::Write
    {
        let reply = kubernetes_login(vault, &ctx, &namespace, mount, &req, record).await?;
        return commit(vault, reply).await;
    }

    // Handlers are synchronous and hold the state lock only for their own duration. A panic is a
    // bug, but it must still produce a well-formed 500 rather than a dropped connection.
    let reply = std::panic::catch_unwind(AssertUnwindSafe(|| {
        if req.op.is_read() {
            router::dispatch_read(space(&vault.read(), &namespace)?, &ctx, &target, &req)
        } else {
            router::dispatch_write(
                space_mut(&mut vault.write(), &namespace)?,
                &ctx,
                &target,
                &req,
            )
        }
    }))
    .unwrap_or_else(|_| {
        tracing::error!(path = %req.path, "vault handler panicked");
        Err(VaultError::internal())
    })?;
    commit(vault, reply).await
}

async fn commit(vault: &VaultEmulator, reply: Reply) -> VaultResult<Reply> {
    if reply.mutated {
        vault.state.persister().commit().await.map_err(|e| {
            tracing::error!(error = %e, "cannot persist vault state");
            VaultError::internal()
        })?;
    }
    Ok(reply)
}

/// Login: claims and bindings under the read lock, the TokenReview call with no lock held, then
/// the token minted under the write lock.
/// A namespace's state; gone (deleted while the request was on its way) reads as Vault's refusal
/// of a namespace that does not exist.
fn space<'a>(state: &'a VaultState, namespace: &str) -> VaultResult<&'a VaultState> {
    state
        .space(namespace)
        .ok_or_else(VaultError::permission_denied)
}

fn space_mut<'a>(state: &'a mut VaultState, namespace: &str) -> VaultResult<&'a mut VaultState> {
    state
        .space_mut(namespace)
        .ok_or_else(VaultError::permission_denied)
}

async fn kubernetes_login(
    vault: &VaultEmulator,
    ctx: &Ctx<'_>,
    namespace: &str,
    mount: &str,
    req: &Req,
    record: &mut Record,
) -> VaultResult<Reply> {
    if let Some(role) = router::str_field(&req.body, "role") {
        record.key("role", role);
    }
    let plan = {
        let guard = vault.read();
        let state = space(&guard, namespace)?;
        match state.auth.get(mount).map(|m| &m.method) {
            Some(AuthMethod::Kubernetes(store)) => k8s_auth::prepare_login(store, mount, req)?,
            _ => return Err(VaultError::no_route(&req.path)),
        }
    };
    record.identity = Some(format!(
        "system:serviceaccount:{}:{}",
        plan.claims.namespace, plan.claims.name
    ));
    let status = vault.review.review(&plan.review).await.map_err(|e| {
        tracing::debug!(error = %e, role = %plan.role_name, "login unauthorized");
        VaultError::permission_denied()
    })?;
    k8s_auth::check_review(&plan, &status)?;
    let mut meta = BTreeMap::new();
    meta.insert("role".to_owned(), plan.role_name.clone());
    meta.insert("service_account_name".to_owned(), plan.claims.name.clone());
    meta.insert(
        "service_account_namespace".to_owned(),
        plan.claims.namespace.clone(),
    );
    meta.insert(
        "service_account_secret_name".to_owned(),
        plan.claims.secret_name.clone(),
    );
    meta.insert("service_account_uid".to_owned(), plan.claims.uid.clone());
    let spec = Spec {
        id: None,
        policies: plan.role.token_policies.clone(),
        no_default_policy: plan.role.token_no_default_policy,
        meta: Some(meta),
        display_name: format!(
            "{}-{}-{}",
            plan.mount.trim_end_matches('/'),
            plan.claims.namespace,
            plan.claims.name
        ),
        path: format!("auth/{}login", plan.mount),
        ttl: (plan.role.token_ttl > 0).then_some(plan.role.token_ttl),
        explicit_max_ttl: plan.role.token_max_ttl,
        renewable: true,
        orphan: true,
        parent: None,
        entity_id: ctx.core.ids.uuid(),
    };
    let token = space_mut(&mut vault.write(), namespace)?
        .tokens
        .mint(ctx.core, ctx.now, spec);
    // A login answer names no mount type (Vault's login requests carry none).
    Ok(Reply {
        auth: Some(token.auth_block(ctx.now)),
        ..Reply::default()
    }
    .mutated())
}
