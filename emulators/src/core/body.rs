//! Reading a request body under a size limit. Each service turns the failure into its own
//! error shape; the limit check itself is the same everywhere.

use axum::body::{Body, Bytes};
use http_body_util::BodyExt;

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("cannot read the request body: {0}")]
    Unreadable(String),
}

/// The whole body, or [`BodyError::TooLarge`] as soon as it passes `limit` bytes.
pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    match http_body_util::Limited::new(body, limit).collect().await {
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
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_one_byte_over_the_limit() {
        let ok = read_limited(Body::from(vec![b'x'; 8]), 8)
            .await
            .expect("at the limit");
        assert_eq!(ok.len(), 8);
        let err = read_limited(Body::from(vec![b'x'; 9]), 8)
            .await
            .expect_err("over");
        assert!(matches!(err, BodyError::TooLarge(8)));
    }
}
