//! The Key Vault emulator's PKI: the serving CA (shared machinery in [`crate::core::tls`]),
//! covering every name the emulator answers to, and the key that signs access tokens.
//!
//! The token key lives beside the CA (the state dir, or the CA's scratch folder), so a restart
//! keeps the tokens clients already hold. The serving certificate is re-issued whenever a new DNS
//! suffix appears (a seeded vault under a custom suffix).

use rcgen::KeyPair;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::core::tls::{CaSpec, ServingCa, load_or_create};

pub use crate::core::tls::TlsError;

const TOKEN_KEY_FILE: &str = "azure-token-key.pem";
const SPEC: CaSpec = CaSpec {
    prefix: "azure",
    ca_common_name: "secretbench Azure emulator CA",
    leaf_common_name: "secretbench Azure emulator",
};

/// Names every serving certificate covers: loopback, the real Azure names (so the emulator can
/// stand behind redirected DNS) and the dev suffix.
pub const BASE_NAMES: [&str; 8] = [
    "localhost",
    "127.0.0.1",
    "::1",
    "login.microsoftonline.com",
    "vault.azure.net",
    "*.vault.azure.net",
    "vault.localhost",
    "*.vault.localhost",
];

pub struct Pki {
    pub ca_file: PathBuf,
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
    /// PKCS#8 PEM of the ES256 key that signs access tokens.
    pub token_key_pem: String,
    /// PKCS#8 DER of the same key.
    pub token_key_der: Vec<u8>,
    /// Uncompressed SEC1 point of the token key (0x04 || x || y), for the JWKS document.
    pub token_public: Vec<u8>,
    // Last: it removes its scratch folder (and the token key in it) when dropped.
    ca: ServingCa,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl Pki {
    /// Loads the CA from `state_dir` (creating it on first start), or makes a fresh one in a
    /// scratch folder when there is no state dir.
    pub fn new(state_dir: Option<&Path>, extra_names: &[String]) -> Result<Self, TlsError> {
        let names = BASE_NAMES
            .iter()
            .map(|s| (*s).to_owned())
            .chain(extra_names.iter().cloned());
        let ca = ServingCa::new(SPEC, state_dir, names, None)?;
        let token_key_pem = load_or_create(ca.dir(), TOKEN_KEY_FILE, || {
            Ok(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?.serialize_pem())
        })?;
        let token_key = KeyPair::from_pem(&token_key_pem)?;
        Ok(Self {
            ca_file: ca.ca_file.clone(),
            ca_pem: ca.ca_pem.clone(),
            server_config: Arc::clone(&ca.server_config),
            token_public: token_key.public_key_raw().to_vec(),
            token_key_der: token_key.serialize_der(),
            token_key_pem,
            ca,
        })
    }

    /// Makes sure the serving certificate covers `suffix` and `*.suffix` (a vault DNS suffix) or
    /// a login host; re-issues it when it did not.
    pub fn cover(&self, host: &str) -> Result<(), TlsError> {
        let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() {
            return Ok(());
        }
        let wildcard = format!("*.{host}");
        self.ca.cover(&[host, wildcard])
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed expectation is the test failing
mod tests {
    use super::*;

    #[test]
    fn the_ca_survives_a_restart_in_the_same_state_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = Pki::new(Some(dir.path()), &[]).expect("pki");
        let second = Pki::new(Some(dir.path()), &[]).expect("pki");
        assert_eq!(first.ca_pem, second.ca_pem);
        assert_eq!(first.token_key_pem, second.token_key_pem);
        assert!(first.ca_file.starts_with(dir.path()));
        assert!(first.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn without_a_state_dir_each_instance_gets_its_own_ca() {
        let a = Pki::new(None, &[]).expect("pki");
        let b = Pki::new(None, &[]).expect("pki");
        assert_ne!(a.ca_file, b.ca_file);
        assert!(a.ca_file.exists());
        a.cover("vault.kv.test").expect("cover");
        let file = a.ca_file.clone();
        drop(a);
        assert!(!file.exists(), "the scratch folder goes with the emulator");
    }
}
