//! Tenants inside one emulator process: two tenants of each service write the same names and each
//! sees only its own values, fault rules and journal entries, through real wire requests (the
//! official AWS SDK with credentials from the Pod Identity agent, vaultrs with a namespace, raw
//! Key Vault REST with an Entra token); tenants are listed, dropped, and reset with the rest.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use aws_credential_types::Credentials;
use reqwest::Method;
use secretbench_emulators::Options;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

const ACCOUNT_A: &str = "111111111111";
const ACCOUNT_B: &str = "222222222222";

fn loopback() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// All three services on ephemeral ports, in memory.
async fn all_three() -> common::Env {
    common::emulator_with(Options {
        aws: loopback(),
        azure: loopback(),
        vault: loopback(),
        ..Options::default()
    })
    .await
}

async fn admin(env: &common::Env, method: Method, path: &str, body: &str) -> (u16, Value) {
    let response = env
        .admin_request(method, path)
        .body(body.to_owned())
        .send()
        .await
        .expect("admin request");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, value)
}

fn journal_ops(journal: &Value) -> Vec<(String, Option<String>)> {
    journal["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["operation"].as_str().unwrap_or_default().to_owned(),
                e["tenant"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// AWS: by account, with the credentials a pod gets from the Pod Identity agent.

fn pod_token(namespace: &str) -> String {
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("i64");
    common::unsigned_jwt(&json!({
        "iss": "https://oidc.example/cluster",
        "sub": format!("system:serviceaccount:{namespace}:app"),
        "aud": ["pods.eks.amazonaws.com"],
        "exp": now + 3600,
        "iat": now - 10,
        "kubernetes.io": {
            "namespace": namespace,
            "pod": {"name": "web-0", "uid": "11111111-2222-3333-4444-555555555555"},
            "serviceaccount": {"name": "app", "uid": "66666666-7777-8888-9999-000000000000"}
        }
    }))
}

/// What the agent hands a pod of `namespace`, as SDK credentials, and the account it names.
async fn pod_credentials(env: &common::Env, namespace: &str) -> (Credentials, String) {
    let response = reqwest::Client::new()
        .get(format!("{}/v1/credentials", env.url))
        .header("authorization", pod_token(namespace))
        .send()
        .await
        .expect("agent request");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    let field = |k: &str| body[k].as_str().expect(k).to_owned();
    (
        Credentials::new(
            field("AccessKeyId"),
            field("SecretAccessKey"),
            Some(field("Token")),
            None,
            "pod-identity",
        ),
        field("AccountId"),
    )
}

async fn secrets_as(env: &common::Env, creds: Credentials) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&common::sdk_config(&env.url, "us-east-1", creds).await)
}

/// Each case namespace's pods get a role in the case's own account.
const AWS_SEED: &str = r#"
aws:
  podIdentityAssociations:
    - { namespace: case-a, serviceAccount: app, roleArn: "arn:aws:iam::111111111111:role/app" }
    - { namespace: case-b, serviceAccount: app, roleArn: "arn:aws:iam::222222222222:role/app" }
"#;

#[tokio::test]
async fn aws_accounts_keep_their_own_secrets_faults_and_journal() {
    let env = common::emulator().await;
    env.seed(AWS_SEED).await;
    let (creds_a, account_a) = pod_credentials(&env, "case-a").await;
    let (creds_b, account_b) = pod_credentials(&env, "case-b").await;
    assert_eq!(
        (account_a.as_str(), account_b.as_str()),
        (ACCOUNT_A, ACCOUNT_B)
    );
    let (a, b) = (
        secrets_as(&env, creds_a).await,
        secrets_as(&env, creds_b).await,
    );

    // The same name in both accounts, each with its own value and ARN.
    let made_a = a
        .create_secret()
        .name("db")
        .secret_string("alpha")
        .send()
        .await
        .expect("a");
    let made_b = b
        .create_secret()
        .name("db")
        .secret_string("bravo")
        .send()
        .await
        .expect("b");
    assert!(
        made_a
            .arn()
            .unwrap()
            .contains(&format!(":{ACCOUNT_A}:secret:db-"))
    );
    assert!(
        made_b
            .arn()
            .unwrap()
            .contains(&format!(":{ACCOUNT_B}:secret:db-"))
    );
    let read = |c: aws_sdk_secretsmanager::Client| async move {
        c.get_secret_value().secret_id("db").send().await
    };
    assert_eq!(
        read(a.clone()).await.expect("a").secret_string(),
        Some("alpha")
    );
    assert_eq!(
        read(b.clone()).await.expect("b").secret_string(),
        Some("bravo")
    );
    // The emulator's own account (static credentials) has none.
    let own = env.secretsmanager("us-east-1").await;
    assert!(read(own.clone()).await.is_err());

    // A fault for account A fires for A only.
    let (status, _) = admin(
        &env,
        Method::POST,
        &format!("/faults?tenant=aws/{ACCOUNT_A}"),
        r#"{"service":"secretsmanager","operation":"GetSecretValue","error":{"code":"InternalServiceError","status":500}}"#,
    )
    .await;
    assert_eq!(status, 201);
    let e = read(a.clone()).await.expect_err("fault in A");
    assert_eq!(
        e.into_service_error().meta().code(),
        Some("InternalServiceError")
    );
    assert_eq!(
        read(b.clone()).await.expect("B untouched").secret_string(),
        Some("bravo")
    );
    let (_, rules) = admin(
        &env,
        Method::GET,
        &format!("/faults?tenant=aws/{ACCOUNT_B}"),
        "",
    )
    .await;
    assert_eq!(rules["rules"], json!([]));
    let (_, rules) = admin(
        &env,
        Method::GET,
        &format!("/faults?tenant=aws/{ACCOUNT_A}"),
        "",
    )
    .await;
    assert_eq!(rules["rules"][0]["tenant"], format!("aws/{ACCOUNT_A}"));

    // The journal, per account; the default account's entries carry no tenant.
    let (_, journal_b) = admin(
        &env,
        Method::GET,
        &format!("/journal?tenant=aws/{ACCOUNT_B}"),
        "",
    )
    .await;
    let tenant_b = Some(format!("aws/{ACCOUNT_B}"));
    assert_eq!(
        journal_ops(&journal_b),
        [
            ("GetCredentials".to_owned(), tenant_b.clone()),
            ("CreateSecret".to_owned(), tenant_b.clone()),
            ("GetSecretValue".to_owned(), tenant_b.clone()),
            ("GetSecretValue".to_owned(), tenant_b.clone()),
        ]
    );
    let (_, journal_own) = admin(&env, Method::GET, "/journal?tenant=aws/123456789012", "").await;
    assert_eq!(
        journal_ops(&journal_own),
        [("GetSecretValue".to_owned(), None)]
    );

    // Dropping A takes its secrets, rules and entries; B stays.
    let (status, _) = admin(
        &env,
        Method::DELETE,
        &format!("/tenants/aws/{ACCOUNT_A}"),
        "",
    )
    .await;
    assert_eq!(status, 204);
    let e = read(a.clone()).await.expect_err("A is gone");
    assert_eq!(
        e.into_service_error().meta().code(),
        Some("ResourceNotFoundException")
    );
    let (_, journal_a) = admin(
        &env,
        Method::GET,
        &format!("/journal?tenant=aws/{ACCOUNT_A}"),
        "",
    )
    .await;
    assert_eq!(
        journal_ops(&journal_a),
        [(
            "GetSecretValue".to_owned(),
            Some(format!("aws/{ACCOUNT_A}"))
        )]
    );
    assert_eq!(
        read(b.clone()).await.expect("B stays").secret_string(),
        Some("bravo")
    );
    let (status, body) = admin(&env, Method::DELETE, "/tenants/aws/123456789012", "").await;
    assert_eq!(status, 409, "{body}");

    // STS too: a role assumed in account B yields credentials that act in B.
    let mut claims = serde_json::from_slice::<Value>(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            pod_token("case-b").split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    claims["aud"] = json!(["sts.amazonaws.com"]);
    let assumed = env
        .sts("us-east-1")
        .await
        .assume_role_with_web_identity()
        .role_arn(format!("arn:aws:iam::{ACCOUNT_B}:role/ci"))
        .role_session_name("ci")
        .web_identity_token(common::unsigned_jwt(&claims))
        .send()
        .await
        .expect("assume");
    assert_eq!(
        assumed.assumed_role_user().unwrap().arn(),
        format!("arn:aws:sts::{ACCOUNT_B}:assumed-role/ci/ci")
    );
    let c = assumed.credentials().unwrap();
    let creds = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "sts",
    );
    let sts_b =
        aws_sdk_sts::Client::new(&common::sdk_config(&env.url, "us-east-1", creds.clone()).await);
    let me = sts_b.get_caller_identity().send().await.expect("who am I");
    assert_eq!(me.account(), Some(ACCOUNT_B));
    let via_sts = secrets_as(&env, creds).await;
    assert_eq!(
        read(via_sts).await.expect("B's secret").secret_string(),
        Some("bravo")
    );
    env.running.shutdown().await;
}

#[tokio::test]
async fn aws_tenant_seeds_and_resets_touch_one_account() {
    let env = common::emulator().await;
    let seed = |account: &str, value: &str| {
        format!(
            "aws:\n  secrets:\n    - {{ name: db, secretString: {value} }}\n  parameters:\n    - {{ name: /app/db, value: {value} }}\n  users:\n    - {{ accessKeyId: AKIA{account}, secretAccessKey: s, arn: 'arn:aws:iam::{account}:user/ci' }}\n"
        )
    };
    for (account, value) in [(ACCOUNT_A, "alpha"), (ACCOUNT_B, "bravo")] {
        let (status, body) = admin(
            &env,
            Method::POST,
            &format!("/seed?tenant=aws/{account}"),
            &seed(account, value),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let user =
        |account: &str| Credentials::new(format!("AKIA{account}"), "s", None, None, "static");
    let ssm_of = |account: &'static str| {
        let url = env.url.clone();
        async move {
            aws_sdk_ssm::Client::new(&common::sdk_config(&url, "us-east-1", user(account)).await)
        }
    };
    let (ssm_a, ssm_b) = (ssm_of(ACCOUNT_A).await, ssm_of(ACCOUNT_B).await);
    let value = |c: aws_sdk_ssm::Client| async move {
        c.get_parameter()
            .name("/app/db")
            .send()
            .await
            .ok()
            .and_then(|o| o.parameter)
            .and_then(|p| p.value)
    };
    assert_eq!(value(ssm_a.clone()).await.as_deref(), Some("alpha"));
    assert_eq!(value(ssm_b.clone()).await.as_deref(), Some("bravo"));

    // A seed for a tenant cannot move the emulator's account, nor hold another service.
    let (status, _) = admin(
        &env,
        Method::POST,
        &format!("/seed?tenant=aws/{ACCOUNT_A}"),
        "aws:\n  accountId: '333333333333'\n",
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = admin(
        &env,
        Method::POST,
        &format!("/seed?tenant=aws/{ACCOUNT_A}"),
        "vault:\n  kv: []\n",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = admin(&env, Method::POST, "/reset?tenant=aws/12", "").await;
    assert_eq!(status, 400);

    let (status, _) = admin(
        &env,
        Method::POST,
        &format!("/reset?tenant=aws/{ACCOUNT_A}"),
        "",
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(value(ssm_a.clone()).await, None);
    assert_eq!(value(ssm_b.clone()).await.as_deref(), Some("bravo"));
    let (_, state) = admin(
        &env,
        Method::GET,
        &format!("/state?tenant=aws/{ACCOUNT_B}"),
        "",
    )
    .await;
    assert_eq!(state["accountId"], ACCOUNT_B);
    assert!(
        state["regions"]["us-east-1"]["secrets"]
            .to_string()
            .contains("bravo")
    );
    env.running.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Vault: by namespace.

fn vault_client(url: &str, token: &str, namespace: Option<&str>) -> vaultrs::client::VaultClient {
    let mut settings = vaultrs::client::VaultClientSettingsBuilder::default();
    settings.address(url).token(token);
    if let Some(ns) = namespace {
        settings.set_namespace(ns.to_owned());
    }
    vaultrs::client::VaultClient::new(settings.build().expect("settings")).expect("client")
}

async fn vault_raw(url: &str, path: &str, namespace: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .get(format!("{url}{path}"))
        .header("X-Vault-Token", "root");
    if let Some(ns) = namespace {
        request = request.header("X-Vault-Namespace", ns);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn vault_namespaces_keep_their_own_secrets_faults_and_journal() {
    let env = all_three().await;
    let url = env.running.url("vault").expect("vault").to_owned();
    let (status, body) = admin(&env, Method::PUT, "/tenants/vault/case-a", "").await;
    assert_eq!((status, body["created"].clone()), (201, json!(true)));
    let (status, _) = admin(&env, Method::PUT, "/tenants/vault/case-a", "").await;
    assert_eq!(status, 200, "creating twice is harmless");
    for (ns, value) in [("case-a", "alpha"), ("case-b", "bravo")] {
        let seed = format!(
            "vault:\n  mounts:\n    - {{ path: secret, type: kv-v2 }}\n  kv:\n    - {{ mount: secret, path: db, data: {{ password: {value} }} }}\n"
        );
        let (status, body) = admin(
            &env,
            Method::POST,
            &format!("/seed?tenant=vault/{ns}"),
            &seed,
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let read = |ns: Option<&'static str>| {
        let url = url.clone();
        async move {
            let client = vault_client(&url, "root", ns);
            vaultrs::kv2::read::<Value>(&client, "secret", "db").await
        }
    };
    assert_eq!(read(Some("case-a")).await.expect("a")["password"], "alpha");
    assert_eq!(read(Some("case-b")).await.expect("b")["password"], "bravo");
    assert!(
        read(None).await.is_err(),
        "the root namespace has no such secret"
    );
    // The path prefix form reaches the same namespace.
    let (status, text) = vault_raw(&url, "/v1/case-b/secret/data/db", None).await;
    assert_eq!(status, 200);
    assert!(text.contains("bravo"));
    // Vault echoes the header, and keeps some sys endpoints to the root namespace.
    let response = reqwest::Client::new()
        .get(format!("{url}/v1/sys/health"))
        .header("X-Vault-Namespace", "case-a")
        .send()
        .await
        .expect("health");
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["x-vault-namespace"], "case-a");
    assert_eq!(
        response.text().await.unwrap().trim(),
        r#"{"errors":["operation unavailable in namespaces"]}"#
    );
    // A namespace that does not exist is refused as Vault refuses it.
    let (status, text) = vault_raw(&url, "/v1/secret/data/db", Some("nope")).await;
    assert_eq!(
        (status, text.trim()),
        (403, r#"{"errors":["permission denied"]}"#)
    );

    // A fault for case-a only.
    let (status, _) = admin(
        &env,
        Method::POST,
        "/faults?tenant=vault/case-a",
        r#"{"service":"vault","error":{"code":"unavailable","status":503,"message":"injected"}}"#,
    )
    .await;
    assert_eq!(status, 201);
    let (status, text) = vault_raw(&url, "/v1/secret/data/db", Some("case-a")).await;
    assert_eq!((status, text.trim()), (503, r#"{"errors":["injected"]}"#));
    assert_eq!(
        read(Some("case-b")).await.expect("b untouched")["password"],
        "bravo"
    );
    // A rule's service must be one the tenant's requests can have.
    let (status, _) = admin(
        &env,
        Method::POST,
        "/faults?tenant=vault/case-a",
        r#"{"service":"keyvault","error":{"code":"x","status":500}}"#,
    )
    .await;
    assert_eq!(status, 400);

    let (_, journal) = admin(&env, Method::GET, "/journal?tenant=vault/case-b", "").await;
    let ops = journal_ops(&journal);
    assert!(!ops.is_empty());
    assert!(
        ops.iter()
            .all(|(_, t)| t.as_deref() == Some("vault/case-b")),
        "{ops:?}"
    );
    let (_, root) = admin(&env, Method::GET, "/journal?tenant=vault/root", "").await;
    assert!(journal_ops(&root).iter().all(|(_, t)| t.is_none()));
    assert!(
        !journal_ops(&root).is_empty(),
        "the read in root is root's (the refusal belongs to no tenant)"
    );

    // The list, then dropping case-a: its requests are refused like any unknown namespace.
    let (_, list) = admin(&env, Method::GET, "/tenants", "").await;
    let ids: Vec<&str> = list["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    for id in [
        "aws/123456789012",
        "azure/dev",
        "vault/root",
        "vault/case-a",
        "vault/case-b",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    let (status, _) = admin(&env, Method::DELETE, "/tenants/vault/case-a", "").await;
    assert_eq!(status, 204);
    let (status, _) = vault_raw(&url, "/v1/secret/data/db", Some("case-a")).await;
    assert_eq!(status, 403, "the fault went with it; the namespace is gone");
    let (status, _) = admin(&env, Method::DELETE, "/tenants/vault/case-a", "").await;
    assert_eq!(status, 404);
    let (status, _) = admin(&env, Method::DELETE, "/tenants/vault/root", "").await;
    assert_eq!(status, 409);
    let (status, _) = admin(&env, Method::PUT, "/tenants/vault/sys", "").await;
    assert_eq!(status, 400, "reserved name");

    // A global reset forgets every tenant of every service.
    let (status, _) = admin(&env, Method::POST, "/reset", "").await;
    assert_eq!(status, 204);
    let (_, list) = admin(&env, Method::GET, "/tenants", "").await;
    let ids: Vec<&str> = list["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["aws/123456789012", "azure/dev", "vault/root"]);
    env.running.shutdown().await;
}

#[tokio::test]
async fn vault_tokens_and_logins_belong_to_their_namespace() {
    let env = all_three().await;
    let url = env.running.url("vault").expect("vault").to_owned();
    let seed = "vault:\n  mounts:\n    - { path: secret, type: kv-v2 }\n  kv:\n    - { mount: secret, path: db, data: { password: alpha } }\n  policies:\n    - { name: reader, rules: 'path \"secret/data/*\" { capabilities = [\"read\"] }' }\n  tokens:\n    - { id: case-a-token, policies: [reader] }\n";
    let (status, body) = admin(&env, Method::POST, "/seed?tenant=vault/case-a", seed).await;
    assert_eq!(status, 200, "{body}");
    admin(&env, Method::PUT, "/tenants/vault/case-b", "").await;
    let a = vault_client(&url, "case-a-token", Some("case-a"));
    assert_eq!(
        vaultrs::kv2::read::<Value>(&a, "secret", "db")
            .await
            .expect("read")["password"],
        "alpha"
    );
    // The same token means nothing in another namespace, nor in root.
    let b = vault_client(&url, "case-a-token", Some("case-b"));
    assert!(
        vaultrs::kv2::read::<Value>(&b, "secret", "db")
            .await
            .is_err()
    );
    let root = vault_client(&url, "case-a-token", None);
    assert!(
        vaultrs::kv2::read::<Value>(&root, "secret", "db")
            .await
            .is_err()
    );
    // A seed for a namespace cannot change the root token.
    let (status, _) = admin(
        &env,
        Method::POST,
        "/seed?tenant=vault/case-b",
        "vault:\n  rootToken: other\n",
    )
    .await;
    assert_eq!(status, 400);
    // Changed at the root, it changes in every namespace: the old one stops working there too.
    let (status, _) = admin(&env, Method::POST, "/seed", "vault:\n  rootToken: other\n").await;
    assert_eq!(status, 200);
    let old = vault_client(&url, "root", Some("case-a"));
    assert!(
        vaultrs::kv2::read::<Value>(&old, "secret", "db")
            .await
            .is_err()
    );
    let new = vault_client(&url, "other", Some("case-a"));
    let read = vaultrs::kv2::read::<Value>(&new, "secret", "db").await;
    assert_eq!(read.expect("read")["password"], "alpha");
    env.running.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Azure: by vault name.

struct Kv {
    http: reqwest::Client,
    port: u16,
    token: String,
}

impl Kv {
    async fn new(env: &common::Env) -> Self {
        let endpoint = env.running.endpoints.get("azure").expect("azure").clone();
        let addr: SocketAddr = endpoint
            .url
            .strip_prefix("https://")
            .unwrap()
            .parse()
            .unwrap();
        let ca = std::fs::read_to_string(endpoint.info["caFile"].as_str().unwrap()).unwrap();
        let mut builder = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()]);
        for host in [
            "case-a.vault.localhost",
            "case-b.vault.localhost",
            "localhost",
        ] {
            builder = builder.resolve(host, addr);
        }
        let http = builder.build().unwrap();
        let field = |k: &str| endpoint.info[k].as_str().unwrap().to_owned();
        let body = serde_urlencoded::to_string([
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", field("clientId")),
            ("client_secret", field("clientSecret")),
            (
                "scope",
                format!("https://vault.localhost:{}/.default", addr.port()),
            ),
        ])
        .unwrap();
        let response = http
            .post(format!(
                "https://localhost:{}/{}/oauth2/v2.0/token",
                addr.port(),
                field("tenantId")
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("token");
        let token: Value = response.json().await.expect("json");
        Self {
            http,
            port: addr.port(),
            token: token["access_token"].as_str().expect("token").to_owned(),
        }
    }

    async fn call(
        &self,
        method: Method,
        vault: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(
                method,
                format!(
                    "https://{vault}.vault.localhost:{}{path}?api-version=7.4",
                    self.port
                ),
            )
            .bearer_auth(&self.token);
        if let Some(b) = body {
            request = request
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn azure_vaults_keep_their_own_secrets_faults_and_journal() {
    let env = all_three().await;
    for name in ["case-a", "case-b"] {
        let (status, _) = admin(&env, Method::PUT, &format!("/tenants/azure/{name}"), "").await;
        assert_eq!(status, 201);
    }
    let kv = Kv::new(&env).await;
    for (vault, value) in [("case-a", "alpha"), ("case-b", "bravo")] {
        let (status, body) = kv
            .call(
                Method::PUT,
                vault,
                "/secrets/db",
                Some(json!({ "value": value })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        kv.call(Method::GET, "case-a", "/secrets/db", None).await.1["value"],
        "alpha"
    );
    assert_eq!(
        kv.call(Method::GET, "case-b", "/secrets/db", None).await.1["value"],
        "bravo"
    );

    let (status, _) = admin(
        &env,
        Method::POST,
        "/faults?tenant=azure/CASE-A",
        r#"{"service":"keyvault","operation":"GetSecret","error":{"code":"Throttled","status":429}}"#,
    )
    .await;
    assert_eq!(status, 201, "names are case-insensitive");
    let (status, body) = kv.call(Method::GET, "case-a", "/secrets/db", None).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (429, json!("Throttled"))
    );
    assert_eq!(
        kv.call(Method::GET, "case-b", "/secrets/db", None).await.0,
        200
    );

    let (_, journal) = admin(&env, Method::GET, "/journal?tenant=azure/case-a", "").await;
    assert_eq!(
        journal_ops(&journal),
        [
            ("SetSecret".to_owned(), Some("azure/case-a".to_owned())),
            ("GetSecret".to_owned(), Some("azure/case-a".to_owned())),
            ("GetSecret".to_owned(), Some("azure/case-a".to_owned())),
        ]
    );

    // Reset empties case-a (its rules and entries too); the vault stays usable.
    let (status, _) = admin(&env, Method::POST, "/reset?tenant=azure/case-a", "").await;
    assert_eq!(status, 204);
    let (status, body) = kv.call(Method::GET, "case-a", "/secrets/db", None).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (404, json!("SecretNotFound"))
    );
    let (_, journal) = admin(&env, Method::GET, "/journal?tenant=azure/case-a", "").await;
    assert_eq!(
        journal_ops(&journal).len(),
        1,
        "only the read after the reset"
    );
    assert_eq!(
        kv.call(Method::GET, "case-b", "/secrets/db", None).await.1["value"],
        "bravo"
    );

    // Dropped, the vault is no more.
    let (status, _) = admin(&env, Method::DELETE, "/tenants/azure/case-b", "").await;
    assert_eq!(status, 204);
    let (status, body) = kv.call(Method::GET, "case-b", "/secrets/db", None).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (404, json!("VaultNotFound"))
    );
    let (status, _) = admin(&env, Method::DELETE, "/tenants/azure/dev", "").await;
    assert_eq!(status, 409);
    env.running.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Persistence: tenants survive a restart.

#[tokio::test]
async fn tenants_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = || Options {
        aws: loopback(),
        vault: loopback(),
        azure: loopback(),
        state_dir: Some(dir.path().to_owned()),
        ..Options::default()
    };
    let env = common::emulator_with(options()).await;
    let seeds = [
        (
            "aws/111111111111",
            "aws:\n  secrets:\n    - { name: db, secretString: alpha }\n",
        ),
        (
            "vault/case-a",
            "vault:\n  mounts:\n    - { path: secret, type: kv-v2 }\n  kv:\n    - { mount: secret, path: db, data: { password: alpha } }\n",
        ),
        (
            "azure/case-a",
            "azure:\n  vaults:\n    - { name: case-a, secrets: [ { name: db, value: alpha } ] }\n",
        ),
    ];
    for (tenant, seed) in seeds {
        let (status, body) =
            admin(&env, Method::POST, &format!("/seed?tenant={tenant}"), seed).await;
        assert_eq!(status, 200, "{tenant}: {body}");
    }
    env.running.shutdown().await;

    let env = common::emulator_with(options()).await;
    let (_, list) = admin(&env, Method::GET, "/tenants", "").await;
    let ids: Vec<&str> = list["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    for (tenant, _) in seeds {
        assert!(ids.contains(&tenant), "{tenant} in {ids:?}");
        let (status, state) =
            admin(&env, Method::GET, &format!("/state?tenant={tenant}"), "").await;
        assert_eq!(status, 200);
        assert!(state.to_string().contains("alpha"), "{tenant}: {state}");
    }
    env.running.shutdown().await;
}
