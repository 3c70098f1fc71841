//! DeleteParameter and DeleteParameters. Both take names only, never ARNs or selectors.

use serde::Deserialize;
use serde_json::{Value, json};

use super::names;
use crate::aws::AwsEmulator;
use crate::aws::error::AwsError;
use crate::aws::json_protocol::{Call, OpResult, Outcome, input, required};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteInput {
    name: Option<String>,
}

pub(super) fn delete_parameter(aws: &AwsEmulator, call: &mut Call<'_>, body: Value) -> OpResult {
    let req: DeleteInput = input(body)?;
    let name = required(&req.name, "name")?.clone();
    call.record.key("name", name.clone());
    let mut state = aws.write();
    call.authorize(&state.iam, &names::arn(&call.region, &call.account, &name))?;
    let removed = state
        .existing_partition_mut(&call.account, &call.region)
        .and_then(|r| r.parameters.remove(&name));
    match removed {
        Some(_) => Ok(Outcome::wrote(json!({}))),
        // As with GetParameter, AWS sends this one without a message.
        None => Err(AwsError::client("ParameterNotFound", "")),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteManyInput {
    names: Option<Vec<String>>,
}

pub(super) fn delete_parameters(aws: &AwsEmulator, call: &mut Call<'_>, body: Value) -> OpResult {
    let req: DeleteManyInput = input(body)?;
    let requested = required(&req.names, "names")?.clone();
    call.record.key("names", requested.join(","));
    let requested = super::ops_get::unique(&requested);
    let mut state = aws.write();
    for name in &requested {
        call.authorize(&state.iam, &names::arn(&call.region, &call.account, name))?;
    }
    let (mut deleted, mut invalid) = (Vec::new(), Vec::new());
    let store = state.existing_partition_mut(&call.account, &call.region);
    match store {
        Some(region) => {
            for name in requested {
                if region.parameters.remove(&name).is_some() {
                    deleted.push(name);
                } else {
                    invalid.push(name);
                }
            }
        }
        None => invalid = requested,
    }
    let mutated = !deleted.is_empty();
    let body = json!({ "DeletedParameters": deleted, "InvalidParameters": invalid });
    Ok(if mutated {
        Outcome::wrote(body)
    } else {
        Outcome::read(body)
    })
}
