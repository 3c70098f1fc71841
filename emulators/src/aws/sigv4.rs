//! SigV4: reading the credential scope (which names the region and so the state partition) and,
//! in strict mode, recomputing the signature with the secret key the emulator issued.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};

use super::error::AwsError;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's `X-Amz-Date` may be from the service's clock, either way.
pub const SKEW: time::Duration = time::Duration::minutes(15);

const AMZ_DATE: &[time::format_description::BorrowedFormatItem<'_>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

fn amz_date(t: time::OffsetDateTime) -> String {
    t.format(AMZ_DATE).unwrap_or_default()
}

/// Refuses a request signed more than [`SKEW`] away from `now` (the emulator's clock, which SDKs
/// learn from the `Date` header), in AWS's words.
pub fn check_time(headers: &HeaderMap, now: time::OffsetDateTime) -> Result<(), AwsError> {
    let Some(raw) = headers.get("x-amz-date") else {
        // verify() reports the missing header as a mismatch, as AWS does.
        return Ok(());
    };
    let text = String::from_utf8_lossy(raw.as_bytes());
    let signed = time::PrimitiveDateTime::parse(&text, AMZ_DATE)
        .map(time::PrimitiveDateTime::assume_utc)
        .map_err(|_| {
            AwsError::client(
                "IncompleteSignatureException",
                format!(
                    "Date must be in ISO-8601 'basic format'. Got '{text}'. See http://en.wikipedia.org/wiki/ISO_8601"
                ),
            )
        })?;
    let now = now.replace_nanosecond(0).unwrap_or(now);
    if signed < now - SKEW {
        return Err(AwsError::client(
            "InvalidSignatureException",
            format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                amz_date(signed),
                amz_date(now - SKEW),
                amz_date(now)
            ),
        ));
    }
    if signed > now + SKEW {
        return Err(AwsError::client(
            "InvalidSignatureException",
            format!(
                "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                amz_date(signed),
                amz_date(now + SKEW),
                amz_date(now)
            ),
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

fn incomplete(header: &str) -> AwsError {
    AwsError::client(
        "IncompleteSignatureException",
        format!(
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization={header}"
        ),
    )
}

/// Parses `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=..., Signature=...`.
pub fn parse(header: &str) -> Result<Authorization, AwsError> {
    let rest = header.strip_prefix(ALGORITHM).ok_or_else(|| {
        AwsError::client(
            "IncompleteSignatureException",
            format!(
                "Unsupported AWS 'algorithm': '{}'",
                header.split_whitespace().next().unwrap_or_default()
            ),
        )
    })?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(incomplete(header));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [akid, date, region, service, terminator] = scope.as_slice() else {
        return Err(AwsError::client(
            "IncompleteSignatureException",
            format!("Credential should be scoped to a valid region. Credential={credential}"),
        ));
    };
    if *terminator != "aws4_request" || akid.is_empty() || region.is_empty() {
        return Err(AwsError::client(
            "IncompleteSignatureException",
            format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
            ),
        ));
    }
    Ok(Authorization {
        access_key_id: (*akid).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        signed_headers: signed.split(';').map(str::to_owned).collect(),
        signature: signature.to_owned(),
    })
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("hmac takes any key length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_pairs(query)
        .into_iter()
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}

/// Whether `signature` is what the holder of `secret_key` would have sent for this request.
pub fn verify(
    auth: &Authorization,
    secret_key: &str,
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), AwsError> {
    let mismatch = || {
        AwsError::client(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        )
    };
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(mismatch)?;
    let mut canonical_headers = String::new();
    for name in &auth.signed_headers {
        let values: Vec<String> = headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload_hash = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| hex::encode(Sha256::digest(body)));
    let canonical_uri = if path.is_empty() {
        "/".to_owned()
    } else {
        uri_encode(path, true)
    };
    let canonical_request = format!(
        "{method}\n{canonical_uri}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
        canonical_query(query),
        auth.signed_headers.join(";")
    );
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{secret_key}").as_bytes(), auth.date.as_bytes());
    let k_region = hmac(&k_date, auth.region.as_bytes());
    let k_service = hmac(&k_region, auth.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let expected = hex::encode(hmac(&k_signing, string_to_sign.as_bytes()));
    // Not a timing-sensitive secret in an emulator, but compare whole strings anyway.
    if expected == auth.signature {
        Ok(())
    } else {
        Err(mismatch())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_credential_scope() {
        let a = parse("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7").expect("valid");
        assert_eq!(a.access_key_id, "AKIDEXAMPLE");
        assert_eq!(a.region, "us-east-1");
        assert_eq!(a.service, "iam");
        assert_eq!(a.signed_headers, ["content-type", "host", "x-amz-date"]);
    }

    #[test]
    fn rejects_malformed_headers_with_aws_codes() {
        assert_eq!(
            parse("Bearer x").expect_err("bad").code,
            "IncompleteSignatureException"
        );
        assert_eq!(
            parse("AWS4-HMAC-SHA256 Credential=a/b")
                .expect_err("bad")
                .code,
            "IncompleteSignatureException"
        );
        assert_eq!(
            parse("AWS4-HMAC-SHA256 Credential=a/b/c/d/x, SignedHeaders=host, Signature=00")
                .expect_err("bad")
                .code,
            "IncompleteSignatureException"
        );
    }

    #[test]
    fn signatures_outside_fifteen_minutes_are_expired_or_not_yet_current() {
        let now = time::macros::datetime!(2025-01-01 00:30:00.250 UTC);
        let at = |d: &str| {
            let mut h = HeaderMap::new();
            h.insert("x-amz-date", d.parse().expect("header"));
            h
        };
        check_time(&at("20250101T001500Z"), now).expect("15 minutes old is still fine");
        check_time(&at("20250101T004500Z"), now).expect("15 minutes ahead is still fine");
        let old = check_time(&at("20150101T000000Z"), now).expect_err("2015");
        assert_eq!(old.code, "InvalidSignatureException");
        assert_eq!(
            old.message,
            "Signature expired: 20150101T000000Z is now earlier than 20250101T001500Z (20250101T003000Z - 15 min.)"
        );
        let ahead = check_time(&at("20250101T004501Z"), now).expect_err("ahead");
        assert_eq!(
            ahead.message,
            "Signature not yet current: 20250101T004501Z is still later than 20250101T004500Z (20250101T003000Z + 15 min.)"
        );
        assert_eq!(
            check_time(&at("yesterday"), now).expect_err("bad").code,
            "IncompleteSignatureException"
        );
    }

    /// The worked example of AWS's SigV4 documentation ("get-vanilla-query" style, IAM ListUsers).
    #[test]
    fn verifies_the_documented_example() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "iam.amazonaws.com".parse().expect("header"));
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .expect("header"),
        );
        headers.insert("x-amz-date", "20150830T123600Z".parse().expect("header"));
        let auth = parse("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7").expect("valid");
        verify(
            &auth,
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-08",
            &headers,
            b"",
        )
        .expect("the documented signature verifies");
        let err = verify(
            &auth,
            "wrong",
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-08",
            &headers,
            b"",
        )
        .expect_err("mismatch");
        assert_eq!(err.code, "InvalidSignatureException");
    }
}
