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
/// The CA the emulator makes by itself when a role issues before any `root/generate`: long
/// lived, so issuing straight away works.
const IMPLICIT_CA_TTL_SECS: u64 = 10 * 365 * 86400;
/// What `root/generate` and `issue` default to without a `ttl` (and without a role `ttl`):
/// Vault's system default lease, 768h. So a certificate asked for without a `ttl` from a root
/// made without one ends after its CA, which Vault refuses.
const DEFAULT_TTL: u64 = super::DEFAULT_LEASE_TTL;

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
                .unwrap_or(DEFAULT_TTL);
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

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// One DER element: its tag, its content, and what follows it.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// A DER element from its tag and content.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

const SEQUENCE: u8 = 0x30;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
/// rsaEncryption, 1.2.840.113549.1.1.1.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// A private key as Vault writes it by default (`private_key_format: der`, as PEM): RSA as
/// PKCS#1 `RSA PRIVATE KEY`, EC as SEC1 `EC PRIVATE KEY` with the curve and public key in it
/// (Go's `x509.MarshalECPrivateKey`), taken out of the PKCS#8 `pkcs8` the key library writes.
fn traditional_pem(pkcs8: &[u8]) -> VaultResult<String> {
    let bad = || {
        tracing::error!("a generated key is not the PKCS#8 expected");
        VaultError::internal()
    };
    let (_, info, _) = der_element(pkcs8)
        .filter(|(t, ..)| *t == SEQUENCE)
        .ok_or_else(bad)?;
    let (_, _version, rest) = der_element(info).ok_or_else(bad)?;
    let (_, algorithm, rest) = der_element(rest).ok_or_else(bad)?;
    let (_, key, _) = der_element(rest)
        .filter(|(t, ..)| *t == OCTET_STRING)
        .ok_or_else(bad)?;
    let (_, algorithm_oid, params) = der_element(algorithm)
        .filter(|(t, ..)| *t == OID)
        .ok_or_else(bad)?;
    let (label, der_key) = if algorithm_oid == RSA_ENCRYPTION {
        ("RSA PRIVATE KEY", key.to_vec())
    } else {
        // ECPrivateKey { version, privateKey, [0] parameters OPTIONAL, [1] publicKey OPTIONAL }:
        // PKCS#8 leaves the curve to its algorithm identifier; SEC1 as Go writes it carries it.
        let (_, curve, _) = der_element(params)
            .filter(|(t, ..)| *t == OID)
            .ok_or_else(bad)?;
        let (_, ec, _) = der_element(key)
            .filter(|(t, ..)| *t == SEQUENCE)
            .ok_or_else(bad)?;
        let mut fields = Vec::new();
        let mut rest = ec;
        while !rest.is_empty() {
            let (tag, content, next) = der_element(rest).ok_or_else(bad)?;
            fields.push((tag, content));
            rest = next;
        }
        let mut body = Vec::new();
        for (tag, content) in &fields[..fields.len().min(2)] {
            body.extend(der(*tag, content));
        }
        body.extend(der(0xa0, &der(OID, curve)));
        for (tag, content) in fields.iter().skip(2).filter(|(t, _)| *t != 0xa0) {
            body.extend(der(*tag, content));
        }
        ("EC PRIVATE KEY", der(SEQUENCE, &body))
    };
    Ok(pem_block(label, &der_key))
}

