#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.
//! The runner's backend actions against in-process emulators: every action goes through the
//! service's own API (AWS JSON protocol, Key Vault REST with an Entra token for the wiring's
//! principal, Vault HTTP), and fault rules and the journal through the admin API.

use std::net::SocketAddr;
use std::path::Path;

use secretbench::runner::backend::Backend;
use secretbench::scenario::model::BackendAction;
use secretbench::wiring::Endpoints;
use secretbench::wiring::azure;
use secretbench_emulators::{Options, Running, start};
use serde_json::json;

fn loopback() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 0)))
}

fn action(v: serde_json::Value) -> BackendAction {
    serde_json::from_value(v).unwrap()
}

/// The three emulators on loopback (keeping their state in `state_dir`, if given) and a
/// backend for them, reset. Keep the first value alive: dropping it stops the emulators.
async fn started(state_dir: Option<&Path>) -> (Running, Endpoints, Backend) {
    let running = start(Options {
        aws: loopback(),
        azure: loopback(),
        vault: loopback(),
        state_dir: state_dir.map(Path::to_owned),
        ..Options::default()
    })
    .await
    .unwrap();
    let endpoints = Endpoints::from_ready_line(&running.ready_line()).unwrap();
    let b = Backend::new(endpoints.clone(), "127.0.0.1", "us-east-1").unwrap();
    b.reset().await.unwrap();
    (running, endpoints, b)
}

/// The wiring's Entra tenant and principal, which Key Vault actions authenticate as.
async fn seed_azure(b: &Backend, endpoints: &Endpoints) {
    let azure_port = secretbench::wiring::ready_port(&endpoints.azure_url, 0);
    b.seed(&azure::seed(azure_port)).await.unwrap();
}

