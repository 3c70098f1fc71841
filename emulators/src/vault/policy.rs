//! ACL policies: a parser for the HCL (and JSON) subset policies are written in, and path matching
//! with Vault's rules: exact paths, a trailing `*` prefix glob, `+` for one segment, the most
//! specific pattern decides, the same pattern across policies unions, and `deny` wins.

use serde::{Deserialize, Serialize};

use super::duration::quote;
use super::hcl::{self, Item, Node, Token};
use std::cmp::Ordering;
use std::collections::BTreeMap;

pub const ROOT: &str = "root";
pub const DEFAULT: &str = "default";

/// The built-in `default` policy: what every token may do about itself (a subset of Vault's).
pub const DEFAULT_RULES: &str = r#"# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to renew a lease via lease_id in the request body
path "sys/leases/renew" {
    capabilities = ["update"]
}
"#;

/// A set of capabilities, as bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caps(pub u16);

impl Caps {
    pub const DENY: Caps = Caps(1);
    pub const CREATE: Caps = Caps(1 << 1);
    pub const READ: Caps = Caps(1 << 2);
    pub const UPDATE: Caps = Caps(1 << 3);
    pub const DELETE: Caps = Caps(1 << 4);
    pub const LIST: Caps = Caps(1 << 5);
    pub const SUDO: Caps = Caps(1 << 6);
    pub const PATCH: Caps = Caps(1 << 7);
    pub const SUBSCRIBE: Caps = Caps(1 << 8);
    pub const RECOVER: Caps = Caps(1 << 9);

    const NAMES: [(&'static str, Caps); 10] = [
        ("create", Caps::CREATE),
        ("delete", Caps::DELETE),
        ("deny", Caps::DENY),
        ("list", Caps::LIST),
        ("patch", Caps::PATCH),
        ("read", Caps::READ),
        ("recover", Caps::RECOVER),
        ("subscribe", Caps::SUBSCRIBE),
        ("sudo", Caps::SUDO),
        ("update", Caps::UPDATE),
    ];

    pub fn parse(name: &str) -> Option<Caps> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    }

    pub fn contains(self, other: Caps) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    pub fn union(self, other: Caps) -> Caps {
        Caps(self.0 | other.0)
    }

    /// Names in Vault's order (sorted), or `["deny"]` when denied.
    pub fn names(self) -> Vec<&'static str> {
        if self.contains(Caps::DENY) || self.0 == 0 {
            return vec!["deny"];
        }
        Self::NAMES
            .iter()
            .filter(|(_, c)| self.contains(*c))
            .map(|(n, _)| *n)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub path: String,
    pub caps: Caps,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// The text as written, returned by reads.
    pub text: String,
    pub rules: Vec<Rule>,
}

impl Policy {
    pub fn parse(text: &str) -> Result<Self, String> {
        let rules = if text.trim_start().starts_with('{') {
            parse_json(text)?
        } else {
            parse_hcl(text)?
        };
        Ok(Self {
            text: text.to_owned(),
            rules,
        })
    }
}

/// Legacy `policy = "read"` shorthand.
fn legacy(word: &str) -> Option<Caps> {
    Some(match word {
        "deny" => Caps::DENY,
        "read" => Caps::READ.union(Caps::LIST),
        "write" => Caps::CREATE
            .union(Caps::READ)
            .union(Caps::UPDATE)
            .union(Caps::DELETE)
            .union(Caps::LIST),
        "sudo" => Caps::CREATE
            .union(Caps::READ)
            .union(Caps::UPDATE)
            .union(Caps::DELETE)
            .union(Caps::LIST)
            .union(Caps::SUDO),
        _ => return None,
    })
}

/// One `path` rule's capabilities, checked as `parsePaths` (vault/policy.go) checks them:
/// the legacy `policy` word first, then each capability; `deny` alone decides.
fn rule_caps(key: &str, policy: Option<&str>, capabilities: &[String]) -> Result<Caps, String> {
    let quoted = quote(key);
    let mut caps = Caps::default();
    if let Some(word) = policy.filter(|w| !w.is_empty()) {
        caps =
            legacy(word).ok_or_else(|| format!("path {quoted}: invalid policy {}", quote(word)))?;
    }
    for name in capabilities {
        let c = Caps::parse(name)
            .ok_or_else(|| format!("path {quoted}: invalid capability {}", quote(name)))?;
        if c == Caps::DENY {
            return Ok(Caps::DENY);
        }
        caps = caps.union(c);
    }
    Ok(caps)
}

