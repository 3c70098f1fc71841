//! DescribeParameters and GetParameterHistory: metadata and versions, paged.

use serde::Deserialize;
use serde_json::{Value, json};
use std::ops::Bound;

use super::filters::{self, LegacyFilter, Scope, StringFilter};
use super::names::{self, Pick};
use super::render::{self, Place};
use super::store::Store;
use crate::aws::AwsEmulator;
use crate::aws::error::AwsError;
use crate::aws::json_protocol::{Call, OpResult, Outcome, input, required};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeInput {
    filters: Option<Vec<LegacyFilter>>,
    parameter_filters: Option<Vec<StringFilter>>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub(super) fn describe_parameters(aws: &AwsEmulator, call: &mut Call<'_>, body: Value) -> OpResult {
    let req: DescribeInput = input(body)?;
    let legacy = req.filters.filter(|f| !f.is_empty());
    let modern = req.parameter_filters.filter(|f| !f.is_empty());
    let filters = match (legacy, modern) {
        (Some(_), Some(_)) => {
            return Err(AwsError::validation(
                "You can use either Filters or ParameterFilters in a single request.",
            ));
        }
        (Some(legacy), None) => filters::from_legacy(legacy)?,
        (None, modern) => filters::parse(modern.unwrap_or_default(), Scope::Describe)?,
    };
    let after = render::position(req.next_token.as_deref())?;
    let limit = usize::try_from(req.max_results.unwrap_or(10)).unwrap_or(10);
    let place = Place {
        region: &call.region,
        account: &call.account,
    };
    let state = aws.read();
    // DescribeParameters is not scoped to a parameter: IAM evaluates it against every resource.
    call.authorize(
        &state.iam,
        &format!("arn:aws:ssm:{}:{}:*", call.region, call.account),
    )?;
    let empty = Store::default();
    let store = state
        .partition(&call.account, &call.region)
        .map_or(&empty, |r| &r.parameters);
    let start = after.map_or(Bound::Unbounded, Bound::Excluded);
    let mut page = Vec::new();
    let mut last_key = None;
    let mut more = false;
    for (key, p) in store
        .parameters
        .range::<String, _>((start, Bound::Unbounded))
    {
        let Some(v) = p.latest().filter(|v| filters::matches(&filters, p, v)) else {
            continue;
        };
        if page.len() == limit {
            more = true;
            break;
        }
        page.push(render::metadata(&place, p, v));
        last_key = Some(key.clone());
    }
    let mut out = json!({ "Parameters": page });
    if let (true, Some(key)) = (more, last_key) {
        out["NextToken"] = render::token(&key).into();
    }
    Ok(Outcome::read(out))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HistoryInput {
    name: Option<String>,
    with_decryption: Option<bool>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub(super) fn get_parameter_history(
    aws: &AwsEmulator,
    call: &mut Call<'_>,
    body: Value,
) -> OpResult {
    let req: HistoryInput = input(body)?;
    let requested = required(&req.name, "name")?.clone();
    call.record.key("name", requested.clone());
    let after = render::position(req.next_token.as_deref())?;
    let start = match after {
        Some(p) => p.parse::<u64>().map_err(|_| {
            AwsError::client("InvalidNextToken", "The specified token isn't valid.")
        })?,
        None => 0,
    };
    let limit = usize::try_from(req.max_results.unwrap_or(50)).unwrap_or(50);
    let decrypt = req.with_decryption.unwrap_or(false);
    let not_found = || {
        AwsError::client(
            "ParameterNotFound",
            format!("Parameter {requested} not found."),
        )
    };
    let selector = names::parse_selector(&requested, &call.region, &call.account)
        .ok()
        .filter(|s| s.pick == Pick::Latest);
    let state = aws.read();
    let resource = selector.as_ref().map_or_else(
        || names::arn(&call.region, &call.account, &requested),
        |s| names::arn(&call.region, &call.account, &s.name),
    );
    call.authorize(&state.iam, &resource)?;
    let selector = selector.ok_or_else(not_found)?;
    let parameter = state
        .partition(&call.account, &call.region)
        .and_then(|r| r.parameters.get(&selector.name))
        .ok_or_else(not_found)?;
    let mut remaining = parameter
        .versions
        .iter()
        .filter(|v| v.version > start)
        .peekable();
    let mut page = Vec::new();
    while page.len() < limit {
        let Some(v) = remaining.next() else { break };
        page.push((v.version, render::history(parameter, v, decrypt)));
    }
    let mut out = json!({ "Parameters": page.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>() });
    if remaining.peek().is_some()
        && let Some((last, _)) = page.last()
    {
        out["NextToken"] = render::token(&last.to_string()).into();
    }
    Ok(Outcome::read(out))
}
