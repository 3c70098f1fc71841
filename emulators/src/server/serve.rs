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
//!
//! An answer given before the body was read (an unknown path, a refused token) would otherwise
//! close the connection under a client still sending, which then sees a reset instead of the
//! answer. As Go's net/http does, up to [`DRAIN_LIMIT`] bytes of such a body are read and dropped
//! first; a larger one (a Content-Length refused with 413) is not waited for.

use axum::Router;
use axum::body::{Body, HttpBody};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
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
/// The most of an unread body read and dropped after the answer (Go: `maxPostHandlerReadBytes`).
const DRAIN_LIMIT: u64 = 256 * 1024;
/// How long that drain may take before the connection is closed instead.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// The request body as the handler sees it. What the handler leaves unread stays in the shared
/// slot, so [`answer`] can drain it after the handler is done with the request.
struct Lent(Arc<Mutex<Option<Incoming>>>);

impl HttpBody for Lent {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        let slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        slot.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        slot.as_ref().map(HttpBody::size_hint).unwrap_or_default()
    }
}

/// Runs the router on one request, then drains what it left of a small body (unless shutdown
/// has begun: then the connection closes anyway).
async fn answer(
    app: Router,
    request: hyper::Request<Incoming>,
    stopping: watch::Receiver<bool>,
) -> Result<axum::response::Response, std::convert::Infallible> {
    let (parts, body) = request.into_parts();
    let slot = Arc::new(Mutex::new(Some(body)));
    let lent = Body::new(Lent(Arc::clone(&slot)));
    let response = app.oneshot(hyper::Request::from_parts(parts, lent)).await;
    let rest = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(rest) = rest.filter(|b| !b.is_end_stream())
        && rest.size_hint().upper().is_none_or(|n| n <= DRAIN_LIMIT)
    {
        use http_body_util::BodyExt;
        let drain = http_body_util::Limited::new(rest, usize::try_from(DRAIN_LIMIT).unwrap_or(0));
        tokio::select! {
            _ = tokio::time::timeout(DRAIN_TIMEOUT, drain.collect()) => {}
            _ = until_stopped(stopping) => {}
        }
    }
    response
}

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
    let stop = stopping.clone();
    let service =
        hyper::service::service_fn(move |request| answer(app.clone(), request, stop.clone()));
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
