//! Request bodies as Vault reads them, with its answers to bad ones.
//!
//! 1. Every body first goes through the JSON limits check of Vault's HTTP layer
//!    (`wrapJSONLimitsHandler`, vault http/util.go; the scanner is sdk
//!    helper/jsonutil `VerifyMaxDepthStreaming`): nesting depth, sizes, duplicate keys,
//!    unclosed or mismatched containers. Its failures are **500**s with its message.
//! 2. Then a write's body is decoded by Go's `encoding/json` into a map (vault
//!    http/logical.go `parseJSONRequest`): a syntax error or a non-object is a 400
//!    `error parsing JSON: failed to parse JSON input: <Go's message>`.

use serde_json::{Map, Value};

/// Vault's listener defaults (vault http/handler.go).
const MAX_DEPTH: usize = 300;
const MAX_STRING_LENGTH: usize = 1024 * 1024;
const MAX_OBJECT_ENTRIES: usize = 10_000;
const MAX_ARRAY_ELEMENTS: usize = 10_000;
const MAX_TOKENS: usize = 500_000;

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

struct Container {
    object: bool,
    is_key: bool,
    count: usize,
    keys: std::collections::HashSet<String>,
}

/// The limits check; `Err` is the message of Vault's 500.
pub fn check_limits(body: &[u8]) -> Result<(), String> {
    let mut b = body;
    if b.starts_with(&[0xEF, 0xBB, 0xBF]) {
        b = &b[3..];
    }
    let mut i = b.iter().take_while(|c| is_ws(**c)).count();
    // Only containers are checked; a bare value (or nothing) is left to the decoder.
    if i >= b.len() || (b[i] != b'{' && b[i] != b'[') {
        return Ok(());
    }
    let mut stack: Vec<Container> = Vec::new();
    let (mut max_depth, mut tokens, mut last_comma) = (0usize, 0usize, false);
    let count_element = |c: &mut Container| -> Result<(), String> {
        c.count += 1;
        if c.count > MAX_ARRAY_ELEMENTS {
            return Err("JSON array exceeds allowed element count".into());
        }
        Ok(())
    };
    while i < b.len() {
        let ch = b[i];
        if last_comma && (ch == b'}' || ch == b']') {
            return Err(if ch == b'}' {
                "invalid character '}' after object key-value pair".into()
            } else {
                "invalid character ']' after array element".into()
            });
        }
        if stack.is_empty() && max_depth > 0 {
            return Err(format!(
                "invalid character '{}' after top-level value",
                ch as char
            ));
        }
        tokens += 1;
        if tokens > MAX_TOKENS {
            return Err("JSON payload exceeds allowed token count".into());
        }
        last_comma = false;
        match ch {
            b'{' | b'[' => {
                i += 1;
                if let Some(c) = stack.last_mut() {
                    if c.object {
                        c.is_key = true;
                    } else {
                        count_element(c)?;
                    }
                }
                if stack.len() + 1 > max_depth {
                    max_depth = stack.len() + 1;
                }
                if stack.len() + 1 > MAX_DEPTH {
                    return Err("JSON input exceeds allowed nesting depth".into());
                }
                stack.push(Container {
                    object: ch == b'{',
                    is_key: ch == b'{',
                    count: 0,
                    keys: Default::default(),
                });
            }
            b'}' | b']' => {
                if let Some(c) = stack.last()
                    && c.object
                    && !c.is_key
                {
                    return Err("invalid character '}' after object key".into());
                }
                i += 1;
                let Some(c) = stack.pop() else {
                    return Err(format!(
                        "malformed JSON: unmatched closing delimiter '{}'",
                        ch as char
                    ));
                };
                if (ch == b'}') != c.object {
                    return Err(format!(
                        "malformed JSON: mismatched closing delimiter '{}'",
                        ch as char
                    ));
                }
                if let Some(parent) = stack.last_mut()
                    && parent.object
                {
                    parent.is_key = true;
                }
            }
            b'"' => {
                let (value, next) = scan_string(b, i)?;
                i = next;
                if let Some(c) = stack.last_mut() {
                    if c.object {
                        if c.is_key {
                            if !c.keys.insert(value.clone()) {
                                return Err(format!("duplicate key '{value}' in object"));
                            }
                            c.count += 1;
                            if c.count > MAX_OBJECT_ENTRIES {
                                return Err("JSON object exceeds allowed entry count".into());
                            }
                            c.is_key = false;
                        } else {
                            c.is_key = true;
                        }
                    } else {
                        count_element(c)?;
                    }
                }
            }
            b't' | b'f' | b'n' => {
                while i < b.len() && !is_ws(b[i]) && !matches!(b[i], b',' | b'}' | b']') {
                    i += 1;
                }
                if let Some(c) = stack.last_mut() {
                    if c.object {
                        c.is_key = true;
                    } else {
                        count_element(c)?;
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                i = scan_number(b, i)?;
                if let Some(c) = stack.last_mut() {
                    if c.object {
                        c.is_key = true;
                    } else {
                        count_element(c)?;
                    }
                }
            }
            b',' => {
                i += 1;
                last_comma = true;
                if let Some(c) = stack.last_mut()
                    && c.object
                {
                    c.is_key = true;
                }
            }
            b':' => i += 1,
            other => {
                return Err(format!(
                    "invalid character '{}' looking for beginning of value",
                    other as char
                ));
            }
        }
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
    }
    if !stack.is_empty() {
        return Err("malformed JSON, unclosed containers".into());
    }
    Ok(())
}

/// jsonutil `scanString`: the string starting at `b[start]` (a quote), its value and the index
/// after it.
fn scan_string(b: &[u8], start: usize) -> Result<(String, usize), String> {
    let mut i = start + 1;
    let mut out: Vec<u8> = Vec::new();
    let mut count = 0usize;
    let mut last_rune: i64 = -1;
    loop {
        let Some(&c) = b.get(i) else {
            return Err("malformed JSON, unclosed string".into());
        };
        i += 1;
        if c == b'"' {
            if (0xD800..=0xDBFF).contains(&last_rune) {
                return Err("malformed JSON, unterminated surrogate pair in string".into());
            }
            return Ok((String::from_utf8_lossy(&out).into_owned(), i));
        }
        count += 1;
        last_rune = -1;
        if c == b'\\' {
            let Some(&e) = b.get(i) else {
                return Err("malformed JSON, unterminated escape sequence in string".into());
            };
            i += 1;
            count += 1;
            match e {
                b'"' | b'\\' | b'/' => out.push(e),
                b'b' => out.push(8),
                b'f' => out.push(12),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'u' => {
                    let Some(hex) = b.get(i..i + 4) else {
                        return Err("malformed JSON, unterminated unicode escape in string".into());
                    };
                    i += 4;
                    count += 4;
                    if let Some(bad) = hex.iter().find(|h| !h.is_ascii_hexdigit()) {
                        return Err(format!(
                            "invalid character '{}' in string escape code",
                            *bad as char
                        ));
                    }
                    let code = u32::from_str_radix(&String::from_utf8_lossy(hex), 16).unwrap_or(0);
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(
                        char::from_u32(code)
                            .unwrap_or('\u{fffd}')
                            .encode_utf8(&mut buf)
                            .as_bytes(),
                    );
                    last_rune = i64::from(code);
                }
                other => {
                    return Err(format!(
                        "invalid character '{}' in string escape code",
                        other as char
                    ));
                }
            }
        } else {
            out.push(c);
        }
        if count > MAX_STRING_LENGTH {
            return Err("JSON string value exceeds allowed length".into());
        }
    }
}

/// jsonutil `scanNumber`: the index after the number at `b[start]`.
fn scan_number(b: &[u8], start: usize) -> Result<usize, String> {
    if b[start] == b'0'
        && let Some(next) = b.get(start + 1)
        && next.is_ascii_digit()
    {
        return Err(format!(
            "invalid character '{}' after top-level value",
            *next as char
        ));
    }
    let mut i = start;
    while i < b.len() && (b[i].is_ascii_digit() || matches!(b[i], b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        i += 1;
        if i - start > MAX_STRING_LENGTH {
            return Err("JSON number value exceeds allowed length".into());
        }
    }
    let text = String::from_utf8_lossy(&b[start..i]);
    if i == start {
        return Err("malformed JSON, empty number".into());
    }
    if !go_float_syntax(&text) {
        return Err(format!(
            "malformed JSON, invalid number syntax for '{text}'"
        ));
    }
    Ok(i)
}

/// Whether Go's `strconv.ParseFloat` accepts `text` (the forms a JSON scanner can hand it).
fn go_float_syntax(text: &str) -> bool {
    let t = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(p) => (&t[..p], Some(&t[p + 1..])),
        None => (t, None),
    };
    let digits = mantissa.chars().filter(char::is_ascii_digit).count();
    let dots = mantissa.matches('.').count();
    let mantissa_ok =
        digits > 0 && dots <= 1 && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.');
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exp_ok
}

/// Go's `%q`-style quoting of one byte, as `encoding/json` names a bad character.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        b'\n' => "'\\n'".into(),
        b'\r' => "'\\r'".into(),
        b'\t' => "'\\t'".into(),
        c if c < 0x20 || c == 0x7f => format!("'\\x{c:02x}'"),
        c => format!("'{}'", c as char),
    }
}

