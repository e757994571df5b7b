//! Listing and searching (RFC 7644 §3.4.2 and §3.4.3, RFC 9865 cursors): one code path for
//! `GET /Users`, `GET /Groups`, and `POST /.search` at the root and on each collection.
//!
//! The query string and the SearchRequest body both fill a [`ListParams`]; [`list`] runs it
//! over one kind (a collection) or over Users then Groups (the root). At the root a filter is
//! evaluated by each kind where it is valid for that kind (an attribute one kind does not have
//! makes that kind contribute nothing); it is an error only if valid for neither. Paging runs
//! over the concatenation, Users first; `totalResults` is the sum.
//!
//! Paging is by index (`startIndex`) or by cursor (`cursor`, RFC 9865): a cursor is a keyset
//! position ([`super::cursor`]), so a walk visits each resource that exists throughout exactly
//! once however many are created or deleted meanwhile. A page reached by a cursor carries a
//! `previousCursor` (RFC 9865 §2.2) when resources come before it: the page that ends just
//! before its first resource, `count` of them, read backward by the store from that position
//! (at the root, from the Groups back into the Users); its `nextCursor` reads on again.

use std::sync::Arc;

use super::cursor::{self, Cursor, Direction};
use super::render;
use super::request::{QueryParams, json_body};
use super::resources::{Rendered, shows, store_error, with_memberships};
use crate::app::SharedState;
use crate::error::{ApiError, ApiResult, SCIM_JSON};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use scimd_claims::ClaimPath;
use scimd_core::discovery::LIST_RESPONSE_SCHEMA;
use scimd_core::filter::{self, Filter};
use scimd_core::project::Projection;
use scimd_core::{AttrPath, ResourceKind, ScimError};
use scimd_store::{Before, ClaimFilter, Keyset, SortKey, StoreQuery};
use serde_json::Value;
use time::OffsetDateTime;

/// The URI of the SearchRequest message (RFC 7644 §3.4.3).
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The parameters of a list or search, from a query string or a SearchRequest body.
#[derive(Debug, Default, Clone)]
pub struct ListParams {
    /// Comma-separated, as in a query string.
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    /// RFC 9865: `Some("")` starts a walk; `Some(c)` resumes at a `nextCursor` or goes back to
    /// a `previousCursor`.
    pub cursor: Option<String>,
}

impl ListParams {
    /// From a query string (RFC 7644 §3.4.2).
    pub fn from_query(q: &QueryParams) -> ApiResult<ListParams> {
        let text = |name: &str| q.get(name).map(str::to_owned);
        Ok(ListParams {
            attributes: text("attributes"),
            excluded_attributes: text("excludedAttributes"),
            filter: text("filter"),
            sort_by: text("sortBy"),
            sort_order: text("sortOrder"),
            start_index: q.int("startIndex")?,
            count: q.int("count")?,
            cursor: text("cursor"),
        })
    }

    /// From a SearchRequest body (RFC 7644 §3.4.3): the same parameters as JSON, names without
    /// regard to case; `attributes` and `excludedAttributes` are arrays of strings.
    pub fn from_body(body: Value) -> ApiResult<ListParams> {
        let Value::Object(map) = body else {
            return Err(ScimError::invalid_syntax("a SearchRequest must be a JSON object").into());
        };
        let field = |name: &str| {
            map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v).filter(|v| !v.is_null())
        };
        if let Some(schemas) = field("schemas") {
            let ok = schemas
                .as_array()
                .is_some_and(|l| l.iter().any(|s| s.as_str() == Some(SEARCH_REQUEST_SCHEMA)));
            if !ok {
                return Err(ScimError::invalid_syntax(format!(
                    "schemas must be [\"{SEARCH_REQUEST_SCHEMA}\"]"
                ))
                .into());
            }
        }
        let text = |name: &str| -> ApiResult<Option<String>> {
            match field(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ScimError::invalid_value(format!("{name} must be a string")).into()),
            }
        };
        let list = |name: &str| -> ApiResult<Option<String>> {
            match field(name) {
                None => Ok(None),
                // Accepted as well: one comma-separated string, as in a query string.
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) => {
                    let names = items
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| {
                            ScimError::invalid_value(format!("{name} must be an array of strings"))
                        })?;
                    Ok(Some(names.join(",")))
                }
                Some(_) => {
                    Err(ScimError::invalid_value(format!("{name} must be an array of strings")).into())
                }
            }
        };
        let int = |name: &str| -> ApiResult<Option<i64>> {
            match field(name) {
                None => Ok(None),
                Some(v) => v
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ScimError::invalid_value(format!("{name} must be an integer")).into()),
            }
        };
        Ok(ListParams {
            attributes: list("attributes")?,
            excluded_attributes: list("excludedAttributes")?,
            filter: text("filter")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            start_index: int("startIndex")?,
            count: int("count")?,
            cursor: text("cursor")?,
        })
    }
}

