//! The key file of `azure.importKey`, read as the JSON Web Key that Key Vault's "Import Key"
//! takes (`PUT /keys/{name}`, body `{"key": <JWK>}`): a JWK as it is, or a PEM key converted
//! the way `az keyvault key import --pem-file` sends one (every RSA component, or an EC key's
//! curve, point and private scalar; Key Vault keeps the private parts and "Get Key" answers
//! with the public ones). Lint reads the file with the same code as the run, so a file the run
//! could not send is a lint error.
//!
//! Parsing is RustCrypto's (`pkcs8`, `pkcs1`, `sec1`, `spki` for the structures, x509-parser
//! for the PEM armour); an EC private key goes through aws-lc-rs, which checks it and derives
//! its public point when the file leaves it out.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use pkcs8::der::asn1::ObjectIdentifier;
use serde_json::{Map, Value, json};
use x509_parser::pem::Pem;

/// Why a key file cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("reading key file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("key file {path}: {why}")]
    Invalid { path: PathBuf, why: String },
}

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// An elliptic curve Key Vault keys can be on: its JWK name and coordinate length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Curve {
    jwk: &'static str,
    len: usize,
    oid: Option<ObjectIdentifier>,
}

/// Key Vault's curves. P-256K (secp256k1) is taken in a JWK only: the PEM conversion checks
/// keys with aws-lc-rs signing algorithms, and the Azure provider cannot mount it anyway
/// (its `getCurve` knows P-256, P-384 and P-521).
const CURVES: [Curve; 4] = [
    Curve {
        jwk: "P-256",
        len: 32,
        oid: Some(ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7")),
    },
    Curve {
        jwk: "P-384",
        len: 48,
        oid: Some(ObjectIdentifier::new_unwrap("1.3.132.0.34")),
    },
    Curve {
        jwk: "P-521",
        len: 66,
        oid: Some(ObjectIdentifier::new_unwrap("1.3.132.0.35")),
    },
    Curve {
        jwk: "P-256K",
        len: 32,
        oid: None,
    },
];

/// The RSA sizes Key Vault keys have.
const RSA_BITS: [usize; 3] = [2048, 3072, 4096];

/// The JWK for the key file at `path`: JSON (a JWK, checked and sent as it is) or PEM.
pub fn read_jwk(path: &Path) -> Result<Value, KeyFileError> {
    let bytes = std::fs::read(path).map_err(|source| KeyFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    jwk_from_bytes(&bytes).map_err(|why| KeyFileError::Invalid {
        path: path.to_owned(),
        why,
    })
}

/// The JWK a key file's contents stand for; `Err` says what is wrong with them.
pub fn jwk_from_bytes(bytes: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| "not text: give a JWK (JSON) or a PEM key".to_owned())?;
    if text.trim_start().starts_with('{') {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("not a JSON Web Key: {e}"))?;
        let Value::Object(jwk) = value else {
            return Err("not a JSON Web Key: the JSON is not an object".to_owned());
        };
        check_jwk(&jwk)?;
        Ok(Value::Object(jwk))
    } else {
        pem_to_jwk(text)
    }
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWK field's bytes (base64url without padding, as JWKs write them), if present.
fn field(jwk: &Map<String, Value>, name: &str) -> Result<Option<Vec<u8>>, String> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .map(Some)
            .map_err(|e| format!("`{name}` is not base64url without padding: {e}")),
        Some(other) => Err(format!("`{name}` is {other}, not a base64url string")),
    }
}

fn required(jwk: &Map<String, Value>, kty: &str, name: &str) -> Result<Vec<u8>, String> {
    field(jwk, name)?.ok_or_else(|| format!("an {kty} key needs `{name}`"))
}

