//! Validation of a client's resource against the schemas (RFC 7643 §2, §3, §7; RFC 7644 §3.3,
//! §3.5.1): the resource comes back normalised, or a [`ScimError`] names what is wrong.
//!
//! Rules, in the order they apply:
//! - the body is a JSON object (else `invalidSyntax`);
//! - `schemas` is an array of strings holding the core schema; every URI in it is the core
//!   schema or an extension of the resource type (else `invalidValue` naming the URI). An
//!   extension object present but not listed is accepted and listed. The output lists the core
//!   schema first, then the extensions present, in the schema's spelling;
//! - names are case-insensitive; the output uses the schema's spelling. Extension attributes sit
//!   under their URI; a fully qualified top-level key (`urn:...:enterprise:2.0:User:department`,
//!   as Entra sends) is moved into its extension object. Unknown attributes: `invalidValue`
//!   naming them; a top-level key under a URI that is no schema of the resource type (an unknown
//!   extension, or the custom extension turned off): `invalidValue` naming the schema;
//! - values have their attribute's type (RFC 7643 §2.3). `"True"`/`"False"` strings are accepted
//!   for booleans. A lone value for a multi-valued attribute is wrapped into an array; an array
//!   for a singular one is refused. `null` and empty arrays and objects mean unassigned and are
//!   dropped (RFC 7643 §2.5);
//! - required attributes are present (sub-attributes only where their parent is);
//! - closed canonical sets (`canonical_only`) are enforced and spelled canonically;
//! - mutability (RFC 7644 §3.5.1): readOnly attributes of the core schema and the common
//!   attributes (`id`, `meta`, `groups`) are ignored, as are readOnly sub-attributes. readOnly
//!   attributes of an extension (the server-managed Enterprise attributes of DESIGN.md) are
//!   server-managed: a value a client sets is refused with `mutability` naming the attribute,
//!   except on replace a value equal to the stored one (a client echoing back what it read, as
//!   Okta does). On replace the stored values of these attributes are kept whatever the client
//!   sends (echoed, left out or `null`): a client can neither set nor clear them;
//!   An immutable attribute already set may not change on replace (`mutability`);
//! - at most one `primary: true` per multi-valued attribute (RFC 7643 §2.4).
//!
//! The output never holds `id` or `meta`: the caller sets them. writeOnly attributes (password)
//! are kept; the caller hashes and strips them.

use crate::error::{ScimError, ScimResult};
use crate::name::eq_ci;
use crate::registry::SchemaRegistry;
use crate::schema::{AttrType, AttributeDef, Mutability, ResourceKind, Schema};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What the write is.
#[derive(Debug, Clone, Copy)]
pub enum WriteMode<'a> {
    /// POST: no resource exists yet.
    Create,
    /// PUT: `existing` is the stored resource in normalised form (as [`validate`] returned it
    /// when it was written, with `id` and `meta` added), used for the immutable rule.
    Replace { existing: &'a Map<String, Value> },
}

/// Where an attribute sits, for error details and for the mutability rules.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    /// The extension URI, for extension attributes.
    ext: Option<&'a str>,
    /// The stored value of this attribute, on replace.
    existing: Option<&'a Value>,
    /// Whether this is a replace (so an unchanged readOnly extension value is tolerated).
    replace: bool,
}

fn qualified(ext: Option<&str>, name: &str) -> String {
    match ext {
        Some(uri) => format!("{uri}:{name}"),
        None => name.to_string(),
    }
}

