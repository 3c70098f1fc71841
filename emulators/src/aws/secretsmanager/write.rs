//! Operations that change secrets: create, put, update, staging labels, rotation, delete,
//! restore and tags.

use serde::Deserialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::access;
use super::render;
use super::store::{
    AWSCURRENT, AWSPENDING, Secret, Tag, Version, secret_not_found, validate_name, validate_value,
};
use crate::aws::AwsEmulator;
use crate::aws::error::AwsError;
use crate::aws::json_protocol::{Call, OpResult, Outcome, input, required};
use crate::core::clock::epoch_seconds;

/// Secrets Manager's limit on tags per secret.
const MAX_TAGS: usize = 50;

/// Finds the secret `id` names under the write lock, checks the caller may act on it, and hands
/// it to `change` with the time of the call. Every single-secret write starts this way.
fn change_secret<'a, T>(
    aws: &AwsEmulator,
    call: &mut Call<'a>,
    id: &str,
    change: impl FnOnce(&mut Call<'a>, &mut Secret, OffsetDateTime) -> Result<T, AwsError>,
) -> Result<T, AwsError> {
    let now = call.core.clock.now();
    let mut state = aws.write();
    let (iam, region) = state.iam_and_partition(&call.account, &call.region);
    let secret = access::find_mut(call, iam, &mut region.secrets, id, now)?;
    change(call, secret, now)
}

/// The version id a write uses. SDKs fill ClientRequestToken in (its length is checked by the
/// model table); raw callers get one made for them, as the console does.
fn token_or_new(call: &Call<'_>, token: Option<String>) -> String {
    token.unwrap_or_else(|| call.core.ids.uuid())
}

