//! Certificates: import (PEM or PFX) and create (self-signed only). Each version also makes a
//! managed key and a managed secret with the same name and version, as Key Vault does; the secret
//! holds the certificate and key as PEM, or as a legacy PFX (PBE-SHA1-3DES/RC2, SHA-1 MAC, empty
//! password), the only PFX the Go provider's x/crypto/pkcs12 can read.

use aws_lc_rs::signature::KeyPair as _;
use axum::http::StatusCode;
use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Kind;
use super::error::KvError;
use super::http::{Ctx, OpResult, Outcome};
use super::keys::KeyData;
use super::objects::{ObjectKind, attributes_json, check_not_deleted, new_attributes, parse_tags};
use super::route::{Action, Route};
use super::secrets::SecretData;
use super::state::Vault;
use super::store::{Attributes, Store, Version};
use crate::core::pem;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CertData {
    /// DER of the leaf certificate, standard base64 (Key Vault's `cer`).
    pub cer: String,
    /// base64url SHA-1 of the DER.
    pub x5t: String,
    #[serde(default)]
    pub policy: Value,
}

pub(crate) struct Certificates;

impl ObjectKind for Certificates {
    type Data = CertData;
    const KIND: Kind = Kind::Certificate;

    fn store(vault: &Vault) -> &Store<CertData> {
        &vault.certificates
    }

    fn store_mut(vault: &mut Vault) -> &mut Store<CertData> {
        &mut vault.certificates
    }

    fn bundle(base: &str, name: &str, v: &Version<CertData>) -> Value {
        let mut b = json!({
            "id": format!("{base}/certificates/{name}/{}", v.id),
            "kid": format!("{base}/keys/{name}/{}", v.id),
            "sid": format!("{base}/secrets/{name}/{}", v.id),
            "x5t": v.data.x5t,
            "cer": v.data.cer,
            "attributes": attributes_json(&v.attributes),
        });
        if v.data.policy.is_object() {
            let mut policy = v.data.policy.clone();
            policy["id"] = json!(format!("{base}/certificates/{name}/policy"));
            b["policy"] = policy;
        }
        if let Some(tags) = &v.tags {
            b["tags"] = json!(tags);
        }
        b
    }

    fn item(base: &str, name: &str, v: &Version<CertData>, with_version: bool) -> Value {
        let id = if with_version {
            format!("{base}/certificates/{name}/{}", v.id)
        } else {
            format!("{base}/certificates/{name}")
        };
        let mut b =
            json!({ "id": id, "x5t": v.data.x5t, "attributes": attributes_json(&v.attributes) });
        if let Some(tags) = &v.tags {
            b["tags"] = json!(tags);
        }
        b
    }
}

pub(crate) fn read_extra(ctx: &mut Ctx<'_>, vault: &Vault, route: &Route) -> OpResult {
    let name = route.name.as_deref().unwrap_or_default();
    let item = vault
        .certificates
        .get(name)
        .ok_or_else(|| KvError::not_found(Kind::Certificate, name))?;
    let latest = item
        .latest()
        .ok_or_else(|| KvError::not_found(Kind::Certificate, name))?;
    match route.action {
        Action::GetPolicy => {
            let mut policy = latest.data.policy.clone();
            if policy.is_object() {
                policy["id"] = json!(format!("{}/certificates/{}/policy", ctx.base, item.name));
            }
            Ok(Outcome::read(policy))
        }
        // Creation completes at once, so the operation is always found completed.
        _ => Ok(Outcome::read(operation(&ctx.base, &item.name))),
    }
}

fn operation(base: &str, name: &str) -> Value {
    json!({
        "id": format!("{base}/certificates/{name}/pending"),
        "issuer": { "name": "Self" },
        "cancellation_requested": false,
        "status": "completed",
        "target": format!("{base}/certificates/{name}"),
        "request_id": name,
    })
}

const PEM: &str = "application/x-pem-file";
const PFX: &str = "application/x-pkcs12";

fn bad(message: impl Into<String>) -> KvError {
    KvError::bad_parameter(message)
}

/// The certificate chain (leaf first) and PKCS#8 key of an import.
fn parse_import(
    value: &str,
    password: &str,
    content_type: &str,
) -> Result<(Vec<Vec<u8>>, Vec<u8>), KvError> {
    if content_type == PEM || value.contains("-----BEGIN") {
        let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(value.as_bytes())
            .filter_map(Result::ok)
            .map(|c| c.to_vec())
            .collect();
        let key = match PrivateKeyDer::from_pem_slice(value.as_bytes()) {
            Ok(PrivateKeyDer::Pkcs8(k)) => k.secret_pkcs8_der().to_vec(),
            Ok(_) => return Err(bad("The private key must be PKCS#8 (BEGIN PRIVATE KEY).")),
            Err(_) => return Err(bad("The PEM holds no private key.")),
        };
        if certs.is_empty() {
            return Err(bad("The PEM holds no certificate."));
        }
        return Ok((certs, key));
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| bad("The certificate value is neither PEM nor base64 PKCS#12."))?;
    let pfx = p12::PFX::parse(&der).map_err(|_| {
        bad("The PKCS#12 could not be read (only legacy PBE-SHA1 PKCS#12 files are supported).")
    })?;
    if !pfx.verify_mac(password) {
        return Err(bad("The password of the PKCS#12 is not correct."));
    }
    let certs = pfx
        .cert_x509_bags(password)
        .map_err(|_| bad("The PKCS#12 certificates could not be read."))?;
    let key = pfx
        .key_bags(password)
        .ok()
        .and_then(|k| k.into_iter().next())
        .ok_or_else(|| bad("The PKCS#12 holds no private key."))?;
    if certs.is_empty() {
        return Err(bad("The PKCS#12 holds no certificate."));
    }
    Ok((certs, key))
}