/// What Key Vault's import checks of a JWK's shape: a type it keeps, the fields that type
/// needs, well-formed values of a size it takes.
fn check_jwk(jwk: &Map<String, Value>) -> Result<(), String> {
    let Some(kty) = jwk.get("kty") else {
        return Err(if jwk.contains_key("key") {
            "this is an Import Key request body; the file holds only its `key`, the JWK".to_owned()
        } else {
            "a JWK needs `kty` (RSA, RSA-HSM, EC or EC-HSM)".to_owned()
        });
    };
    let kty = kty.as_str().ok_or("`kty` is not a string")?;
    // Every binary member decodes, whatever the type.
    for name in ["n", "e", "d", "p", "q", "dp", "dq", "qi", "x", "y", "k"] {
        field(jwk, name)?;
    }
    match kty {
        "RSA" | "RSA-HSM" => {
            let n = required(jwk, kty, "n")?;
            required(jwk, kty, "e")?;
            check_rsa_bits(&n)?;
        }
        "EC" | "EC-HSM" => {
            let crv = jwk
                .get("crv")
                .ok_or_else(|| format!("an {kty} key needs `crv`"))?
                .as_str()
                .ok_or("`crv` is not a string")?;
            let curve = CURVES.iter().find(|c| c.jwk == crv).ok_or_else(|| {
                format!(
                    "curve `{crv}` is not one Key Vault keys have (P-256, P-384, P-521, P-256K)"
                )
            })?;
            for name in ["x", "y", "d"] {
                let value = if name == "d" {
                    field(jwk, name)?
                } else {
                    Some(required(jwk, kty, name)?)
                };
                if let Some(v) = value
                    && v.len() != curve.len
                {
                    return Err(format!(
                        "`{name}` has {} bytes; on {crv} it has exactly {} (RFC 7518 §6.2.1.2: full length, leading zeros kept)",
                        v.len(),
                        curve.len
                    ));
                }
            }
        }
        other => {
            return Err(format!(
                "`kty` `{other}`: Key Vault imports RSA, RSA-HSM, EC and EC-HSM keys"
            ));
        }
    }
    Ok(())
}

/// A modulus (big-endian, no leading zeros) of a size Key Vault takes.
fn check_rsa_bits(n: &[u8]) -> Result<(), String> {
    let first = n.iter().position(|b| *b != 0).unwrap_or(n.len());
    let n = &n[first..];
    let bits = n
        .first()
        .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
    if RSA_BITS.contains(&bits) {
        Ok(())
    } else {
        Err(format!(
            "an RSA key of {bits} bits; Key Vault keys have 2048, 3072 or 4096"
        ))
    }
}

/// The one key in PEM `text` as a JWK. Certificates and `EC PARAMETERS` blocks beside it are
/// passed over (`openssl ecparam -genkey` writes one; a certificate's PEM file holds its key).
fn pem_to_jwk(text: &str) -> Result<Value, String> {
    let mut keys = Vec::new();
    for block in Pem::iter_from_buffer(text.as_bytes()) {
        let block = block.map_err(|e| format!("not PEM: {e}"))?;
        match block.label.as_str() {
            "CERTIFICATE" | "EC PARAMETERS" => {}
            "ENCRYPTED PRIVATE KEY" => {
                return Err("the private key is encrypted; write it unencrypted \
                            (`openssl pkey -in KEY -out KEY.pem`)"
                    .to_owned());
            }
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "PUBLIC KEY"
            | "RSA PUBLIC KEY" => keys.push(block),
            other => {
                return Err(format!(
                    "a `{other}` PEM block; a key file holds PRIVATE KEY (PKCS#8), \
                     RSA PRIVATE KEY (PKCS#1), EC PRIVATE KEY (SEC1), PUBLIC KEY \
                     (SubjectPublicKeyInfo) or RSA PUBLIC KEY"
                ));
            }
        }
    }
    let block = match keys.as_slice() {
        [one] => one,
        [] => {
            return Err(
                "no key in it: give a JWK (JSON) or a PEM key (-----BEGIN PRIVATE KEY-----, \
                 ...)"
                    .to_owned(),
            );
        }
        more => return Err(format!("{} keys in it; a key file holds one", more.len())),
    };
    let der = block.contents.as_slice();
    match block.label.as_str() {
        "PRIVATE KEY" => pkcs8_to_jwk(der),
        "RSA PRIVATE KEY" => rsa_private_to_jwk(der),
        "EC PRIVATE KEY" => {
            let key = sec1::EcPrivateKey::try_from(der)
                .map_err(|e| format!("EC PRIVATE KEY is not SEC1: {e}"))?;
            let oid = key
                .parameters
                .and_then(|p| p.named_curve())
                .ok_or("the EC PRIVATE KEY names no curve (SEC1 `parameters`)")?;
            ec_private_to_jwk(curve_of(oid)?, der)
        }
        "PUBLIC KEY" => spki_to_jwk(der),
        _ => {
            let key = pkcs1::RsaPublicKey::try_from(der)
                .map_err(|e| format!("RSA PUBLIC KEY is not PKCS#1: {e}"))?;
            rsa_public_jwk(key.modulus.as_bytes(), key.public_exponent.as_bytes())
        }
    }
}

