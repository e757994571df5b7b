//! `/Users` and `/Groups` (RFC 7644 §3.3 create, §3.4.1 read, §3.4.2 query, §3.5.1 replace,
//! §3.6 delete, §3.14 versions): one set of handlers, parameterised by resource kind.
//!
//! A write runs the path of DESIGN.md: read the body, validate and normalise it against the
//! schemas (`scimd_core::validate`), hash the password, map it into claims (`scimd_claims`),
//! and hand the claims to the store in one transaction. A read runs it backwards and projects
//! last.

use super::render::{self, etag};
use super::request::{QueryParams, entity_tags, if_match_version, json_body};
use crate::app::SharedState;
use crate::error::{ApiError, ApiResult, SCIM_JSON};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use scimd_claims::claims::PASSWORD;
use scimd_core::project::Projection;
use scimd_core::validate::{WriteMode, validate};
use scimd_core::{ResourceKind, ScimError};
use scimd_store::{Member, Membership, NewResource, Replacement, StoreError, StoredResource};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// A stored resource and, for a user, the groups it belongs to.
pub(super) type Rendered = (StoredResource, Option<Vec<Membership>>);

/// GET (list) and POST on a collection.
pub fn collection(kind: ResourceKind) -> MethodRouter<SharedState> {
    get(move |State(s): State<SharedState>, RawQuery(q): RawQuery| async move { list(kind, s, q).await })
        .post(move |State(s): State<SharedState>, RawQuery(q): RawQuery, headers: HeaderMap, body: Body| async move {
            create(kind, s, q, headers, body).await
        })
        .fallback(super::method_not_allowed("GET, POST"))
}

/// GET, PUT and DELETE on one resource.
pub fn item(kind: ResourceKind) -> MethodRouter<SharedState> {
    get(
        move |State(s): State<SharedState>,
              Path(id): Path<String>,
              RawQuery(q): RawQuery,
              headers: HeaderMap| async move { read(kind, s, id, q, headers).await },
    )
    .put(
        move |State(s): State<SharedState>,
              Path(id): Path<String>,
              RawQuery(q): RawQuery,
              headers: HeaderMap,
              body: Body| async move { replace(kind, s, id, q, headers, body).await },
    )
    .delete(move |State(s): State<SharedState>, Path(id): Path<String>, headers: HeaderMap| async move {
        delete(kind, s, id, headers).await
    })
    .patch(
        move |State(s): State<SharedState>,
              Path(id): Path<String>,
              RawQuery(q): RawQuery,
              headers: HeaderMap,
              body: Body| async move { super::patch::patch(kind, s, id, q, headers, body).await },
    )
    .fallback(super::method_not_allowed("GET, PUT, PATCH, DELETE"))
}

/// Splits and percent-decodes a query string (`+` is a space, as in forms).
pub(super) fn query_params(raw: Option<String>) -> ApiResult<QueryParams> {
    let mut pairs = Vec::new();
    for part in raw.as_deref().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| ApiError::from(ScimError::bad_request("the query string is not valid UTF-8")))
        };
        pairs.push((decode(k)?, decode(v)?));
    }
    Ok(QueryParams::new(pairs))
}

pub(super) fn projection(
    state: &SharedState,
    kind: ResourceKind,
    params: &QueryParams,
) -> ApiResult<Projection> {
    Ok(Projection::parse(
        &state.schemas().registry,
        kind,
        params.get("attributes"),
        params.get("excludedAttributes"),
    )?)
}

/// The attribute a store error is about, as SCIM names it.
fn attribute_of_claim(claim: &str) -> &str {
    match claim {
        scimd_claims::claims::USER_NAME => "userName",
        scimd_claims::claims::EXTERNAL_ID => "externalId",
        scimd_claims::claims::DISPLAY_NAME | scimd_claims::claims::GROUP_DISPLAY_NAME => "displayName",
        other => other.strip_prefix("urn:scimd:claims:").unwrap_or(other),
    }
}

