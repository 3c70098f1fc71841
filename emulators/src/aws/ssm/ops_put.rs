//! PutParameter: create, or overwrite as a new version, with AWS's checks in AWS's order.

use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use time::OffsetDateTime;

use super::names;
use super::pattern::Pattern;
use super::store::{DEFAULT_KEY_ID, MAX_VERSIONS, ParamType, Parameter, Store, Tier, Version};
use crate::aws::AwsEmulator;
use crate::aws::error::AwsError;
use crate::aws::json_protocol::{Call, OpResult, Outcome, input, required};
use crate::aws::validate::Constraints;

pub const STANDARD_LIMIT: usize = 4096;
pub const ADVANCED_LIMIT: usize = 8192;
const DATA_TYPES: [&str; 3] = ["text", "aws:ec2:image", "aws:ssm:integration"];

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagInput {
    key: Option<String>,
    value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutInput {
    name: Option<String>,
    description: Option<String>,
    value: Option<String>,
    #[serde(rename = "Type")]
    kind: Option<String>,
    key_id: Option<String>,
    overwrite: Option<bool>,
    allowed_pattern: Option<String>,
    tags: Option<Vec<TagInput>>,
    tier: Option<String>,
    policies: Option<String>,
    data_type: Option<String>,
}

/// A validated write, from the API or from a seed document.
#[derive(Debug, Clone, Default)]
pub struct PutRequest {
    pub name: String,
    pub value: String,
    pub kind: Option<ParamType>,
    pub description: Option<String>,
    pub key_id: Option<String>,
    pub overwrite: bool,
    pub allowed_pattern: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub tier: Option<Tier>,
    pub has_policies: bool,
    pub data_type: Option<String>,
}

/// Where and by whom a write happens.
pub struct Writer<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub user: &'a str,
    pub now: OffsetDateTime,
}

pub(super) fn put_parameter(
    aws: &AwsEmulator,
    call: &mut Call<'_>,
    body: serde_json::Value,
) -> OpResult {
    let req: PutInput = input(body)?;
    let name = required(&req.name, "name")?.trim().to_owned();
    let value = required(&req.value, "value")?.clone();
    call.record.key("name", name.clone());

    // Lengths and patterns are the model table's; the enums are parsed here.
    let mut c = Constraints::default();
    let kind = c.one_of(
        "type",
        req.kind.as_deref(),
        ParamType::NAMES,
        ParamType::parse,
    );
    let tier = c.one_of("tier", req.tier.as_deref(), Tier::NAMES, Tier::parse);
    let tags = req.tags.unwrap_or_default();
    c.finish()?;
    let mut tag_map = BTreeMap::new();
    for tag in tags {
        let key = required(&tag.key, "tags.member.key")?;
        let value = required(&tag.value, "tags.member.value")?;
        tag_map.insert(key.clone(), value.clone());
    }

    let request = PutRequest {
        name,
        value,
        kind,
        description: req.description,
        key_id: req.key_id,
        overwrite: req.overwrite.unwrap_or(false),
        allowed_pattern: req.allowed_pattern,
        tags: tag_map,
        tier,
        has_policies: req.policies.is_some_and(|p| p.trim() != "[]"),
        data_type: req.data_type,
    };

    let mut state = aws.write();
    call.authorize(
        &state.iam,
        &names::arn(&call.region, &call.account, &request.name),
    )?;
    let user = call.identity.arn.clone();
    let writer = Writer {
        region: &call.region,
        account: &call.account,
        user: &user,
        now: call.core.clock.now(),
    };
    let (version, tier) = put(
        &mut state.partition_mut(&call.account, &call.region).parameters,
        request,
        &writer,
    )?;
    Ok(Outcome::wrote(
        json!({ "Version": version, "Tier": tier.as_str() }),
    ))
}

fn already_exists() -> AwsError {
    AwsError::client(
        "ParameterAlreadyExists",
        "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
    )
}

