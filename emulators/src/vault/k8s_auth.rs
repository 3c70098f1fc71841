//! The Kubernetes auth method: its `config`, its roles, and a login that checks the service
//! account JWT's claims against the role, then asks the cluster's TokenReview API, refusing with
//! the messages vault-plugin-auth-kubernetes uses.

use axum::http::StatusCode;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use super::envelope::Reply;
use super::error::{VaultError, VaultResult};
use super::review;
use super::router::{self, Op, Req};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    pub kubernetes_host: String,
    #[serde(default)]
    pub kubernetes_ca_cert: String,
    #[serde(default)]
    pub token_reviewer_jwt: String,
    #[serde(default)]
    pub pem_keys: Vec<String>,
    #[serde(default)]
    pub issuer: String,
    #[serde(default = "yes")]
    pub disable_iss_validation: bool,
    #[serde(default)]
    pub disable_local_ca_jwt: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub bound_service_account_names: Vec<String>,
    pub bound_service_account_namespaces: Vec<String>,
    #[serde(default)]
    pub audience: String,
    #[serde(default)]
    pub token_policies: Vec<String>,
    #[serde(default)]
    pub token_ttl: u64,
    #[serde(default)]
    pub token_max_ttl: u64,
    #[serde(default)]
    pub token_no_default_policy: bool,
    /// Which of the deprecated names (`policies`, `ttl`, `max_ttl`) also hold their value:
    /// the role was written with them, and reads show them (tokenutil `UpgradeValue`).
    #[serde(default)]
    pub legacy: Legacy,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Legacy {
    pub policies: bool,
    pub ttl: bool,
    pub max_ttl: bool,
}

/// Where an in-pod Vault finds its cluster's CA and its own service account token
/// (vault-plugin-auth-kubernetes `path_config.go`, `backend.go`).
pub const LOCAL_CA_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
pub const LOCAL_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// A local file read as Go's `os.ReadFile` reports a failure (`open <path>: no such file or
/// directory`).
fn read_local(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            _ => e.to_string(),
        };
        format!("open {path}: {why}")
    })
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    pub config: Option<Config>,
    pub roles: BTreeMap<String, Role>,
}

fn config_view(c: &Config) -> Value {
    json!({
        "kubernetes_host": c.kubernetes_host,
        "kubernetes_ca_cert": c.kubernetes_ca_cert,
        "pem_keys": c.pem_keys,
        "issuer": c.issuer,
        "disable_iss_validation": c.disable_iss_validation,
        "disable_local_ca_jwt": c.disable_local_ca_jwt,
        "token_reviewer_jwt_set": !c.token_reviewer_jwt.is_empty(),
        "use_annotations_as_alias_metadata": false,
    })
}

/// A role as `pathRoleRead` shows it: the token fields, the deprecated names only where the
/// role was written with them and they hold a value, the audience only when set.
fn role_view(r: &Role) -> Value {
    let mut v = json!({
        "bound_service_account_names": r.bound_service_account_names,
        "bound_service_account_namespaces": r.bound_service_account_namespaces,
        "bound_service_account_namespace_selector": "",
        "alias_name_source": "serviceaccount_uid",
        "token_policies": r.token_policies,
        "token_ttl": r.token_ttl,
        "token_max_ttl": r.token_max_ttl,
        "token_period": 0,
        "token_num_uses": 0,
        "token_explicit_max_ttl": 0,
        "token_no_default_policy": r.token_no_default_policy,
        "token_bound_cidrs": [],
        "token_type": "default",
    });
    if !r.audience.is_empty() {
        v["audience"] = json!(r.audience);
    }
    if r.legacy.policies && !r.token_policies.is_empty() {
        v["policies"] = json!(r.token_policies);
    }
    if r.legacy.ttl && r.token_ttl > 0 {
        v["ttl"] = json!(r.token_ttl);
    }
    if r.legacy.max_ttl && r.token_max_ttl > 0 {
        v["max_ttl"] = json!(r.token_max_ttl);
    }
    v
}

pub fn read(store: &Store, rest: &str, req: &Req) -> VaultResult<Reply> {
    match (rest, req.op) {
        ("config", Op::Read) => {
            let c = store.config.as_ref().ok_or_else(VaultError::not_found)?;
            Ok(Reply::data(config_view(c)))
        }
        ("role" | "role/", Op::List) => router::keys_reply(store.roles.keys().cloned().collect()),
        (_, Op::Read) if rest.starts_with("role/") => {
            let name = rest["role/".len()..].to_lowercase();
            let r = store.roles.get(&name).ok_or_else(VaultError::not_found)?;
            Ok(Reply::data(role_view(r)))
        }
        ("login" | "config", _) => Err(VaultError::unsupported_operation()),
        _ => Err(VaultError::unsupported_path()),
    }
}

