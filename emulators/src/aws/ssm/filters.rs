//! `ParameterFilters` (DescribeParameters, GetParametersByPath) and the older `Filters`
//! (DescribeParameters): validation with AWS's errors, and matching.

use serde::Deserialize;

use super::names;
use super::store::{ParamType, Parameter, Tier, Version};
use crate::aws::error::AwsError;
use crate::aws::validate::Constraints;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StringFilter {
    pub key: Option<String>,
    pub option: Option<String>,
    pub values: Option<Vec<String>>,
}

/// The legacy `Filters` member of DescribeParameters.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LegacyFilter {
    pub key: Option<String>,
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Describe,
    ByPath,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum FilterKey {
    Name,
    Type,
    KeyId,
    Path,
    Label,
    Tier,
    DataType,
    Tag(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equals,
    BeginsWith,
    Contains,
    OneLevel,
    Recursive,
}

#[derive(Debug, Clone)]
pub struct Filter {
    key: FilterKey,
    op: Op,
    values: Vec<String>,
}

fn invalid_key(message: String) -> AwsError {
    AwsError::client("InvalidFilterKey", message)
}

fn invalid_option(message: String) -> AwsError {
    AwsError::client("InvalidFilterOption", message)
}

/// Filters as the model table let them through (lengths, key pattern, value counts).
pub fn parse(filters: Vec<StringFilter>, scope: Scope) -> Result<Vec<Filter>, AwsError> {
    for (i, f) in filters.iter().enumerate() {
        if f.key.is_none() {
            return Err(AwsError::missing(&format!(
                "parameterFilters.{}.member.key",
                i + 1
            )));
        }
    }

    let mut out: Vec<Filter> = Vec::new();
    for f in filters {
        let raw = f.key.unwrap_or_default();
        let key = match raw.as_str() {
            "Name" => FilterKey::Name,
            "Type" => FilterKey::Type,
            "KeyId" => FilterKey::KeyId,
            "Path" => FilterKey::Path,
            "Label" => FilterKey::Label,
            "Tier" => FilterKey::Tier,
            "DataType" => FilterKey::DataType,
            tag => FilterKey::Tag(tag.trim_start_matches("tag:").to_owned()),
        };
        match scope {
            Scope::Describe if key == FilterKey::Label => {
                return Err(invalid_key(format!(
                    "The following filter key is not valid: {raw}. Valid filter keys include: [Path, Name, Type, KeyId, Tier]."
                )));
            }
            Scope::ByPath if matches!(key, FilterKey::Name | FilterKey::Path | FilterKey::Tier) => {
                return Err(invalid_key(format!(
                    "The following filter key is not valid: {raw}. Valid filter keys include: [Type, KeyId]."
                )));
            }
            _ => {}
        }
        let values = f.values.unwrap_or_default();
        if values.is_empty() && !matches!(key, FilterKey::Tag(_)) {
            return Err(AwsError::client(
                "InvalidFilterValue",
                format!("The following filter values are missing : null for filter key {raw}."),
            ));
        }
        if out.iter().any(|o| o.key == key) {
            return Err(invalid_key(format!(
                "The following filter is duplicated in the request: {raw}. A request can contain only one occurrence of a specific filter."
            )));
        }
        let op = option(&key, f.option.as_deref())?;
        check_values(&key, &values)?;
        out.push(Filter { key, op, values });
    }
    Ok(out)
}

fn option(key: &FilterKey, option: Option<&str>) -> Result<Op, AwsError> {
    if *key == FilterKey::Path {
        return match option.unwrap_or("OneLevel") {
            "OneLevel" => Ok(Op::OneLevel),
            "Recursive" => Ok(Op::Recursive),
            other => Err(invalid_option(format!(
                "The following filter option is not valid: {other}. Valid options include: [Recursive, OneLevel]."
            ))),
        };
    }
    let (allowed, listed): (&[Op], &str) = match key {
        FilterKey::Name => (
            &[Op::Equals, Op::BeginsWith, Op::Contains],
            "[BeginsWith, Equals, Contains]",
        ),
        FilterKey::Label => (&[Op::Equals], "[Equals]"),
        _ => (&[Op::Equals, Op::BeginsWith], "[BeginsWith, Equals]"),
    };
    let op = match option.unwrap_or("Equals") {
        "Equals" => Some(Op::Equals),
        "BeginsWith" => Some(Op::BeginsWith),
        "Contains" => Some(Op::Contains),
        _ => None,
    };
    op.filter(|o| allowed.contains(o)).ok_or_else(|| {
        invalid_option(format!(
            "The following filter option is not valid: {}. Valid options include: {listed}.",
            option.unwrap_or_default()
        ))
    })
}

fn check_values(key: &FilterKey, values: &[String]) -> Result<(), AwsError> {
    let bad = |v: &str, listed: &str| {
        invalid_option(format!(
            "The following filter value is not valid: {v}. Valid values include: {listed}."
        ))
    };
    for v in values {
        match key {
            FilterKey::Type if ParamType::parse(v).is_none() => {
                return Err(bad(v, "[String, StringList, SecureString]"));
            }
            FilterKey::Tier if Tier::parse(v).is_none() => return Err(bad(v, Tier::NAMES)),
            FilterKey::Path => names::validate_path(v)?,
            _ => {}
        }
    }
    Ok(())
}

/// The legacy filters as their modern equivalents (Name means BeginsWith there).
pub fn from_legacy(filters: Vec<LegacyFilter>) -> Result<Vec<Filter>, AwsError> {
    let mut out = Vec::new();
    for (i, f) in filters.into_iter().enumerate() {
        let at = |m: &str| format!("filters.{}.member.{m}", i + 1);
        let raw = f.key.ok_or_else(|| AwsError::missing(&at("key")))?;
        let values = f.values.ok_or_else(|| AwsError::missing(&at("values")))?;
        let mut c = Constraints::default();
        let (key, op) = match raw.as_str() {
            "Name" => (FilterKey::Name, Op::BeginsWith),
            "Type" => (FilterKey::Type, Op::Equals),
            "KeyId" => (FilterKey::KeyId, Op::Equals),
            other => {
                c.one_of::<()>(&at("key"), Some(other), "[Name, Type, KeyId]", |_| None);
                c.finish()?;
                continue;
            }
        };
        c.finish()?;
        out.push(Filter { key, op, values });
    }
    Ok(out)
}

/// The labels a `Label` filter asks for, if any: GetParametersByPath then answers with the
/// labelled version rather than the latest.
pub fn labels(filters: &[Filter]) -> Option<&[String]> {
    filters
        .iter()
        .find(|f| f.key == FilterKey::Label)
        .map(|f| f.values.as_slice())
}

fn text_matches(op: Op, have: &str, values: &[String]) -> bool {
    values.iter().any(|want| match op {
        Op::Equals => have == want,
        Op::BeginsWith => have.starts_with(want.as_str()),
        Op::Contains => have.contains(want.as_str()),
        Op::OneLevel | Op::Recursive => false,
    })
}

/// Root-level names answer to both spellings (`x` and `/x`), as AWS stores them as one.
fn name_forms(p: &Parameter) -> [String; 2] {
    let key = names::key(&p.name);
    let slashed = if key.starts_with('/') {
        key.clone()
    } else {
        format!("/{key}")
    };
    [key, slashed]
}

fn segments(s: &str) -> Vec<&str> {
    s.split('/').filter(|x| !x.is_empty()).collect()
}

/// Whether `name` lies under `path`: directly below it, or anywhere below when recursive.
pub fn under(path: &str, name: &str, recursive: bool) -> bool {
    let (path, name) = (segments(path), segments(name));
    name.len() > path.len()
        && name.starts_with(&path)
        && (recursive || name.len() == path.len() + 1)
}

pub fn matches(filters: &[Filter], p: &Parameter, v: &Version) -> bool {
    filters.iter().all(|f| match &f.key {
        FilterKey::Name => name_forms(p)
            .iter()
            .any(|n| text_matches(f.op, n, &f.values)),
        FilterKey::Path => f
            .values
            .iter()
            .any(|path| under(path, &p.name, f.op == Op::Recursive)),
        FilterKey::Type => text_matches(f.op, v.kind.as_str(), &f.values),
        FilterKey::KeyId => v
            .key_id
            .as_deref()
            .is_some_and(|k| text_matches(f.op, k, &f.values)),
        FilterKey::Tier => text_matches(f.op, v.tier.as_str(), &f.values),
        FilterKey::DataType => text_matches(f.op, &v.data_type, &f.values),
        FilterKey::Label => v.labels.iter().any(|l| f.values.contains(l)),
        FilterKey::Tag(tag) => match p.tags.get(tag) {
            None => false,
            Some(_) if f.values.is_empty() => true,
            Some(value) => text_matches(f.op, value, &f.values),
        },
    })
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed expectation is the test failing
mod tests {
    use super::*;

    fn filter(key: &str, option: Option<&str>, values: &[&str]) -> StringFilter {
        StringFilter {
            key: Some(key.into()),
            option: option.map(Into::into),
            values: Some(values.iter().map(|v| (*v).to_owned()).collect()),
        }
    }

    /// The error code of the filters, as the front door sees them: the model table, then parse.
    fn code(filters: Vec<StringFilter>, scope: Scope) -> String {
        let wire: Vec<serde_json::Value> = filters
            .iter()
            .map(|f| serde_json::json!({ "Key": f.key, "Option": f.option, "Values": f.values }))
            .collect();
        let (operation, mut input) = match scope {
            Scope::Describe => ("DescribeParameters", serde_json::json!({})),
            Scope::ByPath => ("GetParametersByPath", serde_json::json!({ "Path": "/" })),
        };
        input["ParameterFilters"] = serde_json::Value::Array(wire);
        crate::aws::validate::check(super::super::model::TABLE, operation, &input)
            .and_then(|()| parse(filters, scope).map(drop))
            .err()
            .map(|e| e.code.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn scope_rules() {
        assert_eq!(
            code(vec![filter("Label", None, &["x"])], Scope::Describe),
            "InvalidFilterKey"
        );
        assert_eq!(
            code(vec![filter("Name", None, &["x"])], Scope::ByPath),
            "InvalidFilterKey"
        );
        assert_eq!(code(vec![filter("Label", None, &["x"])], Scope::ByPath), "");
        assert_eq!(
            code(vec![filter("Bogus", None, &["x"])], Scope::Describe),
            "ValidationException"
        );
    }

    #[test]
    fn option_and_value_rules() {
        assert_eq!(
            code(
                vec![filter("Type", Some("Contains"), &["String"])],
                Scope::Describe
            ),
            "InvalidFilterOption"
        );
        assert_eq!(
            code(
                vec![filter("Name", Some("Contains"), &["x"])],
                Scope::Describe
            ),
            ""
        );
        assert_eq!(
            code(
                vec![filter("Path", Some("Equals"), &["/a"])],
                Scope::Describe
            ),
            "InvalidFilterOption"
        );
        assert_eq!(
            code(vec![filter("Type", None, &["Bogus"])], Scope::Describe),
            "InvalidFilterOption"
        );
        let no_values = StringFilter {
            key: Some("Name".into()),
            ..StringFilter::default()
        };
        assert_eq!(code(vec![no_values], Scope::Describe), "InvalidFilterValue");
        assert_eq!(
            code(vec![filter("Name", None, &[])], Scope::Describe),
            "ValidationException"
        );
        let dup = vec![
            filter("Type", None, &["String"]),
            filter("Type", None, &["String"]),
        ];
        assert_eq!(code(dup, Scope::Describe), "InvalidFilterKey");
    }

    #[test]
    fn path_levels() {
        assert!(under("/", "x", false));
        assert!(under("/", "/x", false));
        assert!(!under("/", "/a/b", false));
        assert!(under("/", "/a/b", true));
        assert!(under("/a/", "/a/b", false));
        assert!(!under("/a", "/a", true));
        assert!(!under("/a", "/ab/c", true));
        assert!(under("/a", "/a/b/c", true));
    }
}
