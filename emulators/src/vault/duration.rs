//! Vault's durations, parsed as its `parseutil.ParseDurationSecond` does (go-secure-stdlib
//! parseutil v0.2.0): an integer number of seconds, an integer number of days (`7d`), or a Go
//! duration (`20m`, `1h30m`, `1.5h`) parsed by Go's `time.ParseDuration`, whose error texts are
//! the ones Vault returns (`time: invalid duration "x"`, `time: unknown unit " m" in duration
//! "10 m"`, `time: missing unit in duration "10"`).

use serde_json::Value;

const NANOS_PER_SECOND: u64 = 1_000_000_000;
/// Go's `time.Duration` is an int64 of nanoseconds.
const MAX_NANOS: u64 = i64::MAX as u64;

/// parseutil's error when seconds or days do not fit a Go duration.
const MULTIPLICATION_OVERFLOW: &str =
    "multiplication of durations resulted in overflow, one operand may be too large";

/// `s` quoted as Go's `strconv.Quote` quotes the ASCII text Vault's errors name.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn invalid(orig: &str) -> String {
    format!("time: invalid duration {}", quote(orig))
}

/// Go's `time.ParseDuration`, in nanoseconds (negative durations are refused by callers).
pub fn go_parse_duration(orig: &str) -> Result<i128, String> {
    let mut s = orig;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid(orig));
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid(orig));
        }
        // [0-9]*
        let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let mut whole: u64 = 0;
        for &c in &b[..digits] {
            whole = whole
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(c - b'0')))
                .filter(|v| *v <= MAX_NANOS + 1)
                .ok_or_else(|| invalid(orig))?;
        }
        s = &s[digits..];
        // (\.[0-9]*)?
        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if let Some(rest) = s.strip_prefix('.') {
            s = rest;
            let fd = s.bytes().take_while(u8::is_ascii_digit).count();
            let mut overflow = false;
            for c in s[..fd].bytes() {
                if overflow {
                    continue;
                }
                if frac > (MAX_NANOS + 1) / 10 {
                    overflow = true;
                    continue;
                }
                frac = frac * 10 + u64::from(c - b'0');
                scale *= 10.0;
            }
            post = fd > 0;
            s = &s[fd..];
        }
        if digits == 0 && !post {
            return Err(invalid(orig));
        }
        // The unit: everything up to the next '.' or digit.
        let ul = s
            .bytes()
            .take_while(|c| *c != b'.' && !c.is_ascii_digit())
            .count();
        if ul == 0 {
            return Err(format!("time: missing unit in duration {}", quote(orig)));
        }
        let unit_text = &s[..ul];
        s = &s[ul..];
        let unit: u64 = match unit_text {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS_PER_SECOND,
            "m" => 60 * NANOS_PER_SECOND,
            "h" => 3600 * NANOS_PER_SECOND,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote(unit_text),
                    quote(orig)
                ));
            }
        };
        if whole > (MAX_NANOS + 1) / unit {
            return Err(invalid(orig));
        }
        let mut v = whole * unit;
        if frac > 0 {
            v += (frac as f64 * (unit as f64 / scale)) as u64;
            if v > MAX_NANOS + 1 {
                return Err(invalid(orig));
            }
        }
        total = total.checked_add(v).ok_or_else(|| invalid(orig))?;
        if total > MAX_NANOS + 1 {
            return Err(invalid(orig));
        }
    }
    if neg {
        return Ok(-(i128::from(total)));
    }
    if total > MAX_NANOS {
        return Err(invalid(orig));
    }
    Ok(i128::from(total))
}

/// `ParseDurationSecond` of a string, in whole seconds (Vault keeps `int(d.Seconds())`).
pub fn parse_str(text: &str) -> Result<i64, String> {
    if text.is_empty() {
        return Ok(0);
    }
    let seconds = |n: i128| -> Result<i64, String> {
        if n.unsigned_abs() > u128::from(MAX_NANOS) / u128::from(NANOS_PER_SECOND) {
            Err(MULTIPLICATION_OVERFLOW.into())
        } else {
            i64::try_from(n).map_err(|_| MULTIPLICATION_OVERFLOW.to_owned())
        }
    };
    if let Ok(n) = text.parse::<i64>() {
        return seconds(i128::from(n));
    }
    if let Some(days) = text.strip_suffix('d') {
        let n = days
            .parse::<i64>()
            .map_err(|_| format!("strconv.ParseInt: parsing {}: invalid syntax", quote(days)))?;
        return seconds(i128::from(n) * 86_400);
    }
    let nanos = go_parse_duration(text)?;
    i64::try_from(nanos / i128::from(NANOS_PER_SECOND)).map_err(|_| invalid(text))
}

