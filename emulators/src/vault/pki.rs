//! PKI: a root CA per mount (generated on `root/generate/internal`), roles, and `issue/<role>`
//! answering with certificate, private key and chain. What Vault answers is taken from its
//! v1.21.1 behaviour (checked answer by answer by harness/tests/vault_differential.rs) and
//! sources (`builtin/logical/pki/`), cited where it matters.

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

/// How far back a root's notBefore is set: `not_before_duration`'s default on
/// `root/generate` (`fields.go` addCACommonFields), as on roles.
const CA_NOT_BEFORE_SECS: i64 = 30;
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
    /// The UUIDs Vault gives the issuer and its key (`issuer_id`, `key_id`).
    #[serde(default)]
    pub issuer_id: String,
    #[serde(default)]
    pub key_id: String,
}

/// A role as Vault keeps and answers it: the members of `RoleEntry.ToResponseData`
/// (`builtin/logical/pki/issuing/roles.go`, Vault v1.21.1), under the same names, so a read
/// or a write answers with this serialised. A write replaces the whole role: a field it does not
/// name takes the path's default (`path_roles.go` pathRoles / pathRoleCreate), not the old value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Role {
    pub ttl: u64,
    pub max_ttl: u64,
    pub allow_localhost: bool,
    pub allowed_domains: Vec<String>,
    pub allowed_domains_template: bool,
    pub allow_bare_domains: bool,
    pub allow_token_displayname: bool,
    pub allow_subdomains: bool,
    pub allow_glob_domains: bool,
    pub allow_wildcard_certificates: bool,
    pub allow_any_name: bool,
    pub allowed_uri_sans_template: bool,
    pub enforce_hostnames: bool,
    pub allow_ip_sans: bool,
    pub server_flag: bool,
    pub client_flag: bool,
    pub code_signing_flag: bool,
    pub email_protection_flag: bool,
    pub use_csr_common_name: bool,
    pub use_csr_sans: bool,
    pub serial_number_source: String,
    pub key_type: String,
    pub key_bits: u64,
    pub signature_bits: u64,
    pub use_pss: bool,
    pub key_usage: Vec<String>,
    pub ext_key_usage: Vec<String>,
    pub ext_key_usage_oids: Vec<String>,
    pub ou: Vec<String>,
    pub organization: Vec<String>,
    pub country: Vec<String>,
    pub locality: Vec<String>,
    pub province: Vec<String>,
    pub street_address: Vec<String>,
    pub postal_code: Vec<String>,
    pub no_store: bool,
    pub allowed_other_sans: Vec<String>,
    pub allowed_serial_numbers: Vec<String>,
    pub allowed_user_ids: Vec<String>,
    pub allowed_uri_sans: Vec<String>,
    pub require_cn: bool,
    pub cn_validations: Vec<String>,
    pub policy_identifiers: Vec<String>,
    pub basic_constraints_valid_for_non_ca: bool,
    pub not_before_duration: u64,
    pub not_after: String,
    pub issuer_ref: String,
    pub generate_lease: bool,
}