/// A store error as the client sees it.
pub(crate) fn store_error(kind: ResourceKind, id: Option<&str>, e: StoreError) -> ApiError {
    domain_error(kind, id, None, e)
}

/// A store error of `domain` (where the router named one) as the client sees it.
fn domain_error(kind: ResourceKind, id: Option<&str>, domain: Option<&str>, e: StoreError) -> ApiError {
    let in_domain = || domain.map(|d| format!(" in the user store domain {d}")).unwrap_or_default();
    match e {
        StoreError::InDomain { domain, error } => domain_error(kind, id, Some(&domain), *error),
        StoreError::Conflict { claim } => ScimError::uniqueness(format!(
            "{} is already in use by another {}{}",
            attribute_of_claim(&claim),
            kind.name(),
            in_domain()
        ))
        .into(),
        StoreError::NotFound { kind, id } => {
            ScimError::not_found(format!("no {} with id \"{id}\"", kind.name())).into()
        }
        StoreError::VersionMismatch { current } => ScimError::precondition_failed(format!(
            "the resource has changed: its version is now {}",
            etag(current)
        ))
        .into(),
        StoreError::UnknownMember { id: member, expected } => match expected {
            Some(k) => {
                ScimError::invalid_value(format!("members: \"{member}\" is not the id of a {}", k.name()))
            }
            None => ScimError::invalid_value(format!("members: no User or Group has the id \"{member}\"")),
        }
        .into(),
        StoreError::Unsupported(msg) | StoreError::Rejected(msg) => {
            ScimError::invalid_value(format!("{msg}{}", in_domain())).into()
        }
        StoreError::TooMany { limit } => ScimError::too_many(format!(
            "the filter or order needs more than {limit} candidates examined in memory{}; narrow the filter",
            in_domain()
        ))
        .into(),
        StoreError::Unmapped { claim } => ScimError::invalid_value(format!(
            "{}: the user store domain {} has no attribute mapped for it",
            attribute_of_claim(&claim),
            domain.unwrap_or("PRIMARY")
        ))
        .into(),
        StoreError::ReadOnly { domain } => {
            ScimError::mutability(format!("the user store domain {domain} is read-only: it takes no writes"))
                .into()
        }
        StoreError::Unavailable(msg) => {
            tracing::warn!(resource = kind.name(), id, domain, "store unavailable: {msg}");
            let which = domain.map(|d| format!("user store domain {d}")).unwrap_or("user store".into());
            ScimError::status(503, format!("the {which} is unavailable; try again")).into()
        }
        StoreError::Backend(msg) => ApiError::internal("store", msg),
    }
}

/// RFC 7644 §3.14: If-None-Match with the current version answers 304 without a body.
pub(super) fn not_modified(headers: &HeaderMap, version: u64) -> Option<Response> {
    let tags = entity_tags(headers, header::IF_NONE_MATCH)?;
    if !tags.iter().any(|t| {
        matches!(t, super::request::EntityTag::Any) || *t == super::request::EntityTag::Version(version)
    }) {
        return None;
    }
    let mut resp = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Some(resp)
}

/// A SCIM JSON response (the resource's JSON) with the resource's ETag.
pub(super) fn resource_response(
    status: StatusCode,
    body: Vec<u8>,
    version: u64,
    location: Option<String>,
) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        h.insert(header::ETAG, v);
    }
    if let Some(loc) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(header::LOCATION, loc);
    }
    resp
}

/// Whether a response under `projection` shows the attribute `name`.
pub(super) fn shows(state: &SharedState, kind: ResourceKind, projection: &Projection, name: &str) -> bool {
    projection.includes(&state.schemas().registry, kind, name)
}

pub(super) async fn memberships(state: &SharedState, stored: &StoredResource) -> ApiResult<Vec<Membership>> {
    state.store.memberships(&stored.id).await.map_err(|e| store_error(stored.kind, Some(&stored.id), e))
}