/// The public JWK of a PKCS#8 key (RSA or EC P-256/384/521).
fn public_jwk(pkcs8: &[u8]) -> Result<KeyData, KvError> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let std = base64::engine::general_purpose::STANDARD;
    if let Ok(rsa) = aws_lc_rs::rsa::KeyPair::from_pkcs8(pkcs8) {
        let public = rsa.public_key();
        return Ok(KeyData {
            kty: "RSA".into(),
            key_ops: [
                "sign",
                "verify",
                "encrypt",
                "decrypt",
                "wrapKey",
                "unwrapKey",
            ]
            .map(String::from)
            .to_vec(),
            n: Some(b64.encode(public.modulus().big_endian_without_leading_zero())),
            e: Some(b64.encode(public.exponent().big_endian_without_leading_zero())),
            private_pkcs8: Some(std.encode(pkcs8)),
            managed: true,
            ..KeyData::default()
        });
    }
    use aws_lc_rs::signature as sig;
    for (alg, crv, len) in [
        (&sig::ECDSA_P256_SHA256_ASN1_SIGNING, "P-256", 32),
        (&sig::ECDSA_P384_SHA384_ASN1_SIGNING, "P-384", 48),
        (&sig::ECDSA_P521_SHA512_ASN1_SIGNING, "P-521", 66),
    ] {
        if let Ok(ec) = sig::EcdsaKeyPair::from_pkcs8(alg, pkcs8) {
            let point = ec.public_key().as_ref();
            if point.len() != 1 + 2 * len {
                continue;
            }
            return Ok(KeyData {
                kty: "EC".into(),
                key_ops: vec!["sign".into(), "verify".into()],
                crv: Some(crv.into()),
                x: Some(b64.encode(&point[1..=len])),
                y: Some(b64.encode(&point[1 + len..])),
                private_pkcs8: Some(std.encode(pkcs8)),
                managed: true,
                ..KeyData::default()
            });
        }
    }
    Err(bad(
        "The private key is not an RSA or EC (P-256, P-384, P-521) key.",
    ))
}

/// The managed secret's value: PEM (key first, then the chain) or base64 legacy PFX.
fn secret_value(content_type: &str, certs: &[Vec<u8>], key: &[u8]) -> Result<String, KvError> {
    if content_type == PEM {
        let mut out = pem::block("PRIVATE KEY", key);
        for c in certs {
            out.push_str(&pem::block("CERTIFICATE", c));
        }
        return Ok(out);
    }
    let (leaf, chain) = certs.split_first().ok_or_else(KvError::internal)?;
    let chain: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
    let pfx = p12::PFX::new_with_cas(leaf, key, &chain, "", "")
        .ok_or_else(|| bad("The certificate could not be packed as PKCS#12."))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(pfx.to_der()))
}

fn subject_cn(subject: &str) -> String {
    subject
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("CN="))
        .next()
        .unwrap_or(subject)
        .to_owned()
}

/// A self-signed certificate and its PKCS#8 key from a create policy.
fn self_signed(policy: &Value) -> Result<(Vec<Vec<u8>>, Vec<u8>), KvError> {
    let issuer = policy["issuer"]["name"].as_str().unwrap_or("Self");
    if !issuer.eq_ignore_ascii_case("Self") {
        return Err(bad(format!(
            "Issuer {issuer} is not supported by this emulator; only Self."
        )));
    }
    let x509 = &policy["x509_props"];
    let subject = x509["subject"]
        .as_str()
        .ok_or_else(|| bad("The policy must have x509_props.subject."))?;
    let sans: Vec<String> = x509["sans"]["dns_names"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let kty = policy["key_props"]["kty"].as_str().unwrap_or("RSA");
    let key = if kty.starts_with("EC") {
        let alg = match policy["key_props"]["crv"].as_str().unwrap_or("P-256") {
            "P-256" => &rcgen::PKCS_ECDSA_P256_SHA256,
            "P-384" => &rcgen::PKCS_ECDSA_P384_SHA384,
            other => return Err(bad(format!("The curve {other} is not supported."))),
        };
        rcgen::KeyPair::generate_for(alg)
    } else {
        let size = match policy["key_props"]["key_size"].as_u64().unwrap_or(2048) {
            2048 => rcgen::RsaKeySize::_2048,
            3072 => rcgen::RsaKeySize::_3072,
            4096 => rcgen::RsaKeySize::_4096,
            other => return Err(bad(format!("The key size {other} is not supported."))),
        };
        rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size)
    }
    .map_err(|_| KvError::internal())?;
    let mut params = rcgen::CertificateParams::new(sans)
        .map_err(|e| bad(format!("The subject alternative names are not valid: {e}")))?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, subject_cn(subject));
    params.distinguished_name = dn;
    let months = x509["validity_months"]
        .as_i64()
        .unwrap_or(12)
        .clamp(1, 1200);
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(months * 30);
    let cert = params.self_signed(&key).map_err(|_| KvError::internal())?;
    Ok((vec![cert.der().to_vec()], key.serialize_der()))
}