/// Go's `encoding/json` syntax check, far enough to name the first error as it does.
struct GoScanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl GoScanner<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && is_ws(self.b[self.i]) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn bad(&self, c: u8, context: &str) -> String {
        format!("invalid character {} {context}", quote_char(c))
    }

    fn value(&mut self) -> Result<(), String> {
        self.ws();
        let Some(c) = self.peek() else {
            return Err("unexpected EOF".into());
        };
        match c {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            other => Err(self.bad(other, "looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), String> {
        for expected in word.bytes() {
            match self.peek() {
                None => return Err("unexpected EOF".into()),
                Some(c) if c == expected => self.i += 1,
                Some(c) => {
                    return Err(format!(
                        "invalid character {} in literal {word} (expecting {})",
                        quote_char(c),
                        quote_char(expected)
                    ));
                }
            }
        }
        Ok(())
    }

    fn string(&mut self) -> Result<(), String> {
        self.i += 1;
        loop {
            let Some(c) = self.peek() else {
                return Err("unexpected EOF".into());
            };
            self.i += 1;
            match c {
                b'"' => return Ok(()),
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err("unexpected EOF".into());
                    };
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            for _ in 0..4 {
                                match self.peek() {
                                    Some(h) if h.is_ascii_hexdigit() => self.i += 1,
                                    Some(h) => {
                                        return Err(
                                            self.bad(h, "in \\u hexadecimal character escape")
                                        );
                                    }
                                    None => return Err("unexpected EOF".into()),
                                }
                            }
                        }
                        other => return Err(self.bad(other, "in string escape code")),
                    }
                }
                c if c < 0x20 => return Err(self.bad(c, "in string literal")),
                _ => {}
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<(), String> {
        if self.peek() == Some(b'-') {
            self.i += 1;
            match self.peek() {
                Some(c) if c.is_ascii_digit() => {}
                Some(c) => return Err(self.bad(c, "in numeric literal")),
                None => return Err("unexpected EOF".into()),
            }
        }
        if self.peek() == Some(b'0') {
            self.i += 1;
        } else {
            self.digits();
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            match self.peek() {
                Some(c) if c.is_ascii_digit() => {
                    self.digits();
                }
                Some(c) => return Err(self.bad(c, "after decimal point in numeric literal")),
                None => return Err("unexpected EOF".into()),
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            match self.peek() {
                Some(c) if c.is_ascii_digit() => {
                    self.digits();
                }
                Some(c) => return Err(self.bad(c, "in exponent of numeric literal")),
                None => return Err("unexpected EOF".into()),
            }
        }
        Ok(())
    }

    fn object(&mut self) -> Result<(), String> {
        self.i += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            match self.peek() {
                Some(b'"') => self.string()?,
                Some(c) => return Err(self.bad(c, "looking for beginning of object key string")),
                None => return Err("unexpected EOF".into()),
            }
            self.ws();
            match self.peek() {
                Some(b':') => self.i += 1,
                Some(c) => return Err(self.bad(c, "after object key")),
                None => return Err("unexpected EOF".into()),
            }
            self.value()?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(c) => return Err(self.bad(c, "after object key:value pair")),
                None => return Err("unexpected EOF".into()),
            }
        }
    }

    fn array(&mut self) -> Result<(), String> {
        self.i += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.value()?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(c) => return Err(self.bad(c, "after array element")),
                None => return Err("unexpected EOF".into()),
            }
        }
    }
}

