//! Reading `scenario.yaml` into the model, with errors located by the parser and explained: a
//! "did you mean" for a misspelt key, step kind or variant, and a hint for the indentation
//! mistakes that YAML reports only as "expected end of mapping".

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Diagnostic;
use super::located::{Key, Node, Pos, Value, YamlPath};
use super::model::Scenario;

/// A scenario read from disk, with its source text and located tree (for placing findings).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub file: PathBuf,
    pub dir: PathBuf,
    pub source: Arc<str>,
    pub tree: Node,
    pub scenario: Scenario,
}

impl Loaded {
    /// A diagnostic pointing at `path` in this scenario (the value, else the deepest part of
    /// the path that exists).
    pub fn at(&self, path: &YamlPath, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.file, message).pos(&self.source, self.tree.find(path))
    }

    /// A diagnostic pointing at the key that ends `path`.
    pub fn at_key(&self, path: &YamlPath, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.file, message).pos(&self.source, self.tree.find_key(path))
    }
}

/// Reads and parses one `scenario.yaml`.
pub fn load_file(file: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    let source = std::fs::read_to_string(file)
        .map_err(|e| vec![Diagnostic::new(file, format!("cannot read: {e}"))])?;
    load_str(file, &source)
}

/// Parses scenario text; `file` is used in diagnostics and to resolve relative paths.
pub fn load_str(file: &Path, source: &str) -> Result<Loaded, Vec<Diagnostic>> {
    let text: Arc<str> = Arc::from(source);
    let tree = Node::parse(source);
    let options = serde_saphyr::options! { with_snippet: false };
    match (
        serde_saphyr::from_str_with_options::<Scenario>(source, options),
        tree,
    ) {
        (Ok(scenario), Ok(tree)) => Ok(Loaded {
            file: file.to_owned(),
            dir: file.parent().map(Path::to_owned).unwrap_or_default(),
            source: text,
            tree,
            scenario,
        }),
        (Ok(_), Err(e)) | (Err(e), _) => Err(vec![yaml_error(file, &text, &e)]),
    }
}

/// A serde-saphyr error as a diagnostic, with a hint when the mistake is a common one.
pub fn yaml_error(file: &Path, text: &Arc<str>, e: &serde_saphyr::Error) -> Diagnostic {
    let message = strip_location_suffix(&e.to_string());
    let tree = Node::parse(text).ok();
    let mut d = Diagnostic::new(file, message.clone());
    let pos = e.location().map(|l| Pos::from_location(&l, text));
    if let Some(pos) = pos {
        let pos = widen_to_word(text, pos);
        d = d.pos(text, pos);
    }
    let hint = did_you_mean(&message)
        .or_else(|| pos.and_then(|p| indentation_hint(&message, text, tree.as_ref(), p)));
    let (label, help) = hint.unwrap_or_else(|| fallback_hint(&message));
    d.label(label).help(help)
}

/// Help for the errors no specific hint covers, by what the message is about.
fn fallback_hint(message: &str) -> (String, String) {
    let (label, help) = if message.contains("deadline") || message.contains("duration") {
        (
            "not a duration",
            "durations are `500ms`, `30s`, `1m30s`; deadlines may also be `rotation + 30s`",
        )
    } else if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        return (
            format!("`{field}` is missing"),
            format!("add `{field}:` here (scenarios/FORMAT.md lists every field)"),
        );
    } else if message.starts_with("invalid type") {
        (
            "wrong type",
            "give the type the field takes (scenarios/FORMAT.md lists every field)",
        )
    } else if message.starts_with("invalid value") || message.contains("unknown variant") {
        (
            "not allowed here",
            "scenarios/FORMAT.md lists the values each field takes",
        )
    } else {
        (
            "here",
            "YAML: keys of one mapping line up, list items start with `- `, strings with `:` or `#` need quotes",
        )
    };
    (label.to_owned(), help.to_owned())
}

/// serde-saphyr appends " at line L, column C"; the diagnostic carries those itself.
fn strip_location_suffix(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains("column") => message[..i].to_owned(),
        _ => message.to_owned(),
    }
}

