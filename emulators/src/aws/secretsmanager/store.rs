//! The Secrets Manager model: secrets, their versions, and how staging labels move between them.

use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

use crate::aws::error::AwsError;

pub const AWSCURRENT: &str = "AWSCURRENT";
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";
pub const AWSPENDING: &str = "AWSPENDING";
/// AWS keeps at most this many versions; older unlabelled ones are pruned.
pub const MAX_VERSIONS: usize = 100;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string: Option<String>,
    /// Base64, exactly as it travels on the wire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
    pub stages: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_accessed: Option<OffsetDateTime>,
}

impl Version {
    pub fn same_value(&self, string: &Option<String>, binary: &Option<String>) -> bool {
        &self.string == string && &self.binary == binary
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<serde_json::Value>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_rotated: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    pub arn: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_changed: OffsetDateTime,
    /// The day (AWS truncates it) of the last GetSecretValue.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_accessed: Option<OffsetDateTime>,
    /// When the scheduled deletion happens; set while the secret is "marked for deletion".
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub deletion_date: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Rotation>,
    /// In creation order, oldest first.
    #[serde(default)]
    pub versions: Vec<Version>,
}

pub fn marked_for_deletion() -> AwsError {
    AwsError::client(
        "InvalidRequestException",
        "You can't perform this operation on the secret because it was marked for deletion.",
    )
}

pub fn secret_not_found() -> AwsError {
    AwsError::client(
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
    )
}

impl Secret {
    pub fn version(&self, id: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.id == id)
    }

    pub fn version_with_stage(&self, stage: &str) -> Option<&Version> {
        self.versions
            .iter()
            .find(|v| v.stages.iter().any(|s| s == stage))
    }

    pub fn is_deleted(&self) -> bool {
        self.deletion_date.is_some()
    }

    /// Fails with AWS's error when the secret is scheduled for deletion.
    pub fn ensure_active(&self) -> Result<(), AwsError> {
        if self.is_deleted() {
            Err(marked_for_deletion())
        } else {
            Ok(())
        }
    }

    /// `VersionIdsToStages`: only versions that still carry a label (unlabelled ones are deprecated).
    pub fn version_stages(&self) -> serde_json::Map<String, serde_json::Value> {
        self.versions
            .iter()
            .filter(|v| !v.stages.is_empty())
            .map(|v| (v.id.clone(), serde_json::json!(v.stages)))
            .collect()
    }

    /// Attaches `stage` to version `to`, taking it off whichever version had it. Moving AWSCURRENT
    /// hands AWSPREVIOUS to the version that was current, as AWS does.
    pub fn move_stage(&mut self, stage: &str, to: &str) {
        let previous_holder = self.version_with_stage(stage).map(|v| v.id.clone());
        if previous_holder.as_deref() == Some(to) {
            return;
        }
        for v in &mut self.versions {
            v.stages.retain(|s| s != stage);
        }
        if let Some(v) = self.versions.iter_mut().find(|v| v.id == to) {
            v.stages.push(stage.to_owned());
        }
        if stage == AWSCURRENT
            && let Some(old) = previous_holder
        {
            self.move_stage(AWSPREVIOUS, &old);
        }
    }

    pub fn remove_stage(&mut self, stage: &str, from: &str) {
        if let Some(v) = self.versions.iter_mut().find(|v| v.id == from) {
            v.stages.retain(|s| s != stage);
        }
    }

    /// Adds a version carrying `stages` (moving each label onto it) and prunes the oldest
    /// unlabelled versions beyond [`MAX_VERSIONS`].
    pub fn add_version(&mut self, version: Version, stages: &[String]) {
        let id = version.id.clone();
        self.versions.push(Version {
            stages: Vec::new(),
            ..version
        });
        for stage in stages {
            self.move_stage(stage, &id);
        }
        while self.versions.len() > MAX_VERSIONS {
            match self.versions.iter().position(|v| v.stages.is_empty()) {
                Some(i) => {
                    self.versions.remove(i);
                }
                None => break,
            }
        }
    }
}

/// One region's secrets, keyed by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    pub secrets: BTreeMap<String, Secret>,
}

/// The name part of a Secrets Manager ARN (`...:secret:<name>[-XXXXXX]`).
fn arn_name(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(7, ':');
    let (
        Some("arn"),
        Some(_partition),
        Some("secretsmanager"),
        Some(_region),
        Some(_account),
        Some("secret"),
        Some(rest),
    ) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    )
    else {
        return None;
    };
    Some(rest)
}

impl Store {
    /// Resolves a SecretId: a name, a full ARN, or a partial ARN without the 6-character suffix.
    /// Secrets whose scheduled deletion has passed are gone.
    pub fn find_key(&self, id: &str, now: OffsetDateTime) -> Option<String> {
        let live = |s: &&Secret| s.deletion_date.is_none_or(|d| d > now);
        if let Some(rest) = arn_name(id) {
            // Partial ARN: the rest is the whole name.
            if let Some(s) = self.secrets.get(rest).filter(live)
                && s.arn
                    .strip_prefix(id)
                    .is_some_and(|suffix| suffix.len() == 7 && suffix.starts_with('-'))
            {
                return Some(s.name.clone());
            }
            // Full ARN: the rest is the name plus "-XXXXXX".
            let name = rest.get(..rest.len().checked_sub(7)?)?;
            return self
                .secrets
                .get(name)
                .filter(live)
                .filter(|s| s.arn == id)
                .map(|s| s.name.clone());
        }
        self.secrets.get(id).filter(live).map(|s| s.name.clone())
    }

