//! The AWS front door: bad input gets AWS's error shapes, faults and the journal work through the
//! admin API, and strict modes refuse what AWS would refuse.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use serde_json::json;

#[tokio::test]
async fn malformed_json_is_a_serialization_exception() {
    let env = common::emulator().await;
    let r = env
        .raw_json("secretsmanager.GetSecretValue", "{\"SecretId\": ")
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type(), "SerializationException");
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/x-amz-json-1.1")
    );
    assert!(r.headers.contains_key("x-amzn-requestid"));
    let not_object = env.raw_json("secretsmanager.GetSecretValue", "[1,2]").await;
    assert_eq!(not_object.error_type(), "SerializationException");
    let wrong_type = env
        .raw_json("secretsmanager.GetSecretValue", r#"{"SecretId": 5}"#)
        .await;
    assert_eq!(wrong_type.error_type(), "SerializationException");
}

#[tokio::test]
async fn missing_required_members_are_validation_errors() {
    let env = common::emulator().await;
    let r = env.raw_json("secretsmanager.GetSecretValue", "{}").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type(), "ValidationException");
    assert_eq!(
        r.json()["Message"],
        "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"
    );
}

#[tokio::test]
async fn unknown_targets_and_paths() {
    let env = common::emulator().await;
    let op = env.raw_json("secretsmanager.StealSecret", "{}").await;
    assert_eq!(
        (op.status, op.error_type().as_str()),
        (400, "UnknownOperationException")
    );
    let service = env.raw_json("DynamoDB_20120810.ListTables", "{}").await;
    assert_eq!(
        (service.status, service.error_type().as_str()),
        (400, "UnknownOperationException")
    );
    let path = reqwest::get(format!("{}/nowhere", env.url))
        .await
        .expect("request");
    assert_eq!(path.status().as_u16(), 404);
}

#[tokio::test]
async fn wrong_content_type_is_refused() {
    let env = common::emulator().await;
    let response = reqwest::Client::new()
        .post(&env.url)
        .header("content-type", "text/plain")
        .header("x-amz-target", "secretsmanager.ListSecrets")
        .body("{}")
        .send()
        .await
        .expect("request");
    let r = common::RawResponse::from(response).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_type(), "UnknownOperationException");
}

#[tokio::test]
async fn oversized_bodies_are_refused_and_the_server_keeps_serving() {
    let env = common::emulator().await;
    let body = format!(
        r#"{{"Name":"big","SecretString":"{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let r = env.raw_json("secretsmanager.CreateSecret", &body).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error_type(), "RequestEntityTooLargeException");
    let ok = env.raw_json("secretsmanager.ListSecrets", "{}").await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["SecretList"], json!([]));
}

#[tokio::test]
async fn invalid_names_get_aws_validation_errors() {
    let env = common::emulator().await;
    for name in ["has space", "semi;colon", ""] {
        let r = env
            .raw_json(
                "secretsmanager.CreateSecret",
                &json!({"Name": name, "SecretString": "v"}).to_string(),
            )
            .await;
        assert_eq!(r.error_type(), "ValidationException", "name {name:?}");
    }
    let long = "n".repeat(513);
    let r = env
        .raw_json(
            "secretsmanager.CreateSecret",
            &json!({"Name": long, "SecretString": "v"}).to_string(),
        )
        .await;
    assert_eq!(r.error_type(), "ValidationException");
}

