//! Bounded property tests of every front door: the AWS JSON protocol, the STS query protocol, the
//! Pod Identity agent, Key Vault and Vault each get a few hundred generated requests (methods,
//! paths, headers and bodies, with the services' real member names mixed with junk) and must
//! answer every one with a well-formed error or success in their own shape: never a 5xx, never a
//! dropped connection.
//!
//! The cases per front door are capped ([`CASES`], or `SECRETBENCH_FUZZ_CASES`) and the generator
//! is seeded ([`SEED`], or `SECRETBENCH_FUZZ_SEED`), so `just test` is repeatable and bounded in
//! time; set another seed to explore further.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.

mod azure_common;
mod common;
mod vault_support;

use base64::Engine;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{Value, json};
use std::time::Duration;

const CASES: u32 = 200;
const SEED: u64 = 0x5ec2_e7be_f022;

fn runner() -> TestRunner {
    let cases = std::env::var("SECRETBENCH_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(CASES);
    let seed = std::env::var("SECRETBENCH_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(
        Config {
            cases,
            max_shrink_iters: 256,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .expect("client")
}

/// Text as clients send it: printable, any Unicode, empty, long, very long.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        5 => uri_text(),
        1 => Just("x".repeat(70_000)),
    ]
}

/// Text that still fits in a URI (clients refuse URIs over 64 KiB before sending them).
fn uri_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[ -~]{0,16}",
        2 => "\\PC{0,8}",
        1 => Just(String::new()),
        1 => (1usize..4096).prop_map(|n| "a".repeat(n)),
    ]
}

fn json_value(names: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(member(names), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A member name: mostly one the service knows, sometimes junk.
fn member(names: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(names).prop_map(str::to_owned),
        1 => "[A-Za-z_]{1,12}",
    ]
}

/// A request body: a JSON object of (mostly) real members, any JSON, or bytes.
fn body(names: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::collection::btree_map(member(names), json_value(names), 0..8)
            .prop_map(|m| Value::Object(m.into_iter().collect()).to_string().into_bytes()),
        2 => json_value(names).prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => Just(Vec::new()),
    ]
}

/// A header value: ASCII, obs-text bytes, or long.
fn header_value() -> impl Strategy<Value = reqwest::header::HeaderValue> {
    prop_oneof![
        "[ -~]{0,24}".prop_map(|s| s.into_bytes()),
        prop::collection::vec(0x80u8..=0xff, 1..8),
        (1usize..8192).prop_map(|n| vec![b'h'; n]),
    ]
    .prop_filter_map("a valid header value", |b| {
        reqwest::header::HeaderValue::from_bytes(&b).ok()
    })
}

fn method() -> impl Strategy<Value = reqwest::Method> {
    prop_oneof![
        6 => prop::sample::select(vec![
            reqwest::Method::GET,
            reqwest::Method::POST,
            reqwest::Method::PUT,
            reqwest::Method::PATCH,
            reqwest::Method::DELETE,
            reqwest::Method::HEAD,
            reqwest::Method::OPTIONS,
        ]),
        1 => Just(reqwest::Method::from_bytes(b"LIST").expect("LIST")),
        1 => "[A-Z]{1,10}".prop_map(|m| reqwest::Method::from_bytes(m.as_bytes()).expect("token")),
    ]
}

/// A path segment: a word the service routes on, text, or encoded junk.
fn segment(words: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(words).prop_map(str::to_owned),
        2 => "[a-zA-Z0-9_-]{1,12}",
        1 => Just(String::new()),
        1 => "%[0-9A-F]{2}[a-z]{0,4}",
        1 => (1usize..3000).prop_map(|n| "s".repeat(n)),
    ]
}

struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

async fn send(request: reqwest::RequestBuilder) -> Result<Answer, TestCaseError> {
    let response = request
        .send()
        .await
        .map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response
        .bytes()
        .await
        .map_err(|e| TestCaseError::fail(format!("body cut off: {e}")))?
        .to_vec();
    Ok(Answer {
        status,
        content_type,
        body,
    })
}

fn not_5xx(a: &Answer) -> Result<(), TestCaseError> {
    prop_assert!(
        a.status < 500,
        "{} {}",
        a.status,
        String::from_utf8_lossy(&a.body)
    );
    Ok(())
}

