//! The pure parts of `capture` and `check`: the expectations of a check and how a value meets
//! them, and the Prometheus text format a `metric` source reads.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use regex_lite::Regex;
use x509_parser::extensions::GeneralName;
use x509_parser::parse_x509_certificate;
use x509_parser::pem::Pem;
use x509_parser::x509::X509Name;

use super::exec::Failure;
use crate::scenario::jsonpath::{self, JsonPath};
use crate::scenario::model as m;
use crate::wait::{Poll, holds, until_poll};

/// When a check looks at its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Polled until the expectations hold, at most this long.
    Within(Duration),
    /// The expectations must hold at every look for this long.
    For(Duration),
    /// One look.
    Once,
}

/// Runs a check: `read` looks at the value (or says why it cannot yet), every `every`, as
/// `timing` says, through the one wait mechanism ([`until_poll`], [`holds`]).
pub async fn run_check<F, Fut>(
    what: &str,
    timing: Timing,
    every: Duration,
    expect: &Expectations,
    mut read: F,
) -> Result<(), Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<String>, Failure>>,
{
    let look = || {
        let value = read();
        async move {
            Ok::<_, Failure>(match value.await? {
                Poll::Done(actual) => match expect.test(&actual) {
                    Ok(()) => Poll::Done(()),
                    Err(why) => Poll::NotYet(why),
                },
                Poll::NotYet(why) => Poll::NotYet(why),
            })
        }
    };
    match timing {
        Timing::Within(limit) => until_poll(what, limit, every, look).await,
        Timing::For(period) => holds(what, period, every, look).await,
        Timing::Once => {
            let mut look = look;
            match look().await? {
                Poll::Done(()) => Ok(()),
                Poll::NotYet(why) => Err(Failure::new(format!("{what}: {why}"))),
            }
        }
    }
}

/// A check's expectations, parsed (patterns compiled, numbers read).
#[derive(Debug)]
pub struct Expectations {
    equals: Option<String>,
    differs: Option<String>,
    matches: Option<(String, Regex)>,
    not_matches: Option<(String, Regex)>,
    numbers: Vec<(&'static str, f64)>,
    certificate: Option<CertificateCheck>,
}

/// The field `path` of `value` read as JSON, as text (a string as it is, anything else as
/// JSON); `Err` says why it cannot be had (not JSON, no such field).
pub fn json_field(value: &str, path: &JsonPath, path_text: &str) -> Result<String, String> {
    let doc: serde_json::Value = serde_json::from_str(value)
        .map_err(|e| format!("the value is not JSON ({e}), so it has no {path_text}"))?;
    path.select(&doc).map(jsonpath::text)
}

/// A `certificate` expectation, its `signedBy` certificate already decoded.
#[derive(Debug)]
struct CertificateCheck {
    want: m::CertificateExpect,
    /// The DER of `signedBy`.
    signer: Option<Vec<u8>>,
}

/// The DER of the first PEM certificate in `text`.
fn first_pem_certificate(text: &str) -> Result<Vec<u8>, String> {
    for pem in Pem::iter_from_buffer(text.as_bytes()) {
        let pem = pem.map_err(|e| format!("not PEM: {e}"))?;
        if pem.label == "CERTIFICATE" {
            return Ok(pem.contents);
        }
    }
    Err("no PEM certificate (-----BEGIN CERTIFICATE-----) in it".to_owned())
}

fn common_name(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
}

impl CertificateCheck {
    fn new(want: &m::CertificateExpect) -> Result<Self, String> {
        let signer = want
            .signed_by
            .as_deref()
            .map(|pem| {
                let der = first_pem_certificate(pem)
                    .map_err(|e| format!("certificate `signedBy`: {e}"))?;
                parse_x509_certificate(&der)
                    .map_err(|e| format!("certificate `signedBy` is not X.509: {e}"))?;
                Ok::<_, String>(der)
            })
            .transpose()?;
        Ok(Self {
            want: want.clone(),
            signer,
        })
    }