fn curve_of(oid: ObjectIdentifier) -> Result<Curve, String> {
    CURVES
        .iter()
        .find(|c| c.oid == Some(oid))
        .copied()
        .ok_or_else(|| {
            format!(
                "the key is on curve {oid}; Key Vault keys in PEM here are P-256, P-384 or P-521"
            )
        })
}

fn pkcs8_to_jwk(der: &[u8]) -> Result<Value, String> {
    let info = pkcs8::PrivateKeyInfo::try_from(der)
        .map_err(|e| format!("PRIVATE KEY is not PKCS#8: {e}"))?;
    match info.algorithm.oid {
        RSA_ENCRYPTION => rsa_private_to_jwk(info.private_key),
        EC_PUBLIC_KEY => {
            let oid = info
                .algorithm
                .parameters_oid()
                .map_err(|e| format!("the EC key names no curve: {e}"))?;
            // aws-lc-rs reads the whole PKCS#8 document (its inner SEC1 key leaves the curve
            // to the wrapper).
            ec_private_to_jwk(curve_of(oid)?, der)
        }
        other => Err(format!(
            "a PKCS#8 key of algorithm {other}; Key Vault imports RSA and EC keys"
        )),
    }
}

/// Every component of a PKCS#1 private key, as JWK members (RFC 7518 §6.3.2).
fn rsa_private_to_jwk(der: &[u8]) -> Result<Value, String> {
    let key = pkcs1::RsaPrivateKey::try_from(der)
        .map_err(|e| format!("the RSA private key is not PKCS#1: {e}"))?;
    if key.other_prime_infos.is_some() {
        return Err("a multi-prime RSA key; Key Vault keys have two primes".to_owned());
    }
    // A key whose parts do not belong together fails here rather than in the vault.
    aws_lc_rs::rsa::KeyPair::from_der(der)
        .map_err(|e| format!("the RSA private key does not hold together: {e}"))?;
    let mut jwk = rsa_public_jwk(key.modulus.as_bytes(), key.public_exponent.as_bytes())?;
    for (name, value) in [
        ("d", key.private_exponent),
        ("p", key.prime1),
        ("q", key.prime2),
        ("dp", key.exponent1),
        ("dq", key.exponent2),
        ("qi", key.coefficient),
    ] {
        jwk[name] = json!(b64url(value.as_bytes()));
    }
    Ok(jwk)
}

fn rsa_public_jwk(n: &[u8], e: &[u8]) -> Result<Value, String> {
    check_rsa_bits(n)?;
    Ok(json!({"kty": "RSA", "n": b64url(n), "e": b64url(e)}))
}

/// An EC private key (SEC1, or PKCS#8 around it) on `curve`: its point from aws-lc-rs, which
/// checks the key and computes the point when the file leaves it out.
fn ec_private_to_jwk(curve: Curve, der: &[u8]) -> Result<Value, String> {
    use aws_lc_rs::encoding::AsBigEndian as _;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
    let alg = match curve.jwk {
        "P-256" => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        "P-384" => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        _ => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
    };
    let pair = EcdsaKeyPair::from_private_key_der(alg, der)
        .map_err(|e| format!("the {} private key does not parse: {e}", curve.jwk))?;
    let d = pair
        .private_key()
        .as_be_bytes()
        .map_err(|_| format!("the {} private key cannot be read back", curve.jwk))?;
    let mut jwk = ec_public_jwk(curve, pair.public_key().as_ref())?;
    jwk["d"] = json!(b64url(d.as_ref()));
    Ok(jwk)
}

