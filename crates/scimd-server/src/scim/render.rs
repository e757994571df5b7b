//! A stored resource as SCIM JSON (RFC 7643 §3): claims mapped back through the dialect
//! mapping, then `schemas`, `id`, `meta`, `members` (groups) and the derived `groups` (users).
//!
//! Two ways, one result: [`resource`] builds the resource as a tree of values, for what works
//! on it (a projection that selects sub-attributes, a filter evaluated in memory, PATCH);
//! [`Renderer`] writes the JSON of a response straight from the claims when the projection
//! allows (the default one, which drops whole attributes only), copying stored values as they
//! are. Tests check that both give the same JSON.

use crate::app::{AppState, Schemas};
use scimd_claims::ResourceWriter;
use scimd_core::ResourceKind;
use scimd_core::project::Projection;
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

/// Renders resources of one kind under one projection, as JSON.
pub struct Renderer<'a> {
    state: &'a AppState,
    schemas: &'a Schemas,
    kind: ResourceKind,
    projection: &'a Projection,
    /// Set when the projection lets the JSON be written straight from the claims.
    writer: Option<ResourceWriter<'a>>,
}

impl<'a> Renderer<'a> {
    pub fn new(
        state: &'a AppState,
        schemas: &'a Schemas,
        kind: ResourceKind,
        projection: &'a Projection,
    ) -> Self {
        let writer = projection.hidden_by_default().map(|hidden| schemas.mapping.writer(kind, hidden));
        Renderer { state, schemas, kind, projection, writer }
    }

    /// Appends the resource's JSON to `out`. `memberships`: a user's groups, when shown.
    pub fn write(&self, stored: StoredResource, memberships: Option<&[Membership]>, out: &mut Vec<u8>) {
        match &self.writer {
            Some(writer) => write_resource(self.state, writer, &stored, memberships, out),
            None => {
                let full = into_resource(self.state, stored, memberships);
                let body = self.projection.apply(&self.schemas.registry, self.kind, full);
                // A map of strings to values always serializes.
                let _ = serde_json::to_writer(&mut *out, &body);
            }
        }
    }

    /// The resource's JSON.
    pub fn to_vec(&self, stored: StoredResource, memberships: Option<&[Membership]>) -> Vec<u8> {
        let mut out = Vec::with_capacity(2048);
        self.write(stored, memberships, &mut out);
        out
    }
}