fn json_of(a: &Answer) -> Result<Value, TestCaseError> {
    serde_json::from_slice(&a.body).map_err(|e| {
        TestCaseError::fail(format!(
            "not JSON ({e}): {} {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        ))
    })
}

const AWS_MEMBERS: &[&str] = &[
    "SecretId",
    "Name",
    "SecretString",
    "SecretBinary",
    "ClientRequestToken",
    "VersionId",
    "VersionStage",
    "VersionStages",
    "Filters",
    "Key",
    "Values",
    "MaxResults",
    "NextToken",
    "SecretIdList",
    "Tags",
    "TagKeys",
    "RotationRules",
    "AutomaticallyAfterDays",
    "ScheduleExpression",
    "Duration",
    "RecoveryWindowInDays",
    "ForceDeleteWithoutRecovery",
    "Names",
    "Path",
    "Value",
    "Type",
    "Overwrite",
    "Labels",
    "ParameterVersion",
    "ParameterFilters",
    "Option",
    "Tier",
    "WithDecryption",
    "Recursive",
    "PasswordLength",
    "ExcludeCharacters",
    "Description",
    "KmsKeyId",
    "AllowedPattern",
    "DataType",
    "Policies",
    "IncludeDeprecated",
    "SortOrder",
    "MoveToVersionId",
    "RemoveFromVersionId",
    "RotationLambdaARN",
    "RotateImmediately",
    "IncludePlannedDeletion",
];
const AWS_TARGETS: &[&str] = &[
    "secretsmanager.CreateSecret",
    "secretsmanager.GetSecretValue",
    "secretsmanager.BatchGetSecretValue",
    "secretsmanager.DescribeSecret",
    "secretsmanager.PutSecretValue",
    "secretsmanager.UpdateSecret",
    "secretsmanager.UpdateSecretVersionStage",
    "secretsmanager.RotateSecret",
    "secretsmanager.DeleteSecret",
    "secretsmanager.RestoreSecret",
    "secretsmanager.ListSecrets",
    "secretsmanager.ListSecretVersionIds",
    "secretsmanager.TagResource",
    "secretsmanager.UntagResource",
    "secretsmanager.GetRandomPassword",
    "AmazonSSM.PutParameter",
    "AmazonSSM.GetParameter",
    "AmazonSSM.GetParameters",
    "AmazonSSM.GetParametersByPath",
    "AmazonSSM.DeleteParameter",
    "AmazonSSM.DeleteParameters",
    "AmazonSSM.DescribeParameters",
    "AmazonSSM.GetParameterHistory",
    "AmazonSSM.LabelParameterVersion",
    "AmazonSSM.UnlabelParameterVersion",
];

#[test]
fn aws_json_protocol() {
    let rt = runtime();
    let env = rt.block_on(common::emulator());
    let http = client();
    let target = prop_oneof![
        6 => prop::sample::select(AWS_TARGETS).prop_map(reqwest::header::HeaderValue::from_static),
        1 => header_value(),
    ];
    let content_type = prop::sample::select(vec![
        "application/x-amz-json-1.1",
        "application/x-amz-json-1.1",
        "application/x-amz-json-1.0",
        "application/json",
    ]);
    let strategy = (target, content_type, body(AWS_MEMBERS), any::<bool>());
    runner()
        .run(&strategy, |(target, content_type, body, signed)| {
            rt.block_on(async {
                let mut req = http
                    .post(&env.url)
                    .header("content-type", content_type)
                    .header("x-amz-target", target)
                    .body(body);
                if signed {
                    req = req.header(
                        "authorization",
                        "AWS4-HMAC-SHA256 Credential=AKIAFUZZ/20250101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00",
                    );
                }
                let a = send(req).await?;
                not_5xx(&a)?;
                prop_assert_eq!(&a.content_type, "application/x-amz-json-1.1");
                let v = json_of(&a)?;
                prop_assert!(v.is_object());
                if a.status >= 400 {
                    prop_assert!(v["__type"].is_string(), "{}", v);
                }
                Ok(())
            })
        })
        .expect("every AWS JSON request gets a well-formed answer");
    rt.block_on(env.running.shutdown());
}

#[test]
fn sts_query_protocol() {
    let rt = runtime();
    let env = rt.block_on(common::emulator());
    let http = client();
    let action = prop_oneof![
        4 => prop::sample::select(vec![
            "GetCallerIdentity", "AssumeRoleWithWebIdentity", "AssumeRole", "GetSessionToken",
        ])
        .prop_map(str::to_owned),
        1 => uri_text(),
    ];
    let param = prop_oneof![
        prop::sample::select(vec![
            "Version",
            "RoleArn",
            "RoleSessionName",
            "WebIdentityToken",
            "DurationSeconds",
            "Policy",
            "ProviderId",
        ])
        .prop_map(str::to_owned),
        "[A-Za-z]{1,10}",
    ];
    let value = prop_oneof![
        uri_text(),
        Just("2011-06-15".to_owned()),
        Just("arn:aws:iam::123456789012:role/app".to_owned()),
        (-100_000i64..100_000).prop_map(|n| n.to_string()),
        jwt(),
    ];
    let strategy = (
        action,
        prop::collection::vec((param, value), 0..6),
        any::<bool>(),
    );
    runner()
        .run(&strategy, |(action, params, as_query)| {
            rt.block_on(async {
                let mut pairs = vec![("Action".to_owned(), action)];
                pairs.extend(params);
                let form = serde_urlencoded::to_string(&pairs).expect("form");
                // A URI over 64 KiB is refused by the client itself; such a form goes as a body.
                let req = if as_query && form.len() < 60_000 {
                    http.get(format!("{}/?{form}", env.url))
                } else {
                    http.post(&env.url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(form)
                };
                let a = send(req).await?;
                not_5xx(&a)?;
                let text = String::from_utf8_lossy(&a.body);
                if a.status >= 400 {
                    prop_assert!(text.starts_with("<ErrorResponse"), "{}", text);
                } else {
                    prop_assert!(text.starts_with('<'), "{}", text);
                }
                Ok(())
            })
        })
        .expect("every STS request gets a well-formed answer");
    rt.block_on(env.running.shutdown());
}

/// A JWT-shaped token: base64url JSON header and claims (real claim names, random values).
fn jwt() -> impl Strategy<Value = String> {
    const CLAIMS: &[&str] = &["aud", "sub", "iss", "exp", "iat", "nbf", "kubernetes.io"];
    (
        json_value(&["alg", "kid", "typ"]),
        prop::collection::btree_map(member(CLAIMS), json_value(CLAIMS), 0..6),
        uri_text(),
    )
        .prop_map(|(header, claims, signature)| {
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            format!(
                "{}.{}.{}",
                b64.encode(header.to_string()),
                b64.encode(Value::Object(claims.into_iter().collect()).to_string()),
                b64.encode(signature)
            )
        })
}

#[test]
fn pod_identity_agent() {
    let rt = runtime();
    let env = rt.block_on(common::emulator());
    let http = client();
    let authorization = prop_oneof![
        3 => jwt(),
        1 => jwt().prop_map(|t| format!("Bearer {t}")),
        1 => text(),
    ]
    .prop_filter_map("a valid header value", |t| {
        reqwest::header::HeaderValue::from_str(&t).ok()
    });
    let strategy = (method(), prop::option::of(authorization));
    runner()
        .run(&strategy, |(method, authorization)| {
            rt.block_on(async {
                let head = method == reqwest::Method::HEAD;
                let mut req = http.request(method, format!("{}/v1/credentials", env.url));
                if let Some(a) = authorization {
                    req = req.header("authorization", a);
                }
                let a = send(req).await?;
                not_5xx(&a)?;
                if !head {
                    let v = json_of(&a)?;
                    if a.status >= 400 {
                        prop_assert!(v["code"].is_string() && v["message"].is_string(), "{}", v);
                    }
                }
                Ok(())
            })
        })
        .expect("every credentials request gets a well-formed answer");
    rt.block_on(env.running.shutdown());
}

const KV_MEMBERS: &[&str] = &[
    "value",
    "contentType",
    "tags",
    "attributes",
    "enabled",
    "nbf",
    "exp",
    "kty",
    "key_size",
    "key_ops",
    "crv",
    "key",
    "n",
    "e",
    "x",
    "y",
    "d",
    "policy",
    "x509_props",
    "subject",
    "validity_months",
    "secret_props",
    "key_props",
    "issuer",
    "name",
    "pwd",
];

#[test]
fn key_vault() {
    let rt = runtime();
    let az = rt.block_on(azure_common::start_emulator());
    let token = rt.block_on(az.token());
    let http = az.http();
    let path = (
        prop::sample::select(vec![
            "secrets",
            "keys",
            "certificates",
            "deletedsecrets",
            "deletedkeys",
            "deletedcertificates",
            "Secrets",
            "nowhere",
        ]),
        prop::collection::vec(
            segment(&[
                "s", "k", "c", "versions", "recover", "backup", "restore", "create", "import",
                "policy", "pending", "sign", "latest", "contacts", "issuers",
            ]),
            0..5,
        ),
    )
        .prop_map(|(collection, rest)| {
            let mut p = format!("/{collection}");
            for s in rest {
                p.push('/');
                p.push_str(&s);
            }
            p
        });
    let api_version = prop_oneof![
        4 => prop::sample::select(vec!["7.4", "2025-07-01", "7.6"]).prop_map(str::to_owned),
        1 => uri_text(),
    ];
    let query = (
        api_version,
        prop::option::of(prop_oneof![
            (0u32..40).prop_map(|n| n.to_string()),
            uri_text()
        ]),
        prop::option::of(prop_oneof![
            (0u32..40).prop_map(|n| n.to_string()),
            uri_text()
        ]),
    );
    let strategy = (method(), path, query, body(KV_MEMBERS), any::<bool>());
    runner()
        .run(
            &strategy,
            |(method, path, (api, max, skip), body, authorized)| {
                rt.block_on(async {
                    let head = method == reqwest::Method::HEAD;
                    let mut pairs = vec![("api-version", api)];
                    if let Some(m) = max {
                        pairs.push(("maxresults", m));
                    }
                    if let Some(s) = skip {
                        pairs.push(("$skiptoken", s));
                    }
                    let query = serde_urlencoded::to_string(&pairs).expect("query");
                    let mut req = http
                        .request(method, format!("{}{path}?{query}", az.vault_url()))
                        .header("content-type", "application/json")
                        .body(body);
                    if authorized {
                        req = req.bearer_auth(&token);
                    }
                    let a = send(req).await?;
                    not_5xx(&a)?;
                    if a.status >= 400 && !head {
                        let v = json_of(&a)?;
                        prop_assert!(
                            v["error"]["code"].is_string() && v["error"]["message"].is_string(),
                            "{}",
                            v
                        );
                    }
                    Ok(())
                })
            },
        )
        .expect("every Key Vault request gets a well-formed answer");
    rt.block_on(az.running.shutdown());
}

const VAULT_MEMBERS: &[&str] = &[
    "data",
    "options",
    "cas",
    "version",
    "versions",
    "max_versions",
    "cas_required",
    "delete_version_after",
    "custom_metadata",
    "policy",
    "policies",
    "ttl",
    "explicit_max_ttl",
    "increment",
    "renewable",
    "no_parent",
    "id",
    "meta",
    "display_name",
    "token",
    "type",
    "config",
    "default_lease_ttl",
    "max_lease_ttl",
    "role",
    "jwt",
    "kubernetes_host",
    "bound_service_account_names",
    "bound_service_account_namespaces",
    "token_ttl",
    "paths",
    "common_name",
    "allowed_domains",
    "allow_subdomains",
    "max_ttl",
    "lease_id",
];

#[test]
fn vault() {
    let rt = runtime();
    let v = rt.block_on(vault_support::vault());
    let http = client();
    let path = prop::collection::vec(
        segment(&[
            "secret",
            "data",
            "metadata",
            "delete",
            "undelete",
            "destroy",
            "subkeys",
            "config",
            "sys",
            "mounts",
            "auth",
            "policy",
            "policies",
            "acl",
            "health",
            "seal-status",
            "capabilities-self",
            "leases",
            "renew",
            "token",
            "create",
            "lookup-self",
            "renew-self",
            "revoke-self",
            "kubernetes",
            "login",
            "role",
            "pki",
            "issue",
            "database",
            "creds",
            "internal",
            "ui",
            "kv1",
            "app",
        ]),
        0..6,
    )
    .prop_map(|segments| format!("/v1/{}", segments.join("/")));
    let query = prop::option::of(prop_oneof![
        Just("list=true".to_owned()),
        (0u64..5).prop_map(|n| format!("version={n}")),
        uri_text().prop_map(|t| format!("version={}", urlencode(&t))),
    ]);
    let token = prop_oneof![
        4 => Just(Some(v.root.clone())),
        1 => Just(None),
        1 => text().prop_map(Some),
    ];
    let strategy = (method(), path, query, body(VAULT_MEMBERS), token);
    runner()
        .run(&strategy, |(method, path, query, body, token)| {
            rt.block_on(async {
                let head = method == reqwest::Method::HEAD;
                let url = match query {
                    Some(q) => format!("{}{path}?{q}", v.url),
                    None => format!("{}{path}", v.url),
                };
                let mut req = http.request(method, url).body(body);
                if let Some(t) = token.and_then(|t| reqwest::header::HeaderValue::from_str(&t).ok())
                {
                    req = req.header("x-vault-token", t);
                }
                let a = send(req).await?;
                not_5xx(&a)?;
                // An error is `{"errors": [...]}`, or the whole envelope with a warning (a
                // versioned K/V engine's 404 for a path outside data/ and metadata/).
                if a.status >= 400 && !head && !a.body.is_empty() {
                    let v = json_of(&a)?;
                    prop_assert!(
                        v["errors"].is_array() || v["request_id"].is_string(),
                        "{}",
                        v
                    );
                }
                Ok(())
            })
        })
        .expect("every Vault request gets a well-formed answer");
    rt.block_on(v.running.shutdown());
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)])
        .expect("encode")
        .trim_start_matches("v=")
        .to_owned()
}