async fn admin(
    env: &common::Env,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> common::RawResponse {
    let mut req = env.admin_request(method, path);
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    common::RawResponse::from(req.send().await.expect("admin request")).await
}

#[tokio::test]
async fn injected_faults_use_the_service_error_shape_and_respect_region_and_count() {
    let env = common::emulator().await;
    let east = env.secretsmanager("us-east-1").await;
    let west = env.secretsmanager("us-west-2").await;
    for c in [&east, &west] {
        c.create_secret()
            .name("f")
            .secret_string("v")
            .send()
            .await
            .expect("create");
    }
    let rule = admin(
        &env,
        reqwest::Method::POST,
        "/faults",
        Some(json!({
            "service": "secretsmanager", "operation": "GetSecretValue", "region": "us-east-1",
            "error": {"code": "InternalServiceError", "status": 500, "message": "injected"},
            "firstN": 2
        })),
    )
    .await;
    assert_eq!(rule.status, 201);
    for _ in 0..2 {
        let err = east
            .get_secret_value()
            .secret_id("f")
            .send()
            .await
            .expect_err("injected");
        let err = err.into_service_error();
        assert_eq!(err.code(), Some("InternalServiceError"));
        assert_eq!(err.message(), Some("injected"));
    }
    west.get_secret_value()
        .secret_id("f")
        .send()
        .await
        .expect("other region unaffected");
    east.get_secret_value()
        .secret_id("f")
        .send()
        .await
        .expect("rule exhausted");

    let listed = admin(&env, reqwest::Method::GET, "/faults", None)
        .await
        .json();
    assert_eq!(listed["rules"][0]["hits"], 2);
    let bad = admin(
        &env,
        reqwest::Method::POST,
        "/faults",
        Some(json!({"service": "secretsmanager"})),
    )
    .await;
    assert_eq!(bad.status, 400);
    let unknown_field = admin(
        &env,
        reqwest::Method::POST,
        "/faults",
        Some(json!({"service": "x", "latencyMs": 1, "typo": 1})),
    )
    .await;
    assert_eq!(unknown_field.status, 400);
}

#[tokio::test]
async fn the_journal_records_operation_region_identity_and_status() {
    let env = common::emulator().await;
    let sm = env.secretsmanager("eu-west-1").await;
    sm.create_secret()
        .name("j")
        .secret_string("v")
        .send()
        .await
        .expect("create");
    let _ = sm.get_secret_value().secret_id("missing").send().await;
    let journal = admin(
        &env,
        reqwest::Method::GET,
        "/journal?service=secretsmanager",
        None,
    )
    .await
    .json();
    let entries = journal["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["operation"], "CreateSecret");
    assert_eq!(entries[0]["region"], "eu-west-1");
    assert_eq!(entries[0]["keys"]["name"], "j");
    assert_eq!(entries[0]["status"], 200);
    assert_eq!(entries[0]["identity"], "arn:aws:iam::123456789012:root");
    assert_eq!(entries[1]["operation"], "GetSecretValue");
    assert_eq!(entries[1]["status"], 400);
    assert_eq!(entries[1]["error"], "ResourceNotFoundException");
    let since = entries[0]["seq"].as_u64().expect("seq");
    let later = admin(
        &env,
        reqwest::Method::GET,
        &format!("/journal?since={since}"),
        None,
    )
    .await
    .json();
    assert_eq!(later["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        admin(&env, reqwest::Method::DELETE, "/journal", None)
            .await
            .status,
        204
    );
    let empty = admin(&env, reqwest::Method::GET, "/journal", None)
        .await
        .json();
    assert_eq!(empty["entries"], json!([]));
}

#[tokio::test]
async fn strict_authorization_denies_what_the_policy_does_not_allow() {
    let env = common::emulator().await;
    env.seed(
        r#"
aws:
  authorization: strict
  users:
    - accessKeyId: AKIAREADER0000000001
      secretAccessKey: reader-secret
      policy:
        - actions: ["secretsmanager:GetSecretValue", "secretsmanager:CreateSecret"]
          resources: ["arn:aws:secretsmanager:*:*:secret:allowed*"]
"#,
    )
    .await;
    let creds = aws_credential_types::Credentials::new(
        "AKIAREADER0000000001",
        "reader-secret",
        None,
        None,
        "test",
    );
    let sm = aws_sdk_secretsmanager::Client::new(
        &common::sdk_config(&env.url, "us-east-1", creds).await,
    );
    sm.create_secret()
        .name("allowed-1")
        .secret_string("v")
        .send()
        .await
        .expect("allowed");
    sm.get_secret_value()
        .secret_id("allowed-1")
        .send()
        .await
        .expect("allowed");
    let denied = sm
        .describe_secret()
        .secret_id("allowed-1")
        .send()
        .await
        .expect_err("not in policy");
    let denied = denied.into_service_error();
    assert_eq!(denied.code(), Some("AccessDeniedException"));
    assert!(
        denied
            .message()
            .unwrap_or_default()
            .contains("is not authorized to perform: secretsmanager:DescribeSecret")
    );

    let stranger = env.secretsmanager("us-east-1").await;
    let err = stranger
        .list_secrets()
        .send()
        .await
        .expect_err("unknown key");
    assert_eq!(
        err.into_service_error().code(),
        Some("UnrecognizedClientException")
    );
}

#[tokio::test]
async fn strict_signatures_are_recomputed() {
    let env = common::emulator().await;
    let good = strict_signer(&env).await;
    let bad = aws_credential_types::Credentials::new(
        "AKIASIGNER000000001",
        "wrong-secret",
        None,
        None,
        "test",
    );
    let ok =
        aws_sdk_secretsmanager::Client::new(&common::sdk_config(&env.url, "us-east-1", good).await);
    ok.create_secret()
        .name("signed")
        .secret_string("v")
        .send()
        .await
        .expect("valid signature");
    let forged =
        aws_sdk_secretsmanager::Client::new(&common::sdk_config(&env.url, "us-east-1", bad).await);
    let err = forged
        .get_secret_value()
        .secret_id("signed")
        .send()
        .await
        .expect_err("bad signature");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidSignatureException")
    );
    let unsigned = env.raw_json("secretsmanager.ListSecrets", "{}").await;
    assert_eq!(unsigned.error_type(), "MissingAuthenticationTokenException");
}

#[tokio::test]
async fn admin_seed_reset_state_and_clock() {
    let env = common::emulator().await;
    let bad = admin(&env, reqwest::Method::POST, "/seed", None).await;
    assert_eq!(bad.status, 200, "an empty seed is valid");
    let unknown = env
        .admin_request(reqwest::Method::POST, "/seed")
        .body("aws:\n  secrets:\n    - name: x\n      secretStrin: typo\n")
        .send()
        .await
        .expect("seed");
    assert_eq!(
        unknown.status().as_u16(),
        400,
        "a typo in a seed must not pass silently"
    );
    env.seed("aws:\n  secrets:\n    - name: s\n      secretString: v\n")
        .await;
    let state = admin(&env, reqwest::Method::GET, "/state", None)
        .await
        .json();
    assert!(state["aws"]["regions"]["us-east-1"]["secrets"]["secrets"]["s"].is_object());
    assert_eq!(
        admin(&env, reqwest::Method::POST, "/reset", None)
            .await
            .status,
        204
    );
    let state = admin(&env, reqwest::Method::GET, "/state", None)
        .await
        .json();
    assert_eq!(state["aws"]["regions"], json!({}));

    let clock = admin(
        &env,
        reqwest::Method::POST,
        "/clock",
        Some(json!({"advanceSeconds": 3600})),
    )
    .await;
    assert_eq!(clock.status, 200);
    let backwards = admin(
        &env,
        reqwest::Method::POST,
        "/clock",
        Some(json!({"set": "2000-01-01T00:00:00Z"})),
    )
    .await;
    assert_eq!(backwards.status, 400);
    assert_eq!(
        admin(&env, reqwest::Method::GET, "/nope", None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn deterministic_mode_repeats_ids_and_times() {
    async fn run() -> (String, String, f64) {
        let env = common::emulator_with(secretbench_emulators::Options {
            deterministic: true,
            ..secretbench_emulators::Options::ephemeral()
        })
        .await;
        let sm = env.secretsmanager("us-east-1").await;
        let out = sm
            .create_secret()
            .name("det")
            .client_request_token("00000000-0000-0000-0000-000000000001")
            .secret_string("v")
            .send()
            .await
            .expect("create");
        let got = sm
            .get_secret_value()
            .secret_id("det")
            .send()
            .await
            .expect("get");
        let r = env.raw_json("secretsmanager.ListSecrets", "{}").await;
        let created = got
            .created_date()
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        let rid = r
            .headers
            .get("x-amzn-requestid")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        env.running.shutdown().await;
        (out.arn().unwrap_or_default().to_owned(), rid, created)
    }
    let (a, b) = (run().await, run().await);
    assert_eq!(a, b);
    assert_eq!(a.1, "00000000-0000-4000-8000-000000000003");
    assert!(
        a.2 < 1_735_776_000.0,
        "the deterministic clock starts on 2025-01-01"
    );
}

#[tokio::test]
async fn a_non_ascii_target_is_a_json_unknown_operation_not_sts() {
    let env = common::emulator().await;
    let response = reqwest::Client::new()
        .post(&env.url)
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            reqwest::header::HeaderValue::from_bytes("secretsmanager.Gét".as_bytes())
                .expect("obs-text is a valid header value"),
        )
        .body("{}")
        .send()
        .await
        .expect("request");
    let r = common::RawResponse::from(response).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type(), "UnknownOperationException");
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/x-amz-json-1.1")
    );
}

#[tokio::test]
async fn json_1_0_is_not_spoken_by_json_1_1_services() {
    let env = common::emulator().await;
    for content_type in ["application/x-amz-json-1.0", "application/x-amz-json-1.2"] {
        let response = reqwest::Client::new()
            .post(&env.url)
            .header("content-type", content_type)
            .header("x-amz-target", "secretsmanager.ListSecrets")
            .body("{}")
            .send()
            .await
            .expect("request");
        let r = common::RawResponse::from(response).await;
        assert_eq!(r.status, 404, "{content_type}");
        assert_eq!(
            r.error_type(),
            "UnknownOperationException",
            "{content_type}"
        );
    }
    let charset = reqwest::Client::new()
        .post(&env.url)
        .header("content-type", "application/x-amz-json-1.1; charset=utf-8")
        .header("x-amz-target", "secretsmanager.ListSecrets")
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(charset.status().as_u16(), 200, "parameters are allowed");
}

#[tokio::test]
async fn the_pod_identity_agent_answers_any_method_with_its_error_body() {
    let env = common::emulator().await;
    for method in [reqwest::Method::POST, reqwest::Method::PUT] {
        let response = reqwest::Client::new()
            .request(method.clone(), format!("{}/v1/credentials", env.url))
            .send()
            .await
            .expect("request");
        let r = common::RawResponse::from(response).await;
        assert_eq!(r.status, 400, "{method}");
        let body = r.json();
        assert_eq!(body["code"], "InvalidTokenException", "{method}");
        assert_eq!(body["message"], "Service account token cannot be empty");
    }
}

/// A time source stuck at one instant, as a client with a wrong clock has.
#[derive(Debug)]
struct FixedTime(std::time::SystemTime);

impl aws_smithy_async::time::TimeSource for FixedTime {
    fn now(&self) -> std::time::SystemTime {
        self.0
    }
}

async fn strict_signer(env: &common::Env) -> aws_credential_types::Credentials {
    env.seed(
        r#"
aws:
  signatures: strict
  users:
    - accessKeyId: AKIASIGNER000000001
      secretAccessKey: right-secret
"#,
    )
    .await;
    aws_credential_types::Credentials::new("AKIASIGNER000000001", "right-secret", None, None, "t")
}

#[tokio::test]
async fn a_signature_from_2015_has_expired() {
    let env = common::emulator().await;
    let credentials = strict_signer(&env).await;
    // 2015-01-01: the signature is right, only its date is far behind the emulator's clock.
    let then = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_420_070_400);
    let config = aws_sdk_secretsmanager::config::Builder::from(
        &common::sdk_config(&env.url, "us-east-1", credentials).await,
    )
    .time_source(FixedTime(then))
    .build();
    let err = aws_sdk_secretsmanager::Client::from_conf(config)
        .list_secrets()
        .send()
        .await
        .expect_err("expired");
    let err = err.into_service_error();
    assert_eq!(err.code(), Some("InvalidSignatureException"));
    let message = err.message().unwrap_or_default();
    assert!(
        message.starts_with("Signature expired: 20150101T000000Z is now earlier than "),
        "{message}"
    );
    assert!(message.ends_with(" - 15 min.)"), "{message}");
}

/// Deterministic mode's clock starts at 2025-01-01, far from the wall clock SDKs sign with; the
/// `Date` header of every AWS answer gives the emulator's time, and SDKs correct their signing
/// time by it (clock skew), so strict signatures stay usable.
#[tokio::test]
async fn strict_signatures_stay_usable_in_deterministic_mode() {
    let env = common::emulator_with(secretbench_emulators::Options {
        deterministic: true,
        ..secretbench_emulators::Options::ephemeral()
    })
    .await;
    let credentials = strict_signer(&env).await;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&env.url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    client
        .create_secret()
        .name("signed")
        .secret_string("v")
        .send()
        .await
        .expect("the SDK retries with the emulator's time");
    client
        .get_secret_value()
        .secret_id("signed")
        .send()
        .await
        .expect("and signs with it from then on");
}

#[tokio::test]
async fn the_admin_clock_refuses_to_overflow() {
    for deterministic in [false, true] {
        let env = common::emulator_with(secretbench_emulators::Options {
            deterministic,
            ..secretbench_emulators::Options::ephemeral()
        })
        .await;
        let before = admin(&env, reqwest::Method::GET, "/clock", None)
            .await
            .json()["now"]
            .as_str()
            .expect("now")
            .to_owned();
        let huge = admin(
            &env,
            reqwest::Method::POST,
            "/clock",
            Some(json!({"advanceSeconds": 9_223_372_036_854_775_807_i64})),
        )
        .await;
        assert_eq!(
            huge.status, 400,
            "deterministic={deterministic}: {}",
            huge.text
        );
        assert!(
            huge.json()["error"]
                .as_str()
                .expect("error")
                .contains("past")
        );
        let mut last = 200;
        for _ in 0..40 {
            let r = admin(
                &env,
                reqwest::Method::POST,
                "/clock",
                Some(json!({"advanceSeconds": 6_307_200_000_i64})),
            )
            .await;
            last = r.status;
            if last != 200 {
                break;
            }
        }
        assert_eq!(last, 400, "the clock stops short of the year 9999");
        let after = admin(&env, reqwest::Method::GET, "/clock", None)
            .await
            .json()["now"]
            .as_str()
            .expect("now")
            .to_owned();
        let parse = |t: &str| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .expect("time")
        };
        assert!(
            parse(&after) > parse(&before),
            "never wraps backwards: {before} -> {after}"
        );
    }
}
