#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.
//! The wiring's seeds and settings against in-process emulators, following the calls the real
//! providers make (their sources say which; see `harness/src/wiring/{aws,vault}.rs`): the AWS
//! provider's Pod Identity request through the proxy the wiring sets, then its Secrets Manager
//! and SSM reads with the credentials it got; IRSA's `AssumeRoleWithWebIdentity` against the
//! seeded trust; the Vault provider's Kubernetes login up to and through the TokenReview call.

mod support;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use secretbench::wiring::{aws, vault};
use secretbench_emulators::{Options, Running, start};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::{
    ClusterKey, FakeApi, ISSUER, REVIEWER_JWT, cluster_key, fake_api, http, loopback, sa_token,
    vault_call,
};

async fn apply_seed(url: &str, seed: &Value) {
    let r = http()
        .post(format!("{url}/_secretbench/seed"))
        .body(seed.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status();
    assert!(
        status.is_success(),
        "seed refused: {status} {}",
        r.text().await.unwrap()
    );
}

// ---- AWS ----

struct AwsEnv {
    _running: Running,
    url: String,
    key: ClusterKey,
}

async fn aws_env() -> AwsEnv {
    let running = start(Options {
        aws: loopback(),
        ..Options::default()
    })
    .await
    .unwrap();
    let url = running.url("aws").unwrap().to_owned();
    let key = cluster_key(7);
    let issuer = aws::Issuer {
        url: ISSUER.into(),
        jwks: json!({"keys": [key.jwk.clone()]}),
    };
    apply_seed(&url, &aws::wiring(aws::seed(&issuer)).seed).await;
    AwsEnv {
        _running: running,
        url,
        key,
    }
}

fn env_value(env: &[(&str, String)], name: &str) -> String {
    env.iter().find(|(n, _)| *n == name).unwrap().1.clone()
}

/// Go's `http.Transport` talking to an HTTP proxy for a plain-HTTP URL: the request line
/// carries the absolute URL and `Host` names the origin. Returns status and body.
async fn via_proxy(proxy: &str, url: &str, token: &str) -> (u16, Value) {
    let addr = proxy.trim_start_matches("http://");
    let host = url.trim_start_matches("http://").split('/').next().unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {url} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: aws-sdk-go-v2/1.41.7\r\nAccept: application/json\r\nAuthorization: {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn sdk_config(endpoint: &str, credentials: Credentials) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(aws::REGION))
        .credentials_provider(credentials)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

/// The harness's own backend calls (scenario seeding): keys the emulator does not know, which
/// its default permissive mode lets through.
fn admin() -> Credentials {
    Credentials::new("AKIASECRETBENCHTEST", "admin-secret", None, None, "test")
}

#[tokio::test]
async fn pod_identity_through_the_proxy_then_reads_with_the_role() {
    let e = aws_env().await;
    let env = aws::provider_env(&e.url, "127.0.0.1");
    let sm_endpoint = env_value(&env, "AWS_ENDPOINT_URL_SECRETS_MANAGER");
    let ssm_endpoint = env_value(&env, "AWS_ENDPOINT_URL_SSM");

    // Scenario seeding, as the runner does it.
    let admin_cfg = sdk_config(&sm_endpoint, admin()).await;
    aws_sdk_secretsmanager::Client::new(&admin_cfg)
        .create_secret()
        .name("joke")
        .secret_string("light attracts bugs")
        .send()
        .await
        .unwrap();
    aws_sdk_ssm::Client::new(&sdk_config(&ssm_endpoint, admin()).await)
        .put_parameter()
        .name("/sample-app/db/username")
        .value("mamezou-tech")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();

    // The provider's Pod Identity request, carried by HTTP_PROXY to the emulator.
    let token = sa_token(
        &e.key,
        ISSUER,
        aws::POD_IDENTITY_AUDIENCE,
        "scenario-mount-1",
        aws::SERVICE_ACCOUNT,
    );
    let proxy = env_value(&env, "HTTP_PROXY");
    let (status, body) = via_proxy(&proxy, aws::POD_IDENTITY_AGENT_URL, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["AccountId"], aws::ACCOUNT_ID);
    let creds = Credentials::new(
        body["AccessKeyId"].as_str().unwrap(),
        body["SecretAccessKey"].as_str().unwrap(),
        body["Token"].as_str().map(str::to_owned),
        None,
        "pod-identity",
    );

    // What the provider then calls, direct to the endpoints (NO_PROXY), as the role.
    let sm = aws_sdk_secretsmanager::Client::new(&sdk_config(&sm_endpoint, creds.clone()).await);
    let value = sm
        .get_secret_value()
        .secret_id("joke")
        .send()
        .await
        .unwrap();
    assert_eq!(value.secret_string(), Some("light attracts bugs"));
    assert!(value.version_id().is_some());
    let described = sm.describe_secret().secret_id("joke").send().await.unwrap();
    assert!(described.version_ids_to_stages().is_some());
    let denied = sm
        .put_secret_value()
        .secret_id("joke")
        .secret_string("x")
        .send()
        .await
        .expect_err("the role only reads");
    assert_eq!(
        denied.as_service_error().and_then(|e| {
            use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
            e.code()
        }),
        Some("AccessDeniedException")
    );
    let params = aws_sdk_ssm::Client::new(&sdk_config(&ssm_endpoint, creds).await)
        .get_parameters()
        .names("/sample-app/db/username")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        params.parameters()[0].name(),
        Some("/sample-app/db/username")
    );
    assert!(params.invalid_parameters().is_empty());
}

#[tokio::test]
async fn pod_identity_refuses_other_service_accounts_and_foreign_keys() {
    let e = aws_env().await;
    let proxy = env_value(&aws::provider_env(&e.url, "127.0.0.1"), "HTTP_PROXY");
    let intruder = sa_token(&e.key, ISSUER, aws::POD_IDENTITY_AUDIENCE, "ns", "intruder");
    let (status, body) = via_proxy(&proxy, aws::POD_IDENTITY_AGENT_URL, &intruder).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("AccessDeniedException"))
    );

    let forged = sa_token(
        &cluster_key(8),
        ISSUER,
        aws::POD_IDENTITY_AUDIENCE,
        "ns",
        aws::SERVICE_ACCOUNT,
    );
    let (status, body) = via_proxy(&proxy, aws::POD_IDENTITY_AGENT_URL, &forged).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("InvalidTokenException"))
    );
}

