//! SSM Parameter Store over AWS JSON 1.1 (`X-Amz-Target: AmazonSSM.<Operation>`).

use serde::{Deserialize, Serialize};

use super::AwsEmulator;
use super::error::AwsError;
use super::json_protocol::{Call, OpResult};

/// One region's parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Store {}

pub(crate) fn handle(_aws: &AwsEmulator, call: &mut Call<'_>, _input: serde_json::Value) -> OpResult {
    Err(AwsError::client("UnknownOperationException", format!("Unknown operation {}", call.operation)))
}
