//! Operations that only read: GetSecretValue, BatchGetSecretValue, DescribeSecret, ListSecrets,
//! ListSecretVersionIds.

use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::access;
use super::render;
use super::store::{AWSCURRENT, Secret, Store, Version};
use crate::aws::AwsEmulator;
use crate::aws::error::AwsError;
use crate::aws::json_protocol::{Call, OpResult, Outcome, input, required};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetSecretValueInput {
    secret_id: Option<String>,
    version_id: Option<String>,
    version_stage: Option<String>,
}

/// Picks the version a GetSecretValue-style request names, with AWS's errors.
fn select_version<'a>(
    secret: &'a Secret,
    version_id: Option<&str>,
    stage: Option<&str>,
) -> Result<&'a Version, AwsError> {
    match (version_id, stage) {
        (Some(id), stage) => {
            let v = secret.version(id).ok_or_else(|| {
                AwsError::client(
                    "ResourceNotFoundException",
                    format!(
                        "Secrets Manager can't find the specified secret value for VersionId: {id}"
                    ),
                )
            })?;
            if let Some(stage) = stage
                && !v.stages.iter().any(|s| s == stage)
            {
                return Err(AwsError::client(
                    "InvalidRequestException",
                    "You provided a VersionStage that is not associated to the provided VersionId.",
                ));
            }
            Ok(v)
        }
        (None, stage) => {
            let stage = stage.unwrap_or(AWSCURRENT);
            secret.version_with_stage(stage).ok_or_else(|| {
                AwsError::client(
                    "ResourceNotFoundException",
                    format!("Secrets Manager can't find the specified secret value for staging label: {stage}"),
                )
            })
        }
    }
}

