//! LabelParameterVersion and UnlabelParameterVersion.

use serde::Deserialize;
use serde_json::{Value, json};

use super::names;
use super::store::Parameter;
use crate::aws::AwsEmulator;
use crate::aws::error::AwsError;
use crate::aws::json_protocol::{Call, OpResult, Outcome, input, required};

pub const MAX_LABELS_PER_VERSION: usize = 10;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LabelInput {
    name: Option<String>,
    parameter_version: Option<i64>,
    labels: Option<Vec<String>>,
}

fn checked(call: &mut Call<'_>, req: &LabelInput) -> Result<(String, Vec<String>), AwsError> {
    let name = required(&req.name, "name")?.clone();
    let labels = required(&req.labels, "labels")?.clone();
    call.record.key("name", name.clone());
    Ok((name, labels))
}

/// Labels address a parameter by name or ARN, never with a selector.
fn target(call: &Call<'_>, requested: &str) -> String {
    names::parse_selector(requested, &call.region, &call.account)
        .ok()
        .filter(|s| s.suffix.is_none())
        .map_or_else(|| requested.to_owned(), |s| s.name)
}

fn not_found(name: &str) -> AwsError {
    AwsError::client("ParameterNotFound", format!("Parameter {name} not found."))
}

fn no_version(name: &str, version: i64) -> AwsError {
    AwsError::client(
        "ParameterVersionNotFound",
        format!(
            "Systems Manager could not find version {version} of {name}. Verify the version and try again."
        ),
    )
}

fn version_index(p: &Parameter, version: i64) -> Option<usize> {
    u64::try_from(version)
        .ok()
        .and_then(|n| p.versions.iter().position(|v| v.version == n))
}

pub(super) fn label_parameter_version(
    aws: &AwsEmulator,
    call: &mut Call<'_>,
    body: Value,
) -> OpResult {
    let req: LabelInput = input(body)?;
    let (requested, labels) = checked(call, &req)?;
    let name = target(call, &requested);
    let mut state = aws.write();
    call.authorize(&state.iam, &names::arn(&call.region, &call.account, &name))?;
    let parameter = state
        .partition_mut(&call.account, &call.region)
        .parameters
        .get_mut(&name)
        .ok_or_else(|| not_found(&requested))?;
    let index = match req.parameter_version {
        Some(v) => version_index(parameter, v).ok_or_else(|| no_version(&name, v))?,
        None => parameter.versions.len().saturating_sub(1),
    };
    let (valid, invalid): (Vec<String>, Vec<String>) =
        labels.into_iter().partition(|l| names::label_is_valid(l));
    let mut valid = super::ops_get::unique(&valid);
    let existing = &parameter.versions[index].labels;
    valid.retain(|l| !existing.contains(l));
    if existing.len() + valid.len() > MAX_LABELS_PER_VERSION {
        return Err(AwsError::client(
            "ParameterVersionLabelLimitExceeded",
            "A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.",
        ));
    }
    // A label names one version of a parameter, so attaching it elsewhere moves it here.
    for v in &mut parameter.versions {
        v.labels.retain(|l| !valid.contains(l));
    }
    let version = parameter.versions[index].version;
    parameter.versions[index].labels.extend(valid);
    Ok(Outcome::wrote(
        json!({ "InvalidLabels": invalid, "ParameterVersion": version }),
    ))
}

pub(super) fn unlabel_parameter_version(
    aws: &AwsEmulator,
    call: &mut Call<'_>,
    body: Value,
) -> OpResult {
    let req: LabelInput = input(body)?;
    let version = *required(&req.parameter_version, "parameterVersion")?;
    let (requested, labels) = checked(call, &req)?;
    let name = target(call, &requested);
    let mut state = aws.write();
    call.authorize(&state.iam, &names::arn(&call.region, &call.account, &name))?;
    let parameter = state
        .partition_mut(&call.account, &call.region)
        .parameters
        .get_mut(&name)
        .ok_or_else(|| not_found(&requested))?;
    let index = version_index(parameter, version).ok_or_else(|| no_version(&name, version))?;
    let attached = &mut parameter.versions[index].labels;
    let (removed, invalid): (Vec<String>, Vec<String>) = super::ops_get::unique(&labels)
        .into_iter()
        .partition(|l| attached.contains(l));
    attached.retain(|l| !removed.contains(l));
    Ok(Outcome::wrote(
        json!({ "RemovedLabels": removed, "InvalidLabels": invalid }),
    ))
}