/// Pairs each resource of a page with its memberships (one store call for the page), or with
/// none when `load` is false.
pub(super) async fn with_memberships(
    state: &SharedState,
    kind: ResourceKind,
    items: Vec<StoredResource>,
    load: bool,
) -> ApiResult<Vec<Rendered>> {
    if !load || items.is_empty() {
        return Ok(items.into_iter().map(|s| (s, None)).collect());
    }
    let ids: Vec<String> = items.iter().map(|s| s.id.clone()).collect();
    let groups = state.store.memberships_of(&ids).await.map_err(|e| store_error(kind, None, e))?;
    Ok(items.into_iter().zip(groups).map(|(s, g)| (s, Some(g))).collect())
}

/// Takes a group's `members` out of a normalised resource (they are a relation, not claims).
pub(super) fn take_members(resource: &mut Map<String, Value>) -> Vec<Member> {
    let Some(Value::Array(list)) = resource.remove("members") else { return Vec::new() };
    list.iter().filter_map(|m| member_of(m).ok()).collect()
}

/// One member object (`{"value": id, "type": "User", "display": "..."}`) as the store keeps it.
/// RFC 7643 §4.2: `value` is required; `type` is "User" or "Group" (any case on input).
pub(super) fn member_of(value: &Value) -> scimd_core::ScimResult<Member> {
    let Value::Object(m) = value else {
        return Err(ScimError::invalid_value("members: each member must be an object with a \"value\""));
    };
    let field = |name: &str| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    let Some(id) = field("value").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
        return Err(ScimError::invalid_value("members.value is required and must be a string"));
    };
    let kind = match field("type") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t.eq_ignore_ascii_case("User") => Some(ResourceKind::User),
        Some(Value::String(t)) if t.eq_ignore_ascii_case("Group") => Some(ResourceKind::Group),
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "members.type must be \"User\" or \"Group\", not {other}"
            )));
        }
    };
    let display = field("display").and_then(Value::as_str).map(str::to_string);
    Ok(Member::new(id.to_string(), kind, display))
}

/// Replaces a clear-text password by its argon2id hash (RFC 7643 §4.1.1: the password is
/// writeOnly and never returned; it is never stored in clear either).
pub(super) async fn hash_password(resource: &mut Map<String, Value>) -> ApiResult<bool> {
    let Some(value) = resource.get_mut("password") else { return Ok(false) };
    let Some(clear) = value.as_str().map(str::to_string) else {
        return Err(ScimError::invalid_value("password must be a string").into());
    };
    let hash = tokio::task::spawn_blocking(move || crate::secret::hash_password(&clear))
        .await
        .map_err(|e| ApiError::internal("password hashing task", e))?
        .map_err(|e| ApiError::internal("password hashing", e))?;
    *value = Value::String(hash);
    Ok(true)
}

async fn create(
    kind: ResourceKind,
    state: SharedState,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let params = query_params(query)?;
    let projection = projection(&state, kind, &params)?;
    let value = json_body(&headers, body, state.config.server.max_body_bytes).await?;
    let stored = create_resource(&state, kind, value).await?;
    let (version, location) = (stored.version, render::location(&state, kind, &stored.id));
    let schemas = state.schemas();
    let body = render::Renderer::new(&state, &schemas, kind, &projection).to_vec(stored, None);
    Ok(resource_response(StatusCode::CREATED, body, version, Some(location)))
}

