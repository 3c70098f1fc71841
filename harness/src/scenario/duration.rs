//! Durations and deadlines, parsed strictly.
//!
//! A duration is one or more `<digits><unit>` parts with units `ms`, `s`, `m`, `h`, largest
//! first (`90s`, `1m30s`, `500ms`). A bare number, a space, a sign, a fraction or a repeated
//! unit is an error. A deadline is a duration or an expression over the configured rotation
//! interval: `rotation`, `2 * rotation`, `rotation + 30s`. There is no way to write a sleep.

use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest deadline a scenario may ask for.
pub const MAX: Duration = Duration::from_secs(30 * 60);

/// Parses a strict duration (see the module docs).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let hint = "write it like `30s`, `2m`, `1m30s` or `500ms`";
    if s.is_empty() {
        return Err(format!("empty duration: {hint}"));
    }
    let units: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];
    let mut rest = s;
    let mut total_ms: u64 = 0;
    let mut last_rank: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "invalid duration `{s}`: expected a number at `{rest}`; {hint}"
            ));
        }
        let (num, tail) = rest.split_at(digits);
        let unit_len = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, tail) = tail.split_at(unit_len);
        let Some(rank) = units.iter().position(|(u, _)| *u == unit) else {
            return Err(if unit.is_empty() {
                format!("invalid duration `{s}`: `{num}` has no unit; {hint}")
            } else {
                format!("invalid duration `{s}`: unknown unit `{unit}` (use ms, s, m or h)")
            });
        };
        if last_rank.is_some_and(|r| r >= rank) {
            return Err(format!(
                "invalid duration `{s}`: units must appear once each, largest first"
            ));
        }
        last_rank = Some(rank);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("invalid duration `{s}`: number too large"))?;
        total_ms = n
            .checked_mul(units[rank].1)
            .and_then(|v| total_ms.checked_add(v))
            .ok_or_else(|| format!("invalid duration `{s}`: too large"))?;
        rest = tail;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Formats a duration the way [`parse_duration`] reads it.
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [("h", 3_600_000u128), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

/// A strict duration (`latency: 200ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s)
            .map(Dur)
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

/// One or more `<digits><unit>` parts, largest unit first, never empty (written out per first
/// unit because JSON Schema patterns have no lookahead in every validator).
const DURATION_BODY: &str = "([0-9]+h([0-9]+m)?([0-9]+s)?([0-9]+ms)?|[0-9]+m([0-9]+s)?([0-9]+ms)?|[0-9]+s([0-9]+ms)?|[0-9]+ms)";

fn duration_pattern() -> String {
    format!("^{DURATION_BODY}$")
}

fn deadline_pattern() -> String {
    format!("^({DURATION_BODY}|([0-9]+ \\* )?rotation( \\+ {DURATION_BODY})?)$")
}

impl JsonSchema for Dur {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A duration: `500ms`, `30s`, `2m`, `1m30s` (units largest first).",
            "pattern": duration_pattern(),
        })
    }
}

/// How long an operation may poll before it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// A fixed deadline: `within: 60s`.
    Fixed(Duration),
    /// Derived from the driver's rotation poll interval: `within: 2 * rotation + 30s`.
    Rotation { times: u32, plus: Duration },
}

impl Deadline {
    /// The concrete deadline given the configured rotation poll interval.
    pub fn resolve(self, rotation: Duration) -> Duration {
        match self {
            Deadline::Fixed(d) => d,
            Deadline::Rotation { times, plus } => rotation * times + plus,
        }
    }
}

