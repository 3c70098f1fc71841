//! `${name}` substitution in manifests and steps. `$${` is a literal `${`. Unknown names are
//! errors: lint checks them ahead of the run, this is the last line.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`${{{0}}}` is not defined for this provider")]
pub struct UndefinedVar(pub String);

/// The variables of one scenario × provider run.
#[derive(Debug, Clone, Default)]
pub struct Vars(BTreeMap<String, String>);

impl Vars {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) variables; later calls win, so callers go from general to specific.
    pub fn extend<'a>(&mut self, vars: impl IntoIterator<Item = (&'a String, &'a String)>) {
        for (k, v) in vars {
            self.0.insert(k.clone(), v.clone());
        }
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.insert(key.to_owned(), value.into());
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Substitutes one string. Values are inserted as they are (no re-expansion).
    pub fn expand(&self, text: &str) -> Result<String, UndefinedVar> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("$${") {
                out.push_str("${");
                rest = after;
            } else if let Some(after) = tail.strip_prefix("${")
                && let Some(end) = after.find('}')
            {
                let name = &after[..end];
                let value = self
                    .get(name)
                    .ok_or_else(|| UndefinedVar(name.to_owned()))?;
                out.push_str(value);
                rest = &after[end + 1..];
            } else {
                out.push('$');
                rest = &tail[1..];
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Substitutes every string (keys included) of a JSON value.
    pub fn expand_value(
        &self,
        value: &serde_json::Value,
    ) -> Result<serde_json::Value, UndefinedVar> {
        use serde_json::Value;
        Ok(match value {
            Value::String(s) => Value::String(self.expand(s)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.expand_value(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    out.insert(self.expand(k)?, self.expand_value(v)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Substitutes every string of any serializable value (a step, an operation) by a round
    /// trip through JSON, so the executors only ever see final values.
    pub fn expand_typed<T>(&self, value: &T) -> Result<T, ExpandError>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        let json = serde_json::to_value(value).map_err(ExpandError::Json)?;
        let expanded = self.expand_value(&json)?;
        serde_json::from_value(expanded).map_err(ExpandError::Json)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExpandError {
    #[error(transparent)]
    Undefined(#[from] UndefinedVar),
    #[error("after substitution: {0}")]
    Json(serde_json::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::new();
        v.set("namespace", "sb-mount-azure");
        v.set("file", "a/b");
        v
    }

    #[test]
    fn expands_escapes_and_refuses_unknown() {
        let v = vars();
        assert_eq!(
            v.expand("x-${namespace}-${file}").unwrap(),
            "x-sb-mount-azure-a/b"
        );
        assert_eq!(
            v.expand("$${namespace} costs $5").unwrap(),
            "${namespace} costs $5"
        );
        assert_eq!(
            v.expand("${nope}").unwrap_err(),
            UndefinedVar("nope".into())
        );
        assert_eq!(v.expand("${unterminated").unwrap(), "${unterminated");
    }

    #[test]
    fn expands_keys_and_nested_values() {
        let v = vars();
        let got = v
            .expand_value(&serde_json::json!({"${file}": ["${namespace}", 3]}))
            .unwrap();
        assert_eq!(got, serde_json::json!({"a/b": ["sb-mount-azure", 3]}));
    }

    #[test]
    fn captured_values_reach_later_operations_as_typed_values() {
        use crate::scenario::model::{Number, Op};
        let op: Op = serde_json::from_value(serde_json::json!({"check": {
            "secret": {"name": "${scenario}-synced", "key": "username"},
            "differs": "${before}",
            "greaterThan": "${count}",
            "for": "rotation + 5s"
        }}))
        .unwrap();
        let mut v = vars();
        v.set("scenario", "rot");
        v.set("count", "3");
        // Before the capture, the operation cannot run.
        assert!(
            matches!(v.expand_typed(&op), Err(ExpandError::Undefined(UndefinedVar(n))) if n == "before")
        );
        // What a capture stores is a plain value: no re-expansion of `${` inside it.
        v.set("before", "old ${namespace}");
        let Op::Check(c) = v.expand_typed(&op).unwrap() else {
            panic!("still a check")
        };
        assert_eq!(c.secret.unwrap().name, "rot-synced");
        assert_eq!(c.differs.as_deref(), Some("old ${namespace}"));
        assert_eq!(c.greater_than, Some(Number::Text("3".into())));
        assert_eq!(c.greater_than.unwrap().value(), Ok(3.0));
        assert_eq!(c.for_.unwrap().to_string(), "rotation + 5s");
    }
}
