#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.
//! The differential suite: every request of `vault_differential/corpus.yaml` goes to a real
//! `vault server -dev` (the stack's build of the pinned `VAULT_VERSION`) and to the Vault
//! emulator, one after the other, and the two answers must be the same: status, content type,
//! and the JSON body member by member, after the normalisations `compare::NORMALISED` declares
//! (and a request's own `random` paths). A difference fails the suite unless
//! `vault_differential/known_differences.yaml` names it, and a named difference that no longer
//! occurs fails it too, so that list only ever shrinks.
//!
//! Needs the Vault binary: `just vault-diff` builds it (`stack/build.sh vault`, cached) and
//! runs this; `SECRETBENCH_VAULT_BIN` points it at another build.

#[path = "vault_differential/compare.rs"]
mod compare;
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use compare::{Answer, Difference, compare};
use secretbench::realvault::{self, DevServer, free_loopback_address};
use secretbench::stack::Stack;
use secretbench_emulators::{Options, start};
use serde::Deserialize;
use serde_json::Value;
use support::{REVIEWER_JWT, cluster_key, fake_api, http, loopback, sa_token};

/// One request of the corpus.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    name: String,
    method: String,
    /// After `/v1/`, with its query string; `${var}` expanded.
    path: String,
    /// `root` (the default), `none`, or `${var}`.
    #[serde(default = "root")]
    token: String,
    /// A JSON body (`${var}` expanded in its strings).
    #[serde(default)]
    body: Option<Value>,
    /// A body sent as is (malformed input).
    #[serde(default)]
    raw: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// The status real Vault answers: checks that the corpus exercises what it says.
    status: u16,
    /// Variables taken from each side's answer (dotted paths), for later requests on that side.
    #[serde(default)]
    capture: BTreeMap<String, String>,
    /// Dotted paths that are random for this request only (e.g. the keys of an accessor list).
    #[serde(default)]
    random: Vec<String>,
}

fn root() -> String {
    "root".into()
}

/// A difference the emulator still has, and who fixes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Known {
    request: String,
    /// The difference's `at` (`status`, `data.foo`); a trailing `*` matches a prefix.
    at: String,
    issue: u32,
    why: String,
}

impl Known {
    fn matches(&self, request: &str, d: &Difference) -> bool {
        self.request == request
            && match self.at.strip_suffix('*') {
                Some(prefix) => d.at.starts_with(prefix),
                None => d.at == self.at,
            }
    }
}

