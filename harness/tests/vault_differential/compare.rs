//! How two answers to the same request are compared: status, content type, then the JSON bodies
//! member by member, after the declared normalisations of what Vault makes random or
//! time-dependent. Everything else must be equal.
//!
//! Two normalisations go by value rather than by member name, because the same PEM text turns
//! up under many names (`certificate`, `issuing_ca`, `ca_chain[i]`, a whole `pki/ca/pem` body):
//! a PEM certificate is replaced by what it says ([`describe_certificate`]: names, key, lifetime,
//! extensions), which is everything but its random key, serial and signature; a PEM private key
//! by its block label (`RSA PRIVATE KEY`: the encoding), its size being the certificate's key's.

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
    /// A moment (Unix seconds) computed from "now" on each server, e.g. a certificate's end at
    /// now + ttl: equal within [`COUNTDOWN_SLACK`], so a wrong default ttl still shows.
    Instant,
    /// A certificate serial number as Vault writes it: colon-separated hex of a random number
    /// below 2^159 (`sdk/helper/certutil/helpers.go` generateSerialNumber, sdk v0.20.0 of Vault
    /// v1.21.1) without leading zero bytes (`GetHexFormatted` of `big.Int.Bytes`), so 20 bytes,
    /// 19 one time in 128 (18 one time in 32768). Such a serial is equal to any other; any
    /// other shape (another length, upper case, no colons) is compared as is.
    Serial,
    /// A key identifier: colon-separated hex of a SHA-1 (20 bytes) of a random key. Equal to
    /// any other of that shape; any other shape is compared as is.
    KeyId,
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
    ("issuer_id", Rule::Random, "a UUID for each PKI issuer"),
    ("key_id", Rule::Random, "a UUID for each PKI key"),
    (
        "expiration",
        Rule::Instant,
        "a PKI certificate's notAfter: now + ttl",
    ),
    ("serial_number", Rule::Serial, "PKI serials are random"),
    (
        "authority_key_id",
        Rule::KeyId,
        "the key id of the CA's random key",
    ),
    (
        "lifetime",
        Rule::Countdown,
        "a certificate's notAfter - notBefore (in a described certificate), from two readings of the clock",
    ),
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
        Value::String(s) => {
            if let Some(described) = describe_pem(s) {
                *v = described;
            }
        }
        Value::Object(members) => {
            for (k, member) in members.iter_mut() {
                let here = join(at, k);
                match rule_for(k) {
                    Some(Rule::Random) => *member = random_shape(member),
                    Some(Rule::Time) => *member = time_shape(member),
                    Some(Rule::Serial) => *member = hex_shape(member, 19..=20, "<serial>"),
                    Some(Rule::KeyId) => *member = hex_shape(member, 20..=20, "<key id>"),
                    Some(Rule::Countdown | Rule::Instant) | None => walk(member, &here),
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

/// `<shape>` for colon-separated lower-case hex of a byte count in `bytes`, else as is.
fn hex_shape(v: &Value, bytes: std::ops::RangeInclusive<usize>, shape: &str) -> Value {
    match v {
        Value::String(s)
            if bytes.contains(&s.split(':').count())
                && s.split(':').all(|b| {
                    b.len() == 2
                        && b.bytes()
                            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
                }) =>
        {
            Value::String(shape.into())
        }
        other => other.clone(),
    }
}

/// A PEM certificate or private key (the whole string, as Vault's answers carry them), as
/// what it says; `None` for any other string.
fn describe_pem(s: &str) -> Option<Value> {
    let text = s.trim();
    if text.starts_with("-----BEGIN CERTIFICATE-----") {
        return Some(describe_certificates(text));
    }
    let label = text.strip_prefix("-----BEGIN ")?.split_once("-----")?.0;
    label
        .ends_with("PRIVATE KEY")
        .then(|| Value::String(format!("<{label}>")))
}

/// Every certificate of a PEM text (one, or a chain), described.
fn describe_certificates(text: &str) -> Value {
    let mut out = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(text.as_bytes()) {
        let described = match &pem {
            Ok(pem) => match pem.parse_x509() {
                Ok(cert) => describe_certificate(&cert),
                Err(e) => Value::String(format!("<not a certificate: {e}>")),
            },
            Err(e) => Value::String(format!("<not PEM: {e}>")),
        };
        out.push(described);
    }
    match out.len() {
        1 => out.pop().unwrap_or(Value::Null),
        _ => Value::Array(out),
    }
}

/// What a certificate says, without its random parts (key, serial value, signature, times):
/// subject and issuer, the serial's length, the lifetime (notAfter - notBefore), the CA flag,
/// the key's algorithm and size, the signature algorithm, names, key usages and the
/// extensions present.
pub fn describe_certificate(cert: &x509_parser::certificate::X509Certificate<'_>) -> Value {
    use x509_parser::extensions::GeneralName;
    use x509_parser::public_key::PublicKey;
    let v = cert.validity();
    let serial: Vec<u8> = cert
        .raw_serial()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    let serial = hex_shape(
        &Value::String(
            serial
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
        ),
        19..=20,
        "<serial>",
    );
    let spki = cert.public_key();
    let key = match spki.parsed() {
        Ok(PublicKey::RSA(k)) => format!("RSA {}", k.key_size()),
        Ok(PublicKey::EC(k)) => format!(
            "EC {} {}",
            k.key_size(),
            spki.algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.clone().oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default()
        ),
        Ok(_) => format!("{}", spki.algorithm.algorithm),
        Err(e) => format!("<unparsed key: {e}>"),
    };
    let (mut dns, mut ips, mut other_names) = (Vec::new(), Vec::new(), Vec::new());
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns.push(Value::String((*d).to_owned())),
                GeneralName::IPAddress(ip) => ips.push(Value::String(match ip.len() {
                    4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*ip).unwrap()).to_string(),
                    16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*ip).unwrap()).to_string(),
                    _ => format!("{ip:?}"),
                })),
                other => other_names.push(Value::String(other.to_string())),
            }
        }
    }
    let key_usage = match cert.key_usage() {
        Ok(Some(ku)) => Value::String(ku.value.to_string()),
        _ => Value::Null,
    };
    let ext_key_usage = match cert.extended_key_usage() {
        Ok(Some(eku)) => {
            let e = eku.value;
            let mut names: Vec<Value> = [
                (e.any, "any"),
                (e.server_auth, "serverAuth"),
                (e.client_auth, "clientAuth"),
                (e.code_signing, "codeSigning"),
                (e.email_protection, "emailProtection"),
                (e.time_stamping, "timeStamping"),
                (e.ocsp_signing, "ocspSigning"),
            ]
            .into_iter()
            .filter(|(set, _)| *set)
            .map(|(_, n)| Value::String(n.into()))
            .collect();
            names.extend(e.other.iter().map(|o| Value::String(o.to_id_string())));
            Value::Array(names)
        }
        _ => Value::Null,
    };
    let path_len = match cert.basic_constraints() {
        Ok(Some(bc)) => serde_json::json!(bc.value.path_len_constraint),
        _ => Value::Null,
    };
    // In the order of their OIDs: the order of a certificate's extensions means nothing
    // (RFC 5280 4.2), and Go's x509 and rcgen write them in orders of their own.
    let mut extensions: Vec<(String, bool)> = cert
        .extensions()
        .iter()
        .map(|e| (e.oid.to_id_string(), e.critical))
        .collect();
    extensions.sort();
    let extensions: Vec<Value> = extensions
        .into_iter()
        .map(|(oid, critical)| {
            Value::String(format!("{oid}{}", if critical { " critical" } else { "" }))
        })
        .collect();
    serde_json::json!({
        "subject": cert.subject().to_string(),
        "issuer": cert.issuer().to_string(),
        "version": cert.version().0,
        "serial": serial,
        "lifetime": v.not_after.timestamp() - v.not_before.timestamp(),
        "is_ca": cert.is_ca(),
        "path_len": path_len,
        "key": key,
        "signature": cert.signature_algorithm.algorithm.to_id_string(),
        "dns_names": dns,
        "ip_addresses": ips,
        "other_names": other_names,
        "key_usage": key_usage,
        "ext_key_usage": ext_key_usage,
        "extensions": extensions,
    })
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
            if matches!(
                key.and_then(rule_for),
                Some(Rule::Countdown | Rule::Instant)
            ) =>
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
