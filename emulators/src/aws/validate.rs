//! Model constraints (required members, lengths, ranges, enums, patterns) checked before any
//! business rule, reported the way AWS's front end (coral) does: every violation of the request,
//! in one ValidationException.
//!
//! Each JSON service declares its operations' members once, as a [`Table`] taken from its service
//! model (botocore `data/<service>/<version>/service-2.json`: each shape's `min`, `max`,
//! `pattern`, `enum`, `sensitive` and each structure's `required`). The front door runs the table
//! before dispatching, so no handler sees a SecretId of a million characters.

use serde_json::Value;

use crate::aws::error::AwsError;

/// A member pattern: the model's regular expression (as reported) and a function that decides it.
#[derive(Debug, Clone, Copy)]
pub struct Pattern {
    pub text: &'static str,
    pub ok: fn(&str) -> bool,
}

/// What the model says about a member's value.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A string of `min..=max` characters. A sensitive one is never echoed in the message.
    Str {
        min: usize,
        max: usize,
        pattern: Option<Pattern>,
        sensitive: bool,
    },
    /// A blob, base64 on the wire; its length is that of the decoded bytes.
    Blob {
        min: usize,
        max: usize,
    },
    /// An integer or long.
    Long {
        min: i64,
        max: i64,
    },
    Enum(&'static [&'static str]),
    /// A list of strings, each of `item_min..=item_max` characters.
    StrList {
        min: usize,
        max: usize,
        item_min: usize,
        item_max: usize,
        item_pattern: Option<Pattern>,
    },
    /// A list of structures.
    List {
        min: usize,
        max: usize,
        item: &'static [Member],
    },
    Struct(&'static [Member]),
    /// Booleans and members the model does not constrain.
    Free,
}

/// One member of an input structure, by its wire name.
#[derive(Debug, Clone, Copy)]
pub struct Member {
    pub name: &'static str,
    pub required: bool,
    pub shape: Shape,
}

/// The input members of one operation.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub name: &'static str,
    pub members: &'static [Member],
}

pub type Table = &'static [Operation];

/// A string member of `min..=max` characters.
pub const fn str(min: usize, max: usize) -> Shape {
    Shape::Str {
        min,
        max,
        pattern: None,
        sensitive: false,
    }
}

pub const fn req(name: &'static str, shape: Shape) -> Member {
    Member {
        name,
        required: true,
        shape,
    }
}

pub const fn opt(name: &'static str, shape: Shape) -> Member {
    Member {
        name,
        required: false,
        shape,
    }
}

/// Checks `input` against `operation`'s row of `table`; an operation the table does not list
/// passes (the dispatcher answers it).
pub fn check(table: Table, operation: &str, input: &Value) -> Result<(), AwsError> {
    let Some(op) = table.iter().find(|o| o.name == operation) else {
        return Ok(());
    };
    let mut c = Constraints::default();
    check_struct(&mut c, "", op.members, input);
    c.finish()
}

/// Coral names members in lower camel case, nested as `tags.1.member.key`.
fn path(prefix: &str, name: &str) -> String {
    let mut chars = name.chars();
    let lower: String = chars
        .next()
        .map(|f| f.to_ascii_lowercase())
        .into_iter()
        .chain(chars)
        .collect();
    if prefix.is_empty() {
        lower
    } else {
        format!("{prefix}.{lower}")
    }
}

fn check_struct(c: &mut Constraints, prefix: &str, members: &[Member], value: &Value) {
    let Some(object) = value.as_object() else {
        // A wrong type is the deserializer's SerializationException, not a validation error.
        return;
    };
    for m in members {
        let at = path(prefix, m.name);
        match object.get(m.name) {
            None | Some(Value::Null) if m.required => c.null(&at),
            None | Some(Value::Null) => {}
            Some(v) => check_value(c, &at, &m.shape, v),
        }
    }
}