/// Applies a write; returns the new version number and the tier it was stored in.
pub fn put(store: &mut Store, req: PutRequest, w: &Writer<'_>) -> Result<(u64, Tier), AwsError> {
    if req.overwrite && !req.tags.is_empty() {
        return Err(AwsError::validation(
            "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
        ));
    }
    names::validate_new(&req.name, w.region, w.account)?;
    if req.value.is_empty() {
        return Err(AwsError::validation(
            "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1.",
        ));
    }
    if let Some(open) = req.value.find("{{")
        && req.value[open..].contains("}}")
    {
        return Err(AwsError::validation(
            "Parameter value can't nest another parameter. Do not use \"{{}}\" in the value.",
        ));
    }

    let previous = store.get(&req.name).and_then(Parameter::latest);
    match (previous, req.overwrite) {
        (Some(_), false) => return Err(already_exists()),
        (None, _) if req.kind.is_none() => {
            return Err(AwsError::validation(
                "A parameter type is required when you create a parameter.",
            ));
        }
        _ => {}
    }
    let kind = req
        .kind
        .or(previous.map(|v| v.kind))
        .unwrap_or(ParamType::String);
    if let Some(prev) = previous
        && prev.kind != kind
    {
        return Err(AwsError::client(
            "HierarchyTypeMismatchException",
            "Parameter Store doesn't support changing a parameter type in a hierarchy. For example, you can't change a parameter from a String type to a SecureString type. You must create a new, unique parameter.",
        ));
    }

    let data_type = req
        .data_type
        .clone()
        .filter(|d| !d.is_empty())
        .or_else(|| previous.map(|v| v.data_type.clone()))
        .unwrap_or_else(|| "text".to_owned());
    check_data_type(&data_type, kind, &req.value)?;

    let tier = resolve_tier(
        req.tier,
        previous.map(|v| v.tier),
        req.value.len(),
        req.has_policies,
    )?;

    let allowed_pattern = req
        .allowed_pattern
        .clone()
        .or_else(|| previous.and_then(|v| v.allowed_pattern.clone()));
    if let Some(source) = allowed_pattern.as_deref().filter(|p| !p.is_empty()) {
        let compiled = Pattern::new(source).map_err(|e| {
            AwsError::client(
                "InvalidAllowedPatternException",
                format!("The allowed pattern {source} is not valid: {e}."),
            )
        })?;
        if !compiled.is_match(&req.value) {
            return Err(AwsError::client(
                "ParameterPatternMismatchException",
                format!("Parameter value, cannot be validated against allowedPattern: {source}"),
            ));
        }
    }
    let description = req
        .description
        .clone()
        .or_else(|| previous.and_then(|v| v.description.clone()));
    let key_id = (kind == ParamType::SecureString).then(|| {
        req.key_id
            .clone()
            .or_else(|| previous.and_then(|v| v.key_id.clone()))
            .unwrap_or_else(|| DEFAULT_KEY_ID.to_owned())
    });

    let version = Version {
        version: previous.map_or(1, |v| v.version + 1),
        value: req.value,
        kind,
        description,
        allowed_pattern,
        key_id,
        tier,
        data_type,
        last_modified: w.now,
        last_modified_user: w.user.to_owned(),
        labels: Vec::new(),
    };
    let number = version.version;
    match store.get_mut(&req.name) {
        Some(parameter) => {
            if parameter.versions.len() >= MAX_VERSIONS {
                if let Some(oldest) = parameter.versions.first().filter(|v| !v.labels.is_empty()) {
                    return Err(AwsError::client(
                        "ParameterMaxVersionLimitExceeded",
                        format!(
                            "You attempted to create a new version of {} by calling the PutParameter API with the overwrite flag. Version {}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.",
                            parameter.name, oldest.version
                        ),
                    ));
                }
                parameter.versions.remove(0);
            }
            parameter.versions.push(version);
        }
        None => {
            store.parameters.insert(
                names::key(&req.name),
                Parameter {
                    name: req.name,
                    versions: vec![version],
                    tags: req.tags,
                },
            );
        }
    }
    Ok((number, tier))
}

fn check_data_type(data_type: &str, kind: ParamType, value: &str) -> Result<(), AwsError> {
    if !DATA_TYPES.contains(&data_type) {
        return Err(AwsError::validation(format!(
            "The following data type is not supported: {data_type} (Data type names are all lowercase.)"
        )));
    }
    if data_type == "aws:ec2:image" {
        if kind != ParamType::String {
            return Err(AwsError::validation(format!(
                "The data type {data_type} is only supported for String parameters."
            )));
        }
        let id = value.strip_prefix("ami-").unwrap_or_default();
        let well_formed = matches!(id.len(), 8 | 17) && id.bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            return Err(AwsError::validation(format!(
                "Parameter value {value} is not a valid AMI id for data type aws:ec2:image. Expected a value like ami-12345abcdeEXAMPLE."
            )));
        }
    }
    Ok(())
}

