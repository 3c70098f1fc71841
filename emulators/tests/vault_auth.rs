//! Tokens, ACL policies, sys endpoints, PKI and database shapes, and bad input.
// A failed expectation is the test failing, with the reason in its message.
#![allow(clippy::expect_used)]

mod vault_support;

use serde_json::{Value, json};
use vault_support::{api_error, vault, vault_with};
use vaultrs::api::token::requests::CreateTokenRequest;
use vaultrs::{kv2, sys, token};

/// Vault's answer to a valid token its policies refuse: `checkToken`'s one-entry multierror.
const ACL_DENIED: &str = "1 error occurred:\n\t* permission denied\n\n";
/// Vault's answer to a missing, expired or revoked token: one message naming both causes.
const INVALID_TOKEN: &str = "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n";

const KV_READ: &str = r#"
# read-only on one subtree
path "secret/data/app/*" {
  capabilities = ["read"]
}
path "secret/data/app/admin" {
  capabilities = ["deny"]
}
path "auth/token/create" {
  capabilities = ["update"]
}
"#;

#[tokio::test]
async fn tokens_create_lookup_renew_revoke() {
    let v = vault().await;
    let root = v.root_client();
    let auth = token::new(
        &root,
        Some(
            CreateTokenRequest::builder()
                .policies(vec!["kv-read".to_owned()])
                .ttl("1h")
                .display_name("ci"),
        ),
    )
    .await
    .expect("create");
    assert!(auth.client_token.starts_with("hvs."));
    assert_eq!(auth.policies, ["default", "kv-read"]);
    assert_eq!(auth.token_policies, auth.policies);
    assert_eq!(auth.lease_duration, 3600);
    assert!(auth.renewable);
    assert!(!auth.orphan);
    assert_eq!(auth.token_type, "service");
    let me = v.client(&auth.client_token);
    let info = token::lookup_self(&me).await.expect("lookup-self");
    assert_eq!(info.id, auth.client_token);
    assert_eq!(info.display_name, "token-ci");
    assert_eq!(info.creation_ttl, 3600);
    assert_eq!(info.path, "auth/token/create");
    assert!(info.ttl <= 3600 && info.ttl > 3500);
    v.advance_clock(1800).await;
    let renewed = token::renew_self(&me, Some("2h"))
        .await
        .expect("renew-self");
    assert_eq!(renewed.lease_duration, 7200);
    token::revoke_self(&me).await.expect("revoke-self");
    api_error(token::lookup_self(&me).await, 403, &[INVALID_TOKEN]);
    let root_info = token::lookup_self(&root).await.expect("root lookup");
    assert_eq!(root_info.policies, ["root"]);
    assert_eq!(root_info.ttl, 0);
    assert_eq!(root_info.expire_time, None);
}