#[tokio::test]
async fn actions_faults_and_journal_reach_the_emulators() {
    let dir = tempfile::tempdir().unwrap();
    let (_running, endpoints, b) = started(Some(dir.path())).await;
    seed_azure(&b, &endpoints).await;

    // AWS: create, update, read back through the journal; a second region is its own.
    b.act(&action(
        json!({"aws.secretsmanager.createSecret": {"name": "joke", "secretString": "v1"}}),
    ))
    .await
    .unwrap();
    b.act(&action(
        json!({"aws.secretsmanager.putSecretValue": {"secretId": "joke", "secretString": "v2"}}),
    ))
    .await
    .unwrap();
    b.act(&action(json!({"aws.secretsmanager.createSecret": {"name": "joke", "secretString": "w", "region": "us-west-2"}})))
        .await
        .unwrap();
    let err = b
        .act(&action(
            json!({"aws.secretsmanager.createSecret": {"name": "joke", "secretString": "again"}}),
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ResourceExistsException"), "{err}");
    b.act(&action(
        json!({"aws.ssm.putParameter": {"name": "/a/b", "value": "x", "type": "SecureString"}}),
    ))
    .await
    .unwrap();
    b.act(&action(
        json!({"aws.ssm.deleteParameter": {"name": "/a/b"}}),
    ))
    .await
    .unwrap();
    let creates = b.journal("secretsmanager", "CreateSecret").await.unwrap();
    let regions: Vec<_> = creates
        .iter()
        .map(|e| (e["region"].clone(), e["status"].clone()))
        .collect();
    assert_eq!(
        regions,
        vec![
            (json!("us-east-1"), json!(200)),
            (json!("us-west-2"), json!(200)),
            (json!("us-east-1"), json!(400))
        ]
    );

    // Key Vault: set twice (two versions), delete; with the wiring's principal and vault.
    for v in ["first", "second"] {
        b.act(&action(
            json!({"azure.setSecret": {"vault": azure::VAULT, "name": "db", "value": v}}),
        ))
        .await
        .unwrap();
    }
    let sets = b.journal("keyvault", "SetSecret").await.unwrap();
    assert_eq!(
        sets.iter().filter(|e| e["status"] == 200).count(),
        2,
        "{sets:?}"
    );
    b.act(&action(
        json!({"azure.deleteSecret": {"vault": azure::VAULT, "name": "db"}}),
    ))
    .await
    .unwrap();
    let err = b
        .act(&action(
            json!({"azure.deleteSecret": {"vault": azure::VAULT, "name": "db"}}),
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");

    // Vault: KV v2 put and delete.
    b.act(&action(
        json!({"vault.kv2.put": {"mount": "secret", "path": "app/db", "data": {"password": "p"}}}),
    ))
    .await
    .unwrap();
    b.act(&action(
        json!({"vault.kv2.delete": {"mount": "secret", "path": "app/db"}}),
    ))
    .await
    .unwrap();

    // Faults: a rule makes the next call fail with its code; clearing it restores service.
    let rule = serde_json::from_value(json!({"service": "secretsmanager", "operation": "PutSecretValue", "status": 503, "code": "ServiceUnavailable"})).unwrap();
    b.add_fault(&rule).await.unwrap();
    let put = action(
        json!({"aws.secretsmanager.putSecretValue": {"secretId": "joke", "secretString": "v3"}}),
    );
    let err = b.act(&put).await.unwrap_err();
    assert!(
        err.to_string().contains("503") && err.to_string().contains("ServiceUnavailable"),
        "{err}"
    );
    b.clear_faults(Some("secretsmanager")).await.unwrap();
    b.act(&put).await.unwrap();

    // Reset empties everything: the secret is gone.
    b.reset().await.unwrap();
    assert!(
        b.journal("secretsmanager", "CreateSecret")
            .await
            .unwrap()
            .is_empty()
    );
    b.act(&action(
        json!({"aws.secretsmanager.createSecret": {"name": "joke", "secretString": "fresh"}}),
    ))
    .await
    .unwrap();
}

/// The report reads the journal as the admin API serves it: every entry parses, on the wall
/// clock, with its latency, and the provider-style reads are the ones rotation latency counts.
#[tokio::test]
async fn the_report_reads_the_emulators_journal() {
    use secretbench::report::rotation::is_secret_read;
    use secretbench::runner::timeline::{journal_entry, now};

    let (_running, endpoints, b) = started(None).await;
    let before = now();
    b.act(&action(
        json!({"aws.secretsmanager.createSecret": {"name": "joke", "secretString": "v1"}}),
    ))
    .await
    .unwrap();
    // A read as the AWS provider makes it (JSON protocol, region from the credential scope).
    let read = reqwest::Client::new()
        .post(format!("{}/", endpoints.aws_url))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "secretsmanager.GetSecretValue")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAX/20250101/us-east-1/secretsmanager/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
        .body(r#"{"SecretId": "joke"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let after = now() + time::Duration::milliseconds(1);
    let all = b.journal_all().await.unwrap();
    let raw = all["entries"].as_array().unwrap();
    let entries: Vec<_> = raw.iter().filter_map(journal_entry).collect();
    assert_eq!(entries.len(), raw.len(), "{all:#}");
    let ops: Vec<(&str, &str, u16)> = entries
        .iter()
        .map(|e| (e.service.as_str(), e.operation.as_str(), e.status))
        .collect();
    assert_eq!(
        ops,
        [
            ("secretsmanager", "CreateSecret", 200),
            ("secretsmanager", "GetSecretValue", 200)
        ]
    );
    for e in &entries {
        assert!(
            e.at >= before && e.at <= after,
            "{e:?} not in [{before}, {after}]"
        );
        assert!(e.latency_ms > 0.0, "{e:?}");
        assert_eq!(e.region.as_deref(), Some("us-east-1"));
    }
    assert_eq!(entries[1].keys["secretId"], "joke");
    assert!(!is_secret_read(&entries[0].operation) && is_secret_read(&entries[1].operation));
}

/// Key Vault certificates and keys as the scenario `azure-certs-keys` makes them: its committed
/// PEM and PKCS#12 fixtures import (the emulator reads the legacy PKCS#12 openssl wrote), the
/// certificate's key and managed secret come with it, and a created key has a public JWK.
#[tokio::test]
async fn certificates_import_from_scenario_files_and_keys_are_created() {
    use base64::Engine as _;
    let (_running, endpoints, b) = started(None).await;
    seed_azure(&b, &endpoints).await;
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/azure-certs-keys");

    b.act_in(
        &action(json!({"azure.importCertificate": {"vault": "secretbench", "name": "pemcert1", "file": "fixtures/pemcert1.pem"}})),
        &dir,
    )
    .await
    .unwrap();
    let pem = std::fs::read_to_string(dir.join("fixtures/pemcert1.pem")).unwrap();
    let secret = b
        .keyvault_get("secretbench", "secrets/pemcert1")
        .await
        .unwrap();
    assert_eq!(secret["contentType"], "application/x-pem-file");
    assert_eq!(
        secret["value"],
        pem.as_str(),
        "the PEM comes back as it went in"
    );
    assert!(secret["kid"].as_str().unwrap().contains("/keys/pemcert1/"));
    let cert = b
        .keyvault_get("secretbench", "certificates/pemcert1")
        .await
        .unwrap();
    let cer = base64::engine::general_purpose::STANDARD
        .decode(cert["cer"].as_str().unwrap())
        .unwrap();
    let begin = pem.find("-----BEGIN CERTIFICATE-----").unwrap();
    let body: String = pem[begin..]
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert_eq!(
        cer,
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    );
    let key = b
        .keyvault_get("secretbench", "keys/pemcert1")
        .await
        .unwrap();
    assert_eq!(key["key"]["kty"], "EC");

    b.act_in(
        &action(json!({"azure.importCertificate": {"vault": "secretbench", "name": "pkcs12cert1", "file": "fixtures/pkcs12cert1.pfx"}})),
        &dir,
    )
    .await
    .unwrap();
    let secret = b
        .keyvault_get("secretbench", "secrets/pkcs12cert1")
        .await
        .unwrap();
    assert_eq!(secret["contentType"], "application/x-pkcs12");
    let missing = b
        .act_in(
            &action(json!({"azure.importCertificate": {"vault": "secretbench", "name": "x", "file": "fixtures/none.pem"}})),
            &dir,
        )
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("none.pem"), "{missing}");

    b.act(&action(
        json!({"azure.createKey": {"vault": "secretbench", "name": "key1", "kty": "RSA", "keySize": 2048}}),
    ))
    .await
    .unwrap();
    let key = b.keyvault_get("secretbench", "keys/key1").await.unwrap();
    assert_eq!(key["key"]["kty"], "RSA");
    assert!(key["key"]["n"].as_str().is_some_and(|n| n.len() > 300));

    // Imported keys: a PEM private key goes as a JWK with its private parts; Key Vault keeps
    // them and answers with the public ones, which are the key's.
    for (name, file, public) in [
        ("rsakey1", "fixtures/rsakey1.pem", &["kty", "n", "e"][..]),
        (
            "eckey1",
            "fixtures/eckey1.pem",
            &["kty", "crv", "x", "y"][..],
        ),
        (
            "jwkkey1",
            "fixtures/jwkkey1.json",
            &["kty", "crv", "x", "y"][..],
        ),
    ] {
        b.act_in(
            &action(
                json!({"azure.importKey": {"vault": "secretbench", "name": name, "file": file}}),
            ),
            &dir,
        )
        .await
        .unwrap();
        let sent = secretbench::scenario::keyfile::read_jwk(&dir.join(file)).unwrap();
        assert!(sent["d"].is_string(), "{file}: the private key is sent");
        let got = b
            .keyvault_get("secretbench", &format!("keys/{name}"))
            .await
            .unwrap();
        for member in public {
            assert_eq!(got["key"][member], sent[member], "{file}: {member}");
        }
        assert!(
            got["key"]["d"].is_null(),
            "{file}: no private part comes back"
        );
        assert!(
            got["key"]["kid"]
                .as_str()
                .unwrap()
                .contains(&format!("/keys/{name}/"))
        );
    }
    // A certificate's PEM file holds its PKCS#8 key too: that key is the one imported.
    b.act_in(
        &action(json!({"azure.importKey": {"vault": "secretbench", "name": "pemkey", "file": "fixtures/pemcert1.pem"}})),
        &dir,
    )
    .await
    .unwrap();
    let imported = b.keyvault_get("secretbench", "keys/pemkey").await.unwrap();
    let of_cert = b
        .keyvault_get("secretbench", "keys/pemcert1")
        .await
        .unwrap();
    for member in ["kty", "crv", "x", "y"] {
        assert_eq!(imported["key"][member], of_cert["key"][member], "{member}");
    }
    let missing = b
        .act_in(
            &action(json!({"azure.importKey": {"vault": "secretbench", "name": "x", "file": "fixtures/none.pem"}})),
            &dir,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(missing.contains("none.pem"), "{missing}");
}

/// `aws.ssm.labelParameterVersion` as a scenario calls it: a label moves between versions;
/// SSM's errors (no such parameter or version, too many labels) fail the action, and so do
/// the labels SSM answers in `InvalidLabels` with a 200.
#[tokio::test]
async fn ssm_labels_move_and_refusals_fail_the_action() {
    let (_running, _, b) = started(None).await;
    for (value, overwrite) in [("v1", false), ("v2", true)] {
        b.act(&action(json!({"aws.ssm.putParameter": {"name": "/app/config", "value": value, "overwrite": overwrite}})))
            .await
            .unwrap();
    }
    b.act(&action(json!({"aws.ssm.labelParameterVersion": {"name": "/app/config", "version": 1, "labels": ["prod"]}})))
        .await
        .unwrap();
    b.act(&action(
        json!({"aws.ssm.labelParameterVersion": {"name": "/app/config", "labels": ["prod"]}}),
    ))
    .await
    .unwrap();
    let err = |v: serde_json::Value| {
        let b = b.clone();
        async move { b.act(&action(v)).await.unwrap_err().to_string() }
    };
    let e =
        err(json!({"aws.ssm.labelParameterVersion": {"name": "/app/config", "labels": ["1st"]}}))
            .await;
    assert!(e.contains("InvalidLabels") && e.contains("1st"), "{e}");
    let e = err(json!({"aws.ssm.labelParameterVersion": {"name": "/app/config", "version": 9, "labels": ["x"]}})).await;
    assert!(e.contains("ParameterVersionNotFound"), "{e}");
    let e = err(json!({"aws.ssm.labelParameterVersion": {"name": "/nope", "labels": ["x"]}})).await;
    assert!(e.contains("ParameterNotFound"), "{e}");
    // More than 10 in one call is a ValidationException; 10 on a version, then one more, is
    // the label limit.
    let many: Vec<String> = (0..11).map(|i| format!("l{i}")).collect();
    let e = err(json!({"aws.ssm.labelParameterVersion": {"name": "/app/config", "labels": many}}))
        .await;
    assert!(e.contains("ValidationException"), "{e}");
    let nine: Vec<String> = (0..9).map(|i| format!("l{i}")).collect();
    b.act(&action(
        json!({"aws.ssm.labelParameterVersion": {"name": "/app/config", "labels": nine}}),
    ))
    .await
    .unwrap();
    let e = err(
        json!({"aws.ssm.labelParameterVersion": {"name": "/app/config", "labels": ["one-more"]}}),
    )
    .await;
    assert!(e.contains("ParameterVersionLabelLimitExceeded"), "{e}");
    let read = b.journal("ssm", "LabelParameterVersion").await.unwrap();
    assert!(read.len() >= 2, "{read:?}");
}

/// `vault.kv2.put` / `kv1.put` write any JSON value (numbers, booleans, null, lists,
/// mappings) and Vault gives them back as JSON values, not text: what vault-csi-provider then
/// JSON-encodes for a non-string `secretKey`.
#[tokio::test]
async fn vault_values_that_are_not_text_go_in_as_json() {
    let (_running, endpoints, b) = started(None).await;
    let data = json!({"password": "s3cr3t", "port": 5432, "enabled": true, "ratio": 0.5,
                      "none": null, "hosts": ["a", 1], "db": {"user": "app", "port": 5432}});
    b.act(&action(
        json!({"vault.kv2.put": {"mount": "secret", "path": "app/db", "data": data}}),
    ))
    .await
    .unwrap();
    let read = reqwest::Client::new()
        .get(format!("{}/v1/secret/data/app/db", endpoints.vault_url))
        .header("x-vault-token", &endpoints.vault_token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let body: serde_json::Value = read.json().await.unwrap();
    assert_eq!(body["data"]["data"], data, "{body:#}");
    // Typed in YAML, the same values arrive as YAML typed them.
    let from_yaml: BackendAction = serde_saphyr::from_str(
        "vault.kv2.put: { mount: secret, path: app/db, data: { port: 5432, on: true, s: '5432' } }",
    )
    .unwrap();
    let BackendAction::VaultKv2Put(put) = from_yaml else {
        panic!("not a kv2 put")
    };
    assert_eq!(put.data["port"], json!(5432));
    assert_eq!(put.data["on"], json!(true));
    assert_eq!(put.data["s"], json!("5432"));
}

/// The Vault engines vault-csi-provider's own e2e configures, set up through the configuring
/// actions, then read as the provider reads them: PKI issue with PUT and `secretArgs` as the
/// body, database credentials with GET (each read a new user).
#[tokio::test]
async fn vault_pki_and_database_are_configured_by_actions() {
    let (_running, endpoints, b) = started(None).await;
    for a in [
        json!({"vault.secrets.enable": {"path": "pki", "type": "pki"}}),
        json!({"vault.pki.generateRoot": {"mount": "pki", "commonName": "example.com"}}),
        json!({"vault.pki.role": {"mount": "pki", "name": "example-dot-com",
                "allowedDomains": ["example.com"], "allowSubdomains": true}}),
        json!({"vault.secrets.enable": {"path": "database", "type": "database"}}),
        json!({"vault.database.config": {"mount": "database", "name": "postgres",
                "pluginName": "postgresql-database-plugin", "allowedRoles": ["*"],
                "connectionUrl": "postgres://{{username}}:{{password}}@postgres:5432/db",
                "username": "root", "password": "root-pw"}}),
        json!({"vault.database.role": {"mount": "database", "name": "test-role",
                "dbName": "postgres", "creationStatements": ["CREATE ROLE x"],
                "defaultTtl": "1h", "maxTtl": "24h"}}),
        json!({"vault.policy.write": {"name": "pki-policy",
                "rules": "path \"pki/issue/example-dot-com\" { capabilities = [\"update\"] }"}}),
    ] {
        b.act(&action(a.clone()))
            .await
            .unwrap_or_else(|e| panic!("{a}: {e}"));
    }
    // A Kubernetes role needs the auth method, which the wiring's seed enables.
    b.seed(
        &json!({"vault": {"auth": [{"path": "kubernetes", "type": "kubernetes",
        "config": {"kubernetesHost": "https://127.0.0.1:1", "disableLocalCaJwt": true}}]}}),
    )
    .await
    .unwrap();
    b.act(&action(
        json!({"vault.kubernetes.role": {"name": "pki-role",
        "boundServiceAccountNames": ["nginx-pki"], "boundServiceAccountNamespaces": ["test"],
        "audience": "vault", "policies": ["pki-policy"], "ttl": "20m"}}),
    ))
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
        let mut req = http
            .request(method, format!("{}/v1/{path}", endpoints.vault_url))
            .header("x-vault-token", &endpoints.vault_token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let path = path.to_owned();
        async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200, "{path}");
            resp.json::<serde_json::Value>().await.unwrap()
        }
    };
    let role = call(reqwest::Method::GET, "auth/kubernetes/role/pki-role", None).await;
    assert_eq!(role["data"]["token_ttl"], 1200, "{role:#}");
    let issued = call(
        reqwest::Method::PUT,
        "pki/issue/example-dot-com",
        Some(json!({"common_name": "test.example.com", "ttl": "24h"})),
    )
    .await;
    let check = |want: serde_json::Value| {
        let c: secretbench::scenario::model::Check =
            serde_json::from_value(json!({"value": "x", "certificate": want})).unwrap();
        secretbench::runner::values::Expectations::new(&c).unwrap()
    };
    let ca = issued["data"]["issuing_ca"].as_str().unwrap();
    let cert = issued["data"]["certificate"].as_str().unwrap();
    check(
        json!({"commonName": "test.example.com", "issuerCommonName": "example.com",
                 "dnsNames": ["test.example.com"], "signedBy": ca, "maxLifetime": "24h1m"}),
    )
    .test(cert)
    .unwrap();
    check(json!({"commonName": "example.com", "isCa": true}))
        .test(ca)
        .unwrap();
    let a = call(reqwest::Method::GET, "database/creds/test-role", None).await;
    let b2 = call(reqwest::Method::GET, "database/creds/test-role", None).await;
    assert_ne!(a["data"]["username"], b2["data"]["username"]);
    assert_eq!(a["lease_duration"], 3600);
}