fn new_version(
    id: String,
    string: Option<String>,
    binary: Option<String>,
    now: OffsetDateTime,
) -> Version {
    Version {
        id,
        string,
        binary,
        stages: Vec::new(),
        created: now,
        last_accessed: None,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateInput {
    name: Option<String>,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    secret_string: Option<String>,
    secret_binary: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// Creates a secret in `store`; shared by CreateSecret and seeding.
#[allow(clippy::too_many_arguments)]
pub(super) fn create(
    store: &mut super::Store,
    core: &crate::core::Core,
    account: &str,
    region: &str,
    name: &str,
    token: String,
    string: Option<String>,
    binary: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    tags: Vec<Tag>,
    now: OffsetDateTime,
) -> Result<String, AwsError> {
    validate_name(name)?;
    validate_value(&string, &binary)?;
    store.purge_expired(now);
    if let Some(existing) = store.secrets.get(name) {
        return Err(if existing.is_deleted() {
            AwsError::client(
                "InvalidRequestException",
                "You can't create this secret because a secret with this name is already scheduled for deletion.",
            )
        } else {
            AwsError::client(
                "ResourceExistsException",
                format!("The operation failed because the secret {name} already exists."),
            )
        });
    }
    let arn = format!(
        "arn:aws:secretsmanager:{region}:{account}:secret:{name}-{}",
        core.ids.alphanumeric(6)
    );
    let mut secret = Secret {
        arn: arn.clone(),
        name: name.to_owned(),
        description,
        kms_key_id,
        tags,
        created: now,
        last_changed: now,
        last_accessed: None,
        deletion_date: None,
        rotation: None,
        versions: Vec::new(),
    };
    if string.is_some() || binary.is_some() {
        secret.add_version(
            new_version(token, string, binary, now),
            &[AWSCURRENT.to_owned()],
        );
    }
    store.secrets.insert(name.to_owned(), secret);
    Ok(arn)
}

pub(super) fn create_secret(aws: &AwsEmulator, call: &mut Call<'_>, raw: Value) -> OpResult {
    let req: CreateInput = input(raw)?;
    let name = required(&req.name, "name")?.clone();
    call.record.key("name", name.clone());
    let retried_token = req.client_request_token.clone();
    let token = token_or_new(call, req.client_request_token);
    let has_value = req.secret_string.is_some() || req.secret_binary.is_some();
    let now = call.core.clock.now();
    let mut state = aws.write();
    call.authorize(
        &state.iam,
        &format!(
            "arn:aws:secretsmanager:{}:{}:secret:{name}",
            call.region, call.account
        ),
    )?;
    let account = call.account.clone();
    let region = call.region.clone();
    let store = &mut state.partition_mut(&account, &region).secrets;
    // A retry with the token of the version the first call made: "the request is ignored" when
    // the value is the same, refused when it differs (CreateSecret's ClientRequestToken doc).
    if let Some(retried) = retried_token.as_deref()
        && let Some(existing) = store.secrets.get(&name).filter(|s| !s.is_deleted())
        && let Some(version) = existing.version(retried)
    {
        if !version.same_value(&req.secret_string, &req.secret_binary) {
            return Err(AwsError::client(
                "ResourceExistsException",
                "You can't modify an existing version, you can only create a new version.",
            ));
        }
        call.record.key("versionId", version.id.clone());
        return Ok(Outcome::read(json!({
            "ARN": existing.arn,
            "Name": existing.name,
            "VersionId": version.id,
        })));
    }
    let arn = create(
        store,
        call.core,
        &account,
        &region,
        &name,
        token.clone(),
        req.secret_string,
        req.secret_binary,
        req.description,
        req.kms_key_id,
        req.tags,
        now,
    )?;
    let mut body = json!({ "ARN": arn, "Name": name });
    if has_value {
        body["VersionId"] = json!(token);
    }
    Ok(Outcome::wrote(body))
}

/// Adds a new value as a version labelled `stages`. A token that names an existing version is
/// idempotent when the value is the same and an error otherwise, since versions are immutable.
fn put_value(
    secret: &mut Secret,
    token: String,
    string: Option<String>,
    binary: Option<String>,
    stages: &[String],
    now: OffsetDateTime,
) -> Result<(String, Vec<String>), AwsError> {
    validate_value(&string, &binary)?;
    if string.is_none() && binary.is_none() {
        return Err(AwsError::client(
            "InvalidRequestException",
            "You must provide either SecretString or SecretBinary.",
        ));
    }
    if let Some(existing) = secret.version(&token) {
        if existing.same_value(&string, &binary) {
            return Ok((existing.id.clone(), existing.stages.clone()));
        }
        return Err(AwsError::client(
            "ResourceExistsException",
            "You can't modify an existing version, you can only create a new version.",
        ));
    }
    secret.add_version(new_version(token.clone(), string, binary, now), stages);
    secret.last_changed = now;
    let stages = secret
        .version(&token)
        .map(|v| v.stages.clone())
        .unwrap_or_default();
    Ok((token, stages))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutInput {
    secret_id: Option<String>,
    client_request_token: Option<String>,
    secret_string: Option<String>,
    secret_binary: Option<String>,
    version_stages: Option<Vec<String>>,
}

pub(super) fn put_secret_value(aws: &AwsEmulator, call: &mut Call<'_>, raw: Value) -> OpResult {
    let req: PutInput = input(raw)?;
    let id = required(&req.secret_id, "secretId")?.clone();
    call.record.key("secretId", id.clone());
    let token = token_or_new(call, req.client_request_token);
    let stages = req
        .version_stages
        .unwrap_or_else(|| vec![AWSCURRENT.to_owned()]);
    if stages.is_empty() || stages.len() > 20 {
        return Err(AwsError::validation(
            "1 validation error detected: Value at 'versionStages' failed to satisfy constraint: Member must have length between 1 and 20",
        ));
    }
    change_secret(aws, call, &id, |call, secret, now| {
        secret.ensure_active()?;
        let (version_id, version_stages) = put_value(
            secret,
            token,
            req.secret_string,
            req.secret_binary,
            &stages,
            now,
        )?;
        call.record.key("versionId", version_id.clone());
        let mut body = Value::Object(render::arn_and_name(secret));
        body["VersionId"] = json!(version_id);
        body["VersionStages"] = json!(version_stages);
        Ok(Outcome::wrote(body))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateInput {
    secret_id: Option<String>,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    secret_string: Option<String>,
    secret_binary: Option<String>,
}

pub(super) fn update_secret(aws: &AwsEmulator, call: &mut Call<'_>, raw: Value) -> OpResult {
    let req: UpdateInput = input(raw)?;
    let id = required(&req.secret_id, "secretId")?.clone();
    call.record.key("secretId", id.clone());
    let has_value = req.secret_string.is_some() || req.secret_binary.is_some();
    let token = token_or_new(call, req.client_request_token);
    change_secret(aws, call, &id, |call, secret, now| {
        secret.ensure_active()?;
        if has_value && secret.version(&token).is_some() {
            return Err(AwsError::client(
                "ResourceExistsException",
                "A resource with the ID you requested already exists.",
            ));
        }
        validate_value(&req.secret_string, &req.secret_binary)?;
        if let Some(d) = req.description {
            secret.description = Some(d);
        }
        if let Some(k) = req.kms_key_id {
            secret.kms_key_id = Some(k);
        }
        secret.last_changed = now;
        let mut body = Value::Object(render::arn_and_name(secret));
        if has_value {
            let (version_id, _) = put_value(
                secret,
                token,
                req.secret_string,
                req.secret_binary,
                &[AWSCURRENT.to_owned()],
                now,
            )?;
            call.record.key("versionId", version_id.clone());
            body["VersionId"] = json!(version_id);
        }
        Ok(Outcome::wrote(body))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StageInput {
    secret_id: Option<String>,
    version_stage: Option<String>,
    remove_from_version_id: Option<String>,
    move_to_version_id: Option<String>,
}

pub(super) fn update_secret_version_stage(
    aws: &AwsEmulator,
    call: &mut Call<'_>,
    raw: Value,
) -> OpResult {
    let req: StageInput = input(raw)?;
    let id = required(&req.secret_id, "secretId")?.clone();
    let stage = required(&req.version_stage, "versionStage")?.clone();
    call.record.key("secretId", id.clone());
    call.record.key("versionStage", stage.clone());
    change_secret(aws, call, &id, |_call, secret, now| {
        secret.ensure_active()?;
        let not_a_version = |v: &str| {
            AwsError::client(
                "ResourceNotFoundException",
                format!("Secrets Manager can't find the specified secret value for VersionId: {v}"),
            )
        };
        for v in [&req.remove_from_version_id, &req.move_to_version_id]
            .into_iter()
            .flatten()
        {
            if secret.version(v).is_none() {
                return Err(not_a_version(v));
            }
        }
        let holder = secret.version_with_stage(&stage).map(|v| v.id.clone());
        if let Some(from) = &req.remove_from_version_id
            && holder.as_deref() != Some(from.as_str())
        {
            return Err(AwsError::client(
                "InvalidParameterException",
                format!(
                    "The staging label {stage} is currently not attached to version {from}, so you can't remove it."
                ),
            ));
        }
        match (&req.move_to_version_id, &holder) {
            (Some(to), Some(current))
                if to != current
                    && req.remove_from_version_id.as_deref() != Some(current.as_str()) =>
            {
                return Err(AwsError::client(
                    "InvalidParameterException",
                    format!(
                        "The parameter RemoveFromVersionId can't be empty. Staging label {stage} is currently attached to version {current}, so you must explicitly reference that version in RemoveFromVersionId."
                    ),
                ));
            }
            (Some(to), _) => secret.move_stage(&stage, to),
            (None, _) => {
                if let Some(from) = &req.remove_from_version_id {
                    secret.remove_stage(&stage, from);
                }
            }
        }
        secret.last_changed = now;
        Ok(Outcome::wrote(Value::Object(render::arn_and_name(secret))))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RotateInput {
    secret_id: Option<String>,
    client_request_token: Option<String>,
    #[serde(rename = "RotationLambdaARN")]
    rotation_lambda_arn: Option<String>,
    rotation_rules: Option<Value>,
    rotate_immediately: Option<bool>,
}

/// The value a built-in rotation writes: a JSON secret keeps its shape with a fresh `password`,
/// anything else becomes a fresh password. There is no Lambda to run, so the emulator plays the
/// four rotation steps itself (createSecret, setSecret, testSecret, finishSecret).
fn rotated_value(core: &crate::core::Core, current: Option<&Version>) -> String {
    let password =
        super::password::generate(core, &super::password::Rules::default()).unwrap_or_default();
    if let Some(Ok(Value::Object(mut map))) = current
        .and_then(|v| v.string.as_deref())
        .map(serde_json::from_str::<Value>)
        && map.contains_key("password")
    {
        map.insert("password".into(), json!(password));
        return Value::Object(map).to_string();
    }
    password
}

pub(super) fn rotate_secret(aws: &AwsEmulator, call: &mut Call<'_>, raw: Value) -> OpResult {
    let req: RotateInput = input(raw)?;
    let id = required(&req.secret_id, "secretId")?.clone();
    call.record.key("secretId", id.clone());
    let token = token_or_new(call, req.client_request_token);
    change_secret(aws, call, &id, |call, secret, now| {
        secret.ensure_active()?;
        let mut rotation = secret.rotation.clone().unwrap_or_default();
        if let Some(arn) = req.rotation_lambda_arn {
            rotation.lambda_arn = Some(arn);
        }
        if let Some(rules) = req.rotation_rules {
            rotation.rules = Some(rules);
        }
        if rotation.lambda_arn.is_none() {
            return Err(AwsError::client(
                "InvalidRequestException",
                "No Lambda rotation function ARN is associated with this secret.",
            ));
        }
        let pending = secret.version_with_stage(AWSPENDING).map(|v| v.id.clone());
        let current = secret.version_with_stage(AWSCURRENT).map(|v| v.id.clone());
        if pending.is_some() && pending != current {
            return Err(AwsError::client(
                "InvalidRequestException",
                "A previous rotation isn't complete. That rotation will be reattempted.",
            ));
        }
        rotation.enabled = true;
        let mut body = Value::Object(render::arn_and_name(secret));
        if req.rotate_immediately.unwrap_or(true) {
            let value = rotated_value(call.core, secret.version_with_stage(AWSCURRENT));
            secret.add_version(
                new_version(token.clone(), Some(value), None, now),
                &[AWSPENDING.to_owned()],
            );
            secret.move_stage(AWSCURRENT, &token);
            secret.remove_stage(AWSPENDING, &token);
            rotation.last_rotated = Some(now);
            secret.last_changed = now;
            call.record.key("versionId", token.clone());
            body["VersionId"] = json!(token);
        }
        secret.rotation = Some(rotation);
        Ok(Outcome::wrote(body))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteInput {
    secret_id: Option<String>,
    recovery_window_in_days: Option<i64>,
    force_delete_without_recovery: Option<bool>,
}

pub(super) fn delete_secret(aws: &AwsEmulator, call: &mut Call<'_>, raw: Value) -> OpResult {
    let req: DeleteInput = input(raw)?;
    let id = required(&req.secret_id, "secretId")?.clone();
    call.record.key("secretId", id.clone());
    let force = req.force_delete_without_recovery.unwrap_or(false);
    if force && req.recovery_window_in_days.is_some() {
        return Err(AwsError::client(
            "InvalidParameterException",
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        ));
    }
    let days = req.recovery_window_in_days.unwrap_or(30);
    if !(7..=30).contains(&days) {
        return Err(AwsError::client(
            "InvalidParameterException",
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
        ));
    }
    let now = call.core.clock.now();
    let mut state = aws.write();
    let (region, account) = (call.region.clone(), call.account.clone());
    let (iam, partition) = state.iam_and_partition(&account, &region);
    let store = &mut partition.secrets;
    store.purge_expired(now);
    let key = match store.find_key(&id, now) {
        Some(k) => k,
        // AWS answers a forced delete of a missing secret with success, so cleanup scripts can
        // run twice; the ARN it reports is a made-up one.
        None if force => {
            call.authorize(iam, &access::absent_arn(call, &id))?;
            return Ok(Outcome::read(json!({
                "ARN": format!("arn:aws:secretsmanager:{region}:{account}:secret:{id}-{}", call.core.ids.alphanumeric(6)),
                "Name": id,
                "DeletionDate": epoch_seconds(now),
            })));
        }
        None => {
            call.authorize(iam, &access::absent_arn(call, &id))?;
            return Err(secret_not_found());
        }
    };
    let secret = store.secrets.get_mut(&key).ok_or_else(secret_not_found)?;
    call.authorize(iam, &secret.arn)?;
    let mut body = Value::Object(render::arn_and_name(secret));
    if force {
        body["DeletionDate"] = json!(epoch_seconds(now));
        store.secrets.remove(&key);
        return Ok(Outcome::wrote(body));
    }
    if secret.is_deleted() {
        return Err(AwsError::client(
            "InvalidRequestException",
            "You can't perform this operation on the secret because it was already scheduled for deletion.",
        ));
    }
    let when = now + Duration::days(days);
    secret.deletion_date = Some(when);
    body["DeletionDate"] = json!(epoch_seconds(when));
    Ok(Outcome::wrote(body))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SecretIdInput {
    secret_id: Option<String>,
}

pub(super) fn restore_secret(aws: &AwsEmulator, call: &mut Call<'_>, raw: Value) -> OpResult {
    let req: SecretIdInput = input(raw)?;
    let id = required(&req.secret_id, "secretId")?.clone();
    call.record.key("secretId", id.clone());
    change_secret(aws, call, &id, |_call, secret, _now| {
        secret.deletion_date = None;
        Ok(Outcome::wrote(Value::Object(render::arn_and_name(secret))))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagInput {
    secret_id: Option<String>,
    tags: Option<Vec<Tag>>,
}

pub(super) fn tag_resource(aws: &AwsEmulator, call: &mut Call<'_>, raw: Value) -> OpResult {
    let req: TagInput = input(raw)?;
    let id = required(&req.secret_id, "secretId")?.clone();
    let tags = required(&req.tags, "tags")?.clone();
    call.record.key("secretId", id.clone());
    change_secret(aws, call, &id, |_call, secret, _now| {
        secret.ensure_active()?;
        // Check the limit before touching the secret: a refused call must leave it as it was.
        let new_keys: std::collections::BTreeSet<&str> = tags
            .iter()
            .map(|t| t.key.as_str())
            .filter(|k| !secret.tags.iter().any(|t| t.key == *k))
            .collect();
        if secret.tags.len() + new_keys.len() > MAX_TAGS {
            return Err(AwsError::validation(format!(
                "Number of tags exceeds the limit of {MAX_TAGS}"
            )));
        }
        for tag in tags {
            match secret.tags.iter_mut().find(|t| t.key == tag.key) {
                Some(existing) => existing.value = tag.value,
                None => secret.tags.push(tag),
            }
        }
        Ok(Outcome::wrote(json!({})))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagInput {
    secret_id: Option<String>,
    tag_keys: Option<Vec<String>>,
}

pub(super) fn untag_resource(aws: &AwsEmulator, call: &mut Call<'_>, raw: Value) -> OpResult {
    let req: UntagInput = input(raw)?;
    let id = required(&req.secret_id, "secretId")?.clone();
    let keys = required(&req.tag_keys, "tagKeys")?.clone();
    call.record.key("secretId", id.clone());
    change_secret(aws, call, &id, |_call, secret, _now| {
        secret.ensure_active()?;
        secret.tags.retain(|t| !keys.contains(&t.key));
        Ok(Outcome::wrote(json!({})))
    })
}
