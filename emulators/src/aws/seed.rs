//! The `aws` section of a seed document.

use serde::Deserialize;

use super::AwsState;
use crate::core::Core;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsSeed {
    #[serde(default)]
    pub account_id: Option<String>,
}

impl AwsSeed {
    pub fn apply(self, state: &mut AwsState, _core: &Core) -> Result<(), String> {
        if let Some(account) = self.account_id {
            state.account_id = account;
        }
        Ok(())
    }
}