/// PEM without the last newline, as Vault's answers carry it.
fn pem_block(label: &str, der: &[u8]) -> String {
    let mut pem = crate::core::pem::block(label, der);
    pem.pop();
    pem
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
        .unwrap_or(if role.ttl > 0 { role.ttl } else { DEFAULT_TTL });
    if role.max_ttl > 0 {
        ttl = ttl.min(role.max_ttl);
    }
    if store.ca.is_none() {
        // Real Vault needs `root/generate` first; issuing straight away is kinder to scenarios.
        store.ca = Some(generate_ca(ctx, DEFAULT_CA_NAME, IMPLICIT_CA_TTL_SECS)?);
    }
    let ca = store.ca.as_ref().ok_or_else(VaultError::internal)?;
    let not_after: OffsetDateTime = ctx.now.saturating_add(secs(ttl));
    // Vault's default `leaf_not_after_behavior` is `err`: no certificate outlives its CA.
    // The CA's end is whole seconds (as its certificate says); the leaf's is not rounded, so
    // a leaf asked for the CA's own lifetime a moment later is refused, as in Vault.
    let ca_end = OffsetDateTime::from_unix_timestamp(ca.expiration).unwrap_or(not_after);
    if not_after > ca_end {
        let when = |t: OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        return Err(VaultError::bad_request(format!(
            "cannot satisfy request, as TTL would result in notAfter of {} that is beyond the expiration of the CA certificate at {}",
            when(not_after),
            when(ca_end)
        )));
    }
    let ca_key = KeyPair::from_pem(&ca.key_pem).map_err(pki_err)?;
    let authority_key_id = colon_hex(&ca_params(&ca.common_name).key_identifier(&ca_key));
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
    params.not_after = not_after;
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, &issuer).map_err(pki_err)?;
    Ok(Reply::data(json!({
        "authority_key_id": authority_key_id,
        "certificate": cert.pem().trim_end(),
        "issuing_ca": ca.certificate,
        "ca_chain": [ca.certificate],
        "private_key": traditional_pem(&key.serialize_der())?,
        "private_key_type": key_type,
        "serial_number": sn_text,
        "expiration": not_after.unix_timestamp(),
    }))
    .mutated())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn der_of(pem: &str, label: &str) -> Vec<u8> {
        let body: String = pem
            .strip_prefix(&format!("-----BEGIN {label}-----\n"))
            .and_then(|p| p.strip_suffix(&format!("\n-----END {label}-----")))
            .unwrap_or_else(|| panic!("not a {label} block: {pem}"))
            .lines()
            .inspect(|l| assert!(l.len() <= 64, "line of {}", l.len()))
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    }

    #[test]
    fn rsa_keys_are_pkcs1_as_vault_writes_them() {
        let key =
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048).unwrap();
        let pem = traditional_pem(&key.serialize_der()).unwrap();
        let der = der_of(&pem, "RSA PRIVATE KEY");
        aws_lc_rs::rsa::KeyPair::from_der(&der).expect("a PKCS#1 RSAPrivateKey");
    }

    #[test]
    fn ec_keys_are_sec1_with_their_curve_and_public_key() {
        let key = KeyPair::generate().unwrap();
        let pem = traditional_pem(&key.serialize_der()).unwrap();
        let der = der_of(&pem, "EC PRIVATE KEY");
        // SEQUENCE { 1, privateKey, [0] { namedCurve }, [1] { publicKey } }, as Go writes it.
        let (tag, body, rest) = der_element(&der).unwrap();
        assert_eq!((tag, rest.len()), (SEQUENCE, 0));
        let mut tags = Vec::new();
        let mut r = body;
        while let Some((t, content, next)) = der_element(r) {
            tags.push(t);
            if t == 0xa0 {
                let (oid_tag, oid, _) = der_element(content).unwrap();
                // prime256v1, 1.2.840.10045.3.1.7
                assert_eq!(
                    (oid_tag, oid),
                    (OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07][..])
                );
            }
            r = next;
        }
        assert_eq!(tags, [0x02, OCTET_STRING, 0xa0, 0xa1]);
        aws_lc_rs::signature::EcdsaKeyPair::from_private_key_der(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &der,
        )
        .expect("an RFC 5915 ECPrivateKey");
    }

    #[test]
    fn der_lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 1190] {
            let content = vec![7u8; len];
            let encoded = der(OCTET_STRING, &content);
            let (tag, back, rest) = der_element(&encoded).unwrap();
            assert_eq!((tag, back, rest.len()), (OCTET_STRING, &content[..], 0));
        }
        assert!(
            der_element(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none(),
            "5 length bytes"
        );
        assert!(der_element(&[0x30, 0x05, 1]).is_none(), "short content");
    }
}
