//! The emulator's own PKI: a CA written out as PEM for clients to trust, a serving certificate it
//! signs for every name the emulator answers to, and the key that signs access tokens.
//!
//! The CA and the token key live in the state dir when there is one, so a restart keeps what
//! clients already trust (and tokens they already hold); without one they go to a fresh temp
//! folder per start. The serving certificate is re-issued whenever a new DNS suffix appears
//! (a seeded vault under a custom suffix), which is why rustls gets it through a resolver.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::PrivateKeyDer;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use time::{Duration, OffsetDateTime};

const CA_FILE: &str = "azure-ca.pem";
const CA_KEY_FILE: &str = "azure-ca-key.pem";
const TOKEN_KEY_FILE: &str = "azure-token-key.pem";
const CA_COMMON_NAME: &str = "secretbench Azure emulator CA";

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

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("certificate generation failed: {0}")]
    Cert(#[from] rcgen::Error),
    #[error("TLS configuration failed: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Serves the current leaf to every handshake (SNI is ignored: one certificate covers all names).
#[derive(Debug)]
struct LeafResolver {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for LeafResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(|p| p.into_inner()),
        ))
    }
}

pub struct Pki {
    pub ca_file: PathBuf,
    /// The scratch folder made when there is no state dir; removed when the emulator goes away.
    scratch: Option<PathBuf>,
    pub ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
    leaf_key: KeyPair,
    names: Mutex<BTreeSet<String>>,
    resolver: Arc<LeafResolver>,
    provider: Arc<CryptoProvider>,
    pub server_config: Arc<rustls::ServerConfig>,
    /// PKCS#8 PEM of the ES256 key that signs access tokens.
    pub token_key_pem: String,
    /// PKCS#8 DER of the same key.
    pub token_key_der: Vec<u8>,
    /// Uncompressed SEC1 point of the token key (0x04 || x || y), for the JWKS document.
    pub token_public: Vec<u8>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Where the CA goes when there is no state dir: a folder of its own per emulator instance, so
/// two emulators in one process (parallel tests) never overwrite each other's CA.
fn scratch_dir() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("secretbench-azure-{}-{n}", std::process::id()))
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    dn.push(DnType::OrganizationName, "secretbench");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(3650);
    params
}

/// Reads `file` from `dir`, or creates it with `make` and writes it there (0600 for keys).
fn load_or_create(
    dir: &Path,
    file: &str,
    make: impl FnOnce() -> Result<String, TlsError>,
) -> Result<(String, bool), TlsError> {
    let path = dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((text, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = make()?;
            crate::core::persist::write_atomic(&path, text.as_bytes()).map_err(io_err(&path))?;
            #[cfg(unix)]
            if file.ends_with("-key.pem") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(io_err(&path))?;
            }
            Ok((text, true))
        }
        Err(source) => Err(TlsError::Io { path, source }),
    }
}

impl Pki {
    /// Loads the CA from `state_dir` (creating it on first start), or makes a fresh one in a
    /// scratch folder when there is no state dir.
    pub fn new(state_dir: Option<&Path>, extra_names: &[String]) -> Result<Self, TlsError> {
        let scratch = state_dir.is_none().then(scratch_dir);
        let dir = state_dir
            .map(Path::to_owned)
            .or_else(|| scratch.clone())
            .unwrap_or_default();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let (ca_key_pem, _) = load_or_create(&dir, CA_KEY_FILE, || {
            Ok(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?.serialize_pem())
        })?;
        let ca_key = KeyPair::from_pem(&ca_key_pem)?;
        let params = ca_params();
        // The CA certificate on disk is what clients trust. When only the key survived (the
        // certificate file was removed), a new self-signed certificate is made for the same key.
        let (ca_pem, _) = load_or_create(&dir, CA_FILE, || Ok(params.self_signed(&ca_key)?.pem()))?;
        let issuer = Issuer::new(params, ca_key);
        let (token_key_pem, _) = load_or_create(&dir, TOKEN_KEY_FILE, || {
            Ok(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?.serialize_pem())
        })?;
        let token_key = KeyPair::from_pem(&token_key_pem)?;
        let token_public = token_key.public_key_raw().to_vec();
        let token_key_der = token_key.serialize_der();

        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut names: BTreeSet<String> = BASE_NAMES.iter().map(|s| (*s).to_owned()).collect();
        names.extend(extra_names.iter().cloned());
        let certified = issue_leaf(&issuer, &leaf_key, &names, &provider)?;
        let resolver = Arc::new(LeafResolver {
            current: RwLock::new(Arc::new(certified)),
        });
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&resolver) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            ca_file: dir.join(CA_FILE),
            scratch,
            ca_pem,
            issuer,
            leaf_key,
            names: Mutex::new(names),
            resolver,
            provider,
            server_config: Arc::new(config),
            token_key_pem,
            token_key_der,
            token_public,
        })
    }

    /// Makes sure the serving certificate covers `suffix` and `*.suffix` (a vault DNS suffix) or
    /// a login host; re-issues it when it did not.
    pub fn cover(&self, host: &str) -> Result<(), TlsError> {
        let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() {
            return Ok(());
        }
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let wildcard = format!("*.{host}");
        if names.contains(&host) && names.contains(&wildcard) {
            return Ok(());
        }
        names.insert(host);
        names.insert(wildcard);
        let certified = issue_leaf(&self.issuer, &self.leaf_key, &names, &self.provider)?;
        *self
            .resolver
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(certified);
        Ok(())
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        // A state dir is the user's; only our own scratch folder is cleaned up.
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn issue_leaf(
    issuer: &Issuer<'static, KeyPair>,
    key: &KeyPair,
    names: &BTreeSet<String>,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let mut params = CertificateParams::new(names.iter().cloned().collect::<Vec<_>>())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "secretbench Azure emulator");
    params.distinguished_name = dn;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(365);
    let cert = params.signed_by(key, issuer)?;
    let signing = provider
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(key.serialize_der().into()))?;
    Ok(CertifiedKey::new(vec![cert.der().clone()], signing))
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