async fn assume_role(url: &str, token: &str) -> (u16, String) {
    let r = http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", aws::ROLE_ARN),
            ("RoleSessionName", "1700000000000000000"),
            ("WebIdentityToken", token),
        ]))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// `application/x-www-form-urlencoded` without another dependency: JWTs and ARNs only need
/// `:` and `/` escaped beyond the unreserved set.
fn form_body(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn irsa_web_identity_is_trusted_for_the_cluster_issuer_only() {
    let e = aws_env().await;
    let good = sa_token(
        &e.key,
        ISSUER,
        aws::IRSA_AUDIENCE,
        "scenario-x",
        aws::SERVICE_ACCOUNT,
    );
    let (status, body) = assume_role(&e.url, &good).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<AccessKeyId>"), "{body}");
    assert!(
        body.contains("assumed-role/secretbench-sample-app/"),
        "{body}"
    );

    let other_issuer = sa_token(
        &e.key,
        "https://oidc.example/other",
        aws::IRSA_AUDIENCE,
        "scenario-x",
        aws::SERVICE_ACCOUNT,
    );
    let (status, body) = assume_role(&e.url, &other_issuer).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("InvalidIdentityToken"), "{body}");

    let other_sa = sa_token(&e.key, ISSUER, aws::IRSA_AUDIENCE, "scenario-x", "intruder");
    let (status, body) = assume_role(&e.url, &other_sa).await;
    assert_eq!(status, 403, "{body}");

    // A token for the Pod Identity audience is not a web identity for STS.
    let wrong_aud = sa_token(
        &e.key,
        ISSUER,
        aws::POD_IDENTITY_AUDIENCE,
        "scenario-x",
        aws::SERVICE_ACCOUNT,
    );
    assert_eq!(assume_role(&e.url, &wrong_aud).await.0, 400);
}

// ---- Vault ----

struct VaultEnv {
    _running: Running,
    url: String,
    root: String,
    api: FakeApi,
    key: ClusterKey,
}

