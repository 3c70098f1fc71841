//! STS over the query protocol (form-encoded requests, XML answers).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use super::AwsEmulator;

pub(crate) async fn post_root(
    _aws: Arc<AwsEmulator>,
    _method: Method,
    _uri: Uri,
    _headers: HeaderMap,
    _body: Body,
) -> Response {
    StatusCode::NOT_IMPLEMENTED.into_response()
}

pub(crate) async fn get_root(State(_aws): State<Arc<AwsEmulator>>, _uri: Uri) -> Response {
    StatusCode::NOT_IMPLEMENTED.into_response()
}
