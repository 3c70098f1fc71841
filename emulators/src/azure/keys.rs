//! Keys: create (RSA and EC, generated with aws-lc-rs) and import (a JWK), served as JWKs with a
//! `kid`. Private halves stay inside the emulator; no cryptographic operation is served.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Kind;
use super::error::KvError;
use super::http::{Ctx, OpResult, Outcome};
use super::objects::{ObjectKind, attributes_json, check_not_deleted, new_attributes, parse_tags};
use super::route::Action;
use super::state::Vault;
use super::store::{Store, Version};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KeyData {
    pub kty: String,
    pub key_ops: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// PKCS#8 DER (standard base64) of a generated key; kept so certificates can pair with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_pkcs8: Option<String>,
    #[serde(default)]
    pub managed: bool,
}

pub(crate) struct Keys;

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl ObjectKind for Keys {
    type Data = KeyData;
    const KIND: Kind = Kind::Key;

    fn store(vault: &Vault) -> &Store<KeyData> {
        &vault.keys
    }

    fn store_mut(vault: &mut Vault) -> &mut Store<KeyData> {
        &mut vault.keys
    }

    fn bundle(base: &str, name: &str, v: &Version<KeyData>) -> Value {
        let mut key = json!({
            "kid": format!("{base}/keys/{name}/{}", v.id),
            "kty": v.data.kty,
            "key_ops": v.data.key_ops,
        });
        for (field, value) in [
            ("n", &v.data.n),
            ("e", &v.data.e),
            ("crv", &v.data.crv),
            ("x", &v.data.x),
            ("y", &v.data.y),
        ] {
            if let Some(value) = value {
                key[field] = json!(value);
            }
        }
        let mut attributes = attributes_json(&v.attributes);
        attributes["exportable"] = json!(false);
        let mut b = json!({ "key": key, "attributes": attributes });
        if let Some(tags) = &v.tags {
            b["tags"] = json!(tags);
        }
        if v.data.managed {
            b["managed"] = json!(true);
        }
        b
    }

    fn item(base: &str, name: &str, v: &Version<KeyData>, with_version: bool) -> Value {
        let mut attributes = attributes_json(&v.attributes);
        attributes["exportable"] = json!(false);
        // Key list entries carry `kid`, not `id`.
        let kid = if with_version {
            format!("{base}/keys/{name}/{}", v.id)
        } else {
            format!("{base}/keys/{name}")
        };
        let mut b = json!({ "kid": kid, "attributes": attributes });
        if let Some(tags) = &v.tags {
            b["tags"] = json!(tags);
        }
        b
    }

    fn patch(data: &mut KeyData, input: &Value) -> Result<(), KvError> {
        if let Some(ops) = input.get("key_ops").filter(|v| !v.is_null()) {
            data.key_ops = serde_json::from_value(ops.clone())
                .map_err(|_| KvError::bad_parameter("Property key_ops has invalid value"))?;
        }
        Ok(())
    }
}

fn default_ops(kty: &str) -> Vec<String> {
    let ops: &[&str] = if kty.starts_with("EC") {
        &["sign", "verify"]
    } else {
        &[
            "encrypt",
            "decrypt",
            "sign",
            "verify",
            "wrapKey",
            "unwrapKey",
        ]
    };
    ops.iter().map(|s| (*s).to_owned()).collect()
}

/// Generates a key of type `kty` (`RSA`, `RSA-HSM`, `EC`, `EC-HSM`).
pub fn generate(kty: &str, key_size: Option<u64>, crv: Option<&str>) -> Result<KeyData, KvError> {
    let std_b64 = base64::engine::general_purpose::STANDARD;
    match kty {
        "RSA" | "RSA-HSM" => {
            let size = match key_size.unwrap_or(2048) {
                2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
                3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
                4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
                other => {
                    return Err(KvError::bad_parameter(format!(
                        "The key size {other} is not supported; use 2048, 3072 or 4096."
                    )));
                }
            };
            let pair = aws_lc_rs::rsa::KeyPair::generate(size).map_err(|_| KvError::internal())?;
            let public = pair.public_key();
            let der = pair.as_der().map_err(|_| KvError::internal())?;
            Ok(KeyData {
                kty: kty.to_owned(),
                key_ops: default_ops(kty),
                n: Some(b64url(public.modulus().big_endian_without_leading_zero())),
                e: Some(b64url(public.exponent().big_endian_without_leading_zero())),
                private_pkcs8: Some(std_b64.encode(der.as_ref())),
                ..KeyData::default()
            })
        }
        "EC" | "EC-HSM" => {
            use aws_lc_rs::signature;
            let (alg, len) = match crv.unwrap_or("P-256") {
                "P-256" => (&signature::ECDSA_P256_SHA256_ASN1_SIGNING, 32),
                "P-384" => (&signature::ECDSA_P384_SHA384_ASN1_SIGNING, 48),
                "P-521" => (&signature::ECDSA_P521_SHA512_ASN1_SIGNING, 66),
                other => {
                    return Err(KvError::bad_parameter(format!(
                        "The curve {other} is not supported; use P-256, P-384 or P-521."
                    )));
                }
            };
            let pair = signature::EcdsaKeyPair::generate(alg).map_err(|_| KvError::internal())?;
            let point = pair.public_key().as_ref().to_vec();
            if point.len() != 1 + 2 * len {
                return Err(KvError::internal());
            }
            let pkcs8 = pair.to_pkcs8v1().map_err(|_| KvError::internal())?;
            Ok(KeyData {
                kty: kty.to_owned(),
                key_ops: default_ops(kty),
                crv: Some(crv.unwrap_or("P-256").to_owned()),
                x: Some(b64url(&point[1..=len])),
                y: Some(b64url(&point[1 + len..])),
                private_pkcs8: Some(std_b64.encode(pkcs8.as_ref())),
                ..KeyData::default()
            })
        }
        other => Err(KvError::bad_parameter(format!(
            "The key type {other} is not supported; use RSA, RSA-HSM, EC or EC-HSM."
        ))),
    }
}

