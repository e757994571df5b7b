//! PATCH (RFC 7644 §3.5.2): the operations are parsed and bound once, applied to the stored
//! resource by the pure core (`scimd_core::patch`), and the result is validated as a PUT would
//! be, so that every rule of the schemas holds after a PATCH too. All operations of a request
//! apply together or not at all: the store writes the result in one transaction, on the version
//! that was read (retried on a race when the client sent no If-Match).

use super::render;
use super::request::{if_match_version, json_body};
use super::resources::{projection, query_params, respond_replaced, rewrite};
use crate::app::SharedState;
use crate::error::ApiResult;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scimd_core::ResourceKind;
use serde_json::Value;

/// Whether the client asked for no body (RFC 7240 `Prefer: return=minimal`): 204 then.
fn wants_minimal(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("return=minimal")))
}

pub(super) async fn patch(
    kind: ResourceKind,
    state: SharedState,
    id: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let params = query_params(query)?;
    let projection = projection(&state, kind, &params)?;
    let if_match = if_match_version(&headers)?;
    let value = json_body(&headers, body, state.config.server.max_body_bytes).await?;
    let ops = scimd_core::patch::parse_request(&state.registry, kind, value)?;
    let registry = &state.registry;
    let stored = rewrite(&state, kind, &id, if_match, kind == ResourceKind::Group, |existing| {
        scimd_core::patch::apply(registry, kind, existing, &ops).map(Value::Object)
    })
    .await?;
    if wants_minimal(&headers) {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        if let Ok(v) = HeaderValue::from_str(&render::etag(stored.version)) {
            resp.headers_mut().insert(header::ETAG, v);
        }
        return Ok(resp);
    }
    respond_replaced(&state, kind, stored, &projection).await
}
