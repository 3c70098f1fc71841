//! STS (query protocol) and the EKS Pod Identity agent endpoint, through the official STS SDK and
//! raw HTTP: who the caller is, web identity exchanges and each way AWS refuses them, JWKS
//! signature checks, and credentials from the agent used against other services.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use aws_credential_types::Credentials;
use aws_sdk_sts::error::ProvideErrorMetadata;
use base64::Engine;
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

const ACCOUNT: &str = "123456789012";
const ROLE: &str = "arn:aws:iam::123456789012:role/app-reader";
const SUBJECT: &str = "system:serviceaccount:app:reader";

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("i64")
}

fn claims(aud: &str, sub: &str, exp: i64) -> serde_json::Value {
    json!({
        "iss": "https://oidc.example/cluster",
        "sub": sub,
        "aud": [aud],
        "exp": exp,
        "iat": now() - 10,
        "kubernetes.io": {
            "namespace": "app",
            "pod": {"name": "web-0", "uid": "11111111-2222-3333-4444-555555555555"},
            "serviceaccount": {"name": "reader", "uid": "66666666-7777-8888-9999-000000000000"}
        }
    })
}

fn sts_token() -> String {
    common::unsigned_jwt(&claims("sts.amazonaws.com", SUBJECT, now() + 3600))
}

fn pod_token(sub: &str) -> String {
    common::unsigned_jwt(&claims("pods.eks.amazonaws.com", sub, now() + 3600))
}

/// The cluster's OIDC provider, a role that trusts the `app:reader*` service accounts, plus the
/// Pod Identity associations.
const SEED: &str = r#"
aws:
  openIdConnectProviders:
    - url: https://oidc.example/cluster
  roles:
    - arn: arn:aws:iam::123456789012:role/app-reader
      trust:
        issuer: https://oidc.example/cluster
        subjectsLike: ["system:serviceaccount:app:read*"]
      policy:
        - actions: ["secretsmanager:GetRandomPassword"]
    - arn: arn:aws:iam::123456789012:role/no-passwords
      trust: {}
      policy:
        - actions: ["ssm:GetParameter"]
  podIdentityAssociations:
    - namespace: app
      serviceAccount: reader
      roleArn: arn:aws:iam::123456789012:role/app-reader
    - namespace: app
      serviceAccount: limited
      roleArn: arn:aws:iam::123456789012:role/no-passwords
"#;

async fn assume(
    env: &common::Env,
    role: &str,
    session: &str,
    token: &str,
) -> Result<
    aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityOutput,
    aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError,
> {
    env.sts("us-east-1")
        .await
        .assume_role_with_web_identity()
        .role_arn(role)
        .role_session_name(session)
        .web_identity_token(token)
        .send()
        .await
        .map_err(|e| e.into_service_error())
}

/// A raw query-protocol call; returns status, headers and body.
async fn query(env: &common::Env, form: &[(&str, &str)]) -> common::RawResponse {
    let response = reqwest::Client::new()
        .post(&env.url)
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(serde_urlencoded::to_string(form).expect("form"))
        .send()
        .await
        .expect("request");
    common::RawResponse::from(response).await
}

