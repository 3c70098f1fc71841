//! Access tokens: the Entra endpoints issue ES256 JWTs signed with the emulator's token key, and
//! Key Vault checks them (signature, expiry, audience, tenant) before anything else.

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::HashMap;
use std::sync::Mutex;

use super::tls::Pki;

/// Verified tokens are remembered so a client reusing its token (every SDK does) costs one
/// signature check, not one per request. Bounded: cleared when full.
const CACHE_CAPACITY: usize = 4096;
pub const TOKEN_LIFETIME_SECONDS: i64 = 3599;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub aud: String,
    pub iss: String,
    pub tid: String,
    pub oid: String,
    pub appid: String,
    pub azp: String,
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub ver: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("token key is not usable: {0}")]
    Key(#[from] jsonwebtoken::errors::Error),
    #[error("token key is not an uncompressed P-256 point")]
    Point,
}

pub struct Signer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub kid: String,
    /// The public key as a JWK, for the discovery `keys` documents.
    pub jwk: serde_json::Value,
    cache: Mutex<HashMap<String, Claims>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish()
    }
}

impl Signer {
    pub fn new(pki: &Pki) -> Result<Self, SignerError> {
        let encoding = EncodingKey::from_ec_der(&pki.token_key_der);
        let point = &pki.token_public;
        if point.len() != 65 || point[0] != 4 {
            return Err(SignerError::Point);
        }
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (x, y) = (b64.encode(&point[1..33]), b64.encode(&point[33..]));
        let decoding = DecodingKey::from_ec_components(&x, &y)?;
        let kid = hex::encode(&sha2::Sha256::digest(point)[..8]);
        let jwk = serde_json::json!({
            "kty": "EC", "use": "sig", "alg": "ES256", "crv": "P-256", "kid": kid, "x": x, "y": y,
        });
        Ok(Self {
            encoding,
            decoding,
            kid,
            jwk,
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn issue(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    /// Checks the signature only; the caller checks expiry, audience and tenant against its own
    /// clock and vault.
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        if let Some(claims) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
        {
            return Ok(claims.clone());
        }
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|e| e.to_string())?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(token.to_owned(), data.claims.clone());
        Ok(data.claims)
    }
}

/// Key Vault's challenge, in the form every client parses (the Go provider splits
/// `authorization` on `/` and takes the fourth part as the tenant, so it must be
/// `https://host/tenant`; the resource has no path).
pub fn challenge(authority: &str, resource: &str) -> String {
    format!("Bearer authorization=\"{authority}\", resource=\"{resource}\"")
}

/// The host of an audience or resource URL (`https://vault.azure.net/` → `vault.azure.net`),
/// without port, lowercase.
pub fn audience_host(aud: &str) -> String {
    let rest = aud
        .strip_prefix("https://")
        .or_else(|| aud.strip_prefix("http://"))
        .unwrap_or(aud);
    let host = rest.split('/').next().unwrap_or_default();
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    host.to_ascii_lowercase()
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed expectation is the test failing
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_tampering_is_caught() {
        let pki = Pki::new(None, &[]).expect("pki");
        let signer = Signer::new(&pki).expect("signer");
        let claims = Claims {
            aud: "https://vault.localhost:8443".into(),
            iss: "https://localhost/t/v2.0".into(),
            tid: "t".into(),
            oid: "o".into(),
            appid: "a".into(),
            azp: "a".into(),
            sub: "o".into(),
            iat: 1,
            nbf: 1,
            exp: 2,
            ver: "2.0".into(),
        };
        let token = signer.issue(&claims).expect("issue");
        assert_eq!(signer.verify(&token).expect("valid"), claims);
        let mut forged = token.clone();
        forged.pop();
        forged.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(signer.verify(&forged).is_err());
        assert_eq!(
            audience_host("https://Vault.Localhost:8443/"),
            "vault.localhost"
        );
        assert_eq!(
            challenge("https://localhost/t", "https://vault.localhost"),
            r#"Bearer authorization="https://localhost/t", resource="https://vault.localhost""#
        );
    }
}