fn load<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vault_differential")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `${name}` from `side` or `shared`; an unknown name is a corpus error.
fn expand(
    text: &str,
    side: &BTreeMap<String, String>,
    shared: &BTreeMap<String, String>,
) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find('}')
            .unwrap_or_else(|| panic!("unclosed ${{ in {text}"))
            + i;
        let name = &rest[i + 2..end];
        let value = side
            .get(name)
            .or_else(|| shared.get(name))
            .unwrap_or_else(|| panic!("unknown variable ${{{name}}} in {text}"));
        out.push_str(value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn expand_value(
    v: &Value,
    side: &BTreeMap<String, String>,
    shared: &BTreeMap<String, String>,
) -> Value {
    match v {
        Value::String(s) => Value::String(expand(s, side, shared)),
        Value::Array(a) => Value::Array(a.iter().map(|x| expand_value(x, side, shared)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), expand_value(x, side, shared)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One server and the variables its answers gave.
struct Side {
    url: String,
    vars: BTreeMap<String, String>,
}

impl Side {
    async fn send(&mut self, r: &Request, shared: &BTreeMap<String, String>) -> Answer {
        let path = expand(&r.path, &self.vars, shared);
        let method = reqwest::Method::from_bytes(r.method.as_bytes()).unwrap();
        let mut req = http().request(method, format!("{}/v1/{path}", self.url));
        match r.token.as_str() {
            "none" => {}
            "root" => req = req.header("X-Vault-Token", realvault::ROOT_TOKEN),
            t => req = req.header("X-Vault-Token", expand(t, &self.vars, shared)),
        }
        for (k, v) in &r.headers {
            req = req.header(k, expand(v, &self.vars, shared));
        }
        if let Some(b) = &r.body {
            req = req
                .header("content-type", "application/json")
                .body(expand_value(b, &self.vars, shared).to_string());
        }
        if let Some(raw) = &r.raw {
            req = req.body(raw.clone());
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", r.name));
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = resp.text().await.unwrap_or_default();
        if !r.capture.is_empty() {
            let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            for (var, at) in &r.capture {
                let mut cur = &json;
                for part in at.split('.') {
                    cur = &cur[part];
                }
                // A side that gave nothing to capture already differs here; later requests
                // send this placeholder and show what followed from it.
                let value = cur.as_str().unwrap_or("<nothing captured>");
                self.vars.insert(var.clone(), value.to_owned());
            }
        }
        Answer {
            status,
            content_type,
            body,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real Vault binary (stack/build.sh vault): run `just vault-diff`"]
async fn the_emulator_answers_every_request_as_real_vault_does() {
    let stack = Stack::locate().unwrap();
    let binary = realvault::binary(&stack).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("vault.log");
    let server = DevServer::start(&binary, free_loopback_address().unwrap(), &log)
        .await
        .unwrap();
    let emulator = start(Options {
        vault: loopback(),
        ..Options::default()
    })
    .await
    .unwrap();
    let (kubernetes, reviews) = fake_api().await;

    let key = cluster_key(11);
    let mut shared = BTreeMap::new();
    shared.insert("kubernetes".to_owned(), kubernetes);
    shared.insert("reviewer_jwt".to_owned(), REVIEWER_JWT.to_owned());
    let jwt = |aud: &str, ns: &str, sa: &str| sa_token(&key, support::ISSUER, aud, ns, sa);
    shared.insert("jwt_app".to_owned(), jwt("vault", "apps", "app"));
    shared.insert("jwt_other_ns".to_owned(), jwt("vault", "other", "app"));
    shared.insert("jwt_other_sa".to_owned(), jwt("vault", "apps", "intruder"));
    shared.insert("jwt_other_aud".to_owned(), jwt("sts", "apps", "app"));
    // Signed by another key, so a token string of its own, which the API server refuses.
    let refused = sa_token(&cluster_key(12), support::ISSUER, "vault", "apps", "app");
    reviews.refuse(&refused);
    shared.insert("jwt_refused".to_owned(), refused);

    let corpus: Vec<Request> = load("corpus.yaml");
    let known: Vec<Known> = load("known_differences.yaml");
    let mut names = std::collections::BTreeSet::new();
    for r in &corpus {
        assert!(names.insert(&r.name), "duplicate request name {}", r.name);
    }

    let mut real = Side {
        url: server.url().to_owned(),
        vars: BTreeMap::new(),
    };
    let mut emu = Side {
        url: emulator.url("vault").unwrap().to_owned(),
        vars: BTreeMap::new(),
    };
    let mut corpus_errors = Vec::new();
    let mut unexplained = Vec::new();
    let mut explained: Vec<(String, Difference)> = Vec::new();
    let mut used = vec![false; known.len()];
    for r in &corpus {
        let a = real.send(r, &shared).await;
        let b = emu.send(r, &shared).await;
        if a.status != r.status {
            corpus_errors.push(format!(
                "{}: real Vault answered {} (the corpus says {}): {}",
                r.name, a.status, r.status, a.body
            ));
        }
        for d in compare(&a, &b, &r.random) {
            match known.iter().position(|k| k.matches(&r.name, &d)) {
                Some(i) => {
                    used[i] = true;
                    explained.push((r.name.clone(), d));
                }
                None => unexplained.push((r.name.clone(), d)),
            }
        }
    }
    server.stop().await;

    let mut report = format!("{} requests sent to both servers\n", corpus.len());
    for (name, d) in &explained {
        let k = known.iter().find(|k| k.matches(name, d)).unwrap();
        report.push_str(&format!(
            "  known (issue {}): {name} {}: real {} | emulator {}\n",
            k.issue, d.at, d.real, d.emulator
        ));
    }
    for (name, d) in &unexplained {
        report.push_str(&format!(
            "  DIFFERENT: {name} {}: real {} | emulator {}\n",
            d.at, d.real, d.emulator
        ));
    }
    let stale: Vec<&Known> = known
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(k, _)| k)
        .collect();
    for k in &stale {
        report.push_str(&format!(
            "  STALE known difference (no longer seen; remove it): {} {} (issue {}: {})\n",
            k.request, k.at, k.issue, k.why
        ));
    }
    for e in &corpus_errors {
        report.push_str(&format!("  CORPUS: {e}\n"));
    }
    eprintln!("{report}");
    assert!(
        unexplained.is_empty() && stale.is_empty() && corpus_errors.is_empty(),
        "{} unexplained differences, {} stale known differences, {} corpus errors:\n{report}",
        unexplained.len(),
        stale.len(),
        corpus_errors.len()
    );
}

// The comparison itself, without servers: what it ignores and what it must not.

fn answer(status: u16, body: &str) -> Answer {
    Answer {
        status,
        content_type: if body.is_empty() {
            String::new()
        } else {
            "application/json".into()
        },
        body: body.to_owned(),
    }
}

#[test]
fn random_and_time_members_compare_by_shape_only() {
    let real = answer(
        200,
        r#"{"request_id":"a","data":{"accessor":"x1","created_time":"2025-01-01T00:00:00Z","deletion_time":"","ttl":3600,"v":1}}"#,
    );
    let emu = answer(
        200,
        r#"{"request_id":"b","data":{"accessor":"y2","created_time":"2026-02-02T00:00:00Z","deletion_time":"","ttl":3598,"v":1}}"#,
    );
    assert_eq!(compare(&real, &emu, &[]), vec![]);
}

#[test]
fn everything_else_is_compared() {
    let real = answer(
        200,
        r#"{"data":{"deletion_time":"","ttl":3600,"v":1,"only_real":true,"list":[1,2]}}"#,
    );
    let emu = answer(
        200,
        r#"{"data":{"deletion_time":"2026-01-01T00:00:00Z","ttl":3000,"v":2,"only_emu":null,"list":[2,1]}}"#,
    );
    let at: Vec<String> = compare(&real, &emu, &[])
        .into_iter()
        .map(|d| d.at)
        .collect();
    assert_eq!(
        at,
        [
            "data.deletion_time",
            "data.list[0]",
            "data.list[1]",
            "data.only_real",
            "data.ttl",
            "data.v",
            "data.only_emu"
        ]
    );
    let d = compare(&answer(204, ""), &answer(200, r#"{"a":1}"#), &[]);
    assert_eq!(d[0].at, "status");
    assert_eq!(d[1].at, "body");
}

#[test]
fn a_request_may_declare_its_own_random_paths() {
    let real = answer(200, r#"{"data":{"keys":["k1","k2"]}}"#);
    let emu = answer(200, r#"{"data":{"keys":["k3","k4"]}}"#);
    assert_eq!(compare(&real, &emu, &[]).len(), 2);
    assert_eq!(compare(&real, &emu, &["data.keys".into()]), vec![]);
    // The number of random keys still counts.
    let three = answer(200, r#"{"data":{"keys":["k3","k4","k5"]}}"#);
    assert_eq!(compare(&real, &three, &["data.keys".into()]).len(), 1);
}

#[test]
fn known_differences_match_exactly_or_by_prefix() {
    let d = Difference {
        at: "data.secret/.options".into(),
        real: "1".into(),
        emulator: "2".into(),
    };
    let k = |at: &str| Known {
        request: "r".into(),
        at: at.into(),
        issue: 15,
        why: String::new(),
    };
    assert!(k("data.secret/.options").matches("r", &d));
    assert!(k("data.secret/*").matches("r", &d));
    assert!(!k("data.secret/").matches("r", &d));
    assert!(!k("data.secret/.options").matches("other", &d));
}

/// A PEM certificate for `cn`, its own CA, with a fresh key and `serial_len` serial bytes
/// (`fill` repeated).
fn certificate(cn: &str, serial_len: usize, fill: u8, lifetime_secs: i64) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&vec![fill; serial_len]));
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now;
    params.not_after = now + time::Duration::seconds(lifetime_secs);
    params.self_signed(&key).unwrap().pem()
}

fn with_cert(pem: &str, serial: &str) -> Answer {
    answer(
        200,
        &serde_json::json!({
            "data": { "certificate": pem, "ca_chain": [pem], "serial_number": serial,
                      "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----" }
        })
        .to_string(),
    )
}

const SERIAL_20: &str = "3a:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13";
const SERIAL_20_B: &str = "7f:ff:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13";
const SERIAL_16: &str = "3a:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f";

#[test]
fn certificates_compare_by_what_they_say_not_by_their_random_bytes() {
    let a = with_cert(&certificate("test.example.com", 20, 0x5a, 86400), SERIAL_20);
    let b = with_cert(
        &certificate("test.example.com", 20, 0x6b, 86400),
        SERIAL_20_B,
    );
    assert_ne!(a.body, b.body, "two keys, two serials");
    assert_eq!(compare(&a, &b, &[]), vec![]);
}

#[test]
fn what_a_certificate_says_is_compared() {
    let a = with_cert(&certificate("test.example.com", 20, 0x5a, 86400), SERIAL_20);
    let other_name = with_cert(&certificate("www.example.com", 20, 0x5a, 86400), SERIAL_20);
    let at: Vec<String> = compare(&a, &other_name, &[])
        .into_iter()
        .map(|d| d.at)
        .collect();
    for member in ["subject", "issuer", "dns_names[0]"] {
        assert!(at.contains(&format!("data.certificate.{member}")), "{at:?}");
        assert!(at.contains(&format!("data.ca_chain[0].{member}")), "{at:?}");
    }
    // A lifetime off by more than the slack (a wrong default ttl, a backdating of 60s not 30s).
    let longer = with_cert(
        &certificate("test.example.com", 20, 0x5a, 86400 + 30),
        SERIAL_20,
    );
    let at: Vec<String> = compare(&a, &longer, &[])
        .into_iter()
        .map(|d| d.at)
        .collect();
    assert!(
        at.contains(&"data.certificate.lifetime".to_owned()),
        "{at:?}"
    );
    // Serials: 16 bytes are not Vault's 159 bits, in the answer and in the certificate.
    let short = with_cert(&certificate("test.example.com", 16, 0x5a, 86400), SERIAL_16);
    let at: Vec<String> = compare(&a, &short, &[]).into_iter().map(|d| d.at).collect();
    assert!(at.contains(&"data.serial_number".to_owned()), "{at:?}");
    assert!(at.contains(&"data.certificate.serial".to_owned()), "{at:?}");
}

#[test]
fn private_keys_compare_by_their_encoding() {
    let pkcs1 = answer(
        200,
        r#"{"k":"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----"}"#,
    );
    let pkcs1_b = answer(
        200,
        r#"{"k":"-----BEGIN RSA PRIVATE KEY-----\nBBBB\n-----END RSA PRIVATE KEY-----"}"#,
    );
    let pkcs8 = answer(
        200,
        r#"{"k":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}"#,
    );
    assert_eq!(compare(&pkcs1, &pkcs1_b, &[]), vec![]);
    assert_eq!(compare(&pkcs1, &pkcs8, &[])[0].at, "k");
}

#[test]
fn instants_compare_within_the_slack_and_ids_by_shape() {
    let id = |n: usize| vec!["ab"; n].join(":");
    let a = answer(
        200,
        &serde_json::json!({"expiration": 1_800_000_000, "issuer_id": "u1", "authority_key_id": id(20)})
            .to_string(),
    );
    let b = answer(
        200,
        &serde_json::json!({"expiration": 1_800_000_002, "issuer_id": "u2", "authority_key_id": id(20).replace("ab", "cd")})
            .to_string(),
    );
    assert_eq!(compare(&a, &b, &[]), vec![]);
    let late = answer(
        200,
        &serde_json::json!({"expiration": 1_800_000_060, "issuer_id": "", "authority_key_id": id(16)})
            .to_string(),
    );
    let at: Vec<String> = compare(&a, &late, &[]).into_iter().map(|d| d.at).collect();
    assert_eq!(at, ["authority_key_id", "expiration", "issuer_id"]);
}