#[tokio::test]
async fn expired_token_is_refused_with_403() {
    let v = vault().await;
    let auth = token::new(
        &v.root_client(),
        Some(CreateTokenRequest::builder().ttl("60s")),
    )
    .await
    .expect("create");
    let me = v.client(&auth.client_token);
    token::lookup_self(&me).await.expect("still valid");
    v.advance_clock(61).await;
    api_error(token::lookup_self(&me).await, 403, &[INVALID_TOKEN]);
    let raw = v
        .raw("GET", "/v1/secret/data/x", Some(&auth.client_token), None)
        .await;
    assert_eq!(
        (raw.status, raw.json()),
        (403, json!({"errors": [INVALID_TOKEN]}))
    );
    let raw = v.raw("GET", "/v1/secret/data/x", None, None).await;
    assert_eq!(
        (raw.status, raw.json()),
        (403, json!({"errors": ["permission denied"]}))
    );
    // A bearer header works like X-Vault-Token.
    let r = reqwest::Client::new()
        .get(format!("{}/v1/auth/token/lookup-self", v.url))
        .bearer_auth(&v.root)
        .send()
        .await
        .expect("bearer");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn policies_grant_and_deny() {
    let v = vault().await;
    let root = v.root_client();
    sys::policy::set(&root, "kv-read", KV_READ)
        .await
        .expect("policy write");
    let read_back = sys::policy::read(&root, "kv-read")
        .await
        .expect("policy read");
    assert_eq!(read_back.rules, KV_READ);
    let names = sys::policy::list(&root).await.expect("list");
    assert_eq!(names.policies, ["default", "kv-read", "root"]);
    kv2::set(&root, "secret", "app/db", &json!({"p": "w"}))
        .await
        .expect("write");
    kv2::set(&root, "secret", "app/admin", &json!({"p": "x"}))
        .await
        .expect("write");
    kv2::set(&root, "secret", "other", &json!({"p": "y"}))
        .await
        .expect("write");
    let auth = token::new(
        &root,
        Some(CreateTokenRequest::builder().policies(vec!["kv-read".to_owned()])),
    )
    .await
    .expect("token");
    let me = v.client(&auth.client_token);
    let got: Value = kv2::read(&me, "secret", "app/db")
        .await
        .expect("allowed read");
    assert_eq!(got, json!({"p": "w"}));
    api_error(
        kv2::read::<Value>(&me, "secret", "app/admin").await,
        403,
        &[ACL_DENIED],
    );
    api_error(
        kv2::read::<Value>(&me, "secret", "other").await,
        403,
        &[ACL_DENIED],
    );
    api_error(
        kv2::set(&me, "secret", "app/db", &json!({"a": 1})).await,
        403,
        &[ACL_DENIED],
    );
    api_error(
        sys::policy::set(&me, "x", KV_READ).await,
        403,
        &[ACL_DENIED],
    );
    // A child may not get policies its parent lacks.
    api_error(
        token::new(
            &me,
            Some(CreateTokenRequest::builder().policies(vec!["admin".to_owned()])),
        )
        .await,
        400,
        &["child policies must be subset of parent"],
    );
    // capabilities-self reports what the ACL decided.
    let raw = v
        .raw(
            "POST",
            "/v1/sys/capabilities-self",
            Some(&auth.client_token),
            Some(r#"{"paths":["secret/data/app/db","secret/data/app/admin"]}"#),
        )
        .await;
    let body = raw.json();
    assert_eq!(body["secret/data/app/db"], json!(["read"]));
    assert_eq!(body["secret/data/app/admin"], json!(["deny"]));
    // Bad policy text is refused; root cannot be changed; default cannot be deleted.
    let bad = v
        .raw(
            "PUT",
            "/v1/sys/policies/acl/bad",
            Some(&v.root),
            Some(r#"{"policy":"path \"a\" { capabilities = [\"fly\"] }"}"#),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["errors"][0]
            .as_str()
            .unwrap_or_default()
            .contains("invalid capability")
    );
    api_error(
        sys::policy::set(&root, "root", KV_READ).await,
        400,
        &["cannot update \"root\" policy"],
    );
    api_error(
        sys::policy::delete(&root, "default").await,
        400,
        &["cannot delete default policy"],
    );
    // sys/policies/acl mirrors sys/policy.
    let acl = v
        .raw("GET", "/v1/sys/policies/acl/kv-read", Some(&v.root), None)
        .await
        .json();
    assert_eq!(acl["data"]["policy"], KV_READ);
    assert_eq!(acl["mount_type"], "system");
    assert!(
        acl.get("policy").is_none(),
        "sys/policies/acl answers keep their data in `data` only: {acl}"
    );
    let list = v
        .raw("LIST", "/v1/sys/policies/acl", Some(&v.root), None)
        .await
        .json();
    assert_eq!(list["data"]["keys"], json!(["default", "kv-read", "root"]));
    api_error(sys::policy::read(&root, "missing").await, 404, &[]);
}

#[tokio::test]
async fn health_and_its_status_code_parameters() {
    let v = vault().await;
    let h = sys::health(&v.root_client()).await.expect("health");
    assert!(h.initialized && !h.sealed && !h.standby);
    let raw = v
        .raw(
            "GET",
            "/v1/sys/health?standbyok=true&sealedcode=204&uninitcode=204",
            None,
            None,
        )
        .await;
    assert_eq!(raw.status, 200);
    // The real Vault pinned in stack/versions.env.
    assert_eq!(raw.json()["version"], "1.21.1");
    assert_eq!(
        v.raw("GET", "/v1/sys/health?activecode=299", None, None)
            .await
            .status,
        299
    );
    assert_eq!(
        v.raw("HEAD", "/v1/sys/health?activecode=204", None, None)
            .await
            .status,
        204
    );
    let bad = v
        .raw("GET", "/v1/sys/health?sealedcode=abc", None, None)
        .await;
    // Vault's health handler refuses a bad code with an empty error list.
    assert_eq!((bad.status, bad.json()), (400, json!({"errors": []})));
    let seal = v.raw("GET", "/v1/sys/seal-status", None, None).await.json();
    assert_eq!(seal["sealed"], false);
}

#[tokio::test]
async fn mounts_enable_list_disable_and_ui_preflight() {
    let v = vault().await;
    let root = v.root_client();
    let mounts = sys::mount::list(&root).await.expect("list");
    assert_eq!(mounts["secret/"].mount_type, "kv");
    assert_eq!(
        mounts["secret/"]
            .options
            .as_ref()
            .map(|o| o["version"].clone()),
        Some("2".to_owned())
    );
    sys::mount::enable(&root, "team/kv", "kv-v2", None)
        .await
        .expect("enable v2");
    api_error(
        sys::mount::enable(&root, "team/kv", "kv", None).await,
        400,
        &["path is already in use at team/kv/"],
    );
    api_error(
        sys::mount::enable(&root, "x", "nosuch", None).await,
        400,
        &["plugin not found in the catalog: nosuch"],
    );
    kv2::set(&root, "team/kv", "a", &json!({"b": "c"}))
        .await
        .expect("write in new mount");
    let ui = v
        .raw(
            "GET",
            "/v1/sys/internal/ui/mounts/team/kv/a",
            Some(&v.root),
            None,
        )
        .await
        .json();
    assert_eq!(ui["data"]["path"], "team/kv/");
    assert_eq!(ui["data"]["options"]["version"], "2");
    let none = v
        .raw(
            "GET",
            "/v1/sys/internal/ui/mounts/nothing/here",
            Some(&v.root),
            None,
        )
        .await;
    assert_eq!(none.status, 403);
    sys::mount::disable(&root, "team/kv")
        .await
        .expect("disable");
    let gone = v
        .raw("GET", "/v1/team/kv/data/a", Some(&v.root), None)
        .await;
    assert_eq!(
        (gone.status, gone.json()),
        (
            404,
            json!({"errors": ["no handler for route \"team/kv/data/a\". route entry not found."]})
        )
    );
    sys::auth::enable(&root, "k8s-other", "kubernetes", None)
        .await
        .expect("auth enable");
    let auths = sys::auth::list(&root).await.expect("auth list");
    assert_eq!(auths["k8s-other/"].mount_type, "kubernetes");
    assert_eq!(auths["token/"].mount_type, "token");
}

#[tokio::test]
async fn pki_issue_with_put_returns_certificate_key_and_chain() {
    let v = vault().await;
    let root = v.root_client();
    sys::mount::enable(&root, "pki", "pki", None)
        .await
        .expect("enable pki");
    let ca = v
        .raw(
            "POST",
            "/v1/pki/root/generate/internal",
            Some(&v.root),
            Some(r#"{"common_name":"example.com","ttl":"87600h"}"#),
        )
        .await;
    assert_eq!(ca.status, 200, "{}", ca.text);
    let ca_pem = ca.json()["data"]["certificate"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let role = v
        .raw("POST", "/v1/pki/roles/example-dot-com", Some(&v.root), Some(r#"{"allowed_domains":"example.com","allow_subdomains":true,"max_ttl":"72h","key_type":"ec"}"#))
        .await;
    // Vault answers a role write with the role as stored, defaults filled in (200, not 204).
    assert_eq!(role.status, 200, "{}", role.text);
    let stored = role.json()["data"].clone();
    assert_eq!(
        (
            &stored["allowed_domains"],
            &stored["allow_subdomains"],
            &stored["max_ttl"],
            &stored["key_type"],
            &stored["key_bits"],
            &stored["signature_bits"],
            &stored["server_flag"],
            &stored["issuer_ref"],
        ),
        (
            &json!(["example.com"]),
            &json!(true),
            &json!(72 * 3600),
            &json!("ec"),
            &json!(256),
            &json!(0),
            &json!(true),
            &json!("default"),
        )
    );
    // The CSI provider's e2e issues with PUT and secretArgs as the body.
    let issued = v
        .raw(
            "PUT",
            "/v1/pki/issue/example-dot-com",
            Some(&v.root),
            Some(r#"{"common_name":"www.example.com","ttl":"24h"}"#),
        )
        .await;
    assert_eq!(issued.status, 200, "{}", issued.text);
    let d = issued.json()["data"].clone();
    assert!(
        d["certificate"]
            .as_str()
            .unwrap_or_default()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    // Vault's default private_key_format: SEC1 for an EC role (PKCS#1 for RSA).
    assert!(
        d["private_key"]
            .as_str()
            .unwrap_or_default()
            .starts_with("-----BEGIN EC PRIVATE KEY-----\n"),
        "{}",
        d["private_key"]
    );
    assert_eq!(
        d["authority_key_id"].as_str().unwrap_or_default().len(),
        20 * 3 - 1,
        "the CA's key id, colon-separated hex"
    );
    assert_eq!(d["issuing_ca"], ca_pem.as_str());
    assert_eq!(d["ca_chain"], json!([ca_pem]));
    assert_eq!(d["private_key_type"], "ec");
    assert!(
        d["serial_number"]
            .as_str()
            .unwrap_or_default()
            .contains(':')
    );
    let via_vaultrs = vaultrs::pki::cert::generate(
        &root,
        "pki",
        "example-dot-com",
        Some(
            vaultrs::api::pki::requests::GenerateCertificateRequest::builder()
                .common_name("api.example.com"),
        ),
    )
    .await
    .expect("vaultrs issue");
    assert_eq!(via_vaultrs.issuing_ca, ca_pem);
    let refused = v
        .raw(
            "PUT",
            "/v1/pki/issue/example-dot-com",
            Some(&v.root),
            Some(r#"{"common_name":"evil.org"}"#),
        )
        .await;
    assert_eq!(
        (refused.status, refused.json()),
        (
            400,
            json!({"errors": ["common name evil.org not allowed by this role"]})
        )
    );
    // A root made without a ttl lives Vault's default 768h, which a certificate asked for
    // without one (the default is the same) would outlive: Vault refuses it.
    sys::mount::enable(&root, "pki2", "pki", None)
        .await
        .expect("enable pki2");
    let root2 = v
        .raw(
            "POST",
            "/v1/pki2/root/generate/internal",
            Some(&v.root),
            Some(r#"{"common_name":"example.com"}"#),
        )
        .await;
    assert_eq!(root2.status, 200, "{}", root2.text);
    let role2 = v
        .raw(
            "POST",
            "/v1/pki2/roles/r",
            Some(&v.root),
            Some(r#"{"allowed_domains":"example.com","allow_subdomains":true}"#),
        )
        .await;
    assert_eq!(role2.status, 200, "{}", role2.text);
    assert_eq!(role2.json()["data"]["key_bits"], 2048, "{}", role2.text);
    let too_long = v
        .raw(
            "PUT",
            "/v1/pki2/issue/r",
            Some(&v.root),
            Some(r#"{"common_name":"a.example.com"}"#),
        )
        .await;
    assert_eq!(too_long.status, 400, "{}", too_long.text);
    assert!(
        too_long.json()["errors"][0]
            .as_str()
            .unwrap_or_default()
            .starts_with("cannot satisfy request, as TTL would result in notAfter of "),
        "{}",
        too_long.text
    );
    let rsa = v
        .raw(
            "PUT",
            "/v1/pki2/issue/r",
            Some(&v.root),
            Some(r#"{"common_name":"a.example.com","ttl":"24h"}"#),
        )
        .await
        .json();
    assert_eq!(rsa["data"]["private_key_type"], "rsa");
    assert!(
        rsa["data"]["private_key"]
            .as_str()
            .unwrap_or_default()
            .starts_with("-----BEGIN RSA PRIVATE KEY-----\n")
    );
    let unknown = v
        .raw(
            "PUT",
            "/v1/pki/issue/nope",
            Some(&v.root),
            Some(r#"{"common_name":"a.example.com"}"#),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.json()),
        (400, json!({"errors": ["unknown role: nope"]}))
    );
}

#[tokio::test]
async fn database_creds_are_fresh_with_a_lease_on_every_read() {
    let v = vault().await;
    let root = v.root_client();
    sys::mount::enable(&root, "database", "database", None)
        .await
        .expect("enable db");
    let cfg = v
        .raw("POST", "/v1/database/config/pg", Some(&v.root), Some(r#"{"plugin_name":"postgresql-database-plugin","connection_url":"postgresql://{{username}}:{{password}}@db/postgres","username":"root","password":"root-pw","allowed_roles":"test-role"}"#))
        .await;
    assert_eq!(cfg.status, 204, "{}", cfg.text);
    let role = v
        .raw("POST", "/v1/database/roles/test-role", Some(&v.root), Some(r#"{"db_name":"pg","creation_statements":["CREATE ROLE \"{{name}}\""],"default_ttl":"1h","max_ttl":"24h"}"#))
        .await;
    assert_eq!(role.status, 204, "{}", role.text);
    let a = v
        .raw("GET", "/v1/database/creds/test-role", Some(&v.root), None)
        .await
        .json();
    let b = v
        .raw("GET", "/v1/database/creds/test-role", Some(&v.root), None)
        .await
        .json();
    assert_ne!(a["data"]["username"], b["data"]["username"]);
    assert_ne!(a["data"]["password"], b["data"]["password"]);
    assert!(
        a["lease_id"]
            .as_str()
            .unwrap_or_default()
            .starts_with("database/creds/test-role/")
    );
    assert_eq!(a["lease_duration"], 3600);
    assert_eq!(a["renewable"], true);
    let creds = vaultrs::database::role::creds(&root, "database", "test-role")
        .await
        .expect("vaultrs creds");
    assert!(!creds.username.is_empty() && !creds.password.is_empty());
    let renew = v
        .raw(
            "PUT",
            "/v1/sys/leases/renew",
            Some(&v.root),
            Some(&json!({"lease_id": a["lease_id"], "increment": 600}).to_string()),
        )
        .await
        .json();
    assert_eq!(
        (renew["lease_id"].clone(), renew["lease_duration"].clone()),
        (a["lease_id"].clone(), json!(600))
    );
    let unknown = v
        .raw("GET", "/v1/database/creds/nope", Some(&v.root), None)
        .await;
    assert_eq!(
        (unknown.status, unknown.json()),
        (400, json!({"errors": ["unknown role: nope"]}))
    );
}

/// What Vault checks before it would dial the database, with its answers (Vault 1.21: plain
/// errors, so 500s in a multierror), and the connection as a read shows it.
#[tokio::test]
async fn database_creds_need_the_connection_and_an_allowed_role() {
    let v = vault().await;
    let root = v.root_client();
    sys::mount::enable(&root, "database", "database", None)
        .await
        .expect("enable db");
    let role = v
        .raw("POST", "/v1/database/roles/orphan", Some(&v.root), Some(r#"{"db_name":"postgres","creation_statements":"CREATE ROLE x","default_ttl":"1h"}"#))
        .await;
    assert_eq!(role.status, 204, "{}", role.text);
    let no_connection = v
        .raw("GET", "/v1/database/creds/orphan", Some(&v.root), None)
        .await;
    assert_eq!(
        (no_connection.status, no_connection.json()),
        (
            500,
            json!({"errors": ["1 error occurred:\n\t* failed to find entry for connection with name: \"postgres\"\n\n"]})
        )
    );
    let unusable = v
        .raw("POST", "/v1/database/config/postgres", Some(&v.root), Some(r#"{"plugin_name":"postgresql-database-plugin","allowed_roles":"*","verify_connection":false}"#))
        .await;
    assert_eq!(
        (unusable.status, unusable.json()),
        (
            400,
            json!({"errors": ["error creating database object: must either provide username/password or set self-managed to 'true'"]})
        )
    );
    let cfg = v
        .raw("POST", "/v1/database/config/postgres", Some(&v.root), Some(r#"{"plugin_name":"postgresql-database-plugin","allowed_roles":"app-*, other","connection_url":"postgres://{{username}}:{{password}}@db:5432/db","username":"root","password":"hunter2","verify_connection":false}"#))
        .await;
    assert_eq!(cfg.status, 204, "{}", cfg.text);
    let refused = v
        .raw("GET", "/v1/database/creds/orphan", Some(&v.root), None)
        .await;
    assert_eq!(
        (refused.status, refused.json()),
        (
            500,
            json!({"errors": ["1 error occurred:\n\t* \"orphan\" is not an allowed role\n\n"]})
        )
    );
    let globbed = v
        .raw(
            "POST",
            "/v1/database/roles/app-db",
            Some(&v.root),
            Some(r#"{"db_name":"postgres","creation_statements":["CREATE ROLE x"]}"#),
        )
        .await;
    assert_eq!(globbed.status, 204, "{}", globbed.text);
    let creds = v
        .raw("GET", "/v1/database/creds/app-db", Some(&v.root), None)
        .await;
    assert_eq!(creds.status, 200, "{}", creds.text);
    assert_eq!(creds.json()["mount_type"], "database");
    let view = v
        .raw("GET", "/v1/database/config/postgres", Some(&v.root), None)
        .await
        .json();
    assert_eq!(
        view["data"],
        json!({
            "allowed_roles": ["app-*", "other"],
            "connection_details": {"connection_url": "postgres://{{username}}:{{password}}@db:5432/db", "username": "root"},
            "disable_automated_rotation": false,
            "password_policy": "",
            "plugin_name": "postgresql-database-plugin",
            "plugin_version": "",
            "root_credentials_rotate_statements": [],
            "rotation_period": 0,
            "rotation_schedule": "",
            "rotation_window": 0,
            "skip_static_role_import_rotation": false,
            "verify_connection": false,
        })
    );
    let role_view = v
        .raw("GET", "/v1/database/roles/app-db", Some(&v.root), None)
        .await
        .json();
    assert_eq!(role_view["data"]["credential_type"], "password");
    let put = v
        .raw(
            "PUT",
            "/v1/database/creds/app-db",
            Some(&v.root),
            Some("{}"),
        )
        .await;
    assert_eq!(
        (put.status, put.json()),
        (
            405,
            json!({"errors": ["1 error occurred:\n\t* unsupported operation\n\n"]})
        )
    );
}

#[tokio::test]
async fn bad_input_gets_vault_error_shapes() {
    let v = vault().await;
    // Vault's HTTP layer refuses a truncated body with a 500 before any handler (its JSON
    // limits check), and a syntax error with Go's decoder message.
    let truncated = v
        .raw(
            "POST",
            "/v1/secret/data/x",
            Some(&v.root),
            Some(r#"{"data": {"a": "#),
        )
        .await;
    assert_eq!(
        (truncated.status, truncated.json()),
        (
            500,
            json!({"errors": ["malformed JSON, unclosed containers"]})
        )
    );
    let malformed = v
        .raw(
            "POST",
            "/v1/secret/data/x",
            Some(&v.root),
            Some(r#"{"data": nope}"#),
        )
        .await;
    assert_eq!(
        (malformed.status, malformed.json()),
        (
            400,
            json!({"errors": ["error parsing JSON: failed to parse JSON input: invalid character 'o' in literal null (expecting 'u')"]})
        )
    );
    let array = v
        .raw("POST", "/v1/secret/data/x", Some(&v.root), Some("[1]"))
        .await;
    assert_eq!(array.status, 400);
    let wrong = v
        .raw("POST", "/v1/auth/token/lookup-self", Some(&v.root), None)
        .await;
    assert_eq!(wrong.status, 200, "POST lookup-self is allowed as in Vault");
    let wrong = v
        .raw("GET", "/v1/auth/token/create", Some(&v.root), None)
        .await;
    assert_eq!(
        (wrong.status, wrong.json()),
        (
            405,
            json!({"errors": ["1 error occurred:\n\t* unsupported operation\n\n"]})
        )
    );
    let odd = v
        .raw("TRACE", "/v1/secret/data/x", Some(&v.root), None)
        .await;
    assert_eq!(odd.status, 405);
    let huge = "x".repeat(32 * 1024 * 1024 + 1);
    let r = reqwest::Client::new()
        .post(format!("{}/v1/secret/data/big", v.url))
        .header("X-Vault-Token", &v.root)
        .body(huge)
        .send()
        .await
        .expect("big");
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body, json!({"errors": ["http: request body too large"]}));
    let outside = v.raw("GET", "/nope", None, None).await;
    assert_eq!(outside.status, 404);
    // The emulator still answers after all of that.
    assert_eq!(v.raw("GET", "/v1/sys/health", None, None).await.status, 200);
}

#[tokio::test]
async fn journal_faults_and_deterministic_request_ids() {
    let v = vault_with(true).await;
    let first = v
        .raw("GET", "/v1/sys/mounts", Some(&v.root), None)
        .await
        .json();
    let second = v
        .raw("GET", "/v1/sys/mounts", Some(&v.root), None)
        .await
        .json();
    assert_eq!(first["request_id"], "00000000-0000-4000-8000-000000000001");
    assert_eq!(second["request_id"], "00000000-0000-4000-8000-000000000002");
    let rule = v
        .admin("POST", "/faults", r#"{"service":"vault","operation":"kv2.read","error":{"code":"sealed","status":503,"message":"Vault is sealed"},"firstN":1}"#)
        .await;
    assert_eq!(rule.status, 201, "{}", rule.text);
    let sealed = v.raw("GET", "/v1/secret/data/x", Some(&v.root), None).await;
    assert_eq!(
        (sealed.status, sealed.json()),
        (503, json!({"errors": ["Vault is sealed"]}))
    );
    assert_eq!(
        v.raw("GET", "/v1/secret/data/x", Some(&v.root), None)
            .await
            .status,
        404
    );
    let journal = v
        .admin("GET", "/journal?service=vault&operation=kv2.read", "")
        .await
        .json();
    let entries = journal["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["status"], 503);
    assert_eq!(entries[0]["keys"]["path"], "secret/data/x");
    // The dev server's root token is made through the token store: display name `token`.
    assert_eq!(entries[1]["identity"], "token");
}

#[tokio::test]
async fn seeded_root_token_policies_and_tokens() {
    let v = vault().await;
    v.seed(
        r#"
vault:
  rootToken: s3cret
  policies:
    - name: kv-read
      rules: |
        path "secret/data/*" { capabilities = ["read"] }
  tokens:
    - { id: app-token, policies: [kv-read], ttl: 30m }
"#,
    )
    .await;
    api_error(
        token::lookup_self(&v.client("root")).await,
        403,
        &[INVALID_TOKEN],
    );
    let root = v.client("s3cret");
    kv2::set(&root, "secret", "x", &json!({"a": "b"}))
        .await
        .expect("new root works");
    let app = v.client("app-token");
    let got: Value = kv2::read(&app, "secret", "x")
        .await
        .expect("seeded token reads");
    assert_eq!(got, json!({"a": "b"}));
    assert_eq!(
        token::lookup_self(&app).await.expect("lookup").creation_ttl,
        1800
    );
}

#[tokio::test]
async fn refusals_carry_vaults_multierror_text_in_one_entry() {
    let v = vault().await;
    let root = v.root_client();
    sys::policy::set(&root, "kv-read", KV_READ)
        .await
        .expect("policy write");
    let auth = token::new(
        &root,
        Some(CreateTokenRequest::builder().policies(vec!["kv-read".to_owned()])),
    )
    .await
    .expect("token");
    let denied = v
        .raw(
            "GET",
            "/v1/secret/data/other",
            Some(&auth.client_token),
            None,
        )
        .await;
    assert_eq!(
        (denied.status, denied.json()),
        (403, json!({"errors": [ACL_DENIED]}))
    );
    let unknown = v
        .raw("GET", "/v1/secret/data/other", Some("hvs.unknown"), None)
        .await;
    assert_eq!(
        (unknown.status, unknown.json()),
        (403, json!({"errors": [INVALID_TOKEN]}))
    );
    let anonymous = v.raw("GET", "/v1/secret/data/other", None, None).await;
    assert_eq!(
        (anonymous.status, anonymous.json()),
        (403, json!({"errors": ["permission denied"]}))
    );
}

/// Issue 15: durations past Go's 292 years used to overflow the token's expiry and panic (a 500).
/// Vault refuses them with `parseutil`'s and `time.ParseDuration`'s words, as a 400.
#[tokio::test]
async fn absurd_durations_are_vault_400s_never_500s() {
    let v = vault().await;
    let create = |body: Value| {
        let v = &v;
        async move {
            v.raw(
                "POST",
                "/v1/auth/token/create",
                Some(&v.root),
                Some(&body.to_string()),
            )
            .await
        }
    };
    for (body, message) in [
        (
            json!({"ttl": "99999999999999h"}),
            "time: invalid duration \"99999999999999h\"",
        ),
        // A number is read from its text, here `1e+300` as serde_json writes it.
        (
            json!({"ttl": 1e300}),
            "time: unknown unit \"e+\" in duration \"1e+300\"",
        ),
        (
            json!({"explicit_max_ttl": "9223372037"}),
            "multiplication of durations resulted in overflow, one operand may be too large",
        ),
        (
            json!({"ttl": "999999999999d"}),
            "multiplication of durations resulted in overflow, one operand may be too large",
        ),
    ] {
        let r = create(body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.json()["errors"], json!([message]), "{body}");
    }
    // The longest duration Go can hold is accepted, and capped at the system max TTL (768h); the
    // warning prints durations as Vault's `humanDuration` does (sdk framework/lease.go).
    let r = create(json!({"ttl": "2562047h", "policies": ["default"]})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_eq!(body["auth"]["lease_duration"], 768 * 3600);
    assert!(
        body["warnings"][0]
            .as_str()
            .expect("warning")
            .contains("exceeded the effective max_ttl of \"768h\"")
    );
    let child = body["auth"]["client_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let renew = v
        .raw(
            "POST",
            "/v1/auth/token/renew-self",
            Some(&child),
            Some(r#"{"increment": "99999999999999h"}"#),
        )
        .await;
    assert_eq!(renew.status, 400, "{}", renew.text);
    let renew = v
        .raw(
            "POST",
            "/v1/auth/token/renew-self",
            Some(&child),
            Some(r#"{"increment": "2000000h"}"#),
        )
        .await;
    assert_eq!(renew.status, 200, "{}", renew.text);
    assert!(
        renew.json()["auth"]["lease_duration"]
            .as_u64()
            .expect("ttl")
            <= 768 * 3600
    );
}

/// Vault appends the slash to a list path before the ACL check, so `list` on
/// `secret/metadata/app/*` lets `LIST secret/metadata/app` (and `GET ...?list=true`) through.
#[tokio::test]
async fn a_list_without_the_trailing_slash_is_checked_as_the_directory() {
    let v = vault().await;
    let root = v.root_client();
    kv2::set(&root, "secret", "app/db", &json!({"p": "x"}))
        .await
        .expect("write");
    v.seed(
        r#"
vault:
  policies:
    - name: lister
      rules: 'path "secret/metadata/app/*" { capabilities = ["list"] }'
  tokens: [{ id: lister-token, policies: [lister], ttl: 1h }]
"#,
    )
    .await;
    for (method, path) in [
        ("LIST", "/v1/secret/metadata/app"),
        ("LIST", "/v1/secret/metadata/app/"),
        ("GET", "/v1/secret/metadata/app?list=true"),
    ] {
        let r = v.raw(method, path, Some("lister-token"), None).await;
        assert_eq!(r.status, 200, "{method} {path}: {}", r.text);
        assert_eq!(r.json()["data"]["keys"], json!(["db"]), "{method} {path}");
    }
    let read = v
        .raw("GET", "/v1/secret/metadata/app", Some("lister-token"), None)
        .await;
    assert_eq!(read.status, 403, "list does not grant read");
}