/// The text of the first `<tag>` element, entities decoded.
fn xml_value(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
        + open.len();
    let end = xml[start..]
        .find(&format!("</{tag}>"))
        .expect("closing tag")
        + start;
    xml[start..end]
        .replace("&apos;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn agent(env: &common::Env, authorization: Option<&str>) -> common::RawResponse {
    let mut request = reqwest::Client::new()
        .get(format!("{}/v1/credentials", env.url))
        .header("accept", "application/json");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    common::RawResponse::from(request.send().await.expect("request")).await
}

async fn journal(env: &common::Env, service: &str) -> Vec<serde_json::Value> {
    let body: serde_json::Value = reqwest::get(format!(
        "{}/_secretbench/journal?service={service}",
        env.url
    ))
    .await
    .expect("journal")
    .json()
    .await
    .expect("json");
    body.as_array()
        .cloned()
        .or_else(|| body["entries"].as_array().cloned())
        .unwrap_or_default()
}

#[tokio::test]
async fn anonymous_callers_are_the_account_root() {
    let env = common::emulator().await;
    let out = env
        .sts("eu-west-1")
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("identity");
    assert_eq!(out.account(), Some(ACCOUNT));
    assert_eq!(out.arn(), Some("arn:aws:iam::123456789012:root"));
    assert_eq!(out.user_id(), Some(ACCOUNT));
    let entries = journal(&env, "sts").await;
    let last = entries.last().expect("journaled");
    assert_eq!(last["operation"], "GetCallerIdentity");
    assert_eq!(last["region"], "eu-west-1");
    assert_eq!(last["status"], 200);
}

#[tokio::test]
async fn web_identity_credentials_act_as_the_assumed_role() {
    let env = common::emulator().await;
    env.seed(SEED).await;
    let out = assume(&env, ROLE, "csi-session", &sts_token())
        .await
        .expect("assumed");
    let creds = out.credentials().expect("credentials");
    assert!(creds.access_key_id().starts_with("ASIA"));
    assert_eq!(creds.access_key_id().len(), 20);
    assert!(
        creds
            .access_key_id()
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    assert_eq!(creds.secret_access_key().len(), 40);
    assert!(!creds.session_token().is_empty());
    let lifetime = creds.expiration().secs() - now();
    assert!(
        (3500..=3700).contains(&lifetime),
        "default duration is an hour, got {lifetime}s"
    );
    let user = out.assumed_role_user().expect("assumed role user");
    assert_eq!(
        user.arn(),
        "arn:aws:sts::123456789012:assumed-role/app-reader/csi-session"
    );
    assert!(user.assumed_role_id().starts_with("AROA"));
    assert!(user.assumed_role_id().ends_with(":csi-session"));
    assert_eq!(out.subject_from_web_identity_token(), Some(SUBJECT));
    assert_eq!(out.audience(), Some("sts.amazonaws.com"));
    assert_eq!(
        out.provider(),
        Some("arn:aws:iam::123456789012:oidc-provider/oidc.example/cluster")
    );

    let issued = Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_owned()),
        None,
        "web-identity",
    );
    let config = common::sdk_config(&env.url, "us-west-2", issued).await;
    let me = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect("identity");
    assert_eq!(me.arn(), Some(user.arn()));
    assert_eq!(me.user_id(), Some(user.assumed_role_id()));
    assert_eq!(me.account(), Some(ACCOUNT));
}