async fn vault_env() -> VaultEnv {
    let running = start(Options {
        vault: loopback(),
        ..Options::default()
    })
    .await
    .unwrap();
    let endpoint = running.endpoints.get("vault").unwrap();
    let url = endpoint.url.clone();
    let root = endpoint.info["rootToken"].as_str().unwrap().to_owned();
    let (host, api) = fake_api().await;
    let seed = vault::seed(
        &vault::ApiServer {
            url: host,
            ca_pem: String::new(),
        },
        REVIEWER_JWT,
    );
    apply_seed(&url, &vault::wiring(&url, seed).seed).await;
    VaultEnv {
        _running: running,
        url,
        root,
        api,
        key: cluster_key(9),
    }
}

impl VaultEnv {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        vault_call(&self.url, method, path, token, body).await
    }

    /// The provider's login: the driver's token for the provider's default audience.
    async fn login(&self, jwt: &str) -> (u16, Value) {
        self.call(
            "POST",
            &format!("/v1/auth/{}/login", vault::AUTH_MOUNT),
            None,
            Some(json!({"jwt": jwt, "role": vault::ROLE})),
        )
        .await
    }
}

#[tokio::test]
async fn kubernetes_login_reviews_with_the_reviewer_and_reads_kv() {
    let v = vault_env().await;
    let (status, _) = v
        .call(
            "POST",
            "/v1/secret/data/sample-app/db",
            Some(&v.root),
            Some(json!({"data": {"password": "my-super-secret-password"}})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = v
        .call(
            "POST",
            "/v1/kv/sample-app/legacy",
            Some(&v.root),
            Some(json!({"password": "v1-value"})),
        )
        .await;
    assert_eq!(status, 204, "the wiring's KV v1 mount exists");

    let jwt = sa_token(
        &v.key,
        ISSUER,
        vault::AUDIENCE,
        "scenario-mount-2",
        "sample-app",
    );
    let (status, body) = v.login(&jwt).await;
    assert_eq!(status, 200, "{body}");
    let token = body["auth"]["client_token"].as_str().unwrap().to_owned();
    assert!(
        body["auth"]["policies"]
            .as_array()
            .unwrap()
            .contains(&json!(vault::POLICY)),
        "{body}"
    );

    // The TokenReview the emulator sent: the reviewer's JWT as bearer, the login JWT reviewed
    // for the role's audience.
    let reviews = v.api.reviews.lock().unwrap().clone();
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    assert_eq!(reviews[0]["bearer"], format!("Bearer {REVIEWER_JWT}"));
    assert_eq!(reviews[0]["spec"]["token"], jwt);
    assert_eq!(reviews[0]["spec"]["audiences"], json!(["vault"]));

    // The provider's reads: `secretPath` as written in the SPC (KV v2 with `data/`, KV v1).
    let (status, body) = v
        .call("GET", "/v1/secret/data/sample-app/db", Some(&token), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["data"]["password"], "my-super-secret-password");
    let (status, body) = v
        .call("GET", "/v1/kv/sample-app/legacy", Some(&token), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["password"], "v1-value");
    // A KV v2 path without `data/` (the commonest SPC mistake) is outside the policy.
    let (status, _) = v
        .call("GET", "/v1/secret/sample-app/db", Some(&token), None)
        .await;
    assert_eq!(status, 403);
    // Nothing beyond reading.
    let (status, _) = v
        .call(
            "POST",
            "/v1/secret/data/sample-app/db",
            Some(&token),
            Some(json!({"data": {"password": "x"}})),
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_token_for_another_audience_never_reaches_the_review() {
    let v = vault_env().await;
    // What the provider sends when an SPC `audience` names one the driver does not request
    // and it self-mints a token for it: the role's audience check refuses it first.
    let jwt = sa_token(&v.key, ISSUER, "sts.amazonaws.com", "ns", "sample-app");
    let (status, body) = v.login(&jwt).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["errors"][0].as_str().unwrap().contains("audience"),
        "{body}"
    );
    assert!(v.api.reviews.lock().unwrap().is_empty());

    let (status, body) = v
        .call(
            "POST",
            "/v1/auth/kubernetes/login",
            None,
            Some(json!({"jwt": sa_token(&v.key, ISSUER, "vault", "ns", "sa"), "role": "nope"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}