/// `POST .../.search` over `kinds`.
pub fn route(kinds: &'static [ResourceKind]) -> MethodRouter<SharedState> {
    post(move |State(s): State<SharedState>, headers: HeaderMap, body: Body| async move {
        let value = json_body(&headers, body, s.config.server.max_body_bytes).await?;
        list(&s, kinds, ListParams::from_body(value)?).await
    })
    .fallback(super::method_not_allowed("POST"))
}

/// One kind's share of a listing.
struct Part {
    kind: ResourceKind,
    store_filter: ClaimFilter,
    residual: Option<Filter>,
    sort: Option<SortKey>,
    projection: Projection,
    with_members: bool,
    with_groups: bool,
}

/// A page of one part: the total of its matches, and the page with each item's position.
struct Fetched {
    total: u64,
    items: Vec<Rendered>,
    keys: Vec<Keyset>,
}

/// A list or search over `kinds` (in that order), answered as a ListResponse.
pub async fn list(state: &SharedState, kinds: &[ResourceKind], params: ListParams) -> ApiResult<Response> {
    let max = state.config.scim2.max_results;
    // RFC 7644 §3.4.2.4: startIndex below 1 is read as 1; count below 0 as 0; above the
    // maximum as the maximum.
    let start = params.start_index.unwrap_or(1).max(1) as u64;
    let count = params.count.map_or(max, |c| c.max(0) as u64).min(max);
    if params.cursor.is_some() && params.start_index.is_some() {
        // RFC 9865 §2: a request pages by index or by cursor, not both.
        return Err(ScimError::invalid_value(
            "startIndex and cursor cannot be used together: page by index or by cursor",
        )
        .into());
    }
    let filter = match params.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        None => None,
        Some(text) => Some(filter::parse_filter(text)?),
    };
    let mut parts = Vec::new();
    let mut first_error: Option<ApiError> = None;
    let mut sort_error: Option<ApiError> = None;
    for &kind in kinds {
        if let Some(f) = &filter
            && let Err(e) = filter::check(f, &state.schemas().registry, kind)
        {
            first_error.get_or_insert(e.into());
            continue;
        }
        // At the root, a sortBy one kind does not have sorts that kind as if no resource had a
        // value (RFC 7644 §3.4.2.3): creation order.
        let sort = match sort_key(state, kind, params.sort_by.as_deref(), params.sort_order.as_deref()) {
            Ok(s) => s,
            Err(e) => {
                sort_error.get_or_insert(e);
                None
            }
        };
        let projection = projection(state, kind, &params, kinds.len() > 1)?;
        let with_members = kind == ResourceKind::Group && shows(state, kind, &projection, "members");
        let with_groups = kind == ResourceKind::User && shows(state, kind, &projection, "groups");
        let (store_filter, residual) = match &filter {
            None => (ClaimFilter::All, None),
            Some(f) => {
                let r = scimd_claims::rewrite(f, kind, &state.schemas().registry, &state.schemas().mapping);
                (r.store, r.residual)
            }
        };
        parts.push(Part { kind, store_filter, residual, sort, projection, with_members, with_groups });
    }
    if parts.is_empty() {
        return Err(first_error
            .unwrap_or_else(|| ScimError::invalid_filter("the filter applies to no resource type").into()));
    }
    if let Some(e) = sort_error
        && (kinds.len() == 1 || parts.iter().all(|p| p.sort.is_none()))
    {
        return Err(e);
    }

    let (total, page, next, previous) = match &params.cursor {
        None => {
            let (total, page) = index_page(state, &parts, start - 1, count).await?;
            (total, page, None, None)
        }
        Some(text) => {
            if parts.iter().any(|p| p.sort.is_some() && p.residual.is_some()) {
                return Err(ScimError::invalid_value(
                    "cursor paging of a sorted query whose filter is evaluated in memory (on \
                     groups) is not supported: page it with startIndex, or drop sortBy",
                )
                .into());
            }
            let scope: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
            let canonical = filter.as_ref().map(|f| f.to_string()).unwrap_or_default();
            let sort_by = params.sort_by.as_deref().unwrap_or("").trim().to_ascii_lowercase();
            let descending = parts.iter().any(|p| p.sort.as_ref().is_some_and(|k| k.descending));
            let query = cursor::query_digest(&[
                &scope.join(","),
                &canonical,
                &sort_by,
                if descending { "descending" } else { "ascending" },
            ]);
            let now = OffsetDateTime::now_utc();
            let resume = if text.trim().is_empty() { None } else { Some(cursor::decode(text, &query, now)?) };
            let p = match resume {
                Some(at) if at.direction == Direction::Backward => {
                    backward_page(state, &parts, at, count).await?
                }
                resume => cursor_page(state, &parts, resume, count).await?,
            };
            let text = |c: Cursor| cursor::encode(&c, &query, now);
            (p.total, p.page, p.next.map(text), p.previous.map(text))
        }
    };

    // RFC 7644 §3.4.2: the ListResponse, written item by item (each as render::Renderer writes
    // it); RFC 9865 §2.2: a cursor page has nextCursor (absent on the last page), no startIndex,
    // and previousCursor unless it is the first page.
    let items = page.len();
    let mut body = Vec::with_capacity(256 + items * 2048);
    // The envelope, written piece by piece (a `format!` cost more than a point read's SQL).
    body.extend_from_slice(b"{\"schemas\":[\"");
    body.extend_from_slice(LIST_RESPONSE_SCHEMA.as_bytes());
    body.extend_from_slice(b"\"],\"totalResults\":");
    body.extend_from_slice(total.to_string().as_bytes());
    body.extend_from_slice(b",\"itemsPerPage\":");
    body.extend_from_slice(page.len().to_string().as_bytes());
    if params.cursor.is_none() {
        body.extend_from_slice(b",\"startIndex\":");
        body.extend_from_slice(start.to_string().as_bytes());
    }
    body.extend_from_slice(b",\"Resources\":[");
    let write = {
        let (state, schemas) = (Arc::clone(state), state.schemas());
        move |mut body: Vec<u8>| {
            let renderers: Vec<render::Renderer<'_>> = parts
                .iter()
                .map(|p| render::Renderer::new(&state, &schemas, p.kind, &p.projection))
                .collect();
            for (n, (i, (stored, groups))) in page.into_iter().enumerate() {
                if n > 0 {
                    body.push(b',');
                }
                renderers[i].write(stored, groups.as_deref(), &mut body);
            }
            body
        }
    };
    // A long page takes a good part of a millisecond to write: it is written on the blocking
    // pool, and the threads that serve requests (one on two cores, see
    // `ServerConfig::worker_threads`) go on serving meanwhile.
    let mut body = if items > INLINE_RENDER_ITEMS {
        tokio::task::spawn_blocking(move || write(body))
            .await
            .map_err(|e| ApiError::internal("writing a page", e))?
    } else {
        write(body)
    };
    body.push(b']');
    if let Some(previous) = previous {
        body.extend_from_slice(b",\"previousCursor\":");
        body.extend_from_slice(serde_json::to_string(&previous).unwrap_or_default().as_bytes());
    }
    if let Some(next) = next {
        body.extend_from_slice(b",\"nextCursor\":");
        body.extend_from_slice(serde_json::to_string(&next).unwrap_or_default().as_bytes());
    }
    body.push(b'}');
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    Ok(resp)
}

