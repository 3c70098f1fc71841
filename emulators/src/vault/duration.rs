//! Vault's durations, read as Vault reads them (go-secure-stdlib `parseutil.ParseDurationSecond`,
//! which Vault's `TypeDurationSecond` fields and the token store use): a whole number of seconds,
//! a whole number of days with `d`, or a Go duration string (`20m`, `1h30m`, `1.5h`, `300ms`).
//! A JSON number is read from its text, so `1e300` is a duration with an unknown unit.
//!
//! Like Go's `time.Duration`, a duration is at most 2^63-1 nanoseconds (about 292 years); a longer
//! one is refused with Go's words, never wrapped or saturated, so it cannot overflow the time
//! arithmetic that uses it.

use serde_json::Value;

/// The longest duration, in whole seconds: Go's `math.MaxInt64` nanoseconds.
pub const MAX_SECONDS: u64 = (i64::MAX as u64) / 1_000_000_000;

const NANOS_PER_SECOND: u128 = 1_000_000_000;
/// Go's limit on a duration's magnitude (a negative one may reach 2^63).
const LIMIT: u128 = 1 << 63;

/// parseutil's error for `<n> * 1s` or `<n> * 24h` beyond 2^63-1 nanoseconds.
const MULTIPLICATION_OVERFLOW: &str =
    "multiplication of durations resulted in overflow, one operand may be too large";

fn invalid(orig: &str) -> String {
    format!("time: invalid duration \"{orig}\"")
}

/// Go's `time.ParseDuration`, in nanoseconds.
fn go_parse_duration(orig: &str) -> Result<i128, String> {
    let mut s = orig;
    let negative = s.starts_with('-');
    if let Some(rest) = s.strip_prefix(['-', '+']) {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid(orig));
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, rest) = s.split_at(digits);
        let mut whole: u128 = 0;
        for b in int_part.bytes() {
            whole = whole * 10 + u128::from(b - b'0');
            if whole > LIMIT {
                return Err(invalid(orig));
            }
        }
        s = rest;
        let (mut fraction, mut scale) = (0u128, 1u128);
        let mut has_fraction = false;
        if let Some(rest) = s.strip_prefix('.') {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            has_fraction = digits > 0;
            for b in rest[..digits].bytes() {
                // Digits beyond what can matter are dropped, as Go does.
                if scale < LIMIT {
                    fraction = fraction * 10 + u128::from(b - b'0');
                    scale *= 10;
                }
            }
            s = &rest[digits..];
        }
        if int_part.is_empty() && !has_fraction {
            return Err(invalid(orig));
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        let (unit, rest) = s.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration \"{orig}\""));
        }
        let per: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS_PER_SECOND,
            "m" => 60 * NANOS_PER_SECOND,
            "h" => 3600 * NANOS_PER_SECOND,
            _ => {
                return Err(format!(
                    "time: unknown unit \"{unit}\" in duration \"{orig}\""
                ));
            }
        };
        s = rest;
        let value = whole
            .checked_mul(per)
            .and_then(|v| v.checked_add(fraction * per / scale))
            .filter(|v| *v <= LIMIT)
            .ok_or_else(|| invalid(orig))?;
        total += value;
        if total > LIMIT {
            return Err(invalid(orig));
        }
    }
    if !negative && total == LIMIT {
        return Err(invalid(orig));
    }
    let total = i128::try_from(total).map_err(|_| invalid(orig))?;
    Ok(if negative { -total } else { total })
}

/// A duration in whole seconds (negative if so written).
pub fn parse_str(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    let whole = |n: i128| i64::try_from(n).map_err(|_| MULTIPLICATION_OVERFLOW.to_owned());
    if let Ok(seconds) = text.parse::<i64>() {
        return whole(i128::from(seconds) * 1_000_000_000).map(|_| seconds);
    }
    if let Some(days) = text.strip_suffix('d') {
        let days: i64 = days
            .parse()
            .map_err(|_| format!("strconv.ParseInt: parsing \"{days}\": invalid syntax"))?;
        return whole(i128::from(days) * 86_400 * 1_000_000_000).map(|_| days * 86_400);
    }
    let nanos = go_parse_duration(text)?;
    i64::try_from(nanos / 1_000_000_000).map_err(|_| invalid(text))
}