#[tokio::test]
async fn web_identity_refusals_use_aws_codes() {
    let env = common::emulator().await;
    env.seed(SEED).await;

    let bad = assume(&env, ROLE, "s1", "not-a-jwt")
        .await
        .expect_err("malformed");
    assert_eq!(bad.code(), Some("InvalidIdentityToken"));
    assert!(bad.is_invalid_identity_token_exception());

    let expired = common::unsigned_jwt(&claims("sts.amazonaws.com", SUBJECT, now() - 60));
    let e = assume(&env, ROLE, "s1", &expired)
        .await
        .expect_err("expired");
    assert!(e.is_expired_token_exception(), "{e:?}");
    assert!(
        e.message()
            .unwrap_or_default()
            .starts_with("Token expired: current date/time")
    );

    let wrong_audience = common::unsigned_jwt(&claims("sts.amazon.com", SUBJECT, now() + 600));
    let e = assume(&env, ROLE, "s1", &wrong_audience)
        .await
        .expect_err("audience");
    assert_eq!(e.code(), Some("InvalidIdentityToken"));
    assert_eq!(e.message(), Some("Incorrect token audience"));

    let stranger = common::unsigned_jwt(&claims(
        "sts.amazonaws.com",
        "system:serviceaccount:other:app",
        now() + 600,
    ));
    let e = assume(&env, ROLE, "s1", &stranger)
        .await
        .expect_err("untrusted subject");
    assert_eq!(e.code(), Some("AccessDenied"));
    assert_eq!(
        e.message(),
        Some("Not authorized to perform sts:AssumeRoleWithWebIdentity")
    );

    let mut other_issuer = claims("sts.amazonaws.com", SUBJECT, now() + 600);
    other_issuer["iss"] = json!("https://elsewhere.example");
    let e = assume(&env, ROLE, "s1", &common::unsigned_jwt(&other_issuer))
        .await
        .expect_err("issuer");
    assert_eq!(e.code(), Some("InvalidIdentityToken"));
    assert!(
        e.message()
            .unwrap_or_default()
            .contains("https://elsewhere.example")
    );

    // An issuer registered in the account, but not the one this role trusts (a trust policy
    // copied from another cluster): the trust refuses, without saying why.
    env.seed("aws:\n  openIdConnectProviders:\n    - url: https://oidc.example/other-cluster\n")
        .await;
    let mut other_cluster = claims("sts.amazonaws.com", SUBJECT, now() + 600);
    other_cluster["iss"] = json!("https://oidc.example/other-cluster");
    let e = assume(&env, ROLE, "s1", &common::unsigned_jwt(&other_cluster))
        .await
        .expect_err("another cluster's provider");
    assert_eq!(e.code(), Some("AccessDenied"));
    assert_eq!(
        e.message(),
        Some("Not authorized to perform sts:AssumeRoleWithWebIdentity")
    );

    // A role of another account, where this cluster's issuer is not registered.
    env.seed(
        "aws:\n  roles:\n    - arn: arn:aws:iam::210987654321:role/app-reader\n      trust: { issuer: https://oidc.example/cluster, subjects: [system:serviceaccount:app:reader] }\n",
    )
    .await;
    let e = assume(
        &env,
        "arn:aws:iam::210987654321:role/app-reader",
        "s1",
        &sts_token(),
    )
    .await
    .expect_err("no provider in that account");
    assert_eq!(e.code(), Some("InvalidIdentityToken"));
    assert_eq!(
        e.message(),
        Some("No OpenIDConnect provider found in your account for https://oidc.example/cluster")
    );

    // A provider registered without STS's audience as a client id.
    env.seed(
        "aws:\n  openIdConnectProviders:\n    - { url: https://oidc.example/cluster, clientIds: [vault] }\n",
    )
    .await;
    let e = assume(&env, ROLE, "s1", &sts_token())
        .await
        .expect_err("audience not registered");
    assert_eq!(e.code(), Some("InvalidIdentityToken"));
    assert_eq!(e.message(), Some("Incorrect token audience"));
    env.seed("aws:\n  openIdConnectProviders:\n    - { url: https://oidc.example/cluster }\n")
        .await;

    // StringEquals subjects take `*` literally; StringLike ones match.
    env.seed(
        "aws:\n  roles:\n    - arn: arn:aws:iam::123456789012:role/exact\n      trust: { issuer: https://oidc.example/cluster, subjects: ['system:serviceaccount:app:*'] }\n",
    )
    .await;
    let e = assume(
        &env,
        "arn:aws:iam::123456789012:role/exact",
        "s1",
        &sts_token(),
    )
    .await
    .expect_err("exact subject");
    assert_eq!(e.code(), Some("AccessDenied"));
    let refusals: Vec<_> = journal(&env, "sts")
        .await
        .into_iter()
        .filter(|e| e["status"] == 403)
        .collect();
    assert_eq!(
        refusals.last().expect("journaled")["keys"]["refused"],
        "the role does not trust the subject system:serviceaccount:app:reader"
    );

    // The wire status of a trust refusal is 403, of a token refusal 400.
    let r = query(
        &env,
        &[
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", ROLE),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", &stranger),
        ],
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("<Type>Sender</Type>"), "{}", r.text);
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/xml")
    );
}

#[tokio::test]
async fn unknown_roles_depend_on_the_authorization_mode() {
    let env = common::emulator().await;
    let unknown = "arn:aws:iam::123456789012:role/never-configured";
    assume(&env, unknown, "s1", &sts_token())
        .await
        .expect("permissive mode lets any STS token in");
    let pods_only = pod_token(SUBJECT);
    let e = assume(&env, unknown, "s1", &pods_only)
        .await
        .expect_err("audience still checked");
    assert_eq!(e.message(), Some("Incorrect token audience"));

    env.seed("aws:\n  authorization: strict\n").await;
    let e = assume(&env, unknown, "s1", &sts_token())
        .await
        .expect_err("strict");
    assert_eq!(e.code(), Some("AccessDenied"));
    assert_eq!(
        e.message(),
        Some("Not authorized to perform sts:AssumeRoleWithWebIdentity")
    );
}

