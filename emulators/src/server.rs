//! Binding the listeners, wiring the services to the core, and shutting down cleanly.

use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::aws::AwsEmulator;
use crate::azure::AzureEmulator;
use crate::core::{ADMIN_PREFIX, Core, Service, admin, seed};
use crate::vault::VaultEmulator;

mod tls_serve;

pub const DEFAULT_AWS_ADDR: &str = "127.0.0.1:4566";
pub const DEFAULT_AZURE_ADDR: &str = "127.0.0.1:8443";
pub const DEFAULT_VAULT_ADDR: &str = "127.0.0.1:8200";

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub aws: Option<SocketAddr>,
    /// A second AWS listener, serving the same routes over HTTPS (needs `aws`).
    pub aws_https: Option<SocketAddr>,
    pub azure: Option<SocketAddr>,
    pub vault: Option<SocketAddr>,
    pub state_dir: Option<PathBuf>,
    pub seed: Option<PathBuf>,
    pub deterministic: bool,
}

impl Options {
    /// Every built service on an ephemeral loopback port, in memory: what tests want.
    pub fn ephemeral() -> Self {
        Self {
            aws: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            ..Self::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr} for {service}: {source}")]
    Bind {
        service: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the {0} emulator is not available yet in this build")]
    NotBuilt(&'static str),
    #[error(transparent)]
    Persist(#[from] crate::core::persist::PersistError),
    #[error(transparent)]
    Seed(#[from] seed::SeedError),
    #[error("seeding failed: {0}")]
    Apply(String),
    #[error("an HTTPS listener for AWS needs the AWS emulator (--aws)")]
    HttpsWithoutAws,
    #[error("cannot set up HTTPS for {service}: {source}")]
    Tls {
        service: &'static str,
        #[source]
        source: crate::core::tls::TlsError,
    },
}

/// What the ready line reports for one service: its URL plus whatever the service adds
/// (a CA file, a root token...).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub url: String,
    #[serde(flatten)]
    pub info: serde_json::Map<String, serde_json::Value>,
}

/// The running emulators. Dropping it does not stop them; call [`Running::shutdown`].
#[derive(Debug)]
pub struct Running {
    pub endpoints: BTreeMap<&'static str, Endpoint>,
    pub core: Arc<Core>,
    pub aws: Option<Arc<AwsEmulator>>,
    pub azure: Option<Arc<AzureEmulator>>,
    pub vault: Option<Arc<VaultEmulator>>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Running {
    pub fn url(&self, service: &str) -> Option<&str> {
        self.endpoints.get(service).map(|e| e.url.as_str())
    }

    /// The single JSON line the binary prints once every listener is bound.
    pub fn ready_line(&self) -> String {
        serde_json::to_string(&self.endpoints).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Stops accepting, lets in-flight requests finish, and returns when every listener is closed.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

fn state_file(options: &Options, service: &str) -> Option<PathBuf> {
    options
        .state_dir
        .as_ref()
        .map(|d| d.join(format!("{service}.json")))
}

pub async fn start(options: Options) -> Result<Running, StartError> {
    let core = Arc::new(Core::new(options.deterministic));
    let mut services: Vec<Arc<dyn Service>> = Vec::new();
    let mut listeners: Vec<(&'static str, TcpListener, Arc<dyn Service>)> = Vec::new();

    let aws = match options.aws {
        Some(addr) => {
            let listener = bind("aws", addr).await?;
            let aws = Arc::new(AwsEmulator::new(
                Arc::clone(&core),
                state_file(&options, "aws"),
            )?);
            listeners.push(("aws", listener, Arc::clone(&aws) as Arc<dyn Service>));
            Some(aws)
        }
        None => None,
    };
    // The AWS routes again over HTTPS, for clients that only reach AWS through its own names
    // (redirected to this listener) and verify it with the emulator's CA.
    let aws_https = match (options.aws_https, &aws) {
        (None, _) => None,
        (Some(_), None) => return Err(StartError::HttpsWithoutAws),
        (Some(addr), Some(aws)) => {
            let listener = bind("aws", addr).await?;
            let local = listener.local_addr().map_err(|source| StartError::Bind {
                service: "aws",
                addr,
                source,
            })?;
            let tls = aws.serve_https(local).map_err(|source| StartError::Tls {
                service: "aws",
                source,
            })?;
            Some((listener, tls))
        }
    };
    let azure = match options.azure {
        Some(addr) => {
            let listener = bind("azure", addr).await?;
            let azure = Arc::new(AzureEmulator::new(
                Arc::clone(&core),
                state_file(&options, "azure"),
            )?);
            listeners.push(("azure", listener, Arc::clone(&azure) as Arc<dyn Service>));
            Some(azure)
        }
        None => None,
    };
    let vault = match options.vault {
        Some(addr) => {
            let listener = bind("vault", addr).await?;
            let vault = Arc::new(VaultEmulator::new(
                Arc::clone(&core),
                state_file(&options, "vault"),
            )?);
            listeners.push(("vault", listener, Arc::clone(&vault) as Arc<dyn Service>));
            Some(vault)
        }
        None => None,
    };
    services.extend(listeners.iter().map(|(_, _, s)| Arc::clone(s)));

    if let Some(path) = &options.seed {
        let doc = seed::read(path)?;
        admin::apply_seed(&services, doc)
            .await
            .map_err(|e| StartError::Apply(e.to_string()))?;
    }

    let admin = admin::router(Arc::clone(&core), services);
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut endpoints = BTreeMap::new();
    for (name, listener, service) in listeners {
        let local = listener.local_addr().map_err(|source| StartError::Bind {
            service: name,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
        })?;
        service.bound(local);
        let tls = service.tls();
        let scheme = if tls.is_some() { "https" } else { "http" };
        endpoints.insert(
            name,
            Endpoint {
                url: format!("{scheme}://{local}"),
                info: service.ready_info(),
            },
        );
        let app = Arc::clone(&service)
            .router()
            .nest(ADMIN_PREFIX, admin.clone());
        if let Some(tls) = tls {
            tasks.spawn(tls_serve::serve(name, listener, app, tls, stopped.clone()));
            continue;
        }
        let mut stopped = stopped.clone();
        tasks.spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                // Small request/response pairs: Nagle would add tens of milliseconds.
                let _ = tcp.set_nodelay(true);
            });
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(service = name, error = %e, "listener failed");
            }
        });
    }
    if let (Some((listener, tls)), Some(aws)) = (aws_https, &aws) {
        let app = Arc::clone(aws).router().nest(ADMIN_PREFIX, admin.clone());
        tasks.spawn(tls_serve::serve("aws", listener, app, tls, stopped.clone()));
    }
    Ok(Running {
        endpoints,
        core,
        aws,
        azure,
        vault,
        stop,
        tasks,
    })
}

async fn bind(service: &'static str, addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind {
            service,
            addr,
            source,
        })
}
