//! The response shapes shared by several operations.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::store::{Secret, Version};
use crate::core::clock::epoch_seconds;

fn date(t: OffsetDateTime) -> Value {
    json!(epoch_seconds(t))
}

/// GetSecretValue's answer, also each entry of BatchGetSecretValue's `SecretValues`.
pub fn secret_value(secret: &Secret, version: &Version) -> Value {
    let mut m = Map::new();
    m.insert("ARN".into(), json!(secret.arn));
    m.insert("Name".into(), json!(secret.name));
    m.insert("VersionId".into(), json!(version.id));
    if let Some(s) = &version.string {
        m.insert("SecretString".into(), json!(s));
    }
    if let Some(b) = &version.binary {
        m.insert("SecretBinary".into(), json!(b));
    }
    m.insert("VersionStages".into(), json!(version.stages));
    m.insert("CreatedDate".into(), date(version.created));
    Value::Object(m)
}

/// DescribeSecret's answer; ListSecrets entries are the same with `SecretVersionsToStages`.
/// Only members with a value are present, as in AWS's answers.
pub fn description(secret: &Secret, stages_key: &str) -> Value {
    let mut m = Map::new();
    m.insert("ARN".into(), json!(secret.arn));
    m.insert("Name".into(), json!(secret.name));
    if let Some(d) = &secret.description {
        m.insert("Description".into(), json!(d));
    }
    if let Some(k) = &secret.kms_key_id {
        m.insert("KmsKeyId".into(), json!(k));
    }
    if let Some(r) = &secret.rotation {
        m.insert("RotationEnabled".into(), json!(r.enabled));
        if let Some(arn) = &r.lambda_arn {
            m.insert("RotationLambdaARN".into(), json!(arn));
        }
        if let Some(rules) = &r.rules {
            m.insert("RotationRules".into(), rules.clone());
        }
        if let Some(t) = r.last_rotated {
            m.insert("LastRotatedDate".into(), date(t));
            let days = r
                .rules
                .as_ref()
                .and_then(|rules| rules["AutomaticallyAfterDays"].as_i64());
            if let (true, Some(days)) = (r.enabled, days) {
                // AWS schedules the next rotation for the end (UTC) of the day the interval ends.
                let next = day_of(t + time::Duration::days(days)) + time::Duration::seconds(86_399);
                m.insert("NextRotationDate".into(), date(next));
            }
        }
    }
    m.insert("LastChangedDate".into(), date(secret.last_changed));
    if let Some(t) = secret.last_accessed {
        m.insert("LastAccessedDate".into(), date(t));
    }
    if let Some(t) = secret.deletion_date {
        m.insert("DeletedDate".into(), date(t));
    }
    if !secret.tags.is_empty() {
        m.insert("Tags".into(), json!(secret.tags));
    }
    let stages = secret.version_stages();
    if !stages.is_empty() {
        m.insert(stages_key.into(), Value::Object(stages));
    }
    m.insert("CreatedDate".into(), date(secret.created));
    Value::Object(m)
}

pub fn arn_and_name(secret: &Secret) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ARN".into(), json!(secret.arn));
    m.insert("Name".into(), json!(secret.name));
    m
}

/// AWS reports access days, not instants.
pub fn day_of(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_time(time::Time::MIDNIGHT)
}
