//! A CA of the emulator's own and the serving certificate it signs, for the services served over
//! HTTPS (Key Vault, and the AWS listener that stands behind redirected `*.amazonaws.com` names).
//!
//! The CA lives in the state dir when there is one, so a restart keeps what clients already trust
//! (a ConfigMap in the cluster, a file named in the ready line); without one it goes to a fresh
//! temp folder per instance, removed when the instance goes away. The serving certificate is
//! re-issued whenever a name is added, which is why rustls gets it through a resolver. A service
//! may also let the resolver add names on demand from the TLS server name (SNI) a client sends,
//! for name families too large to list (every region an SDK may form a host name for).

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

/// What tells one emulator's CA from another's: its files (`<prefix>-ca.pem`,
/// `<prefix>-ca-key.pem`) and the names in its certificates.
#[derive(Debug, Clone, Copy)]
pub struct CaSpec {
    pub prefix: &'static str,
    pub ca_common_name: &'static str,
    pub leaf_common_name: &'static str,
}

/// Maps a TLS server name the certificate does not cover yet to the name to add for it (the
/// name itself, or a wildcard covering its family), or `None` to leave the certificate as it is.
pub type OnDemand = fn(&str) -> Option<String>;

/// How many names SNI may add: a client sending endless made-up names must not grow the
/// certificate (and the time to re-sign it) without bound.
pub const MAX_ON_DEMAND_NAMES: usize = 256;

struct Leaf {
    issuer: Issuer<'static, KeyPair>,
    key: KeyPair,
    common_name: &'static str,
    names: Mutex<BTreeSet<String>>,
    added_on_demand: AtomicU64,
    current: RwLock<Arc<CertifiedKey>>,
    provider: Arc<CryptoProvider>,
    on_demand: Option<OnDemand>,
}

impl std::fmt::Debug for Leaf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leaf")
            .field("common_name", &self.common_name)
            .finish_non_exhaustive()
    }
}

impl Leaf {
    /// Adds `new` names; re-issues the certificate only when one of them was missing.
    fn cover(&self, new: &[String]) -> Result<bool, TlsError> {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let before = names.len();
        names.extend(
            new.iter()
                .map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase()),
        );
        names.remove("");
        if names.len() == before {
            return Ok(false);
        }
        let certified = issue_leaf(
            &self.issuer,
            &self.key,
            self.common_name,
            &self.provider,
            &names,
        )?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(certified);
        Ok(true)
    }

    fn covers(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        names.contains(&host)
            || host
                .split_once('.')
                .is_some_and(|(_, parent)| names.contains(&format!("*.{parent}")))
    }
}

impl ResolvesServerCert for Leaf {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if let (Some(policy), Some(sni)) = (self.on_demand, hello.server_name())
            && !self.covers(sni)
            && let Some(name) = policy(sni)
            && self.added_on_demand.load(Ordering::Relaxed) < MAX_ON_DEMAND_NAMES as u64
        {
            match self.cover(&[name]) {
                Ok(true) => {
                    self.added_on_demand.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(sni, "serving certificate re-issued for a new name");
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(sni, error = %e, "cannot re-issue the serving certificate")
                }
            }
        }
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(|p| p.into_inner()),
        ))
    }
}

/// An emulator's CA and the certificate it serves, with the rustls configuration to serve it.
pub struct ServingCa {
    /// The CA certificate clients trust, as written to disk.
    pub ca_file: PathBuf,
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
    dir: PathBuf,
    /// The scratch folder made when there is no state dir; removed when the CA goes away.
    scratch: Option<PathBuf>,
    leaf: Arc<Leaf>,
}

impl std::fmt::Debug for ServingCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServingCa")
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Where the CA goes when there is no state dir: a folder of its own per instance, so two
/// emulators in one process (parallel tests) never overwrite each other's CA.
fn scratch_dir(prefix: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("secretbench-{prefix}-{}-{n}", std::process::id()))
}

fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
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
pub fn load_or_create(
    dir: &Path,
    file: &str,
    make: impl FnOnce() -> Result<String, TlsError>,
) -> Result<String, TlsError> {
    let path = dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = make()?;
            crate::core::persist::write_atomic(&path, text.as_bytes()).map_err(io_err(&path))?;
            #[cfg(unix)]
            if file.ends_with("-key.pem") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(io_err(&path))?;
            }
            Ok(text)
        }
        Err(source) => Err(TlsError::Io { path, source }),
    }
}