fn check_value(c: &mut Constraints, at: &str, shape: &Shape, v: &Value) {
    match *shape {
        Shape::Str {
            min,
            max,
            pattern,
            sensitive,
        } => {
            let Some(s) = v.as_str() else { return };
            let shown = (!sensitive).then_some(s);
            c.length_shown(at, s, shown, min, max);
            if let Some(p) = pattern {
                c.pattern_shown(at, s, shown, p);
            }
        }
        Shape::Blob { min, max } => {
            use base64::Engine;
            let Some(s) = v.as_str() else { return };
            // Undecodable base64 is the deserializer's to refuse.
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(s) else {
                return;
            };
            c.bounds(None, at, bytes.len(), min, max);
        }
        Shape::Long { min, max } => {
            if let Some(n) = v.as_i64() {
                c.range(at, Some(n), min, max);
            } else if let Some(n) = v.as_u64() {
                // Beyond i64: only a maximum can be broken.
                c.fail(
                    Some(&n.to_string()),
                    at,
                    format!("Member must have value less than or equal to {max}"),
                );
            }
        }
        Shape::Enum(values) => {
            let Some(s) = v.as_str() else { return };
            if !values.contains(&s) {
                c.fail(
                    Some(s),
                    at,
                    format!(
                        "Member must satisfy enum value set: [{}]",
                        values.join(", ")
                    ),
                );
            }
        }
        Shape::StrList {
            min,
            max,
            item_min,
            item_max,
            item_pattern,
        } => {
            let Some(items) = v.as_array() else { return };
            let strings: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            let shown = format!("[{}]", strings.join(", "));
            c.bounds(Some(&shown), at, items.len(), min, max);
            let bad_item = strings.iter().any(|s| {
                let n = s.chars().count();
                n < item_min || n > item_max || item_pattern.is_some_and(|p| !(p.ok)(s))
            });
            if bad_item {
                let mut rules = vec![format!(
                    "Member must have length less than or equal to {item_max}"
                )];
                if item_min > 0 {
                    rules.push(format!(
                        "Member must have length greater than or equal to {item_min}"
                    ));
                }
                if let Some(p) = item_pattern {
                    rules.push(format!(
                        "Member must satisfy regular expression pattern: {}",
                        p.text
                    ));
                }
                c.fail(
                    Some(&shown),
                    at,
                    format!("Member must satisfy constraint: [{}]", rules.join(", ")),
                );
            }
        }
        Shape::List { min, max, item } => {
            let Some(items) = v.as_array() else { return };
            c.bounds(None, at, items.len(), min, max);
            for (i, entry) in items.iter().enumerate() {
                check_struct(c, &format!("{at}.{}.member", i + 1), item, entry);
            }
        }
        Shape::Struct(members) => check_struct(c, at, members, v),
        Shape::Free => {}
    }
}

#[derive(Debug, Default)]
pub struct Constraints {
    errors: Vec<String>,
}

impl Constraints {
    fn fail(&mut self, shown: Option<&str>, member: &str, constraint: String) {
        let value = match shown {
            Some(v) => format!("Value '{v}' at"),
            // Sensitive members (parameter and secret values) are never echoed.
            None => "Value at".to_owned(),
        };
        self.errors.push(format!(
            "{value} '{member}' failed to satisfy constraint: {constraint}"
        ));
    }