impl Default for Role {
    /// The defaults of `path_roles.go` pathRoles (Vault v1.21.1), after `validateRole` fills in
    /// the key's bits and signature bits for the default RSA key.
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        Self {
            ttl: 0,
            max_ttl: 0,
            allow_localhost: true,
            allowed_domains: Vec::new(),
            allowed_domains_template: false,
            allow_bare_domains: false,
            allow_token_displayname: false,
            allow_subdomains: false,
            allow_glob_domains: false,
            allow_wildcard_certificates: true,
            allow_any_name: false,
            allowed_uri_sans_template: false,
            enforce_hostnames: true,
            allow_ip_sans: true,
            server_flag: true,
            client_flag: true,
            code_signing_flag: false,
            email_protection_flag: false,
            use_csr_common_name: true,
            use_csr_sans: true,
            serial_number_source: "json-csr".into(),
            key_type: "rsa".into(),
            key_bits: 2048,
            signature_bits: 256,
            use_pss: false,
            key_usage: strings(&["DigitalSignature", "KeyAgreement", "KeyEncipherment"]),
            ext_key_usage: Vec::new(),
            ext_key_usage_oids: Vec::new(),
            ou: Vec::new(),
            organization: Vec::new(),
            country: Vec::new(),
            locality: Vec::new(),
            province: Vec::new(),
            street_address: Vec::new(),
            postal_code: Vec::new(),
            no_store: false,
            allowed_other_sans: Vec::new(),
            allowed_serial_numbers: Vec::new(),
            allowed_user_ids: Vec::new(),
            allowed_uri_sans: Vec::new(),
            require_cn: true,
            cn_validations: strings(&["email", "hostname"]),
            policy_identifiers: Vec::new(),
            basic_constraints_valid_for_non_ca: false,
            not_before_duration: 30,
            not_after: String::new(),
            issuer_ref: DEFAULT_ISSUER_REF.into(),
            generate_lease: false,
        }
    }
}

/// The issuer a role names unless told otherwise (`defaultRef`).
const DEFAULT_ISSUER_REF: &str = "default";

impl Role {
    /// The role a write makes (`pathRoleCreate` then `validateRole`): every field from the
    /// body or its default.
    fn from_body(b: &serde_json::Map<String, Value>) -> VaultResult<Self> {
        let mut role = Self::default();
        if let Some(t) = router::validated_duration_field(b, "ttl")? {
            role.ttl = t;
        }
        if let Some(t) = router::validated_duration_field(b, "max_ttl")? {
            role.max_ttl = t;
        }
        if let Some(t) = router::validated_duration_field(b, "not_before_duration")? {
            role.not_before_duration = t;
        }
        for (field, slot) in [
            ("allow_localhost", &mut role.allow_localhost),
            (
                "allowed_domains_template",
                &mut role.allowed_domains_template,
            ),
            ("allow_bare_domains", &mut role.allow_bare_domains),
            ("allow_subdomains", &mut role.allow_subdomains),
            ("allow_glob_domains", &mut role.allow_glob_domains),
            (
                "allow_wildcard_certificates",
                &mut role.allow_wildcard_certificates,
            ),
            ("allow_any_name", &mut role.allow_any_name),
            (
                "allowed_uri_sans_template",
                &mut role.allowed_uri_sans_template,
            ),
            ("enforce_hostnames", &mut role.enforce_hostnames),
            ("allow_ip_sans", &mut role.allow_ip_sans),
            ("server_flag", &mut role.server_flag),
            ("client_flag", &mut role.client_flag),
            ("code_signing_flag", &mut role.code_signing_flag),
            ("email_protection_flag", &mut role.email_protection_flag),
            ("use_csr_common_name", &mut role.use_csr_common_name),
            ("use_csr_sans", &mut role.use_csr_sans),
            ("use_pss", &mut role.use_pss),
            ("no_store", &mut role.no_store),
            ("require_cn", &mut role.require_cn),
            (
                "basic_constraints_valid_for_non_ca",
                &mut role.basic_constraints_valid_for_non_ca,
            ),
            ("generate_lease", &mut role.generate_lease),
        ] {
            if let Some(v) = router::bool_field(b, field)? {
                *slot = v;
            }
        }
        // no_store implies generate_lease=false.
        if role.no_store {
            role.generate_lease = false;
        }
        for (field, slot) in [
            ("allowed_domains", &mut role.allowed_domains),
            ("key_usage", &mut role.key_usage),
            ("ext_key_usage", &mut role.ext_key_usage),
            ("ext_key_usage_oids", &mut role.ext_key_usage_oids),
            ("ou", &mut role.ou),
            ("organization", &mut role.organization),
            ("country", &mut role.country),
            ("locality", &mut role.locality),
            ("province", &mut role.province),
            ("street_address", &mut role.street_address),
            ("postal_code", &mut role.postal_code),
            ("allowed_other_sans", &mut role.allowed_other_sans),
            ("allowed_serial_numbers", &mut role.allowed_serial_numbers),
            ("allowed_user_ids", &mut role.allowed_user_ids),
            ("allowed_uri_sans", &mut role.allowed_uri_sans),
            ("cn_validations", &mut role.cn_validations),
            ("policy_identifiers", &mut role.policy_identifiers),
        ] {
            if let Some(v) = router::list_field(b, field)? {
                *slot = v;
            }
        }
        for (field, slot) in [
            ("serial_number_source", &mut role.serial_number_source),
            ("key_type", &mut role.key_type),
            ("not_after", &mut role.not_after),
            ("issuer_ref", &mut role.issuer_ref),
        ] {
            if let Some(v) = router::str_field(b, field) {
                v.clone_into(slot);
            }
        }
        if role.issuer_ref.is_empty() {
            DEFAULT_ISSUER_REF.clone_into(&mut role.issuer_ref);
        }
        let key_bits = router::u64_field(b, "key_bits")?.unwrap_or(0);
        let signature_bits = router::u64_field(b, "signature_bits")?.unwrap_or(0);
        if role.max_ttl > 0 && role.ttl > role.max_ttl {
            return Err(VaultError::bad_request(
                r#""ttl" value must be less than "max_ttl" value"#,
            ));
        }
        (role.key_bits, role.signature_bits) =
            key_and_signature_bits(&role.key_type, key_bits, signature_bits)?;
        if !role.serial_number_source.is_empty()
            && !matches!(role.serial_number_source.as_str(), "json-csr" | "json")
        {
            return Err(VaultError::bad_request(format!(
                "unknown serial_number_source {}",
                role.serial_number_source
            )));
        }
        Ok(role)
    }
}