impl ServingCa {
    /// Loads the CA from `state_dir` (creating it on first start), or makes a fresh one in a
    /// scratch folder when there is no state dir, and issues a certificate for `names`.
    pub fn new(
        spec: CaSpec,
        state_dir: Option<&Path>,
        names: impl IntoIterator<Item = String>,
        on_demand: Option<OnDemand>,
    ) -> Result<Self, TlsError> {
        let scratch = state_dir.is_none().then(|| scratch_dir(spec.prefix));
        let dir = state_dir
            .map(Path::to_owned)
            .or_else(|| scratch.clone())
            .unwrap_or_default();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let ca_key_pem = load_or_create(&dir, &format!("{}-ca-key.pem", spec.prefix), || {
            Ok(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?.serialize_pem())
        })?;
        let ca_key = KeyPair::from_pem(&ca_key_pem)?;
        let params = ca_params(spec.ca_common_name);
        // The CA certificate on disk is what clients trust. When only the key survived (the
        // certificate file was removed), a new self-signed certificate is made for the same key.
        let ca_file = format!("{}-ca.pem", spec.prefix);
        let ca_pem = load_or_create(&dir, &ca_file, || Ok(params.self_signed(&ca_key)?.pem()))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let names: BTreeSet<String> = names
            .into_iter()
            .map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        let issuer = Issuer::new(params, ca_key);
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let first = issue_leaf(&issuer, &key, spec.leaf_common_name, &provider, &names)?;
        let leaf = Leaf {
            issuer,
            key,
            common_name: spec.leaf_common_name,
            names: Mutex::new(names),
            added_on_demand: AtomicU64::new(0),
            current: RwLock::new(Arc::new(first)),
            provider: Arc::clone(&provider),
            on_demand,
        };
        let leaf = Arc::new(leaf);
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&leaf) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            ca_file: dir.join(ca_file),
            ca_pem,
            server_config: Arc::new(config),
            dir,
            scratch,
            leaf,
        })
    }

    /// The folder holding the CA (the state dir, or the scratch folder), for keys that belong
    /// beside it.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Makes sure the serving certificate covers `names`; re-issues it when one was missing.
    pub fn cover(&self, names: &[String]) -> Result<(), TlsError> {
        self.leaf.cover(names).map(drop)
    }

    /// Whether the serving certificate covers `host` (exactly or by a wildcard).
    pub fn covers(&self, host: &str) -> bool {
        self.leaf.covers(host)
    }
}

impl Drop for ServingCa {
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
    common_name: &str,
    provider: &CryptoProvider,
    names: &BTreeSet<String>,
) -> Result<CertifiedKey, TlsError> {
    let mut params = CertificateParams::new(names.iter().cloned().collect::<Vec<_>>())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
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

    const SPEC: CaSpec = CaSpec {
        prefix: "test",
        ca_common_name: "secretbench test CA",
        leaf_common_name: "secretbench test",
    };

    #[test]
    fn the_ca_survives_a_restart_in_the_same_state_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first =
            ServingCa::new(SPEC, Some(dir.path()), ["localhost".to_owned()], None).expect("ca");
        let second = ServingCa::new(SPEC, Some(dir.path()), [], None).expect("ca");
        assert_eq!(first.ca_pem, second.ca_pem);
        assert_eq!(first.ca_file, dir.path().join("test-ca.pem"));
        assert!(first.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(dir.path().join("test-ca-key.pem").exists());
    }

    #[test]
    fn without_a_state_dir_each_instance_gets_its_own_scratch_folder() {
        let a = ServingCa::new(SPEC, None, [], None).expect("ca");
        let b = ServingCa::new(SPEC, None, [], None).expect("ca");
        assert_ne!(a.ca_file, b.ca_file);
        assert!(a.ca_file.exists());
        let file = a.ca_file.clone();
        drop(a);
        assert!(!file.exists(), "the scratch folder goes with the CA");
    }

    #[test]
    fn coverage_counts_exact_names_and_one_label_wildcards() {
        let ca = ServingCa::new(
            SPEC,
            None,
            ["Example.TEST".to_owned(), "*.zone.test".to_owned()],
            None,
        )
        .expect("ca");
        assert!(ca.covers("example.test"));
        assert!(ca.covers("a.zone.test"));
        assert!(!ca.covers("a.b.zone.test"), "a wildcard covers one label");
        assert!(!ca.covers("zone.test"));
        ca.cover(&["zone.test".to_owned()]).expect("cover");
        assert!(ca.covers("zone.test"));
    }
}