/// POST of one resource from its parsed body (RFC 7644 §3.3): validated, the password hashed,
/// mapped into claims and created in one transaction. Used by POST and by Bulk.
pub(super) async fn create_resource(
    state: &SharedState,
    kind: ResourceKind,
    value: Value,
) -> ApiResult<StoredResource> {
    let mut resource = validate(&state.schemas().registry, kind, value, WriteMode::Create)?;
    super::unique::check(state, kind, None, &resource).await?;
    let members = take_members(&mut resource);
    let password_set = hash_password(&mut resource).await?;
    let mut claims = state.schemas().mapping.to_claims(kind, &resource)?;
    let now = OffsetDateTime::now_utc();
    if password_set {
        super::managed::password_set(&mut claims, now);
    }
    let mut new = NewResource { id: uuid::Uuid::new_v4().to_string(), kind, claims, members, now };
    if !password_set {
        return state.store.create(new).await.map_err(|e| store_error(kind, None, e));
    }
    // A directory without an attribute for the password stamp takes the user without it.
    match state.store.create(new.clone()).await {
        Err(e) if super::managed::unmapped_stamp(&e) => {
            new.claims.remove(super::managed::LAST_PASSWORD_UPDATE_TIME);
            state.store.create(new).await
        }
        other => other,
    }
    .map_err(|e| store_error(kind, None, e))
}

async fn read(
    kind: ResourceKind,
    state: SharedState,
    id: String,
    query: Option<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let params = query_params(query)?;
    let projection = projection(&state, kind, &params)?;
    let with_members = kind == ResourceKind::Group && shows(&state, kind, &projection, "members");
    let with_groups = kind == ResourceKind::User && shows(&state, kind, &projection, "groups");
    let not_found = || ScimError::not_found(format!("no {} with id \"{id}\"", kind.name()));
    // A group under the default projection: its members in slices, in bounded memory however
    // many there are (where the store can slice them).
    if with_members && let Some(resp) = super::big_group::get(&state, &id, &projection, &headers).await? {
        return Ok(resp);
    }
    // One store call either way: a user with the groups it belongs to, or a group with its
    // members (unless the projection drops them).
    let (stored, groups) = if with_groups {
        let (stored, groups) = state
            .store
            .get_with_memberships(kind, &id)
            .await
            .map_err(|e| store_error(kind, Some(&id), e))?
            .ok_or_else(not_found)?;
        (stored, Some(groups))
    } else {
        let stored = state
            .store
            .get(kind, &id, with_members)
            .await
            .map_err(|e| store_error(kind, Some(&id), e))?
            .ok_or_else(not_found)?;
        (stored, None)
    };
    if let Some(resp) = not_modified(&headers, stored.version) {
        return Ok(resp);
    }
    let version = stored.version;
    let schemas = state.schemas();
    let body = render::Renderer::new(&state, &schemas, kind, &projection).to_vec(stored, groups.as_deref());
    Ok(resource_response(StatusCode::OK, body, version, None))
}

async fn replace(
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
    let stored = rewrite(&state, kind, &id, if_match, false, |_| Ok(value.clone())).await?;
    respond_replaced(&state, kind, stored, &projection).await
}

/// The stored resource a write starts from: 404 if absent, 412 if If-Match names another
/// version (RFC 7644 §3.14).
pub(super) async fn read_for_write(
    state: &SharedState,
    kind: ResourceKind,
    id: &str,
    if_match: Option<u64>,
    with_members: bool,
) -> ApiResult<StoredResource> {
    let existing = state
        .store
        .get(kind, id, with_members)
        .await
        .map_err(|e| store_error(kind, Some(id), e))?
        .ok_or_else(|| ScimError::not_found(format!("no {} with id \"{id}\"", kind.name())))?;
    match if_match {
        Some(v) if v != existing.version => {
            Err(store_error(kind, Some(id), StoreError::VersionMismatch { current: existing.version }))
        }
        _ => Ok(existing),
    }
}

