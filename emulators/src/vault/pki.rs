//! PKI: a root CA per mount (generated on `root/generate/internal`, or on first issue), roles, and
//! `issue/<role>` answering with certificate, private key and chain.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

use super::envelope::Reply;
use super::error::{VaultError, VaultResult};
use super::router::{self, Ctx, Op, Req};

const DEFAULT_CA_NAME: &str = "secretbench-vault-root";
const CA_TTL_SECS: u64 = 10 * 365 * 86400;
const DEFAULT_CERT_TTL: u64 = 30 * 86400;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Ca {
    pub common_name: String,
    pub certificate: String,
    pub key_pem: String,
    pub serial_number: String,
    pub expiration: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub allowed_domains: Vec<String>,
    pub allow_subdomains: bool,
    pub allow_bare_domains: bool,
    pub allow_any_name: bool,
    pub allow_localhost: bool,
    pub key_type: String,
    pub ttl: u64,
    pub max_ttl: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    pub ca: Option<Ca>,
    pub roles: BTreeMap<String, Role>,
}

fn pki_err(e: rcgen::Error) -> VaultError {
    tracing::error!(error = %e, "certificate generation failed");
    VaultError::internal()
}

fn serial(ctx: &Ctx<'_>) -> (SerialNumber, String) {
    let mut bytes = ctx.core.ids.bytes(16);
    bytes[0] &= 0x7f;
    let text = bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    (SerialNumber::from_slice(&bytes), text)
}

fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// A TTL as a time span (TTLs from requests are at most Go's longest duration, so it fits).
fn secs(n: u64) -> Duration {
    Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX))
}

fn generate_ca(ctx: &Ctx<'_>, common_name: &str, ttl: u64) -> VaultResult<Ca> {
    let key = KeyPair::generate().map_err(pki_err)?;
    let mut params = ca_params(common_name);
    let (sn, sn_text) = serial(ctx);
    params.serial_number = Some(sn);
    params.not_before = ctx.now - Duration::minutes(1);
    params.not_after = ctx.now.saturating_add(secs(ttl));
    let cert = params.self_signed(&key).map_err(pki_err)?;
    Ok(Ca {
        common_name: common_name.to_owned(),
        certificate: cert.pem().trim_end().to_owned(),
        key_pem: key.serialize_pem(),
        serial_number: sn_text,
        expiration: params.not_after.unix_timestamp(),
    })
}

pub fn read(store: &Store, rest: &str, req: &Req) -> VaultResult<Reply> {
    match (rest, req.op) {
        ("cert/ca" | "ca/pem" | "ca", Op::Read) => {
            let ca = store.ca.as_ref().ok_or_else(VaultError::not_found)?;
            Ok(Reply::data(
                json!({ "certificate": ca.certificate, "revocation_time": 0 }),
            ))
        }
        ("roles" | "roles/", Op::List) => router::keys_reply(store.roles.keys().cloned().collect()),
        (_, Op::Read) if rest.starts_with("roles/") => {
            let r = store
                .roles
                .get(&rest["roles/".len()..])
                .ok_or_else(VaultError::not_found)?;
            Ok(Reply::data(json!({
                "allowed_domains": r.allowed_domains,
                "allow_subdomains": r.allow_subdomains,
                "allow_bare_domains": r.allow_bare_domains,
                "allow_any_name": r.allow_any_name,
                "allow_localhost": r.allow_localhost,
                "key_type": r.key_type,
                "ttl": r.ttl,
                "max_ttl": r.max_ttl,
            })))
        }
        _ if rest.starts_with("issue/") => Err(VaultError::unsupported_operation()),
        _ => Err(VaultError::unsupported_path()),
    }
}

