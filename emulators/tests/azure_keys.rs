//! Key Vault keys through the official Rust SDK (azure_security_keyvault_keys) over TLS.
#![allow(clippy::expect_used)] // a failed expectation is the test failing

mod azure_common;

use azure_common::{Az, kv_error, start_emulator};
use azure_security_keyvault_keys::models::{
    CreateKeyParameters, CurveName, ImportKeyParameters, JsonWebKey, KeyClientGetKeyOptions,
    KeyType,
};
use azure_security_keyvault_keys::{KeyClient, KeyClientOptions};
use futures::TryStreamExt;

fn keys(az: &Az) -> KeyClient {
    KeyClient::new(
        &az.vault_url(),
        az.credential(),
        Some(KeyClientOptions {
            client_options: az.client_options(),
            ..KeyClientOptions::default()
        }),
    )
    .expect("key client")
}

fn version_of(kid: &str) -> String {
    kid.rsplit('/').next().expect("version").to_owned()
}

#[tokio::test]
async fn create_rsa_and_ec_keys_and_read_them_as_jwks() {
    let az = start_emulator().await;
    let client = keys(&az);
    let rsa = client
        .create_key(
            "rsa-key",
            CreateKeyParameters {
                kty: Some(KeyType::Rsa),
                key_size: Some(2048),
                ..Default::default()
            }
            .try_into()
            .expect("body"),
            None,
        )
        .await
        .expect("create rsa")
        .into_model()
        .expect("model");
    let jwk = rsa.key.expect("jwk");
    assert_eq!(jwk.kty, Some(KeyType::Rsa));
    assert_eq!(jwk.n.as_ref().map(Vec::len), Some(256));
    assert_eq!(jwk.e.as_deref(), Some(&[1u8, 0, 1][..]));
    assert!(jwk.d.is_none(), "the private half never leaves the vault");
    let kid = jwk.kid.expect("kid");
    assert!(kid.starts_with(&format!("{}/keys/rsa-key/", az.vault_url())));

    let ec = client
        .create_key(
            "ec-key",
            CreateKeyParameters {
                kty: Some(KeyType::Ec),
                curve: Some(CurveName::P384),
                ..Default::default()
            }
            .try_into()
            .expect("body"),
            None,
        )
        .await
        .expect("create ec")
        .into_model()
        .expect("model");
    let jwk = ec.key.expect("jwk");
    assert_eq!(jwk.crv, Some(CurveName::P384));
    assert_eq!(jwk.x.as_ref().map(Vec::len), Some(48));
    assert_eq!(jwk.y.as_ref().map(Vec::len), Some(48));

    // A second version, then both by version and the latest.
    let second = client
        .create_key(
            "rsa-key",
            CreateKeyParameters {
                kty: Some(KeyType::Rsa),
                ..Default::default()
            }
            .try_into()
            .expect("body"),
            None,
        )
        .await
        .expect("rotate")
        .into_model()
        .expect("model");
    let kid2 = second.key.and_then(|k| k.kid).expect("kid");
    let first = client
        .get_key(
            "rsa-key",
            Some(KeyClientGetKeyOptions {
                key_version: Some(version_of(&kid)),
                ..Default::default()
            }),
        )
        .await
        .expect("get v1")
        .into_model()
        .expect("model");
    assert_eq!(first.key.and_then(|k| k.kid).as_deref(), Some(kid.as_str()));
    let latest = client
        .get_key("rsa-key", None)
        .await
        .expect("get latest")
        .into_model()
        .expect("model");
    assert_eq!(latest.key.and_then(|k| k.kid), Some(kid2));

    let versions: Vec<_> = client
        .list_key_properties_versions("rsa-key", None)
        .expect("pager")
        .try_collect()
        .await
        .expect("versions");
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].kid.as_deref(), Some(kid.as_str()));
    let all: Vec<_> = client
        .list_key_properties(None)
        .expect("pager")
        .try_collect()
        .await
        .expect("list");
    let kids: Vec<_> = all.iter().filter_map(|k| k.kid.clone()).collect();
    assert_eq!(
        kids,
        [
            format!("{}/keys/ec-key", az.vault_url()),
            format!("{}/keys/rsa-key", az.vault_url())
        ]
    );
}

#[tokio::test]
async fn import_a_jwk_delete_and_recover() {
    let az = start_emulator().await;
    let client = keys(&az);
    let imported = client
        .import_key(
            "imported",
            ImportKeyParameters {
                key: Some(JsonWebKey {
                    kty: Some(KeyType::Rsa),
                    n: Some(vec![0xc5; 256]),
                    e: Some(vec![1, 0, 1]),
                    d: Some(vec![7; 256]),
                    ..Default::default()
                }),
                ..Default::default()
            }
            .try_into()
            .expect("body"),
            None,
        )
        .await
        .expect("import")
        .into_model()
        .expect("model");
    let jwk = imported.key.expect("jwk");
    assert_eq!(jwk.n, Some(vec![0xc5; 256]));
    assert!(jwk.d.is_none());

    client.delete_key("imported", None).await.expect("delete");
    let err = client.get_key("imported", None).await.expect_err("deleted");
    assert_eq!(kv_error(&err), (404, "KeyNotFound".to_owned()));
    client
        .get_deleted_key("imported", None)
        .await
        .expect("get deleted");
    client
        .recover_deleted_key("imported", None)
        .await
        .expect("recover");
    client.get_key("imported", None).await.expect("back");
}

#[tokio::test]
async fn unsupported_key_types_and_curves_are_bad_parameters() {
    let az = start_emulator().await;
    let client = keys(&az);
    for params in [
        CreateKeyParameters {
            kty: Some(KeyType::Oct),
            ..Default::default()
        },
        CreateKeyParameters {
            kty: Some(KeyType::Ec),
            curve: Some(CurveName::P256K),
            ..Default::default()
        },
        CreateKeyParameters {
            kty: Some(KeyType::Rsa),
            key_size: Some(1024),
            ..Default::default()
        },
    ] {
        let err = client
            .create_key("k", params.try_into().expect("body"), None)
            .await
            .expect_err("refused");
        assert_eq!(kv_error(&err), (400, "BadParameter".to_owned()));
    }
    let err = client.get_key("missing", None).await.expect_err("missing");
    assert_eq!(kv_error(&err), (404, "KeyNotFound".to_owned()));
}
