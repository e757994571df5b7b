//! The SCIM endpoints (RFC 7644): discovery and the Users and Groups resources.
//!
//! # Layout
//! - `request`: reading bodies (content type, size limit, JSON), query parameters, preconditions.
//! - `render`: a stored resource as SCIM JSON, with `meta`, `$ref`, `groups` and its ETag.
//! - `resources`: POST, GET, PUT, DELETE and list of `/Users` and `/Groups`.
//! - `patch`: PATCH of one resource (RFC 7644 §3.5.2).
//! - `discovery`: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`.

mod discovery;
mod patch;
mod render;
mod request;
mod resources;

use crate::app::SharedState;
use crate::error::ApiError;
use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, any, get};
use scimd_core::{ResourceKind, ScimError};

fn not_supported(what: &'static str) -> MethodRouter<SharedState> {
    any(
        move || async move { ApiError::from(ScimError::not_implemented(format!("{what} is not supported yet"))) },
    )
}

pub(crate) fn method_not_allowed(
    allowed: &'static str,
) -> impl Fn(Method) -> std::future::Ready<ApiError> + Clone {
    move |method: Method| {
        let mut e = ApiError::from(ScimError::status(405, format!("method {method} is not allowed here")));
        e.headers.push((axum::http::header::ALLOW, axum::http::HeaderValue::from_static(allowed)));
        std::future::ready(e)
    }
}

/// The SCIM routes, relative to the SCIM base path.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config).fallback(method_not_allowed("GET")),
        )
        .route("/ResourceTypes", get(discovery::resource_types).fallback(method_not_allowed("GET")))
        .route("/ResourceTypes/{name}", get(discovery::resource_type).fallback(method_not_allowed("GET")))
        .route("/Schemas", get(discovery::schemas).fallback(method_not_allowed("GET")))
        .route("/Schemas/{uri}", get(discovery::schema).fallback(method_not_allowed("GET")))
        .route("/Users", resources::collection(ResourceKind::User))
        .route("/Users/{id}", resources::item(ResourceKind::User))
        .route("/Groups", resources::collection(ResourceKind::Group))
        .route("/Groups/{id}", resources::item(ResourceKind::Group))
        .route("/Me", not_supported("/Me"))
        .route("/Bulk", not_supported("Bulk"))
        .route("/.search", not_supported("POST /.search"))
        .route("/Users/.search", not_supported("POST /Users/.search"))
        .route("/Groups/.search", not_supported("POST /Groups/.search"))
}
