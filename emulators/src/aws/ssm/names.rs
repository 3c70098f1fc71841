//! Parameter names, ARNs, selectors (`name:version`, `name:label`) and label rules.

use axum::http::StatusCode;

use crate::aws::error::AwsError;

/// A hierarchy may be at most this deep (`/a/b/c` is three levels).
pub const MAX_LEVELS: usize = 15;
/// The name limit counts the whole ARN (the user guide's "1011 characters").
pub const MAX_ARN_NAME_LENGTH: usize = 1011;
pub const MAX_LABEL_LENGTH: usize = 100;

const BAD_NAME: &str = "Parameter name: can't be prefixed with \"ssm\" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_";
const RESERVED_PREFIX: &str =
    "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).";
const BAD_PATH: &str = "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: /get/parameters2-/by1./path0_.";

/// The store key: AWS treats `/name` and `name` at the root as the same parameter (their ARNs
/// are identical), so the leading slash of a one-level name is dropped.
pub fn key(name: &str) -> String {
    match name.strip_prefix('/') {
        Some(rest) if !rest.contains('/') => rest.to_owned(),
        _ => name.to_owned(),
    }
}

pub fn arn(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:aws:ssm:{region}:{account}:parameter/{}",
        name.strip_prefix('/').unwrap_or(name)
    )
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')
}

fn reserved(name: &str) -> bool {
    let lower = name.trim_start_matches('/').to_ascii_lowercase();
    lower.starts_with("aws") || lower.starts_with("ssm")
}

/// Checks a name given to PutParameter; AWS trims surrounding spaces first, so callers pass the
/// trimmed name.
pub fn validate_new(name: &str, region: &str, account: &str) -> Result<(), AwsError> {
    if name.contains(char::is_whitespace) {
        return Err(AwsError::validation(
            "Parameter name: can't contain spaces. If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_",
        ));
    }
    if reserved(name) {
        let is_path = name.matches('/').count() > 1;
        if is_path && name.to_ascii_lowercase().starts_with("/aws") {
            return Err(AwsError::new(
                StatusCode::BAD_REQUEST,
                "AccessDeniedException",
                format!("No access to reserved parameter name: {name}."),
            ));
        }
        return Err(AwsError::validation(if is_path {
            BAD_NAME
        } else {
            RESERVED_PREFIX
        }));
    }
    check_shape(name)?;
    if arn(region, account, name).len() > MAX_ARN_NAME_LENGTH {
        return Err(AwsError::validation(format!(
            "Parameter name: the name including its ARN prefix must be at most {MAX_ARN_NAME_LENGTH} characters."
        )));
    }
    if levels(name) > MAX_LEVELS {
        return Err(AwsError::client(
            "HierarchyLevelLimitExceededException",
            format!("A hierarchy can have a maximum of {MAX_LEVELS} levels."),
        ));
    }
    Ok(())
}

/// Characters, and the hierarchy form: a name with `/` starts with `/` and has no empty sub-path.
fn check_shape(name: &str) -> Result<(), AwsError> {
    let hierarchical = name.contains('/');
    let malformed = !name.chars().all(name_char)
        || (hierarchical && (!name.starts_with('/') || name.ends_with('/') || name.contains("//")));
    if name.is_empty() || malformed {
        return Err(AwsError::validation(BAD_NAME));
    }
    Ok(())
}

/// A name used for lookup: AWS refuses the same malformed hierarchies it refuses on create.
pub fn validate_lookup(name: &str) -> Result<(), AwsError> {
    if name.contains("//") || (name.contains('/') && !name.starts_with('/')) {
        return Err(AwsError::validation(BAD_NAME));
    }
    Ok(())
}

pub fn levels(name: &str) -> usize {
    name.split('/').filter(|s| !s.is_empty()).count()
}

/// A path for GetParametersByPath or a `Path` filter: `/` or `/a/b` (a trailing slash is fine).
pub fn validate_path(path: &str) -> Result<(), AwsError> {
    let lower = path.to_ascii_lowercase();
    if lower.starts_with("/aws") || lower.starts_with("/ssm") {
        return Err(AwsError::validation(
            "Filters for common parameters can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). When using global parameters, please specify within a global namespace.",
        ));
    }
    if !path.starts_with('/') || path.contains("//") || !path.chars().all(name_char) {
        return Err(AwsError::validation(BAD_PATH));
    }
    if levels(path) > MAX_LEVELS {
        return Err(AwsError::client(
            "HierarchyLevelLimitExceededException",
            format!("A hierarchy can have a maximum of {MAX_LEVELS} levels."),
        ));
    }
    Ok(())
}