pub fn write(store: &mut Store, rest: &str, req: &Req) -> VaultResult<Reply> {
    match (rest, req.op) {
        ("config", Op::Write) => {
            store.config = Some(parse_config(&req.body)?);
            Ok(Reply::no_content().mutated())
        }
        (_, Op::Write) if rest.starts_with("role/") && rest.len() > 5 => {
            let name = rest["role/".len()..].to_owned();
            let existing = store.roles.get(&name.to_lowercase()).cloned();
            let role = parse_role(existing, &req.body)?;
            let warn = role.audience.trim().is_empty();
            // Stored under the lowercased name; the warning names it as written.
            store.roles.insert(name.to_lowercase(), role);
            let mut reply = Reply::no_content().mutated();
            if warn {
                reply = reply.warn(format!(
                    "Role {name} does not have an audience configured. While audiences are not required, consider specifying one if your use case would benefit from additional JWT claim verification."
                ));
            }
            Ok(reply)
        }
        (_, Op::Delete) if rest.starts_with("role/") => {
            store.roles.remove(&rest["role/".len()..].to_lowercase());
            Ok(Reply::no_content().mutated())
        }
        ("config" | "login", _) => Err(VaultError::unsupported_operation()),
        _ => Err(VaultError::unsupported_path()),
    }
}

pub fn parse_config(b: &serde_json::Map<String, Value>) -> VaultResult<Config> {
    let host = router::str_field(b, "kubernetes_host").unwrap_or("");
    if host.is_empty() {
        return Err(VaultError::bad_request("no host provided"));
    }
    let ca = router::str_field(b, "kubernetes_ca_cert")
        .unwrap_or("")
        .to_owned();
    if !ca.is_empty() && !has_pem_block(&ca) {
        return Err(VaultError::bad_request(
            "The provided CA PEM data contains no valid certificates",
        ));
    }
    let disable_local_ca_jwt = router::bool_field(b, "disable_local_ca_jwt")?.unwrap_or(false);
    // With no CA given, a Vault that may use its pod's files reads the pod's CA now
    // (`updateTLSConfig`): outside a pod that file is missing and the write is refused.
    if ca.is_empty() && !disable_local_ca_jwt {
        read_local(LOCAL_CA_PATH).map_err(VaultError::bad_request)?;
    }
    Ok(Config {
        kubernetes_host: host.to_owned(),
        kubernetes_ca_cert: ca,
        token_reviewer_jwt: router::str_field(b, "token_reviewer_jwt")
            .unwrap_or("")
            .to_owned(),
        pem_keys: router::list_field(b, "pem_keys")?.unwrap_or_default(),
        issuer: router::str_field(b, "issuer").unwrap_or("").to_owned(),
        disable_iss_validation: router::bool_field(b, "disable_iss_validation")?.unwrap_or(true),
        disable_local_ca_jwt,
    })
}

/// Whether `text` holds a PEM block (Go's `pem.Decode` finds one): what the config write
/// checks of a CA, before anything parses the certificates.
fn has_pem_block(text: &str) -> bool {
    use base64::Engine as _;
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after.find("-----") else {
            return false;
        };
        let label = &after[..label_end];
        let body = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body.find(&end_marker) else {
            return false;
        };
        let b64: String = body[..end].split_whitespace().collect();
        if base64::engine::general_purpose::STANDARD
            .decode(b64)
            .is_ok()
        {
            return true;
        }
        rest = &body[end..];
    }
    false
}

/// A role write; fields not given keep their value (Vault updates roles in place).
pub fn parse_role(existing: Option<Role>, b: &serde_json::Map<String, Value>) -> VaultResult<Role> {
    let mut role = existing.unwrap_or_default();
    if let Some(names) = router::list_field(b, "bound_service_account_names")? {
        role.bound_service_account_names = names;
    }
    if let Some(ns) = router::list_field(b, "bound_service_account_namespaces")? {
        role.bound_service_account_namespaces = ns;
    }
    if let Some(a) = router::str_field(b, "audience") {
        a.clone_into(&mut role.audience);
    }
    // tokenutil.UpgradeValue: the new name wins; the deprecated copy holds the value only when
    // the deprecated name was given.
    if let Some(p) = router::list_field(b, "token_policies")? {
        role.token_policies = p;
        role.legacy.policies = b.contains_key("policies");
    } else if let Some(p) = router::list_field(b, "policies")? {
        role.token_policies = p;
        role.legacy.policies = true;
    }
    if let Some(t) = router::duration_field(b, "token_ttl")? {
        role.token_ttl = t;
        role.legacy.ttl = b.contains_key("ttl");
    } else if let Some(t) = router::duration_field(b, "ttl")? {
        role.token_ttl = t;
        role.legacy.ttl = true;
    }
    if let Some(t) = router::duration_field(b, "token_max_ttl")? {
        role.token_max_ttl = t;
        role.legacy.max_ttl = b.contains_key("max_ttl");
    } else if let Some(t) = router::duration_field(b, "max_ttl")? {
        role.token_max_ttl = t;
        role.legacy.max_ttl = true;
    }
    if let Some(n) = router::bool_field(b, "token_no_default_policy")? {
        role.token_no_default_policy = n;
    }
    check_bindings(
        &role.bound_service_account_names,
        "bound_service_account_names",
    )?;
    check_bindings(
        &role.bound_service_account_namespaces,
        "bound_service_account_namespaces",
    )?;
    Ok(role)
}

