//! One listener's accept loop, for plain HTTP and for HTTPS alike: each accepted connection (after
//! the TLS handshake, when there is one) is one hyper HTTP/1.1 connection (keep-alive) handed to
//! the service's axum router.
//!
//! A real server bounds what a slow or hostile client can hold, and so does this one: the request
//! head must arrive within [`Timeouts::header_read`] (hyper's `header_read_timeout`, which also
//! closes keep-alive connections idle that long), the body within [`Timeouts::body_read`]
//! (`core::body`), a TLS handshake within [`HANDSHAKE_TIMEOUT`]. At shutdown the listener stops
//! accepting, idle connections close at once, bodies still arriving are abandoned, requests in
//! flight get [`Timeouts::shutdown_grace`] to finish, and whatever is left is then closed.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::core::Timeouts;

/// A client that opens a connection and never finishes the handshake must not hold a task forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn serve(
    name: &'static str,
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    timeouts: Timeouts,
    stopping: watch::Receiver<bool>,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = until_stopped(stopping.clone()) => break,
            accepted = listener.accept() => accepted,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // Out of descriptors and the like: keep serving the connections we have.
                tracing::warn!(service = name, error = %e, "accept failed");
                continue;
            }
        };
        // Small request/response pairs: Nagle would add tens of milliseconds.
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let stop = stopping.clone();
        match &acceptor {
            None => {
                connections.spawn(connection(name, tcp, app, timeouts, stop));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
                    let stream = tokio::select! {
                        _ = until_stopped(stop.clone()) => return,
                        done = handshake => match done {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                tracing::debug!(service = name, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => return,
                        },
                    };
                    connection(name, stream, app, timeouts, stop).await;
                });
            }
        }
        // Reap finished connections so a long run does not accumulate handles.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    // Each connection ends within the grace period on its own; this is the backstop.
    let all = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(timeouts.shutdown_grace + Duration::from_secs(1), all)
        .await
        .is_err()
    {
        connections.abort_all();
    }
}

/// Serves one connection until the client closes it, a timeout closes it, or shutdown does.
async fn connection<I>(
    name: &'static str,
    io: I,
    app: Router,
    timeouts: Timeouts,
    stopping: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| app.clone().oneshot(request));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(service = name, error = %e, "connection ended with an error");
            }
        }
        _ = until_stopped(stopping) => {
            // Idle connections close now; one mid-request finishes it, within the grace period.
            connection.as_mut().graceful_shutdown();
            if tokio::time::timeout(timeouts.shutdown_grace, connection).await.is_err() {
                tracing::debug!(service = name, "closing a connection still busy after the grace period");
            }
        }
    }
}

/// Resolves once shutdown is asked for (the guard `wait_for` returns is not `Send`, so it is
/// dropped here rather than held across the select).
async fn until_stopped(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}