/// An uncompressed point `04 || x || y` as a JWK.
fn ec_public_jwk(curve: Curve, point: &[u8]) -> Result<Value, String> {
    match point.split_first() {
        Some((4, xy)) if xy.len() == 2 * curve.len => {
            let (x, y) = xy.split_at(curve.len);
            Ok(json!({"kty": "EC", "crv": curve.jwk, "x": b64url(x), "y": b64url(y)}))
        }
        Some((2 | 3, _)) => Err(format!(
            "the {} point is compressed; write it uncompressed \
             (`openssl ec -pubin -in KEY -conv_form uncompressed`)",
            curve.jwk
        )),
        _ => Err(format!(
            "the {} point is not {} bytes `04 || x || y`",
            curve.jwk,
            1 + 2 * curve.len
        )),
    }
}

fn spki_to_jwk(der: &[u8]) -> Result<Value, String> {
    let info = pkcs8::spki::SubjectPublicKeyInfoRef::try_from(der)
        .map_err(|e| format!("PUBLIC KEY is not a SubjectPublicKeyInfo: {e}"))?;
    let bits = info
        .subject_public_key
        .as_bytes()
        .ok_or("the public key's BIT STRING has unused bits")?;
    match info.algorithm.oid {
        RSA_ENCRYPTION => {
            let key = pkcs1::RsaPublicKey::try_from(bits)
                .map_err(|e| format!("the RSA public key is not PKCS#1: {e}"))?;
            rsa_public_jwk(key.modulus.as_bytes(), key.public_exponent.as_bytes())
        }
        EC_PUBLIC_KEY => {
            let oid = info
                .algorithm
                .parameters_oid()
                .map_err(|e| format!("the EC key names no curve: {e}"))?;
            let curve = curve_of(oid)?;
            let jwk = ec_public_jwk(curve, bits)?;
            // Key Vault and the Azure provider (Go's crypto/elliptic) refuse a point off the
            // curve; say so here.
            aws_lc_rs::signature::ParsedPublicKey::new(
                match curve.jwk {
                    "P-256" => &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
                    "P-384" => &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1,
                    _ => &aws_lc_rs::signature::ECDSA_P521_SHA512_ASN1,
                },
                bits,
            )
            .map_err(|e| format!("the {} point is not on the curve: {e}", curve.jwk))?;
            Ok(jwk)
        }
        other => Err(format!(
            "a public key of algorithm {other}; Key Vault imports RSA and EC keys"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/azure-certs-keys/fixtures"
    );
    const VARIANTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keyfiles");

    fn jwk(dir: &str, file: &str) -> Value {
        read_jwk(&Path::new(dir).join(file)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(text: &str) -> String {
        jwk_from_bytes(text.as_bytes()).unwrap_err()
    }

    fn public(mut jwk: Value) -> Value {
        if let Some(members) = jwk.as_object_mut() {
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                members.remove(private);
            }
        }
        jwk
    }

    #[test]
    fn an_rsa_key_in_every_pem_form_is_one_jwk() {
        let pkcs8 = jwk(FIXTURES, "rsakey1.pem");
        // Known answer: `openssl rsa -in rsakey1.pem -noout -modulus` begins C850F99AB5E25C9C.
        let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(pkcs8["n"].as_str().unwrap())
            .unwrap();
        assert_eq!(hex::encode_upper(&n[..8]), "C850F99AB5E25C9C");
        assert_eq!(n.len(), 256);
        assert_eq!(pkcs8["e"], "AQAB");
        assert_eq!(pkcs8["kty"], "RSA");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                pkcs8[private].as_str().is_some_and(|v| v.len() > 100),
                "{private}"
            );
        }
        assert_eq!(jwk(VARIANTS, "rsakey1-pkcs1.pem"), pkcs8);
        let public_only = public(pkcs8);
        assert_eq!(jwk(VARIANTS, "rsakey1-spki.pem"), public_only);
        assert_eq!(jwk(VARIANTS, "rsakey1-rsapub.pem"), public_only);
    }

    #[test]
    fn an_ec_key_in_every_pem_form_is_one_jwk() {
        let sec1 = jwk(FIXTURES, "eckey1.pem");
        assert_eq!(sec1["kty"], "EC");
        assert_eq!(sec1["crv"], "P-384");
        for (member, len) in [("x", 48), ("y", 48), ("d", 48)] {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(sec1[member].as_str().unwrap())
                .unwrap();
            assert_eq!(bytes.len(), len, "{member}");
        }
        // The PKCS#8 form's inner key names no curve: the wrapper's is used.
        assert_eq!(jwk(VARIANTS, "eckey1-pkcs8.pem"), sec1);
        assert_eq!(jwk(VARIANTS, "eckey1-spki.pem"), public(sec1));
    }

    #[test]
    fn a_jwk_file_is_sent_as_it_is_and_keeps_leading_zeros() {
        let file = std::fs::read_to_string(Path::new(FIXTURES).join("jwkkey1.json")).unwrap();
        let sent = jwk(FIXTURES, "jwkkey1.json");
        assert_eq!(sent, serde_json::from_str::<Value>(&file).unwrap());
        // P-521's x begins with a zero byte here; it stays, 66 bytes.
        assert!(sent["x"].as_str().unwrap().starts_with("AG"));
    }

    #[test]
    fn what_key_vault_would_refuse_is_named() {
        let compressed = read_jwk(&Path::new(VARIANTS).join("eckey1-compressed.pem"))
            .unwrap_err()
            .to_string();
        assert!(
            compressed.contains("eckey1-compressed.pem") && compressed.contains("compressed"),
            "{compressed}"
        );
        let encrypted = read_jwk(&Path::new(VARIANTS).join("eckey1-encrypted.pem"))
            .unwrap_err()
            .to_string();
        assert!(encrypted.contains("encrypted"), "{encrypted}");
        let ed = read_jwk(&Path::new(VARIANTS).join("ed25519.pem"))
            .unwrap_err()
            .to_string();
        assert!(
            ed.contains("1.3.101.112") && ed.contains("RSA and EC"),
            "{ed}"
        );
        let missing = read_jwk(&Path::new(VARIANTS).join("none.pem")).unwrap_err();
        assert!(matches!(missing, KeyFileError::Read { .. }), "{missing}");

        assert!(error("{\"kty\": \"oct\", \"k\": \"AAAA\"}").contains("`oct`"));
        assert!(error("{\"key\": {\"kty\": \"RSA\"}}").contains("only its `key`"));
        assert!(error("{\"kty\": \"RSA\", \"e\": \"AQAB\"}").contains("needs `n`"));
        assert!(
            error("{\"kty\": \"RSA\", \"n\": \"AQAB\", \"e\": \"AQAB\"}").contains("of 17 bits")
        );
        assert!(
            error("{\"kty\": \"EC\", \"crv\": \"P-256\", \"x\": \"AA==\", \"y\": \"AA\"}")
                .contains("base64url")
        );
        // A P-521 coordinate with its leading zero byte dropped.
        let short = format!(
            "{{\"kty\": \"EC\", \"crv\": \"P-521\", \"x\": \"{}\", \"y\": \"{}\"}}",
            b64url(&[1; 65]),
            b64url(&[1; 66])
        );
        assert!(
            error(&short).contains("`x` has 65 bytes"),
            "{}",
            error(&short)
        );
        assert!(error("{\"kty\": \"EC\", \"crv\": \"P-192\"}").contains("P-192"));
        assert!(error("hello").contains("no key in it"));
        let two = format!(
            "{}{}",
            std::fs::read_to_string(Path::new(VARIANTS).join("rsakey1-spki.pem")).unwrap(),
            std::fs::read_to_string(Path::new(VARIANTS).join("eckey1-spki.pem")).unwrap()
        );
        assert!(error(&two).contains("2 keys"));
        assert!(
            error("-----BEGIN DH PARAMETERS-----\nMAA=\n-----END DH PARAMETERS-----\n")
                .contains("DH PARAMETERS")
        );
    }
}
