//! How two answers to the same request are compared: status, content type, then the JSON bodies
//! member by member, after the declared normalisations of what Vault makes random or
//! time-dependent. Everything else must be equal.

use serde_json::Value;

/// What a normalisation does to a member's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// An identifier Vault makes up (UUIDs, accessors, tokens): any non-empty string is equal to
    /// any other; empty stays empty, so "set" versus "unset" is still compared.
    Random,
    /// A wall-clock time (RFC 3339 string or Unix seconds): non-empty equals non-empty.
    Time,
    /// Seconds left on a lease or token, read a moment apart on the two servers: equal within
    /// [`COUNTDOWN_SLACK`].
    Countdown,
}

/// Seconds two countdowns may differ by (the two servers are asked one after the other).
pub const COUNTDOWN_SLACK: i64 = 3;

/// Normalised members by name, wherever they appear, and why each is not compared as is.
pub const NORMALISED: &[(&str, Rule, &str)] = &[
    ("request_id", Rule::Random, "a UUID per request"),
    ("accessor", Rule::Random, "mount and token accessors"),
    ("uuid", Rule::Random, "mount UUIDs"),
    ("client_token", Rule::Random, "minted tokens"),
    ("id", Rule::Random, "a token's id in lookups"),
    ("entity_id", Rule::Random, "identity entities made on login"),
    ("cluster_id", Rule::Random, "made at initialisation"),
    (
        "cluster_name",
        Rule::Random,
        "`vault-cluster-<random hex>` in dev mode",
    ),
    ("created_time", Rule::Time, "KV v2 version and secret times"),
    ("updated_time", Rule::Time, "KV v2 metadata"),
    ("deletion_time", Rule::Time, "KV v2 soft deletes"),
    ("creation_time", Rule::Time, "token lookups (Unix seconds)"),
    ("issue_time", Rule::Time, "token lookups"),
    ("expire_time", Rule::Time, "token lookups"),
    ("last_renewal_time", Rule::Time, "renewed tokens"),
    ("last_renewal", Rule::Time, "renewed tokens"),
    ("server_time_utc", Rule::Time, "sys/health"),
    (
        "build_date",
        Rule::Time,
        "the build's time (the module's commit time for the stack build)",
    ),
    ("ttl", Rule::Countdown, "token lookups count down"),
];

/// One member (or the status, or the content type) that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// `status`, `content-type`, or the member's path in the body (`data.keys[1]`).
    pub at: String,
    pub real: String,
    pub emulator: String,
}

/// One side's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

fn rule_for(key: &str) -> Option<Rule> {
    NORMALISED
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, r, _)| *r)
}

/// Applies the key-based normalisations and the request's own `random` paths.
pub fn normalise(v: &Value, extra_random: &[String]) -> Value {
    let mut v = v.clone();
    walk(&mut v, "");
    for path in extra_random {
        if let Some(member) = pointer_mut(&mut v, path) {
            *member = random_shape(member);
        }
    }
    v
}

fn walk(v: &mut Value, at: &str) {
    match v {
        Value::Object(members) => {
            for (k, member) in members.iter_mut() {
                let here = join(at, k);
                match rule_for(k) {
                    Some(Rule::Random) => *member = random_shape(member),
                    Some(Rule::Time) => *member = time_shape(member),
                    Some(Rule::Countdown) | None => walk(member, &here),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, &format!("{at}[{i}]"));
            }
        }
        _ => {}
    }
}

fn random_shape(v: &Value) -> Value {
    match v {
        Value::String(s) if !s.is_empty() => Value::String("<random>".into()),
        Value::Array(items) => Value::Array(items.iter().map(random_shape).collect()),
        other => other.clone(),
    }
}

fn time_shape(v: &Value) -> Value {
    match v {
        Value::String(s) if !s.is_empty() => Value::String("<time>".into()),
        Value::Number(n) if n.as_f64().is_some_and(|f| f != 0.0) => Value::String("<time>".into()),
        other => other.clone(),
    }
}

/// A dotted path (`data.keys`) into a value.
fn pointer_mut<'a>(v: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let mut cur = v;
    for part in path.split('.') {
        cur = cur.get_mut(part)?;
    }
    Some(cur)
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 300 {
        let mut end = 300;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s
    }
}

/// Every difference between two answers to the same request.
pub fn compare(real: &Answer, emulator: &Answer, extra_random: &[String]) -> Vec<Difference> {
    let mut out = Vec::new();
    if real.status != emulator.status {
        out.push(Difference {
            at: "status".into(),
            real: real.status.to_string(),
            emulator: emulator.status.to_string(),
        });
    }
    let parse = |body: &str| -> Option<Value> {
        if body.trim().is_empty() {
            None
        } else {
            Some(serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned())))
        }
    };
    let (r, e) = (parse(&real.body), parse(&emulator.body));
    if r.is_some() && e.is_some() && real.content_type != emulator.content_type {
        out.push(Difference {
            at: "content-type".into(),
            real: real.content_type.clone(),
            emulator: emulator.content_type.clone(),
        });
    }
    match (r, e) {
        (None, None) => {}
        (Some(r), None) => out.push(Difference {
            at: "body".into(),
            real: short(&r),
            emulator: "(empty)".into(),
        }),
        (None, Some(e)) => out.push(Difference {
            at: "body".into(),
            real: "(empty)".into(),
            emulator: short(&e),
        }),
        (Some(r), Some(e)) => diff(
            &normalise(&r, extra_random),
            &normalise(&e, extra_random),
            "",
            None,
            &mut out,
        ),
    }
    out
}

fn diff(r: &Value, e: &Value, at: &str, key: Option<&str>, out: &mut Vec<Difference>) {
    match (r, e) {
        (Value::Object(rm), Value::Object(em)) => {
            for (k, rv) in rm {
                let here = join(at, k);
                match em.get(k) {
                    Some(ev) => diff(rv, ev, &here, Some(k), out),
                    None => out.push(Difference {
                        at: here,
                        real: short(rv),
                        emulator: "(missing)".into(),
                    }),
                }
            }
            for (k, ev) in em {
                if !rm.contains_key(k) {
                    out.push(Difference {
                        at: join(at, k),
                        real: "(missing)".into(),
                        emulator: short(ev),
                    });
                }
            }
        }
        (Value::Array(ra), Value::Array(ea)) if ra.len() == ea.len() => {
            for (i, (rv, ev)) in ra.iter().zip(ea).enumerate() {
                diff(rv, ev, &format!("{at}[{i}]"), None, out);
            }
        }
        (Value::Number(rn), Value::Number(en))
            if key.and_then(rule_for) == Some(Rule::Countdown) =>
        {
            let (a, b) = (rn.as_i64().unwrap_or(0), en.as_i64().unwrap_or(0));
            if (a - b).abs() > COUNTDOWN_SLACK {
                out.push(Difference {
                    at: at.to_owned(),
                    real: a.to_string(),
                    emulator: b.to_string(),
                });
            }
        }
        (r, e) if r == e => {}
        (r, e) => out.push(Difference {
            at: if at.is_empty() {
                "body".into()
            } else {
                at.to_owned()
            },
            real: short(r),
            emulator: short(e),
        }),
    }
}