/// Checks a client's resource and returns it normalised (see the module docs for the rules).
pub fn validate(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    body: Value,
    mode: WriteMode<'_>,
) -> ScimResult<Map<String, Value>> {
    let Value::Object(input) = body else {
        return Err(ScimError::invalid_syntax("the request body must be a JSON object"));
    };
    let core = registry
        .core_schema(kind)
        .ok_or_else(|| ScimError::invalid_value(format!("no schema for resource type {}", kind.name())))?;
    let existing = match mode {
        WriteMode::Create => None,
        WriteMode::Replace { existing } => Some(existing),
    };

    // Sort the input keys: schemas, core/common attributes, extension attributes.
    let mut declared: Option<Vec<String>> = None;
    let mut core_input: Vec<(&AttributeDef, Value)> = Vec::new();
    let mut ext_input: Vec<(&Schema, Vec<(String, Value)>)> = Vec::new();
    for (key, value) in input {
        if eq_ci(&key, "schemas") {
            declared = Some(parse_schemas(value)?);
            continue;
        }
        if let Some(ext) = registry.extension(kind, &key) {
            match value {
                Value::Null => {}
                Value::Object(obj) => ext_entry(&mut ext_input, ext).extend(obj),
                _ => return Err(ScimError::invalid_value(format!("\"{}\" must be a JSON object", ext.id))),
            }
            continue;
        }
        if let Some((ext, rest)) = registry.split_extension_key(kind, &key) {
            ext_entry(&mut ext_input, ext).push((rest.to_string(), value));
            continue;
        }
        let name = strip_core_prefix(&core.id, &key);
        let def = registry
            .common()
            .attribute(name)
            .or_else(|| core.attribute(name))
            .ok_or_else(|| unknown_key(registry, kind, &key, &value))?;
        core_input.push((def, value));
    }

    // schemas (RFC 7643 §3): present, holds the core schema, names only known schemas.
    let declared =
        declared.ok_or_else(|| ScimError::invalid_value("the \"schemas\" attribute is missing"))?;
    if !declared.iter().any(|u| eq_ci(u, &core.id)) {
        return Err(ScimError::invalid_value(format!("\"schemas\" must contain \"{}\"", core.id)));
    }
    if let Some(bad) = declared.iter().find(|u| !registry.is_schema_uri(kind, u)) {
        return Err(ScimError::invalid_value(format!(
            "unknown schema \"{bad}\" for resource type {}",
            kind.name()
        )));
    }

    let mut out = Map::new();
    out.insert("schemas".into(), Value::Array(vec![Value::String(core.id.clone())]));
    for (def, value) in core_input {
        // Core readOnly attributes (id, meta, groups) are ignored (RFC 7644 §3.5.1).
        if def.mutability == Mutability::ReadOnly {
            continue;
        }
        if out.contains_key(&def.name) {
            return Err(ScimError::invalid_value(format!("attribute \"{}\" is given twice", def.name)));
        }
        let ctx =
            Ctx { ext: None, existing: existing.and_then(|e| e.get(&def.name)), replace: existing.is_some() };
        if let Some(v) = check_attribute(def, value, ctx)? {
            out.insert(def.name.clone(), v);
        }
    }
    check_required(core, &out, None)?;

    let mut present_exts = Vec::new();
    for (ext, entries) in ext_input {
        let stored = existing.and_then(|e| e.get(&ext.id)).and_then(Value::as_object);
        let mut obj = Map::new();
        for (key, value) in entries {
            let def = ext.attribute(&key).ok_or_else(|| {
                ScimError::invalid_value(format!("unknown attribute \"{}\"", qualified(Some(&ext.id), &key)))
            })?;
            if obj.contains_key(&def.name) {
                return Err(ScimError::invalid_value(format!(
                    "attribute \"{}\" is given twice",
                    qualified(Some(&ext.id), &def.name)
                )));
            }
            let ctx = Ctx {
                ext: Some(&ext.id),
                existing: stored.and_then(|s| s.get(&def.name)),
                replace: existing.is_some(),
            };
            if let Some(v) = check_attribute(def, value, ctx)? {
                obj.insert(def.name.clone(), v);
            }
        }
        if !obj.is_empty() {
            check_required(ext, &obj, Some(&ext.id))?;
            present_exts.push(ext.id.clone());
            out.insert(ext.id.clone(), Value::Object(obj));
        }
    }
    // Extensions the resource type requires (RFC 7643 §6 `required`).
    if let Some(rt) = registry.resource_type(kind) {
        for req in rt.schema_extensions.iter().filter(|e| e.required) {
            if !present_exts.iter().any(|p| eq_ci(p, &req.schema)) {
                return Err(ScimError::invalid_value(format!(
                    "required extension \"{}\" is missing",
                    req.schema
                )));
            }
        }
    }
    if let Some(existing) = existing {
        keep_server_managed(registry, kind, existing, &mut out, &mut present_exts);
    }
    if let Some(Value::Array(list)) = out.get_mut("schemas") {
        list.extend(present_exts.into_iter().map(Value::String));
    }
    Ok(out)
}

/// The error for a top-level key that is no attribute: an unknown attribute, or a key under a
/// URI that is no schema of the resource type (named as a schema, so that a client using an
/// extension the server does not serve is told which).
fn unknown_key(registry: &SchemaRegistry, kind: ResourceKind, key: &str, value: &Value) -> ScimError {
    if key.contains(':') {
        // `urn:x:y` with an object is an extension object; `urn:x:y:attr` a qualified attribute.
        let schema = match key.rfind(':') {
            Some(i) if !value.is_object() || registry.is_schema_uri(kind, &key[..i]) => &key[..i],
            _ => key,
        };
        if !registry.is_schema_uri(kind, schema) && !eq_ci(schema, crate::schema::CORE_SCHEMA) {
            return ScimError::invalid_value(format!(
                "unknown schema \"{schema}\" for resource type {} (in \"{key}\")",
                kind.name()
            ));
        }
    }
    ScimError::invalid_value(format!("unknown attribute \"{key}\""))
}

/// On replace, the stored values of the server-managed (readOnly) extension attributes stay,
/// whether the client echoed them, left them out or sent `null`.
fn keep_server_managed(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    existing: &Map<String, Value>,
    out: &mut Map<String, Value>,
    present: &mut Vec<String>,
) {
    for ext in registry.extensions(kind) {
        let Some(stored) = existing.iter().find(|(k, _)| eq_ci(k, &ext.id)).and_then(|(_, v)| v.as_object())
        else {
            continue;
        };
        for def in ext.attributes.iter().filter(|a| a.mutability == Mutability::ReadOnly) {
            let Some(value) = stored.iter().find(|(k, _)| eq_ci(k, &def.name)).map(|(_, v)| v) else {
                continue;
            };
            if value.is_null() {
                continue;
            }
            let obj = out.entry(ext.id.clone()).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(obj) = obj {
                obj.entry(def.name.clone()).or_insert_with(|| value.clone());
            }
            if !present.iter().any(|p| eq_ci(p, &ext.id)) {
                present.push(ext.id.clone());
            }
        }
    }
}

