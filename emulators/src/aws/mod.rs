//! The AWS emulator: Secrets Manager and SSM Parameter Store (AWS JSON 1.1), STS (query protocol)
//! and the EKS Pod Identity agent, on one listener. Region and account come from the SigV4
//! credential scope, and every region keeps its own secrets and parameters.
//!
//! The same routes can also be served over HTTPS ([`AwsEmulator::serve_https`]), with a CA of
//! the emulator's own whose certificate covers the AWS host names ([`tls`]): clients that cannot
//! be pointed at another endpoint (the CSI provider's IRSA STS client) reach it through a
//! redirected name.

pub mod accounts;
pub mod error;
pub mod iam;
mod json_protocol;
pub mod pod_identity;
pub mod secretsmanager;
pub mod seed;
pub mod sigv4;
pub mod ssm;
pub mod sts;
pub mod tls;
pub mod validate;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLockReadGuard, RwLockWriteGuard};

use crate::core::persist::{PersistError, Persister};
use crate::core::seed::SeedError;
use crate::core::shared_state::SharedState;
use crate::core::tenant::{TenantError, TenantView};
use crate::core::tls::{ServingCa, TlsError};
use crate::core::{Core, Service};

pub const DEFAULT_ACCOUNT: &str = "123456789012";
/// The region of requests that carry no SigV4 scope (permissive mode only).
pub const DEFAULT_REGION: &str = "us-east-1";
/// Largest request body accepted; AWS's own limits on values are far below it.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AwsState {
    pub account_id: String,
    /// The partitions of `account_id`, the emulator's own account.
    pub regions: BTreeMap<String, RegionState>,
    pub iam: iam::IamState,
    /// Every other account's partitions ([`accounts`]); absent while there are none, so a
    /// single-account state file reads as it always did.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub accounts: BTreeMap<String, accounts::AccountState>,
}