/// A duration given in a request body (JSON numbers arrive as their text, as Vault decodes
/// them with `UseNumber`): `None` when absent or null, else whole seconds (may be negative).
pub fn parse_value(v: &Value) -> Result<Option<i64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => parse_str(&n.to_string()).map(Some),
        Value::String(s) => parse_str(s).map(Some),
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
            Err("could not parse duration from input".into())
        }
    }
}

/// A `TypeDurationSecond` field of a request body, with the framework's error wrapping.
pub fn field(body: &serde_json::Map<String, Value>, name: &str) -> Result<Option<i64>, String> {
    match body.get(name) {
        None => Ok(None),
        Some(v) => {
            parse_value(v).map_err(|e| format!("error converting input for field \"{name}\": {e}"))
        }
    }
}

/// Vault's rendering of a duration in read answers, Go's `Duration.String()` for whole
/// seconds (`0s`, `20m0s`, `768h0m0s`).
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

/// Vault's `humanDuration` (sdk `framework/lease.go`): Go's `Duration.String()` without zero
/// elements, as TTL warnings print a TTL (`5h`, `1h30m`, `768h`).
pub fn human(secs: u64) -> String {
    let mut s = go_string(secs);
    if secs == 0 {
        return s;
    }
    if s.ends_with("m0s") {
        s.truncate(s.len() - 2);
    }
    if let Some(i) = s.find("h0m").filter(|i| *i > 0) {
        s.replace_range(i + 1..i + 3, "");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_parseutil() {
        assert_eq!(parse_str("20m"), Ok(1200));
        assert_eq!(parse_str("1h30m"), Ok(5400));
        assert_eq!(parse_str("768h"), Ok(2_764_800));
        assert_eq!(parse_str("3600"), Ok(3600));
        assert_eq!(parse_str("1d"), Ok(86400));
        assert_eq!(parse_str("1.5h"), Ok(5400));
        assert_eq!(parse_str("500ms"), Ok(0));
        assert_eq!(parse_str(""), Ok(0));
        assert_eq!(parse_value(&serde_json::json!(600)), Ok(Some(600)));
    }

    #[test]
    fn errors_are_go_errors() {
        assert_eq!(
            parse_str("5x").unwrap_err(),
            "time: unknown unit \"x\" in duration \"5x\""
        );
        assert_eq!(parse_str("h").unwrap_err(), "time: invalid duration \"h\"");
        assert_eq!(
            parse_str("10m5").unwrap_err(),
            "time: missing unit in duration \"10m5\""
        );
        assert_eq!(
            parse_str("10 minutes").unwrap_err(),
            "time: unknown unit \" minutes\" in duration \"10 minutes\""
        );
        assert_eq!(
            parse_str("forever").unwrap_err(),
            "time: invalid duration \"forever\""
        );
        assert_eq!(
            parse_str("9999999999h").unwrap_err(),
            "time: invalid duration \"9999999999h\""
        );
        assert_eq!(
            parse_str("1.5d").unwrap_err(),
            "strconv.ParseInt: parsing \"1.5\": invalid syntax"
        );
        assert_eq!(
            parse_str("99999999999999999").unwrap_err(),
            MULTIPLICATION_OVERFLOW
        );
        assert_eq!(
            parse_value(&serde_json::json!("1e300")).unwrap_err(),
            "time: unknown unit \"e\" in duration \"1e300\""
        );
        let mut body = serde_json::Map::new();
        body.insert("ttl".into(), "soon".into());
        assert_eq!(
            field(&body, "ttl").unwrap_err(),
            "error converting input for field \"ttl\": time: invalid duration \"soon\""
        );
    }

    #[test]
    fn renders_like_go() {
        assert_eq!(go_string(0), "0s");
        assert_eq!(go_string(1200), "20m0s");
        assert_eq!(go_string(2_764_800), "768h0m0s");
        assert_eq!(human(18_000), "5h");
        assert_eq!(human(5400), "1h30m");
        assert_eq!(human(2_764_800), "768h");
        assert_eq!(human(90), "1m30s");
        assert_eq!(human(10), "10s");
        assert_eq!(human(3605), "1h5s");
        assert_eq!(human(0), "0s");
    }
}
