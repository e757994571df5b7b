//! POST `/Bulk` (RFC 7644 §3.7): many operations on `/Users` and `/Groups` in one request.
//!
//! A request is a `BulkRequest` message: `Operations`, each with a `method` (POST, PUT, PATCH
//! or DELETE, in any case), a `path` (`/Users`, `/Groups` for POST; `/Users/{id}`,
//! `/Groups/{id}` otherwise), a `bulkId` (required for POST), a `version` (an ETag, checked as
//! `If-Match` is) and `data`; and an optional `failOnErrors`. Each operation runs through the
//! same functions as its single-resource request (`resources::create_resource`,
//! `resources::rewrite`, `patch::patch_resource`, `resources::delete_resource`).
//!
//! **Not atomic.** RFC 7644 §3.7 does not make a bulk request a transaction: each operation is
//! its own transaction, and an operation that fails leaves those before it written.
//!
//! **bulkId references** (§3.7.2): a string `"bulkId:xyz"` anywhere in `data`, or as the id of
//! a `path` (`/Users/bulkId:xyz`), is replaced by the id of the resource the POST with bulkId
//! `xyz` created. Operations run in an order where every POST comes before the operations that
//! reference it (a stable topological order: otherwise the request's order), so a group may be
//! written before the users it names. Operations that reference each other in a cycle (§3.7.1
//! lets the server stop there with 409) each fail with 409 `invalidValue`, as does an operation
//! whose referenced POST failed or does not exist.
//!
//! **Limits** (§3.7.4): more than `scim2.bulk_max_operations` operations or a body larger than
//! `scim2.bulk_max_payload_bytes` is 413; both are announced in `/ServiceProviderConfig`.
//! `failOnErrors` stops processing once that many operations have failed; the response lists
//! the operations processed.

use super::render;
use super::request::{if_match_version, json_body};
use super::resources::{create_resource, delete_resource, rewrite};
use crate::app::SharedState;
use crate::error::{ApiError, ApiResult, SCIM_JSON};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scimd_core::{ResourceKind, ScimError, ScimType};
use serde_json::{Map, Value, json};
use std::collections::{BTreeSet, HashMap};

pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const PREFIX: &str = "bulkId:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// One operation of the request, as sent.
struct Operation {
    /// The method as sent (echoed in the response when it is not one of ours).
    method_text: String,
    method: Option<Method>,
    path: String,
    bulk_id: Option<String>,
    version: Option<String>,
    data: Option<Value>,
    /// The bulkIds this operation references (in `path` or `data`).
    references: BTreeSet<String>,
}

/// One entry of the response's `Operations`.
struct Outcome {
    method: String,
    bulk_id: Option<String>,
    result: Result<Done, ScimError>,
}

/// A successful operation.
struct Done {
    status: u16,
    location: Option<String>,
    version: Option<u64>,
}

/// A 409 `invalidValue` error: a bulkId reference that cannot be resolved (§3.7.1, §3.7.3).
fn unresolved(detail: String) -> ScimError {
    ScimError { status: 409, scim_type: Some(ScimType::InvalidValue), detail }
}

/// POST `/Bulk`.
pub(super) async fn bulk(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let limit = usize::try_from(state.config.scim2.bulk_max_payload_bytes).unwrap_or(usize::MAX);
    let value = json_body(&headers, body, limit).await?;
    let Value::Object(request) = value else {
        return Err(ScimError::invalid_syntax("the request body must be a BulkRequest object").into());
    };
    let field = |name: &str| request.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    let is_bulk_request = field("schemas")
        .and_then(Value::as_array)
        .is_some_and(|l| l.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(BULK_REQUEST))));
    if !is_bulk_request {
        return Err(ScimError::invalid_syntax(format!("schemas must contain \"{BULK_REQUEST}\"")).into());
    }
    let Some(Value::Array(list)) = field("Operations") else {
        return Err(ScimError::invalid_syntax("Operations is required and must be an array").into());
    };
    let max_ops = state.config.scim2.bulk_max_operations;
    if list.len() as u64 > max_ops {
        return Err(ScimError::payload_too_large(format!(
            "the request has {} operations, more than the limit of {max_ops} (bulk.maxOperations)",
            list.len()
        ))
        .into());
    }
    let fail_on_errors = match field("failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => Some(n),
            _ => {
                return Err(ScimError::invalid_value("failOnErrors must be an integer of at least 1").into());
            }
        },
    };
    let ops: Vec<Operation> = list.iter().map(parse_operation).collect();
    let outcomes = run(&state, ops, fail_on_errors).await;
    let body = json!({
        "schemas": [BULK_RESPONSE],
        "Operations": outcomes.iter().map(outcome_json).collect::<Vec<_>>(),
    });
    let mut resp = (StatusCode::OK, serde_json::to_vec(&body).unwrap_or_default()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    Ok(resp)
}

