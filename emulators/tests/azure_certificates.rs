//! Key Vault certificates through the official Rust SDK (azure_security_keyvault_certificates):
//! self-signed creation, PEM and PFX import, and the managed secret the Azure provider reads.
#![allow(clippy::expect_used)] // a failed expectation is the test failing

mod azure_common;

use azure_common::{Az, kv_error, start_emulator};
use azure_security_keyvault_certificates::models::{
    CertificatePolicy, CreateCertificateParameters, ImportCertificateParameters, IssuerParameters,
    SecretProperties, SubjectAlternativeNames, X509CertificateProperties,
};
use azure_security_keyvault_certificates::{CertificateClient, CertificateClientOptions};
use base64::Engine;

fn certificates(az: &Az) -> CertificateClient {
    CertificateClient::new(
        &az.vault_url(),
        az.credential(),
        Some(CertificateClientOptions {
            client_options: az.client_options(),
            ..CertificateClientOptions::default()
        }),
    )
    .expect("certificate client")
}

fn policy(content_type: &str) -> CertificatePolicy {
    CertificatePolicy {
        x509_certificate_properties: Some(X509CertificateProperties {
            subject: Some("CN=test.domain.com".into()),
            subject_alternative_names: Some(SubjectAlternativeNames {
                dns_names: Some(vec!["test.domain.com".into()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        issuer_parameters: Some(IssuerParameters {
            name: Some("Self".into()),
            ..Default::default()
        }),
        secret_properties: Some(SecretProperties {
            content_type: Some(content_type.into()),
        }),
        ..Default::default()
    }
}

/// The managed secret, raw, as the Azure provider reads it.
async fn backing_secret(az: &Az, name: &str) -> serde_json::Value {
    az.http()
        .get(format!(
            "{}/secrets/{name}/?api-version=7.4",
            az.vault_url()
        ))
        .bearer_auth(az.token().await)
        .send()
        .await
        .expect("get secret")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn a_self_signed_certificate_comes_with_a_legacy_pfx_secret_and_a_key() {
    let az = start_emulator().await;
    let client = certificates(&az);
    let body = CreateCertificateParameters {
        certificate_policy: Some(policy("application/x-pkcs12")),
        ..Default::default()
    };
    let cert = client
        .begin_create_certificate("web", body.try_into().expect("body"), None)
        .expect("poller")
        .await
        .expect("created")
        .into_model()
        .expect("model");
    let id = cert.id.expect("id");
    let version = id.rsplit('/').next().expect("version").to_owned();
    assert_eq!(
        cert.kid.as_deref(),
        Some(format!("{}/keys/web/{version}", az.vault_url()).as_str())
    );
    assert!(cert.cer.as_ref().is_some_and(|c| c.len() > 100));

    let secret = backing_secret(&az, "web").await;
    assert_eq!(secret["contentType"], "application/x-pkcs12");
    assert_eq!(
        secret["kid"],
        format!("{}/keys/web/{version}", az.vault_url())
    );
    assert_eq!(secret["managed"], true);
    // Legacy PKCS#12 with an empty password: what x/crypto/pkcs12 (the Go provider) reads.
    let der = base64::engine::general_purpose::STANDARD
        .decode(secret["value"].as_str().expect("value"))
        .expect("base64");
    let pfx = p12::PFX::parse(&der).expect("legacy pkcs12");
    assert!(pfx.verify_mac(""), "SHA-1 MAC with the empty password");
    assert_eq!(pfx.cert_x509_bags("").expect("certs").len(), 1);
    assert_eq!(pfx.key_bags("").expect("keys").len(), 1);

    let key: serde_json::Value = az
        .http()
        .get(format!(
            "{}/keys/web/{version}?api-version=7.4",
            az.vault_url()
        ))
        .bearer_auth(az.token().await)
        .send()
        .await
        .expect("get key")
        .json()
        .await
        .expect("json");
    assert_eq!(key["key"]["kty"], "RSA");
    assert_eq!(key["managed"], true);

    let policy = client
        .get_certificate_policy("web", None)
        .await
        .expect("policy")
        .into_model()
        .expect("model");
    assert_eq!(
        policy
            .secret_properties
            .and_then(|s| s.content_type)
            .as_deref(),
        Some("application/x-pkcs12")
    );
}

#[tokio::test]
async fn import_pem_and_pfx_and_read_them_back() {
    let az = start_emulator().await;
    let client = certificates(&az);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["imported.test".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    let pem = format!("{}{}", key.serialize_pem(), cert.pem());

    let imported = client
        .import_certificate(
            "pem-cert",
            ImportCertificateParameters {
                base64_encoded_certificate: Some(pem),
                certificate_policy: Some(CertificatePolicy {
                    secret_properties: Some(SecretProperties {
                        content_type: Some("application/x-pem-file".into()),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }
            .try_into()
            .expect("body"),
            None,
        )
        .await
        .expect("import pem")
        .into_model()
        .expect("model");
    assert_eq!(imported.cer.as_deref(), Some(cert.der().as_ref()));
    let secret = backing_secret(&az, "pem-cert").await;
    assert_eq!(secret["contentType"], "application/x-pem-file");
    let value = secret["value"].as_str().expect("value");
    assert!(
        value.starts_with("-----BEGIN PRIVATE KEY-----"),
        "key first: {value}"
    );
    assert!(value.contains("-----BEGIN CERTIFICATE-----"));
    let key_bundle: serde_json::Value = az
        .http()
        .get(format!("{}/keys/pem-cert?api-version=7.4", az.vault_url()))
        .bearer_auth(az.token().await)
        .send()
        .await
        .expect("key")
        .json()
        .await
        .expect("json");
    assert_eq!(key_bundle["key"]["kty"], "EC");
    assert_eq!(key_bundle["key"]["crv"], "P-256");

    let pfx = p12::PFX::new(cert.der(), &key.serialize_der(), None, "pw", "x").expect("pfx");
    let b64 = base64::engine::general_purpose::STANDARD.encode(pfx.to_der());
    client
        .import_certificate(
            "pfx-cert",
            ImportCertificateParameters {
                base64_encoded_certificate: Some(b64.clone()),
                password: Some("pw".into()),
                ..Default::default()
            }
            .try_into()
            .expect("body"),
            None,
        )
        .await
        .expect("import pfx");
    let got = client
        .get_certificate("pfx-cert", None)
        .await
        .expect("get")
        .into_model()
        .expect("model");
    assert_eq!(got.cer.as_deref(), Some(cert.der().as_ref()));

    let err = client
        .import_certificate(
            "bad-pw",
            ImportCertificateParameters {
                base64_encoded_certificate: Some(b64),
                password: Some("wrong".into()),
                ..Default::default()
            }
            .try_into()
            .expect("body"),
            None,
        )
        .await
        .expect_err("wrong password");
    assert_eq!(kv_error(&err), (400, "BadParameter".to_owned()));

    // Deleting the certificate takes its managed secret along; recovering brings it back.
    client
        .delete_certificate("pem-cert", None)
        .await
        .expect("delete");
    let gone = az
        .http()
        .get(format!(
            "{}/secrets/pem-cert?api-version=7.4",
            az.vault_url()
        ))
        .bearer_auth(az.token().await)
        .send()
        .await
        .expect("get");
    assert_eq!(gone.status(), 404);
    client
        .recover_deleted_certificate("pem-cert", None)
        .await
        .expect("recover");
    assert_eq!(
        backing_secret(&az, "pem-cert").await["contentType"],
        "application/x-pem-file"
    );
    let err = client
        .get_certificate("missing", None)
        .await
        .expect_err("missing");
    assert_eq!(kv_error(&err), (404, "CertificateNotFound".to_owned()));
}

#[tokio::test]
async fn create_answers_in_progress_then_pending_finds_it_completed() {
    let az = start_emulator().await;
    let token = az.token().await;
    let created = az
        .http()
        .post(format!(
            "{}/certificates/lro/create?api-version=7.4",
            az.vault_url()
        ))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "policy": {
                "x509_props": {"subject": "CN=lro.test"},
                "issuer": {"name": "Self"},
                "secret_props": {"contentType": "application/x-pkcs12"}
            }
        }))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 202);
    let location = created
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("Location")
        .to_owned();
    assert!(
        location.starts_with(&format!("{}/certificates/lro/pending?", az.vault_url())),
        "{location}"
    );
    assert_eq!(
        created.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"0"[..])
    );
    let op: serde_json::Value = created.json().await.expect("json");
    assert_eq!(op["status"], "inProgress");
    assert!(
        op["status_details"]
            .as_str()
            .is_some_and(|d| d.starts_with("Pending certificate created."))
    );
    assert_eq!(op.get("target"), None);
    let pending: serde_json::Value = az
        .http()
        .get(&location)
        .bearer_auth(&token)
        .send()
        .await
        .expect("pending")
        .json()
        .await
        .expect("json");
    assert_eq!(pending["status"], "completed");
    assert_eq!(
        pending["target"],
        format!("{}/certificates/lro", az.vault_url())
    );
}
