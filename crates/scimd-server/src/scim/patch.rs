//! PATCH (RFC 7644 §3.5.2): the operations are parsed and bound once, applied to the stored
//! resource by the pure core (`scimd_core::patch`), and the result is validated as a PUT would
//! be, so that every rule of the schemas holds after a PATCH too. All operations of a request
//! apply together or not at all: the store writes the result in one transaction, on the version
//! that was read (retried on a race when the client sent no If-Match).

use super::render;
use super::request::{if_match_version, json_body};
use super::resources::{
    hash_password, memberships, projection, query_params, resource_response, shows, store_error, take_members,
};
use crate::app::SharedState;
use crate::error::ApiResult;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scimd_claims::claims::PASSWORD;
use scimd_core::validate::{WriteMode, validate};
use scimd_core::{ResourceKind, ScimError};
use scimd_store::{Replacement, StoreError};
use serde_json::Value;
use time::OffsetDateTime;

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
    let mut attempts = 0;
    let stored = loop {
        attempts += 1;
        let existing = state
            .store
            .get(kind, &id, kind == ResourceKind::Group)
            .await
            .map_err(|e| store_error(kind, Some(&id), e))?
            .ok_or_else(|| ScimError::not_found(format!("no {} with id \"{id}\"", kind.name())))?;
        if let Some(v) = if_match
            && v != existing.version
        {
            return Err(store_error(
                kind,
                Some(&id),
                StoreError::VersionMismatch { current: existing.version },
            ));
        }
        let existing_json = render::resource(&state, &existing, None);
        let patched = scimd_core::patch::apply(&state.registry, kind, existing_json.clone(), &ops)?;
        let mut resource = validate(
            &state.registry,
            kind,
            Value::Object(patched),
            WriteMode::Replace { existing: &existing_json },
        )?;
        let members = take_members(&mut resource);
        let password_given = hash_password(&mut resource).await?;
        let mut claims = state.mapping.to_claims(kind, &resource)?;
        if !password_given && let Some(p) = existing.claims.get(PASSWORD) {
            claims.insert(PASSWORD, p.clone());
        }
        let replacement = Replacement {
            id: id.clone(),
            kind,
            expected_version: Some(existing.version),
            claims,
            members: (kind == ResourceKind::Group).then_some(members),
            now: OffsetDateTime::now_utc(),
        };
        match state.store.replace(replacement).await {
            Ok(s) => break s,
            Err(StoreError::VersionMismatch { .. }) if if_match.is_none() && attempts < 5 => continue,
            Err(e) => return Err(store_error(kind, Some(&id), e)),
        }
    };
    if wants_minimal(&headers) {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        if let Ok(v) = HeaderValue::from_str(&render::etag(stored.version)) {
            resp.headers_mut().insert(header::ETAG, v);
        }
        return Ok(resp);
    }
    let stored = if kind == ResourceKind::Group
        && stored.members.is_none()
        && shows(&state, kind, &projection, "members")
    {
        state
            .store
            .get(kind, &id, true)
            .await
            .map_err(|e| store_error(kind, Some(&id), e))?
            .ok_or_else(|| ScimError::not_found(format!("no {} with id \"{id}\"", kind.name())))?
    } else {
        stored
    };
    let groups = if kind == ResourceKind::User && shows(&state, kind, &projection, "groups") {
        Some(memberships(&state, &stored).await?)
    } else {
        None
    };
    let version = stored.version;
    let full = render::into_resource(&state, stored, groups.as_deref());
    let body = projection.apply(&state.registry, kind, full);
    Ok(resource_response(StatusCode::OK, body, version, None))
}
