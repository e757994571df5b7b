//! Projection (RFC 7644 §3.4.2.5, RFC 7643 §7 `returned`): which attributes of a resource a
//! response carries.
//!
//! - `returned: always` (`id`) and `schemas` are always there;
//! - `returned: never` (`password`) never is;
//! - `returned: default` is there unless `excludedAttributes` names it, or `attributes` is given
//!   and names neither it nor one of its sub-attributes;
//! - `returned: request` is there only when `attributes` names it.
//!
//! The same rules apply one level down: `name.givenName` or `emails.value` select sub-attributes
//! within a complex value or within every value of a multi-valued complex attribute. A whole
//! extension URI (`urn:...:enterprise:2.0:User`) names all of its attributes.
//!
//! Giving both `attributes` and `excludedAttributes` is refused (RFC 7644 leaves it open).

use crate::error::{ScimError, ScimResult};
use crate::name::eq_ci;
use crate::path::AttrPath;
use crate::registry::SchemaRegistry;
use crate::schema::{AttributeDef, ResourceKind, Returned};
use serde_json::{Map, Value};

/// One resolved entry of `attributes` or `excludedAttributes`, in the schema's spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selector {
    /// The extension URI, for extension attributes; `None` for core and common attributes.
    ext: Option<String>,
    /// The attribute; `None` when the whole extension is named.
    attr: Option<String>,
    sub: Option<String>,
}

/// The `attributes` / `excludedAttributes` of one request, resolved against the schemas.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    attributes: Vec<Selector>,
    excluded: Vec<Selector>,
    /// With neither parameter, and no sub-attribute anywhere that is `returned: never` or
    /// `request`, the projection is the removal of these top-level attributes (extension URI,
    /// name): worked out once per schema registry, so that each resource of a page is not
    /// walked.
    default_hidden: Option<Hidden>,
}

/// Top-level attributes a default projection drops: (extension URI, or `None` for a core
/// attribute; name). Worked out once per schema registry and shared by every request's
/// projection (an `Arc`, not a copy per request).
pub type Hidden = std::sync::Arc<[(Option<String>, String)]>;

/// The top-level attributes a default projection drops, or `None` when it must do more
/// (a sub-attribute that is `returned: never` or `request` somewhere).
fn default_hidden(registry: &SchemaRegistry, kind: ResourceKind) -> Option<Hidden> {
    let hidden = |a: &AttributeDef| matches!(a.returned, Returned::Never | Returned::Request);
    let mut out = Vec::new();
    let mut schemas: Vec<(Option<String>, &crate::schema::Schema)> = vec![(None, registry.common())];
    if let Some(core) = registry.core_schema(kind) {
        schemas.push((None, core));
    }
    schemas.extend(registry.extensions(kind).into_iter().map(|e| (Some(e.id.clone()), e)));
    for (ext, schema) in schemas {
        for attr in &schema.attributes {
            if attr.sub_attributes.iter().any(hidden) {
                return None;
            }
            if hidden(attr) {
                out.push((ext.clone(), attr.name.clone()));
            }
        }
    }
    Some(out.into())
}

/// What a selector list says about one attribute.
enum Named<'s> {
    No,
    /// The attribute itself (or its whole extension).
    Whole,
    /// Only these sub-attributes.
    Subs(Vec<&'s str>),
}

fn named<'s>(list: &'s [Selector], ext: Option<&str>, attr: &str) -> Named<'s> {
    let mut subs = Vec::new();
    for s in list {
        let same_container = match (&s.ext, ext) {
            (None, None) => true,
            (Some(a), Some(b)) => eq_ci(a, b),
            _ => false,
        };
        if !same_container {
            continue;
        }
        match (&s.attr, &s.sub) {
            (None, _) => return Named::Whole,
            (Some(a), None) if eq_ci(a, attr) => return Named::Whole,
            (Some(a), Some(sub)) if eq_ci(a, attr) => subs.push(sub.as_str()),
            _ => {}
        }
    }
    if subs.is_empty() { Named::No } else { Named::Subs(subs) }
}