#[tokio::test]
async fn parameters_are_validated_like_coral() {
    let env = common::emulator().await;
    let token = sts_token();
    let base = |extra: &[(&'static str, &'static str)]| {
        let mut form: Vec<(&str, String)> = vec![
            ("Action", "AssumeRoleWithWebIdentity".into()),
            ("Version", "2011-06-15".into()),
            ("WebIdentityToken", token.clone()),
        ];
        form.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        form
    };
    let send = |form: Vec<(&'static str, String)>| {
        let env = &env;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            query(env, &pairs).await
        }
    };

    let r = send(base(&[("RoleSessionName", "s1")])).await;
    assert_eq!(r.status, 400);
    assert_eq!(xml_value(&r.text, "Code"), "ValidationError");
    assert_eq!(
        xml_value(&r.text, "Message"),
        "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
    );

    let r = send(base(&[("RoleArn", ROLE), ("RoleSessionName", "bad name!")])).await;
    assert_eq!(xml_value(&r.text, "Code"), "ValidationError");
    assert!(xml_value(&r.text, "Message").contains("at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern"));

    let r = send(base(&[
        ("RoleArn", ROLE),
        ("RoleSessionName", "x"),
        ("DurationSeconds", "60"),
    ]))
    .await;
    assert!(
        xml_value(&r.text, "Message").starts_with("2 validation errors detected: "),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains("Member must have value greater than or equal to 900")
    );

    let r = send(base(&[
        ("RoleArn", "arn:aws:s3:::some-bucket-name"),
        ("RoleSessionName", "s1"),
    ]))
    .await;
    assert_eq!(xml_value(&r.text, "Message"), "Request ARN is invalid");

    let r = send(base(&[
        ("RoleArn", ROLE),
        ("RoleSessionName", "s1"),
        ("DurationSeconds", "7200"),
    ]))
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let expiration = time::OffsetDateTime::parse(
        &xml_value(&r.text, "Expiration"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("ISO 8601 expiration");
    let lifetime = expiration.unix_timestamp() - now();
    assert!((7100..=7300).contains(&lifetime), "{lifetime}");
    assert!(r.text.starts_with(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
    ));
    let request_id = r
        .headers
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
        .expect("request id");
    assert_eq!(xml_value(&r.text, "RequestId"), request_id);
}

#[tokio::test]
async fn unknown_actions_and_get_requests() {
    let env = common::emulator().await;
    let r = query(
        &env,
        &[("Action", "AssumeRoleWithMagic"), ("Version", "2011-06-15")],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(xml_value(&r.text, "Code"), "InvalidAction");
    assert_eq!(
        xml_value(&r.text, "Message"),
        "Could not find operation AssumeRoleWithMagic for version 2011-06-15"
    );
    let r = query(&env, &[("Version", "2011-06-15")]).await;
    assert_eq!(xml_value(&r.text, "Code"), "MissingAction");

    let r = common::RawResponse::from(
        reqwest::get(format!(
            "{}/?Action=GetCallerIdentity&Version=2011-06-15",
            env.url
        ))
        .await
        .expect("get"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(xml_value(&r.text, "Arn"), "arn:aws:iam::123456789012:root");
    assert_eq!(xml_value(&r.text, "Account"), ACCOUNT);
}

#[tokio::test]
async fn strict_mode_refuses_unknown_keys_with_sts_codes_and_faults_apply() {
    let env = common::emulator().await;
    let faults = reqwest::Client::new()
        .post(format!("{}/_secretbench/faults", env.url))
        .json(&json!({
            "service": "sts",
            "operation": "GetCallerIdentity",
            "region": "ap-south-1",
            "error": {"code": "Throttling", "status": 400, "message": "Rate exceeded"},
            "firstN": 1
        }))
        .send()
        .await
        .expect("fault rule");
    assert!(faults.status().is_success());
    let e = env
        .sts("ap-south-1")
        .await
        .get_caller_identity()
        .send()
        .await
        .expect_err("injected");
    assert_eq!(e.code(), Some("Throttling"));
    env.sts("ap-south-1")
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("first N only");

    env.seed("aws:\n  authorization: strict\n").await;
    let e = env
        .sts("us-east-1")
        .await
        .get_caller_identity()
        .send()
        .await
        .expect_err("unknown key");
    assert_eq!(e.code(), Some("InvalidClientTokenId"));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(403));
}

// ---- JWKS signature verification ----

struct Signer {
    encoding: jsonwebtoken::EncodingKey,
    jwk: serde_json::Value,
}

fn signer(seed: u64, kid: &str) -> Signer {
    use rand_chacha_03::rand_core::SeedableRng;
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    // Seeded so runs are reproducible; 1024 bits keeps key generation fast in debug builds and
    // exercises the same code paths as the cluster's 2048-bit keys.
    let mut rng = rand_chacha_03::ChaCha8Rng::seed_from_u64(seed);
    let key = rsa::RsaPrivateKey::new(&mut rng, 1024).expect("rsa key");
    let der = key.to_pkcs1_der().expect("pkcs1");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    Signer {
        encoding: jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()),
        jwk: json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": b64.encode(key.n().to_bytes_be()),
            "e": b64.encode(key.e().to_bytes_be()),
        }),
    }
}