/// A key type with its bits and signature bits, the defaults filled in and the combination
/// checked, as Vault's `ValidateDefaultOrValueKeyTypeSignatureLength` does
/// (`sdk/helper/certutil/helpers.go`, sdk v0.20.0): RSA 2048 with SHA-256 and EC P-256 unless
/// told otherwise; an EC key's signature bits stay 0 (the issuer's key decides them).
fn key_and_signature_bits(
    key_type: &str,
    key_bits: u64,
    signature_bits: u64,
) -> VaultResult<(u64, u64)> {
    let bits = match (key_type, key_bits) {
        ("rsa", 0) => 2048,
        ("ec", 0) => 256,
        (_, b) => b,
    };
    match key_type {
        "rsa" if bits < 2048 => {
            return Err(VaultError::bad_request(format!(
                "RSA keys < 2048 bits are unsafe and not supported: got {bits}"
            )));
        }
        "rsa" if !matches!(bits, 2048 | 3072 | 4096 | 8192) => {
            return Err(VaultError::bad_request(format!(
                "unsupported bit length for RSA key: {bits}"
            )));
        }
        "ec" if !matches!(bits, 224 | 256 | 384 | 521) => {
            return Err(VaultError::bad_request(format!(
                "unsupported bit length for EC key: {bits}"
            )));
        }
        "rsa" | "ec" | "any" | "ed25519" => {}
        other => {
            return Err(VaultError::bad_request(format!("unknown key type {other}")));
        }
    }
    let signature_bits = match key_type {
        "rsa" if signature_bits == 0 => 256,
        "ed25519" | "any" => 0,
        _ => signature_bits,
    };
    if key_type == "rsa" && !matches!(signature_bits, 256 | 384 | 512) {
        return Err(VaultError::bad_request(format!(
            "unsupported hash signature algorithm: {signature_bits}"
        )));
    }
    Ok((bits, signature_bits))
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

/// A serial as Vault makes one: a random number below 2^159
/// (`sdk/helper/certutil/helpers.go` generateSerialNumber), written as the colon-separated hex
/// of its bytes without leading zeros (`GetHexFormatted` of `big.Int.Bytes`): 20 bytes, fewer
/// when the top ones come out zero.
fn serial(ctx: &Ctx<'_>) -> (SerialNumber, String) {
    let mut bytes = ctx.core.ids.bytes(20);
    bytes[0] &= 0x7f;
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    let bytes = &bytes[start..];
    (SerialNumber::from_slice(bytes), colon_hex(bytes))
}

/// A root as Vault makes one: the common name as subject (none when none was given) and, when
/// it is a host name, as DNS name too; key usage certificate and CRL signing only; subject and
/// authority key identifiers (its own).
fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    if !common_name.is_empty() {
        dn.push(DnType::CommonName, common_name);
    }
    params.distinguished_name = dn;
    if is_host_name(common_name)
        && let Ok(name) = common_name.try_into()
    {
        params.subject_alt_names = vec![SanType::DnsName(name)];
    }
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.use_authority_key_identifier_extension = true;
    params
}

