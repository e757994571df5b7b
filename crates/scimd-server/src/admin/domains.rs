//! `/admin/v1/domains`, `/admin/v1/dialects` and `/admin/v1/claims`: the user store domains,
//! the claim dialects, and the mapped attribute of each local claim, by default and per domain
//! (DESIGN.md, Words; `crate::domains` for where each setting comes from).
//!
//! JSON keys are snake_case, as in the config file, so that a domain reads the same in both.

use crate::app::SharedState;
use crate::domains::{AdminError, DomainAdmin, DomainConfig, Source};
use crate::error::ApiError;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use scimd_core::ScimError;
use scimd_domains::PRIMARY;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/domains", get(list_domains).post(add_domain))
        .route("/domains/{name}", get(show_domain).delete(remove_domain))
        .route("/dialects", get(dialects))
        .route("/claims", get(local_claims))
        .route("/claims/{claim}", get(show_claim).put(set_default))
        .route(
            "/claims/{claim}/domains/{domain}",
            axum::routing::put(set_for_domain).delete(unset_for_domain),
        )
}

fn admin(state: &SharedState) -> Result<&Arc<DomainAdmin>, ApiError> {
    state.domains().ok_or_else(|| ApiError::from(ScimError::status(503, "the domains are still starting")))
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> ApiError {
        match e {
            AdminError::Invalid(m) => ScimError::invalid_value(m).into(),
            AdminError::NotFound(m) => ScimError::not_found(m).into(),
            AdminError::Conflict(m) => ScimError::conflict(m).into(),
            AdminError::Internal(m) => ApiError::internal("admin", m),
        }
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn domain_json(config: &DomainConfig, source: Source, mapping: Option<&BTreeMap<String, String>>) -> Value {
    let mut v = serde_json::to_value(config).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.insert("source".into(), json!(source));
        if let Some(m) = mapping {
            o.insert("effective_mapping".into(), json!(m));
        }
    }
    v
}

async fn list_domains(State(state): State<SharedState>) -> Result<Response, ApiError> {
    let admin = admin(&state)?;
    let mut out = vec![json!({"name": PRIMARY, "type": "sqlite", "read_only": false, "source": "builtin"})];
    out.extend(admin.list().iter().map(|(c, s)| domain_json(c, *s, None)));
    Ok(json_response(StatusCode::OK, json!({ "domains": out })))
}

async fn show_domain(
    State(state): State<SharedState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let admin = admin(&state)?;
    if name.eq_ignore_ascii_case(PRIMARY) {
        return Ok(json_response(
            StatusCode::OK,
            json!({"name": PRIMARY, "type": "sqlite", "read_only": false, "source": "builtin",
                   "note": "the embedded store keeps every claim; it has no mapping"}),
        ));
    }
    let effective = admin.effective_by_domain();
    let found = admin.list().into_iter().find(|(c, _)| c.name.eq_ignore_ascii_case(&name));
    let (config, source) = found.ok_or_else(|| ScimError::not_found(format!("no domain named {name}")))?;
    Ok(json_response(StatusCode::OK, domain_json(&config, source, effective.get(&config.name))))
}

async fn add_domain(State(state): State<SharedState>, body: axum::body::Bytes) -> Result<Response, ApiError> {
    let admin = admin(&state)?;
    let config: DomainConfig = serde_json::from_slice(&body)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not a domain: {e}")))?;
    admin.add(config.clone(), &state.schemas()).await?;
    let effective = admin.effective_by_domain();
    Ok(json_response(
        StatusCode::CREATED,
        domain_json(&config.redacted(), Source::Admin, effective.get(&config.name)),
    ))
}

async fn remove_domain(
    State(state): State<SharedState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    admin(&state)?.remove(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The SCIM dialects (one per schema: each SCIM claim URI and its local claim) and the local
/// dialect.
async fn dialects(State(state): State<SharedState>) -> Result<Response, ApiError> {
    let admin = admin(&state)?;
    let schemas = state.schemas();
    let mut by_dialect: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (claim, local, _) in schemas.mapping.rows() {
        let dialect = claim.rsplit_once(':').map_or(claim, |(d, _)| d);
        by_dialect.entry(dialect.to_owned()).or_default().push(json!({"claim": claim, "local": local}));
    }
    let mut out: Vec<Value> =
        by_dialect.into_iter().map(|(uri, claims)| json!({"uri": uri, "claims": claims})).collect();
    let mappings = admin.mappings();
    let local: Vec<Value> = admin
        .catalogue(&schemas)
        .keys()
        .map(|c| json!({"claim": c, "mapped_attribute": mappings.defaults.get(c)}))
        .collect();
    out.push(json!({"uri": scimd_claims::claims::LOCAL_DIALECT, "claims": local}));
    Ok(json_response(StatusCode::OK, json!({ "dialects": out })))
}

/// The local claims with their default mapped attribute.
async fn local_claims(State(state): State<SharedState>) -> Result<Response, ApiError> {
    let admin = admin(&state)?;
    let mappings = admin.mappings();
    let claims: Vec<Value> = admin
        .catalogue(&state.schemas())
        .keys()
        .map(|c| json!({"claim": c, "mapped_attribute": mappings.defaults.get(c)}))
        .collect();
    Ok(json_response(StatusCode::OK, json!({ "claims": claims })))
}

/// One local claim: its default mapped attribute, the attribute each directory domain keeps it
/// in (`null`: unmapped there), and the SCIM claims that map to it.
async fn show_claim(
    State(state): State<SharedState>,
    Path(claim): Path<String>,
) -> Result<Response, ApiError> {
    let admin = admin(&state)?;
    let schemas = state.schemas();
    let catalogue = admin.catalogue(&schemas);
    let shape =
        catalogue.get(&claim).ok_or_else(|| ScimError::not_found(format!("no local claim {claim}")))?;
    let mappings = admin.mappings();
    let domains: Map<String, Value> = admin
        .effective_by_domain()
        .into_iter()
        .map(|(d, eff)| (d, eff.get(&claim).map_or(Value::Null, |a| json!(a))))
        .collect();
    let base = shape.view_of.as_ref().map_or(claim.as_str(), |(c, _)| c.as_str());
    let scim: Vec<&str> = schemas.mapping.rows().filter(|(_, l, _)| *l == base).map(|(c, _, _)| c).collect();
    Ok(json_response(
        StatusCode::OK,
        json!({
            "claim": claim,
            "mapped_attribute": mappings.defaults.get(&claim),
            "domains": domains,
            "scim_claims": scim,
            "type": format!("{:?}", shape.kind).to_lowercase(),
            "multi_valued": shape.multi_valued,
        }),
    ))
}

/// `{"mapped_attribute": "title"}` (or `null` for none) from a request body.
fn attribute_of(body: &[u8]) -> Result<Option<String>, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not JSON: {e}")))?;
    match v.get("mapped_attribute") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
        Some(Value::Null) => Ok(None),
        _ => Err(ScimError::invalid_value(
            "mapped_attribute: give an attribute name, or null for none".to_string(),
        )
        .into()),
    }
}

/// Changes the default mapped attribute of a local claim.
async fn set_default(
    State(state): State<SharedState>,
    Path(claim): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let admin = admin(&state)?;
    let attribute = attribute_of(&body)?;
    let c = claim.clone();
    admin
        .change_mappings(&state.schemas(), move |m| {
            match attribute {
                Some(a) => {
                    m.unmapped.remove(&c);
                    m.defaults.insert(c, a);
                }
                None => {
                    m.defaults.remove(&c);
                    m.unmapped.insert(c);
                }
            }
            Ok(())
        })
        .await?;
    show_claim(State(state), Path(claim)).await
}

/// Maps a local claim to an attribute in one domain (`null`: unmapped in that domain).
async fn set_for_domain(
    State(state): State<SharedState>,
    Path((claim, domain)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let admin = admin(&state)?;
    let attribute = attribute_of(&body)?;
    let name = directory_domain(admin, &domain)?;
    let c = claim.clone();
    admin
        .change_mappings(&state.schemas(), move |m| {
            m.domains.entry(name).or_default().insert(c, attribute);
            Ok(())
        })
        .await?;
    show_claim(State(state), Path(claim)).await
}

/// Removes a domain's own mapping of a claim: the preset or default applies again.
async fn unset_for_domain(
    State(state): State<SharedState>,
    Path((claim, domain)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let admin = admin(&state)?;
    let name = directory_domain(admin, &domain)?;
    let c = claim.clone();
    admin
        .change_mappings(&state.schemas(), move |m| {
            let removed = m.domains.get_mut(&name).and_then(|d| d.remove(&c));
            if m.domains.get(&name).is_some_and(BTreeMap::is_empty) {
                m.domains.remove(&name);
            }
            match removed {
                Some(_) => Ok(()),
                None => Err(AdminError::NotFound(format!("domain {name} has no mapping of its own for {c}"))),
            }
        })
        .await?;
    show_claim(State(state), Path(claim)).await
}

/// The configured spelling of a directory domain's name, or why it has no mapping.
fn directory_domain(admin: &DomainAdmin, name: &str) -> Result<String, ApiError> {
    let effective = admin.effective_by_domain();
    if let Some(found) = effective.keys().find(|d| d.eq_ignore_ascii_case(name)) {
        return Ok(found.clone());
    }
    let exists = name.eq_ignore_ascii_case(PRIMARY)
        || admin.list().iter().any(|(c, _)| c.name.eq_ignore_ascii_case(name));
    Err(if exists {
        ScimError::invalid_value(format!(
            "domain {name} is an SQL store that keeps every claim; it has no attribute mapping"
        ))
        .into()
    } else {
        ScimError::not_found(format!("no domain named {name}")).into()
    })
}
