//! ACL policies: a parser for the HCL (and JSON) subset policies are written in, and path matching
//! with Vault's rules: exact paths, a trailing `*` prefix glob, `+` for one segment, the most
//! specific pattern decides, the same pattern across policies unions, and `deny` wins.

use serde::{Deserialize, Serialize};
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

    const NAMES: [(&'static str, Caps); 9] = [
        ("create", Caps::CREATE),
        ("delete", Caps::DELETE),
        ("deny", Caps::DENY),
        ("list", Caps::LIST),
        ("patch", Caps::PATCH),
        ("read", Caps::READ),
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

fn caps_from_list<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Caps, String> {
    let mut caps = Caps::default();
    for name in names {
        let c = Caps::parse(name).ok_or_else(|| format!("invalid capability \"{name}\""))?;
        caps = caps.union(c);
    }
    Ok(caps)
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
            let mut caps = caps_from_list(body.capabilities.iter().map(String::as_str))?;
            if let Some(p) = body.policy {
                caps = caps.union(legacy(&p).ok_or_else(|| format!("invalid policy \"{p}\""))?);
            }
            Ok(Rule { path, caps })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Number(String),
    Punct(char),
}

fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(format!("line {line}: unterminated comment"));
                }
                i += 2;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None | Some('\n') => {
                            return Err(format!("line {line}: unterminated string"));
                        }
                        Some('"') => break,
                        Some('\\') => {
                            match chars.get(i + 1) {
                                Some('n') => s.push('\n'),
                                Some('t') => s.push('\t'),
                                Some(other) => s.push(*other),
                                None => return Err(format!("line {line}: unterminated string")),
                            }
                            i += 2;
                        }
                        Some(other) => {
                            s.push(*other);
                            i += 1;
                        }
                    }
                }
                i += 1;
                out.push((Token::Str(s), line));
            }
            '{' | '}' | '[' | ']' | '=' | ',' | ':' => {
                out.push((Token::Punct(c), line));
                i += 1;
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
                i = i.max(start + 1);
                out.push((Token::Number(chars[start..i].iter().collect()), line));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '-')
                {
                    i += 1;
                }
                out.push((Token::Ident(chars[start..i].iter().collect()), line));
            }
            other => return Err(format!("line {line}: illegal char '{other}'")),
        }
    }
    Ok(out)
}

/// A generic HCL value; only strings and lists of strings are interpreted.
#[derive(Debug)]
enum HclValue {
    Str(String),
    List(Vec<HclValue>),
    Other,
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn line(&self) -> usize {
        self.tokens
            .get(self.pos)
            .or_else(|| self.tokens.last())
            .map_or(1, |(_, l)| *l)
    }

    fn next(&mut self) -> Result<Token, String> {
        let line = self.line();
        let t = self
            .tokens
            .get(self.pos)
            .map(|(t, _)| t.clone())
            .ok_or_else(|| format!("line {line}: unexpected end of input"))?;
        self.pos += 1;
        Ok(t)
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        let line = self.line();
        match self.next()? {
            Token::Punct(p) if p == c => Ok(()),
            other => Err(format!("line {line}: expected '{c}', found {other:?}")),
        }
    }

    fn value(&mut self) -> Result<HclValue, String> {
        let line = self.line();
        match self.next()? {
            Token::Str(s) => Ok(HclValue::Str(s)),
            Token::Number(_) | Token::Ident(_) => Ok(HclValue::Other),
            Token::Punct('[') => {
                let mut items = Vec::new();
                loop {
                    if self.peek() == Some(&Token::Punct(']')) {
                        self.pos += 1;
                        break;
                    }
                    items.push(self.value()?);
                    match self.next()? {
                        Token::Punct(',') => {}
                        Token::Punct(']') => break,
                        other => {
                            return Err(format!(
                                "line {line}: expected ',' or ']', found {other:?}"
                            ));
                        }
                    }
                }
                Ok(HclValue::List(items))
            }
            Token::Punct('{') => {
                self.object_body()?;
                Ok(HclValue::Other)
            }
            other => Err(format!("line {line}: unexpected {other:?}")),
        }
    }

    /// The members of a `{ ... }` after its opening brace, up to and including the closing one.
    fn object_body(&mut self) -> Result<Vec<(String, HclValue)>, String> {
        let mut members = Vec::new();
        loop {
            let line = self.line();
            match self.next()? {
                Token::Punct('}') => return Ok(members),
                Token::Punct(',') => {}
                Token::Ident(key) | Token::Str(key) => {
                    match self.peek() {
                        Some(Token::Punct('=')) | Some(Token::Punct(':')) => {
                            self.pos += 1;
                            let v = self.value()?;
                            members.push((key, v));
                        }
                        // A nested block such as `allowed_parameters "x" { ... }`.
                        _ => {
                            while let Some(Token::Str(_)) = self.peek() {
                                self.pos += 1;
                            }
                            self.expect('{')?;
                            self.object_body()?;
                        }
                    }
                }
                other => return Err(format!("line {line}: unexpected {other:?}")),
            }
        }
    }
}

fn parse_hcl(text: &str) -> Result<Vec<Rule>, String> {
    let mut p = Parser {
        tokens: tokenize(text)?,
        pos: 0,
    };
    let mut rules = Vec::new();
    while p.peek().is_some() {
        let line = p.line();
        let key = match p.next()? {
            Token::Ident(k) | Token::Str(k) => k,
            other => return Err(format!("line {line}: unexpected {other:?}")),
        };
        if key == "path" {
            let path = match p.next()? {
                Token::Str(s) => s,
                other => {
                    return Err(format!(
                        "line {line}: expected a path string, found {other:?}"
                    ));
                }
            };
            // `path "x" = { ... }` is also valid HCL.
            if p.peek() == Some(&Token::Punct('=')) {
                p.pos += 1;
            }
            p.expect('{')?;
            let mut caps = Caps::default();
            for (name, value) in p.object_body()? {
                match (name.as_str(), value) {
                    ("capabilities", HclValue::List(items)) => {
                        let names: Vec<String> = items
                            .into_iter()
                            .map(|v| match v {
                                HclValue::Str(s) => Ok(s),
                                _ => Err(format!("line {line}: capabilities must be strings")),
                            })
                            .collect::<Result<_, _>>()?;
                        caps = caps.union(caps_from_list(names.iter().map(String::as_str))?);
                    }
                    ("capabilities", _) => {
                        return Err(format!("line {line}: capabilities must be a list"));
                    }
                    ("policy", HclValue::Str(word)) => {
                        caps = caps.union(
                            legacy(&word).ok_or_else(|| format!("invalid policy \"{word}\""))?,
                        );
                    }
                    _ => {}
                }
            }
            rules.push(Rule { path, caps });
        } else {
            // Top-level attributes (`name = "x"`) and other blocks are accepted and ignored.
            match p.peek() {
                Some(Token::Punct('=')) => {
                    p.pos += 1;
                    p.value()?;
                }
                _ => {
                    while let Some(Token::Str(_)) = p.peek() {
                        p.pos += 1;
                    }
                    p.expect('{')?;
                    p.object_body()?;
                }
            }
        }
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
        assert!(Policy::parse("path { }").is_err());
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
