//! Kubernetes service-account tokens (JWTs) as STS and the Pod Identity agent read them: the
//! claims both check, and the signature check against a JWKS.
//!
//! Claims are parsed by hand rather than through `jsonwebtoken::decode` because the checks
//! must run against the emulator's clock (which tests and scenarios move) and each failure must
//! map to the error the real service returns, which the crate's single error type cannot tell us.

use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use std::str::FromStr;

/// A token whose structure has been read but whose claims have not been judged yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub alg: String,
    pub kid: Option<String>,
    pub claims: Claims,
    /// `header.payload`, the bytes the signature covers.
    signing_input: String,
    signature: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims {
    pub iss: Option<String>,
    pub sub: Option<String>,
    /// `aud` may be one string or an array of strings (RFC 7519 §4.1.3); both end up here.
    pub aud: Vec<String>,
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    /// `kubernetes.io.pod.name`, which Pod Identity puts in the session name.
    pub pod_name: Option<String>,
}

impl Claims {
    pub fn has_audience(&self, audience: &str) -> bool {
        self.aud.iter().any(|a| a == audience)
    }

    /// `(namespace, service account)` from a `system:serviceaccount:<ns>:<sa>` subject.
    pub fn service_account(&self) -> Option<(&str, &str)> {
        let rest = self
            .sub
            .as_deref()?
            .strip_prefix("system:serviceaccount:")?;
        let (namespace, name) = rest.split_once(':')?;
        if namespace.is_empty() || name.is_empty() || name.contains(':') {
            return None;
        }
        Some((namespace, name))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("token is malformed: {0}")]
    Malformed(String),
    #[error("token signature is invalid: {0}")]
    Signature(String),
}

fn decode_part(
    part: &str,
    what: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, JwtError> {
    // Some encoders keep the '=' padding; the JWS spec forbids it, but Go's parser tolerates it too.
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| JwtError::Malformed(format!("{what} is not base64url: {e}")))?;
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(JwtError::Malformed(format!("{what} is not a JSON object"))),
        Err(e) => Err(JwtError::Malformed(format!("{what} is not JSON: {e}"))),
    }
}

/// NumericDate: JSON numbers, integral or not (RFC 7519 §2). Anything else is malformed.
fn numeric_date(
    claims: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<Option<i64>, JwtError> {
    match claims.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
                // Truncation is what every JWT library does with fractional seconds.
                #[allow(clippy::cast_possible_truncation)]
                Ok(Some(f as i64))
            } else {
                Err(JwtError::Malformed(format!(
                    "claim '{name}' is out of range"
                )))
            }
        }
        Some(_) => Err(JwtError::Malformed(format!(
            "claim '{name}' is not a number"
        ))),
    }
}

fn string_claim(
    claims: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<Option<String>, JwtError> {
    match claims.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JwtError::Malformed(format!(
            "claim '{name}' is not a string"
        ))),
    }
}

/// Reads a compact-serialized JWS without trusting it.
pub fn parse(token: &str) -> Result<Token, JwtError> {
    let token = token.trim();
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(JwtError::Malformed(format!(
            "expected 3 dot-separated parts, found {}",
            parts.len()
        )));
    };
    let header_map = decode_part(header, "header")?;
    let alg = match header_map.get("alg") {
        Some(serde_json::Value::String(a)) if !a.is_empty() => a.clone(),
        _ => return Err(JwtError::Malformed("header has no 'alg'".into())),
    };
    let kid = header_map
        .get("kid")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let claims_map = decode_part(payload, "payload")?;
    let aud = match claims_map.get("aud") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| JwtError::Malformed("claim 'aud' holds a non-string".into()))?,
        Some(_) => {
            return Err(JwtError::Malformed(
                "claim 'aud' is neither a string nor an array".into(),
            ));
        }
    };
    let pod_name = claims_map
        .get("kubernetes.io")
        .and_then(|k| k.get("pod"))
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_owned);
    let claims = Claims {
        iss: string_claim(&claims_map, "iss")?,
        sub: string_claim(&claims_map, "sub")?,
        aud,
        exp: numeric_date(&claims_map, "exp")?,
        nbf: numeric_date(&claims_map, "nbf")?,
        pod_name,
    };
    Ok(Token {
        alg,
        kid,
        claims,
        signing_input: format!("{header}.{payload}"),
        signature: (*signature).to_owned(),
    })
}

impl Token {
    /// Checks the signature against `jwks`. Only asymmetric algorithms are accepted: a JWKS is
    /// public, so an HMAC "key" from it would let anyone mint tokens.
    pub fn verify(&self, jwks: &JwkSet) -> Result<(), JwtError> {
        let alg = Algorithm::from_str(&self.alg)
            .map_err(|_| JwtError::Signature(format!("unsupported algorithm '{}'", self.alg)))?;
        if !matches!(alg.family(), AlgorithmFamily::Rsa | AlgorithmFamily::Ec) {
            return Err(JwtError::Signature(format!(
                "algorithm '{}' is not allowed",
                self.alg
            )));
        }
        let candidates: Vec<_> = match &self.kid {
            Some(kid) => jwks.find(kid).into_iter().collect(),
            // Without a kid, any key of the set may have signed it (single-key issuers omit it).
            None => jwks.keys.iter().collect(),
        };
        if candidates.is_empty() {
            return Err(JwtError::Signature(format!(
                "no key in the JWKS matches kid '{}'",
                self.kid.as_deref().unwrap_or_default()
            )));
        }
        for jwk in candidates {
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            if key.family() != alg.family() {
                continue;
            }
            if matches!(
                jsonwebtoken::crypto::verify(
                    &self.signature,
                    self.signing_input.as_bytes(),
                    &key,
                    alg
                ),
                Ok(true)
            ) {
                return Ok(());
            }
        }
        Err(JwtError::Signature(
            "signature does not verify with any matching key".into(),
        ))
    }
}

