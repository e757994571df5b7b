//! `/admin/v1/schemas`: the schemas in force, and the custom extension's attributes added and
//! deleted (DESIGN.md, "Schemas that admins shape"; docs/schemas.md).
//!
//! | method and path | what |
//! |---|---|
//! | GET `/schemas` | every schema: id, name, description, resource type, whether built in |
//! | GET `/schemas/{uri}` | one schema, RFC 7643 §7 form, each attribute with its claim URI and local claim |
//! | GET `/schemas/{uri}/attributes` | its attributes, likewise |
//! | POST `/schemas/{uri}/attributes` | adds a custom attribute (201); built-in schemas: 400 `mutability` |
//! | GET `/schemas/{uri}/attributes/{name}` | one attribute |
//! | DELETE `/schemas/{uri}/attributes/{name}[?confirm=true]` | deletes a custom attribute; with values stored, only with `confirm=true`, which deletes them too (else 409) |
//!
//! A change is saved and installed before the response ([`super::custom::change`]): the next
//! request sees it in `/Schemas`, validation, PATCH paths, filters and the claim mapping.

use super::custom::{self, CustomAttribute, CustomDefinitions};
use crate::app::{Schemas, SharedState};
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{Router, get};
use scimd_claims::ClaimPath;
use scimd_core::schema::Schema;
use scimd_core::{AttributeDef, ResourceKind, ScimError};
use scimd_store::{ClaimFilter, StoreError, StoreQuery};
use serde_json::{Value, json};

/// The routes, relative to `/admin/v1`.
pub fn routes() -> Router<SharedState> {
    let not_allowed = crate::scim::method_not_allowed;
    Router::new()
        .route("/schemas", get(list).fallback(not_allowed("GET")))
        .route("/schemas/{uri}", get(show).fallback(not_allowed("GET")))
        .route(
            "/schemas/{uri}/attributes",
            get(list_attributes).post(add_attribute).fallback(not_allowed("GET, POST")),
        )
        .route(
            "/schemas/{uri}/attributes/{name}",
            get(show_attribute).delete(delete_attribute).fallback(not_allowed("GET, DELETE")),
        )
}

/// The resource type a schema belongs to, and whether it is an extension.
fn owner(schemas: &Schemas, schema: &Schema) -> Option<(ResourceKind, bool)> {
    schemas.registry.resource_types().iter().find_map(|rt| {
        if rt.schema.eq_ignore_ascii_case(&schema.id) {
            Some((rt.kind, false))
        } else if rt.schema_extensions.iter().any(|e| e.schema.eq_ignore_ascii_case(&schema.id)) {
            Some((rt.kind, true))
        } else {
            None
        }
    })
}

fn is_custom(state: &SharedState, uri: &str) -> bool {
    custom::custom_uri(&state.config.scim2).is_some_and(|c| c.eq_ignore_ascii_case(uri))
}

/// The schema `uri`, or 404 (saying so when it is the custom extension turned off).
fn find<'s>(state: &SharedState, schemas: &'s Schemas, uri: &str) -> ApiResult<&'s Schema> {
    schemas.registry.schema(uri).ok_or_else(|| {
        let off = !state.config.scim2.enable_custom_schema_extension
            && state.config.scim2.custom_user_schema_uri.eq_ignore_ascii_case(uri);
        let why = if off {
            " (the custom extension is turned off: scim2.enable_custom_schema_extension = false)"
        } else {
            ""
        };
        ApiError::from(ScimError::not_found(format!("no schema \"{uri}\"{why}")))
    })
}

/// The custom schema `uri`, for a change: 400 `mutability` for a built-in one.
fn custom_target(state: &SharedState, uri: &str) -> ApiResult<String> {
    let schemas = state.schemas();
    let schema = find(state, &schemas, uri)?;
    if !is_custom(state, &schema.id) {
        let custom = custom::custom_uri(&state.config.scim2)
            .map(|c| format!("; only the custom extension {c} can"))
            .unwrap_or_default();
        return Err(ScimError::mutability(format!(
            "the schema {} is built in and cannot be changed{custom}",
            schema.id
        ))
        .into());
    }
    Ok(schema.id.clone())
}