fn ext_entry<'r, 's>(
    list: &'r mut Vec<(&'s Schema, Vec<(String, Value)>)>,
    ext: &'s Schema,
) -> &'r mut Vec<(String, Value)> {
    let i = match list.iter().position(|(s, _)| s.id == ext.id) {
        Some(i) => i,
        None => {
            list.push((ext, Vec::new()));
            list.len() - 1
        }
    };
    &mut list[i].1
}

fn strip_core_prefix<'k>(core_id: &str, key: &'k str) -> &'k str {
    let n = core_id.len();
    match (key.get(..n), key.get(n..).and_then(|r| r.strip_prefix(':'))) {
        (Some(head), Some(rest)) if eq_ci(head, core_id) && !rest.is_empty() => rest,
        _ => key,
    }
}

fn parse_schemas(value: Value) -> ScimResult<Vec<String>> {
    let not_list = || ScimError::invalid_value("\"schemas\" must be an array of schema URIs");
    let Value::Array(items) = value else { return Err(not_list()) };
    items
        .into_iter()
        .map(|v| match v {
            Value::String(s) => Ok(s),
            _ => Err(not_list()),
        })
        .collect()
}

fn check_required(schema: &Schema, obj: &Map<String, Value>, ext: Option<&str>) -> ScimResult<()> {
    match schema
        .attributes
        .iter()
        .find(|a| a.required && a.mutability != Mutability::ReadOnly && !obj.contains_key(&a.name))
    {
        Some(a) => Err(ScimError::invalid_value(format!(
            "required attribute \"{}\" is missing",
            qualified(ext, &a.name)
        ))),
        None => Ok(()),
    }
}

/// Checks one top-level attribute (of the core schema, the common attributes or an extension).
fn check_attribute(def: &AttributeDef, value: Value, ctx: Ctx<'_>) -> ScimResult<Option<Value>> {
    let path = qualified(ctx.ext, &def.name);
    let Some(v) = check_value(def, value, &path)? else { return Ok(None) };
    match def.mutability {
        // Only extension readOnly attributes reach here: the server-managed ones.
        Mutability::ReadOnly => {
            match ctx.existing.filter(|old| ctx.replace && values_equal(def, old, &v)) {
                // Sent back as stored: keep the stored value.
                Some(old) => Ok(Some(old.clone())),
                None => Err(ScimError::mutability(format!(
                    "attribute \"{path}\" is readOnly (server-managed): a client cannot set or change it"
                ))),
            }
        }
        Mutability::Immutable => match ctx.existing {
            Some(old) if !values_equal(def, old, &v) => {
                Err(ScimError::mutability(format!("attribute \"{path}\" is immutable and already set")))
            }
            _ => Ok(Some(v)),
        },
        Mutability::ReadWrite | Mutability::WriteOnly => {
            if let (Some(Value::Object(old)), Value::Object(new)) = (ctx.existing, &v) {
                check_immutable_subs(def, old, new, &path)?;
            }
            Ok(Some(v))
        }
    }
}

/// RFC 7644 §3.5.1: an immutable sub-attribute of a singular complex attribute, once set, may not
/// change. (Values of a multi-valued attribute have no identity, so they are not compared.)
fn check_immutable_subs(
    def: &AttributeDef,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    path: &str,
) -> ScimResult<()> {
    for sub in def.sub_attributes.iter().filter(|s| s.mutability == Mutability::Immutable) {
        if let (Some(o), Some(n)) = (old.get(&sub.name), new.get(&sub.name))
            && !values_equal(sub, o, n)
        {
            return Err(ScimError::mutability(format!(
                "attribute \"{path}.{}\" is immutable and already set",
                sub.name
            )));
        }
    }
    Ok(())
}

/// Equality under the attribute's `caseExact` (RFC 7643 §2.2).
fn values_equal(def: &AttributeDef, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if !def.is_case_exact() => eq_ci(x, y),
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| values_equal(def, x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs.iter().all(|(k, x)| {
                    ys.get(k).is_some_and(|y| match def.sub_attribute(k) {
                        Some(sub) => values_equal(sub, x, y),
                        None => x == y,
                    })
                })
        }
        _ => a == b,
    }
}

