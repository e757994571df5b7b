//! The admin REST API under `/admin/v1` (admin credential only): JSON in and out, errors in the
//! SCIM Error shape (RFC 7644 §3.12) so that clients have one error format to read.
//!
//! # Layout
//! Each admin concern has its own module and adds its routes in [`routes`]:
//! - `domains`: user store domains, claim dialects and mapped attributes.
//! - `custom`: the custom extension's definitions, kept in the settings store and installed.
//! - `schemas`: `/schemas`: the schemas in force; custom attributes added and deleted.
//! - `users`: `/users/{id}/lock` and `/unlock` (the server-managed `accountState`).

pub(crate) mod custom;
mod domains;
mod schemas;
mod users;

use crate::app::SharedState;
use crate::auth::Principal;
use crate::error::ApiError;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use scimd_core::ScimError;
use serde_json::{Value, json};

/// The admin routes, relative to `/admin/v1`.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/", get(index))
        .merge(domains::routes())
        .merge(schemas::routes())
        .merge(users::routes())
        .route_layer(middleware::from_fn(require_admin))
}

/// What the admin API offers: the scimd version and the collections under `/admin/v1`.
async fn index() -> Json<Value> {
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "resources": ["/admin/v1/dialects", "/admin/v1/claims", "/admin/v1/domains", "/admin/v1/schemas"],
    }))
}

/// Only the admin may use the admin API (SCIM connections may not).
async fn require_admin(req: Request, next: Next) -> Response {
    match req.extensions().get::<Principal>() {
        Some(Principal::Admin) => next.run(req).await,
        None => {
            ApiError::from(ScimError::forbidden("the admin API needs the admin credential")).into_response()
        }
    }
}