/// Standard holds 4 KB, Advanced 8 KB; Intelligent-Tiering picks the cheapest that fits; an
/// Advanced parameter can never go back to Standard.
fn resolve_tier(
    requested: Option<Tier>,
    previous: Option<Tier>,
    len: usize,
    policies: bool,
) -> Result<Tier, AwsError> {
    let was_advanced = previous == Some(Tier::Advanced);
    let tier = match requested {
        Some(Tier::Standard) if was_advanced => {
            return Err(AwsError::validation(
                "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.",
            ));
        }
        Some(Tier::Standard) => Tier::Standard,
        Some(Tier::Advanced) => Tier::Advanced,
        Some(Tier::IntelligentTiering) if was_advanced || policies || len > STANDARD_LIMIT => {
            Tier::Advanced
        }
        Some(Tier::IntelligentTiering) => Tier::Standard,
        None => previous.unwrap_or(Tier::Standard),
    };
    if len > ADVANCED_LIMIT {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length less than or equal to {ADVANCED_LIMIT}"
        )));
    }
    if tier == Tier::Standard && len > STANDARD_LIMIT {
        return Err(AwsError::validation(format!(
            "Standard tier parameters support a maximum parameter value of {STANDARD_LIMIT} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"
        )));
    }
    if tier == Tier::Standard && policies {
        return Err(AwsError::validation(
            "Parameter policies are only supported for advanced-tier parameters. Use the advanced-parameter tier or the Intelligent-Tiering option.",
        ));
    }
    Ok(tier)
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed expectation is the test failing
mod tests {
    use super::*;

    fn writer() -> Writer<'static> {
        Writer {
            region: "us-east-1",
            account: "123456789012",
            user: "arn:aws:iam::123456789012:root",
            now: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn req(name: &str, value: &str) -> PutRequest {
        PutRequest {
            name: name.into(),
            value: value.into(),
            kind: Some(ParamType::String),
            ..PutRequest::default()
        }
    }

    #[test]
    fn tiers() {
        assert_eq!(
            resolve_tier(None, None, 10, false).ok(),
            Some(Tier::Standard)
        );
        assert_eq!(
            resolve_tier(Some(Tier::IntelligentTiering), None, 5000, false).ok(),
            Some(Tier::Advanced)
        );
        assert_eq!(
            resolve_tier(Some(Tier::IntelligentTiering), None, 10, false).ok(),
            Some(Tier::Standard)
        );
        assert_eq!(
            resolve_tier(None, Some(Tier::Advanced), 10, false).ok(),
            Some(Tier::Advanced)
        );
        assert!(resolve_tier(Some(Tier::Standard), Some(Tier::Advanced), 10, false).is_err());
        assert!(resolve_tier(None, None, 4097, false).is_err());
        assert!(resolve_tier(Some(Tier::Advanced), None, 8193, false).is_err());
    }

    #[test]
    fn oldest_version_is_dropped_unless_labelled() {
        let mut store = Store::default();
        put(&mut store, req("/p", "v1"), &writer()).expect("create");
        for i in 2..=MAX_VERSIONS + 1 {
            let r = PutRequest {
                overwrite: true,
                ..req("/p", &format!("v{i}"))
            };
            put(&mut store, r, &writer()).expect("overwrite");
        }
        let p = store.get("/p").expect("exists");
        assert_eq!(p.versions.len(), MAX_VERSIONS);
        assert_eq!(p.versions.first().map(|v| v.version), Some(2));
        if let Some(oldest) = store.get_mut("/p").and_then(|p| p.versions.first_mut()) {
            oldest.labels.push("keep".into());
        }
        let r = PutRequest {
            overwrite: true,
            ..req("/p", "more")
        };
        let e = put(&mut store, r, &writer()).expect_err("labelled oldest");
        assert_eq!(e.code, "ParameterMaxVersionLimitExceeded");
    }

    #[test]
    fn ami_data_type_is_checked_lightly() {
        assert!(
            check_data_type("aws:ec2:image", ParamType::String, "ami-0123456789abcdef0").is_ok()
        );
        assert!(check_data_type("aws:ec2:image", ParamType::String, "ami-12345678").is_ok());
        assert!(check_data_type("aws:ec2:image", ParamType::String, "i-12345678").is_err());
        assert!(check_data_type("aws:ec2:image", ParamType::SecureString, "ami-12345678").is_err());
        assert!(check_data_type("Text", ParamType::String, "x").is_err());
    }
}
