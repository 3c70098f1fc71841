//! GetParameter, GetParameters and GetParametersByPath.

use serde::Deserialize;
use serde_json::{Value, json};
use std::ops::Bound;

use super::filters::{self, Scope, StringFilter};
use super::names::{self, Pick, Selector};
use super::render::{self, Place};
use super::store::{Parameter, Store, Version};
use crate::aws::AwsEmulator;
use crate::aws::error::AwsError;
use crate::aws::json_protocol::{Call, OpResult, Outcome, input, required};

/// Why a selector found nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum Miss {
    Parameter,
    Version(u64),
    Label,
}

pub fn resolve<'a>(
    store: &'a Store,
    selector: &Selector,
) -> Result<(&'a Parameter, &'a Version), Miss> {
    let parameter = store.get(&selector.name).ok_or(Miss::Parameter)?;
    let version = match &selector.pick {
        Pick::Latest => parameter.latest(),
        Pick::Version(n) => Some(parameter.version(*n).ok_or(Miss::Version(*n))?),
        Pick::Label(label) => Some(parameter.labelled(label).ok_or(Miss::Label)?),
    };
    version.map(|v| (parameter, v)).ok_or(Miss::Parameter)
}

/// A requested name's hierarchy must be well formed even for lookups; ARNs carry their own.
fn check_lookup_name(requested: &str) -> Result<(), AwsError> {
    if requested.starts_with("arn:") {
        return Ok(());
    }
    names::validate_lookup(requested.split(':').next().unwrap_or_default())
}

/// The resource a request is authorized against: the parameter's ARN, or the ARN as given.
fn resource(call: &Call<'_>, requested: &str, selector: Option<&Selector>) -> String {
    match selector {
        Some(s) => names::arn(&call.region, &call.account, &s.name),
        None if requested.starts_with("arn:") => {
            requested.split(':').take(6).collect::<Vec<_>>().join(":")
        }
        None => names::arn(&call.region, &call.account, requested),
    }
}

fn with_store<T>(
    aws: &AwsEmulator,
    call: &Call<'_>,
    f: impl FnOnce(&crate::aws::iam::IamState, &Store) -> T,
) -> T {
    let state = aws.read();
    let empty = Store::default();
    let store = state
        .partition(&call.account, &call.region)
        .map_or(&empty, |r| &r.parameters);
    f(&state.iam, store)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetInput {
    name: Option<String>,
    with_decryption: Option<bool>,
}

pub(super) fn get_parameter(aws: &AwsEmulator, call: &mut Call<'_>, body: Value) -> OpResult {
    let req: GetInput = input(body)?;
    let requested = required(&req.name, "name")?.clone();
    call.record.key("name", requested.clone());
    check_lookup_name(&requested)?;
    let selector = names::parse_selector(&requested, &call.region, &call.account).ok();
    let decrypt = req.with_decryption.unwrap_or(false);
    with_store(aws, call, |iam, store| {
        call.authorize(iam, &resource(call, &requested, selector.as_ref()))?;
        // AWS answers a missing parameter with an empty message.
        let not_found = || AwsError::client("ParameterNotFound", "");
        let selector = selector.ok_or_else(not_found)?;
        match resolve(store, &selector) {
            Ok((p, v)) => {
                let place = Place {
                    region: &call.region,
                    account: &call.account,
                };
                let rendered = render::parameter(&place, p, v, selector.suffix.as_deref(), decrypt);
                Ok(Outcome::read(json!({ "Parameter": rendered })))
            }
            Err(Miss::Version(n)) => Err(AwsError::client(
                "ParameterVersionNotFound",
                format!(
                    "Systems Manager could not find version {n} of {}. Verify the version and try again.",
                    selector.name
                ),
            )),
            Err(Miss::Parameter | Miss::Label) => Err(not_found()),
        }
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetManyInput {
    names: Option<Vec<String>>,
    with_decryption: Option<bool>,
}

/// Keeps the first occurrence of each string: AWS answers a repeated name once.
pub fn unique(items: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items
        .iter()
        .filter(|n| seen.insert(n.as_str()))
        .cloned()
        .collect()
}

pub(super) fn get_parameters(aws: &AwsEmulator, call: &mut Call<'_>, body: Value) -> OpResult {
    let req: GetManyInput = input(body)?;
    let requested = required(&req.names, "names")?.clone();
    call.record.key("names", requested.join(","));
    for name in &requested {
        check_lookup_name(name)?;
    }
    let decrypt = req.with_decryption.unwrap_or(false);
    let place = Place {
        region: &call.region,
        account: &call.account,
    };
    with_store(aws, call, |iam, store| {
        let mut found: Vec<(String, Value)> = Vec::new();
        let mut invalid = Vec::new();
        for name in unique(&requested) {
            let selector = names::parse_selector(&name, &call.region, &call.account).ok();
            call.authorize(iam, &resource(call, &name, selector.as_ref()))?;
            match selector.as_ref().map(|s| (s, resolve(store, s))) {
                Some((s, Ok((p, v)))) => {
                    let rendered = render::parameter(&place, p, v, s.suffix.as_deref(), decrypt);
                    found.push((p.name.clone(), rendered));
                }
                _ => invalid.push(name),
            }
        }
        // AWS lists the answers sorted by name, whatever order they were asked in.
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let parameters: Vec<Value> = found.into_iter().map(|(_, v)| v).collect();
        Ok(Outcome::read(
            json!({ "Parameters": parameters, "InvalidParameters": invalid }),
        ))
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ByPathInput {
    path: Option<String>,
    recursive: Option<bool>,
    parameter_filters: Option<Vec<StringFilter>>,
    with_decryption: Option<bool>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub(super) fn get_parameters_by_path(
    aws: &AwsEmulator,
    call: &mut Call<'_>,
    body: Value,
) -> OpResult {
    let req: ByPathInput = input(body)?;
    let path = required(&req.path, "path")?.clone();
    call.record.key("path", path.clone());
    names::validate_path(&path)?;
    let filters = filters::parse(req.parameter_filters.unwrap_or_default(), Scope::ByPath)?;
    let after = render::position(req.next_token.as_deref())?;
    let limit = usize::try_from(req.max_results.unwrap_or(10)).unwrap_or(10);
    let recursive = req.recursive.unwrap_or(false);
    let decrypt = req.with_decryption.unwrap_or(false);
    let place = Place {
        region: &call.region,
        account: &call.account,
    };
    let path_arn = names::arn(&call.region, &call.account, path.trim_end_matches('/'));
    with_store(aws, call, |iam, store| {
        call.authorize(iam, &path_arn)?;
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut page = Vec::new();
        let mut last_key = None;
        let mut more = false;
        for (key, p) in store
            .parameters
            .range::<String, _>((start, Bound::Unbounded))
        {
            if !filters::under(&path, &p.name, recursive) {
                continue;
            }
            let chosen = match filters::labels(&filters) {
                Some(labels) => p
                    .versions
                    .iter()
                    .rev()
                    .find(|v| v.labels.iter().any(|l| labels.contains(l))),
                None => p.latest(),
            };
            let Some(v) = chosen.filter(|v| filters::matches(&filters, p, v)) else {
                continue;
            };
            if page.len() == limit {
                more = true;
                break;
            }
            page.push(render::parameter(&place, p, v, None, decrypt));
            last_key = Some(key.clone());
        }
        let mut out = json!({ "Parameters": page });
        if let (true, Some(key)) = (more, last_key) {
            out["NextToken"] = render::token(&key).into();
        }
        Ok(Outcome::read(out))
    })
}