pub(super) fn get_secret_value(aws: &AwsEmulator, call: &mut Call<'_>, raw: Value) -> OpResult {
    let req: GetSecretValueInput = input(raw)?;
    let id = required(&req.secret_id, "secretId")?;
    call.record.key("secretId", id.clone());
    let now = call.core.clock.now();
    let (body, key, stale_access) = {
        let state = aws.read();
        let store = state
            .partition(&call.account, &call.region)
            .map(|r| &r.secrets);
        let secret = access::find(call, &state.iam, &call.action(), store, id, now)?;
        secret.ensure_active()?;
        let version = select_version(
            secret,
            req.version_id.as_deref(),
            req.version_stage.as_deref(),
        )?;
        call.record.key("versionId", version.id.clone());
        let today = render::day_of(now);
        (
            render::secret_value(secret, version),
            secret.name.clone(),
            secret.last_accessed != Some(today),
        )
    };
    // LastAccessedDate is a day, so a read only writes on its first access of the day; it is not
    // worth an fsync and rides along with the next persisted change.
    if stale_access
        && let Some(secret) = aws
            .write()
            .partition_mut(&call.account, &call.region)
            .secrets
            .secrets
            .get_mut(&key)
    {
        secret.last_accessed = Some(render::day_of(now));
    }
    Ok(Outcome::read(body))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeInput {
    secret_id: Option<String>,
}

pub(super) fn describe_secret(aws: &AwsEmulator, call: &mut Call<'_>, raw: Value) -> OpResult {
    let req: DescribeInput = input(raw)?;
    let id = required(&req.secret_id, "secretId")?;
    call.record.key("secretId", id.clone());
    let state = aws.read();
    let store = state
        .partition(&call.account, &call.region)
        .map(|r| &r.secrets);
    let secret = access::find_own(call, &state.iam, store, id)?;
    Ok(Outcome::read(render::description(
        secret,
        "VersionIdsToStages",
    )))
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Filter {
    key: Option<String>,
    #[serde(default)]
    values: Vec<String>,
}

/// Filter values are prefix matches; a leading `!` negates. Names and tags are case-sensitive,
/// descriptions are not.
fn filter_matches(secret: &Secret, filter: &Filter) -> bool {
    let key = filter.key.as_deref().unwrap_or_default();
    filter.values.iter().any(|raw| {
        let (negated, value) = match raw.strip_prefix('!') {
            Some(v) => (true, v),
            None => (false, raw.as_str()),
        };
        let description = || {
            secret
                .description
                .as_deref()
                .is_some_and(|d| d.to_lowercase().starts_with(&value.to_lowercase()))
        };
        let hit = match key {
            "name" => secret.name.starts_with(value),
            "description" => description(),
            "tag-key" => secret.tags.iter().any(|t| t.key.starts_with(value)),
            "tag-value" => secret.tags.iter().any(|t| t.value.starts_with(value)),
            "all" => {
                secret.name.starts_with(value)
                    || description()
                    || secret
                        .tags
                        .iter()
                        .any(|t| t.key.starts_with(value) || t.value.starts_with(value))
            }
            // No replication or managed secrets here: nothing has a primary region or owner.
            _ => false,
        };
        hit != negated
    })
}

fn page_token(name: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(name.as_bytes())
}

fn page_start(token: Option<&str>) -> Result<Option<String>, AwsError> {
    let invalid = || {
        AwsError::client(
            "InvalidNextTokenException",
            "The NextToken value is invalid.",
        )
    };
    token
        .map(|t| {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(invalid)
        })
        .transpose()
}

/// The page size asked for (its range is the model table's), or `limit`.
fn page_size(max: Option<i64>, limit: i64) -> usize {
    usize::try_from(max.unwrap_or(limit).clamp(1, limit)).unwrap_or(1)
}

/// Secrets matching `filters`, in name order, starting after the page token.
fn matching<'a>(
    store: Option<&'a Store>,
    filters: &[Filter],
    include_deleted: bool,
    after: Option<&str>,
    now: time::OffsetDateTime,
) -> impl Iterator<Item = &'a Secret> {
    let after = after.map(str::to_owned);
    let filters = filters.to_vec();
    store
        .into_iter()
        .flat_map(|s| s.secrets.values())
        .filter(move |s| after.as_deref().is_none_or(|a| s.name.as_str() > a))
        .filter(move |s| s.deletion_date.is_none_or(|d| include_deleted && d > now))
        .filter(move |s| filters.iter().all(|f| filter_matches(s, f)))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListInput {
    include_planned_deletion: Option<bool>,
    max_results: Option<i64>,
    next_token: Option<String>,
    #[serde(default)]
    filters: Vec<Filter>,
    sort_order: Option<String>,
}

pub(super) fn list_secrets(aws: &AwsEmulator, call: &mut Call<'_>, raw: Value) -> OpResult {
    let req: ListInput = input(raw)?;
    let size = page_size(req.max_results, 100);
    let after = page_start(req.next_token.as_deref())?;
    let state = aws.read();
    call.authorize(&state.iam, "*")?;
    let now = call.core.clock.now();
    let store = state
        .partition(&call.account, &call.region)
        .map(|r| &r.secrets);
    let mut hits: Vec<&Secret> = matching(
        store,
        &req.filters,
        req.include_planned_deletion.unwrap_or(false),
        after.as_deref(),
        now,
    )
    .take(size + 1)
    .collect();
    let more = hits.len() > size;
    hits.truncate(size);
    if req.sort_order.as_deref() == Some("desc") {
        hits.reverse();
    }
    let mut body = json!({
        "SecretList": hits.iter().map(|s| render::description(s, "SecretVersionsToStages")).collect::<Vec<_>>(),
    });
    if more && let Some(last) = hits.iter().map(|s| s.name.as_str()).max() {
        body["NextToken"] = json!(page_token(last));
    }
    Ok(Outcome::read(body))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListVersionsInput {
    secret_id: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
    include_deprecated: Option<bool>,
}

pub(super) fn list_secret_version_ids(
    aws: &AwsEmulator,
    call: &mut Call<'_>,
    raw: Value,
) -> OpResult {
    let req: ListVersionsInput = input(raw)?;
    let id = required(&req.secret_id, "secretId")?;
    call.record.key("secretId", id.clone());
    let size = page_size(req.max_results, 100);
    let start = match page_start(req.next_token.as_deref())? {
        Some(t) => t.parse::<usize>().map_err(|_| {
            AwsError::client(
                "InvalidNextTokenException",
                "The NextToken value is invalid.",
            )
        })?,
        None => 0,
    };
    let state = aws.read();
    let store = state
        .partition(&call.account, &call.region)
        .map(|r| &r.secrets);
    let secret = access::find_own(call, &state.iam, store, id)?;
    let include_deprecated = req.include_deprecated.unwrap_or(false);
    let versions: Vec<&Version> = secret
        .versions
        .iter()
        .rev()
        .filter(|v| include_deprecated || !v.stages.is_empty())
        .collect();
    let page: Vec<Value> = versions
        .iter()
        .skip(start)
        .take(size)
        .map(|v| {
            let mut entry = json!({
                "VersionId": v.id,
                "VersionStages": v.stages,
                "CreatedDate": crate::core::clock::epoch_seconds(v.created),
            });
            if let Some(t) = v.last_accessed {
                entry["LastAccessedDate"] = json!(crate::core::clock::epoch_seconds(t));
            }
            entry
        })
        .collect();
    let mut body = Value::Object(render::arn_and_name(secret));
    body["Versions"] = json!(page);
    if start + size < versions.len() {
        body["NextToken"] = json!(page_token(&(start + size).to_string()));
    }
    Ok(Outcome::read(body))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchInput {
    secret_id_list: Option<Vec<String>>,
    filters: Option<Vec<Filter>>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub(super) fn batch_get_secret_value(
    aws: &AwsEmulator,
    call: &mut Call<'_>,
    raw: Value,
) -> OpResult {
    let req: BatchInput = input(raw)?;
    let invalid = |m: &str| AwsError::client("InvalidParameterException", m.to_owned());
    if req.secret_id_list.is_some() == req.filters.is_some() {
        return Err(invalid(
            "Either 'SecretIdList' or 'Filters' must be provided, but not both.",
        ));
    }
    if req.max_results.is_some() && req.filters.is_none() {
        return Err(invalid(
            "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided.",
        ));
    }
    let now = call.core.clock.now();
    let state = aws.read();
    // The batch permission itself, then ListSecrets for filters, then GetSecretValue per secret
    // (API reference, BatchGetSecretValue: "Required permissions").
    call.authorize(&state.iam, "*")?;
    if req.filters.is_some() {
        state
            .iam
            .authorize(&call.identity, "secretsmanager:ListSecrets", "*")?;
    }
    let store = state
        .partition(&call.account, &call.region)
        .map(|r| &r.secrets);
    let mut values = Vec::new();
    let mut errors = Vec::new();
    let mut next_token = None;
    const GET: &str = "secretsmanager:GetSecretValue";
    let error = |asked: &str, e: AwsError| json!({ "SecretId": asked, "ErrorCode": e.code, "Message": e.message });
    if let Some(ids) = &req.secret_id_list {
        for id in ids {
            let value = access::find(call, &state.iam, GET, store, id, now).and_then(|secret| {
                secret.ensure_active()?;
                select_version(secret, None, None).map(|v| render::secret_value(secret, v))
            });
            match value {
                Ok(v) => values.push(v),
                Err(e) => errors.push(error(id, e)),
            }
        }
        call.record.key("secretIds", ids.join(","));
    } else {
        let filters = req.filters.unwrap_or_default();
        let size = page_size(req.max_results, 20);
        let after = page_start(req.next_token.as_deref())?;
        let mut hits: Vec<&Secret> = matching(store, &filters, false, after.as_deref(), now)
            .take(size + 1)
            .collect();
        if hits.len() > size {
            hits.truncate(size);
            next_token = hits.last().map(|s| page_token(&s.name));
        }
        for secret in hits {
            let value = state
                .iam
                .authorize(&call.identity, GET, &secret.arn)
                .and_then(|()| secret.ensure_active())
                .and_then(|()| select_version(secret, None, None));
            match value {
                Ok(v) => values.push(render::secret_value(secret, v)),
                Err(e) => errors.push(error(&secret.name, e)),
            }
        }
    }
    let mut body = json!({ "SecretValues": values, "Errors": errors });
    if let Some(t) = next_token {
        body["NextToken"] = json!(t);
    }
    Ok(Outcome::read(body))
}