/// A duration field of a request body: number or string; `None` when absent or null. Fields
/// hold a length of time, so a negative one is refused.
pub fn field(body: &serde_json::Map<String, Value>, name: &str) -> Result<Option<u64>, String> {
    let text = match body.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(format!(
                "error converting input {other} for field \"{name}\""
            ));
        }
    };
    let seconds = parse_str(&text)
        .map_err(|e| format!("error converting input {text} for field \"{name}\": {e}"))?;
    u64::try_from(seconds)
        .map(Some)
        .map_err(|_| format!("\"{name}\" must be positive"))
}

/// A duration the token store reads itself (`ttl`, `explicit_max_ttl` of `auth/token/create`):
/// `handleCreateCommon` answers the bare parse error, and "<name> must be positive" for a
/// negative one.
pub fn token_field(
    body: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<u64>, String> {
    let text = match body.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(format!("could not parse {name} from {other}")),
    };
    let seconds = parse_str(&text)?;
    u64::try_from(seconds)
        .map(Some)
        .map_err(|_| format!("{name} must be positive"))
}

/// Vault's rendering of a duration in read answers (`0s`, `20m0s`, `768h0m0s`).
pub fn go_string(secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations_and_seconds() {
        assert_eq!(parse_str("20m"), Ok(1200));
        assert_eq!(parse_str("1h30m"), Ok(5400));
        assert_eq!(parse_str("768h"), Ok(2_764_800));
        assert_eq!(parse_str("3600"), Ok(3600));
        assert_eq!(parse_str("1d"), Ok(86400));
        assert_eq!(parse_str("1.5h"), Ok(5400));
        assert_eq!(parse_str("1500ms"), Ok(1));
        assert_eq!(parse_str("-5m"), Ok(-300));
        assert_eq!(
            parse_str("5x"),
            Err("time: unknown unit \"x\" in duration \"5x\"".into())
        );
        assert_eq!(parse_str("h"), Err("time: invalid duration \"h\"".into()));
        assert_eq!(
            parse_str("10m5"),
            Err("time: missing unit in duration \"10m5\"".into())
        );
    }

    #[test]
    fn durations_beyond_go_refuse_instead_of_wrapping() {
        assert_eq!(
            parse_str("99999999999999h"),
            Err("time: invalid duration \"99999999999999h\"".into())
        );
        assert_eq!(
            parse_str("1e300"),
            Err("time: unknown unit \"e\" in duration \"1e300\"".into())
        );
        assert_eq!(parse_str("9223372037"), Err(MULTIPLICATION_OVERFLOW.into()));
        assert_eq!(parse_str("9223372036"), Ok(9_223_372_036));
        assert_eq!(parse_str("106751d"), Ok(106_751 * 86_400));
        assert_eq!(parse_str("106752d"), Err(MULTIPLICATION_OVERFLOW.into()));
        assert_eq!(
            parse_str("2562047h47m16.854775807s"),
            Ok(i64::try_from(MAX_SECONDS).unwrap_or_default())
        );
        assert!(parse_str("2562047h47m16.854775808s").is_err());
        let body = serde_json::json!({ "ttl": 1e300, "neg": "-1s", "big": u64::MAX });
        let body = body.as_object().cloned().unwrap_or_default();
        assert!(field(&body, "ttl").is_err());
        assert!(field(&body, "neg").is_err());
        assert!(field(&body, "big").is_err());
    }

    #[test]
    fn renders_like_go() {
        assert_eq!(go_string(0), "0s");
        assert_eq!(go_string(1200), "20m0s");
        assert_eq!(go_string(2_764_800), "768h0m0s");
    }
}
