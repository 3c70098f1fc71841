//! Vault's durations: an integer number of seconds, or a Go-style string such as `20m`, `1h30m`,
//! `768h` (plus `d` for days, as Vault's parseutil accepts).

use serde_json::Value;

pub fn parse_str(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(secs);
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut seen_unit = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            "ms"
        } else {
            match c {
                'h' => "h",
                'm' => "m",
                's' => "s",
                'd' => "d",
                _ => return Err(format!("time: invalid duration \"{text}\"")),
            }
        };
        let value: f64 = number
            .parse()
            .map_err(|_| format!("time: invalid duration \"{text}\""))?;
        number.clear();
        let seconds = match unit {
            "ms" => value / 1000.0,
            "s" => value,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            _ => value * 86400.0,
        };
        // Whole seconds are what every TTL field holds.
        total = total.saturating_add(seconds as u64);
        seen_unit = true;
    }
    if !number.is_empty() || !seen_unit {
        return Err(format!("time: missing unit in duration \"{text}\""));
    }
    Ok(total)
}

/// A duration field of a request body: number or string; `None` when absent or null.
pub fn field(body: &serde_json::Map<String, Value>, name: &str) -> Result<Option<u64>, String> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| format!("error converting input {n} for field \"{name}\"")),
        Some(Value::String(s)) => parse_str(s)
            .map(Some)
            .map_err(|e| format!("error converting input {s} for field \"{name}\": {e}")),
        Some(other) => Err(format!(
            "error converting input {other} for field \"{name}\""
        )),
    }
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
        assert!(parse_str("5x").is_err());
        assert!(parse_str("h").is_err());
        assert!(parse_str("10m5").is_err());
    }

    #[test]
    fn renders_like_go() {
        assert_eq!(go_string(0), "0s");
        assert_eq!(go_string(1200), "20m0s");
        assert_eq!(go_string(2_764_800), "768h0m0s");
    }
}