/// `POST /certificates/{n}/import` and `POST /certificates/{n}/create`.
pub(crate) fn create(
    ctx: &mut Ctx<'_>,
    vault: &mut Vault,
    name: &str,
    action: Action,
    input: &Value,
) -> OpResult {
    let mut policy = match input.get("policy") {
        Some(p @ Value::Object(_)) => p.clone(),
        None | Some(Value::Null) if action == Action::Import => json!({}),
        _ => return Err(bad("The parameter policy is required.")),
    };
    let (certs, key) = if action == Action::Import {
        let value = input["value"]
            .as_str()
            .ok_or_else(|| bad("The parameter value is required."))?;
        let password = input["pwd"].as_str().unwrap_or_default();
        let declared = policy["secret_props"]["contentType"]
            .as_str()
            .unwrap_or_default();
        parse_import(value, password, declared)?
    } else {
        self_signed(&policy)?
    };
    let content_type = match policy["secret_props"]["contentType"].as_str() {
        Some(PEM) => PEM,
        Some(PFX) | None => PFX,
        Some(other) => return Err(bad(format!("The content type {other} is not supported."))),
    };
    policy["secret_props"] = json!({ "contentType": content_type });
    if policy.get("issuer").is_none() {
        policy["issuer"] =
            json!({ "name": if action == Action::Import { "Unknown" } else { "Self" } });
    }
    let jwk = public_jwk(&key)?;
    let secret = secret_value(content_type, &certs, &key)?;
    let leaf = certs.first().ok_or_else(KvError::internal)?;
    let std = base64::engine::general_purpose::STANDARD;
    let x5t = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, leaf).as_ref(),
    );

    check_not_deleted(&vault.certificates, Kind::Certificate, name)?;
    let created = vault
        .certificates
        .next_created(name, ctx.now)
        .max(vault.secrets.next_created(name, ctx.now))
        .max(vault.keys.next_created(name, ctx.now));
    let id = ctx.new_version_id();
    let attributes: Attributes = new_attributes(input, created)?;
    let tags = parse_tags(input)?;
    ctx.record.key("version", id.clone());
    vault.keys.push(
        name,
        Version {
            id: id.clone(),
            attributes: attributes.clone(),
            tags: tags.clone(),
            data: jwk,
        },
    );
    vault.secrets.push(
        name,
        Version {
            id: id.clone(),
            attributes: attributes.clone(),
            tags: tags.clone(),
            data: SecretData {
                value: secret,
                content_type: Some(content_type.to_owned()),
                // Rendered against the request's base URL.
                kid: Some(format!("/keys/{name}/{id}")),
                managed: true,
            },
        },
    );
    vault.certificates.push(
        name,
        Version {
            id,
            attributes,
            tags,
            data: CertData {
                cer: std.encode(leaf),
                x5t,
                policy,
            },
        },
    );
    let item = vault.certificates.get(name).ok_or_else(KvError::internal)?;
    let latest = item.latest().ok_or_else(KvError::internal)?;
    if action == Action::Create {
        // Key Vault answers a create with the operation still in progress (clients poll
        // `/pending`, and azure-keyvault-certificates only fetches the certificate after seeing
        // it move on); the emulator has already finished, so the first poll finds it completed.
        let mut op = operation(&ctx.base, &item.name);
        op["csr"] = json!(null);
        op["status"] = json!("inProgress");
        op["status_details"] = json!(
            "Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later."
        );
        if let Some(m) = op.as_object_mut() {
            m.remove("target");
        }
        let api_version = ctx
            .query
            .get("api-version")
            .map(String::as_str)
            .unwrap_or("7.4");
        return Ok(Outcome {
            status: StatusCode::ACCEPTED,
            body: Some(op),
            mutated: true,
            poll_at: Some(format!(
                "{}/certificates/{}/pending?api-version={api_version}&request_id={}",
                ctx.base, item.name, item.name
            )),
        });
    }
    Ok(Outcome::wrote(Certificates::bundle(
        &ctx.base, &item.name, latest,
    )))
}