    fn describe(&self) -> String {
        let w = &self.want;
        let mut parts = Vec::new();
        if let Some(cn) = &w.common_name {
            parts.push(format!("CN={cn}"));
        }
        if let Some(cn) = &w.issuer_common_name {
            parts.push(format!("issuer CN={cn}"));
        }
        if !w.dns_names.is_empty() {
            parts.push(format!("DNS {}", w.dns_names.join(", ")));
        }
        match w.is_ca {
            Some(true) => parts.push("a CA".to_owned()),
            Some(false) => parts.push("not a CA".to_owned()),
            None => {}
        }
        if w.signed_by.is_some() {
            parts.push("signed by the given CA".to_owned());
        }
        if let Some(d) = w.max_lifetime {
            parts.push(format!(
                "valid at most {}",
                crate::scenario::duration::format_duration(d.0)
            ));
        }
        format!("a certificate ({})", parts.join(", "))
    }

    fn test(&self, actual: &str) -> Result<(), String> {
        let der = first_pem_certificate(actual).map_err(|e| format!("the value: {e}"))?;
        let (_, cert) = parse_x509_certificate(&der)
            .map_err(|e| format!("the value's certificate is not X.509: {e}"))?;
        let w = &self.want;
        let subject_cn = common_name(cert.subject());
        if let Some(want) = &w.common_name
            && subject_cn.as_deref() != Some(want.as_str())
        {
            return Err(format!(
                "its subject CN is {}, want {want:?}",
                subject_cn.map_or("missing".to_owned(), |c| format!("{c:?}"))
            ));
        }
        let issuer_cn = common_name(cert.issuer());
        if let Some(want) = &w.issuer_common_name
            && issuer_cn.as_deref() != Some(want.as_str())
        {
            return Err(format!(
                "its issuer CN is {}, want {want:?}",
                issuer_cn.map_or("missing".to_owned(), |c| format!("{c:?}"))
            ));
        }
        if !w.dns_names.is_empty() {
            let sans = cert
                .subject_alternative_name()
                .map_err(|e| format!("its subject alternative names do not parse: {e}"))?;
            let dns: Vec<&str> = sans
                .map(|ext| {
                    ext.value
                        .general_names
                        .iter()
                        .filter_map(|n| match n {
                            GeneralName::DNSName(d) => Some(*d),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            if let Some(missing) = w.dns_names.iter().find(|n| !dns.contains(&n.as_str())) {
                return Err(format!("its DNS names {dns:?} lack {missing:?}"));
            }
        }
        if let Some(want) = w.is_ca {
            let ca = cert
                .basic_constraints()
                .map_err(|e| format!("its basic constraints do not parse: {e}"))?
                .is_some_and(|bc| bc.value.ca);
            if ca != want {
                return Err(if ca {
                    "it is a CA certificate, want one that is not".to_owned()
                } else {
                    "it is not a CA certificate".to_owned()
                });
            }
        }
        if let Some(signer) = &self.signer {
            let (_, ca) = parse_x509_certificate(signer)
                .map_err(|e| format!("certificate `signedBy` is not X.509: {e}"))?;
            cert.verify_signature(Some(ca.public_key())).map_err(|e| {
                format!(
                    "its signature does not verify with the key of {} ({e})",
                    common_name(ca.subject())
                        .map_or("the given CA".to_owned(), |c| format!("CN={c}"))
                )
            })?;
        }
        if let Some(max) = w.max_lifetime {
            let v = cert.validity();
            let lifetime = v.not_after.timestamp() - v.not_before.timestamp();
            let max_secs = i64::try_from(max.0.as_secs()).unwrap_or(i64::MAX);
            if lifetime > max_secs {
                return Err(format!(
                    "it is valid for {}, want at most {}",
                    crate::scenario::duration::format_duration(std::time::Duration::from_secs(
                        lifetime.unsigned_abs()
                    )),
                    crate::scenario::duration::format_duration(max.0)
                ));
            }
        }
        Ok(())
    }
}

fn multiline(pattern: &str, field: &str) -> Result<(String, Regex), String> {
    Regex::new(&format!("(?m){pattern}"))
        .map(|re| (pattern.to_owned(), re))
        .map_err(|e| format!("check `{field}` is not a valid pattern: {e}"))
}

impl Expectations {
    /// Reads the expectations of a check whose variables are substituted.
    pub fn new(c: &m::Check) -> Result<Self, String> {
        let mut numbers = Vec::new();
        for (field, n) in [
            ("atLeast", &c.at_least),
            ("atMost", &c.at_most),
            ("greaterThan", &c.greater_than),
            ("lessThan", &c.less_than),
        ] {
            if let Some(n) = n {
                numbers.push((
                    field,
                    n.value().map_err(|e| format!("check `{field}`: {e}"))?,
                ));
            }
        }
        Ok(Self {
            equals: c.equals.clone(),
            differs: c.differs.clone(),
            matches: c
                .matches
                .as_deref()
                .map(|p| multiline(p, "matches"))
                .transpose()?,
            not_matches: c
                .not_matches
                .as_deref()
                .map(|p| multiline(p, "notMatches"))
                .transpose()?,
            numbers,
            certificate: c
                .certificate
                .as_ref()
                .map(CertificateCheck::new)
                .transpose()?,
        })
    }

    /// What the check expects, in words (for messages).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(e) = &self.equals {
            parts.push(format!("equals {}", short(e)));
        }
        if let Some(d) = &self.differs {
            parts.push(format!("differs from {}", short(d)));
        }
        if let Some((p, _)) = &self.matches {
            parts.push(format!("matches /{p}/"));
        }
        if let Some((p, _)) = &self.not_matches {
            parts.push(format!("does not match /{p}/"));
        }
        for (field, n) in &self.numbers {
            let op = match *field {
                "atLeast" => ">=",
                "atMost" => "<=",
                "greaterThan" => ">",
                _ => "<",
            };
            parts.push(format!("{op} {}", format_number(*n)));
        }
        if let Some(c) = &self.certificate {
            parts.push(c.describe());
        }
        parts.join(", ")
    }

    /// Whether `actual` meets every expectation; `Err` says the first that it does not.
    pub fn test(&self, actual: &str) -> Result<(), String> {
        if let Some(want) = &self.equals
            && actual != want
        {
            return Err(format!(
                "the value is {}, want {}",
                short(actual),
                short(want)
            ));
        }
        if let Some(old) = &self.differs
            && actual == old
        {
            return Err(format!("the value is still {}", short(actual)));
        }
        if let Some((p, re)) = &self.matches
            && !re.is_match(actual)
        {
            let lines = actual.lines().count();
            return Err(if lines > 1 {
                format!("none of its {lines} lines matches /{p}/")
            } else {
                format!("the value {} does not match /{p}/", short(actual))
            });
        }
        if let Some((p, re)) = &self.not_matches
            && let Some(hit) = re.find(actual)
        {
            let start = actual[..hit.start()].rfind('\n').map_or(0, |i| i + 1);
            let end = actual[hit.end()..]
                .find('\n')
                .map_or(actual.len(), |i| hit.end() + i);
            return Err(format!(
                "a line matches /{p}/: {}",
                short(&actual[start..end])
            ));
        }
        if !self.numbers.is_empty() {
            let n: f64 = actual
                .trim()
                .parse()
                .map_err(|_| format!("the value {} is not a number", short(actual)))?;
            for (field, want) in &self.numbers {
                let ok = match *field {
                    "atLeast" => n >= *want,
                    "atMost" => n <= *want,
                    "greaterThan" => n > *want,
                    _ => n < *want,
                };
                if !ok {
                    return Err(format!(
                        "the value is {}, want {field} {}",
                        format_number(n),
                        format_number(*want)
                    ));
                }
            }
        }
        if let Some(c) = &self.certificate {
            c.test(actual)?;
        }
        Ok(())
    }
}

/// A value quoted for a message, cut at 200 characters.
pub fn short(s: &str) -> String {
    const MAX: usize = 200;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut:?}... ({} characters)", s.chars().count())
    }
}

/// A number as a scenario writes it: `3`, not `3.0`.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// One sample of the Prometheus text exposition format.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses the Prometheus text format (comments and blank lines skipped, label values
/// unescaped, an optional timestamp ignored). `Err` names the first line it cannot read.
pub fn parse_metrics(text: &str) -> Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| format!("metrics line {}: {why}: {line}", i + 1);
        let name_end = line
            .find(|c: char| c == '{' || c.is_whitespace())
            .ok_or_else(|| bad("no value"))?;
        let name = &line[..name_end];
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(after) = rest.strip_prefix('{') {
            let mut chars = after.char_indices().peekable();
            let mut close = None;
            loop {
                while chars
                    .peek()
                    .is_some_and(|(_, c)| c.is_whitespace() || *c == ',')
                {
                    chars.next();
                }
                match chars.peek() {
                    Some((j, '}')) => {
                        close = Some(*j);
                        break;
                    }
                    None => break,
                    _ => {}
                }
                let mut key = String::new();
                while let Some((_, c)) = chars.peek() {
                    if *c == '=' {
                        break;
                    }
                    key.push(*c);
                    chars.next();
                }
                if chars.next().map(|(_, c)| c) != Some('=')
                    || chars.next().map(|(_, c)| c) != Some('"')
                {
                    return Err(bad("a label is not `name=\"value\"`"));
                }
                let mut value = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('n') => value.push('\n'),
                            Some(other) => value.push(other),
                            None => break,
                        },
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                if !closed {
                    return Err(bad("a label value has no closing quote"));
                }
                labels.insert(key.trim().to_owned(), value);
            }
            let close = close.ok_or_else(|| bad("`{` without `}`"))?;
            rest = &after[close + 1..];
        }
        let value = rest
            .split_whitespace()
            .next()
            .ok_or_else(|| bad("no value"))?;
        let value = match value {
            "+Inf" | "Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse::<f64>()
                .map_err(|_| bad(&format!("`{v}` is not a number")))?,
        };
        out.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    Ok(out)
}