/// Pages of at most this many resources are written on the thread that serves the request;
/// longer ones on the blocking pool.
const INLINE_RENDER_ITEMS: usize = 20;

/// RFC 7644 §3.4.2.4 over the concatenation of the parts: `offset` results skipped, at most
/// `count` returned. Each item comes with the index of its part.
async fn index_page(
    state: &SharedState,
    parts: &[Part],
    mut offset: u64,
    count: u64,
) -> ApiResult<(u64, Vec<(usize, Rendered)>)> {
    let (mut total, mut remaining, mut page) = (0, count, Vec::new());
    for (i, part) in parts.iter().enumerate() {
        let f = fetch(state, part, offset, remaining, None, None).await?;
        total += f.total;
        offset = offset.saturating_sub(f.total);
        remaining -= (f.items.len() as u64).min(remaining);
        page.extend(f.items.into_iter().map(|r| (i, r)));
    }
    Ok((total, page))
}

/// A cursor page: the total, the page (each item with the index of its part), and the cursors
/// of the pages next to it.
struct CursorPage {
    total: u64,
    page: Vec<(usize, Rendered)>,
    next: Option<Cursor>,
    previous: Option<Cursor>,
}

/// The index of the part a cursor's position is in.
fn part_of(parts: &[Part], cursor: &Cursor) -> ApiResult<usize> {
    parts.iter().position(|p| p.kind == cursor.kind).ok_or_else(|| {
        ApiError::from(ScimError::typed(
            scimd_core::ScimType::InvalidCursor,
            "cursor is not one this server issued for this query",
        ))
    })
}