/// A one-character error position grown to the word (key or scalar) that starts there.
fn widen_to_word(text: &str, mut pos: Pos) -> Pos {
    let rest = &text[pos.offset.min(text.len())..];
    let word = rest
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || matches!(c, ':' | ',' | '{' | '}' | '[' | ']'))
        .map_or(rest.len(), |(i, _)| i);
    if word > 0 {
        pos.len = word;
    }
    pos
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (and "unknown variant"),
/// the closest expected name: (label, help).
pub(crate) fn did_you_mean(message: &str) -> Option<(String, String)> {
    let kind = ["unknown field `", "unknown variant `"]
        .into_iter()
        .find(|k| message.contains(k))?;
    let start = message.find(kind)? + kind.len();
    let got = &message[start..start + message[start..].find('`')?];
    let list = message
        .find("expected one of ")
        .map(|i| &message[i + "expected one of ".len()..])
        .or_else(|| {
            message
                .find("expected `")
                .map(|i| &message[i + "expected ".len()..])
        })?;
    let candidates: Vec<&str> = list
        .split(", ")
        .map(|c| c.trim().trim_matches('`'))
        .collect();
    let what = if kind.contains("field") {
        "unknown field"
    } else {
        "unknown"
    };
    match suggest(got, &candidates) {
        Some(s) => Some((what.to_owned(), format!("did you mean `{s}`?"))),
        None => Some((
            what.to_owned(),
            format!("expected one of: {}", candidates.join(", ")),
        )),
    }
}

/// The candidate closest to `got`, if it is close enough to be a typo: the same name in
/// another case, a few letters off, one a prefix of the other (`waitFor`, `manifest`), or an
/// abbreviation of it (`readSvc` for `readService`).
pub fn suggest<'a>(got: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let g = got.to_lowercase();
    candidates
        .iter()
        .filter(|c| !c.is_empty() && **c != got)
        .filter_map(|c| {
            let l = c.to_lowercase();
            let distance = strsim::damerau_levenshtein(&g, &l);
            let tier = if l == g {
                0
            } else if distance <= 2.max(c.len() / 4) {
                1
            } else if g.len().min(l.len()) >= 3 && (l.starts_with(&g) || g.starts_with(&l)) {
                2
            } else if g.len() >= 3 && g.chars().next() == l.chars().next() && subsequence(&g, &l) {
                3
            } else {
                return None;
            };
            Some(((tier, distance), *c))
        })
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, c)| c)
}

/// Whether every character of `short` appears in `long`, in order.
fn subsequence(short: &str, long: &str) -> bool {
    let mut rest = long.chars();
    short.chars().all(|c| rest.any(|l| l == c))
}

/// The mapping key at a position, with the mapping holding it.
fn key_at(tree: &Node, line: u64, column: u64) -> Option<(&Node, &Key)> {
    match &tree.value {
        Value::Map(entries) => {
            if let Some((k, _)) = entries
                .iter()
                .find(|(k, _)| k.pos.line == line && k.pos.column == column)
            {
                return Some((tree, k));
            }
            entries.iter().find_map(|(_, v)| key_at(v, line, column))
        }
        Value::Seq(items) => items.iter().find_map(|n| key_at(n, line, column)),
        _ => None,
    }
}

/// The key whose (empty) value is at a position, with the mapping holding it.
fn empty_value_at(tree: &Node, line: u64) -> Option<(&Node, &Key)> {
    match &tree.value {
        Value::Map(entries) => {
            if let Some((k, _)) = entries
                .iter()
                .find(|(k, v)| k.pos.line == line && v.value == Value::Null)
            {
                return Some((tree, k));
            }
            entries.iter().find_map(|(_, v)| empty_value_at(v, line))
        }
        Value::Seq(items) => items.iter().find_map(|n| empty_value_at(n, line)),
        _ => None,
    }
}

/// Every key named `name` in the tree, with its position.
fn keys_named<'a>(tree: &'a Node, name: &str, out: &mut Vec<&'a Key>) {
    match &tree.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                if k.name == name {
                    out.push(k);
                }
                keys_named(v, name, out);
            }
        }
        Value::Seq(items) => items.iter().for_each(|n| keys_named(n, name, out)),
        _ => {}
    }
}

/// Hints for the errors a wrong indentation produces: (label, help).
/// The first line after `after` that starts with `key:`, as (line, column).
fn source_lines_key(source: &str, key: &str, after: u64) -> Option<(u64, u64)> {
    source
        .lines()
        .enumerate()
        .skip(after as usize)
        .find_map(|(i, line)| {
            let trimmed = line.trim_start();
            let body = trimmed.strip_prefix("- ").unwrap_or(trimmed);
            body.strip_prefix(key)?.strip_prefix(':')?;
            let column = line.len() - body.len() + 1;
            Some((i as u64 + 1, column as u64))
        })
}

