#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.
//! The wiring's seeds and settings against in-process emulators, following the calls the real
//! providers make (their sources say which; see `harness/src/wiring/{aws,vault}.rs`): the AWS
//! provider's Pod Identity request through the proxy the wiring sets, then its Secrets Manager
//! and SSM reads with the credentials it got; IRSA's `AssumeRoleWithWebIdentity` against the
//! seeded trust; the Vault provider's Kubernetes login up to and through the TokenReview call.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use base64::Engine as _;
use secretbench::wiring::{aws, vault};
use secretbench_emulators::{Options, Running, start};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn loopback() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// The client tests use for admin and raw calls: never through a proxy from the environment.
fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

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

/// A throwaway RSA key standing in for the cluster's service-account signing key.
struct ClusterKey {
    encoding: jsonwebtoken::EncodingKey,
    jwk: Value,
}

fn cluster_key(seed: u64) -> ClusterKey {
    use rand_chacha_03::rand_core::SeedableRng;
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    // Seeded for reproducible runs; 1024 bits keeps debug-build key generation quick.
    let mut rng = rand_chacha_03::ChaCha8Rng::seed_from_u64(seed);
    let key = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
    let der = key.to_pkcs1_der().unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    ClusterKey {
        encoding: jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()),
        jwk: json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "sa-key",
            "n": b64.encode(key.n().to_bytes_be()),
            "e": b64.encode(key.e().to_bytes_be()),
        }),
    }
}

