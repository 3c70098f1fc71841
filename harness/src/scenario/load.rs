//! Reading `scenario.yaml` into the model, with errors located by file, line and column.

use std::path::{Path, PathBuf};

use super::Diagnostic;
use super::model::Scenario;

/// A scenario read from disk, with its source text (for locating later findings).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub file: PathBuf,
    pub dir: PathBuf,
    pub source: String,
    pub scenario: Scenario,
}

impl Loaded {
    /// The first place `needle` occurs in the source as a whole YAML scalar
    /// (used to point cross-reference errors at a line).
    pub fn locate(&self, needle: &str) -> (Option<u64>, Option<u64>) {
        locate(&self.source, needle)
    }
}

pub(crate) fn locate(source: &str, needle: &str) -> (Option<u64>, Option<u64>) {
    for (i, line) in source.lines().enumerate() {
        let mut from = 0;
        while let Some(pos) = line[from..].find(needle) {
            let start = from + pos;
            let end = start + needle.len();
            let before = line[..start].chars().next_back();
            let after = line[end..].chars().next();
            let boundary = |c: Option<char>| {
                c.is_none_or(|c| matches!(c, ' ' | ':' | '"' | '\'' | ',' | '[' | ']' | '{' | '}'))
            };
            if boundary(before) && boundary(after) {
                return (Some(i as u64 + 1), Some(start as u64 + 1));
            }
            from = end;
        }
    }
    (None, None)
}

/// Reads and parses one `scenario.yaml`.
pub fn load_file(file: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    let source = std::fs::read_to_string(file)
        .map_err(|e| vec![Diagnostic::new(file, format!("cannot read: {e}"))])?;
    load_str(file, &source)
}

/// Parses scenario text; `file` is used in diagnostics and to resolve relative paths.
pub fn load_str(file: &Path, source: &str) -> Result<Loaded, Vec<Diagnostic>> {
    let options = serde_saphyr::options! { with_snippet: false };
    match serde_saphyr::from_str_with_options::<Scenario>(source, options) {
        Ok(scenario) => Ok(Loaded {
            file: file.to_owned(),
            dir: file.parent().map(Path::to_owned).unwrap_or_default(),
            source: source.to_owned(),
            scenario,
        }),
        Err(e) => {
            let loc = e.location();
            let message = e.to_string();
            let message = strip_location_suffix(&message);
            let mut d = Diagnostic::new(file, message.clone()).at(
                loc.as_ref().map(|l| l.line()),
                loc.as_ref().map(|l| l.column()),
            );
            if let Some(help) = did_you_mean(&message) {
                d = d.help(help);
            }
            Err(vec![d])
        }
    }
}

/// serde-saphyr appends " at line L, column C"; the diagnostic carries those itself.
fn strip_location_suffix(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains("column") => message[..i].to_owned(),
        _ => message.to_owned(),
    }
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (and "unknown variant"),
/// suggests the closest expected name.
pub(crate) fn did_you_mean(message: &str) -> Option<String> {
    let kind = ["unknown field `", "unknown variant `"]
        .into_iter()
        .find(|k| message.contains(k))?;
    let start = message.find(kind)? + kind.len();
    let got = &message[start..start + message[start..].find('`')?];
    let list = &message[message.find("expected one of ")? + "expected one of ".len()..];
    let candidates: Vec<&str> = list
        .split(", ")
        .map(|c| c.trim().trim_matches('`'))
        .collect();
    suggest(got, &candidates).map(|s| format!("did you mean `{s}`?"))
}

/// The candidate closest to `got`, if it is close enough to be a typo.
pub(crate) fn suggest<'a>(got: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&got.to_lowercase(), &c.to_lowercase()),
                *c,
            )
        })
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
