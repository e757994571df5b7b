//! PATCH (RFC 7644 §3.5.2): the operations are parsed and bound once, applied to the stored
//! resource by the pure core (`scimd_core::patch`), and the result is validated as a PUT would
//! be, so that every rule of the schemas holds after a PATCH too. All operations of a request
//! apply together or not at all: the store writes the result in one transaction, on the version
//! that was read (retried on a race when the client sent no If-Match).

use super::render;
use super::request::{if_match_version, json_body};
use super::resources::{
    member_of, projection, query_params, read_for_write, respond_replaced, rewrite, store_error,
};
use crate::app::SharedState;
use crate::error::ApiResult;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scimd_core::ResourceKind;
use scimd_core::patch::MemberChanges;
use scimd_core::validate::{WriteMode, validate};
use scimd_store::{MemberChange, StoreError, StoredResource};
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

/// Whether the client asked for the resource in the response (`Prefer: return=representation`).
fn wants_representation(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("return=representation")))
}

/// PATCH of one resource. RFC 7644 §3.5.2 lets the server answer 200 with the resource or 204:
/// a user gets 200 with its body (unless the client prefers `return=minimal`); a group gets 204
/// unless the client asks for a body (`attributes`, `excludedAttributes` or `Prefer:
/// return=representation`), because its body is every member and a PATCH must cost what it
/// changes, not what the group holds.
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
    let body_wanted = !wants_minimal(&headers)
        && (kind == ResourceKind::User
            || wants_representation(&headers)
            || params.get("attributes").is_some()
            || params.get("excludedAttributes").is_some());
    let stored = patch_resource(&state, kind, &id, if_match, value).await?;
    if !body_wanted {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        if let Ok(v) = HeaderValue::from_str(&render::etag(stored.version)) {
            resp.headers_mut().insert(header::ETAG, v);
        }
        return Ok(resp);
    }
    respond_replaced(&state, kind, stored, &projection).await
}

/// PATCH of one resource from its parsed body (a PatchOp message), on the version `if_match`
/// names when given. Used by PATCH and by Bulk.
pub(super) async fn patch_resource(
    state: &SharedState,
    kind: ResourceKind,
    id: &str,
    if_match: Option<u64>,
    value: Value,
) -> ApiResult<StoredResource> {
    let ops = scimd_core::patch::parse_request(&state.schemas().registry, kind, value)?;
    let member_changes =
        if kind == ResourceKind::Group { scimd_core::patch::member_changes(&ops) } else { None };
    match member_changes {
        Some(changes) => patch_members(state, id, if_match, changes).await,
        None => {
            let schemas = state.schemas();
            let registry = &schemas.registry;
            rewrite(state, kind, id, if_match, kind == ResourceKind::Group, |existing| {
                scimd_core::patch::apply(registry, kind, existing, &ops).map(Value::Object)
            })
            .await
        }
    }
}

/// A group PATCH whose member operations name their members (add, remove by value, replace
/// with a list): the store changes only those members, never reading the others. Other
/// operations of the same request are applied to the group without its members and validated
/// as a replacement, in the same transaction.
async fn patch_members(
    state: &SharedState,
    id: &str,
    if_match: Option<u64>,
    changes: MemberChanges,
) -> ApiResult<StoredResource> {
    let kind = ResourceKind::Group;
    let (clear, add) = match &changes.replace_with {
        Some(list) => (true, list),
        None => (changes.clear, &changes.add),
    };
    let add = add.iter().map(member_of).collect::<scimd_core::ScimResult<Vec<_>>>()?;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (claims, expected_version) = if changes.rest.is_empty() {
            (None, if_match)
        } else {
            let existing = read_for_write(state, kind, id, if_match, false).await?;
            let existing_json = render::resource(state, &existing, None);
            let patched = scimd_core::patch::apply(
                &state.schemas().registry,
                kind,
                existing_json.clone(),
                &changes.rest,
            )?;
            let mut resource = validate(
                &state.schemas().registry,
                kind,
                Value::Object(patched),
                WriteMode::Replace { existing: &existing_json },
            )?;
            resource.remove("members");
            (Some(state.schemas().mapping.to_claims(kind, &resource)?), Some(existing.version))
        };
        let change = MemberChange {
            group_id: id.to_owned(),
            expected_version,
            clear,
            remove: changes.remove.clone(),
            add: add.clone(),
            claims,
            now: OffsetDateTime::now_utc(),
        };
        match state.store.change_members(change).await {
            Ok(stored) => return Ok(stored),
            Err(StoreError::VersionMismatch { .. }) if if_match.is_none() && attempts < 5 => continue,
            Err(e) => return Err(store_error(kind, Some(id), e)),
        }
    }
}