fn outcome_json(o: &Outcome) -> Value {
    let mut m = Map::new();
    m.insert("method".into(), Value::String(o.method.clone()));
    if let Some(b) = &o.bulk_id {
        m.insert("bulkId".into(), Value::String(b.clone()));
    }
    match &o.result {
        Ok(done) => {
            if let Some(v) = done.version {
                m.insert("version".into(), Value::String(render::etag(v)));
            }
            if let Some(l) = &done.location {
                m.insert("location".into(), Value::String(l.clone()));
            }
            m.insert("status".into(), Value::String(done.status.to_string()));
        }
        Err(e) => {
            m.insert("status".into(), Value::String(e.status.to_string()));
            m.insert("response".into(), e.to_json());
        }
    }
    Value::Object(m)
}

fn parse_operation(value: &Value) -> Operation {
    let empty = Map::new();
    let obj = value.as_object().unwrap_or(&empty);
    let field = |name: &str| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    let text = |name: &str| field(name).and_then(Value::as_str).map(str::to_string);
    let method_text = text("method").unwrap_or_default();
    let method = match method_text.to_ascii_uppercase().as_str() {
        "POST" => Some(Method::Post),
        "PUT" => Some(Method::Put),
        "PATCH" => Some(Method::Patch),
        "DELETE" => Some(Method::Delete),
        _ => None,
    };
    let path = text("path").unwrap_or_default();
    let data = field("data").cloned();
    let mut references = BTreeSet::new();
    if let Some(id) = path.rsplit_once('/').and_then(|(_, id)| id.strip_prefix(PREFIX)) {
        references.insert(id.to_string());
    }
    if let Some(d) = &data {
        collect_references(d, &mut references);
    }
    Operation {
        method_text,
        method,
        path,
        bulk_id: text("bulkId"),
        version: text("version"),
        data,
        references,
    }
}

/// Every `"bulkId:xyz"` string in a value.
fn collect_references(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(PREFIX) {
                out.insert(id.to_string());
            }
        }
        Value::Array(list) => list.iter().for_each(|v| collect_references(v, out)),
        Value::Object(m) => m.values().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}

/// Replaces every `"bulkId:xyz"` string by the id created for `xyz`.
fn substitute(value: &mut Value, created: &HashMap<String, String>) {
    match value {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(PREFIX).and_then(|b| created.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(list) => list.iter_mut().for_each(|v| substitute(v, created)),
        Value::Object(m) => m.values_mut().for_each(|v| substitute(v, created)),
        _ => {}
    }
}

/// The order to run the operations in: each POST before the operations that reference its
/// bulkId, otherwise the request's order (Kahn's algorithm, smallest index first). The second
/// list holds the operations left over: in a cycle of references, or depending on one.
fn order(ops: &[Operation]) -> (Vec<usize>, Vec<usize>) {
    let mut defined: HashMap<&str, usize> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        if op.method == Some(Method::Post)
            && let Some(b) = &op.bulk_id
        {
            defined.entry(b.as_str()).or_insert(i);
        }
    }
    let mut waiting_on = vec![0usize; ops.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); ops.len()];
    for (i, op) in ops.iter().enumerate() {
        for r in &op.references {
            if let Some(&p) = defined.get(r.as_str()) {
                waiting_on[i] += 1;
                dependents[p].push(i);
            }
        }
    }
    let mut ready: BTreeSet<usize> = (0..ops.len()).filter(|&i| waiting_on[i] == 0).collect();
    let mut sorted = Vec::with_capacity(ops.len());
    while let Some(i) = ready.pop_first() {
        sorted.push(i);
        for &d in &dependents[i] {
            waiting_on[d] -= 1;
            if waiting_on[d] == 0 {
                ready.insert(d);
            }
        }
    }
    let stuck = (0..ops.len()).filter(|&i| waiting_on[i] > 0).collect();
    (sorted, stuck)
}