fn indentation_hint(
    message: &str,
    source: &str,
    tree: Option<&Node>,
    pos: Pos,
) -> Option<(String, String)> {
    if message.contains("expected end of mapping after enum variant value") {
        let tree = tree?;
        let (map, key) = key_at(tree, pos.line, pos.column)?;
        let op = map.keys().next()?;
        return Some((
            format!("`{}` lines up with `{}`", key.name, op.name),
            format!(
                "`{key}` is indented like `{op}` (line {line}), so it reads as a second key of the same list item, \
                 and an item holds exactly one operation: indent `{key}` under `{op}` with the other fields of \
                 `{op}`, or start a new item with `- `",
                key = key.name,
                op = op.name,
                line = op.pos.line,
            ),
        ));
    }
    if message.contains("expected mapping start")
        || message.contains("expected a mapping")
        || message.contains("invalid type: unit value")
    {
        let tree = tree?;
        let (map, key) = empty_value_at(tree, pos.line)?;
        let siblings: Vec<&str> = map
            .keys()
            .filter(|k| k.name != key.name)
            .map(|k| k.name.as_str())
            .collect();
        let list = if siblings.is_empty() {
            String::new()
        } else {
            format!(
                " (`{}` below it line up with it instead)",
                siblings.join("`, `")
            )
        };
        return Some((
            format!("`{}` has no value", key.name),
            format!(
                "the fields of `{k}` must be indented deeper than `{k}`{list}: indent them two more spaces, \
                 or write them inline as `{k}: {{ ... }}`",
                k = key.name
            ),
        ));
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = &rest[..rest.find('`')?];
        // The key further down, from the tree when the whole text parses, else from the lines
        // (a mis-indented key often makes the rest of the document invalid YAML).
        let near = match tree {
            Some(tree) => {
                let mut found = Vec::new();
                keys_named(tree, field, &mut found);
                found
                    .into_iter()
                    .filter(|k| k.pos.line > pos.line)
                    .min_by_key(|k| k.pos.line)
                    .map(|k| (k.pos.line, k.pos.column))
            }
            None => source_lines_key(source, field, pos.line),
        }?;
        return Some((
            format!("`{field}` is missing here"),
            format!(
                "there is a `{field}` at line {}, column {}, indented differently: line it up with the fields of this item (column {})",
                near.0, near.1, pos.column
            ),
        ));
    }
    if message.contains("did not find expected key")
        || message.contains("did not find expected '-'")
        || message.contains("mapping values are not allowed")
    {
        return Some((
            "indentation".to_owned(),
            "this line's indentation does not match the lines around it: keys of one mapping line up, \
             list items (`- `) line up, and a key's value is indented deeper than the key"
                .to_owned(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_cover_typos_prefixes_and_abbreviations() {
        let ops = ["wait", "apply", "files", "exec"];
        assert_eq!(suggest("wiat", &ops), Some("wait"));
        assert_eq!(suggest("waitFor", &ops), Some("wait"));
        assert_eq!(suggest("Wait", &ops), Some("wait"));
        assert_eq!(suggest("sleep", &ops), None);
        let vars = ["readService", "readOperation", "namespace"];
        assert_eq!(suggest("readSvc", &vars), Some("readService"));
        assert_eq!(suggest("readOp", &vars), Some("readOperation"));
        assert_eq!(
            suggest("manifest/", &["manifests/", "snapshots/"]),
            Some("manifests/")
        );
        assert_eq!(suggest("xyz", &vars), None);
    }

    fn error_of(text: &str) -> Diagnostic {
        let e = load_str(Path::new("demo/scenario.yaml"), text).unwrap_err();
        e.into_iter().next().unwrap()
    }

    const HEAD: &str = "apiVersion: secretbench.dev/v1alpha1\nkind: Scenario\nmetadata: { name: demo, description: d }\nspec:\n  providers: [aws]\n  bindings: { aws: {} }\n  steps:\n    - id: a\n      try:\n";

    #[test]
    fn a_field_lined_up_with_its_operation_gets_an_indentation_hint() {
        let d = error_of(&format!(
            "{HEAD}        - files:\n            pod: x\n            path: /a\n          snapshot: s\n"
        ));
        assert_eq!(d.line, Some(13), "{d}");
        let help = d.help.unwrap();
        assert!(help.contains("indent `snapshot` under `files`"), "{help}");
    }

    #[test]
    fn fields_not_indented_under_their_operation_get_a_hint() {
        let d = error_of(&format!(
            "{HEAD}        - wait:\n          kind: Pod\n          name: x\n          within: 1s\n"
        ));
        let help = d.help.unwrap_or_default();
        assert!(
            help.contains("fields of `wait` must be indented deeper"),
            "{help}"
        );
    }

    #[test]
    fn unknown_step_kind_names_the_closest() {
        let d = error_of(&format!(
            "{HEAD}        - waitFor: {{ kind: Pod, name: x, condition: Ready, within: 1s }}\n"
        ));
        assert_eq!(d.line, Some(10));
        assert_eq!(d.help.as_deref(), Some("did you mean `wait`?"));
        assert_eq!(d.span.map(|s| s.1), Some("waitFor".len()));
    }
}
