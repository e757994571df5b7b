//! A stored resource as SCIM JSON (RFC 7643 §3): claims mapped back through the dialect
//! mapping, then `schemas`, `id`, `meta`, `members` (groups) and the derived `groups` (users).

use crate::app::AppState;
use scimd_core::ResourceKind;
use scimd_core::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use scimd_store::{Member, Membership, StoredResource};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The ETag (and `meta.version`) of a version: weak, as the representation may vary with
/// projection (RFC 7644 §3.14).
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// RFC 3339 text of an instant.
pub fn datetime(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The absolute location of a resource.
pub fn location(state: &AppState, kind: ResourceKind, id: &str) -> String {
    format!("{}{}/{}", state.scim_base_url, kind.endpoint(), id)
}

fn kind_of(member: &Member) -> ResourceKind {
    member.kind.unwrap_or(ResourceKind::User)
}

/// The full resource: every attribute, before projection.
pub fn resource(
    state: &AppState,
    stored: &StoredResource,
    memberships: Option<&[Membership]>,
) -> Map<String, Value> {
    let body = state.schemas().mapping.to_resource(stored.kind, &stored.claims);
    finish(state, stored, body, memberships)
}

/// [`resource`] for a resource read only to be rendered: its claims are moved, not copied.
pub fn into_resource(
    state: &AppState,
    mut stored: StoredResource,
    memberships: Option<&[Membership]>,
) -> Map<String, Value> {
    let claims = std::mem::take(&mut stored.claims);
    let body = state.schemas().mapping.into_resource(stored.kind, claims);
    finish(state, &stored, body, memberships)
}

/// Adds `schemas`, `id`, `members`, `groups` and `meta` to the attributes read from claims.
fn finish(
    state: &AppState,
    stored: &StoredResource,
    body: Map<String, Value>,
    memberships: Option<&[Membership]>,
) -> Map<String, Value> {
    let mut out = Map::with_capacity(body.len() + 5);
    let core = match stored.kind {
        ResourceKind::User => USER_SCHEMA,
        ResourceKind::Group => GROUP_SCHEMA,
    };
    let mut schemas = vec![Value::String(core.into())];
    for key in body.keys() {
        if key.starts_with("urn:") {
            let spelled =
                if key.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA) { ENTERPRISE_USER_SCHEMA } else { key };
            schemas.push(Value::String(spelled.into()));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::String(stored.id.clone()));
    out.extend(body);
    if let Some(members) = &stored.members {
        let list: Vec<Value> = members
            .iter()
            .map(|m| {
                let kind = kind_of(m);
                let mut v = Map::new();
                v.insert("value".into(), Value::String(m.id.clone()));
                v.insert("$ref".into(), Value::String(location(state, kind, &m.id)));
                v.insert("type".into(), Value::String(kind.name().into()));
                if let Some(d) = &m.display {
                    v.insert("display".into(), Value::String(d.clone()));
                }
                Value::Object(v)
            })
            .collect();
        if !list.is_empty() {
            out.insert("members".into(), Value::Array(list));
        }
    }
    if let Some(groups) = memberships.filter(|g| !g.is_empty()) {
        let list: Vec<Value> = groups
            .iter()
            .map(|g| {
                let mut v = Map::new();
                v.insert("value".into(), Value::String(g.group_id.clone()));
                v.insert("$ref".into(), Value::String(location(state, ResourceKind::Group, &g.group_id)));
                if let Some(d) = &g.display {
                    v.insert("display".into(), Value::String(d.clone()));
                }
                v.insert("type".into(), Value::String(if g.direct { "direct" } else { "indirect" }.into()));
                Value::Object(v)
            })
            .collect();
        out.insert("groups".into(), Value::Array(list));
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": stored.kind.name(),
            "created": datetime(stored.created),
            "lastModified": datetime(stored.last_modified),
            "location": location(state, stored.kind, &stored.id),
            "version": etag(stored.version),
        }),
    );
    out
}