    fn null(&mut self, member: &str) {
        self.errors.push(format!(
            "Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ));
    }

    /// A length (or count) `len` against `min..=max`.
    fn bounds(&mut self, shown: Option<&str>, member: &str, len: usize, min: usize, max: usize) {
        if len > max {
            self.fail(
                shown,
                member,
                format!("Member must have length less than or equal to {max}"),
            );
        } else if len < min {
            self.fail(
                shown,
                member,
                format!("Member must have length greater than or equal to {min}"),
            );
        }
    }

    fn length_shown(
        &mut self,
        member: &str,
        value: &str,
        shown: Option<&str>,
        min: usize,
        max: usize,
    ) {
        self.bounds(shown, member, value.chars().count(), min, max);
    }

    fn pattern_shown(&mut self, member: &str, value: &str, shown: Option<&str>, p: Pattern) {
        if !(p.ok)(value) {
            self.fail(
                shown,
                member,
                format!("Member must satisfy regular expression pattern: {}", p.text),
            );
        }
    }

    pub fn range(&mut self, member: &str, value: Option<i64>, min: i64, max: i64) {
        let Some(v) = value else { return };
        let text = v.to_string();
        if v > max {
            self.fail(
                Some(&text),
                member,
                format!("Member must have value less than or equal to {max}"),
            );
        } else if v < min {
            self.fail(
                Some(&text),
                member,
                format!("Member must have value greater than or equal to {min}"),
            );
        }
    }

    /// Parses an enum member; an unknown value is recorded and yields `None`.
    pub fn one_of<T>(
        &mut self,
        member: &str,
        value: Option<&str>,
        set: &str,
        parse: fn(&str) -> Option<T>,
    ) -> Option<T> {
        let v = value?;
        let parsed = parse(v);
        if parsed.is_none() {
            self.fail(
                Some(v),
                member,
                format!("Member must satisfy enum value set: {set}"),
            );
        }
        parsed
    }

    pub fn finish(self) -> Result<(), AwsError> {
        match self.errors.len() {
            0 => Ok(()),
            1 => Err(AwsError::validation(format!(
                "1 validation error detected: {}",
                self.errors.join("; ")
            ))),
            n => Err(AwsError::validation(format!(
                "{n} validation errors detected: {}",
                self.errors.join("; ")
            ))),
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed expectation is the test failing
mod tests {
    use super::*;
    use serde_json::json;

    const TAG: &[Member] = &[opt("Key", str(1, 3)), opt("Value", str(0, 2))];
    const TABLE: Table = &[Operation {
        name: "Op",
        members: &[
            req("Name", str(1, 4)),
            opt("MaxResults", Shape::Long { min: 1, max: 10 }),
            opt(
                "Secret",
                Shape::Str {
                    min: 1,
                    max: 2,
                    pattern: None,
                    sensitive: true,
                },
            ),
            opt(
                "Names",
                Shape::StrList {
                    min: 1,
                    max: 2,
                    item_min: 1,
                    item_max: 3,
                    item_pattern: None,
                },
            ),
            opt(
                "Tags",
                Shape::List {
                    min: 0,
                    max: 5,
                    item: TAG,
                },
            ),
            opt("Order", Shape::Enum(&["asc", "desc"])),
        ],
    }];

    #[test]
    fn collects_every_violation_into_one_message() {
        let e = check(
            TABLE,
            "Op",
            &json!({"Name": "toolong", "MaxResults": 11, "Secret": "abc", "Names": ["a", "bbbb"],
                    "Tags": [{"Key": "k"}, {"Key": "", "Value": "vvv"}], "Order": "up"}),
        )
        .expect_err("violations");
        assert_eq!(e.code, "ValidationException");
        assert_eq!(
            e.message,
            "7 validation errors detected: \
             Value 'toolong' at 'name' failed to satisfy constraint: Member must have length less than or equal to 4; \
             Value '11' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10; \
             Value at 'secret' failed to satisfy constraint: Member must have length less than or equal to 2; \
             Value '[a, bbbb]' at 'names' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 3, Member must have length greater than or equal to 1]; \
             Value '' at 'tags.2.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1; \
             Value 'vvv' at 'tags.2.member.value' failed to satisfy constraint: Member must have length less than or equal to 2; \
             Value 'up' at 'order' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]"
        );
    }

    #[test]
    fn a_missing_required_member_is_coral_null_and_wrong_types_are_left_to_the_deserializer() {
        let e = check(TABLE, "Op", &json!({})).expect_err("null");
        assert_eq!(
            e.message,
            "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
        );
        check(TABLE, "Op", &json!({"Name": 7, "MaxResults": "x"})).expect("types pass");
        check(TABLE, "Unlisted", &json!({})).expect("unlisted operations pass");
    }
}