fn parse_list(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    text: &str,
    param: &str,
) -> ScimResult<Vec<Selector>> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let unknown = || ScimError::invalid_value(format!("unknown attribute \"{item}\" in {param}"));
        if let Some(ext) = registry.extension(kind, item) {
            out.push(Selector { ext: Some(ext.id.clone()), attr: None, sub: None });
            continue;
        }
        let path = AttrPath::parse(item).map_err(|_| unknown())?;
        let r = registry.resolve(kind, &path).map_err(|_| unknown())?;
        out.push(Selector {
            ext: r.is_extension.then(|| r.schema.id.clone()),
            attr: Some(r.attr.name.clone()),
            sub: r.sub.map(|s| s.name.clone()),
        });
    }
    Ok(out)
}

impl Projection {
    /// Parses the comma-separated `attributes` and `excludedAttributes` parameters. Unknown
    /// paths, and both parameters at once, are `invalidValue`.
    pub fn parse(
        registry: &SchemaRegistry,
        kind: ResourceKind,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> ScimResult<Self> {
        let attributes = match attributes {
            Some(a) => parse_list(registry, kind, a, "attributes")?,
            None => Vec::new(),
        };
        let excluded = match excluded {
            Some(e) => parse_list(registry, kind, e, "excludedAttributes")?,
            None => Vec::new(),
        };
        if !attributes.is_empty() && !excluded.is_empty() {
            return Err(ScimError::invalid_value(
                "\"attributes\" and \"excludedAttributes\" cannot be used together",
            ));
        }
        let default_hidden = if attributes.is_empty() && excluded.is_empty() {
            let both = registry.hidden_by_default.get_or_init(|| {
                [default_hidden(registry, ResourceKind::User), default_hidden(registry, ResourceKind::Group)]
            });
            both[match kind {
                ResourceKind::User => 0,
                ResourceKind::Group => 1,
            }]
            .clone()
        } else {
            None
        };
        Ok(Projection { attributes, excluded, default_hidden })
    }

    /// Under a default projection that drops whole top-level attributes only, those attributes
    /// (extension URI or `None`, name); `None` for any other projection.
    pub fn hidden_by_default(&self) -> Option<&[(Option<String>, String)]> {
        self.default_hidden.as_deref()
    }

    /// Whether the projection selects nothing beyond the `returned` defaults.
    pub fn is_default(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }

    /// Whether a response under this projection can show the core attribute `attr` (so that
    /// callers skip loading what would be projected away: a group's members, a user's groups).
    pub fn includes(&self, registry: &SchemaRegistry, kind: ResourceKind, attr: &str) -> bool {
        let def = registry
            .common()
            .attribute(attr)
            .or_else(|| registry.core_schema(kind).and_then(|c| c.attribute(attr)));
        let Some(def) = def else { return false };
        match def.returned {
            Returned::Never => false,
            Returned::Always => true,
            Returned::Default | Returned::Request => {
                if !self.attributes.is_empty() {
                    !matches!(named(&self.attributes, None, &def.name), Named::No)
                } else {
                    def.returned == Returned::Default
                        && !matches!(named(&self.excluded, None, &def.name), Named::Whole)
                }
            }
        }
    }

    /// Applies the projection and the `returned` characteristics to a full resource.
    pub fn apply(
        &self,
        registry: &SchemaRegistry,
        kind: ResourceKind,
        resource: Map<String, Value>,
    ) -> Map<String, Value> {
        if let Some(hidden) = &self.default_hidden {
            let mut resource = resource;
            for (ext, name) in hidden.iter() {
                let container = match ext {
                    None => Some(&mut resource),
                    Some(uri) => match resource.get_mut(uri.as_str()) {
                        Some(Value::Object(m)) => Some(m),
                        _ => None,
                    },
                };
                if let Some(c) = container {
                    let key = c.keys().find(|k| eq_ci(k, name)).cloned();
                    if let Some(k) = key {
                        c.shift_remove(&k);
                    }
                }
                if let Some(uri) = ext
                    && resource.get(uri.as_str()).is_some_and(|v| v.as_object().is_some_and(Map::is_empty))
                {
                    resource.shift_remove(uri.as_str());
                }
            }
            return resource;
        }
        let core = registry.core_schema(kind);
        let mut out = Map::new();
        for (key, value) in resource {
            if eq_ci(&key, "schemas") {
                out.insert(key, value);
                continue;
            }
            if let Some(ext) = registry.extension(kind, &key) {
                let Value::Object(obj) = value else { continue };
                let mut projected = Map::new();
                for (name, v) in obj {
                    let kept = match ext.attribute(&name) {
                        Some(def) => self.project_attr(def, Some(&ext.id), v),
                        None => self.project_unknown(Some(&ext.id), &name, v),
                    };
                    if let Some(v) = kept {
                        projected.insert(name, v);
                    }
                }
                if !projected.is_empty() {
                    out.insert(key, Value::Object(projected));
                }
                continue;
            }
            let def = registry.common().attribute(&key).or_else(|| core.and_then(|c| c.attribute(&key)));
            let kept = match def {
                Some(def) => self.project_attr(def, None, value),
                None => self.project_unknown(None, &key, value),
            };
            if let Some(v) = kept {
                out.insert(key, v);
            }
        }
        out
    }

    /// Data no schema defines (left by a schema change) is treated as `returned: default`.
    fn project_unknown(&self, ext: Option<&str>, name: &str, value: Value) -> Option<Value> {
        if !self.attributes.is_empty() {
            return matches!(named(&self.attributes, ext, name), Named::Whole).then_some(value);
        }
        (!matches!(named(&self.excluded, ext, name), Named::Whole)).then_some(value)
    }

    fn project_attr(&self, def: &AttributeDef, ext: Option<&str>, value: Value) -> Option<Value> {
        match def.returned {
            Returned::Never => None,
            Returned::Always => Some(strip_subs(def, value, &[], &[])),
            Returned::Default | Returned::Request => {
                if !self.attributes.is_empty() {
                    match named(&self.attributes, ext, &def.name) {
                        Named::No => None,
                        Named::Whole => Some(strip_subs(def, value, &[], &[])),
                        Named::Subs(subs) => keep_subs(def, value, &subs),
                    }
                } else if def.returned == Returned::Request {
                    None
                } else {
                    match named(&self.excluded, ext, &def.name) {
                        Named::Whole => None,
                        Named::No => Some(strip_subs(def, value, &[], &[])),
                        Named::Subs(subs) => non_empty(strip_subs(def, value, &subs, &[])),
                    }
                }
            }
        }
    }
}

/// Applies `f` to a complex value, or to each value of a multi-valued complex attribute.
fn map_objects(value: Value, f: &dyn Fn(Map<String, Value>) -> Map<String, Value>) -> Value {
    match value {
        Value::Object(o) => Value::Object(f(o)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| match v {
                    Value::Object(o) => Value::Object(f(o)),
                    other => other,
                })
                .filter(|v| !matches!(v, Value::Object(o) if o.is_empty()))
                .collect(),
        ),
        other => other,
    }
}