fn sign(signer: &Signer, kid: &str, claims: &serde_json::Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &signer.encoding).expect("sign")
}

#[tokio::test]
async fn with_a_jwks_only_tokens_signed_by_its_keys_are_accepted() {
    let env = common::emulator().await;
    env.seed(SEED).await;
    let cluster = signer(1, "cluster-key");
    let impostor = signer(2, "cluster-key");
    let seed = json!({"aws": {"webIdentity": {"jwks": {"keys": [cluster.jwk]}}}});
    env.seed(&seed.to_string()).await;

    let good = sign(
        &cluster,
        "cluster-key",
        &claims("sts.amazonaws.com", SUBJECT, now() + 600),
    );
    assume(&env, ROLE, "signed", &good)
        .await
        .expect("signed by the cluster key");

    let forged = sign(
        &impostor,
        "cluster-key",
        &claims("sts.amazonaws.com", SUBJECT, now() + 600),
    );
    let e = assume(&env, ROLE, "forged", &forged)
        .await
        .expect_err("wrong key");
    assert_eq!(e.code(), Some("InvalidIdentityToken"));
    let unknown_kid = sign(
        &cluster,
        "rotated-away",
        &claims("sts.amazonaws.com", SUBJECT, now() + 600),
    );
    assert!(assume(&env, ROLE, "kid", &unknown_kid).await.is_err());
    let e = assume(&env, ROLE, "unsigned", &sts_token())
        .await
        .expect_err("unsigned");
    assert_eq!(e.code(), Some("InvalidIdentityToken"));

    // The agent checks the same keys.
    let pod = sign(
        &cluster,
        "cluster-key",
        &claims("pods.eks.amazonaws.com", SUBJECT, now() + 600),
    );
    assert_eq!(agent(&env, Some(&pod)).await.status, 200);
    let forged_pod = sign(
        &impostor,
        "cluster-key",
        &claims("pods.eks.amazonaws.com", SUBJECT, now() + 600),
    );
    let r = agent(&env, Some(&forged_pod)).await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (400, Some("InvalidTokenException"))
    );
}

#[tokio::test]
async fn a_jwks_that_cannot_verify_is_refused_at_seed_time() {
    let env = common::emulator().await;
    let response = reqwest::Client::new()
        .post(format!("{}/_secretbench/seed", env.url))
        .body(r#"{"aws": {"webIdentity": {"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}}}"#)
        .send()
        .await
        .expect("seed");
    assert_eq!(response.status().as_u16(), 400);

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, json!({"keys": [signer(3, "k").jwk]}).to_string()).expect("write");
    env.seed(&json!({"aws": {"webIdentity": {"jwksFile": path}}}).to_string())
        .await;
    let state: serde_json::Value = reqwest::get(format!("{}/_secretbench/state", env.url))
        .await
        .expect("state")
        .json()
        .await
        .expect("json");
    let aws = if state.get("aws").is_some() {
        &state["aws"]
    } else {
        &state
    };
    assert_eq!(aws["iam"]["jwks"]["keys"][0]["kid"], "k");
}