/// An attribute as the admin API shows it: RFC 7643 §7, plus its claim URI and local claim
/// (and those of its sub-attributes) where the dialect mapping has them.
fn attribute_json(
    schemas: &Schemas,
    kind: ResourceKind,
    ext: Option<&str>,
    schema_id: &str,
    def: &AttributeDef,
) -> Value {
    let mut v = serde_json::to_value(def).unwrap_or_else(|_| json!({}));
    let claim_uri = |tail: &str| format!("{schema_id}:{tail}");
    if let Value::Object(m) = &mut v {
        if let Some(local) = schemas.mapping.local_claim_of(kind, ext, &def.name, None) {
            m.insert("claimUri".into(), Value::String(claim_uri(&def.name)));
            m.insert("localClaim".into(), Value::String(local.to_string()));
        }
        if let Some(Value::Array(subs)) = m.get_mut("subAttributes") {
            for sub in subs.iter_mut() {
                let Some(name) = sub.get("name").and_then(Value::as_str).map(str::to_string) else {
                    continue;
                };
                if let (Some(local), Value::Object(sm)) =
                    (schemas.mapping.local_claim_of(kind, ext, &def.name, Some(&name)), &mut *sub)
                {
                    sm.insert("claimUri".into(), Value::String(claim_uri(&format!("{}.{name}", def.name))));
                    sm.insert("localClaim".into(), Value::String(local.to_string()));
                }
            }
        }
    }
    v
}

fn schema_json(state: &SharedState, schemas: &Schemas, schema: &Schema, with_attributes: bool) -> Value {
    let (kind, is_ext) = owner(schemas, schema).unwrap_or((ResourceKind::User, true));
    let ext = is_ext.then_some(schema.id.as_str());
    let mut v = json!({
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "resourceType": kind.name(),
        "extension": is_ext,
        "builtIn": !is_custom(state, &schema.id),
        "attributeCount": schema.attributes.len(),
    });
    if with_attributes && let Value::Object(m) = &mut v {
        let attrs =
            schema.attributes.iter().map(|a| attribute_json(schemas, kind, ext, &schema.id, a)).collect();
        m.insert("attributes".into(), Value::Array(attrs));
    }
    v
}

/// GET `/schemas`.
async fn list(State(state): State<SharedState>) -> Json<Value> {
    let schemas = state.schemas();
    let list: Vec<Value> =
        schemas.registry.schemas().iter().map(|s| schema_json(&state, &schemas, s, false)).collect();
    Json(json!({"totalResults": list.len(), "schemas": list}))
}

/// GET `/schemas/{uri}`.
async fn show(State(state): State<SharedState>, Path(uri): Path<String>) -> ApiResult<Json<Value>> {
    let schemas = state.schemas();
    let schema = find(&state, &schemas, &uri)?;
    Ok(Json(schema_json(&state, &schemas, schema, true)))
}

/// GET `/schemas/{uri}/attributes`.
async fn list_attributes(
    State(state): State<SharedState>,
    Path(uri): Path<String>,
) -> ApiResult<Json<Value>> {
    let schemas = state.schemas();
    let schema = find(&state, &schemas, &uri)?;
    let v = schema_json(&state, &schemas, schema, true);
    let attrs = v.get("attributes").cloned().unwrap_or(Value::Array(Vec::new()));
    Ok(Json(json!({"schema": schema.id, "totalResults": schema.attributes.len(), "attributes": attrs})))
}