pub fn write(store: &mut Store, ctx: &Ctx<'_>, rest: &str, req: &Req) -> VaultResult<Reply> {
    let b = &req.body;
    match (rest, req.op) {
        ("root/generate/internal" | "root/generate/exported", Op::Write) => {
            let cn = router::str_field(b, "common_name").unwrap_or("");
            if cn.is_empty() {
                return Err(VaultError::bad_request(
                    "the 'common_name' field must be specified",
                ));
            }
            let ttl = router::validated_duration_field(b, "ttl")?
                .filter(|t| *t > 0)
                .unwrap_or(CA_TTL_SECS);
            let ca = generate_ca(ctx, cn, ttl)?;
            let mut data = json!({
                "certificate": ca.certificate,
                "issuing_ca": ca.certificate,
                "serial_number": ca.serial_number,
                "expiration": ca.expiration,
            });
            if rest.ends_with("exported")
                && let Value::Object(m) = &mut data
            {
                m.insert("private_key".into(), json!(ca.key_pem.trim_end()));
                m.insert("private_key_type".into(), json!("ec"));
            }
            store.ca = Some(ca);
            Ok(Reply::data(data).mutated())
        }
        (_, Op::Write) if rest.starts_with("roles/") && rest.len() > 6 => {
            let name = rest["roles/".len()..].to_owned();
            let mut role = store.roles.get(&name).cloned().unwrap_or(Role {
                key_type: "rsa".into(),
                ..Role::default()
            });
            if let Some(d) = router::list_field(b, "allowed_domains")? {
                role.allowed_domains = d;
            }
            for (field, slot) in [
                ("allow_subdomains", &mut role.allow_subdomains),
                ("allow_bare_domains", &mut role.allow_bare_domains),
                ("allow_any_name", &mut role.allow_any_name),
                ("allow_localhost", &mut role.allow_localhost),
            ] {
                if let Some(v) = router::bool_field(b, field)? {
                    *slot = v;
                }
            }
            if let Some(k) = router::str_field(b, "key_type") {
                if !matches!(k, "rsa" | "ec" | "any") {
                    return Err(VaultError::bad_request(format!("invalid key_type {k}")));
                }
                k.clone_into(&mut role.key_type);
            }
            if let Some(t) = router::validated_duration_field(b, "ttl")? {
                role.ttl = t;
            }
            if let Some(t) = router::validated_duration_field(b, "max_ttl")? {
                role.max_ttl = t;
            }
            store.roles.insert(name, role);
            Ok(Reply::no_content().mutated())
        }
        (_, Op::Delete) if rest.starts_with("roles/") => {
            store.roles.remove(&rest["roles/".len()..]);
            Ok(Reply::no_content().mutated())
        }
        (_, Op::Write) if rest.starts_with("issue/") => {
            issue(store, ctx, &rest["issue/".len()..], req)
        }
        _ => Err(VaultError::unsupported_path()),
    }
}

fn name_allowed(role: &Role, name: &str) -> bool {
    if role.allow_any_name || (role.allow_localhost && name == "localhost") {
        return true;
    }
    role.allowed_domains.iter().any(|d| {
        (role.allow_bare_domains && name == d)
            || (role.allow_subdomains && name.ends_with(&format!(".{d}")))
            || super::k8s_auth::glob(d, name) && d.contains('*')
    })
}

fn issue(store: &mut Store, ctx: &Ctx<'_>, role_name: &str, req: &Req) -> VaultResult<Reply> {
    let b = &req.body;
    let role = store
        .roles
        .get(role_name)
        .cloned()
        .ok_or_else(|| VaultError::bad_request(format!("unknown role: {role_name}")))?;
    let cn = router::str_field(b, "common_name").unwrap_or("");
    if cn.is_empty() {
        return Err(VaultError::bad_request(
            "the common_name field is required, or must be provided in a CSR with \"use_csr_common_name\" set to true, unless \"require_cn\" is set to false",
        ));
    }
    let alt_names = router::list_field(b, "alt_names")?.unwrap_or_default();
    for name in std::iter::once(cn).chain(alt_names.iter().map(String::as_str)) {
        if !name_allowed(&role, name) {
            return Err(VaultError::bad_request(format!(
                "common name {name} not allowed by this role"
            )));
        }
    }
    let ip_sans = router::list_field(b, "ip_sans")?.unwrap_or_default();
    let mut ttl = router::validated_duration_field(b, "ttl")?
        .filter(|t| *t > 0)
        .unwrap_or(if role.ttl > 0 {
            role.ttl
        } else {
            DEFAULT_CERT_TTL
        });
    if role.max_ttl > 0 {
        ttl = ttl.min(role.max_ttl);
    }
    if store.ca.is_none() {
        // Real Vault needs `root/generate` first; issuing straight away is kinder to scenarios.
        store.ca = Some(generate_ca(ctx, DEFAULT_CA_NAME, CA_TTL_SECS)?);
    }
    let ca = store.ca.as_ref().ok_or_else(VaultError::internal)?;
    let ca_key = KeyPair::from_pem(&ca.key_pem).map_err(pki_err)?;
    let issuer = Issuer::new(ca_params(&ca.common_name), ca_key);

    let (key, key_type) = if role.key_type == "ec" {
        (KeyPair::generate().map_err(pki_err)?, "ec")
    } else {
        (
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                .map_err(pki_err)?,
            "rsa",
        )
    };
    let mut names: Vec<String> = vec![cn.to_owned()];
    names.extend(alt_names.iter().filter(|n| *n != cn).cloned());
    let mut params = CertificateParams::new(names).map_err(pki_err)?;
    for ip in &ip_sans {
        let addr = ip.parse().map_err(|_| {
            VaultError::bad_request(format!("the value {ip:?} is not a valid IP address"))
        })?;
        params.subject_alt_names.push(SanType::IpAddress(addr));
    }
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    let (sn, sn_text) = serial(ctx);
    params.serial_number = Some(sn);
    params.not_before = ctx.now - Duration::seconds(30);
    let not_after: OffsetDateTime = ctx.now.saturating_add(secs(ttl));
    params.not_after = not_after;
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, &issuer).map_err(pki_err)?;
    Ok(Reply::data(json!({
        "certificate": cert.pem().trim_end(),
        "issuing_ca": ca.certificate,
        "ca_chain": [ca.certificate],
        "private_key": key.serialize_pem().trim_end(),
        "private_key_type": key_type,
        "serial_number": sn_text,
        "expiration": not_after.unix_timestamp(),
    }))
    .mutated())
}
