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

fn role_view(r: &Role) -> Value {
    json!({
        "bound_service_account_names": r.bound_service_account_names,
        "bound_service_account_namespaces": r.bound_service_account_namespaces,
        "bound_service_account_namespace_selector": "",
        "audience": r.audience,
        "alias_name_source": "serviceaccount_uid",
        "token_policies": r.token_policies,
        "policies": r.token_policies,
        "token_ttl": r.token_ttl,
        "ttl": r.token_ttl,
        "token_max_ttl": r.token_max_ttl,
        "max_ttl": r.token_max_ttl,
        "token_period": 0,
        "period": 0,
        "token_num_uses": 0,
        "num_uses": 0,
        "token_explicit_max_ttl": 0,
        "token_no_default_policy": r.token_no_default_policy,
        "token_bound_cidrs": [],
        "bound_cidrs": [],
        "token_type": "default",
    })
}

pub fn read(store: &Store, rest: &str, req: &Req) -> VaultResult<Reply> {
    match (rest, req.op) {
        ("config", Op::Read) => {
            let c = store.config.as_ref().ok_or_else(VaultError::not_found)?;
            Ok(Reply::data(config_view(c)))
        }
        ("role" | "role/", Op::List) => router::keys_reply(store.roles.keys().cloned().collect()),
        (_, Op::Read) if rest.starts_with("role/") => {
            let name = &rest["role/".len()..];
            let r = store.roles.get(name).ok_or_else(VaultError::not_found)?;
            Ok(Reply::data(role_view(r)))
        }
        ("login" | "config", _) => Err(VaultError::unsupported_operation()),
        _ => Err(VaultError::no_route(&req.path)),
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
            let existing = store.roles.get(&name).cloned();
            let role = parse_role(existing, &req.body)?;
            let warn = role.audience.is_empty();
            store.roles.insert(name.clone(), role);
            let mut reply = Reply::no_content().mutated();
            if warn {
                reply = reply.warn(format!(
                    "Role {name} does not have an audience configured. While audiences are not required, consider specifying one if your use case would benefit from additional JWT claim verification."
                ));
            }
            Ok(reply)
        }
        (_, Op::Delete) if rest.starts_with("role/") => {
            store.roles.remove(&rest["role/".len()..]);
            Ok(Reply::no_content().mutated())
        }
        ("config" | "login", _) => Err(VaultError::unsupported_operation()),
        _ => Err(VaultError::no_route(&req.path)),
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
    if !ca.is_empty()
        && reqwest::Certificate::from_pem_bundle(ca.as_bytes()).map_or(true, |c| c.is_empty())
    {
        return Err(VaultError::bad_request(
            "data does not contain any valid RSA or ECDSA certificates",
        ));
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
        disable_local_ca_jwt: router::bool_field(b, "disable_local_ca_jwt")?.unwrap_or(false),
    })
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
    for field in ["token_policies", "policies"] {
        if let Some(p) = router::list_field(b, field)? {
            role.token_policies = p;
        }
    }
    for field in ["token_ttl", "ttl"] {
        if let Some(t) = router::duration_field(b, field)? {
            role.token_ttl = t;
        }
    }
    for field in ["token_max_ttl", "max_ttl"] {
        if let Some(t) = router::duration_field(b, field)? {
            role.token_max_ttl = t;
        }
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

fn check_bindings(list: &[String], field: &str) -> VaultResult<()> {
    if list.is_empty() {
        return Err(VaultError::bad_request(format!(
            "\"{field}\" can not be empty"
        )));
    }
    if list.len() > 1 && list.iter().any(|n| n == "*") {
        return Err(VaultError::bad_request(format!(
            "can not mix \"*\" with values for \"{field}\""
        )));
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
        .get(role_name)
        .cloned()
        .ok_or_else(|| VaultError::bad_request(format!("invalid role name \"{role_name}\"")))?;
    let config = store
        .config
        .clone()
        .ok_or_else(|| VaultError::bad_request("could not load backend configuration"))?;
    let claims = claims(jwt)?;
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