/// The sum of the samples named `name` that carry every label of `labels`, or `Err` saying
/// what the endpoint has instead.
pub fn metric_value(
    samples: &[Sample],
    name: &str,
    labels: &BTreeMap<String, String>,
) -> Result<f64, String> {
    let named: Vec<&Sample> = samples.iter().filter(|s| s.name == name).collect();
    if named.is_empty() {
        let mut names: Vec<&str> = samples.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let close: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| {
                let stem = name.trim_start_matches("total_").trim_end_matches("_total");
                n.contains(stem)
            })
            .collect();
        return Err(if close.is_empty() {
            format!("no metric `{name}` ({} metrics)", names.len())
        } else {
            format!("no metric `{name}`; there is {}", close.join(", "))
        });
    }
    let hits: Vec<&&Sample> = named
        .iter()
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .collect();
    if hits.is_empty() {
        let seen: Vec<String> = named
            .iter()
            .take(5)
            .map(|s| {
                let l: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                format!("{{{}}}", l.join(","))
            })
            .collect();
        return Err(format!(
            "no `{name}` series has the labels {labels:?}; series: {}",
            seen.join(" ")
        ));
    }
    Ok(hits.iter().map(|s| s.value).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: impl FnOnce(&mut m::Check)) -> m::Check {
        let mut c: m::Check = serde_json::from_value(serde_json::json!({})).unwrap();
        f(&mut c);
        c
    }

    #[test]
    fn equals_and_differs_compare_text_exactly() {
        let e = Expectations::new(&check(|c| c.differs = Some("old".into()))).unwrap();
        assert!(e.test("new").is_ok());
        assert_eq!(e.test("old").unwrap_err(), "the value is still \"old\"");
        let e = Expectations::new(&check(|c| c.equals = Some("v1".into()))).unwrap();
        assert!(e.test("v1").is_ok());
        assert_eq!(
            e.test("v1\n").unwrap_err(),
            "the value is \"v1\\n\", want \"v1\""
        );
    }

    #[test]
    fn patterns_look_at_each_line() {
        let log = "I0101 mounted\nE0101 failed to clean and unmount target path /x\nI0101 done";
        let e = Expectations::new(&check(|c| {
            c.not_matches = Some("^E.*failed to clean and unmount target path.*$".into())
        }))
        .unwrap();
        assert_eq!(
            e.test(log).unwrap_err(),
            "a line matches /^E.*failed to clean and unmount target path.*$/: \"E0101 failed to clean and unmount target path /x\""
        );
        assert!(e.test("I0101 mounted\nI0101 done").is_ok());
        let e = Expectations::new(&check(|c| c.matches = Some("^I.*done$".into()))).unwrap();
        assert!(e.test(log).is_ok());
        assert_eq!(
            e.test("a\nb").unwrap_err(),
            "none of its 2 lines matches /^I.*done$/"
        );
        let bad = Expectations::new(&check(|c| c.matches = Some("(".into()))).unwrap_err();
        assert!(
            bad.starts_with("check `matches` is not a valid pattern"),
            "{bad}"
        );
    }

    #[test]
    fn numbers_compare_as_numbers_from_text_too() {
        let e = Expectations::new(&check(|c| {
            c.greater_than = Some(m::Number::Text("3".into()));
            c.at_most = Some(m::Number::Number(10.0));
        }))
        .unwrap();
        assert!(e.test("4").is_ok());
        assert!(e.test("10\n").is_ok());
        assert_eq!(
            e.test("3").unwrap_err(),
            "the value is 3, want greaterThan 3"
        );
        assert_eq!(e.test("11").unwrap_err(), "the value is 11, want atMost 10");
        assert_eq!(e.test("x").unwrap_err(), "the value \"x\" is not a number");
        assert_eq!(e.describe(), "<= 10, > 3");
        let bad = Expectations::new(&check(|c| {
            c.at_least = Some(m::Number::Text("${x}".into()))
        }))
        .unwrap_err();
        assert_eq!(bad, "check `atLeast`: `${x}` is not a number");
    }

    /// A fake source: the values it returns, one per look, the last repeated.
    fn source(seq: &[&str]) -> (std::sync::Arc<std::sync::Mutex<usize>>, Vec<String>) {
        (
            std::sync::Arc::new(std::sync::Mutex::new(0)),
            seq.iter().map(|s| (*s).to_owned()).collect(),
        )
    }

    async fn run(
        timing: Timing,
        expect: &Expectations,
        seq: &[&str],
    ) -> (Result<(), Failure>, usize) {
        let (looks, values) = source(seq);
        let result = run_check("file x", timing, Duration::from_millis(5), expect, || {
            let mut n = looks.lock().unwrap();
            let v = values[(*n).min(values.len() - 1)].clone();
            *n += 1;
            async move {
                Ok(if v == "-" {
                    Poll::NotYet("x does not exist".into())
                } else {
                    Poll::Done(v)
                })
            }
        })
        .await;
        let n = *looks.lock().unwrap();
        (result, n)
    }

    #[tokio::test]
    async fn for_fails_at_the_first_change_and_within_waits_for_it() {
        let same = Expectations::new(&check(|c| c.equals = Some("old".into()))).unwrap();
        // Held: the value never changes; the check looks several times over the period.
        let (r, looks) = run(Timing::For(Duration::from_millis(40)), &same, &["old"]).await;
        assert!(r.is_ok(), "{r:?}");
        assert!(looks >= 3, "{looks} looks");
        // Broken on the third look: fails at once, long before the 30s are over.
        let t0 = std::time::Instant::now();
        let (r, looks) = run(
            Timing::For(Duration::from_secs(30)),
            &same,
            &["old", "old", "new"],
        )
        .await;
        assert!(t0.elapsed() < Duration::from_secs(5));
        assert_eq!(looks, 3);
        let e = r.unwrap_err().to_string();
        assert!(e.starts_with("file x stopped holding after"), "{e}");
        assert!(
            e.ends_with("of 30s: the value is \"new\", want \"old\""),
            "{e}"
        );
        // A source that cannot be read breaks `for` too.
        let (r, _) = run(Timing::For(Duration::from_secs(30)), &same, &["old", "-"]).await;
        assert!(r.unwrap_err().to_string().ends_with("x does not exist"));
        // `within`: polled until the value differs from the captured one.
        let changed = Expectations::new(&check(|c| c.differs = Some("old".into()))).unwrap();
        let (r, looks) = run(
            Timing::Within(Duration::from_secs(5)),
            &changed,
            &["-", "old", "old", "new"],
        )
        .await;
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(looks, 4);
        let (r, _) = run(
            Timing::Within(Duration::from_millis(20)),
            &changed,
            &["old"],
        )
        .await;
        let e = r.unwrap_err().to_string();
        assert!(
            e.ends_with("waiting for file x; last seen: the value is still \"old\""),
            "{e}"
        );
        // Once: one look.
        let (r, looks) = run(Timing::Once, &changed, &["old", "new"]).await;
        assert_eq!(looks, 1);
        assert_eq!(
            r.unwrap_err().to_string(),
            "file x: the value is still \"old\""
        );
    }

    /// A CA and a leaf it signed for `cn` (with `cn` as a DNS name), valid for `hours`.
    fn ca_and_leaf(cn: &str, hours: i64) -> (String, String, String) {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name
            .push(DnType::CommonName, "example.com");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_pem = ca.clone().self_signed(&ca_key).unwrap().pem();
        let other_key = KeyPair::generate().unwrap();
        let other_pem = ca.clone().self_signed(&other_key).unwrap().pem();
        let issuer = Issuer::new(ca, ca_key);
        let mut leaf = CertificateParams::new(vec![cn.to_owned()]).unwrap();
        leaf.distinguished_name.push(DnType::CommonName, cn);
        let now = time::OffsetDateTime::now_utc();
        leaf.not_before = now - time::Duration::seconds(30);
        leaf.not_after = now + time::Duration::hours(hours);
        let leaf_pem = leaf
            .signed_by(&KeyPair::generate().unwrap(), &issuer)
            .unwrap()
            .pem();
        (ca_pem, leaf_pem, other_pem)
    }

    fn cert_check(want: serde_json::Value) -> Expectations {
        Expectations::new(&check(|c| {
            c.certificate = Some(serde_json::from_value(want).unwrap())
        }))
        .unwrap()
    }

    #[test]
    fn certificates_are_checked_by_name_issuer_signature_and_lifetime() {
        let (ca, leaf, other) = ca_and_leaf("test.example.com", 24);
        let e = cert_check(serde_json::json!({
            "commonName": "test.example.com", "issuerCommonName": "example.com",
            "dnsNames": ["test.example.com"], "isCa": false, "signedBy": ca, "maxLifetime": "24h1m",
        }));
        assert_eq!(e.test(&leaf), Ok(()));
        assert!(
            e.describe()
                .starts_with("a certificate (CN=test.example.com")
        );
        assert_eq!(
            cert_check(serde_json::json!({"commonName": "www.example.com"})).test(&leaf),
            Err("its subject CN is \"test.example.com\", want \"www.example.com\"".into())
        );
        assert_eq!(
            cert_check(serde_json::json!({"dnsNames": ["x.example.com"]})).test(&leaf),
            Err("its DNS names [\"test.example.com\"] lack \"x.example.com\"".into())
        );
        assert_eq!(
            cert_check(serde_json::json!({"isCa": true})).test(&leaf),
            Err("it is not a CA certificate".into())
        );
        assert_eq!(
            cert_check(serde_json::json!({"isCa": true})).test(&ca),
            Ok(())
        );
        // Another key under the same name: the signature tells them apart.
        let forged = cert_check(serde_json::json!({"signedBy": other})).test(&leaf);
        assert!(
            forged
                .as_ref()
                .is_err_and(|e| e
                    .starts_with("its signature does not verify with the key of CN=example.com")),
            "{forged:?}"
        );
        let (_, long, _) = ca_and_leaf("test.example.com", 720);
        assert_eq!(
            cert_check(serde_json::json!({"maxLifetime": "24h1m"})).test(&long),
            Err("it is valid for 720h30s, want at most 24h1m".into())
        );
        assert_eq!(
            cert_check(serde_json::json!({})).test("hello"),
            Err("the value: no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into())
        );
        let bad_signer = Expectations::new(&check(|c| {
            c.certificate = Some(m::CertificateExpect {
                signed_by: Some("nope".into()),
                ..m::CertificateExpect::default()
            })
        }))
        .unwrap_err();
        assert!(
            bad_signer.starts_with("certificate `signedBy`"),
            "{bad_signer}"
        );
    }

    #[test]
    fn json_fields_are_taken_from_the_value() {
        let doc = r#"{"data":{"certificate":"PEM","n":5,"m":{"a":1}},"warnings":null}"#;
        let at = |p: &str| json_field(doc, &JsonPath::parse(p).unwrap(), p);
        assert_eq!(at(".data.certificate"), Ok("PEM".into()));
        assert_eq!(at(".data.n"), Ok("5".into()));
        assert_eq!(at(".data.m"), Ok(r#"{"a":1}"#.into()));
        assert!(at(".data.missing").is_err());
        let not_json =
            json_field("plain", &JsonPath::parse(".data").unwrap(), ".data").unwrap_err();
        assert!(not_json.starts_with("the value is not JSON"), "{not_json}");
    }

    const METRICS: &str = r#"# HELP total_node_publish Total number of node publish calls
# TYPE total_node_publish counter
total_node_publish{os_type="linux",provider="azure",status="success"} 3
total_node_publish{os_type="linux",provider="aws",status="success"} 2
total_node_publish{os_type="linux",provider="azure",status="error",error_type="x\"y\\z"} 1 1700000000000
total_rotation_reconcile{os_type="linux",rotated="true"} 4.5
process_start_time_seconds 1.7e+09
go_gc_duration_seconds{quantile="1"} +Inf
"#;

    #[test]
    fn parses_the_prometheus_text_format() {
        let s = parse_metrics(METRICS).unwrap();
        assert_eq!(s.len(), 6);
        assert_eq!(s[2].labels["error_type"], "x\"y\\z");
        assert_eq!(s[2].value, 1.0);
        assert_eq!(s[4].name, "process_start_time_seconds");
        assert!(s[4].labels.is_empty());
        assert_eq!(s[4].value, 1.7e9);
        assert!(s[5].value.is_infinite());
        assert!(
            parse_metrics("x{a=\"1} 2")
                .unwrap_err()
                .contains("no closing quote")
        );
        assert!(
            parse_metrics("x{a=1} 2")
                .unwrap_err()
                .contains("not `name=\"value\"`")
        );
        assert!(
            parse_metrics("x abc")
                .unwrap_err()
                .contains("`abc` is not a number")
        );
    }

    #[test]
    fn metric_values_add_up_the_matching_series() {
        let s = parse_metrics(METRICS).unwrap();
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            metric_value(&s, "total_node_publish", &labels(&[])),
            Ok(6.0)
        );
        assert_eq!(
            metric_value(&s, "total_node_publish", &labels(&[("provider", "azure")])),
            Ok(4.0)
        );
        assert_eq!(
            metric_value(
                &s,
                "total_node_publish",
                &labels(&[("provider", "azure"), ("status", "success")])
            ),
            Ok(3.0)
        );
        let e =
            metric_value(&s, "total_node_publish", &labels(&[("provider", "vault")])).unwrap_err();
        assert!(
            e.starts_with("no `total_node_publish` series has the labels"),
            "{e}"
        );
        assert_eq!(
            metric_value(&s, "rotation_reconcile_total", &labels(&[])).unwrap_err(),
            "no metric `rotation_reconcile_total`; there is total_rotation_reconcile"
        );
        assert_eq!(format_number(4.5), "4.5");
        assert_eq!(format_number(6.0), "6");
    }
}
