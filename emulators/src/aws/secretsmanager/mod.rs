//! Secrets Manager over AWS JSON 1.1 (`X-Amz-Target: secretsmanager.<Operation>`).
//!
//! RotateSecret runs no Lambda: with a rotation function configured, the emulator performs the
//! rotation itself (a new version labelled AWSPENDING is promoted to AWSCURRENT at once, the old
//! one becomes AWSPREVIOUS), which is what a provider observing rotation needs to see.

mod access;
pub(crate) mod model;
mod password;
mod read;
mod render;
mod store;
mod write;

use serde::Deserialize;
use serde_json::Value;

pub use store::{Secret, Store, Tag, Version};

use super::AwsEmulator;
use super::error::AwsError;
use super::json_protocol::{Call, OpResult};

pub(crate) fn handle(aws: &AwsEmulator, call: &mut Call<'_>, input: Value) -> OpResult {
    match call.operation.as_str() {
        "GetSecretValue" => read::get_secret_value(aws, call, input),
        "BatchGetSecretValue" => read::batch_get_secret_value(aws, call, input),
        "DescribeSecret" => read::describe_secret(aws, call, input),
        "ListSecrets" => read::list_secrets(aws, call, input),
        "ListSecretVersionIds" => read::list_secret_version_ids(aws, call, input),
        "GetRandomPassword" => password::get_random_password(aws, call, input),
        "CreateSecret" => write::create_secret(aws, call, input),
        "PutSecretValue" => write::put_secret_value(aws, call, input),
        "UpdateSecret" => write::update_secret(aws, call, input),
        "UpdateSecretVersionStage" => write::update_secret_version_stage(aws, call, input),
        "RotateSecret" => write::rotate_secret(aws, call, input),
        "DeleteSecret" => write::delete_secret(aws, call, input),
        "RestoreSecret" => write::restore_secret(aws, call, input),
        "TagResource" => write::tag_resource(aws, call, input),
        "UntagResource" => write::untag_resource(aws, call, input),
        other => Err(AwsError::client(
            "UnknownOperationException",
            format!("Unknown operation secretsmanager.{other}"),
        )),
    }
}

/// A secret in a seed document. Seeding an existing name adds a new AWSCURRENT version when the
/// value differs, so a seed file can be re-applied.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedSecret {
    pub name: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub secret_string: Option<String>,
    /// Base64.
    #[serde(default)]
    pub secret_binary: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

pub fn seed_secret(
    store: &mut Store,
    core: &crate::core::Core,
    account: &str,
    region: &str,
    secret: SeedSecret,
) -> Result<(), String> {
    let fail = |e: AwsError| format!("secret '{}': {}", secret.name, e.message);
    // A seeded secret obeys the limits a CreateSecret call would.
    let as_request = serde_json::json!({
        "Name": secret.name,
        "SecretString": secret.secret_string,
        "SecretBinary": secret.secret_binary,
        "Description": secret.description,
        "Tags": secret.tags,
    });
    crate::aws::validate::check(model::TABLE, "CreateSecret", &as_request).map_err(fail)?;
    let now = core.clock.now();
    let token = core.ids.uuid();
    if let Some(existing) = store.secrets.get_mut(&secret.name) {
        let unchanged = existing
            .version_with_stage(store::AWSCURRENT)
            .is_some_and(|v| v.same_value(&secret.secret_string, &secret.secret_binary));
        if !unchanged && (secret.secret_string.is_some() || secret.secret_binary.is_some()) {
            store::validate_value(&secret.secret_string, &secret.secret_binary).map_err(fail)?;
            existing.add_version(
                Version {
                    id: token,
                    string: secret.secret_string.clone(),
                    binary: secret.secret_binary.clone(),
                    stages: Vec::new(),
                    created: now,
                    last_accessed: None,
                },
                &[store::AWSCURRENT.to_owned()],
            );
            existing.last_changed = now;
        }
        return Ok(());
    }
    write::create(
        store,
        core,
        account,
        region,
        &secret.name,
        token,
        secret.secret_string.clone(),
        secret.secret_binary.clone(),
        secret.description.clone(),
        None,
        secret.tags.clone(),
        now,
    )
    .map(|_| ())
    .map_err(fail)
}
