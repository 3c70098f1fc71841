//! The EKS Pod Identity agent's credential endpoint: `GET /v1/credentials`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use super::AwsEmulator;

pub(crate) async fn credentials(
    State(_aws): State<Arc<AwsEmulator>>,
    _headers: HeaderMap,
) -> Response {
    StatusCode::NOT_IMPLEMENTED.into_response()
}