/// `pathRoleCreateUpdate`'s checks of the bindings, with its messages.
fn check_bindings(list: &[String], field: &str) -> VaultResult<()> {
    if list.is_empty() {
        return Err(VaultError::bad_request(
            if field == "bound_service_account_namespaces" {
                format!(
                    "\"{field}\" can not be empty if \"bound_service_account_namespace_selector\" is not set"
                )
            } else {
                format!("\"{field}\" can not be empty")
            },
        ));
    }
    if list.len() > 1 && list.iter().any(|n| n == "*") {
        return Err(VaultError::bad_request("can not mix \"*\" with values"));
    }
    Ok(())
}

/// `*` anywhere matches any run of characters, as go-glob does.
pub fn glob(pattern: &str, value: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == value;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !value.starts_with(first) || value.len() < first.len() + last.len() || !value.ends_with(last)
    {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

fn bound(list: &[String], value: &str) -> bool {
    (list.len() == 1 && list[0] == "*") || list.iter().any(|p| glob(p, value))
}

/// The service account a JWT claims to be, read without checking its signature.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub secret_name: String,
    pub audiences: Vec<String>,
}

pub fn claims(jwt: &str) -> VaultResult<Claims> {
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return Err(VaultError::bad_request(
            "failed to parse JWT: compact JWS format must have three parts",
        ));
    }
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[1].trim_end_matches('='))
        .map_err(|e| VaultError::bad_request(format!("failed to parse JWT: {e}")))?;
    let v: Value = serde_json::from_slice(&payload)
        .map_err(|e| VaultError::bad_request(format!("failed to parse JWT: {e}")))?;
    let s = |ptr: &str| {
        v.pointer(ptr)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let legacy = |k: &str| {
        v.get(format!("kubernetes.io/serviceaccount/{k}"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let projected = v.get("kubernetes.io").is_some();
    let audiences = match v.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    Ok(if projected {
        Claims {
            namespace: s("/kubernetes.io/namespace"),
            name: s("/kubernetes.io/serviceaccount/name"),
            uid: s("/kubernetes.io/serviceaccount/uid"),
            secret_name: s("/kubernetes.io/secret/name"),
            audiences,
        }
    } else {
        Claims {
            namespace: legacy("namespace"),
            name: legacy("service-account.name"),
            uid: legacy("service-account.uid"),
            secret_name: legacy("secret.name"),
            audiences,
        }
    })
}

/// Everything a login needs after the claims passed, before the TokenReview call.
#[derive(Debug, Clone)]
pub struct LoginPlan {
    pub mount: String,
    pub role_name: String,
    pub role: Role,
    pub claims: Claims,
    pub review: review::Request,
}

/// The synchronous half of a login: inputs, role, claims and bindings.
pub fn prepare_login(store: &Store, mount: &str, req: &Req) -> VaultResult<LoginPlan> {
    let role_name = router::str_field(&req.body, "role").unwrap_or("");
    if role_name.is_empty() {
        return Err(VaultError::bad_request("missing role"));
    }
    let jwt = router::str_field(&req.body, "jwt").unwrap_or("");
    if jwt.is_empty() {
        return Err(VaultError::bad_request("missing jwt"));
    }
    let role = store
        .roles
        .get(&role_name.to_lowercase())
        .cloned()
        .ok_or_else(|| VaultError::bad_request(format!("invalid role name \"{role_name}\"")))?;
    let mut config = store
        .config
        .clone()
        .ok_or_else(|| VaultError::internal_message("could not load backend configuration"))?;
    // `loadConfig`: unless told not to, the pod's own token reviews (when none is configured;
    // a missing file is ignored) and the pod's CA is trusted (when none is configured; a
    // missing file fails the login).
    if !config.disable_local_ca_jwt {
        if config.token_reviewer_jwt.is_empty()
            && let Ok(local) = read_local(LOCAL_TOKEN_PATH)
        {
            config.token_reviewer_jwt = local;
        }
        if config.kubernetes_ca_cert.is_empty() {
            config.kubernetes_ca_cert =
                read_local(LOCAL_CA_PATH).map_err(VaultError::internal_message)?;
        }
    }
    // A token that does not parse fails the signature step: a bare permission denied.
    let claims = claims(jwt).map_err(|_| VaultError::permission_denied())?;
    if !role.audience.is_empty() && !claims.audiences.contains(&role.audience) {
        return Err(VaultError::new(
            StatusCode::FORBIDDEN,
            "invalid audience (aud) claim: audience claim does not match any expected audience",
        ));
    }
    if !bound(&role.bound_service_account_namespaces, &claims.namespace) {
        return Err(VaultError::new(
            StatusCode::FORBIDDEN,
            "namespace not authorized",
        ));
    }
    if !bound(&role.bound_service_account_names, &claims.name) {
        return Err(VaultError::new(
            StatusCode::FORBIDDEN,
            "service account name not authorized",
        ));
    }
    let audiences = if role.audience.is_empty() {
        claims.audiences.clone()
    } else {
        vec![role.audience.clone()]
    };
    let bearer = if config.token_reviewer_jwt.is_empty() {
        // Outside a pod with no reviewer JWT, Vault reviews the token with itself.
        jwt.to_owned()
    } else {
        config.token_reviewer_jwt.clone()
    };
    Ok(LoginPlan {
        mount: mount.to_owned(),
        role_name: role_name.to_owned(),
        role,
        review: review::Request {
            host: config.kubernetes_host,
            ca_pem: config.kubernetes_ca_cert,
            bearer,
            token: jwt.to_owned(),
            audiences,
        },
        claims,
    })
}

/// Whether the TokenReview answer vouches for the claimed service account; every refusal is the
/// same 403 `permission denied` (the cause goes to the log, as in Vault).
pub fn check_review(plan: &LoginPlan, status: &review::Status) -> VaultResult<()> {
    let expected = format!(
        "system:serviceaccount:{}:{}",
        plan.claims.namespace, plan.claims.name
    );
    let reason = if !status.error.is_empty() {
        Some(format!("lookup failed: {}", status.error))
    } else if !status.authenticated {
        Some("lookup failed: service account jwt not valid".to_owned())
    } else if status.user.username != expected {
        Some(format!(
            "JWT names {expected} but TokenReview authenticated {}",
            status.user.username
        ))
    } else if !plan.claims.uid.is_empty() && status.user.uid != plan.claims.uid {
        Some("JWT uid does not match TokenReview uid".to_owned())
    } else if !plan.role.audience.is_empty() && !status.audiences.contains(&plan.role.audience) {
        Some("TokenReview audiences do not include the role's audience".to_owned())
    } else {
        None
    };
    match reason {
        Some(r) => {
            tracing::debug!(reason = %r, role = %plan.role_name, "login unauthorized");
            Err(VaultError::permission_denied())
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_go_glob() {
        assert!(glob("nginx-*", "nginx-kv"));
        assert!(glob("*-kv", "nginx-kv"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b*c", "aXc"));
        assert!(!glob("nginx", "nginx-kv"));
        assert!(bound(&["*".into()], "anything"));
    }

    #[test]
    fn reads_projected_and_legacy_claims() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B;
        let jwt = |v: Value| format!("h.{}.s", B.encode(v.to_string()));
        let c = claims(&jwt(json!({"aud": ["vault"], "kubernetes.io": {"namespace": "test", "serviceaccount": {"name": "nginx", "uid": "u1"}}})))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (c.namespace.as_str(), c.name.as_str(), c.uid.as_str()),
            ("test", "nginx", "u1")
        );
        assert_eq!(c.audiences, ["vault"]);
        let l = claims(&jwt(json!({"kubernetes.io/serviceaccount/namespace": "ns", "kubernetes.io/serviceaccount/service-account.name": "sa"})))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((l.namespace.as_str(), l.name.as_str()), ("ns", "sa"));
        assert!(claims("not-a-jwt").is_err());
    }

    #[test]
    fn roles_need_bindings() {
        let mut b = serde_json::Map::new();
        b.insert("bound_service_account_names".into(), json!("a,b"));
        assert!(parse_role(None, &b).is_err());
        b.insert("bound_service_account_namespaces".into(), json!(["*"]));
        b.insert("ttl".into(), json!("20m"));
        b.insert("policies".into(), json!("kv"));
        let r = parse_role(None, &b).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.bound_service_account_names, ["a", "b"]);
        assert_eq!(r.token_ttl, 1200);
        b.insert("bound_service_account_names".into(), json!(["*", "a"]));
        assert!(parse_role(None, &b).is_err());
    }
}