// ---- Pod Identity agent ----

#[tokio::test]
async fn pod_identity_credentials_are_the_associated_role() {
    let env = common::emulator().await;
    env.seed(SEED).await;
    let r = agent(&env, Some(&pod_token(SUBJECT))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    let key = body["AccessKeyId"].as_str().expect("AccessKeyId");
    assert!(key.starts_with("ASIA") && key.len() == 20);
    assert_eq!(body["SecretAccessKey"].as_str().map(str::len), Some(40));
    assert_eq!(body["AccountId"], ACCOUNT);
    let expiration = time::OffsetDateTime::parse(
        body["Expiration"].as_str().expect("Expiration"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    let hours = (expiration.unix_timestamp() - now()) / 3600;
    assert!((5..=6).contains(&hours), "{hours}");

    let creds = Credentials::new(
        key,
        body["SecretAccessKey"].as_str().expect("secret"),
        body["Token"].as_str().map(str::to_owned),
        None,
        "pod-identity",
    );
    let config = common::sdk_config(&env.url, "us-east-1", creds).await;
    let me = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect("identity");
    let arn = me.arn().expect("arn");
    assert!(
        arn.starts_with("arn:aws:sts::123456789012:assumed-role/app-reader/eks-secretbench-web-0-"),
        "{arn}"
    );

    // "Bearer " is tolerated.
    assert_eq!(
        agent(&env, Some(&format!("Bearer {}", pod_token(SUBJECT))))
            .await
            .status,
        200
    );

    let entries = journal(&env, "pod-identity").await;
    let last = entries.last().expect("journaled");
    assert_eq!(last["operation"], "GetCredentials");
    assert_eq!(last["identity"], SUBJECT);
    assert_eq!(last["status"], 200);
}

#[tokio::test]
async fn pod_identity_refusals() {
    let env = common::emulator().await;
    env.seed(SEED).await;

    let r = agent(&env, Some(&pod_token("system:serviceaccount:app:unbound"))).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["code"], "AccessDeniedException");
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap_or_default()
            .contains("unbound")
    );

    let sts_audience = common::unsigned_jwt(&claims("sts.amazonaws.com", SUBJECT, now() + 600));
    let r = agent(&env, Some(&sts_audience)).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], "InvalidTokenException");

    let r = agent(&env, None).await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (400, Some("InvalidTokenException"))
    );
    let r = agent(&env, Some("garbage")).await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (400, Some("InvalidTokenException"))
    );

    let expired = common::unsigned_jwt(&claims("pods.eks.amazonaws.com", SUBJECT, now() - 1));
    let r = agent(&env, Some(&expired)).await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (400, Some("ExpiredTokenException"))
    );
}

#[tokio::test]
async fn strict_authorization_holds_issued_credentials_to_the_role_policy() {
    let env = common::emulator().await;
    env.seed(SEED).await;
    env.seed("aws:\n  authorization: strict\n").await;

    let sm_for = |subject: &'static str| {
        let env = &env;
        async move {
            let body = agent(env, Some(&pod_token(subject))).await.json();
            let creds = Credentials::new(
                body["AccessKeyId"].as_str().expect("key"),
                body["SecretAccessKey"].as_str().expect("secret"),
                body["Token"].as_str().map(str::to_owned),
                None,
                "pod-identity",
            );
            aws_sdk_secretsmanager::Client::new(
                &common::sdk_config(&env.url, "us-east-1", creds).await,
            )
        }
    };
    let allowed = sm_for("system:serviceaccount:app:reader").await;
    allowed
        .get_random_password()
        .send()
        .await
        .expect("the role allows GetRandomPassword");
    let limited = sm_for("system:serviceaccount:app:limited").await;
    let e = limited
        .get_random_password()
        .send()
        .await
        .expect_err("not in the policy");
    assert_eq!(e.code(), Some("AccessDeniedException"));
    assert!(
        e.message().unwrap_or_default().starts_with(
            "User: arn:aws:sts::123456789012:assumed-role/no-passwords/eks-secretbench-"
        )
    );
}