/// A projected service-account token as the driver passes it to a provider.
fn sa_token(key: &ClusterKey, iss: &str, aud: &str, namespace: &str, sa: &str) -> String {
    let claims = json!({
        "iss": iss,
        "sub": format!("system:serviceaccount:{namespace}:{sa}"),
        "aud": [aud],
        "iat": now(),
        "nbf": now(),
        "exp": now() + 600,
        "kubernetes.io": {
            "namespace": namespace,
            "pod": {"name": "sample-app", "uid": "0b6a3a4e-1111-2222-3333-444455556666"},
            "serviceaccount": {"name": sa, "uid": "5d1c2f3e-7777-8888-9999-000011112222"},
        },
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("sa-key".into());
    jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap()
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
    apply_seed(&url, &aws::wiring(aws::seed(&issuer), ISSUER, None).seed).await;
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
    let env = aws::provider_env(&e.url, "127.0.0.1", false);
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
    let proxy = env_value(&aws::provider_env(&e.url, "127.0.0.1", false), "HTTP_PROXY");
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

// ---- AWS: IRSA over HTTPS, as seed 001 sets it up ----

/// The provider pod's hostAliases: every STS name the SDK dials resolves to the emulator host.
#[derive(Debug, Clone)]
struct HostAliases(std::net::IpAddr);

impl aws_smithy_runtime_api::client::dns::ResolveDns for HostAliases {
    fn resolve_dns<'a>(
        &'a self,
        name: &'a str,
    ) -> aws_smithy_runtime_api::client::dns::DnsFuture<'a> {
        let known = aws::sts_hosts().iter().any(|h| h == name);
        aws_smithy_runtime_api::client::dns::DnsFuture::ready(if known {
            Ok(vec![self.0])
        } else {
            Err(aws_smithy_runtime_api::client::dns::ResolveDnsError::new(
                format!("{name} is not in the pod's hostAliases"),
            ))
        })
    }
}

struct IrsaEnv {
    _running: Running,
    _dir: tempfile::TempDir,
    backend: secretbench::runner::backend::Backend,
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER` / `_SSM`: the plain listener, as wired.
    aws_url: String,
    https_port: u16,
    ca_pem: Vec<u8>,
    key: ClusterKey,
    namespace: &'static str,
}

/// Everything a run sets up for IRSA, in process: the emulators with their HTTPS listener, the
/// wiring's seed (the cluster's issuer as OIDC provider, its JWKS), then seed 001's objects
/// through the runner's backend actions, as the scenarios create them.
async fn irsa_env() -> IrsaEnv {
    let dir = tempfile::tempdir().unwrap();
    let running = start(Options {
        aws: loopback(),
        aws_https: loopback(),
        azure: loopback(),
        vault: loopback(),
        state_dir: Some(dir.path().to_owned()),
        ..Options::default()
    })
    .await
    .unwrap();
    let endpoints = secretbench::wiring::Endpoints::from_ready_line(&running.ready_line()).unwrap();
    // The wiring's check passes but for the port: tests cannot bind 443.
    let readiness = aws::irsa_readiness(&endpoints);
    assert!(
        readiness
            .as_ref()
            .is_err_and(|e| e.contains("only dials 443")),
        "{readiness:?}"
    );
    let https_port: u16 = endpoints
        .aws_https_url
        .as_deref()
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .1
        .parse()
        .unwrap();
    let ca_pem = std::fs::read(endpoints.aws_ca_file.as_ref().unwrap()).unwrap();
    let key = cluster_key(11);
    let issuer = aws::Issuer {
        url: ISSUER.into(),
        jwks: json!({"keys": [key.jwk.clone()]}),
    };
    let wiring = aws::wiring(aws::seed(&issuer), ISSUER, None);
    let backend =
        secretbench::runner::backend::Backend::new(endpoints.clone(), "127.0.0.1", aws::REGION)
            .unwrap();
    backend.reset().await.unwrap();
    backend.seed(&wiring.seed).await.unwrap();
    let namespace = "sb-irsa-seed-001-aws";
    let vars: std::collections::BTreeMap<&str, String> = [
        ("namespace", namespace.to_owned()),
        ("awsRegion", wiring.vars["awsRegion"].clone()),
        ("awsAccountId", wiring.vars["awsAccountId"].clone()),
        ("awsOidcIssuer", wiring.vars["awsOidcIssuer"].clone()),
    ]
    .into();
    let sub = |text: &str| {
        vars.iter().fold(text.to_owned(), |t, (k, v)| {
            t.replace(&format!("${{{k}}}"), v)
        })
    };
    // Seed 001: the JSON secret, the parameters, and a role for each ServiceAccount; then the
    // denied variants' roles.
    let actions = sub(r#"[
      {"aws.secretsmanager.createSecret": {"name": "MyDBSecret", "secretString": "{\"username\":\"mamezou-tech\", \"password\":\"my-super-secret-password\"}"}},
      {"aws.secretsmanager.createSecret": {"name": "OtherSecret", "secretString": "not yours"}},
      {"aws.ssm.putParameter": {"name": "/sample-app/db/username", "value": "mamezou-tech"}},
      {"aws.ssm.putParameter": {"name": "/sample-app/db/password", "value": "my-super-secret-password", "type": "SecureString"}},
      {"aws.iam.createRole": {"roleName": "MySampleAppSecretsManager",
        "trust": {"issuer": "${awsOidcIssuer}", "subjects": ["system:serviceaccount:${namespace}:sample-app-secrets-manager"]},
        "policy": [{"actions": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    "resources": ["arn:aws:secretsmanager:${awsRegion}:${awsAccountId}:secret:MyDBSecret-*"]}]}},
      {"aws.iam.createRole": {"roleName": "MySampleAppParameterStore",
        "trust": {"issuer": "${awsOidcIssuer}", "subjects": ["system:serviceaccount:${namespace}:sample-app-parameter-store"]},
        "policy": [{"actions": ["ssm:GetParameters"],
                    "resources": ["arn:aws:ssm:${awsRegion}:${awsAccountId}:parameter/sample-app/db/*"]}]}},
      {"aws.iam.createRole": {"roleName": "OtherClusterRole",
        "trust": {"issuer": "https://oidc.eks.${awsRegion}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
                  "subjectsLike": ["system:serviceaccount:${namespace}:*"]},
        "policy": [{"actions": ["secretsmanager:GetSecretValue"], "resources": ["*"]}]}},
      {"aws.iam.createRole": {"roleName": "OtherAccountRole", "accountId": "210987654321",
        "trust": {"issuer": "${awsOidcIssuer}", "subjectsLike": ["system:serviceaccount:${namespace}:*"]},
        "policy": [{"actions": ["secretsmanager:GetSecretValue"], "resources": ["*"]}]}}
    ]"#);
    let actions: Vec<secretbench::scenario::model::BackendAction> =
        serde_json::from_str(&actions).unwrap();
    for a in &actions {
        backend.act(a).await.unwrap();
    }
    // An OIDC provider for that other cluster exists in the account (its roles were made for it).
    apply_seed(
        running.url("aws").unwrap(),
        &json!({"aws": {"openIdConnectProviders": [{"url": format!("https://oidc.eks.{}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE", aws::REGION)}]}}),
    )
    .await;
    IrsaEnv {
        aws_url: running.url("aws").unwrap().to_owned(),
        _running: running,
        _dir: dir,
        backend,
        https_port,
        ca_pem,
        key,
        namespace,
    }
}

fn role(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

impl IrsaEnv {
    /// The provider's STS client: `sts.New(sts.Options{Region})`, so `sts.<region>.amazonaws.com`
    /// over HTTPS with the system roots, here the emulator's CA alone (SSL_CERT_DIR) and the name
    /// resolved by hostAliases. Only the port differs from the cluster's 443.
    fn sts(&self) -> aws_sdk_sts::Client {
        use aws_smithy_http_client::tls;
        let trust = tls::TrustStore::empty().with_pem_certificate(self.ca_pem.clone());
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(
                tls::TlsContext::builder()
                    .with_trust_store(trust)
                    .build()
                    .unwrap(),
            )
            .build_with_resolver(HostAliases([127, 0, 0, 1].into()));
        let config = aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new(aws::REGION))
            .endpoint_url(format!(
                "https://{}:{}",
                secretbench_emulators::aws::tls::regional_sts_host(aws::REGION),
                self.https_port
            ))
            .http_client(http)
            .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_sts::Client::from_conf(config)
    }

    fn token(&self, sa: &str) -> String {
        sa_token(&self.key, ISSUER, aws::IRSA_AUDIENCE, self.namespace, sa)
    }

    /// The exchange as the provider's `stscreds.WebIdentityRoleProvider` makes it (session name:
    /// the time in nanoseconds).
    async fn assume(
        &self,
        role_arn: &str,
        token: &str,
    ) -> Result<
        Credentials,
        aws_sdk_sts::error::SdkError<
            aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError,
        >,
    > {
        let out = self
            .sts()
            .assume_role_with_web_identity()
            .role_arn(role_arn)
            .role_session_name("1767225600000000000")
            .web_identity_token(token)
            .send()
            .await?;
        let c = out.credentials().unwrap();
        assert_eq!(
            out.assumed_role_user().unwrap().arn(),
            format!(
                "arn:aws:sts::{}:assumed-role/{}/1767225600000000000",
                aws::ACCOUNT_ID,
                role_arn.rsplit('/').next().unwrap()
            )
        );
        Ok(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "irsa",
        ))
    }
}

fn sts_error(
    e: &aws_sdk_sts::error::SdkError<
        aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError,
    >,
) -> (u16, String, String) {
    use aws_sdk_sts::error::ProvideErrorMetadata;
    (
        e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0),
        e.code().unwrap_or_default().to_owned(),
        e.message().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn irsa_as_seed_001_sets_it_up_reads_with_each_role_over_https_sts() {
    let e = irsa_env().await;
    let account = aws::ACCOUNT_ID;

    // Step 1: the Secrets Manager role, then GetSecretValue as the provider's first mount does.
    let creds = e
        .assume(
            &role(account, "MySampleAppSecretsManager"),
            &e.token("sample-app-secrets-manager"),
        )
        .await
        .unwrap();
    let sm = aws_sdk_secretsmanager::Client::new(&sdk_config(&e.aws_url, creds).await);
    let value = sm
        .get_secret_value()
        .secret_id("MyDBSecret")
        .send()
        .await
        .unwrap();
    assert_eq!(
        value.secret_string(),
        Some(r#"{"username":"mamezou-tech", "password":"my-super-secret-password"}"#)
    );
    // The remount's DescribeSecret (version check) is allowed too.
    let described = sm
        .describe_secret()
        .secret_id("MyDBSecret")
        .send()
        .await
        .unwrap();
    assert!(described.arn().unwrap().contains(":secret:MyDBSecret-"));

    // Step 2: the second ServiceAccount's role reads the parameters, and only them.
    let creds = e
        .assume(
            &role(account, "MySampleAppParameterStore"),
            &e.token("sample-app-parameter-store"),
        )
        .await
        .unwrap();
    let ssm = aws_sdk_ssm::Client::new(&sdk_config(&e.aws_url, creds.clone()).await);
    let params = ssm
        .get_parameters()
        .names("/sample-app/db/username")
        .names("/sample-app/db/password")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    let got: Vec<(&str, &str)> = params
        .parameters()
        .iter()
        .map(|p| (p.name().unwrap(), p.value().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("/sample-app/db/password", "my-super-secret-password"),
            ("/sample-app/db/username", "mamezou-tech")
        ]
    );
    let sm = aws_sdk_secretsmanager::Client::new(&sdk_config(&e.aws_url, creds).await);
    let denied = sm
        .get_secret_value()
        .secret_id("MyDBSecret")
        .send()
        .await
        .expect_err("the parameter-store role has no Secrets Manager rights");
    {
        use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
        assert_eq!(denied.code(), Some("AccessDeniedException"));
    }

    // The journal: the exchange (the token's subject, the role), then the read as the assumed role.
    let sts = e
        .backend
        .journal("sts", "AssumeRoleWithWebIdentity")
        .await
        .unwrap();
    assert_eq!(sts[0]["status"], 200);
    assert_eq!(
        sts[0]["identity"],
        format!(
            "system:serviceaccount:{}:sample-app-secrets-manager",
            e.namespace
        )
    );
    assert_eq!(
        sts[0]["keys"]["roleArn"],
        role(account, "MySampleAppSecretsManager")
    );
    let reads = e
        .backend
        .journal("secretsmanager", "GetSecretValue")
        .await
        .unwrap();
    assert_eq!(
        reads[0]["identity"],
        format!(
            "arn:aws:sts::{account}:assumed-role/MySampleAppSecretsManager/1767225600000000000"
        )
    );
    assert!(
        sts[0]["seq"].as_u64() < reads[0]["seq"].as_u64(),
        "exchange first"
    );
    // What a scenario's journal snapshot keeps of them.
    let redactor = secretbench::runner::snapshot::Redactor::new(e.namespace).unwrap();
    let shown = redactor.journal(&sts[..1]);
    assert_eq!(
        shown[0]["identity"],
        "system:serviceaccount:[namespace]:sample-app-secrets-manager"
    );
    assert_eq!(shown[0]["keys"]["roleSessionName"], "[session]");
    assert_eq!(shown[0]["keys"]["accessKeyId"], "[access-key-id]");
    assert_eq!(
        redactor.journal(&reads[..1])[0]["identity"],
        format!("arn:aws:sts::{account}:assumed-role/MySampleAppSecretsManager/[session]")
    );
}

#[tokio::test]
async fn irsa_refusals_carry_aws_codes_and_wording() {
    let e = irsa_env().await;
    let account = aws::ACCOUNT_ID;
    let sm_role = role(account, "MySampleAppSecretsManager");

    // A ServiceAccount outside the trust policy: STS's AccessDenied (403), which says nothing more.
    let outsider = e.assume(&sm_role, &e.token("intruder")).await.unwrap_err();
    assert_eq!(
        sts_error(&outsider),
        (
            403,
            "AccessDenied".into(),
            "Not authorized to perform sts:AssumeRoleWithWebIdentity".into()
        )
    );

    // A role whose policy does not cover the secret: Secrets Manager refuses the read.
    let creds = e
        .assume(&sm_role, &e.token("sample-app-secrets-manager"))
        .await
        .unwrap();
    let sm = aws_sdk_secretsmanager::Client::new(&sdk_config(&e.aws_url, creds).await);
    let uncovered = sm
        .get_secret_value()
        .secret_id("OtherSecret")
        .send()
        .await
        .unwrap_err();
    {
        use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
        assert_eq!(uncovered.raw_response().unwrap().status().as_u16(), 400);
        assert_eq!(uncovered.code(), Some("AccessDeniedException"));
        assert_eq!(
            uncovered.message(),
            Some(
                format!("User: arn:aws:sts::{account}:assumed-role/MySampleAppSecretsManager/1767225600000000000 is not authorized to perform: secretsmanager:GetSecretValue on resource: OtherSecret because no identity-based policy allows the secretsmanager:GetSecretValue action")
                    .as_str()
            )
        );
    }

    // Tokens the trust refuses: a role made for another cluster's OIDC provider...
    let other_cluster = e
        .assume(
            &role(account, "OtherClusterRole"),
            &e.token("sample-app-secrets-manager"),
        )
        .await
        .unwrap_err();
    assert_eq!(sts_error(&other_cluster).1, "AccessDenied");
    // ... a role in an account where this cluster's issuer is not registered ...
    let other_account = e
        .assume(
            &role("210987654321", "OtherAccountRole"),
            &e.token("sample-app-secrets-manager"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        sts_error(&other_account),
        (
            400,
            "InvalidIdentityToken".into(),
            format!("No OpenIDConnect provider found in your account for {ISSUER}")
        )
    );
    assert!(
        other_account
            .into_service_error()
            .is_invalid_identity_token_exception(),
        "a modeled, client-fault error: fatal to the provider's mount"
    );
    // ... the Pod Identity audience, a key the cluster does not publish, an expired token.
    let wrong_aud = sa_token(
        &e.key,
        ISSUER,
        aws::POD_IDENTITY_AUDIENCE,
        e.namespace,
        "sample-app-secrets-manager",
    );
    let err = e.assume(&sm_role, &wrong_aud).await.unwrap_err();
    assert_eq!(
        sts_error(&err),
        (
            400,
            "InvalidIdentityToken".into(),
            "Incorrect token audience".into()
        )
    );
    let forged = sa_token(
        &cluster_key(12),
        ISSUER,
        aws::IRSA_AUDIENCE,
        e.namespace,
        "sample-app-secrets-manager",
    );
    assert_eq!(
        sts_error(&e.assume(&sm_role, &forged).await.unwrap_err()).1,
        "InvalidIdentityToken"
    );
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("sa-key".into());
    let expired = jsonwebtoken::encode(
        &header,
        &json!({"iss": ISSUER, "aud": [aws::IRSA_AUDIENCE], "exp": now() - 5, "iat": now() - 3605,
                "sub": format!("system:serviceaccount:{}:sample-app-secrets-manager", e.namespace)}),
        &e.key.encoding,
    )
    .unwrap();
    let err = e.assume(&sm_role, &expired).await.unwrap_err();
    let (status, code, message) = sts_error(&err);
    assert_eq!((status, code.as_str()), (400, "ExpiredTokenException"));
    assert!(
        message.starts_with("Token expired: current date/time "),
        "{message}"
    );
    assert!(err.into_service_error().is_expired_token_exception());

    // The journal says why each trust refusal happened; AWS's answer never does.
    let refused: Vec<String> = e
        .backend
        .journal("sts", "AssumeRoleWithWebIdentity")
        .await
        .unwrap()
        .into_iter()
        .filter_map(|j| j["keys"]["refused"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        refused[..2],
        [
            format!(
                "the role does not trust the subject system:serviceaccount:{}:intruder",
                e.namespace
            ),
            format!(
                "the role trusts the OIDC provider https://oidc.eks.{}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE, not {ISSUER}",
                aws::REGION
            ),
        ]
    );
}

// ---- Vault ----

/// A stand-in for the API server's TokenReview endpoint: it records every review and vouches
/// for tokens signed by the cluster key when the caller is the reviewer.
#[derive(Clone, Default)]
struct FakeApi {
    reviews: Arc<Mutex<Vec<Value>>>,
}

const REVIEWER_JWT: &str = "reviewer-token-from-the-secret";

async fn token_review(
    axum::extract::State(api): axum::extract::State<FakeApi>,
    headers: axum::http::HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> (axum::http::StatusCode, axum::Json<Value>) {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    api.reviews
        .lock()
        .unwrap()
        .push(json!({"bearer": bearer, "spec": body["spec"]}));
    if bearer != format!("Bearer {REVIEWER_JWT}") {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            axum::Json(json!({"kind": "Status", "code": 401})),
        );
    }
    // The real API server checks the signature; here the claims are echoed back.
    let token = body["spec"]["token"].as_str().unwrap_or_default();
    let payload = token.split('.').nth(1).unwrap_or_default();
    let claims: Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let status = json!({
        "authenticated": true,
        "user": {
            "username": claims["sub"],
            "uid": claims["kubernetes.io"]["serviceaccount"]["uid"],
        },
        "audiences": body["spec"]["audiences"],
    });
    (
        axum::http::StatusCode::CREATED,
        axum::Json(
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status}),
        ),
    )
}

async fn fake_api() -> (String, FakeApi) {
    let api = FakeApi::default();
    let app = axum::Router::new()
        .route(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            axum::routing::post(token_review),
        )
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), api)
}

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
        let mut r = http().request(method.parse().unwrap(), format!("{}{path}", self.url));
        if let Some(t) = token {
            r = r.header("X-Vault-Token", t);
        }
        // The provider's Vault client always sends this header.
        r = r.header("X-Vault-Request", "true");
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
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