async fn run(state: &SharedState, mut ops: Vec<Operation>, fail_on_errors: Option<u64>) -> Vec<Outcome> {
    let (sorted, stuck) = order(&ops);
    // The first POST of each bulkId defines it; a later one is refused.
    let mut first_post: HashMap<String, usize> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        if op.method == Some(Method::Post)
            && let Some(b) = &op.bulk_id
        {
            first_post.entry(b.clone()).or_insert(i);
        }
    }
    let mut created: HashMap<String, String> = HashMap::new();
    let mut outcomes = Vec::with_capacity(ops.len());
    let mut errors = 0u64;
    for i in sorted.into_iter().chain(stuck.iter().copied()) {
        if fail_on_errors.is_some_and(|n| errors >= n) {
            break;
        }
        let op = &mut ops[i];
        let result = if stuck.contains(&i) {
            Err(unresolved(format!(
                "operation {} takes part in, or depends on, a circular bulkId reference ({})",
                i + 1,
                op.references.iter().map(|r| format!("bulkId:{r}")).collect::<Vec<_>>().join(", ")
            )))
        } else if let Some(dup) =
            op.bulk_id.as_ref().filter(|b| op.method == Some(Method::Post) && first_post.get(*b) != Some(&i))
        {
            Err(ScimError::invalid_value(format!(
                "bulkId \"{dup}\" is used by an earlier POST of this request"
            )))
        } else {
            execute(state, op, &created).await
        };
        match &result {
            Ok(done) => {
                if let (Some(Method::Post), Some(b), Some(loc)) = (op.method, &op.bulk_id, &done.location)
                    && let Some((_, id)) = loc.rsplit_once('/')
                {
                    created.insert(b.clone(), id.to_string());
                }
            }
            Err(_) => errors += 1,
        }
        let method = op.method.map_or_else(|| op.method_text.clone(), |m| m.as_str().to_string());
        outcomes.push(Outcome { method, bulk_id: op.bulk_id.clone(), result });
    }
    outcomes
}

/// The resource kind and id a path names: `/Users` → (User, None), `/Groups/{id}` → (Group,
/// Some(id)).
fn parse_path(path: &str) -> Result<(ResourceKind, Option<&str>), ScimError> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let (collection, id) = match rest.split_once('/') {
        Some((c, id)) => (c, Some(id)),
        None => (rest, None),
    };
    let kind = if collection.eq_ignore_ascii_case("Users") {
        ResourceKind::User
    } else if collection.eq_ignore_ascii_case("Groups") {
        ResourceKind::Group
    } else {
        return Err(ScimError::invalid_path(format!(
            "path \"{path}\" is not /Users, /Groups, /Users/{{id}} or /Groups/{{id}}"
        )));
    };
    match id {
        Some(id) if id.is_empty() || id.contains('/') => Err(ScimError::invalid_path(format!(
            "path \"{path}\" is not /Users, /Groups, /Users/{{id}} or /Groups/{{id}}"
        ))),
        id => Ok((kind, id)),
    }
}

/// The version an operation's `version` requires, read as an `If-Match` header is (§3.7,
/// §3.14).
fn if_match(version: Option<&str>) -> ApiResult<Option<u64>> {
    let Some(v) = version else { return Ok(None) };
    let value = HeaderValue::from_str(v)
        .map_err(|_| ScimError::invalid_value(format!("version \"{v}\" is not an entity tag")))?;
    let mut h = HeaderMap::new();
    h.insert(header::IF_MATCH, value);
    if_match_version(&h)
}