/// PUT and PATCH: reads the stored resource, makes the new one from it (`make` gets the stored
/// resource as SCIM JSON), validates it as a replacement (RFC 7644 §3.5.1 rules: immutable,
/// readOnly, required, types) and writes it on the version read, in one transaction.
///
/// Without If-Match, a write that raced ours is retried on the new version: the client asked
/// for "replace", not for "replace this version". The password is writeOnly: a client cannot
/// read it back, so a write that does not set one keeps it.
pub(super) async fn rewrite(
    state: &SharedState,
    kind: ResourceKind,
    id: &str,
    if_match: Option<u64>,
    with_members: bool,
    make: impl Fn(Map<String, Value>) -> scimd_core::ScimResult<Value>,
) -> ApiResult<StoredResource> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let existing = read_for_write(state, kind, id, if_match, with_members).await?;
        let existing_json = render::resource(state, &existing, None);
        let new = make(existing_json.clone())?;
        let mut resource =
            validate(&state.schemas().registry, kind, new, WriteMode::Replace { existing: &existing_json })?;
        super::unique::check(state, kind, Some(id), &resource).await?;
        let members = take_members(&mut resource);
        let password_given = hash_password(&mut resource).await?;
        let mut claims = state.schemas().mapping.to_claims(kind, &resource)?;
        let now = OffsetDateTime::now_utc();
        if password_given {
            super::managed::password_set(&mut claims, now);
        } else if let Some(p) = existing.claims.get(PASSWORD) {
            claims.insert(PASSWORD, p.clone());
        }
        let mut replacement = Replacement {
            id: id.to_owned(),
            kind,
            expected_version: Some(existing.version),
            claims,
            members: (kind == ResourceKind::Group).then_some(members),
            now,
        };
        let written = match state.store.replace(replacement.clone()).await {
            Err(e) if super::managed::unmapped_stamp(&e) => {
                replacement.claims.remove(super::managed::LAST_PASSWORD_UPDATE_TIME);
                state.store.replace(replacement).await
            }
            other => other,
        };
        match written {
            Ok(s) => return Ok(s),
            Err(StoreError::VersionMismatch { .. }) if if_match.is_none() && attempts < 5 => continue,
            Err(e) => return Err(store_error(kind, Some(id), e)),
        }
    }
}

/// The 200 response to a PUT or PATCH: the resource as written, projected.
pub(super) async fn respond_replaced(
    state: &SharedState,
    kind: ResourceKind,
    stored: StoredResource,
    projection: &Projection,
) -> ApiResult<Response> {
    // The store returns a group's members only when they were written; read them if shown.
    let stored = if kind == ResourceKind::Group
        && stored.members.is_none()
        && shows(state, kind, projection, "members")
    {
        state
            .store
            .get(kind, &stored.id, true)
            .await
            .map_err(|e| store_error(kind, Some(&stored.id), e))?
            .ok_or_else(|| ScimError::not_found(format!("no {} with id \"{}\"", kind.name(), stored.id)))?
    } else {
        stored
    };
    let groups = if kind == ResourceKind::User && shows(state, kind, projection, "groups") {
        Some(memberships(state, &stored).await?)
    } else {
        None
    };
    let version = stored.version;
    let schemas = state.schemas();
    let body = render::Renderer::new(state, &schemas, kind, projection).to_vec(stored, groups.as_deref());
    Ok(resource_response(StatusCode::OK, body, version, None))
}

async fn delete(
    kind: ResourceKind,
    state: SharedState,
    id: String,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let expected = if_match_version(&headers)?;
    delete_resource(&state, kind, &id, expected).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// DELETE of one resource (RFC 7644 §3.6), on the version `if_match` names when given (412
/// otherwise). Used by DELETE and by Bulk.
pub(super) async fn delete_resource(
    state: &SharedState,
    kind: ResourceKind,
    id: &str,
    if_match: Option<u64>,
) -> ApiResult<()> {
    state.store.delete(kind, id, if_match).await.map_err(|e| store_error(kind, Some(id), e))
}

/// RFC 7644 §3.4.2: filter, sortBy, sortOrder, startIndex, count, attributes and
/// excludedAttributes, and RFC 9865 cursor; the same code path as POST `.search`.
async fn list(kind: ResourceKind, state: SharedState, query: Option<String>) -> ApiResult<Response> {
    let params = super::search::ListParams::from_query(&query_params(query)?)?;
    super::search::list(&state, &[kind], params).await
}
