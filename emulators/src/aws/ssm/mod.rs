//! SSM Parameter Store over AWS JSON 1.1 (`X-Amz-Target: AmazonSSM.<Operation>`).
//!
//! Parameters live per region; each keeps up to 100 versions with labels. SecureString values
//! are stored in clear (there is no KMS here) and read back without `WithDecryption` as the
//! opaque stand-in described in [`render::ciphertext`].

mod filters;
pub(crate) mod model;
mod names;
mod ops_delete;
mod ops_describe;
mod ops_get;
mod ops_labels;
mod ops_put;
mod pattern;
mod render;
mod store;

use serde::Deserialize;
use std::collections::BTreeMap;

use super::AwsEmulator;
use super::error::AwsError;
use super::json_protocol::{Call, OpResult};
pub use names::label_is_valid;
pub use store::{ParamType, Parameter, Store, Tier, Version};

pub(crate) fn handle(aws: &AwsEmulator, call: &mut Call<'_>, input: serde_json::Value) -> OpResult {
    match call.operation.as_str() {
        "PutParameter" => ops_put::put_parameter(aws, call, input),
        "GetParameter" => ops_get::get_parameter(aws, call, input),
        "GetParameters" => ops_get::get_parameters(aws, call, input),
        "GetParametersByPath" => ops_get::get_parameters_by_path(aws, call, input),
        "DeleteParameter" => ops_delete::delete_parameter(aws, call, input),
        "DeleteParameters" => ops_delete::delete_parameters(aws, call, input),
        "DescribeParameters" => ops_describe::describe_parameters(aws, call, input),
        "GetParameterHistory" => ops_describe::get_parameter_history(aws, call, input),
        "LabelParameterVersion" => ops_labels::label_parameter_version(aws, call, input),
        "UnlabelParameterVersion" => ops_labels::unlabel_parameter_version(aws, call, input),
        _ => Err(AwsError::client(
            "UnknownOperationException",
            format!("Unknown operation {}", call.operation),
        )),
    }
}

/// A parameter in a seed document. Seeding an existing parameter with a different value or
/// settings adds a version (as an overwrite would), so a list of entries with one name seeds a
/// history; an identical entry only (re)applies labels and tags.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedParameter {
    pub name: String,
    #[serde(default)]
    pub region: Option<String>,
    /// `String` (default), `StringList` or `SecureString`.
    #[serde(default, rename = "type")]
    pub kind: Option<ParamType>,
    pub value: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `Standard` (default), `Advanced` or `Intelligent-Tiering`.
    #[serde(default)]
    pub tier: Option<Tier>,
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub allowed_pattern: Option<String>,
    /// `text` (default), `aws:ec2:image` or `aws:ssm:integration`.
    #[serde(default)]
    pub data_type: Option<String>,
    /// Labels attached to the seeded version (moved from any other version that had them).
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

pub fn seed_parameter(
    store: &mut Store,
    core: &crate::core::Core,
    account: &str,
    region: &str,
    parameter: SeedParameter,
) -> Result<(), String> {
    let fail = |e: AwsError| format!("parameter {}: {}: {}", parameter.name, e.code, e.message);
    let name = parameter.name.trim().to_owned();
    let kind = parameter.kind.unwrap_or(ParamType::String);
    let unchanged = store
        .get(&name)
        .and_then(Parameter::latest)
        .is_some_and(|v| {
            v.value == parameter.value
                && v.kind == kind
                && (parameter.description.is_none() || v.description == parameter.description)
                && (parameter.data_type.is_none()
                    || Some(&v.data_type) == parameter.data_type.as_ref())
        });
    if !unchanged {
        let exists = store.get(&name).is_some();
        let request = ops_put::PutRequest {
            name: name.clone(),
            value: parameter.value.clone(),
            kind: Some(kind),
            description: parameter.description.clone(),
            key_id: parameter.key_id.clone(),
            overwrite: exists,
            allowed_pattern: parameter.allowed_pattern.clone(),
            tags: BTreeMap::new(),
            tier: parameter.tier,
            has_policies: false,
            data_type: parameter.data_type.clone(),
        };
        let writer = ops_put::Writer {
            region,
            account,
            user: &format!("arn:aws:iam::{account}:root"),
            now: core.clock.now(),
        };
        ops_put::put(store, request, &writer).map_err(fail)?;
    }
    let Some(stored) = store.get_mut(&name) else {
        return Err(format!("parameter {name}: not stored"));
    };
    stored.tags.extend(parameter.tags.clone());
    for label in &parameter.labels {
        if !names::label_is_valid(label) || label.len() > names::MAX_LABEL_LENGTH {
            return Err(format!("parameter {name}: invalid label '{label}'"));
        }
    }
    for v in &mut stored.versions {
        v.labels.retain(|l| !parameter.labels.contains(l));
    }
    if let Some(latest) = stored.versions.last_mut() {
        for label in &parameter.labels {
            latest.labels.push(label.clone());
        }
        if latest.labels.len() > ops_labels::MAX_LABELS_PER_VERSION {
            return Err(format!(
                "parameter {name}: a version can have at most 10 labels"
            ));
        }
    }
    Ok(())
}