/// Which version a selector asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    Latest,
    Version(u64),
    Label(String),
}

/// A parsed `GetParameter(s)` name: the parameter name and what the caller selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub name: String,
    pub pick: Pick,
    /// The raw selector AWS echoes back in `Selector` (`:3`, `:prod`), when there was one.
    pub suffix: Option<String>,
}

/// Why a requested name cannot name a parameter of this caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorError {
    /// More than one `:`, an empty selector, or an ARN of another service.
    Malformed,
    /// An ARN for another region or account: it can never be found here.
    Elsewhere,
}

/// Parses `name`, `name:version`, `name:label`, or a full parameter ARN with the same suffixes.
pub fn parse_selector(input: &str, region: &str, account: &str) -> Result<Selector, SelectorError> {
    let bare = if let Some(rest) = input.strip_prefix("arn:") {
        let mut parts = rest.splitn(5, ':');
        let (Some(_partition), Some(service), Some(arn_region), Some(arn_account), Some(resource)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(SelectorError::Malformed);
        };
        let Some(resource) = resource.strip_prefix("parameter/") else {
            return Err(SelectorError::Malformed);
        };
        if service != "ssm" {
            return Err(SelectorError::Malformed);
        }
        if arn_region != region || arn_account != account {
            return Err(SelectorError::Elsewhere);
        }
        let (path, _) = resource.split_once(':').unwrap_or((resource, ""));
        let name = if path.contains('/') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        match resource.split_once(':') {
            Some((_, selector)) => format!("{name}:{selector}"),
            None => name,
        }
    } else {
        input.to_owned()
    };
    let mut parts = bare.split(':');
    let name = parts.next().unwrap_or_default().to_owned();
    let selector = parts.next();
    if parts.next().is_some() || name.is_empty() {
        return Err(SelectorError::Malformed);
    }
    let Some(selector) = selector else {
        return Ok(Selector {
            name,
            pick: Pick::Latest,
            suffix: None,
        });
    };
    if selector.is_empty() {
        return Err(SelectorError::Malformed);
    }
    let pick = if selector.bytes().all(|b| b.is_ascii_digit()) {
        selector
            .parse()
            .map(Pick::Version)
            .map_err(|_| SelectorError::Malformed)?
    } else {
        Pick::Label(selector.to_owned())
    };
    Ok(Selector {
        name,
        pick,
        suffix: Some(format!(":{selector}")),
    })
}