/// Whether every key of a JWKS can be used to verify signatures; seeds are checked up front so a
/// typo shows at load time rather than as a refused token.
pub fn check_jwks(jwks: &JwkSet) -> Result<(), String> {
    for (i, jwk) in jwks.keys.iter().enumerate() {
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("JWKS key {i}: {e}"))?;
        if !matches!(key.family(), AlgorithmFamily::Rsa | AlgorithmFamily::Ec) {
            return Err(format!("JWKS key {i}: only RSA and EC keys are accepted"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode(header: &serde_json::Value, claims: &serde_json::Value) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.c2ln",
            b64.encode(serde_json::to_vec(header).expect("json")),
            b64.encode(serde_json::to_vec(claims).expect("json"))
        )
    }

    #[test]
    fn reads_kubernetes_claims() {
        let t = parse(&encode(
            &json!({"alg": "RS256", "kid": "k1"}),
            &json!({
                "iss": "https://kubernetes.default.svc",
                "sub": "system:serviceaccount:app:reader",
                "aud": ["pods.eks.amazonaws.com", "sts.amazonaws.com"],
                "exp": 1_900_000_000,
                "nbf": 1_800_000_000.5,
                "kubernetes.io": {"namespace": "app", "pod": {"name": "web-0", "uid": "u"}}
            }),
        ))
        .expect("well-formed");
        assert_eq!(t.alg, "RS256");
        assert_eq!(t.kid.as_deref(), Some("k1"));
        assert_eq!(
            t.claims.iss.as_deref(),
            Some("https://kubernetes.default.svc")
        );
        assert!(t.claims.has_audience("sts.amazonaws.com"));
        assert!(!t.claims.has_audience("sts.amazon.com"));
        assert_eq!(t.claims.exp, Some(1_900_000_000));
        assert_eq!(t.claims.nbf, Some(1_800_000_000));
        assert_eq!(t.claims.service_account(), Some(("app", "reader")));
        assert_eq!(t.claims.pod_name.as_deref(), Some("web-0"));
    }

    #[test]
    fn a_single_string_audience_counts() {
        let t = parse(&encode(
            &json!({"alg": "RS256"}),
            &json!({"aud": "sts.amazonaws.com"}),
        ))
        .expect("ok");
        assert_eq!(t.claims.aud, ["sts.amazonaws.com"]);
        assert_eq!(t.claims.exp, None);
    }

    #[test]
    fn malformed_tokens_are_refused_with_a_reason() {
        for bad in ["", "abc", "a.b", "a.b.c.d", "!!!.e30.x"] {
            assert!(
                matches!(parse(bad), Err(JwtError::Malformed(_))),
                "{bad:?} should be malformed"
            );
        }
        let no_alg = encode(&json!({"typ": "JWT"}), &json!({}));
        assert!(matches!(parse(&no_alg), Err(JwtError::Malformed(m)) if m.contains("alg")));
        let array_payload = encode(&json!({"alg": "RS256"}), &json!([1]));
        assert!(
            matches!(parse(&array_payload), Err(JwtError::Malformed(m)) if m.contains("payload"))
        );
        let bad_exp = encode(&json!({"alg": "RS256"}), &json!({"exp": "tomorrow"}));
        assert!(matches!(parse(&bad_exp), Err(JwtError::Malformed(m)) if m.contains("exp")));
        let bad_aud = encode(&json!({"alg": "RS256"}), &json!({"aud": [1]}));
        assert!(matches!(parse(&bad_aud), Err(JwtError::Malformed(m)) if m.contains("aud")));
    }

    #[test]
    fn subjects_that_are_not_service_accounts_have_none() {
        let claims = |sub: &str| Claims {
            sub: Some(sub.into()),
            ..Claims::default()
        };
        assert_eq!(
            claims("system:serviceaccount:ns:sa").service_account(),
            Some(("ns", "sa"))
        );
        assert_eq!(claims("system:serviceaccount:ns").service_account(), None);
        assert_eq!(claims("system:serviceaccount::sa").service_account(), None);
        assert_eq!(
            claims("system:serviceaccount:ns:sa:extra").service_account(),
            None
        );
        assert_eq!(
            claims("repo:org/app:ref:refs/heads/main").service_account(),
            None
        );
    }

    #[test]
    fn symmetric_and_unknown_algorithms_never_verify() {
        let jwks: JwkSet =
            serde_json::from_value(json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "k"}]}))
                .expect("jwks");
        assert!(check_jwks(&jwks).is_err());
        let hs = parse(&encode(&json!({"alg": "HS256", "kid": "k"}), &json!({}))).expect("ok");
        assert!(
            matches!(hs.verify(&jwks), Err(JwtError::Signature(m)) if m.contains("not allowed"))
        );
        let none = parse(&encode(&json!({"alg": "none"}), &json!({}))).expect("ok");
        assert!(matches!(none.verify(&jwks), Err(JwtError::Signature(_))));
    }
}
