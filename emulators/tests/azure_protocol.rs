//! The Azure emulator's wire behaviour that no SDK exercises: Entra's endpoints and errors,
//! federated assertions, token checks, and Key Vault's answers to bad input.
#![allow(clippy::expect_used)] // a failed expectation is the test failing

mod azure_common;

use azure_common::{Az, form, start_emulator};
use serde_json::Value;

async fn post_token(az: &Az, tenant: &str, pairs: &[(&str, &str)]) -> (u16, Value) {
    let response = az
        .http()
        .post(format!("{}/{tenant}/oauth2/v2.0/token", az.login_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs))
        .send()
        .await
        .expect("token request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

async fn get_json(
    az: &Az,
    url: &str,
    token: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = az.http().get(url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn scope(az: &Az) -> String {
    format!(
        "https://vault.localhost:{}/.default openid offline_access profile",
        az.port()
    )
}

#[tokio::test]
async fn client_secret_grant_returns_a_numeric_expires_in() {
    let az = start_emulator().await;
    let scope = scope(&az);
    let (status, body) = post_token(
        &az,
        &az.tenant_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &az.client_id),
            ("client_secret", &az.client_secret),
            ("scope", &scope),
            ("client_info", "1"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(
        body["access_token"].as_str().map(|t| t.split('.').count()),
        Some(3)
    );
}

#[tokio::test]
async fn token_endpoint_errors_use_entras_shape() {
    let az = start_emulator().await;
    let scope = scope(&az);
    let (status, body) = post_token(
        &az,
        &az.tenant_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &az.client_id),
            ("client_secret", "wrong"),
            ("scope", &scope),
        ],
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"][0], 7000215);
    assert!(
        body["error_description"]
            .as_str()
            .expect("desc")
            .starts_with("AADSTS7000215: ")
    );

    let (status, body) = post_token(
        &az,
        &az.tenant_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "unknown-app"),
            ("client_secret", "x"),
            ("scope", &scope),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (400, Some(700016))
    );

    let (status, body) = post_token(
        &az,
        "some-other-tenant",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &az.client_id),
            ("client_secret", &az.client_secret),
            ("scope", &scope),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (400, Some(90002))
    );

    let (status, body) = post_token(&az, &az.tenant_id, &[("grant_type", "password")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );

    let (status, body) = post_token(
        &az,
        &az.tenant_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &az.client_id),
            ("scope", &scope),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (401, Some(7000216))
    );
}

#[tokio::test]
async fn adfs_authority_issues_tokens_for_any_registered_client() {
    let az = start_emulator().await;
    let (status, _, doc) = get_json(
        &az,
        &format!("{}/adfs/.well-known/openid-configuration", az.login_url()),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(doc["issuer"], format!("{}/adfs", az.login_url()));
    assert_eq!(
        doc["token_endpoint"],
        format!("{}/adfs/oauth2/token", az.login_url())
    );
    let response = az
        .http()
        .post(format!("{}/adfs/oauth2/token", az.login_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &az.client_id),
            ("client_secret", &az.client_secret),
            ("scope", &scope(&az)),
        ]))
        .send()
        .await
        .expect("adfs token");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn discovery_documents_match_the_authority() {
    let az = start_emulator().await;
    let login = az.login_url();
    let (status, _, doc) = get_json(
        &az,
        &format!(
            "{login}/{}/v2.0/.well-known/openid-configuration",
            az.tenant_id
        ),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(doc["issuer"], format!("{login}/{}/v2.0", az.tenant_id));
    assert_eq!(
        doc["token_endpoint"],
        format!("{login}/{}/oauth2/v2.0/token", az.tenant_id)
    );
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{login}/{}/oauth2/v2.0/authorize", az.tenant_id)
    );

    let (status, _, keys) = get_json(&az, doc["jwks_uri"].as_str().expect("jwks"), None).await;
    assert_eq!(status, 200);
    assert_eq!(keys["keys"][0]["kty"], "EC");

    let endpoint = format!(
        "https://login.kv.test/{}/oauth2/v2.0/authorize",
        az.tenant_id
    );
    let url = reqwest::Url::parse_with_params(
        &format!("{login}/common/discovery/instance"),
        &[
            ("api-version", "1.1"),
            ("authorization_endpoint", endpoint.as_str()),
        ],
    )
    .expect("url");
    let (status, _, inst) = get_json(&az, url.as_str(), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        inst["tenant_discovery_endpoint"],
        format!(
            "https://login.kv.test/{}/v2.0/.well-known/openid-configuration",
            az.tenant_id
        )
    );
    assert_eq!(inst["metadata"][0]["aliases"][0], "login.kv.test");
}

fn assertion(iss: &str, sub: &str, aud: &str, exp: i64) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"RS256","kid":"k"}"#);
    let claims = serde_json::json!({ "iss": iss, "sub": sub, "aud": [aud], "exp": exp });
    let payload = b64.encode(serde_json::to_vec(&claims).expect("claims"));
    format!("{header}.{payload}.c2ln")
}