/// Appends `s` as a JSON string.
fn string(out: &mut Vec<u8>, s: &str) {
    if plain(s) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing a string to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Whether `s` is written in a JSON string as it is: none of what serde_json escapes (control
/// characters, `"` and `\`). Every byte is looked at, with no early exit, so that the loop
/// runs on whole vectors: the ids, URIs and names a response writes are almost always plain.
fn plain(s: &str) -> bool {
    !s.bytes().fold(false, |escape, b| escape | (b < 0x20) | (b == b'"') | (b == b'\\'))
}

/// Appends `,"name":` and `s` as a JSON string (`name` needs no escaping).
fn field(out: &mut Vec<u8>, name: &str, s: &str) {
    key(out, name);
    string(out, s);
}

/// Appends `,"name":` (`name` needs no escaping).
fn key(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends the concatenation of `parts` as one JSON string, without building it first.
fn string_of(out: &mut Vec<u8>, parts: &[&str]) {
    out.push(b'"');
    for part in parts {
        // What serde_json escapes: control characters, `"` and `\`.
        if plain(part) {
            out.extend_from_slice(part.as_bytes());
        } else {
            let quoted = serde_json::to_string(part).unwrap_or_default();
            out.extend_from_slice(
                quoted.as_bytes().get(1..quoted.len().saturating_sub(1)).unwrap_or_default(),
            );
        }
    }
    out.push(b'"');
}

/// Appends `,"name":` and the location of a resource as a JSON string.
fn location_field(out: &mut Vec<u8>, name: &str, state: &AppState, kind: ResourceKind, id: &str) {
    key(out, name);
    string_of(out, &[&state.scim_base_url, kind.endpoint(), "/", id]);
}

/// Appends members as elements of a group's `members` (as [`finish`] gives them), each after a
/// comma when `after_others` or when not the first.
pub(super) fn write_members(state: &AppState, members: &[Member], after_others: bool, out: &mut Vec<u8>) {
    for (i, m) in members.iter().enumerate() {
        if i > 0 || after_others {
            out.push(b',');
        }
        let kind = kind_of(m);
        out.extend_from_slice(b"{\"value\":");
        string(out, &m.id);
        location_field(out, "$ref", state, kind, &m.id);
        field(out, "type", kind.name());
        if let Some(d) = &m.display {
            field(out, "display", d);
        }
        out.push(b'}');
    }
}

/// What [`finish`] and the default projection give, written straight from the claims.
fn write_resource(
    state: &AppState,
    writer: &ResourceWriter<'_>,
    stored: &StoredResource,
    memberships: Option<&[Membership]>,
    out: &mut Vec<u8>,
) {
    let core = match stored.kind {
        ResourceKind::User => USER_SCHEMA,
        ResourceKind::Group => GROUP_SCHEMA,
    };
    let values = writer.values(&stored.claims);
    out.extend_from_slice(b"{\"schemas\":[");
    string(out, core);
    for ext in writer.extensions(&values) {
        out.push(b',');
        string(out, ext);
    }
    out.push(b']');
    field(out, "id", &stored.id);
    writer.write(&values, out);
    if let Some(members) = stored.members.as_deref().filter(|m| !m.is_empty()) {
        out.extend_from_slice(b",\"members\":[");
        write_members(state, members, false, out);
        out.push(b']');
    }
    if let Some(groups) = memberships.filter(|g| !g.is_empty()) {
        out.extend_from_slice(b",\"groups\":[");
        for (i, g) in groups.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"value\":");
            string(out, &g.group_id);
            location_field(out, "$ref", state, ResourceKind::Group, &g.group_id);
            if let Some(d) = &g.display {
                field(out, "display", d);
            }
            field(out, "type", if g.direct { "direct" } else { "indirect" });
            out.push(b'}');
        }
        out.push(b']');
    }
    out.extend_from_slice(b",\"meta\":{\"resourceType\":");
    string(out, stored.kind.name());
    field(out, "created", &datetime(stored.created));
    field(out, "lastModified", &datetime(stored.last_modified));
    location_field(out, "location", state, stored.kind, &stored.id);
    field(out, "version", &etag(stored.version));
    out.extend_from_slice(b"}}");
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use scimd_store::{Member, NewResource, UserStore};
    use std::sync::Arc;

    async fn state() -> (tempfile::TempDir, AppState, Arc<scimd_store_sql::SqliteStore>) {
        let (dir, store) = crate::app::temp_store().await;
        let credentials = crate::auth::Credentials::with_admin_token("admin", "t");
        let state =
            AppState::new(crate::Config::default(), store.clone(), store.clone(), credentials).unwrap();
        (dir, state, store)
    }

    /// A string written in parts is the string written whole, escapes and all.
    #[test]
    fn a_string_in_parts_is_escaped_as_a_whole() {
        for parts in [vec!["http://h/scim/v2", "/Users", "/", "id-1"], vec!["a\"b", "/c\\", "\n", "é\u{1}"]]
        {
            let mut out = Vec::new();
            string_of(&mut out, &parts);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&parts.concat()).unwrap());
        }
    }

    /// A string is written as serde_json writes it, whether it is plain or needs escapes.
    #[test]
    fn a_string_is_written_as_serde_json_writes_it() {
        let mut every_byte = String::new();
        for c in (0u8..0x80).map(char::from).chain(['é', '\u{2028}', '😀']) {
            every_byte.push(c);
            for s in [every_byte.as_str(), &c.to_string(), "2f8e1c62-0d2a-4d5e-9b1f-3c4a5b6c7d8e"] {
                let mut out = Vec::new();
                string(&mut out, s);
                assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(s).unwrap());
            }
        }
    }

    /// Both ways of rendering give the same JSON: the tree, projected, and the writer.
    fn both(state: &AppState, stored: &StoredResource, groups: Option<&[Membership]>) -> (Value, Value) {
        let schemas = state.schemas();
        let projection = Projection::parse(&schemas.registry, stored.kind, None, None).unwrap();
        let renderer = Renderer::new(state, &schemas, stored.kind, &projection);
        assert!(renderer.writer.is_some(), "the default projection writes straight from the claims");
        let fast: Value = serde_json::from_slice(&renderer.to_vec(stored.clone(), groups)).unwrap();
        let tree = projection.apply(&schemas.registry, stored.kind, resource(state, stored, groups));
        (fast, Value::Object(tree))
    }

    /// RFC 7643 §3 and §7: what the writer writes for a stored user and a stored group (claims
    /// kept as the store's text) equals the resource tree under the default projection: the
    /// password left out, the Enterprise extension listed in `schemas`, members and groups with
    /// their `$ref`.
    #[tokio::test]
    async fn the_writer_writes_what_the_tree_gives() {
        let (_dir, state, store) = state().await;
        let user = json!({
            "userName": "bjensen", "password": "$argon2id$not-shown", "active": true,
            "name": {"givenName": "Barbara", "familyName": "Jensen \"BJ\""},
            "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7", "manager": {"value": "m"}},
        });
        let claims =
            state.schemas().mapping.to_claims(ResourceKind::User, user.as_object().unwrap()).unwrap();
        let now = OffsetDateTime::now_utc();
        let new =
            |id: &str, kind, claims, members| NewResource { id: id.to_owned(), kind, claims, members, now };
        store.create(new("u1", ResourceKind::User, claims, Vec::new())).await.unwrap();
        let group = state
            .schemas()
            .mapping
            .to_claims(ResourceKind::Group, json!({"displayName": "Ops & Co"}).as_object().unwrap())
            .unwrap();
        let members = vec![Member::new("u1", Some(ResourceKind::User), Some("B".to_owned()))];
        store.create(new("g1", ResourceKind::Group, group, members)).await.unwrap();

        let (stored, groups) = store.get_with_memberships(ResourceKind::User, "u1").await.unwrap().unwrap();
        assert_eq!(groups.len(), 1);
        let (fast, tree) = both(&state, &stored, Some(&groups));
        assert_eq!(fast, tree);
        assert!(fast.get("password").is_none());
        assert_eq!(fast["schemas"][1], ENTERPRISE_USER_SCHEMA);
        assert_eq!(fast["groups"][0]["display"], "Ops & Co");
        assert_eq!(fast["name"]["familyName"], "Jensen \"BJ\"");

        let stored = store.get(ResourceKind::Group, "g1", true).await.unwrap().unwrap();
        let (fast, tree) = both(&state, &stored, None);
        assert_eq!(fast, tree);
        assert_eq!(fast["members"][0]["$ref"], location(&state, ResourceKind::User, "u1"));
        assert_eq!(fast["meta"]["version"], etag(stored.version));
    }
}