/// A cursor at `key` in `part`, going `direction`.
fn cursor_at(part: &Part, key: &Keyset, direction: Direction) -> Cursor {
    Cursor { kind: part.kind, position: key.clone(), direction }
}

/// RFC 9865 over the concatenation of the parts: up to `count` results after `resume`, the
/// cursor of the next page when there is one (each part is asked for one more than it may
/// return, which tells whether anything follows), and, for a page reached by a cursor, the
/// cursor of the page before it.
async fn cursor_page(
    state: &SharedState,
    parts: &[Part],
    resume: Option<Cursor>,
    count: u64,
) -> ApiResult<CursorPage> {
    let first = match &resume {
        None => 0,
        Some(c) => part_of(parts, c)?,
    };
    let (mut total, mut remaining, mut page) = (0, count, Vec::new());
    let (mut head, mut last, mut next, mut done) = (None, None, None, false);
    for (i, part) in parts.iter().enumerate() {
        if i < first || done {
            total += fetch(state, part, 0, 0, None, None).await?.total;
            continue;
        }
        let after = if i == first { resume.as_ref().map(|c| c.position.clone()) } else { None };
        let f = fetch(state, part, 0, remaining + 1, after, None).await?;
        total += f.total;
        let take = f.items.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
        if let (None, Some(key)) = (&head, f.keys.first().filter(|_| take > 0)) {
            head = Some(cursor_at(part, key, Direction::Backward));
        }
        if let Some(key) = take.checked_sub(1).and_then(|k| f.keys.get(k)) {
            last = Some(cursor_at(part, key, Direction::Forward));
        }
        let more = f.items.len() > take;
        page.extend(f.items.into_iter().take(take).map(|r| (i, r)));
        remaining -= take as u64;
        if more {
            next = last.clone();
            done = true;
        }
    }
    // RFC 9865 §2.2: no previousCursor on the first page. A page reached by a cursor has the
    // resource at the cursor's position before it; an empty one (all after it deleted) goes back
    // to the page that ends with that position.
    let previous = resume.map(|at| {
        head.unwrap_or(Cursor {
            kind: at.kind,
            position: Keyset { key: at.position.key, seq: at.position.seq.saturating_add(1) },
            direction: Direction::Backward,
        })
    });
    Ok(CursorPage { total, page, next, previous })
}