impl std::str::FromStr for Deadline {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hint = "write `60s`, `rotation`, `rotation + 30s` or `2 * rotation + 30s`";
        if !s.contains("rotation") {
            let d = parse_duration(s).map_err(|e| format!("{e} (a deadline: {hint})"))?;
            if d.is_zero() {
                return Err(format!(
                    "deadline `{s}` is zero: every wait needs time to poll"
                ));
            }
            if d > MAX {
                return Err(format!(
                    "deadline `{s}` is longer than the maximum {}",
                    format_duration(MAX)
                ));
            }
            return Ok(Deadline::Fixed(d));
        }
        let (head, plus) = match s.split_once(" + ") {
            Some((h, p)) => {
                let d = parse_duration(p).map_err(|e| format!("in deadline `{s}`: {e}"))?;
                (h, d)
            }
            None => (s, Duration::ZERO),
        };
        let times = match head.split_once(" * ") {
            Some((n, "rotation")) => n
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=10).contains(n))
                .ok_or_else(|| format!("invalid deadline `{s}`: the factor must be 1..10"))?,
            None if head == "rotation" => 1,
            _ => return Err(format!("invalid deadline `{s}`: {hint}")),
        };
        Ok(Deadline::Rotation { times, plus })
    }
}

impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Deadline::Fixed(d) => f.write_str(&format_duration(d)),
            Deadline::Rotation { times, plus } => {
                if times != 1 {
                    write!(f, "{times} * ")?;
                }
                f.write_str("rotation")?;
                if !plus.is_zero() {
                    write!(f, " + {}", format_duration(plus))?;
                }
                Ok(())
            }
        }
    }
}

impl<'de> Deserialize<'de> for Deadline {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Deadline {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl JsonSchema for Deadline {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Deadline".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "How long to poll: a duration (`60s`) or derived from the rotation poll interval (`rotation + 30s`, `2 * rotation + 30s`).",
            "pattern": deadline_pattern(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_strictly() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in [
            "", "30", "30 s", "1.5s", "-1s", "30sec", "30s1m", "1s1s", "s", "1m 30s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(parse_duration("30").unwrap_err().contains("no unit"));
        assert!(
            parse_duration("30sec")
                .unwrap_err()
                .contains("unknown unit `sec`")
        );
    }

    #[test]
    fn schema_patterns_agree_with_the_parsers() {
        let duration = regex_lite::Regex::new(&duration_pattern()).unwrap();
        let deadline = regex_lite::Regex::new(&deadline_pattern()).unwrap();
        for good in ["90s", "1m30s", "500ms", "1h", "2h5ms"] {
            assert!(duration.is_match(good), "{good}");
            assert!(deadline.is_match(good), "{good}");
        }
        for good in ["rotation", "rotation + 30s", "2 * rotation + 1m30s"] {
            assert!(deadline.is_match(good), "{good}");
        }
        for bad in [
            "",
            "30",
            "30 s",
            "1s1m",
            "rotation+30s",
            "rotation + ",
            "* rotation",
        ] {
            assert!(!duration.is_match(bad), "{bad:?}");
            assert!(!deadline.is_match(bad), "{bad:?}");
            assert!(bad.parse::<Deadline>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deadlines() {
        let r = Duration::from_secs(10);
        let p = |s: &str| s.parse::<Deadline>();
        assert_eq!(p("60s").unwrap().resolve(r), Duration::from_secs(60));
        assert_eq!(p("rotation").unwrap().resolve(r), Duration::from_secs(10));
        assert_eq!(
            p("rotation + 30s").unwrap().resolve(r),
            Duration::from_secs(40)
        );
        assert_eq!(
            p("3 * rotation + 5s").unwrap().resolve(r),
            Duration::from_secs(35)
        );
        for bad in [
            "0s",
            "2h",
            "rotation+30s",
            "rotations",
            "0 * rotation",
            "rotation + 30",
            "30s + rotation",
        ] {
            assert!(p(bad).is_err(), "{bad:?} should be rejected");
        }
        for s in [
            "1m",
            "1m30s",
            "rotation",
            "rotation + 30s",
            "2 * rotation + 1m",
        ] {
            assert_eq!(p(s).unwrap().to_string(), s);
        }
    }
}
