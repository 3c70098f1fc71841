//! Secrets: `PUT /secrets/{n}` makes a new version; the rest comes from [`super::objects`].

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::KvError;
use super::http::{Ctx, OpResult, Outcome};
use super::objects::{ObjectKind, attributes_json, check_not_deleted, new_attributes, parse_tags};
use super::state::Vault;
use super::store::{Store, Version};
use super::{Kind, limits};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretData {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Set on the secret that backs a certificate (with `managed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default)]
    pub managed: bool,
}

pub(crate) struct Secrets;

impl ObjectKind for Secrets {
    type Data = SecretData;
    const KIND: Kind = Kind::Secret;

    fn store(vault: &Vault) -> &Store<SecretData> {
        &vault.secrets
    }

    fn store_mut(vault: &mut Vault) -> &mut Store<SecretData> {
        &mut vault.secrets
    }

    fn bundle(base: &str, name: &str, v: &Version<SecretData>) -> Value {
        let mut b = Self::updated(base, name, v);
        b["value"] = json!(v.data.value);
        b
    }

    fn updated(base: &str, name: &str, v: &Version<SecretData>) -> Value {
        let mut b = json!({
            "id": format!("{base}/secrets/{name}/{}", v.id),
            "attributes": attributes_json(&v.attributes),
        });
        if let Some(ct) = &v.data.content_type {
            b["contentType"] = json!(ct);
        }
        if let Some(tags) = &v.tags {
            b["tags"] = json!(tags);
        }
        if let Some(kid) = &v.data.kid {
            // The Azure provider dereferences contentType whenever kid is set.
            let kid = if kid.starts_with('/') {
                format!("{base}{kid}")
            } else {
                kid.clone()
            };
            b["kid"] = json!(kid);
            b["managed"] = json!(true);
        }
        b
    }

    fn item(base: &str, name: &str, v: &Version<SecretData>, with_version: bool) -> Value {
        let mut b = Self::updated(base, name, v);
        // Entries of /secrets carry the id without version; entries of /versions with it.
        b["id"] = if with_version {
            json!(format!("{base}/secrets/{name}/{}", v.id))
        } else {
            json!(format!("{base}/secrets/{name}"))
        };
        if let Some(o) = b.as_object_mut() {
            o.remove("kid");
        }
        b
    }

    fn patch(data: &mut SecretData, input: &Value) -> Result<(), KvError> {
        match input.get("contentType") {
            None | Some(Value::Null) => Ok(()),
            Some(Value::String(ct)) => {
                limits::check_content_type(ct)?;
                data.content_type = Some(ct.clone());
                Ok(())
            }
            Some(_) => Err(KvError::bad_parameter(
                "Property contentType has invalid value",
            )),
        }
    }
}

pub(crate) fn set(ctx: &mut Ctx<'_>, vault: &mut Vault, name: &str, input: &Value) -> OpResult {
    let value = match input.get("value") {
        Some(Value::String(v)) => v.clone(),
        None | Some(Value::Null) => {
            return Err(KvError::bad_parameter("The parameter value is required."));
        }
        Some(_) => return Err(KvError::bad_parameter("Property value has invalid value")),
    };
    limits::check_secret_value(&value)?;
    let content_type = match input.get("contentType") {
        None | Some(Value::Null) => None,
        Some(Value::String(ct)) => {
            limits::check_content_type(ct)?;
            Some(ct.clone())
        }
        Some(_) => {
            return Err(KvError::bad_parameter(
                "Property contentType has invalid value",
            ));
        }
    };
    check_not_deleted(&vault.secrets, Kind::Secret, name)?;
    let created = vault.secrets.next_created(name, ctx.now);
    let version = Version {
        id: ctx.new_version_id(),
        attributes: new_attributes(input, created)?,
        tags: parse_tags(input)?,
        data: SecretData {
            value,
            content_type,
            kid: None,
            managed: false,
        },
    };
    ctx.record.key("version", version.id.clone());
    vault.secrets.push(name, version);
    let item = vault.secrets.get(name).ok_or_else(KvError::internal)?;
    let latest = item.latest().ok_or_else(KvError::internal)?;
    Ok(Outcome::wrote(Secrets::bundle(
        &ctx.base, &item.name, latest,
    )))
}