fn non_empty(v: Value) -> Option<Value> {
    match &v {
        Value::Object(o) if o.is_empty() => None,
        Value::Array(a) if a.is_empty() => None,
        _ => Some(v),
    }
}

/// Drops the sub-attributes that are `returned: never`, `request` (unless in `requested`), or
/// named in `excluded` (unless `always`).
fn strip_subs(def: &AttributeDef, value: Value, excluded: &[&str], requested: &[&str]) -> Value {
    // Nothing to strip: keep the value as it is rather than rebuild it (the common case).
    let all_default =
        def.sub_attributes.iter().all(|s| matches!(s.returned, Returned::Default | Returned::Always));
    if def.sub_attributes.is_empty() || (excluded.is_empty() && all_default) {
        return value;
    }
    map_objects(value, &|obj| {
        obj.into_iter()
            .filter(|(k, _)| match def.sub_attribute(k) {
                Some(sub) => match sub.returned {
                    Returned::Always => true,
                    Returned::Never => false,
                    Returned::Request => requested.iter().any(|r| eq_ci(r, k)),
                    Returned::Default => !excluded.iter().any(|e| eq_ci(e, k)),
                },
                None => !excluded.iter().any(|e| eq_ci(e, k)),
            })
            .collect()
    })
}

/// Keeps only the sub-attributes named (and those `returned: always`).
fn keep_subs(def: &AttributeDef, value: Value, subs: &[&str]) -> Option<Value> {
    let projected = map_objects(value, &|obj| {
        obj.into_iter()
            .filter(|(k, _)| {
                let sub = def.sub_attribute(k);
                match sub.map(|s| s.returned) {
                    Some(Returned::Never) => false,
                    Some(Returned::Always) => true,
                    _ => subs.iter().any(|s| eq_ci(s, k)),
                }
            })
            .collect()
    });
    non_empty(projected)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    fn reg() -> SchemaRegistry {
        SchemaRegistry::builtin().unwrap()
    }

    fn full() -> Map<String, Value> {
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "id": "2819c223",
            "externalId": "ext-1",
            "userName": "bjensen",
            "password": "hash",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "a@x", "type": "work", "primary": true}, {"value": "b@x", "type": "home"}],
            "meta": {"resourceType": "User", "version": "W/\"1\""},
            ENTERPRISE_USER_SCHEMA: {"employeeNumber": "7", "manager": {"value": "m", "displayName": "M"}}
        })
        .as_object()
        .unwrap()
        .clone()
    }

    /// The default projection's shortcut gives what the full walk gives (RFC 7643 §7: never
    /// returned attributes dropped, default ones kept), on a resource carrying a password and
    /// every kind of attribute.
    #[test]
    fn default_projection_shortcut_matches_the_full_walk() {
        let r = reg();
        let fast = Projection::parse(&r, ResourceKind::User, None, None).unwrap();
        assert!(fast.default_hidden.is_some());
        let slow = Projection { default_hidden: None, ..fast.clone() };
        let a = fast.apply(&r, ResourceKind::User, full());
        let b = slow.apply(&r, ResourceKind::User, full());
        assert_eq!(a, b);
        assert!(a.get("password").is_none());
        assert!(a.get("userName").is_some());
    }

    /// RFC 7644 §3.4.2.5: callers may skip loading what the projection would drop.
    #[test]
    fn includes_tells_whether_an_attribute_can_be_shown() {
        let r = reg();
        let p = |a: Option<&str>, e: Option<&str>| Projection::parse(&r, ResourceKind::Group, a, e).unwrap();
        assert!(p(None, None).includes(&r, ResourceKind::Group, "members"));
        assert!(!p(None, Some("members")).includes(&r, ResourceKind::Group, "members"));
        assert!(!p(Some("displayName"), None).includes(&r, ResourceKind::Group, "members"));
        assert!(p(Some("members.value"), None).includes(&r, ResourceKind::Group, "members"));
        assert!(p(Some("displayName"), None).includes(&r, ResourceKind::Group, "id"));
        let u = Projection::parse(&r, ResourceKind::User, None, None).unwrap();
        assert!(!u.includes(&r, ResourceKind::User, "password"));
        assert!(u.includes(&r, ResourceKind::User, "groups"));
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        let r = reg();
        let p = Projection::parse(&r, ResourceKind::User, attributes, excluded).unwrap();
        Value::Object(p.apply(&r, ResourceKind::User, full()))
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    /// RFC 7643 §7 `returned`: with no parameters, default attributes are returned and
    /// `never` ones (password) are not.
    #[test]
    fn default_projection_drops_never() {
        let v = project(None, None);
        assert_eq!(
            keys(&v),
            ["schemas", "id", "externalId", "userName", "name", "emails", "meta", ENTERPRISE_USER_SCHEMA]
        );
    }

    /// RFC 7644 §3.4.2.5: `attributes` returns the named attributes plus `returned: always`
    /// (id) and schemas; paths are case-insensitive.
    #[test]
    fn attributes_selects_named_plus_always() {
        let v = project(Some("USERNAME, password"), None);
        assert_eq!(
            v,
            json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "id": "2819c223", "userName": "bjensen"})
        );
    }

    /// RFC 7644 §3.4.2.5: sub-attribute paths select within complex and multi-valued values.
    #[test]
    fn attributes_selects_sub_attributes() {
        let v = project(Some("name.givenName,emails.value"), None);
        assert_eq!(v["name"], json!({"givenName": "Barbara"}));
        assert_eq!(v["emails"], json!([{"value": "a@x"}, {"value": "b@x"}]));
        assert!(v.get("userName").is_none());
    }

    /// RFC 7644 §3.4.2.5, §3.10: an extension attribute by its qualified path, or a whole
    /// extension by its URI.
    #[test]
    fn attributes_selects_extension() {
        let v =
            project(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"), None);
        assert_eq!(v[ENTERPRISE_USER_SCHEMA], json!({"manager": {"value": "m"}}));
        let v = project(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"), None);
        assert_eq!(v[ENTERPRISE_USER_SCHEMA], full()[ENTERPRISE_USER_SCHEMA]);
        assert_eq!(keys(&v), ["schemas", "id", ENTERPRISE_USER_SCHEMA]);
    }

    /// RFC 7644 §3.4.2.5: `excludedAttributes` removes default attributes but never `always`
    /// ones (id); sub-attributes can be excluded; an extension emptied is dropped.
    #[test]
    fn excluded_attributes() {
        let v = project(Some("").or(None), Some("id,name.familyName,emails,meta,externalId"));
        assert_eq!(v["id"], "2819c223");
        assert_eq!(v["name"], json!({"givenName": "Barbara"}));
        assert!(v.get("emails").is_none() && v.get("meta").is_none() && v.get("externalId").is_none());
        let v = project(None, Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
        assert!(v.get(ENTERPRISE_USER_SCHEMA).is_none());
        let v =
            project(None, Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"));
        assert_eq!(v[ENTERPRISE_USER_SCHEMA], json!({"manager": {"value": "m", "displayName": "M"}}));
    }

    /// RFC 7644 §3.4.2.5: unknown paths are answered 400 invalidValue naming them; both
    /// parameters at once are refused.
    #[test]
    fn parse_errors() {
        let r = reg();
        let e = Projection::parse(&r, ResourceKind::User, Some("userName,foo"), None).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains("\"foo\""), "{}", e.detail);
        let e = Projection::parse(&r, ResourceKind::Group, None, Some("name.bad")).unwrap_err();
        assert!(e.detail.contains("name.bad"), "{}", e.detail);
        let e = Projection::parse(&r, ResourceKind::User, Some("userName"), Some("emails")).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(Projection::parse(&r, ResourceKind::User, Some(""), Some("")).unwrap().is_default());
    }

    /// RFC 7643 §7: `returned: request` appears only when named in `attributes`.
    #[test]
    fn request_only_attributes() {
        let mut r = reg();
        let custom: crate::schema::Schema = serde_json::from_value(json!({"id": "urn:scim:wso2:schema", "name": "C", "attributes": [
            {"name": "secretish", "type": "string", "multiValued": false, "required": false, "mutability": "readWrite", "returned": "request"},
            {"name": "devices", "type": "string", "multiValued": true, "required": false, "mutability": "readWrite", "returned": "default"}
        ]}))
        .unwrap();
        r.add_extension(ResourceKind::User, custom, false).unwrap();
        let mut res = full();
        res.insert("urn:scim:wso2:schema".into(), json!({"secretish": "s", "devices": ["d1"]}));
        let p = Projection::parse(&r, ResourceKind::User, None, None).unwrap();
        assert_eq!(
            p.apply(&r, ResourceKind::User, res.clone())["urn:scim:wso2:schema"],
            json!({"devices": ["d1"]})
        );
        let p =
            Projection::parse(&r, ResourceKind::User, Some("urn:scim:wso2:schema:secretish"), None).unwrap();
        assert_eq!(p.apply(&r, ResourceKind::User, res)["urn:scim:wso2:schema"], json!({"secretish": "s"}));
    }
}
