//! The wire shapes of a parameter: `Parameter`, `ParameterMetadata` and `ParameterHistory`, the
//! SecureString ciphertext stand-in, and opaque page tokens.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::names;
use super::store::{ParamType, Parameter, Version};
use crate::aws::error::AwsError;
use crate::core::clock::epoch_seconds;

/// What a SecureString reads as without `WithDecryption`: real SSM returns a base64 KMS blob. The
/// emulator has no KMS, so the blob is `base64("secretbench:kms:<keyId>:<plaintext>")`: opaque
/// enough that nothing mistakes it for the value, and documented so a test can decode it.
pub fn ciphertext(version: &Version) -> String {
    let key = version
        .key_id
        .as_deref()
        .unwrap_or(super::store::DEFAULT_KEY_ID);
    STANDARD.encode(format!("secretbench:kms:{key}:{}", version.value))
}

fn shown_value(version: &Version, decrypt: bool) -> String {
    if version.kind == ParamType::SecureString && !decrypt {
        ciphertext(version)
    } else {
        version.value.clone()
    }
}

/// Who and where: the answer's ARN depends on the caller's region and account.
pub struct Place<'a> {
    pub region: &'a str,
    pub account: &'a str,
}

/// GetParameter(s) / GetParametersByPath. `Name` is always the bare name, whatever the request
/// used (a selector or an ARN): the CSI provider matches answers to requests by it.
pub fn parameter(
    place: &Place<'_>,
    p: &Parameter,
    v: &Version,
    selector: Option<&str>,
    decrypt: bool,
) -> Value {
    let mut out = Map::new();
    out.insert("Name".into(), p.name.clone().into());
    out.insert("Type".into(), v.kind.as_str().into());
    out.insert("Value".into(), shown_value(v, decrypt).into());
    out.insert("Version".into(), v.version.into());
    if let Some(selector) = selector {
        out.insert("Selector".into(), selector.into());
    }
    out.insert(
        "LastModifiedDate".into(),
        json!(epoch_seconds(v.last_modified)),
    );
    out.insert(
        "ARN".into(),
        names::arn(place.region, place.account, &p.name).into(),
    );
    out.insert("DataType".into(), v.data_type.clone().into());
    Value::Object(out)
}

fn common_metadata(out: &mut Map<String, Value>, p: &Parameter, v: &Version) {
    out.insert("Name".into(), p.name.clone().into());
    out.insert("Type".into(), v.kind.as_str().into());
    if let Some(key) = &v.key_id {
        out.insert("KeyId".into(), key.clone().into());
    }
    out.insert(
        "LastModifiedDate".into(),
        json!(epoch_seconds(v.last_modified)),
    );
    out.insert(
        "LastModifiedUser".into(),
        v.last_modified_user.clone().into(),
    );
    if let Some(d) = &v.description {
        out.insert("Description".into(), d.clone().into());
    }
    if let Some(a) = &v.allowed_pattern {
        out.insert("AllowedPattern".into(), a.clone().into());
    }
    out.insert("Version".into(), v.version.into());
    out.insert("Tier".into(), v.tier.as_str().into());
    out.insert("Policies".into(), json!([]));
    out.insert("DataType".into(), v.data_type.clone().into());
}

/// DescribeParameters: metadata, never the value.
pub fn metadata(place: &Place<'_>, p: &Parameter, v: &Version) -> Value {
    let mut out = Map::new();
    common_metadata(&mut out, p, v);
    out.insert(
        "ARN".into(),
        names::arn(place.region, place.account, &p.name).into(),
    );
    Value::Object(out)
}

/// GetParameterHistory: one entry per kept version, with its labels.
pub fn history(p: &Parameter, v: &Version, decrypt: bool) -> Value {
    let mut out = Map::new();
    common_metadata(&mut out, p, v);
    out.insert("Value".into(), shown_value(v, decrypt).into());
    out.insert("Labels".into(), json!(v.labels));
    Value::Object(out)
}

const TOKEN_PREFIX: &str = "secretbench:ssm:";

/// Page tokens name the position to resume after, so a page boundary survives writes in between.
pub fn token(position: &str) -> String {
    STANDARD.encode(format!("{TOKEN_PREFIX}{position}"))
}

pub fn position(token: Option<&str>) -> Result<Option<String>, AwsError> {
    let Some(token) = token else { return Ok(None) };
    let invalid = || AwsError::client("InvalidNextToken", "The specified token isn't valid.");
    let bytes = STANDARD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(TOKEN_PREFIX)
        .map(|p| Some(p.to_owned()))
        .ok_or_else(invalid)
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed expectation is the test failing
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        assert_eq!(
            position(Some(&token("/a/b"))).expect("valid"),
            Some("/a/b".to_owned())
        );
        assert_eq!(position(None).expect("none"), None);
        for bad in ["not base64!", "Zm9v"] {
            assert_eq!(
                position(Some(bad)).expect_err("invalid").code,
                "InvalidNextToken"
            );
        }
    }
}
