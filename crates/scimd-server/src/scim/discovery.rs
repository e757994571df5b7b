//! Discovery (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`. The schemas
//! served are the registry's, the same definitions that validate requests; the features
//! announced are the ones that work.

use crate::app::SharedState;
use crate::error::{ApiResult, SCIM_JSON};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scimd_core::discovery::{self, AuthScheme, Features};
use scimd_core::{ResourceType, SchemaRegistry, ScimError};
use serde_json::Value;

fn scim_json(body: &Value) -> Response {
    let mut resp = (StatusCode::OK, serde_json::to_vec(body).unwrap_or_default()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    resp
}

/// What this build of scimd supports, announced truthfully.
fn features(state: &SharedState) -> Features {
    Features {
        patch: true,
        bulk: Some((state.config.scim2.bulk_max_operations, state.config.scim2.bulk_max_payload_bytes)),
        filter_max_results: Some(state.config.scim2.max_results),
        change_password: true,
        sort: true,
        etag: true,
        auth_schemes: vec![
            AuthScheme {
                type_: "oauthbearertoken".into(),
                name: "Bearer token".into(),
                description: "Authentication with a bearer token in the Authorization header (RFC 6750)."
                    .into(),
                primary: true,
            },
            AuthScheme {
                type_: "httpbasic".into(),
                name: "HTTP Basic".into(),
                description: "Authentication with HTTP Basic (RFC 7617).".into(),
                primary: false,
            },
        ],
        documentation_uri: None,
        pagination: Some(discovery::Pagination {
            cursor: true,
            index: true,
            default_pagination_method: "index",
            default_page_size: state.config.scim2.max_results,
            max_page_size: state.config.scim2.max_results,
            cursor_timeout: super::cursor::TIMEOUT.whole_seconds().unsigned_abs(),
        }),
    }
}

pub async fn service_provider_config(State(state): State<SharedState>) -> Response {
    let location = format!("{}/ServiceProviderConfig", state.scim_base_url);
    scim_json(&discovery::service_provider_config(&features(&state), &location))
}

/// A resource type as `/ResourceTypes` serves it: its extensions that define attributes. An
/// extension with none (the custom extension before an admin adds its first attribute) can hold
/// nothing a resource could carry; it is served by `/Schemas` and accepted in `schemas`, and
/// listed here from its first attribute on, so that a client that builds its model from the
/// resource type does not try to write an empty object (RFC 7643 §2.5: empty is unassigned).
fn served_resource_type(registry: &SchemaRegistry, rt: &ResourceType) -> ResourceType {
    let mut rt = rt.clone();
    rt.schema_extensions.retain(|e| registry.schema(&e.schema).is_some_and(|s| !s.attributes.is_empty()));
    rt
}

pub async fn resource_types(State(state): State<SharedState>) -> Response {
    let schemas = state.schemas();
    let list: Vec<Value> = schemas
        .registry
        .resource_types()
        .iter()
        .map(|rt| {
            let location = format!("{}/ResourceTypes/{}", state.scim_base_url, rt.kind.name());
            discovery::resource_type_json(&served_resource_type(&schemas.registry, rt), &location)
        })
        .collect();
    let total = list.len() as u64;
    scim_json(&discovery::list_response(list, total, 1))
}

pub async fn resource_type(
    State(state): State<SharedState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let schemas = state.schemas();
    let rt = schemas
        .registry
        .resource_types()
        .iter()
        .find(|rt| rt.kind.name().eq_ignore_ascii_case(&name))
        .ok_or_else(|| ScimError::not_found(format!("no resource type \"{name}\"")))?;
    let location = format!("{}/ResourceTypes/{}", state.scim_base_url, rt.kind.name());
    Ok(scim_json(&discovery::resource_type_json(&served_resource_type(&schemas.registry, rt), &location)))
}

pub async fn schemas(State(state): State<SharedState>) -> Response {
    let schemas = state.schemas();
    let list: Vec<Value> = schemas
        .registry
        .schemas()
        .iter()
        .map(|s| discovery::schema_json(s, &format!("{}/Schemas/{}", state.scim_base_url, s.id)))
        .collect();
    let total = list.len() as u64;
    scim_json(&discovery::list_response(list, total, 1))
}

pub async fn schema(State(state): State<SharedState>, Path(uri): Path<String>) -> ApiResult<Response> {
    let schemas = state.schemas();
    let s =
        schemas.registry.schema(&uri).ok_or_else(|| ScimError::not_found(format!("no schema \"{uri}\"")))?;
    Ok(scim_json(&discovery::schema_json(s, &format!("{}/Schemas/{}", state.scim_base_url, s.id))))
}
