//! Finding the secret a request names, for its caller: authorized against the secret's ARN, and
//! when there is no such secret, against the ARN it would have. A caller without access to that
//! name so gets AccessDeniedException either way and learns nothing of the secret's absence:
//! IAM decides on the request's resource before the service looks anything up, and
//! BatchGetSecretValue reports such refusals per secret as `AccessDeniedException` in `Errors`
//! (API reference, BatchGetSecretValue). A refusal names the secret as the caller gave it, as
//! Secrets Manager words it ("... on resource: MyDBSecret because ...").

use time::OffsetDateTime;

use super::store::{Secret, Store, secret_not_found};
use crate::aws::error::AwsError;
use crate::aws::iam::IamState;
use crate::aws::json_protocol::Call;

/// The resource a request about an absent secret is authorized against: an ARN as given, else
/// the partial ARN (no random suffix) of a secret with that name in the caller's region.
pub(super) fn absent_arn(call: &Call<'_>, id: &str) -> String {
    if id.starts_with("arn:") {
        id.to_owned()
    } else {
        format!(
            "arn:aws:secretsmanager:{}:{}:secret:{id}",
            call.region, call.account
        )
    }
}

/// The secret `id` names, if the caller may perform `action` on it; AccessDenied before NotFound.
pub(super) fn find<'a>(
    call: &Call<'_>,
    iam: &IamState,
    action: &str,
    store: Option<&'a Store>,
    id: &str,
    now: OffsetDateTime,
) -> Result<&'a Secret, AwsError> {
    match store
        .ok_or_else(secret_not_found)
        .and_then(|s| s.find(id, now))
    {
        Ok(secret) => {
            iam.authorize_as(&call.identity, action, &secret.arn, id)?;
            Ok(secret)
        }
        Err(not_found) => {
            iam.authorize_as(&call.identity, action, &absent_arn(call, id), id)?;
            Err(not_found)
        }
    }
}

/// [`find`] for the call's own action, now.
pub(super) fn find_own<'a>(
    call: &Call<'_>,
    iam: &IamState,
    store: Option<&'a Store>,
    id: &str,
) -> Result<&'a Secret, AwsError> {
    find(call, iam, &call.action(), store, id, call.core.clock.now())
}

/// [`find`] for a change.
pub(super) fn find_mut<'a>(
    call: &Call<'_>,
    iam: &IamState,
    store: &'a mut Store,
    id: &str,
    now: OffsetDateTime,
) -> Result<&'a mut Secret, AwsError> {
    let action = call.action();
    match store.find_key(id, now) {
        Some(key) => {
            let secret = store.secrets.get_mut(&key).ok_or_else(secret_not_found)?;
            iam.authorize_as(&call.identity, &action, &secret.arn, id)?;
            Ok(secret)
        }
        None => {
            iam.authorize_as(&call.identity, &action, &absent_arn(call, id), id)?;
            Err(secret_not_found())
        }
    }
}
