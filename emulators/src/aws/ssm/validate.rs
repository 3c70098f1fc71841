//! Model constraints (lengths, ranges, enums) checked before any business rule, reported the way
//! AWS's front end does: every violation of the request, in one ValidationException.

use crate::aws::error::AwsError;

#[derive(Debug, Default)]
pub struct Constraints {
    errors: Vec<String>,
}

impl Constraints {
    fn fail(&mut self, shown: Option<&str>, member: &str, constraint: String) {
        let value = match shown {
            Some(v) => format!("Value '{v}' at"),
            // Sensitive members (parameter values) are never echoed.
            None => "Value at".to_owned(),
        };
        self.errors.push(format!(
            "{value} '{member}' failed to satisfy constraint: {constraint}"
        ));
    }

    pub fn length(&mut self, member: &str, value: Option<&str>, min: usize, max: usize) {
        let Some(v) = value else { return };
        let shown = Some(v);
        let len = v.chars().count();
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

    pub fn list(&mut self, member: &str, items: Option<&[String]>, min: usize, max: usize) {
        let Some(items) = items else { return };
        let shown = format!("[{}]", items.join(", "));
        if items.len() > max {
            self.fail(
                Some(&shown),
                member,
                format!("Member must have length less than or equal to {max}"),
            );
        } else if items.len() < min {
            self.fail(
                Some(&shown),
                member,
                format!("Member must have length greater than or equal to {min}"),
            );
        }
        for item in items {
            if item.is_empty() || item.chars().count() > 2048 {
                self.fail(
                    Some(&shown),
                    member,
                    "Member must satisfy constraint: [Member must have length less than or equal to 2048, Member must have length greater than or equal to 1]".into(),
                );
                break;
            }
        }
    }

    /// A list member too long to echo.
    pub fn count(&mut self, member: &str, len: usize, max: usize) {
        if len > max {
            self.fail(
                None,
                member,
                format!("Member must have length less than or equal to {max}"),
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

    pub fn pattern(
        &mut self,
        member: &str,
        value: Option<&str>,
        ok: fn(&str) -> bool,
        pattern: &str,
    ) {
        if let Some(v) = value.filter(|v| !ok(v)) {
            self.fail(
                Some(v),
                member,
                format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
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

    #[test]
    fn collects_every_violation_into_one_message() {
        let mut c = Constraints::default();
        c.length("name", Some(""), 1, 2048);
        c.range("maxResults", Some(11), 1, 10);
        c.count("value", 4, 3);
        let e = c.finish().expect_err("three errors");
        assert_eq!(e.code, "ValidationException");
        assert!(
            e.message
                .starts_with("3 validation errors detected: Value '' at 'name'"),
            "{}",
            e.message
        );
        assert!(e.message.contains("Value '11' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10"));
        assert!(e.message.contains("Value at 'value' failed"));
    }

    #[test]
    fn no_violation_is_ok() {
        let mut c = Constraints::default();
        c.length("name", None, 1, 2);
        c.list("names", Some(&["a".to_owned()]), 1, 10);
        assert!(c.finish().is_ok());
    }
}