/// The path as the ACL matches it: without a leading `/`, and never `+*`.
fn rule_path(path: &str) -> Result<String, String> {
    let path = path.strip_prefix('/').unwrap_or(path);
    if path.contains("+*") {
        return Err(format!(
            "path {}: invalid use of wildcards ('+*' is forbidden)",
            quote(path)
        ));
    }
    Ok(path.to_owned())
}

fn parse_json(text: &str) -> Result<Vec<Rule>, String> {
    #[derive(Deserialize)]
    struct Doc {
        #[serde(default)]
        path: BTreeMap<String, Body>,
    }
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        capabilities: Vec<String>,
        #[serde(default)]
        policy: Option<String>,
    }
    let doc: Doc = serde_json::from_str(text).map_err(|e| e.to_string())?;
    doc.path
        .into_iter()
        .map(|(path, body)| {
            let caps = rule_caps(&path, body.policy.as_deref(), &body.capabilities)?;
            Ok(Rule {
                path: rule_path(&path)?,
                caps,
            })
        })
        .collect()
}

/// Keys outside `valid`, as hclutil `CheckHCLKeys` reports them (a block's key is on line 0:
/// it has no `=`).
fn invalid_keys(items: &[Item], valid: &[&str], prefix: &str) -> Option<String> {
    let errors: Vec<String> = items
        .iter()
        .filter_map(|item| {
            let key = item.keys.first()?.value();
            (!valid.contains(&key.as_str())).then(|| {
                format!(
                    "{prefix}invalid key {} on line {}",
                    quote(&key),
                    item.assign.map_or(0, |p| p.line)
                )
            })
        })
        .collect();
    (!errors.is_empty()).then(|| super::error::multierror(&errors))
}

/// A list of strings as HCL decodes it into `[]string`.
fn string_list(node: &Node, prefix: &str) -> Result<Vec<String>, String> {
    match node {
        Node::List(items) => items
            .iter()
            .map(|i| match i {
                Node::Literal(t) => Ok(t.value()),
                other => Err(format!(
                    "{prefix}At {}: unknown type for string {}",
                    other.pos(),
                    other.go_type()
                )),
            })
            .collect(),
        other => Err(format!(
            "{prefix}At {}: unknown slice type: {}",
            other.pos(),
            other.go_type()
        )),
    }
}

/// An HCL policy (`parseACLPolicyWithTemplating` and `parsePaths`, vault/policy.go): the
/// document must parse, have only `name` and `path` at the top, and each path block only the
/// keys Vault knows; `capabilities` is a list.
fn parse_hcl(text: &str) -> Result<Vec<Rule>, String> {
    const PATH_KEYS: [&str; 11] = [
        "comment",
        "policy",
        "capabilities",
        "allowed_parameters",
        "denied_parameters",
        "required_parameters",
        "min_wrapping_ttl",
        "max_wrapping_ttl",
        "mfa_methods",
        "control_group",
        "subscribe_event_types",
    ];
    let items = hcl::parse(text)?;
    if let Some(e) = invalid_keys(&items, &["name", "path"], "") {
        return Err(e);
    }
    let mut rules = Vec::new();
    for item in items
        .iter()
        .filter(|i| i.keys.first().is_some_and(|k| k.value() == "path"))
    {
        let key = item
            .keys
            .get(1)
            .map_or_else(|| "path".to_owned(), Token::value);
        let prefix = format!("path {}: ", quote(&key));
        let Node::Object(body) = &item.value else {
            return Err(format!(
                "{prefix}cannot check HCL keys of type {}",
                item.value.go_type()
            ));
        };
        if let Some(e) = invalid_keys(body, &PATH_KEYS, &prefix) {
            return Err(e);
        }
        let mut capabilities = Vec::new();
        let mut policy = None;
        for member in body {
            match member.keys[0].value().as_str() {
                "capabilities" => capabilities.extend(string_list(&member.value, &prefix)?),
                "policy" => {
                    if let Node::Literal(t) = &member.value {
                        policy = Some(t.value());
                    }
                }
                _ => {}
            }
        }
        let path = rule_path(&key)?;
        let caps = rule_caps(&key, policy.as_deref(), &capabilities)?;
        rules.push(Rule { path, caps });
    }
    Ok(rules)
}