#[tokio::test]
async fn assumed_roles_read_what_their_resource_patterns_cover_by_the_suffixed_arn() {
    let env = common::emulator().await;
    env.seed(SEED).await;
    // Seed 001's policy: the secret's ARN with its 6-character suffix, by wildcard.
    env.seed(
        r#"
aws:
  roles:
    - arn: arn:aws:iam::123456789012:role/MySampleAppSecretsManager
      trust: { issuer: https://oidc.example/cluster, subjects: [system:serviceaccount:app:reader] }
      policy:
        - actions: [secretsmanager:GetSecretValue, secretsmanager:DescribeSecret]
          resources: ["arn:aws:secretsmanager:us-east-1:123456789012:secret:MyDBSecret-*"]
        - actions: [secretsmanager:GetSecretValue]
          resources: ["arn:aws:secretsmanager:us-east-1:123456789012:secret:Exact-??????"]
  secrets:
    - { name: MyDBSecret, secretString: '{"username":"mamezou-tech"}' }
    - { name: Exact, secretString: e }
    - { name: OtherSecret, secretString: o }
"#,
    )
    .await;
    let out = assume(
        &env,
        "arn:aws:iam::123456789012:role/MySampleAppSecretsManager",
        "1700000000000000000",
        &sts_token(),
    )
    .await
    .expect("assumed");
    let c = out.credentials().expect("credentials");
    let creds = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "irsa",
    );
    let sm = aws_sdk_secretsmanager::Client::new(
        &common::sdk_config(&env.url, "us-east-1", creds).await,
    );
    let value = sm
        .get_secret_value()
        .secret_id("MyDBSecret")
        .send()
        .await
        .expect("MyDBSecret-* covers MyDBSecret-XXXXXX");
    assert_eq!(
        value.secret_string(),
        Some(r#"{"username":"mamezou-tech"}"#)
    );
    let arn = value.arn().expect("arn").to_owned();
    assert!(
        sm.describe_secret().secret_id(&arn).send().await.is_ok(),
        "by full ARN too"
    );
    sm.get_secret_value()
        .secret_id("Exact")
        .send()
        .await
        .expect("?????? matches the six characters");

    let denied = sm
        .get_secret_value()
        .secret_id("OtherSecret")
        .send()
        .await
        .expect_err("not covered");
    assert_eq!(denied.code(), Some("AccessDeniedException"));
    assert_eq!(
        denied.message(),
        Some(
            "User: arn:aws:sts::123456789012:assumed-role/MySampleAppSecretsManager/1700000000000000000 is not authorized to perform: secretsmanager:GetSecretValue on resource: OtherSecret because no identity-based policy allows the secretsmanager:GetSecretValue action"
        )
    );
    let denied = sm
        .describe_secret()
        .secret_id("Exact")
        .send()
        .await
        .expect_err("only GetSecretValue on Exact");
    assert_eq!(denied.code(), Some("AccessDeniedException"));

    // A name that matches no secret is judged on the ARN it would have (no suffix), which the
    // suffixed pattern does not cover: AWS refuses before saying the secret does not exist.
    let missing = sm
        .get_secret_value()
        .secret_id("MyDBSecret-missing")
        .send()
        .await
        .expect_err("no such secret");
    assert_eq!(
        missing.code(),
        Some("ResourceNotFoundException"),
        "MyDBSecret-* covers it"
    );
    let missing = sm
        .get_secret_value()
        .secret_id("NoSuchSecret")
        .send()
        .await
        .expect_err("no such secret");
    assert_eq!(missing.code(), Some("AccessDeniedException"));
    assert!(
        missing
            .message()
            .unwrap_or_default()
            .contains("on resource: NoSuchSecret because")
    );
}