/// Checks a value against a definition: multi-valuedness, then each value's type.
fn check_value(def: &AttributeDef, value: Value, path: &str) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    if !def.multi_valued {
        if value.is_array() {
            return Err(ScimError::invalid_value(format!(
                "attribute \"{path}\" is single-valued, not an array"
            )));
        }
        return check_single(def, value, path);
    }
    let items = match value {
        Value::Array(items) => items,
        lone => vec![lone],
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if item.is_array() {
            return Err(ScimError::invalid_value(format!("attribute \"{path}\" holds a nested array")));
        }
        if let Some(v) = check_single(def, item, path)? {
            out.push(v);
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    let primaries = out.iter().filter(|v| v.get("primary") == Some(&Value::Bool(true))).count();
    if primaries > 1 {
        return Err(ScimError::invalid_value(format!(
            "attribute \"{path}\" has more than one primary value"
        )));
    }
    Ok(Some(Value::Array(out)))
}

fn type_error(path: &str, what: &str) -> ScimError {
    ScimError::invalid_value(format!("attribute \"{path}\" must be {what}"))
}

/// Checks one value of an attribute against its type (RFC 7643 §2.3).
fn check_single(def: &AttributeDef, value: Value, path: &str) -> ScimResult<Option<Value>> {
    let v = match (def.attr_type, value) {
        (_, Value::Null) => return Ok(None),
        (AttrType::String, Value::String(s)) => {
            if def.canonical_only {
                match def.canonical_values.iter().find(|c| eq_ci(c, &s)) {
                    Some(c) => Value::String(c.clone()),
                    None => {
                        return Err(ScimError::invalid_value(format!(
                            "attribute \"{path}\" must be one of {}, not \"{s}\"",
                            def.canonical_values.join(", ")
                        )));
                    }
                }
            } else {
                Value::String(s)
            }
        }
        (AttrType::String, _) => return Err(type_error(path, "a string")),
        (AttrType::Reference, Value::String(s)) => Value::String(s),
        (AttrType::Reference, _) => return Err(type_error(path, "a reference (a string)")),
        (AttrType::Boolean, Value::Bool(b)) => Value::Bool(b),
        (AttrType::Boolean, Value::String(s)) if eq_ci(&s, "true") => Value::Bool(true),
        (AttrType::Boolean, Value::String(s)) if eq_ci(&s, "false") => Value::Bool(false),
        (AttrType::Boolean, _) => return Err(type_error(path, "a boolean")),
        (AttrType::Decimal, Value::Number(n)) => Value::Number(n),
        (AttrType::Decimal, _) => return Err(type_error(path, "a decimal number")),
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Value::Number(n),
        (AttrType::Integer, _) => return Err(type_error(path, "an integer")),
        (AttrType::DateTime, Value::String(s)) if OffsetDateTime::parse(&s, &Rfc3339).is_ok() => {
            Value::String(s)
        }
        (AttrType::DateTime, _) => {
            return Err(type_error(path, "a dateTime (RFC 3339, e.g. 2008-01-23T04:56:22Z)"));
        }
        (AttrType::Binary, Value::String(s)) if is_base64(&s) => Value::String(s),
        (AttrType::Binary, _) => return Err(type_error(path, "base64-encoded binary")),
        (AttrType::Complex, Value::Object(obj)) => return check_complex(def, obj, path),
        (AttrType::Complex, _) => return Err(type_error(path, "a JSON object")),
    };
    Ok(Some(v))
}

fn check_complex(def: &AttributeDef, obj: Map<String, Value>, path: &str) -> ScimResult<Option<Value>> {
    let mut out = Map::new();
    for (key, value) in obj {
        let sub = def
            .sub_attribute(&key)
            .ok_or_else(|| ScimError::invalid_value(format!("unknown attribute \"{path}.{key}\"")))?;
        // readOnly sub-attributes are ignored (RFC 7644 §3.5.1), unless the whole attribute is
        // readOnly (server-managed): then the value is compared with the stored one, whole.
        if sub.mutability == Mutability::ReadOnly && def.mutability != Mutability::ReadOnly {
            continue;
        }
        if out.contains_key(&sub.name) {
            return Err(ScimError::invalid_value(format!(
                "attribute \"{path}.{}\" is given twice",
                sub.name
            )));
        }
        if let Some(v) = check_value(sub, value, &format!("{path}.{}", sub.name))? {
            out.insert(sub.name.clone(), v);
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    if let Some(missing) = def
        .sub_attributes
        .iter()
        .find(|s| s.required && s.mutability != Mutability::ReadOnly && !out.contains_key(&s.name))
    {
        return Err(ScimError::invalid_value(format!(
            "required attribute \"{path}.{}\" is missing",
            missing.name
        )));
    }
    Ok(Some(Value::Object(out)))
}

/// Whether `s` is base64 in the standard alphabet with padding (RFC 4648 §4, RFC 7643 §2.3.6).
fn is_base64(s: &str) -> bool {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return false;
    }
    let body_len = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    if body_len > 2 {
        return false;
    }
    let body = &bytes[..bytes.len() - body_len];
    body.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    fn reg() -> SchemaRegistry {
        SchemaRegistry::builtin().unwrap()
    }

    fn user(body: Value) -> ScimResult<Map<String, Value>> {
        validate(&reg(), ResourceKind::User, body, WriteMode::Create)
    }

    fn group(body: Value) -> ScimResult<Map<String, Value>> {
        validate(&reg(), ResourceKind::Group, body, WriteMode::Create)
    }

    fn err(r: ScimResult<Map<String, Value>>) -> (ScimType, String) {
        let e = r.unwrap_err();
        (e.scim_type.unwrap(), e.detail)
    }

    /// RFC 7644 §3.3: the body of a POST is a JSON object.
    #[test]
    fn body_must_be_object() {
        let (t, _) = err(user(json!(["x"])));
        assert_eq!(t, ScimType::InvalidSyntax);
    }

    /// RFC 7643 §3: `schemas` is required, holds the core schema, and only known URIs.
    #[test]
    fn schemas_rules() {
        let cases: &[(Value, &str)] = &[
            (json!({"userName": "kim"}), "\"schemas\" attribute is missing"),
            (json!({"schemas": USER_SCHEMA, "userName": "kim"}), "must be an array"),
            (json!({"schemas": [1], "userName": "kim"}), "must be an array"),
            (json!({"schemas": [GROUP_SCHEMA], "userName": "kim"}), USER_SCHEMA),
            (json!({"schemas": [USER_SCHEMA, "urn:x:y"], "userName": "kim"}), "unknown schema \"urn:x:y\""),
        ];
        for (body, want) in cases {
            let (t, d) = err(user(body.clone()));
            assert_eq!(t, ScimType::InvalidValue);
            assert!(d.contains(want), "{d}");
        }
    }

    /// RFC 7643 §2.1, §3: names and schema URIs are case-insensitive; the output uses the
    /// schema's spelling, lists the core schema first and adds an extension present but unlisted.
    #[test]
    fn names_are_normalised_to_schema_spelling() {
        let out = user(json!({
            "schemas": ["URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"],
            "USERNAME": "kim",
            "Name": {"GIVENNAME": "Kim"},
            "emails": [{"VALUE": "kim@example.com", "Primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "R&D"}
        }))
        .unwrap();
        assert_eq!(
            Value::Object(out),
            json!({
                "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "userName": "kim",
                "name": {"givenName": "Kim"},
                "emails": [{"value": "kim@example.com", "primary": true}],
                ENTERPRISE_USER_SCHEMA: {"department": "R&D"}
            })
        );
    }

    /// RFC 7643 §3.3: extension attributes sit under the extension URI; a fully qualified
    /// top-level key (as Entra ID sends) is moved there.
    #[test]
    fn qualified_extension_key_moves_into_extension_object() {
        let out = user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "kim",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": {"value": "m1"},
            "urn:ietf:params:scim:schemas:core:2.0:User:title": "Boss"
        }))
        .unwrap();
        assert_eq!(out["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
        assert_eq!(out[ENTERPRISE_USER_SCHEMA], json!({"employeeNumber": "7", "manager": {"value": "m1"}}));
        assert_eq!(out["title"], "Boss");
    }

    /// RFC 7643 §7: attributes no schema defines are refused, naming them.
    #[test]
    fn unknown_attributes_are_named() {
        let s = json!([USER_SCHEMA]);
        let cases: &[(Value, &str)] = &[
            (json!({"schemas": s, "userName": "k", "foo": 1}), "unknown attribute \"foo\""),
            (json!({"schemas": s, "userName": "k", "name": {"foo": "x"}}), "unknown attribute \"name.foo\""),
            (
                json!({"schemas": s, "userName": "k", ENTERPRISE_USER_SCHEMA: {"foo": 1}}),
                "unknown attribute \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:foo\"",
            ),
            (
                json!({"schemas": s, "userName": "k", "employeeNumber": "1"}),
                "unknown attribute \"employeeNumber\"",
            ),
        ];
        for (body, want) in cases {
            let (t, d) = err(user(body.clone()));
            assert_eq!(t, ScimType::InvalidValue);
            assert!(d.contains(want), "{d}");
        }
    }

    /// RFC 7643 §2.3: each value has its attribute's data type.
    #[test]
    fn type_errors_table() {
        let cases: &[(&str, Value)] = &[
            ("userName", json!(5)),
            ("active", json!("yes")),
            ("active", json!(1)),
            ("name", json!("Kim")),
            ("profileUrl", json!(true)),
            ("displayName", json!(["a"])),
            ("emails", json!([{"value": 5}])),
            ("emails", json!([["x"]])),
            ("x509Certificates", json!([{"value": "not base64!"}])),
            ("x509Certificates", json!([{"value": "abc"}])),
        ];
        for (attr, value) in cases {
            let mut body = json!({"schemas": [USER_SCHEMA], "userName": "kim"});
            body[*attr] = value.clone();
            if *attr == "userName" {
                body["userName"] = value.clone();
            }
            let (t, d) = err(user(body));
            assert_eq!(t, ScimType::InvalidValue, "{attr}");
            assert!(d.contains(attr), "{d}");
        }
    }

    /// RFC 7643 §2.3.5, §2.3.6, §2.3.4: dateTime is xsd:dateTime (RFC 3339), binary is base64,
    /// integers have no fraction.
    #[test]
    fn datetime_binary_integer_checks() {
        assert!(is_base64("TWFu"));
        assert!(is_base64("TWE="));
        assert!(is_base64("TQ=="));
        assert!(is_base64(""));
        assert!(!is_base64("TQ="));
        assert!(!is_base64("T==="));
        assert!(!is_base64("TW-u"));
        assert!(!is_base64("TW=u"));
        let dt = AttributeDef {
            name: "when".into(),
            attr_type: AttrType::DateTime,
            multi_valued: false,
            description: String::new(),
            required: false,
            canonical_values: vec![],
            case_exact: None,
            mutability: Mutability::ReadWrite,
            returned: crate::schema::Returned::Default,
            uniqueness: None,
            reference_types: vec![],
            sub_attributes: vec![],
            canonical_only: false,
        };
        assert!(check_single(&dt, json!("2008-01-23T04:56:22Z"), "when").unwrap().is_some());
        assert!(check_single(&dt, json!("2008-01-23T04:56:22.123+02:00"), "when").unwrap().is_some());
        assert!(check_single(&dt, json!("2008-01-23"), "when").is_err());
        let int = AttributeDef { attr_type: AttrType::Integer, ..dt.clone() };
        assert!(check_single(&int, json!(42), "n").unwrap().is_some());
        assert!(check_single(&int, json!(4.5), "n").is_err());
        let dec = AttributeDef { attr_type: AttrType::Decimal, ..dt };
        assert!(check_single(&dec, json!(4.5), "n").unwrap().is_some());
        assert!(check_single(&dec, json!("4.5"), "n").is_err());
    }

    /// RFC 7643 §2.3.2 (boolean): "True"/"False" strings, as Entra ID sends them, are converted.
    #[test]
    fn boolean_strings_are_converted() {
        let out = user(json!({"schemas": [USER_SCHEMA], "userName": "k", "active": "True",
            "emails": [{"value": "a@b", "primary": "FALSE"}]}))
        .unwrap();
        assert_eq!(out["active"], json!(true));
        assert_eq!(out["emails"][0]["primary"], json!(false));
    }

    /// RFC 7643 §2.5: null and empty arrays mean unassigned and are dropped; RFC 7643 §2.4: a
    /// lone value for a multi-valued attribute is wrapped into an array.
    #[test]
    fn null_empty_and_lone_values() {
        let out = user(json!({"schemas": [USER_SCHEMA], "userName": "k", "displayName": null,
            "phoneNumbers": [], "name": {"givenName": null}, "emails": {"value": "a@b"}, "roles": [null]}))
        .unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"schemas": [USER_SCHEMA], "userName": "k", "emails": [{"value": "a@b"}]})
        );
    }

    /// RFC 7643 §8.7.1 / §4.1.1, §4.2: userName (User) and displayName (Group) are required;
    /// members.value is required where a member is given.
    #[test]
    fn required_attributes() {
        let (t, d) = err(user(json!({"schemas": [USER_SCHEMA], "displayName": "x"})));
        assert_eq!((t, d.as_str()), (ScimType::InvalidValue, "required attribute \"userName\" is missing"));
        let (_, d) = err(group(json!({"schemas": [GROUP_SCHEMA]})));
        assert!(d.contains("\"displayName\""), "{d}");
        let (_, d) =
            err(group(json!({"schemas": [GROUP_SCHEMA], "displayName": "g", "members": [{"type": "User"}]})));
        assert!(d.contains("\"members.value\""), "{d}");
        let (_, d) = err(user(json!({"schemas": [USER_SCHEMA], "userName": null})));
        assert!(d.contains("userName"), "{d}");
    }

    /// RFC 7643 §8.7.1: members.type is one of User, Group (a closed set); spelled canonically.
    #[test]
    fn members_type_is_closed_set() {
        let out = group(json!({"schemas": [GROUP_SCHEMA], "displayName": "g",
            "members": [{"value": "1", "type": "user", "display": "Kim"}]}))
        .unwrap();
        assert_eq!(out["members"], json!([{"value": "1", "type": "User", "display": "Kim"}]));
        let (t, d) = err(group(json!({"schemas": [GROUP_SCHEMA], "displayName": "g",
            "members": [{"value": "1", "type": "Device"}]})));
        assert_eq!(t, ScimType::InvalidValue);
        assert!(d.contains("members.type"), "{d}");
        // emails.type's canonical values are only a suggestion.
        assert!(user(json!({"schemas": [USER_SCHEMA], "userName": "k", "emails": [{"value": "a", "type": "pager"}]})).is_ok());
    }

    /// RFC 7644 §3.5.1: readOnly core attributes (id, meta, groups) and readOnly sub-attributes
    /// sent by a client are ignored; writeOnly password is kept for the caller to hash.
    #[test]
    fn read_only_core_attributes_are_ignored() {
        let out = user(json!({"schemas": [USER_SCHEMA], "userName": "k", "id": "abc",
            "meta": {"resourceType": "User"}, "groups": [{"value": "g1"}], "password": "pw"}))
        .unwrap();
        assert_eq!(Value::Object(out), json!({"schemas": [USER_SCHEMA], "userName": "k", "password": "pw"}));
    }

    /// DESIGN.md ("Schemas that admins shape"), RFC 7644 §3.5.1: the server-managed Enterprise
    /// attributes are readOnly; a client that sets one gets `mutability` naming it.
    #[test]
    fn read_only_extension_attributes_are_refused_on_create() {
        let cases: &[(&str, Value)] = &[
            ("accountState", json!("LOCKED")),
            ("lastLoginTime", json!("2024-01-01T00:00:00Z")),
            ("lastPasswordUpdateTime", json!("2024-01-01T00:00:00Z")),
            ("lockedReason", json!("too many attempts")),
            ("isReadOnlyUser", json!(false)),
            ("pendingEmails", json!([{"value": "kim@example.com"}])),
            ("oneTimePassword", json!("123456")),
        ];
        for (attr, value) in cases {
            let body = json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "userName": "k",
                ENTERPRISE_USER_SCHEMA: {*attr: value}});
            let (t, d) = err(user(body));
            assert_eq!(t, ScimType::Mutability, "{attr}");
            assert!(d.contains(&format!("{ENTERPRISE_USER_SCHEMA}:{attr}")), "{d}");
            // Entra's fully qualified top-level key is the same attribute.
            let body = json!({"schemas": [USER_SCHEMA], "userName": "k",
                format!("{ENTERPRISE_USER_SCHEMA}:{attr}"): value});
            assert_eq!(err(user(body)).0, ScimType::Mutability, "{attr}");
        }
    }

    /// RFC 7644 §3.5.1 (readOnly on PUT), DESIGN.md: a replace that sends back the stored value
    /// (Okta echoes what it read), leaves it out or sends null keeps the stored value; one that
    /// changes or adds a value gets `mutability`.
    #[test]
    fn read_only_extension_attributes_on_replace_keep_the_stored_value() {
        let stored = json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "id": "1", "userName": "k",
            ENTERPRISE_USER_SCHEMA: {"department": "R&D", "accountState": "LOCKED",
                "pendingEmails": [{"value": "new@example.com"}], "isReadOnlyUser": false}});
        let existing = stored.as_object().unwrap();
        let replace = |ent: Value| {
            let mut body = json!({"schemas": [USER_SCHEMA], "userName": "k"});
            if !ent.is_null() {
                body[ENTERPRISE_USER_SCHEMA] = ent;
            }
            validate(&reg(), ResourceKind::User, body, WriteMode::Replace { existing })
        };
        let kept = json!({"accountState": "LOCKED", "pendingEmails": [{"value": "new@example.com"}],
            "isReadOnlyUser": false});
        // Echoed (in another case, with the string boolean Entra sends), left out, or null.
        for ent in [
            json!({"accountState": "locked", "pendingEmails": [{"value": "new@example.com"}], "isReadOnlyUser": "False"}),
            Value::Null,
            json!({"department": null, "accountState": null}),
        ] {
            let out = replace(ent.clone()).unwrap();
            let got = &out[ENTERPRISE_USER_SCHEMA];
            for (k, v) in kept.as_object().unwrap() {
                assert_eq!(&got[k], v, "{ent}: {k}");
            }
            assert!(got.get("department").is_none(), "a readWrite attribute left out is removed");
            assert_eq!(out["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
        }
        for (attr, value) in [
            ("accountState", json!("UNLOCKED")),
            ("pendingEmails", json!([{"value": "other@example.com"}])),
            ("isReadOnlyUser", json!(true)),
            ("lockedReason", json!("none")),
        ] {
            let (t, d) = err(replace(json!({attr: value})));
            assert_eq!(t, ScimType::Mutability, "{attr}");
            assert!(d.contains(attr), "{d}");
        }
    }

    /// RFC 7643 §3.3, RFC 7644 §3.3: an extension used in the body but left out of `schemas` is
    /// accepted and listed; a key under a URI that is no schema of the resource type is refused
    /// naming the schema; an attribute no schema defines is refused naming it.
    #[test]
    fn unknown_schemas_and_attributes_are_named() {
        let out = user(json!({"schemas": [USER_SCHEMA], "userName": "k",
            ENTERPRISE_USER_SCHEMA: {"department": "R&D"}}))
        .unwrap();
        assert_eq!(out["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
        let cases: &[(Value, &str)] = &[
            (
                json!({"schemas": [USER_SCHEMA], "userName": "k", "urn:scim:wso2:schema": {"devices": ["d1"]}}),
                "unknown schema \"urn:scim:wso2:schema\"",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "k", "urn:scim:wso2:schema:devices": ["d1"]}),
                "unknown schema \"urn:scim:wso2:schema\"",
            ),
            (
                json!({"schemas": [USER_SCHEMA, "urn:scim:wso2:schema"], "userName": "k"}),
                "unknown schema \"urn:scim:wso2:schema\"",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "k", format!("{USER_SCHEMA}:nickname2"): "x"}),
                "unknown attribute \"urn:ietf:params:scim:schemas:core:2.0:User:nickname2\"",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "k", format!("{ENTERPRISE_USER_SCHEMA}:colour"): "x"}),
                "unknown attribute \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:colour\"",
            ),
        ];
        for (body, want) in cases {
            let (t, d) = err(user(body.clone()));
            assert_eq!(t, ScimType::InvalidValue);
            assert!(d.contains(want), "{d}");
        }
    }

    /// RFC 7644 §3.5.1, RFC 7643 §7 (immutable): on replace an immutable attribute already set
    /// may not change; on create it may be set.
    #[test]
    fn immutable_sub_attribute_cannot_change_on_replace() {
        let mut r = reg();
        let custom: Schema = serde_json::from_value(json!({"id": "urn:scim:wso2:schema", "name": "C", "attributes": [
            {"name": "badge", "type": "string", "multiValued": false, "required": false, "mutability": "immutable", "returned": "default"},
            {"name": "card", "type": "complex", "multiValued": false, "required": false, "mutability": "readWrite", "returned": "default",
             "subAttributes": [{"name": "serial", "type": "string", "multiValued": false, "required": false, "mutability": "immutable", "returned": "default", "caseExact": true}]}
        ]}))
        .unwrap();
        r.add_extension(ResourceKind::User, custom, false).unwrap();
        let body = |badge: &str, serial: &str| {
            json!({"schemas": [USER_SCHEMA, "urn:scim:wso2:schema"], "userName": "k",
                "urn:scim:wso2:schema": {"badge": badge, "card": {"serial": serial}}})
        };
        let created = validate(&r, ResourceKind::User, body("B1", "S1"), WriteMode::Create).unwrap();
        let replace = WriteMode::Replace { existing: &created };
        assert!(validate(&r, ResourceKind::User, body("b1", "S1"), replace).is_ok(), "caseExact false");
        let (t, d) = err(validate(&r, ResourceKind::User, body("B2", "S1"), replace));
        assert_eq!(t, ScimType::Mutability);
        assert!(d.contains("urn:scim:wso2:schema:badge"), "{d}");
        let (t, d) = err(validate(&r, ResourceKind::User, body("B1", "s1"), replace));
        assert_eq!(t, ScimType::Mutability);
        assert!(d.contains("card.serial"), "{d}");
    }

    /// RFC 7643 §2.4: the primary attribute value true appears no more than once.
    #[test]
    fn at_most_one_primary() {
        let (t, d) = err(user(json!({"schemas": [USER_SCHEMA], "userName": "k",
            "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": "true"}]})));
        assert_eq!(t, ScimType::InvalidValue);
        assert!(d.contains("\"emails\""), "{d}");
    }

    fn with_custom() -> SchemaRegistry {
        let mut r = reg();
        let attrs = vec![
            crate::custom::parse_attribute(&json!({"name": "customAttribute"})).unwrap(),
            crate::custom::parse_attribute(&json!({"name": "devices", "multiValued": true})).unwrap(),
        ];
        r.add_extension(
            ResourceKind::User,
            crate::custom::custom_schema("urn:scim:wso2:schema", attrs),
            false,
        )
        .unwrap();
        r
    }

    /// DESIGN.md, fixtures/seed-user.json (RFC 7643 §8.2 style): once the custom attributes
    /// `customAttribute` (string) and `devices` (multi-valued string) are defined, it is accepted
    /// and normalised without loss; without them the custom part is refused, naming the schema.
    #[test]
    fn seed_user_round_trips() {
        let seed = json!({
          "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, "urn:scim:wso2:schema"],
          "userName": "kim",
          "password": "MyPa33w@rd",
          "name": { "givenName": "Kim", "familyName": "Berry" },
          "emails": [
            { "type": "home", "value": "kim@gmail.com", "primary": true },
            { "type": "work", "value": "kim@wso2.com" }
          ],
          "addresses": [
            { "type": "home", "value": "123 Main St, City, Country" },
            { "type": "work", "value": "456 Office Rd, City, Country" }
          ],
          "phoneNumbers": [
            { "type": "mobile", "value": "+1234567890" },
            { "type": "work", "value": "+0987654321" }
          ],
          ENTERPRISE_USER_SCHEMA: {
            "employeeNumber": "1234A",
            "division": "R&D",
            "manager": { "value": "Taylor", "displayName": "Taylor Smith" }
          },
          "urn:scim:wso2:schema": { "customAttribute": "customValue", "devices": ["d1", "d2"] }
        });
        let out = validate(&with_custom(), ResourceKind::User, seed.clone(), WriteMode::Create).unwrap();
        assert_eq!(Value::Object(out), seed);
        let (t, d) = err(user(seed));
        assert_eq!(t, ScimType::InvalidValue);
        assert!(d.contains("unknown schema \"urn:scim:wso2:schema\""), "{d}");
    }

    /// RFC 7643 §2.4, §3.3: a multi-valued simple custom attribute takes an array (a lone value
    /// is wrapped); its values have its type.
    #[test]
    fn multi_valued_simple_custom_attribute() {
        let r = with_custom();
        let out = validate(
            &r,
            ResourceKind::User,
            json!({"schemas": [USER_SCHEMA], "userName": "k",
            "urn:scim:wso2:schema:devices": "d1"}),
            WriteMode::Create,
        )
        .unwrap();
        assert_eq!(out["urn:scim:wso2:schema"], json!({"devices": ["d1"]}));
        assert_eq!(out["schemas"], json!([USER_SCHEMA, "urn:scim:wso2:schema"]));
        let e = validate(
            &r,
            ResourceKind::User,
            json!({"schemas": [USER_SCHEMA], "userName": "k",
            "urn:scim:wso2:schema": {"devices": [1]}}),
            WriteMode::Create,
        )
        .unwrap_err();
        assert!(e.detail.contains("urn:scim:wso2:schema:devices"), "{}", e.detail);
    }
}