/// Decodes a write's body into the map Vault's handlers get; `Err` is the message of the 400.
/// An empty body (or JSON `null`) is no data.
pub fn decode(body: &[u8]) -> Result<Map<String, Value>, String> {
    let fail = |m: &str| format!("error parsing JSON: failed to parse JSON input: {m}");
    if body.iter().all(|c| is_ws(*c)) {
        return Ok(Map::new());
    }
    let mut scanner = GoScanner { b: body, i: 0 };
    scanner.value().map_err(|m| fail(&m))?;
    match serde_json::from_slice::<Value>(&body[..scanner.i]) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => {
            let kind = match other {
                Value::Array(_) => "array",
                Value::String(_) => "string",
                Value::Number(_) => "number",
                _ => "bool",
            };
            Err(fail(&format!(
                "json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
            )))
        }
        // Go accepted what serde refuses (e.g. invalid UTF-8 in a string): Go's decoder
        // replaces it, so refusing is the closest answer.
        Err(e) => Err(fail(&e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_vaults() {
        assert_eq!(
            check_limits(br#"{"data": {"a": "#),
            Err("malformed JSON, unclosed containers".into())
        );
        assert_eq!(
            check_limits(br#"{"a": 1, "a": 2}"#),
            Err("duplicate key 'a' in object".into())
        );
        assert_eq!(
            check_limits(br#"{"a": 1,}"#),
            Err("invalid character '}' after object key-value pair".into())
        );
        assert_eq!(
            check_limits(b"[1]]"),
            Err("invalid character ']' after top-level value".into())
        );
        assert_eq!(
            check_limits(br#"{"a": 1]"#),
            Err("malformed JSON: mismatched closing delimiter ']'".into())
        );
        let deep = "[".repeat(301) + &"]".repeat(301);
        assert_eq!(
            check_limits(deep.as_bytes()),
            Err("JSON input exceeds allowed nesting depth".into())
        );
        assert_eq!(check_limits(br#"{"data": nope}"#), Ok(()));
        assert_eq!(check_limits(b"not json at all"), Ok(()));
    }

    #[test]
    fn decode_errors_are_gos() {
        let err = |b: &[u8]| {
            decode(b)
                .unwrap_err()
                .replace("error parsing JSON: failed to parse JSON input: ", "")
        };
        assert_eq!(
            err(br#"{"data": nope}"#),
            "invalid character 'o' in literal null (expecting 'u')"
        );
        assert_eq!(err(br#"{"a" 1}"#), "invalid character '1' after object key");
        assert_eq!(
            err(br#"{"a":1 "b":2}"#),
            "invalid character '\"' after object key:value pair"
        );
        assert_eq!(
            err(b"{1:2}"),
            "invalid character '1' looking for beginning of object key string"
        );
        assert_eq!(err(b"[1 2]"), "invalid character '2' after array element");
        assert_eq!(
            err(b"abc"),
            "invalid character 'a' looking for beginning of value"
        );
        assert_eq!(
            err(b"[1, 2]"),
            "json: cannot unmarshal array into Go value of type map[string]interface {}"
        );
        assert_eq!(decode(b"  ").unwrap(), Map::new());
        assert_eq!(decode(b"null").unwrap(), Map::new());
        assert_eq!(
            decode(br#"{"a": [1, {"b": true}]}"#).unwrap()["a"][1]["b"],
            true
        );
    }
}
