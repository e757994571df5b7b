//! GET of a group with more members than one slice, in bounded memory: the group is written
//! without its members, then its members slice by slice ([`SLICE`] at a time, each read in a
//! short read of its own with `UserStore::members_slice`), each slice sent as soon as written.
//! The server holds one slice at a time, whether the group has a thousand members or a million.
//!
//! The slices must make one group: each is read with the group's version, and if the version
//! changes between slices (a PATCH of the group meanwhile), the response is cut off (the body
//! ends without its closing bytes, which a client sees as a failed read and retries) rather
//! than mix two versions under one ETag.
//!
//! A store that cannot slice (a directory, whose group entry holds every member) answers
//! `Unsupported`; the group is then read whole, as before.

use super::render::{self, Renderer};
use super::resources::{not_modified, resource_response, store_error};
use crate::app::SharedState;
use crate::error::{ApiResult, SCIM_JSON};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use scimd_core::project::Projection;
use scimd_core::{ResourceKind, ScimError};
use scimd_store::{MembersSlice, StoreError};

/// Members read and written at a time.
pub const SLICE: usize = 1000;

/// The response to `GET /Groups/{id}` under `projection` (which shows members and is written
/// straight from the claims), or `None` where the store cannot slice members.
pub(super) async fn get(
    state: &SharedState,
    id: &str,
    projection: &Projection,
    headers: &HeaderMap,
) -> ApiResult<Option<Response>> {
    // Members are appended to the group's JSON as the default projection writes it.
    if projection.hidden_by_default().is_none() {
        return Ok(None);
    }
    let kind = ResourceKind::Group;
    // The first slice comes with the group, read in the same snapshot.
    let first = match state.store.members_slice(id, None, SLICE).await {
        Err(StoreError::Unsupported(_)) => return Ok(None),
        other => other
            .map_err(|e| store_error(kind, Some(id), e))?
            .ok_or_else(|| ScimError::not_found(format!("no Group with id \"{id}\"")))?,
    };
    let mut stored = first.group;
    if let Some(resp) = not_modified(headers, stored.version) {
        return Ok(Some(resp));
    }
    let version = stored.version;
    let schemas = state.schemas();
    let renderer = Renderer::new(state, &schemas, kind, projection);
    let Some(next) = first.next else {
        // One slice holds every member: the group as any other resource.
        stored.members = Some(first.members);
        return Ok(Some(resource_response(StatusCode::OK, renderer.to_vec(stored, None), version, None)));
    };
    // The group without members ends with the `}` of the resource: members go in its place.
    let mut head = renderer.to_vec(stored, None);
    head.pop();
    head.extend_from_slice(b",\"members\":[");
    render::write_members(state, &first.members, false, &mut head);
    let slices = Slices { state: state.clone(), id: id.to_owned(), version, next: Some(next), done: false };
    let body = futures_util::stream::once(async move { Ok(Bytes::from(head)) })
        .chain(futures_util::stream::unfold(slices, Slices::next_bytes));
    let mut resp = (StatusCode::OK, Body::from_stream(body)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    if let Ok(v) = HeaderValue::from_str(&render::etag(version)) {
        h.insert(header::ETAG, v);
    }
    Ok(Some(resp))
}

/// The rest of a streamed group: where the next slice starts (`None`: the closing bytes are
/// next), the version every slice must have, and whether the body has ended.
struct Slices {
    state: SharedState,
    id: String,
    version: u64,
    next: Option<i64>,
    done: bool,
}

/// Why a streamed group is cut off.
fn cut_off(id: &str, why: &str) -> std::io::Error {
    tracing::warn!(group = id, "GET of a big group cut off: {why}");
    std::io::Error::other(format!("group {id}: {why}"))
}

impl Slices {
    /// The bytes of the next slice (or the closing bytes), and the state after it; `None` at the
    /// end. An error ends the body without its closing bytes.
    async fn next_bytes(mut self) -> Option<(Result<Bytes, std::io::Error>, Slices)> {
        if self.done {
            return None;
        }
        let Some(after) = self.next.take() else {
            // The members' `]` and the resource's `}`.
            self.done = true;
            return Some((Ok(Bytes::from_static(b"]}")), self));
        };
        let slice: Result<Option<MembersSlice>, StoreError> =
            self.state.store.members_slice(&self.id, Some(after), SLICE).await;
        let slice = match slice {
            Ok(Some(s)) if s.group.version == self.version => s,
            Ok(Some(_)) => {
                return Some((Err(cut_off(&self.id, "it changed while it was sent")), self.ended()));
            }
            Ok(None) => {
                return Some((Err(cut_off(&self.id, "it was deleted while it was sent")), self.ended()));
            }
            Err(e) => return Some((Err(cut_off(&self.id, &e.to_string())), self.ended())),
        };
        let mut out = Vec::with_capacity(slice.members.len() * 160);
        render::write_members(&self.state, &slice.members, true, &mut out);
        self.next = slice.next;
        Some((Ok(Bytes::from(out)), self))
    }

    /// After an error: nothing more.
    fn ended(mut self) -> Slices {
        self.done = true;
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::app::AppState;
    use scimd_store::{Claims, Member, MemberChange, NewResource, UserStore};
    use serde_json::{Value, json};
    use std::sync::Arc;
    use time::OffsetDateTime;

    /// A state on a temporary store with a group `g` of `n` users.
    async fn group_of(n: usize) -> (tempfile::TempDir, SharedState) {
        let (dir, store) = crate::app::temp_store().await;
        let now = OffsetDateTime::now_utc();
        let mut members = Vec::new();
        for i in 0..n {
            let claims: Claims =
                [("urn:scimd:claims:userName".to_owned(), json!(format!("u{i}")))].into_iter().collect();
            let id = format!("u{i}");
            store
                .create(NewResource {
                    id: id.clone(),
                    kind: ResourceKind::User,
                    claims,
                    members: vec![],
                    now,
                })
                .await
                .unwrap();
            members.push(Member::new(id, Some(ResourceKind::User), Some(format!("U {i}"))));
        }
        let claims: Claims =
            [("urn:scimd:claims:groupDisplayName".to_owned(), json!("big"))].into_iter().collect();
        store
            .create(NewResource { id: "g".into(), kind: ResourceKind::Group, claims, members, now })
            .await
            .unwrap();
        let credentials = crate::auth::Credentials::with_admin_token("admin", "t");
        let state = AppState::new(crate::Config::default(), store.clone(), store, credentials).unwrap();
        (dir, Arc::new(state))
    }

    async fn body_of(resp: Response) -> Result<Vec<u8>, String> {
        use http_body_util::BodyExt as _;
        let mut body = resp.into_body();
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| e.to_string())?;
            if let Ok(data) = frame.into_data() {
                out.extend_from_slice(&data);
            }
        }
        Ok(out)
    }

    fn default_projection(state: &SharedState) -> Projection {
        Projection::parse(&state.schemas().registry, ResourceKind::Group, None, None).unwrap()
    }

    /// RFC 7643 §4.2: a group of more members than a slice reads back whole, members in the
    /// order they were added, as the group read whole renders it.
    #[tokio::test]
    async fn a_group_streamed_in_slices_is_the_group_read_whole() {
        let (_dir, state) = group_of(SLICE * 2 + 7).await;
        let resp = get(&state, "g", &default_projection(&state), &HeaderMap::new()).await.unwrap().unwrap();
        assert!(resp.headers().get(header::ETAG).is_some());
        let streamed: Value = serde_json::from_slice(&body_of(resp).await.unwrap()).unwrap();
        let stored = state.store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
        let schemas = state.schemas();
        let projection = default_projection(&state);
        let whole: Value = serde_json::from_slice(
            &Renderer::new(&state, &schemas, ResourceKind::Group, &projection).to_vec(stored, None),
        )
        .unwrap();
        assert_eq!(streamed, whole);
        assert_eq!(streamed["members"].as_array().unwrap().len(), SLICE * 2 + 7);
        assert_eq!(streamed["members"][SLICE + 3]["value"], format!("u{}", SLICE + 3));
    }

    /// A group that changes between slices is cut off, never sent as a mix of two versions.
    #[tokio::test]
    async fn a_group_changed_between_slices_is_cut_off() {
        let (_dir, state) = group_of(SLICE + 1).await;
        let resp = get(&state, "g", &default_projection(&state), &HeaderMap::new()).await.unwrap().unwrap();
        state
            .store
            .change_members(MemberChange {
                group_id: "g".into(),
                expected_version: None,
                clear: false,
                remove: vec!["u0".into()],
                add: vec![],
                claims: None,
                now: OffsetDateTime::now_utc(),
            })
            .await
            .unwrap();
        let err = body_of(resp).await.unwrap_err();
        assert!(err.contains("changed while it was sent"), "{err}");
    }

    /// A group whose members fit in one slice is answered as any resource; a missing one is 404.
    #[tokio::test]
    async fn a_small_group_is_one_body_and_a_missing_one_is_not_found() {
        let (_dir, state) = group_of(3).await;
        let resp = get(&state, "g", &default_projection(&state), &HeaderMap::new()).await.unwrap().unwrap();
        let v: Value = serde_json::from_slice(&body_of(resp).await.unwrap()).unwrap();
        assert_eq!(v["members"].as_array().unwrap().len(), 3);
        let err = get(&state, "nope", &default_projection(&state), &HeaderMap::new()).await.unwrap_err();
        assert_eq!(err.into_response().status(), StatusCode::NOT_FOUND);
    }
}