#[tokio::test]
async fn federated_assertions_are_checked_against_federated_credentials() {
    let az = start_emulator().await;
    az.seed(&format!(
        "azure:\n  principals:\n    - clientId: wi-app\n      tenantId: {}\n      federatedCredentials:\n        - {{ issuer: 'https://kubernetes.default.svc', subject: 'system:serviceaccount:ns:sa' }}\n",
        az.tenant_id
    ))
    .await;
    let far = 4_102_444_800; // 2100-01-01
    let try_with = |jwt: String| {
        let az = &az;
        async move {
            post_token(
                az,
                &az.tenant_id,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", "wi-app"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &jwt),
                    ("scope", &scope(az)),
                ],
            )
            .await
        }
    };
    let iss = "https://kubernetes.default.svc";
    let sub = "system:serviceaccount:ns:sa";
    let aud = "api://AzureADTokenExchange";
    let (status, body) = try_with(assertion(iss, sub, aud, far)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = try_with(assertion("https://evil", sub, aud, far)).await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (401, Some(700211))
    );
    let (status, body) = try_with(assertion(iss, "system:serviceaccount:ns:other", aud, far)).await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (401, Some(700213))
    );
    let (status, body) = try_with(assertion(iss, sub, "api://Other", far)).await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (401, Some(700212))
    );
    let (status, body) = try_with(assertion(iss, sub, aud, 1)).await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (401, Some(700024))
    );
    let (status, body) = try_with("not-a-jwt".to_owned()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn tokens_are_checked_for_signature_expiry_and_audience() {
    let az = start_emulator().await;
    let url = format!("{}/secrets?api-version=7.4", az.vault_url());
    let token = az.token().await;
    assert_eq!(get_json(&az, &url, Some(&token)).await.0, 200);

    let mut forged = token.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let (status, headers, body) = get_json(&az, &url, Some(&forged)).await;
    assert_eq!(status, 401);
    assert!(headers.contains_key("www-authenticate"));
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("msg")
            .starts_with("AKV10020")
    );

    // A token for another resource.
    let (_, other) = post_token(
        &az,
        &az.tenant_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &az.client_id),
            ("client_secret", &az.client_secret),
            ("scope", "https://management.azure.com/.default"),
        ],
    )
    .await;
    let (status, _, body) = get_json(&az, &url, other["access_token"].as_str()).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("msg")
            .starts_with("AKV10022")
    );

    // Two hours later the token has expired.
    az.running
        .core
        .clock
        .advance(time::Duration::hours(2))
        .expect("two hours");
    let (status, _, body) = get_json(&az, &url, Some(&token)).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("expired")
    );
}