/// Does `pattern` (with `+` segments and an optional trailing `*`) match `path`?
pub fn matches(pattern: &str, path: &str) -> bool {
    if !pattern.contains('+') {
        return match pattern.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => pattern == path,
        };
    }
    let (body, glob) = match pattern.strip_suffix('*') {
        Some(b) => (b, true),
        None => (pattern, false),
    };
    let mut rest = path;
    let segments: Vec<&str> = body.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        if last {
            if *seg == "+" {
                // A trailing `+` takes one whole segment (or a prefix of it under a glob).
                return if glob {
                    true
                } else {
                    !rest.is_empty() && !rest.contains('/')
                };
            }
            return if glob {
                rest.starts_with(seg)
            } else {
                rest == *seg
            };
        }
        let (head, tail) = match rest.split_once('/') {
            Some(split) => split,
            None => return false,
        };
        if *seg != "+" && *seg != head {
            return false;
        }
        if *seg == "+" && head.is_empty() {
            return false;
        }
        rest = tail;
    }
    false
}

/// Vault's priority between two patterns that both match: `Less` means `a` is lower.
fn priority(a: &str, b: &str) -> Ordering {
    let first_wild = |p: &str| p.find(['+', '*']).unwrap_or(usize::MAX);
    // A later first wildcard is more specific.
    first_wild(a)
        .cmp(&first_wild(b))
        // Not ending in `*` is more specific.
        .then_with(|| b.ends_with('*').cmp(&a.ends_with('*')))
        // Fewer `+` is more specific.
        .then_with(|| b.matches('+').count().cmp(&a.matches('+').count()))
        // Longer is more specific.
        .then_with(|| a.len().cmp(&b.len()))
        .then_with(|| a.cmp(b))
}

/// The merged rules of a token's policies.
#[derive(Debug, Default)]
pub struct Acl {
    rules: BTreeMap<String, Caps>,
}

