//! The AWS provider against the Secrets Manager / SSM / STS emulator. (In progress.)

use super::{WireCtx, Wiring, WiringError};
use crate::scenario::model::Provider;

pub async fn wire(_ctx: &WireCtx<'_>) -> Result<Wiring, WiringError> {
    Err(WiringError::Provider {
        provider: Provider::Aws,
        message: "wiring not built yet".into(),
    })
}