impl Default for AwsState {
    fn default() -> Self {
        Self {
            account_id: DEFAULT_ACCOUNT.to_owned(),
            regions: BTreeMap::new(),
            iam: iam::IamState::default(),
            accounts: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RegionState {
    #[serde(default)]
    pub secrets: secretsmanager::Store,
    #[serde(default)]
    pub parameters: ssm::Store,
}

#[derive(Debug)]
pub struct AwsEmulator {
    core: Arc<Core>,
    state: SharedState<AwsState>,
    /// Where the HTTPS CA is kept (beside the state file); `None`: a scratch folder.
    state_dir: Option<PathBuf>,
    https: OnceLock<Https>,
}

/// The HTTPS side, once a listener for it is bound.
#[derive(Debug)]
struct Https {
    url: String,
    ca: ServingCa,
}

impl AwsEmulator {
    /// Loads `state_file` when it exists; with a path, every change is written back before it is
    /// acknowledged.
    pub fn new(core: Arc<Core>, state_file: Option<PathBuf>) -> Result<Self, PersistError> {
        let state_dir = state_file
            .as_deref()
            .and_then(std::path::Path::parent)
            .map(PathBuf::from);
        let state = SharedState::open(state_file, AwsState::default)?;
        Ok(Self {
            core,
            state,
            state_dir,
            https: OnceLock::new(),
        })
    }

    /// Sets up HTTPS for a listener bound at `local`: the CA (kept in the state dir, so the
    /// trust a cluster was given survives restarts), a certificate for the AWS names and that
    /// address, and the configuration to serve it with. Once only.
    pub fn serve_https(&self, local: SocketAddr) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let https = match self.https.get() {
            Some(existing) => existing,
            None => {
                let ca = ServingCa::new(
                    tls::SPEC,
                    self.state_dir.as_deref(),
                    tls::base_names(&[local.ip()]),
                    Some(tls::on_demand),
                )?;
                let url = format!("https://{local}");
                self.https.get_or_init(|| Https { url, ca })
            }
        };
        Ok(Arc::clone(&https.ca.server_config))
    }

    /// The CA clients of the HTTPS listener trust, once there is one.
    pub fn ca_file(&self) -> Option<&std::path::Path> {
        self.https.get().map(|h| h.ca.ca_file.as_path())
    }

    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, AwsState> {
        self.state.read()
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, AwsState> {
        self.state.write()
    }

    fn routes(this: Arc<Self>) -> Router {
        let clock_owner = Arc::clone(&this);
        Router::new()
            .route("/", post(json_protocol::post_root).get(sts::get_root))
            // The agent's handler serves every method alike (aws/eks-pod-identity-agent
            // `pkg/handlers/eks_credential_handler.go` registers it on a plain ServeMux).
            .route("/v1/credentials", any(pod_identity::credentials))
            .fallback(json_protocol::unknown_path)
            // Bodies are read with our own limit so the error has AWS's shape.
            .layer(DefaultBodyLimit::disable())
            // `Date` from the emulator's clock: SDKs correct their signing time by it (clock
            // skew), which keeps strict signatures usable when that clock is not the wall's.
            .layer(axum::middleware::map_response(
                move |mut response: Response| {
                    let now = clock_owner.core.clock.peek();
                    async move {
                        if let Ok(v) = HeaderValue::from_str(&crate::core::clock::http_date(now)) {
                            response.headers_mut().insert(header::DATE, v);
                        }
                        response
                    }
                },
            ))
            .with_state(this)
    }
}

impl Service for AwsEmulator {
    fn name(&self) -> &'static str {
        "aws"
    }

    fn reset(&self) {
        *self.write() = AwsState::default();
    }

    fn dump(&self) -> serde_json::Value {
        serde_json::to_value(&*self.read()).unwrap_or_default()
    }

    fn seed(&self, section: serde_json::Value) -> Result<(), SeedError> {
        let seed: seed::AwsSeed = crate::core::seed::section("aws", section)?;
        let mut state = self.write();
        seed.apply(&mut state, &self.core, None)
            .map_err(|message| SeedError::Invalid {
                service: "aws",
                message,
            })
    }

    fn tenants(&self) -> Vec<TenantView> {
        self.read().tenant_views()
    }

    fn tenant_name(&self, name: &str) -> Result<String, TenantError> {
        accounts::tenant_name(name)
    }

    fn create_tenant(&self, name: &str) -> Result<bool, TenantError> {
        Ok(self.write().create_account(name))
    }

    fn reset_tenant(&self, name: &str) -> Result<(), TenantError> {
        self.write().reset_account(name);
        Ok(())
    }

    fn drop_tenant(&self, name: &str) -> Result<(), TenantError> {
        self.write().drop_account(name)
    }

    fn seed_tenant(&self, name: &str, section: serde_json::Value) -> Result<(), TenantError> {
        let seed: seed::AwsSeed = crate::core::seed::section("aws", section)
            .map_err(|e| TenantError::Seed(e.to_string()))?;
        let mut state = self.write();
        state.create_account(name);
        seed.apply(&mut state, &self.core, Some(name))
            .map_err(TenantError::Seed)
    }

    fn dump_tenant(&self, name: &str) -> Result<serde_json::Value, TenantError> {
        self.read().dump_account(name)
    }

    fn persister(&self) -> &Persister {
        self.state.persister()
    }

    fn router(self: Arc<Self>) -> Router {
        Self::routes(self)
    }

    fn ready_info(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut info = serde_json::Map::new();
        if let Some(https) = self.https.get() {
            info.insert("httpsUrl".into(), https.url.clone().into());
            info.insert(
                "caFile".into(),
                https.ca.ca_file.display().to_string().into(),
            );
        }
        info
    }

    fn refuse_admin(&self, message: &str) -> Response {
        let err = error::AwsError::new(StatusCode::FORBIDDEN, "AccessDeniedException", message);
        let mut response =
            (err.status, error::json_body(&err, error::MessageKey::Upper)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(json_protocol::CONTENT_TYPE),
        );
        response
    }
}