#[tokio::test]
async fn bad_input_gets_key_vaults_error_shape() {
    let az = start_emulator().await;
    let token = az.token().await;
    let http = az.http();
    let vault = az.vault_url();
    let send = |req: reqwest::RequestBuilder| async move {
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let body: Value = r.json().await.expect("json error body");
        (
            status,
            body["error"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };

    let malformed = http
        .put(format!("{vault}/secrets/s?api-version=7.4"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"value\": ");
    assert_eq!(send(malformed).await, (400, "BadParameter".into()));

    let no_value = http
        .put(format!("{vault}/secrets/s?api-version=7.4"))
        .bearer_auth(&token)
        .body("{\"contentType\": \"x\"}");
    assert_eq!(send(no_value).await, (400, "BadParameter".into()));

    let wrong_version = http
        .get(format!("{vault}/secrets?api-version=banana"))
        .bearer_auth(&token);
    assert_eq!(send(wrong_version).await, (400, "BadParameter".into()));

    let no_version = http.get(format!("{vault}/secrets")).bearer_auth(&token);
    assert_eq!(send(no_version).await, (400, "BadParameter".into()));

    let big = format!("{{\"value\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let oversized = http
        .put(format!("{vault}/secrets/s?api-version=7.4"))
        .bearer_auth(&token)
        .body(big);
    assert_eq!(send(oversized).await, (413, "RequestEntityTooLarge".into()));

    let too_long_value = http
        .put(format!("{vault}/secrets/s?api-version=7.4"))
        .bearer_auth(&token)
        .body(format!("{{\"value\": \"{}\"}}", "x".repeat(30 * 1024)));
    assert_eq!(send(too_long_value).await, (400, "BadParameter".into()));

    let bad_name = http
        .put(format!("{vault}/secrets/bad_name?api-version=7.4"))
        .bearer_auth(&token)
        .body("{\"value\": \"v\"}");
    assert_eq!(send(bad_name).await, (400, "BadParameter".into()));

    let bad_page = http
        .get(format!("{vault}/secrets?api-version=7.4&maxresults=26"))
        .bearer_auth(&token);
    assert_eq!(send(bad_page).await, (400, "BadParameter".into()));

    let unknown_vault = http
        .get(format!(
            "{}/secrets?api-version=7.4",
            az.vault_url_of("nope.vault.localhost")
        ))
        .bearer_auth(&token);
    assert_eq!(send(unknown_vault).await, (404, "VaultNotFound".into()));

    let unsupported = http
        .post(format!("{vault}/secrets/s/backup?api-version=7.4"))
        .bearer_auth(&token);
    assert_eq!(send(unsupported).await, (501, "NotImplemented".into()));

    // The bare loopback address serves the dev vault for clients that cannot resolve its name.
    let loopback = http
        .get(format!(
            "https://127.0.0.1:{}/secrets?api-version=7.4",
            az.port()
        ))
        .bearer_auth(&token);
    let r = loopback.send().await.expect("loopback");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn fault_rules_and_the_journal_speak_key_vault() {
    let az = start_emulator().await;
    let admin = format!("https://127.0.0.1:{}/_secretbench", az.port());
    let added = az
        .admin_request(reqwest::Method::POST, "/faults")
        .body(r#"{"service":"keyvault","operation":"GetSecret","error":{"code":"Throttled","status":429,"message":"slow down"},"firstN":1}"#)
        .send()
        .await
        .expect("fault");
    assert_eq!(added.status(), 201);
    let token = az.token().await;
    let url = format!("{}/secrets/x?api-version=7.4", az.vault_url());
    let (status, _, body) = get_json(&az, &url, Some(&token)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("Throttled"))
    );
    let (status, _, body) = get_json(&az, &url, Some(&token)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("SecretNotFound"))
    );

    let (_, _, journal) = get_json(
        &az,
        &format!("{admin}/journal?service=keyvault"),
        az.running.admin_token(),
    )
    .await;
    let entries = journal["entries"].as_array().expect("entries");
    let last = entries.last().expect("entry");
    assert_eq!(last["operation"], "GetSecret");
    assert_eq!(last["keys"]["name"], "x");
    assert_eq!(last["keys"]["vault"], "dev");
    assert_eq!(last["identity"], az.client_id.as_str());
    let (_, _, journal) = get_json(
        &az,
        &format!("{admin}/journal?service=entra"),
        az.running.admin_token(),
    )
    .await;
    assert_eq!(journal["entries"][0]["operation"], "Token");
}

#[tokio::test]
async fn the_journal_names_the_credential_each_token_request_presented() {
    let az = start_emulator().await;
    az.seed(&format!(
        "azure:\n  principals:\n    - clientId: wi-app\n      tenantId: {}\n      federatedCredentials:\n        - {{ issuer: 'https://kubernetes.default.svc', subject: 'system:serviceaccount:ns:sa' }}\n",
        az.tenant_id
    ))
    .await;
    let scope = scope(&az);
    let (status, body) = post_token(
        &az,
        &az.tenant_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &az.client_id),
            ("client_secret", &az.client_secret),
            ("scope", &scope),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let jwt = assertion(
        "https://kubernetes.default.svc",
        "system:serviceaccount:ns:sa",
        "api://AzureADTokenExchange",
        4_102_444_800,
    );
    let (status, body) = post_token(
        &az,
        &az.tenant_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "wi-app"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &jwt),
            ("scope", &scope),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = post_token(
        &az,
        &az.tenant_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &az.client_id),
            ("scope", &scope),
        ],
    )
    .await;
    assert_eq!(status, 401);
    let admin = format!("https://127.0.0.1:{}/_secretbench", az.port());
    let (_, _, journal) = get_json(
        &az,
        &format!("{admin}/journal?service=entra&operation=Token"),
        az.running.admin_token(),
    )
    .await;
    let grants: Vec<(&str, &str)> = journal["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["identity"].as_str().unwrap_or_default(),
                e["keys"]["grant"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        grants,
        vec![
            (az.client_id.as_str(), "client_secret"),
            ("wi-app", "client_assertion"),
            (az.client_id.as_str(), "none"),
        ]
    );
}

/// Key Vault answers methods it does not serve on a path with 405 (and `Allow`), paths that are
/// no Key Vault path with 404, both in its error shape; only real Key Vault operations this
/// emulator does not serve are 501.
#[tokio::test]
async fn unserved_methods_and_paths_get_key_vault_405_and_404() {
    let az = start_emulator().await;
    let token = az.token().await;
    let http = az.http();
    let send = async |method: &str, path: &str| {
        let r = http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                format!("{}{path}", az.vault_url()),
            )
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let allow = r
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = r.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, allow, body)
    };
    for method in ["POST", "OPTIONS", "BREW"] {
        let (status, allow, body) = send(method, "/secrets/x?api-version=7.4").await;
        assert_eq!(status, 405, "{method}");
        assert_eq!(
            allow.as_deref(),
            Some("GET, PUT, PATCH, DELETE"),
            "{method}"
        );
        assert_eq!(body["error"]["code"], "MethodNotAllowed", "{method}");
        assert_eq!(
            body["error"]["message"],
            format!("The requested resource does not support http method '{method}'.")
        );
    }
    let (status, allow, body) = send("HEAD", "/secrets/x?api-version=7.4").await;
    assert_eq!(
        (status, allow.as_deref()),
        (405, Some("GET, PUT, PATCH, DELETE"))
    );
    assert_eq!(body, Value::Null, "HEAD answers carry no body");
    let (status, _, body) = send("GET", "/secrets/x/versions/x/y/z?api-version=7.4").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NotFound"))
    );
    let (status, _, body) = send("POST", "/secrets/x/backup?api-version=7.4").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (501, Some("NotImplemented")),
        "a real operation the emulator does not serve"
    );
}

#[tokio::test]
async fn an_api_version_key_vault_never_shipped_is_refused() {
    let az = start_emulator().await;
    let token = az.token().await;
    for version in ["9999-99-99", "7.9", "2024-01-01"] {
        let (status, _, body) = get_json(
            &az,
            &format!("{}/secrets?api-version={version}", az.vault_url()),
            Some(&token),
        )
        .await;
        assert_eq!(status, 400, "{version}");
        assert_eq!(body["error"]["code"], "BadParameter");
        assert_eq!(
            body["error"]["message"],
            format!(
                "The specified version ({version}) is not recognized. Consider using the latest supported version (2026-04-01)."
            )
        );
    }
    for version in ["7.4", "2025-07-01", "2026-04-01", "7.6-preview.2"] {
        let (status, _, _) = get_json(
            &az,
            &format!("{}/secrets?api-version={version}", az.vault_url()),
            Some(&token),
        )
        .await;
        assert_eq!(status, 200, "{version}");
    }
}