    pub fn find(&self, id: &str, now: OffsetDateTime) -> Result<&Secret, AwsError> {
        let key = self.find_key(id, now).ok_or_else(secret_not_found)?;
        self.secrets.get(&key).ok_or_else(secret_not_found)
    }

    pub fn find_mut(&mut self, id: &str, now: OffsetDateTime) -> Result<&mut Secret, AwsError> {
        let key = self.find_key(id, now).ok_or_else(secret_not_found)?;
        self.secrets.get_mut(&key).ok_or_else(secret_not_found)
    }

    /// Drops secrets whose recovery window has passed.
    pub fn purge_expired(&mut self, now: OffsetDateTime) {
        self.secrets
            .retain(|_, s| s.deletion_date.is_none_or(|d| d > now));
    }
}

/// The characters a name may hold; its length is the model's (see `model.rs`).
pub fn validate_name(name: &str) -> Result<(), AwsError> {
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b));
    if !valid_chars {
        return Err(AwsError::validation(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
        ));
    }
    Ok(())
}

/// Checks a value pair (exactly as given on the wire) against the rules the model's lengths
/// (see `model.rs`) do not cover: one of the two, and binary as base64.
pub fn validate_value(string: &Option<String>, binary: &Option<String>) -> Result<(), AwsError> {
    if string.is_some() && binary.is_some() {
        return Err(AwsError::client(
            "InvalidParameterException",
            "You can't specify both a binary secret value and a string secret value in the same secret.",
        ));
    }
    if let Some(b) = binary {
        base64::engine::general_purpose::STANDARD
            .decode(b)
            .map_err(|_| AwsError::serialization("SecretBinary is not valid base64"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: OffsetDateTime = time::macros::datetime!(2025-06-01 00:00 UTC);

    fn secret(name: &str) -> Secret {
        Secret {
            arn: format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf"),
            name: name.into(),
            description: None,
            kms_key_id: None,
            tags: vec![],
            created: NOW,
            last_changed: NOW,
            last_accessed: None,
            deletion_date: None,
            rotation: None,
            versions: vec![],
        }
    }

    fn version(id: &str) -> Version {
        Version {
            id: id.into(),
            string: Some(id.into()),
            binary: None,
            stages: vec![],
            created: NOW,
            last_accessed: None,
        }
    }

    #[test]
    fn lookup_by_name_full_arn_and_partial_arn() {
        let mut store = Store::default();
        store.secrets.insert("app/db".into(), secret("app/db"));
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db";
        assert_eq!(store.find_key("app/db", NOW).as_deref(), Some("app/db"));
        assert_eq!(
            store.find_key(&format!("{arn}-AbCdEf"), NOW).as_deref(),
            Some("app/db")
        );
        assert_eq!(store.find_key(arn, NOW).as_deref(), Some("app/db"));
        assert_eq!(store.find_key(&format!("{arn}-ZZZZZZ"), NOW), None);
        assert_eq!(
            store.find_key(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:app",
                NOW
            ),
            None
        );
        assert_eq!(store.find_key("app/db-AbCdEf", NOW), None);
    }

    #[test]
    fn a_name_that_looks_like_it_has_a_suffix_still_resolves_by_partial_arn() {
        let mut store = Store::default();
        store.secrets.insert("x-a1b2c3".into(), secret("x-a1b2c3"));
        let partial = "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-a1b2c3";
        assert_eq!(store.find_key(partial, NOW).as_deref(), Some("x-a1b2c3"));
    }

    #[test]
    fn moving_awscurrent_hands_awsprevious_to_the_old_version() {
        let mut s = secret("s");
        s.add_version(version("v1"), &[AWSCURRENT.into()]);
        s.add_version(version("v2"), &[AWSCURRENT.into()]);
        assert_eq!(
            s.version("v1").map(|v| v.stages.clone()),
            Some(vec![AWSPREVIOUS.to_owned()])
        );
        assert_eq!(
            s.version("v2").map(|v| v.stages.clone()),
            Some(vec![AWSCURRENT.to_owned()])
        );
        s.add_version(version("v3"), &[AWSCURRENT.into()]);
        // v1 lost AWSPREVIOUS to v2 and is now deprecated.
        assert!(s.version("v1").is_some_and(|v| v.stages.is_empty()));
        assert_eq!(s.version_stages().len(), 2);
    }

    #[test]
    fn pruning_keeps_labelled_versions() {
        let mut s = secret("s");
        for i in 0..(MAX_VERSIONS + 5) {
            s.add_version(version(&format!("v{i}")), &[AWSCURRENT.into()]);
        }
        assert_eq!(s.versions.len(), MAX_VERSIONS);
        assert!(s.version(&format!("v{}", MAX_VERSIONS + 4)).is_some());
        assert!(s.version("v0").is_none());
    }

    #[test]
    fn scheduled_deletion_expires() {
        let mut store = Store::default();
        let mut s = secret("gone");
        s.deletion_date = Some(NOW + time::Duration::days(7));
        store.secrets.insert("gone".into(), s);
        assert!(store.find_key("gone", NOW).is_some());
        let later = NOW + time::Duration::days(8);
        assert!(store.find_key("gone", later).is_none());
        store.purge_expired(later);
        assert!(store.secrets.is_empty());
    }

    #[test]
    fn names_and_values_follow_aws_rules() {
        validate_name("Valid/_+=.@-Name").expect("valid");
        assert_eq!(
            validate_name("bad name").expect_err("space").code,
            "ValidationException"
        );
        assert_eq!(
            validate_value(&Some("a".into()), &Some("YQ==".into()))
                .expect_err("both")
                .code,
            "InvalidParameterException"
        );
        assert_eq!(
            validate_value(&None, &Some("not base64!".into()))
                .expect_err("base64")
                .code,
            "SerializationException"
        );
    }
}