/// RFC 9865 §2.2 `previousCursor` over the concatenation of the parts: the last `count`
/// results before the position `at`, from its part back through the parts before it (at the
/// root, from the Groups back into the Users), in the forward order. The parts are asked for
/// one more than the page holds, which tells whether anything comes before it (if so: its
/// `previousCursor`); its `nextCursor` reads on from its last result.
async fn backward_page(state: &SharedState, parts: &[Part], at: Cursor, count: u64) -> ApiResult<CursorPage> {
    let end = part_of(parts, &at)?;
    let (mut total, mut remaining) = (0, count.saturating_add(1));
    // The parts' pages, from the last part reached back to the first.
    let mut pages = Vec::new();
    for (i, part) in parts.iter().enumerate().rev() {
        if i > end || remaining == 0 {
            total += fetch(state, part, 0, 0, None, None).await?.total;
            continue;
        }
        let before = if i == end { Before::Position(at.position.clone()) } else { Before::End };
        let f = fetch(state, part, 0, remaining, None, Some(before)).await?;
        total += f.total;
        remaining -= (f.items.len() as u64).min(remaining);
        pages.push((i, f));
    }
    let mut items: Vec<(usize, Rendered, Keyset)> = Vec::new();
    for (i, f) in pages.into_iter().rev() {
        items.extend(f.items.into_iter().zip(f.keys).map(|(r, k)| (i, r, k)));
    }
    let extra = items.len().saturating_sub(usize::try_from(count).unwrap_or(usize::MAX));
    let more = extra > 0;
    let items = items.split_off(extra);
    let previous =
        items.first().filter(|_| more).map(|(i, _, k)| cursor_at(&parts[*i], k, Direction::Backward));
    // Resources were at (and after) the position when it was issued: the next page reads on
    // from the page's last result, or, on an empty page, from the position itself.
    let next = Some(match items.last() {
        Some((i, _, k)) => cursor_at(&parts[*i], k, Direction::Forward),
        None => Cursor {
            kind: at.kind,
            position: Keyset { key: at.position.key, seq: at.position.seq.saturating_sub(1) },
            direction: Direction::Forward,
        },
    });
    let page = items.into_iter().map(|(i, r, _)| (i, r)).collect();
    Ok(CursorPage { total, page, next, previous })
}

/// One part's page: by offset, after a keyset position, or the last `limit` before one.
async fn fetch(
    state: &SharedState,
    part: &Part,
    offset: u64,
    limit: u64,
    after: Option<Keyset>,
    before: Option<Before>,
) -> ApiResult<Fetched> {
    let kind = part.kind;
    let Some(residual) = &part.residual else {
        // No residual: the whole query (filter, sort, page) is one SQL statement plus the count.
        let q = StoreQuery {
            kind,
            filter: part.store_filter.clone(),
            offset,
            limit,
            with_members: part.with_members,
            sort: part.sort.clone(),
            after,
            before,
        };
        if !part.with_groups {
            let page = state.store.query(&q).await.map_err(|e| store_error(kind, None, e))?;
            let items = page.items.into_iter().map(|s| (s, None)).collect();
            return Ok(Fetched { total: page.total, items, keys: page.keys });
        }
        // The page and its users' groups in one store call.
        let (page, groups) =
            state.store.query_with_memberships(&q).await.map_err(|e| store_error(kind, None, e))?;
        let items = page.items.into_iter().zip(groups).map(|(s, g)| (s, Some(g))).collect();
        return Ok(Fetched { total: page.total, items, keys: page.keys });
    };
    // A filter the store answers only in part: the store's candidates, at most
    // `max_filter_candidates` of them, are evaluated in memory; more gets 400 `tooMany`
    // rather than a scan that would take the server down.
    let bound = state.config.scim2.max_filter_candidates;
    // The store sorts the candidates; evaluating them in order keeps that order.
    let q = StoreQuery {
        kind,
        filter: part.store_filter.clone(),
        offset: 0,
        limit: bound,
        with_members: part.with_members,
        sort: part.sort.clone(),
        after: None,
        before: None,
    };
    let candidates = state.store.query(&q).await.map_err(|e| store_error(kind, None, e))?;
    if candidates.total > bound {
        return Err(ScimError::too_many(format!(
            "the filter would be evaluated on {} resources, more than the limit of {bound}; \
             narrow it with an equality on userName, externalId or displayName",
            candidates.total
        ))
        .into());
    }
    let keys = candidates.keys;
    let candidates = with_memberships(state, kind, candidates.items, kind == ResourceKind::User).await?;
    let mut matches = Vec::new();
    let schemas = state.schemas();
    for ((stored, groups), key) in candidates.into_iter().zip(keys) {
        let full = render::resource(state, &stored, groups.as_deref());
        if filter::evaluate(residual, &schemas.registry, kind, &full) {
            matches.push(((stored, groups), key));
        }
    }
    let total = matches.len() as u64;
    // Keyset positions are in creation order here (a cursor over a sorted query with a
    // residual is refused earlier).
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let (skip, take) = match (after, before) {
        (Some(a), _) => (matches.partition_point(|(_, k)| k.seq <= a.seq), limit),
        (None, Some(b)) => {
            let end = match b {
                Before::Position(p) => matches.partition_point(|(_, k)| k.seq < p.seq),
                Before::End => matches.len(),
            };
            let start = end.saturating_sub(limit);
            (start, end - start)
        }
        (None, None) => (usize::try_from(offset).unwrap_or(usize::MAX), limit),
    };
    let (items, keys) = matches.into_iter().skip(skip).take(take).unzip();
    Ok(Fetched { total, items, keys })
}