/// A label AWS accepts: 1 to 100 letters, digits and `_.-`, not starting with a digit or
/// `aws`/`ssm` (the SSM user guide, "Working with parameter labels"). Labels failing this come
/// back in `InvalidLabels` rather than as an error.
pub fn label_is_valid(label: &str) -> bool {
    let lower = label.to_ascii_lowercase();
    !label.is_empty()
        && label.len() <= 100
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && !label.starts_with(|c: char| c.is_ascii_digit())
        && !lower.starts_with("aws")
        && !lower.starts_with("ssm")
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed expectation is the test failing
mod tests {
    use super::*;

    const R: &str = "us-east-1";
    const A: &str = "123456789012";

    #[test]
    fn labels_follow_the_aws_rules() {
        assert!(label_is_valid("prod"));
        assert!(label_is_valid("Release-1.2_b"));
        assert!(label_is_valid(&"a".repeat(100)));
        assert!(!label_is_valid(&"a".repeat(101)));
        assert!(!label_is_valid(""));
        assert!(!label_is_valid("1st"));
        assert!(!label_is_valid("AWSprod"));
        assert!(!label_is_valid("ssm-x"));
        assert!(!label_is_valid("has space"));
        assert!(!label_is_valid("a/b"));
    }

    fn code(name: &str) -> Option<String> {
        validate_new(name, R, A).err().map(|e| e.code.to_string())
    }

    #[test]
    fn accepts_plain_and_hierarchical_names() {
        for name in [
            "MyParameter1",
            "/MyParameter2",
            "/Dev/Production/East/Project-ABC/My_Param.v1",
            "a",
        ] {
            assert_eq!(code(name), None, "{name}");
        }
    }

    #[test]
    fn refuses_bad_characters_and_malformed_hierarchies() {
        for name in [
            "MyParameter3/L1",
            "/a//b",
            "/a/b/",
            "has space",
            "bad*char",
            "/a/b:1",
            "emoji\u{1f600}",
            "",
        ] {
            assert_eq!(code(name).as_deref(), Some("ValidationException"), "{name}");
        }
    }

    #[test]
    fn refuses_reserved_prefixes_case_insensitively() {
        assert_eq!(
            code("awsTestParameter").as_deref(),
            Some("ValidationException")
        );
        assert_eq!(
            code("SSM-testparameter").as_deref(),
            Some("ValidationException")
        );
        assert_eq!(code("/ssm/a/b").as_deref(), Some("ValidationException"));
        assert_eq!(code("/aws/a/b").as_deref(), Some("AccessDeniedException"));
        assert_eq!(code("/AWS").as_deref(), Some("ValidationException"));
        assert_eq!(code("/a/aws/ssm"), None, "only the first level is reserved");
    }

    #[test]
    fn limits_hierarchy_depth_to_fifteen_levels() {
        let fifteen: String = (1..=15).map(|i| format!("/l{i}")).collect();
        assert_eq!(code(&fifteen), None);
        assert_eq!(
            code(&format!("{fifteen}/l16")).as_deref(),
            Some("HierarchyLevelLimitExceededException")
        );
    }

    #[test]
    fn limits_name_length_including_the_arn_prefix() {
        let prefix = arn(R, A, "").len();
        let fits = "a".repeat(MAX_ARN_NAME_LENGTH - prefix);
        assert_eq!(code(&fits), None);
        assert_eq!(
            code(&format!("{fits}a")).as_deref(),
            Some("ValidationException")
        );
    }

    #[test]
    fn root_names_with_and_without_slash_share_a_key_and_arn() {
        assert_eq!(key("/x"), "x");
        assert_eq!(key("x"), "x");
        assert_eq!(key("/a/b"), "/a/b");
        assert_eq!(arn(R, A, "/x"), arn(R, A, "x"));
        assert_eq!(
            arn(R, A, "/a/b"),
            "arn:aws:ssm:us-east-1:123456789012:parameter/a/b"
        );
    }

    #[test]
    fn parses_selectors_and_arns() {
        let s = parse_selector("/a/b:3", R, A).expect("version");
        assert_eq!(
            (s.name.as_str(), &s.pick, s.suffix.as_deref()),
            ("/a/b", &Pick::Version(3), Some(":3"))
        );
        let s = parse_selector("x:prod", R, A).expect("label");
        assert_eq!(s.pick, Pick::Label("prod".into()));
        let s = parse_selector(
            "arn:aws:ssm:us-east-1:123456789012:parameter/a/b:prod",
            R,
            A,
        )
        .expect("arn");
        assert_eq!(
            (s.name.as_str(), s.suffix.as_deref()),
            ("/a/b", Some(":prod"))
        );
        let s = parse_selector("arn:aws:ssm:us-east-1:123456789012:parameter/x", R, A)
            .expect("root arn");
        assert_eq!((s.name.as_str(), &s.pick), ("x", &Pick::Latest));
        assert_eq!(parse_selector("a:1:2", R, A), Err(SelectorError::Malformed));
        assert_eq!(parse_selector("a:", R, A), Err(SelectorError::Malformed));
        assert_eq!(
            parse_selector("arn:aws:ssm:us-west-2:123456789012:parameter/x", R, A),
            Err(SelectorError::Elsewhere)
        );
        assert_eq!(
            parse_selector(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
                R,
                A
            ),
            Err(SelectorError::Malformed)
        );
    }

    #[test]
    fn label_rules() {
        for ok in ["prod", "Release-1.2_x", "a1"] {
            assert!(label_is_valid(ok), "{ok}");
        }
        for bad in ["1st", "awsLabel", "SSMx", "has space", "a/b", "a:b", ""] {
            assert!(!label_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn paths() {
        assert!(validate_path("/").is_ok());
        assert!(validate_path("/a/b/").is_ok());
        assert!(validate_path("a/b").is_err());
        assert!(validate_path("/a//b").is_err());
        assert!(validate_path("/aws/service").is_err());
    }
}
