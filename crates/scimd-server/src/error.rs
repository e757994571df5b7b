//! The API error: every failure answered by the server is a SCIM Error body (RFC 7644 §3.12),
//! whatever produced it (validation, the store, an extractor rejection, an unknown route).
//! Internal errors are logged with a request number and answered with a plain 500 body that
//! carries no internal text.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scimd_core::ScimError;
use std::sync::atomic::{AtomicU64, Ordering};

/// The media type of every SCIM response.
pub const SCIM_JSON: &str = "application/scim+json";

static INTERNAL_ERRORS: AtomicU64 = AtomicU64::new(0);

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    pub error: ScimError,
    /// Extra headers (`WWW-Authenticate` on 401, `Allow` on 405).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl ApiError {
    /// An internal failure: logged in full, answered without detail.
    pub fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        let n = INTERNAL_ERRORS.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::error!(error_id = n, "{context}: {cause}");
        ApiError::from(ScimError::status(500, format!("internal error (error id {n}); see the server log")))
    }

    /// 401 with the challenges the server accepts.
    pub fn unauthorized(detail: &str) -> Self {
        ApiError {
            error: ScimError::unauthorized(detail),
            headers: vec![
                (header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"scimd\"")),
                (
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"scimd\", charset=\"UTF-8\""),
                ),
            ],
        }
    }
}

impl From<ScimError> for ApiError {
    fn from(error: ScimError) -> Self {
        ApiError { error, headers: Vec::new() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = self.error.to_json().to_string();
        let mut resp = (status, body).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        for (k, v) in self.headers {
            h.append(k, v);
        }
        resp
    }
}

/// The result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
