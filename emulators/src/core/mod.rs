//! What every emulator shares: time, identifiers, the request journal, fault injection,
//! persistence, seeding and the admin API.

pub mod admin;
pub mod body;
pub mod clock;
pub mod faults;
pub mod ids;
pub mod journal;
pub mod pem;
pub mod persist;
pub mod seed;
pub mod shared_state;
pub mod tenant;
pub mod tls;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

pub use clock::Clock;
pub use faults::Faults;
pub use ids::Ids;
pub use journal::Journal;

/// The seed of the deterministic id stream; fixed so two deterministic runs produce the same ids.
pub const DETERMINISTIC_SEED: u64 = 0x5ec2_e7be_7c4d;

/// Reserved path prefix of the admin API on every listener.
pub const ADMIN_PREFIX: &str = "/_secretbench";

/// How long a client may take, and how long shutdown waits for requests in flight. The defaults
/// are Vault's listener defaults (`http_read_header_timeout` 10s, `http_read_timeout` 30s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From the start of a request (or of an idle keep-alive connection) to its last header.
    pub header_read: Duration,
    /// From the end of the headers to the last byte of the body.
    pub body_read: Duration,
    /// How long shutdown lets requests in flight finish before closing their connections.
    pub shutdown_grace: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(3),
        }
    }
}

#[derive(Debug)]
pub struct Core {
    pub clock: Clock,
    pub ids: Ids,
    pub journal: Journal,
    pub faults: Faults,
    pub timeouts: Timeouts,
    deterministic: bool,
    requests: AtomicU64,
    stop: watch::Sender<bool>,
}

impl Core {
    pub fn new(deterministic: bool) -> Self {
        Self {
            clock: if deterministic {
                Clock::deterministic()
            } else {
                Clock::system()
            },
            ids: if deterministic {
                Ids::deterministic(DETERMINISTIC_SEED)
            } else {
                Ids::Random
            },
            journal: Journal::new(journal::DEFAULT_CAPACITY, journal::DEFAULT_BYTES),
            faults: Faults::default(),
            timeouts: Timeouts::default(),
            deterministic,
            requests: AtomicU64::new(0),
            stop: watch::channel(false).0,
        }
    }

    /// Starts shutdown: listeners stop accepting and bodies still arriving are abandoned.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Becomes `true` once shutdown has begun.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    pub fn is_deterministic(&self) -> bool {
        self.deterministic
    }

    /// A request id in UUID form. Deterministic mode numbers requests instead of drawing from the
    /// id stream, so concurrent requests cannot reorder the ids of the resources they create.
    pub fn request_id(&self) -> String {
        if self.deterministic {
            let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
            format!("00000000-0000-4000-8000-{n:012x}")
        } else {
            self.ids.uuid()
        }
    }

    pub fn now_rfc3339(&self) -> String {
        clock::rfc3339(self.clock.now())
    }

    /// Applies the fault rules to a request: waits out an injected latency, and returns the
    /// injected error, if any, for the service to render in its own shape.
    pub async fn inject_faults(
        &self,
        service: &str,
        operation: &str,
        region: Option<&str>,
        scope: faults::Scope<'_>,
    ) -> Option<faults::InjectedError> {
        let effect = self
            .faults
            .check(&self.ids, service, operation, region, scope);
        if let Some(delay) = effect.delay {
            tokio::time::sleep(delay).await;
        }
        effect.error
    }

    /// Journals a finished request: its answer's status and error code, the time now, and how
    /// long it took since `started`.
    pub fn journal_request(
        &self,
        record: journal::Record,
        started: std::time::Instant,
        status: u16,
        error: Option<String>,
    ) {
        let latency = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.journal
            .push(record, self.now_rfc3339(), status, error, latency);
    }
}

/// One emulated service, as the core and the admin API see it.
pub trait Service: Send + Sync + 'static {
    /// The name used in seed files, the journal and the admin API (`aws`, `azure`, `vault`).
    fn name(&self) -> &'static str;
    /// Forgets all state, as if the emulator had just started empty.
    fn reset(&self);
    /// The whole state, for the admin API.
    fn dump(&self) -> serde_json::Value;
    /// Loads this service's section of a seed document (additive: existing entries are updated).
    fn seed(&self, section: serde_json::Value) -> Result<(), seed::SeedError>;
    fn persister(&self) -> &persist::Persister;
    /// The service's routes; the admin API is nested beside them by the server.
    fn router(self: std::sync::Arc<Self>) -> axum::Router;
    /// Extra members of this service's entry in the ready line (a root token, a CA file...).
    fn ready_info(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
    /// A TLS configuration when the service is served over HTTPS (Azure: its clients refuse
    /// plain HTTP); `None` serves plain HTTP.
    fn tls(&self) -> Option<std::sync::Arc<rustls::ServerConfig>> {
        None
    }
    /// Told the bound address before [`Service::ready_info`] is asked (so URLs can carry an
    /// ephemeral port).
    fn bound(&self, _local: std::net::SocketAddr) {}
    /// The tenants this service holds now, its default one first.
    fn tenants(&self) -> Vec<tenant::TenantView>;
    /// `name` in the form this service keys its tenants by (Azure vault names are lowercase,
    /// Vault namespaces lose their slashes at either end), or why it cannot name a tenant.
    fn tenant_name(&self, name: &str) -> Result<String, tenant::TenantError>;
    /// Creates tenant `name` (a canonical name); `true` when it did not exist.
    fn create_tenant(&self, name: &str) -> Result<bool, tenant::TenantError>;
    /// Empties tenant `name`, as if it had just been created; other tenants are untouched.
    fn reset_tenant(&self, name: &str) -> Result<(), tenant::TenantError>;
    /// Removes tenant `name` and everything in it. The default tenant cannot be removed.
    fn drop_tenant(&self, name: &str) -> Result<(), tenant::TenantError>;
    /// Loads this service's section of a seed document into tenant `name`, creating it.
    fn seed_tenant(
        &self,
        name: &str,
        section: serde_json::Value,
    ) -> Result<(), tenant::TenantError>;
    /// Tenant `name`'s state, for the admin API.
    fn dump_tenant(&self, name: &str) -> Result<serde_json::Value, tenant::TenantError>;
    /// The answer to an admin API request without the admin token, in this service's own error
    /// shape, so the refusal reads like the service's refusal of any unauthenticated call.
    fn refuse_admin(&self, message: &str) -> axum::response::Response;
}
