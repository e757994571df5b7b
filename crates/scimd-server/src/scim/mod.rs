//! The SCIM endpoints (RFC 7644): discovery and the Users and Groups resources.
//!
//! # Layout
//! - `request`: reading bodies (content type, size limit, JSON), query parameters, preconditions.
//! - `render`: a stored resource as SCIM JSON, with `meta`, `$ref`, `groups` and its ETag.
//! - `resources`: POST, GET, PUT, DELETE and list of `/Users` and `/Groups`.
//! - `patch`: PATCH of one resource (RFC 7644 §3.5.2).
//! - `bulk`: POST `/Bulk` (RFC 7644 §3.7), through the same functions as single requests.
//! - `me`: `/Me` (RFC 7644 §3.11): 501 while no credential has a User behind it.
//! - `search`: list and POST `.search` (RFC 7644 §3.4.2, §3.4.3), one code path; `cursor`:
//!   RFC 9865 cursors.
//! - `discovery`: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`.
//! - `managed`: the server-managed Enterprise attributes scimd maintains on writes
//!   (`lastPasswordUpdateTime`).
//! - `unique`: `uniqueness` of extension (custom) attributes, checked before a write.

mod big_group;
mod bulk;
mod cursor;
mod discovery;
mod managed;
mod me;
mod patch;
mod render;
mod request;
mod resources;
mod search;
mod unique;

pub(crate) use resources::store_error;

use crate::app::SharedState;
use crate::error::ApiError;
use axum::Router;
use axum::http::Method;
use axum::routing::{any, get, post};
use scimd_core::{ResourceKind, ScimError};

pub(crate) fn method_not_allowed(
    allowed: &'static str,
) -> impl Fn(Method) -> std::future::Ready<ApiError> + Clone {
    move |method: Method| {
        let mut e = ApiError::from(ScimError::status(405, format!("method {method} is not allowed here")));
        e.headers.push((axum::http::header::ALLOW, axum::http::HeaderValue::from_static(allowed)));
        std::future::ready(e)
    }
}

/// The SCIM routes under `base`, the SCIM base path (`/scim/v2`, or empty for the root).
///
/// The routes carry the base themselves rather than being nested under it: a nested router
/// strips the prefix from every request's URI and notes the nested path, which cost about 5%
/// of a point read's instructions.
pub fn routes(base: &str) -> Router<SharedState> {
    let at = |path: &str| format!("{base}{path}");
    Router::new()
        .route(
            &at("/ServiceProviderConfig"),
            get(discovery::service_provider_config).fallback(method_not_allowed("GET")),
        )
        .route(&at("/ResourceTypes"), get(discovery::resource_types).fallback(method_not_allowed("GET")))
        .route(
            &at("/ResourceTypes/{name}"),
            get(discovery::resource_type).fallback(method_not_allowed("GET")),
        )
        .route(&at("/Schemas"), get(discovery::schemas).fallback(method_not_allowed("GET")))
        .route(&at("/Schemas/{uri}"), get(discovery::schema).fallback(method_not_allowed("GET")))
        .route(&at("/Users"), resources::collection(ResourceKind::User))
        .route(&at("/Users/{id}"), resources::item(ResourceKind::User))
        .route(&at("/Groups"), resources::collection(ResourceKind::Group))
        .route(&at("/Groups/{id}"), resources::item(ResourceKind::Group))
        .route(&at("/Me"), any(me::me))
        .route(&at("/Bulk"), post(bulk::bulk).fallback(method_not_allowed("POST")))
        .route(&at("/.search"), search::route(&[ResourceKind::User, ResourceKind::Group]))
        .route(&at("/Users/.search"), search::route(&[ResourceKind::User]))
        .route(&at("/Groups/.search"), search::route(&[ResourceKind::Group]))
}