async fn execute(
    state: &SharedState,
    op: &mut Operation,
    created: &HashMap<String, String>,
) -> Result<Done, ScimError> {
    let Some(method) = op.method else {
        return Err(ScimError::invalid_value(format!(
            "method \"{}\" is not POST, PUT, PATCH or DELETE",
            op.method_text
        )));
    };
    // Every reference must name a POST of this request that succeeded.
    if let Some(r) = op.references.iter().find(|r| !created.contains_key(r.as_str())) {
        return Err(unresolved(format!(
            "bulkId:{r} does not name a resource created by this request (no POST with that bulkId, or it failed)"
        )));
    }
    let path = match op.path.rsplit_once('/') {
        Some((head, id)) => match id.strip_prefix(PREFIX).and_then(|b| created.get(b)) {
            Some(resolved) => format!("{head}/{resolved}"),
            None => op.path.clone(),
        },
        None => op.path.clone(),
    };
    let (kind, id) = parse_path(&path)?;
    let mut data = op.data.take();
    if let Some(d) = data.as_mut() {
        substitute(d, created);
    }
    let need_data = || ScimError::invalid_syntax(format!("{} needs data", method.as_str()));
    let api = |e: ApiError| e.error;
    let expected = if_match(op.version.as_deref()).map_err(api)?;
    let stored = match (method, id) {
        (Method::Post, None) => {
            if op.bulk_id.as_deref().is_none_or(str::is_empty) {
                return Err(ScimError::invalid_value("bulkId is required for POST (RFC 7644 §3.7)"));
            }
            create_resource(state, kind, data.ok_or_else(need_data)?).await.map_err(api)?
        }
        (Method::Put, Some(id)) => {
            let data = data.ok_or_else(need_data)?;
            rewrite(state, kind, id, expected, false, |_| Ok(data.clone())).await.map_err(api)?
        }
        (Method::Patch, Some(id)) => {
            super::patch::patch_resource(state, kind, id, expected, data.ok_or_else(need_data)?)
                .await
                .map_err(api)?
        }
        (Method::Delete, Some(id)) => {
            delete_resource(state, kind, id, expected).await.map_err(api)?;
            return Ok(Done { status: 204, location: None, version: None });
        }
        (Method::Post, Some(_)) => {
            return Err(ScimError::invalid_path(format!("POST needs a collection path, not \"{path}\"")));
        }
        (_, None) => {
            return Err(ScimError::invalid_path(format!(
                "{} needs the path of one resource, not \"{path}\"",
                method.as_str()
            )));
        }
    };
    let status = if method == Method::Post { 201 } else { 200 };
    Ok(Done {
        status,
        location: Some(render::location(state, kind, &stored.id)),
        version: Some(stored.version),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn op(v: Value) -> Operation {
        parse_operation(&v)
    }

    /// RFC 7644 §3.7.2: a POST comes before the operations that reference its bulkId, whatever
    /// the request's order; otherwise the request's order is kept.
    #[test]
    fn order_puts_referenced_posts_first() {
        let ops = vec![
            op(json!({"method": "POST", "path": "/Groups", "bulkId": "g",
                      "data": {"members": [{"value": "bulkId:a"}, {"value": "bulkId:b"}]}})),
            op(json!({"method": "DELETE", "path": "/Users/x"})),
            op(json!({"method": "POST", "path": "/Users", "bulkId": "b", "data": {}})),
            op(json!({"method": "PATCH", "path": "/Users/bulkId:a", "data": {}})),
            op(json!({"method": "post", "path": "/Users", "bulkId": "a", "data": {}})),
        ];
        let (sorted, stuck) = order(&ops);
        assert_eq!(sorted, vec![1, 2, 4, 0, 3]);
        assert!(stuck.is_empty());
    }

    /// RFC 7644 §3.7.1: circular references are detected; what depends on them is left too.
    #[test]
    fn order_leaves_cycles_and_their_dependents() {
        let ops = vec![
            op(
                json!({"method": "POST", "path": "/Groups", "bulkId": "x", "data": {"members": [{"value": "bulkId:y"}]}}),
            ),
            op(
                json!({"method": "POST", "path": "/Groups", "bulkId": "y", "data": {"members": [{"value": "bulkId:x"}]}}),
            ),
            op(json!({"method": "PATCH", "path": "/Groups/bulkId:y", "data": {}})),
            op(json!({"method": "POST", "path": "/Users", "bulkId": "z", "data": {}})),
        ];
        let (sorted, stuck) = order(&ops);
        assert_eq!(sorted, vec![3]);
        assert_eq!(stuck, vec![0, 1, 2]);
    }

    #[test]
    fn paths_name_a_collection_or_one_resource() {
        assert_eq!(parse_path("/Users").unwrap(), (ResourceKind::User, None));
        assert_eq!(parse_path("/groups/abc").unwrap(), (ResourceKind::Group, Some("abc")));
        assert!(parse_path("/Other").is_err());
        assert!(parse_path("/Users/a/b").is_err());
        assert!(parse_path("/Users/").is_err());
    }
}