fn str_field<'a>(v: &'a Value, field: &str) -> Result<Option<&'a str>, KvError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(KvError::bad_parameter(format!(
            "Property {field} has invalid value"
        ))),
    }
}

/// A JWK from an import body: public parts only are kept.
fn imported(jwk: &Value) -> Result<KeyData, KvError> {
    let kty =
        str_field(jwk, "kty")?.ok_or_else(|| KvError::bad_parameter("The key must have a kty."))?;
    let get = |f: &str| str_field(jwk, f).map(|o| o.map(str::to_owned));
    let data = match kty {
        "RSA" | "RSA-HSM" => KeyData {
            n: Some(get("n")?.ok_or_else(|| KvError::bad_parameter("An RSA key needs n."))?),
            e: Some(get("e")?.ok_or_else(|| KvError::bad_parameter("An RSA key needs e."))?),
            ..KeyData::default()
        },
        "EC" | "EC-HSM" => KeyData {
            crv: Some(get("crv")?.ok_or_else(|| KvError::bad_parameter("An EC key needs crv."))?),
            x: Some(get("x")?.ok_or_else(|| KvError::bad_parameter("An EC key needs x."))?),
            y: Some(get("y")?.ok_or_else(|| KvError::bad_parameter("An EC key needs y."))?),
            ..KeyData::default()
        },
        other => {
            return Err(KvError::bad_parameter(format!(
                "The key type {other} is not supported; use RSA, RSA-HSM, EC or EC-HSM."
            )));
        }
    };
    let key_ops = match jwk.get("key_ops") {
        None | Some(Value::Null) => default_ops(kty),
        Some(ops) => serde_json::from_value(ops.clone())
            .map_err(|_| KvError::bad_parameter("Property key_ops has invalid value"))?,
    };
    Ok(KeyData {
        kty: kty.to_owned(),
        key_ops,
        ..data
    })
}

/// `POST /keys/{n}/create` and `PUT /keys/{n}` (import).
pub(crate) fn create(
    ctx: &mut Ctx<'_>,
    vault: &mut Vault,
    name: &str,
    action: Action,
    input: &Value,
) -> OpResult {
    let data = if action == Action::Create {
        let kty = str_field(input, "kty")?
            .ok_or_else(|| KvError::bad_parameter("The parameter kty is required."))?;
        let size = match input.get("key_size") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .ok_or_else(|| KvError::bad_parameter("Property key_size has invalid value"))?,
            ),
        };
        let mut data = generate(kty, size, str_field(input, "crv")?)?;
        if let Some(ops) = input.get("key_ops").filter(|v| !v.is_null()) {
            data.key_ops = serde_json::from_value(ops.clone())
                .map_err(|_| KvError::bad_parameter("Property key_ops has invalid value"))?;
        }
        data
    } else {
        let jwk = input
            .get("key")
            .ok_or_else(|| KvError::bad_parameter("The parameter key is required."))?;
        imported(jwk)?
    };
    check_not_deleted(&vault.keys, Kind::Key, name)?;
    let created = vault.keys.next_created(name, ctx.now);
    let version = Version {
        id: ctx.new_version_id(),
        attributes: new_attributes(input, created)?,
        tags: parse_tags(input)?,
        data,
    };
    ctx.record.key("version", version.id.clone());
    vault.keys.push(name, version);
    let item = vault.keys.get(name).ok_or_else(KvError::internal)?;
    let latest = item.latest().ok_or_else(KvError::internal)?;
    Ok(Outcome::wrote(Keys::bundle(&ctx.base, &item.name, latest)))
}