/// `attributes` and `excludedAttributes` for one kind. At the root (`root`), a name that one
/// kind does not have is left out of that kind's projection; a name neither kind has is
/// `invalidValue`, as on a collection.
fn projection(
    state: &SharedState,
    kind: ResourceKind,
    params: &ListParams,
    root: bool,
) -> ApiResult<Projection> {
    let (attrs, excluded) = (params.attributes.as_deref(), params.excluded_attributes.as_deref());
    let whole = Projection::parse(&state.schemas().registry, kind, attrs, excluded);
    if whole.is_ok() || !root {
        return Ok(whole?);
    }
    let known_to = |k: ResourceKind, name: &str, as_attr: bool| {
        let (a, e) = if as_attr { (Some(name), None) } else { (None, Some(name)) };
        Projection::parse(&state.schemas().registry, k, a, e).is_ok()
    };
    let mut narrowed: [Option<String>; 2] = [None, None];
    for (slot, (list, as_attr)) in narrowed.iter_mut().zip([(attrs, true), (excluded, false)]) {
        let Some(list) = list else { continue };
        let mut names = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if known_to(kind, name, as_attr) {
                names.push(name);
            } else if ![ResourceKind::User, ResourceKind::Group].iter().any(|&k| known_to(k, name, as_attr)) {
                return Ok(whole?);
            }
        }
        // Nothing asked for exists in this kind: its resources show what is always returned.
        *slot = Some(if names.is_empty() && as_attr { "id".to_owned() } else { names.join(",") });
    }
    let [attrs, excluded] = narrowed;
    Ok(Projection::parse(&state.schemas().registry, kind, attrs.as_deref(), excluded.as_deref())?)
}

/// RFC 7644 §3.4.2.3 `sortBy` and `sortOrder` (default ascending). An attribute no schema
/// defines, or one that cannot be sorted by (a complex attribute without a sub-attribute, the
/// derived `groups`, `members`), is 400 `invalidValue` naming it; so is a `sortOrder` other than
/// `ascending` or `descending`.
fn sort_key(
    state: &SharedState,
    kind: ResourceKind,
    sort_by: Option<&str>,
    sort_order: Option<&str>,
) -> ApiResult<Option<SortKey>> {
    let descending = match sort_order.map(str::trim) {
        None | Some("") => false,
        Some(o) if o.eq_ignore_ascii_case("ascending") => false,
        Some(o) if o.eq_ignore_ascii_case("descending") => true,
        Some(o) => {
            return Err(ScimError::invalid_value(format!(
                "sortOrder \"{o}\" is neither \"ascending\" nor \"descending\""
            ))
            .into());
        }
    };
    let Some(text) = sort_by.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let refuse =
        || ScimError::invalid_value(format!("sortBy \"{text}\" is not an attribute that can be sorted by"));
    let path = AttrPath::parse(text).map_err(|_| refuse())?;
    let key =
        scimd_claims::sort_key(&path, descending, kind, &state.schemas().registry, &state.schemas().mapping)
            .ok_or_else(refuse)?;
    if matches!(key.path, ClaimPath::Member(_) | ClaimPath::Element { .. }) {
        return Err(refuse().into());
    }
    Ok(Some(key))
}