/// Whether a name goes into the DNS names: letters, digits, `-` and `*` in dot-separated
/// labels (Vault's `hostnameRegex` in `issuing/issue_common.go`, in spirit).
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'*')
        })
}

/// The subject key identifier extension (2.5.29.14), which Vault writes on every certificate
/// (`sdk/helper/certutil` createCertificate); rcgen writes it on CA certificates only.
fn subject_key_identifier(key_id: &[u8]) -> rcgen::CustomExtension {
    rcgen::CustomExtension::from_oid_content(&[2, 5, 29, 14], der(OCTET_STRING, key_id))
}

/// A TTL as a time span (TTLs from requests are at most Go's longest duration, so it fits).
fn secs(n: u64) -> Duration {
    Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A root CA: an RSA 2048 key, `root/generate`'s default `key_type` and `key_bits`.
fn generate_ca(ctx: &Ctx<'_>, common_name: &str, ttl: u64) -> VaultResult<Ca> {
    let key = KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .map_err(pki_err)?;
    let mut params = ca_params(common_name);
    let (sn, sn_text) = serial(ctx);
    params.serial_number = Some(sn);
    params.not_before = ctx.now - Duration::seconds(CA_NOT_BEFORE_SECS);
    params.not_after = ctx.now.saturating_add(secs(ttl));
    let cert = params.self_signed(&key).map_err(pki_err)?;
    Ok(Ca {
        common_name: common_name.to_owned(),
        certificate: cert.pem().trim_end().to_owned(),
        key_pem: key.serialize_pem(),
        serial_number: sn_text,
        expiration: params.not_after.unix_timestamp(),
        issuer_id: ctx.core.ids.uuid(),
        key_id: ctx.core.ids.uuid(),
    })
}

pub fn read(store: &Store, rest: &str, req: &Req) -> VaultResult<Reply> {
    match (rest, req.op) {
        // `path_fetch.go` pathFetchRead: `cert/ca` in the JSON envelope, `ca/pem` and `ca` as
        // raw bodies (PEM, DER), which are an empty 204 while the mount has no issuer.
        ("cert/ca", Op::Read) => {
            let ca = store
                .ca
                .as_ref()
                .ok_or_else(|| VaultError::bad_request(NO_ISSUER))?;
            let key = KeyPair::from_pem(&ca.key_pem).map_err(pki_err)?;
            Ok(Reply::data(json!({
                "authority_key_id": colon_hex(&ca_params(&ca.common_name).key_identifier(&key)),
                "certificate": ca.certificate,
                "revocation_time": 0,
                "revocation_time_rfc3339": "",
            }))
            .without_mount_type())
        }
        ("ca/pem", Op::Read) => Ok(Reply::text(
            "application/pem-certificate-chain",
            store
                .ca
                .as_ref()
                .map(|ca| ca.certificate.clone().into_bytes())
                .unwrap_or_default(),
        )),
        ("ca", Op::Read) => Ok(Reply::text(
            "application/pkix-cert",
            match &store.ca {
                Some(ca) => pem_der(&ca.certificate)?,
                None => Vec::new(),
            },
        )),
        ("roles" | "roles/", Op::List) => router::keys_reply(store.roles.keys().cloned().collect()),
        (_, Op::Read) if rest.starts_with("roles/") => {
            let r = store
                .roles
                .get(&rest["roles/".len()..])
                .ok_or_else(VaultError::not_found)?;
            Ok(Reply::data(role_data(r)?))
        }
        _ if rest.starts_with("issue/") => Err(VaultError::unsupported_operation()),
        _ => Err(VaultError::unsupported_path()),
    }
}

pub fn write(store: &mut Store, ctx: &Ctx<'_>, rest: &str, req: &Req) -> VaultResult<Reply> {
    let b = &req.body;
    match (rest, req.op) {
        ("root/generate/internal" | "root/generate/exported", Op::Write) => {
            // Without a common name Vault still makes the root, with no subject and a warning.
            let cn = router::str_field(b, "common_name").unwrap_or("");
            // The TTL asked for, capped at the mount's maximum (the system's 768h here: a
            // `ttl` of 87600h makes a root of 768h in Vault v1.21.1, with no warning).
            let ttl = router::validated_duration_field(b, "ttl")?
                .filter(|t| *t > 0)
                .unwrap_or(DEFAULT_TTL)
                .min(super::MAX_LEASE_TTL);
            let ca = generate_ca(ctx, cn, ttl)?;
            let mut warnings = Vec::new();
            if cn.is_empty() {
                warnings.push("This issuer certificate was generated without a Subject; this makes it likely that issuing leaf certs with this certificate will cause TLS validation libraries to reject this certificate.");
            }
            // The emulator has no `config/urls`, so no AIA fields are ever configured.
            warnings.push("This mount hasn't configured any authority information access (AIA) fields; this may make it harder for systems to find missing certificates in the chain or to validate revocation status of certificates. Consider updating /config/urls or the newly generated issuer with this information.");
            let mut data = json!({
                "certificate": ca.certificate,
                "issuing_ca": ca.certificate,
                "serial_number": ca.serial_number,
                "expiration": ca.expiration,
                "issuer_id": ca.issuer_id,
                "issuer_name": "",
                "key_id": ca.key_id,
                "key_name": "",
            });
            if rest.ends_with("exported")
                && let Value::Object(m) = &mut data
            {
                let key = KeyPair::from_pem(&ca.key_pem).map_err(pki_err)?;
                m.insert(
                    "private_key".into(),
                    json!(traditional_pem(&key.serialize_der())?),
                );
                m.insert("private_key_type".into(), json!("rsa"));
            }
            // The first root stays the mount's default issuer (`path_root.go`: a new root
            // becomes the default only when there is none).
            if store.ca.is_none() {
                store.ca = Some(ca);
            }
            let mut reply = Reply::data(data).mutated();
            for w in warnings {
                reply = reply.warn(w);
            }
            Ok(reply)
        }
        (_, Op::Write) if rest.starts_with("roles/") && rest.len() > 6 => {
            let name = rest["roles/".len()..].to_owned();
            let role = Role::from_body(b)?;
            // `validateRole`: the role names an issuer reference that is resolved only at use;
            // one that resolves to nothing yet is stored with a warning.
            let warning = (store.ca.is_none()).then(|| {
                if role.issuer_ref == DEFAULT_ISSUER_REF {
                    "Issuing Certificate was set to default, but no default issuing certificate (configurable at /config/issuers) is currently set".to_owned()
                } else {
                    format!(
                        "Issuing Certificate was set to {} but no issuing certificate currently has that name",
                        role.issuer_ref
                    )
                }
            });
            let mut reply = Reply::data(role_data(&role)?).mutated();
            if let Some(w) = warning {
                reply = reply.warn(w);
            }
            store.roles.insert(name, role);
            Ok(reply)
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

/// The DER inside a PEM block.
fn pem_der(pem: &str) -> VaultResult<Vec<u8>> {
    use base64::Engine as _;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| {
            tracing::error!(error = %e, "a stored certificate is not PEM");
            VaultError::internal()
        })
}

/// A role as its answer's `data`.
fn role_data(role: &Role) -> VaultResult<Value> {
    serde_json::to_value(role).map_err(|e| {
        tracing::error!(error = %e, "a PKI role does not serialise");
        VaultError::internal()
    })
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

/// What a mount without a root answers when its default issuer is needed (`cert/ca`: 400;
/// `issue`: 500, wrapped, see [`no_issuer_to_issue`]).
const NO_ISSUER: &str = "no default issuer currently configured";

/// `issue` before any root: `fetchCAInfo` fails and pathIssueSignCert returns the failure as
/// an error, which Vault answers as a 500 with the multierror text (observed on v1.21.1).
fn no_issuer_to_issue() -> VaultError {
    VaultError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        super::error::multierror(&[format!(
            "could not fetch the CA certificate (was one set?): {NO_ISSUER}"
        )]),
    )
}

/// A leaf's key: the role's type and size (RSA 2048 and EC P-256 by default).
fn leaf_key(role: &Role) -> VaultResult<(KeyPair, &'static str)> {
    let unsupported = || {
        tracing::error!(key_type = %role.key_type, bits = role.key_bits, "the emulator cannot make this key");
        VaultError::internal_message(format!(
            "the emulator cannot make a {} key of {} bits",
            role.key_type, role.key_bits
        ))
    };
    match (role.key_type.as_str(), role.key_bits) {
        ("ec", 256) => Ok((
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(pki_err)?,
            "ec",
        )),
        ("ec", 384) => Ok((
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(pki_err)?,
            "ec",
        )),
        ("rsa", bits) => {
            let size = match bits {
                2048 => rcgen::RsaKeySize::_2048,
                3072 => rcgen::RsaKeySize::_3072,
                4096 => rcgen::RsaKeySize::_4096,
                _ => return Err(unsupported()),
            };
            Ok((
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size).map_err(pki_err)?,
                "rsa",
            ))
        }
        ("any", _) => Err(VaultError::bad_request(
            r#"role key type "any" not allowed for issuing certificates, only signing"#,
        )),
        _ => Err(unsupported()),
    }
}

/// A role's `key_usage` name (Go's `x509.KeyUsage` names without `KeyUsage`, as Vault's
/// `parseKeyUsages` reads them, case-insensitively); an unknown one is ignored, as there.
fn key_usage(name: &str) -> Option<KeyUsagePurpose> {
    Some(match name.to_ascii_lowercase().as_str() {
        "digitalsignature" => KeyUsagePurpose::DigitalSignature,
        "contentcommitment" => KeyUsagePurpose::ContentCommitment,
        "keyencipherment" => KeyUsagePurpose::KeyEncipherment,
        "dataencipherment" => KeyUsagePurpose::DataEncipherment,
        "keyagreement" => KeyUsagePurpose::KeyAgreement,
        "certsign" => KeyUsagePurpose::KeyCertSign,
        "crlsign" => KeyUsagePurpose::CrlSign,
        "encipheronly" => KeyUsagePurpose::EncipherOnly,
        "decipheronly" => KeyUsagePurpose::DecipherOnly,
        _ => return None,
    })
}

/// A role's extended key usages: its flags (`server_flag` and `client_flag` by default).
fn extended_key_usages(role: &Role) -> Vec<rcgen::ExtendedKeyUsagePurpose> {
    use rcgen::ExtendedKeyUsagePurpose as E;
    [
        (role.server_flag, E::ServerAuth),
        (role.client_flag, E::ClientAuth),
        (role.code_signing_flag, E::CodeSigning),
        (role.email_protection_flag, E::EmailProtection),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, e)| e)
    .collect()
}

fn issue(store: &Store, ctx: &Ctx<'_>, role_name: &str, req: &Req) -> VaultResult<Reply> {
    let b = &req.body;
    let role = store
        .roles
        .get(role_name)
        .cloned()
        .ok_or_else(|| VaultError::bad_request(format!("unknown role: {role_name}")))?;
    // The issuer is fetched before the request is looked at (`path_issue_sign.go`
    // pathIssueSignCert): without a root, every issue fails the same way.
    let ca = store.ca.as_ref().ok_or_else(no_issuer_to_issue)?;
    let cn = router::str_field(b, "common_name").unwrap_or("");
    if cn.is_empty() {
        return Err(VaultError::bad_request(
            "the common_name field is required, or must be provided in a CSR with \"use_csr_common_name\" set to true, unless \"require_cn\" is set to false",
        ));
    }
    // `issuing/issue_common.go` generateCreationBundle: the alt names sorted and deduplicated,
    // the common name checked first, then the alt names with their own message.
    let mut alt_names = router::list_field(b, "alt_names")?.unwrap_or_default();
    alt_names.sort();
    alt_names.dedup();
    if !name_allowed(&role, cn) {
        return Err(VaultError::bad_request(format!(
            "common name {cn} not allowed by this role"
        )));
    }
    if let Some(bad) = alt_names.iter().find(|n| !name_allowed(&role, n)) {
        return Err(VaultError::bad_request(format!(
            "subject alternate name {bad} not allowed by this role"
        )));
    }
    // IP SANs are checked with the names, before the TTL (generateCreationBundle).
    let ip_sans = router::list_field(b, "ip_sans")?
        .unwrap_or_default()
        .into_iter()
        .map(|ip| {
            ip.parse::<std::net::IpAddr>().map_err(|_| {
                VaultError::bad_request(format!("the value {ip:?} is not a valid IP address"))
            })
        })
        .collect::<VaultResult<Vec<_>>>()?;
    let mut ttl = router::validated_duration_field(b, "ttl")?
        .filter(|t| *t > 0)
        .unwrap_or(if role.ttl > 0 { role.ttl } else { DEFAULT_TTL });
    let mut warnings = Vec::new();
    if role.max_ttl > 0 && ttl > role.max_ttl {
        // `issuing/issue_common.go` getCertificateNotAfter warns, and the issue path warns
        // again with the same text: Vault v1.21.1 answers the message twice.
        let w = format!(
            "TTL {:?} is longer than permitted maxTTL {:?}, so maxTTL is being used",
            super::duration::go_string(ttl),
            super::duration::go_string(role.max_ttl)
        );
        warnings.push(w.clone());
        warnings.push(w);
        ttl = role.max_ttl;
    }
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

    let (key, key_type) = leaf_key(&role)?;
    // The DNS names in order, as Vault's certificates carry them (observed: sorted).
    let mut names: Vec<String> = vec![cn.to_owned()];
    names.extend(alt_names.iter().cloned());
    names.sort();
    names.dedup();
    let mut params = CertificateParams::new(names).map_err(pki_err)?;
    for ip in ip_sans {
        params.subject_alt_names.push(SanType::IpAddress(ip));
    }
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    let (sn, sn_text) = serial(ctx);
    params.serial_number = Some(sn);
    params.not_before =
        ctx.now - Duration::seconds(i64::try_from(role.not_before_duration).unwrap_or(i64::MAX));
    params.not_after = not_after;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = role.key_usage.iter().filter_map(|u| key_usage(u)).collect();
    params.extended_key_usages = extended_key_usages(&role);
    params
        .custom_extensions
        .push(subject_key_identifier(&params.key_identifier(&key)));
    let cert = params.signed_by(&key, &issuer).map_err(pki_err)?;
    let mut reply = Reply::data(json!({
        "authority_key_id": authority_key_id,
        "certificate": cert.pem().trim_end(),
        "issuing_ca": ca.certificate,
        "ca_chain": [ca.certificate],
        "private_key": traditional_pem(&key.serialize_der())?,
        "private_key_type": key_type,
        "serial_number": sn_text,
        "expiration": not_after.unix_timestamp(),
    }))
    .mutated();
    for w in warnings {
        reply = reply.warn(w);
    }
    Ok(reply)
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
