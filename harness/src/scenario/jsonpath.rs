//! The part of kubectl's JSONPath that names one field: `.status.objects[0].version`,
//! `.metadata.labels['app.kubernetes.io/name']`, `.status.objects[?(@.id=="secret/joke")].version`.
//! Optional `{...}` around it and a leading `$` are accepted, as kubectl writes them. Lint
//! parses it (a located finding for a bad path); the runner selects with it.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// `.name` or `['name']`.
    Field(String),
    /// `[3]`.
    Index(usize),
    /// `[?(@.a.b=="value")]`: the first element of a list whose field equals the value.
    Filter { field: Vec<String>, value: String },
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath(pub Vec<Seg>);

impl JsonPath {
    /// Parses a path; `Err` says what is wrong and where (a 0-based character offset).
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let mut s = text.trim();
        if let Some(inner) = s.strip_prefix('{') {
            s = inner
                .strip_suffix('}')
                .ok_or("`{` without its closing `}`")?
                .trim();
        }
        s = s.strip_prefix('$').unwrap_or(s);
        if s.is_empty() {
            return Err("the path is empty; write e.g. `.status.objects[0].version`".into());
        }
        let chars: Vec<char> = s.chars().collect();
        let mut segs = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    let start = i + 1;
                    let mut j = start;
                    while j < chars.len() && chars[j] != '.' && chars[j] != '[' {
                        j += 1;
                    }
                    if j == start {
                        return Err(format!("a field name is missing at character {}", i + 1));
                    }
                    segs.push(Seg::Field(chars[start..j].iter().collect()));
                    i = j;
                }
                '[' => {
                    let close = find_close(&chars, i)
                        .ok_or_else(|| format!("`[` at character {} has no closing `]`", i + 1))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    segs.push(
                        bracket(inner.trim())
                            .map_err(|e| format!("{e} (in `[{inner}]` at character {})", i + 1))?,
                    );
                    i = close + 1;
                }
                c => {
                    return Err(format!(
                        "unexpected `{c}` at character {}: a path is `.field`, `[N]`, `['key']` or `[?(@.field==\"value\")]` steps",
                        i + 1
                    ));
                }
            }
        }
        Ok(JsonPath(segs))
    }

    /// The value the path names in `v`, or why there is none.
    pub fn select<'a>(&self, v: &'a Value) -> Result<&'a Value, String> {
        let mut cur = v;
        let mut at = String::new();
        for seg in &self.0 {
            cur = match seg {
                Seg::Field(name) => {
                    at.push('.');
                    at.push_str(name);
                    cur.get(name).ok_or_else(|| format!("{at} is not set"))?
                }
                Seg::Index(n) => {
                    let items = cur
                        .as_array()
                        .ok_or_else(|| format!("{} is not a list", display(&at)))?;
                    at.push_str(&format!("[{n}]"));
                    items
                        .get(*n)
                        .ok_or_else(|| format!("{at}: the list has {} items", items.len()))?
                }
                Seg::Filter { field, value } => {
                    let items = cur
                        .as_array()
                        .ok_or_else(|| format!("{} is not a list", display(&at)))?;
                    at.push_str(&format!("[?(@.{}=={value:?})]", field.join(".")));
                    items
                        .iter()
                        .find(|item| {
                            let mut x = *item;
                            for f in field {
                                match x.get(f) {
                                    Some(next) => x = next,
                                    None => return false,
                                }
                            }
                            text(x) == *value
                        })
                        .ok_or_else(|| format!("{at}: no item matches"))?
                }
            };
        }
        Ok(cur)
    }
}

fn display(at: &str) -> &str {
    if at.is_empty() { "the object" } else { at }
}

/// A selected value as text: strings as they are, anything else as JSON.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `]` that closes the `[` at `open`, skipping quoted text.
fn find_close(chars: &[char], open: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (j, &c) in chars.iter().enumerate().skip(open + 1) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == ']' => return Some(j),
            None => {}
        }
    }
    None
}

fn unquote(s: &str) -> Option<&str> {
    let s = s.trim();
    ['\'', '"'].into_iter().find_map(|q| {
        s.strip_prefix(q)
            .and_then(|r| r.strip_suffix(q))
            .filter(|_| s.len() >= 2)
    })
}

fn bracket(inner: &str) -> Result<Seg, String> {
    if let Some(key) = unquote(inner) {
        return Ok(Seg::Field(key.to_owned()));
    }
    if let Ok(n) = inner.parse::<usize>() {
        return Ok(Seg::Index(n));
    }
    if let Some(cond) = inner
        .strip_prefix("?(")
        .and_then(|r| r.strip_suffix(')'))
        .map(str::trim)
    {
        let (lhs, rhs) = cond
            .split_once("==")
            .ok_or("a filter compares with `==`, e.g. `?(@.id==\"secret/joke\")`")?;
        let field = lhs
            .trim()
            .strip_prefix("@.")
            .ok_or("a filter starts with `@.`, e.g. `?(@.id==\"secret/joke\")`")?;
        let value = unquote(rhs)
            .map(str::to_owned)
            .unwrap_or_else(|| rhs.trim().to_owned());
        return Ok(Seg::Filter {
            field: field.split('.').map(str::to_owned).collect(),
            value,
        });
    }
    if inner == "*" || inner.contains(':') {
        return Err("wildcards and slices select several values; name one item".into());
    }
    Err("expected a list index, a quoted key or a `?(@.field==\"value\")` filter".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status() -> Value {
        json!({
            "metadata": {"labels": {"app.kubernetes.io/name": "x"}, "generation": 2},
            "status": {"objects": [
                {"id": "secret/a", "version": "v1"},
                {"id": "secret/joke", "version": "abc"}
            ]}
        })
    }

    #[test]
    fn selects_fields_indexes_keys_and_filters() {
        let v = status();
        let get = |p: &str| text(JsonPath::parse(p).unwrap().select(&v).unwrap());
        assert_eq!(get(".status.objects[0].version"), "v1");
        assert_eq!(get("{.status.objects[1].version}"), "abc");
        assert_eq!(
            get("$.status.objects[?(@.id==\"secret/joke\")].version"),
            "abc"
        );
        assert_eq!(get(".status.objects[?(@.id=='secret/a')].version"), "v1");
        assert_eq!(get(".metadata.labels['app.kubernetes.io/name']"), "x");
        assert_eq!(get(".metadata.generation"), "2");
        assert_eq!(
            get(".status.objects[0]"),
            r#"{"id":"secret/a","version":"v1"}"#
        );
    }

    #[test]
    fn says_why_nothing_is_selected() {
        let v = status();
        let err = |p: &str| JsonPath::parse(p).unwrap().select(&v).unwrap_err();
        assert_eq!(err(".status.nope"), ".status.nope is not set");
        assert_eq!(
            err(".status.objects[5].version"),
            ".status.objects[5]: the list has 2 items"
        );
        assert!(err(".status.objects[?(@.id==\"x\")]").ends_with("no item matches"));
        assert_eq!(err(".metadata[0]"), ".metadata is not a list");
    }

    #[test]
    fn refuses_malformed_paths() {
        for (p, want) in [
            ("", "empty"),
            ("status.x", "unexpected `s`"),
            (".status..x", "field name is missing"),
            (".status.objects[0", "no closing"),
            (".a[*]", "wildcards"),
            (".a[?(@.id)]", "compares with `==`"),
            (".a[?(id==\"x\")]", "starts with `@.`"),
            ("{.a", "closing `}`"),
        ] {
            let e = JsonPath::parse(p).unwrap_err();
            assert!(e.contains(want), "{p}: {e}");
        }
    }
}
