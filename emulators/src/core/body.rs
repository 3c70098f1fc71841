//! Reading a request body under a size limit and a time limit, as a real server does: a body
//! declared larger than the limit is refused before a byte of it is read, a body that does not
//! arrive in time is given up on, and a body still arriving at shutdown is abandoned. Each
//! service turns the failure into its own error shape; the checks themselves are the same
//! everywhere.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;

use super::Core;

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("cannot read the request body: {0}")]
    Unreadable(String),
    #[error("the request body did not arrive within {0:?}")]
    TimedOut(std::time::Duration),
    #[error("the server is shutting down")]
    ShuttingDown,
}

/// The length a request declares in `Content-Length`, if any.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The whole body, or [`BodyError::TooLarge`] as soon as it is declared or seen to pass `limit`
/// bytes, [`BodyError::TimedOut`] when it takes longer than the core's body read timeout, and
/// [`BodyError::ShuttingDown`] when shutdown begins while it is still arriving.
pub async fn read_limited(
    core: &Core,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, BodyError> {
    if declared_length(headers).is_some_and(|n| n > limit as u64) {
        // Answered without reading: the connection is closed after the answer, since the
        // rest of the body is never consumed.
        return Err(BodyError::TooLarge(limit));
    }
    let within = core.timeouts.body_read;
    let read = tokio::time::timeout(within, http_body_util::Limited::new(body, limit).collect());
    let mut stopping = core.stopping();
    let collected = tokio::select! {
        biased;
        _ = stopping.wait_for(|s| *s) => return Err(BodyError::ShuttingDown),
        read = read => read.map_err(|_| BodyError::TimedOut(within))?,
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(BodyError::TooLarge(limit))
        }
        Err(e) => Err(BodyError::Unreadable(e.to_string())),
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed expectation is the test failing
mod tests {
    use super::*;
    use std::time::Duration;

    fn core() -> Core {
        Core::new(false)
    }

    /// A body whose first byte never comes: reading it would wait forever.
    fn never() -> Body {
        Body::from_stream(futures::stream::pending::<Result<Bytes, std::io::Error>>())
    }

    #[tokio::test]
    async fn refuses_one_byte_over_the_limit() {
        let core = core();
        let none = HeaderMap::new();
        let ok = read_limited(&core, &none, Body::from(vec![b'x'; 8]), 8)
            .await
            .expect("at the limit");
        assert_eq!(ok.len(), 8);
        let err = read_limited(&core, &none, Body::from(vec![b'x'; 9]), 8)
            .await
            .expect_err("over");
        assert!(matches!(err, BodyError::TooLarge(8)));
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_without_reading() {
        let core = core();
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, "9".parse().expect("header"));
        let err = read_limited(&core, &headers, never(), 8)
            .await
            .expect_err("declared too large");
        assert!(matches!(err, BodyError::TooLarge(8)));
    }

    #[tokio::test]
    async fn a_body_that_does_not_arrive_times_out_and_shutdown_abandons_it() {
        let mut core = core();
        core.timeouts.body_read = Duration::from_millis(50);
        let err = read_limited(&core, &HeaderMap::new(), never(), 8)
            .await
            .expect_err("slow");
        assert!(matches!(err, BodyError::TimedOut(_)));

        core.timeouts.body_read = Duration::from_secs(3600);
        core.stop();
        let err = read_limited(&core, &HeaderMap::new(), never(), 8)
            .await
            .expect_err("stopping");
        assert!(matches!(err, BodyError::ShuttingDown));
    }
}