impl Acl {
    pub fn new<'a>(policies: impl IntoIterator<Item = &'a Policy>) -> Self {
        let mut rules: BTreeMap<String, Caps> = BTreeMap::new();
        for policy in policies {
            for rule in &policy.rules {
                let entry = rules.entry(rule.path.clone()).or_default();
                *entry = entry.union(rule.caps);
            }
        }
        Self { rules }
    }

    /// The capabilities the most specific matching pattern grants; deny on it denies all.
    pub fn capabilities(&self, path: &str) -> Caps {
        let best = self
            .rules
            .iter()
            .filter(|(pattern, _)| matches(pattern, path))
            .max_by(|(a, _), (b, _)| priority(a, b));
        match best {
            Some((_, caps)) if caps.contains(Caps::DENY) => Caps::DENY,
            Some((_, caps)) => *caps,
            None => Caps::default(),
        }
    }

    pub fn allows(&self, path: &str, needed: Caps) -> bool {
        let caps = self.capabilities(path);
        !caps.contains(Caps::DENY) && caps.contains(needed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(texts: &[&str]) -> Acl {
        let policies: Vec<Policy> = texts
            .iter()
            .map(|t| Policy::parse(t).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        Acl::new(&policies)
    }

    #[test]
    fn parses_hcl_with_comments_and_ignored_attributes() {
        let p = Policy::parse(
            r#"
            # kv
            path "secret/data/*" {
              capabilities = ["read", "list",]
              allowed_parameters = { "foo" = [] }
            }
            /* pki */ path "pki/issue/example" { capabilities = ["update"] }
            // legacy
            path "old/*" { policy = "write" }
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rules.len(), 3);
        assert_eq!(p.rules[0].caps.names(), ["list", "read"]);
        assert!(p.rules[2].caps.contains(Caps::UPDATE));
    }

    #[test]
    fn parses_json_policies_and_rejects_bad_input() {
        let p = Policy::parse(r#"{"path": {"secret/*": {"capabilities": ["read"]}}}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rules[0].path, "secret/*");
        assert!(
            Policy::parse(r#"path "a" { capabilities = ["fly"] }"#)
                .is_err_and(|e| e.contains("invalid capability \"fly\""))
        );
        assert!(Policy::parse(r#"path "a" { capabilities = ["read"] "#).is_err());
        assert!(Policy::parse(r#"path "a { }"#).is_err());
        // HCL takes the key itself as the path when no label follows, as Vault does.
        assert_eq!(
            Policy::parse("path { }").map(|p| p.rules[0].path.clone()),
            Ok("path".into())
        );
    }

    #[test]
    fn exact_glob_and_segment_matching() {
        assert!(matches("secret/foo", "secret/foo"));
        assert!(!matches("secret/foo", "secret/foo/bar"));
        assert!(matches("secret/*", "secret/foo/bar"));
        assert!(matches("secret/fo*", "secret/foo"));
        assert!(!matches("secret/*", "secre"));
        assert!(matches("secret/+/config", "secret/app/config"));
        assert!(!matches("secret/+/config", "secret/a/b/config"));
        assert!(!matches("secret/+/config", "secret//config"));
        assert!(matches("secret/+", "secret/app"));
        assert!(!matches("secret/+", "secret/app/x"));
        assert!(matches("secret/+/*", "secret/app/x/y"));
        assert!(matches("+/data/*", "kv/data/x"));
    }

    #[test]
    fn most_specific_pattern_wins_and_deny_wins_on_it() {
        let a = acl(&[r#"path "secret/*" { capabilities = ["read", "list"] }
               path "secret/data/admin" { capabilities = ["deny"] }
               path "secret/data/+/config" { capabilities = ["update"] }"#]);
        assert!(a.allows("secret/data/app", Caps::READ));
        assert!(!a.allows("secret/data/admin", Caps::READ));
        // The `+` pattern's first wildcard is later than `secret/*`'s, so it decides alone.
        assert!(a.allows("secret/data/app/config", Caps::UPDATE));
        assert!(!a.allows("secret/data/app/config", Caps::READ));
        assert!(!a.allows("other/x", Caps::READ));
    }

    #[test]
    fn same_pattern_across_policies_unions_and_deny_overrides() {
        let a = acl(&[
            r#"path "kv/x" { capabilities = ["read"] }"#,
            r#"path "kv/x" { capabilities = ["update"] }"#,
        ]);
        assert_eq!(a.capabilities("kv/x").names(), ["read", "update"]);
        let d = acl(&[
            r#"path "kv/x" { capabilities = ["read"] }"#,
            r#"path "kv/x" { capabilities = ["deny"] }"#,
        ]);
        assert!(!d.allows("kv/x", Caps::READ));
        assert_eq!(d.capabilities("kv/x").names(), ["deny"]);
    }

    #[test]
    fn priority_follows_vault_rules() {
        // Longer prefix glob beats shorter.
        let a = acl(&[r#"path "secret/*" { capabilities = ["deny"] }
               path "secret/data/*" { capabilities = ["read"] }"#]);
        assert!(a.allows("secret/data/x", Caps::READ));
        // Exact beats glob.
        let b = acl(&[r#"path "secret/data/*" { capabilities = ["read"] }
               path "secret/data/x" { capabilities = ["list"] }"#]);
        assert!(!b.allows("secret/data/x", Caps::READ));
        assert!(priority("a/+/b", "a/*") == Ordering::Greater);
        assert!(priority("a/b*", "a/b") == Ordering::Less);
    }

    #[test]
    fn default_policy_parses() {
        let p = Policy::parse(DEFAULT_RULES).unwrap_or_else(|e| panic!("{e}"));
        assert!(Acl::new([&p]).allows("auth/token/lookup-self", Caps::READ));
    }
}
