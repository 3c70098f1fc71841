//! SSM Parameter Store over AWS JSON 1.1 (`X-Amz-Target: AmazonSSM.<Operation>`).

use serde::{Deserialize, Serialize};

use super::AwsEmulator;
use super::error::AwsError;
use super::json_protocol::{Call, OpResult};

/// One region's parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Store {}

pub(crate) fn handle(
    _aws: &AwsEmulator,
    call: &mut Call<'_>,
    _input: serde_json::Value,
) -> OpResult {
    Err(AwsError::client(
        "UnknownOperationException",
        format!("Unknown operation {}", call.operation),
    ))
}

/// A parameter in a seed document.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedParameter {
    pub name: String,
    #[serde(default)]
    pub region: Option<String>,
}

pub fn seed_parameter(
    _store: &mut Store,
    _core: &crate::core::Core,
    _account: &str,
    _region: &str,
    _parameter: SeedParameter,
) -> Result<(), String> {
    Err("SSM seeding is not implemented yet".into())
}