/// GET `/schemas/{uri}/attributes/{name}`.
async fn show_attribute(
    State(state): State<SharedState>,
    Path((uri, name)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let schemas = state.schemas();
    let schema = find(&state, &schemas, &uri)?;
    let def = schema.attribute(&name).ok_or_else(|| no_attribute(&schema.id, &name))?;
    let (kind, is_ext) = owner(&schemas, schema).unwrap_or((ResourceKind::User, true));
    Ok(Json(attribute_json(&schemas, kind, is_ext.then_some(schema.id.as_str()), &schema.id, def)))
}

fn no_attribute(uri: &str, name: &str) -> ApiError {
    ScimError::not_found(format!("the schema {uri} has no attribute \"{name}\"")).into()
}

/// POST `/schemas/{uri}/attributes`: the body is the attribute definition (RFC 7643 §7, plus
/// `localClaim`).
async fn add_attribute(
    State(state): State<SharedState>,
    Path(uri): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let uri = custom_target(&state, &uri)?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        ScimError::invalid_syntax(format!(
            "the request body is not valid JSON (line {} column {})",
            e.line(),
            e.column()
        ))
    })?;
    let attr = CustomAttribute::parse(&value)?;
    let added = custom::change(&state, |defs: &mut CustomDefinitions| {
        if let Some(existing) = defs.get(&attr.def.name) {
            return Err(ScimError::invalid_value(format!(
                "name: the schema {uri} already has an attribute \"{}\" (names are case-insensitive)",
                existing.def.name
            ))
            .into());
        }
        defs.attributes.push(attr.clone());
        Ok(attr.clone())
    })
    .await?;
    let schemas = state.schemas();
    let body = attribute_json(&schemas, ResourceKind::User, Some(&uri), &uri, &added.def);
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    let location = format!("/admin/v1/schemas/{uri}/attributes/{}", added.def.name);
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// Whether the query string says `confirm=true` (or `1`, `yes`).
fn confirmed(query: Option<&str>) -> bool {
    query.unwrap_or("").split('&').any(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        k.eq_ignore_ascii_case("confirm") && ["true", "1", "yes"].iter().any(|t| v.eq_ignore_ascii_case(t))
    })
}

/// How many users hold a value of one of the local claims.
async fn users_with(state: &SharedState, claims: &[String]) -> ApiResult<u64> {
    let present =
        |claim: &String| ClaimFilter::Present { path: ClaimPath::Claim { claim: claim.clone(), sub: None } };
    let query = StoreQuery {
        kind: ResourceKind::User,
        filter: ClaimFilter::Or(claims.iter().map(present).collect()),
        offset: 0,
        limit: 0,
        with_members: false,
        sort: None,
        after: None,
        before: None,
    };
    state
        .store
        .query(&query)
        .await
        .map(|page| page.total)
        .map_err(|e| ApiError::internal("counting values", e))
}

/// DELETE `/schemas/{uri}/attributes/{name}[?confirm=true]`.
async fn delete_attribute(
    State(state): State<SharedState>,
    Path((uri, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let uri = custom_target(&state, &uri)?;
    let confirm = confirmed(query.as_deref());
    let current = custom::current(&state).await?;
    let attr = current.get(&name).cloned().ok_or_else(|| no_attribute(&uri, &name))?;
    let claims = attr.local_claims();
    let holders = users_with(&state, &claims).await?;
    if holders > 0 && !confirm {
        return Err(ScimError::status(
            409,
            format!(
                "{holders} User(s) have a value of {uri}:{}; deleting the attribute deletes those values: \
                 repeat with ?confirm=true",
                attr.def.name
            ),
        )
        .into());
    }
    let removed = custom::change(&state, |defs: &mut CustomDefinitions| {
        let before = defs.attributes.len();
        defs.attributes.retain(|a| !a.def.name.eq_ignore_ascii_case(&attr.def.name));
        if defs.attributes.len() == before {
            return Err(no_attribute(&uri, &name));
        }
        Ok(())
    })
    .await;
    removed?;
    // The attribute is gone from the schemas: no request can write its claim any more. Its
    // values go now (none unless confirmed, or written since the count).
    let mut values_removed = 0;
    for claim in &claims {
        values_removed += match state.store.remove_claim(ResourceKind::User, claim).await {
            Ok(n) => n,
            Err(StoreError::Unsupported(_)) if holders == 0 => 0,
            Err(e) => return Err(ApiError::internal("removing the values of a deleted attribute", e)),
        };
    }
    Ok(Json(json!({
        "deleted": format!("{uri}:{}", attr.def.name),
        "localClaims": claims,
        "usersWithValues": holders,
        "valuesRemoved": values_removed,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::confirmed;

    #[test]
    fn confirmation_flag() {
        assert!(confirmed(Some("confirm=true")));
        assert!(confirmed(Some("x=1&Confirm=TRUE")));
        assert!(confirmed(Some("confirm=1")));
        assert!(!confirmed(Some("confirm=false")));
        assert!(!confirmed(Some("confirm")));
        assert!(!confirmed(None));
    }
}
