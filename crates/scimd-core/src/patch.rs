//! PATCH (RFC 7644 §3.5.2): a `PatchOp` request parsed into [`PatchOp`]s, and the operations
//! applied, in order, to a normalised resource. Pure: no I/O.
//!
//! The caller re-validates the result with
//! [`validate`](crate::validate::validate)`(.., WriteMode::Replace { existing })`, which enforces
//! types, required attributes, immutability and closed canonical sets, and converts the string
//! booleans Entra ID sends (`"True"`). This module enforces what `validate` cannot see once the
//! operations are folded into a resource: a write to a readOnly target, the removal of a required
//! attribute, `noTarget`, and the shape of each operation.
//!
//! # Semantics
//!
//! A path is `attrPath / valuePath [subAttr]` (RFC 7644 §3.5.2, Figure 7), bound to the schemas:
//! attribute names and schema URIs are case-insensitive, the result is in the schema's spelling.
//! A bare extension URI (`urn:...:enterprise:2.0:User`) names the whole extension object.
//!
//! `add` (§3.5.2.1):
//! - without a path, `value` is an object whose keys are paths (`"emails"`, Entra ID's
//!   `"name.givenName"` and `"urn:...:enterprise:2.0:User:employeeNumber"`), each added as if it
//!   were its own operation; core readOnly keys (`id`, `meta`, `groups`) are ignored;
//! - to a multi-valued attribute: the value (a lone value or an array) is appended, except
//!   values already there ("no changes SHOULD be made"): a complex value is already there when an
//!   existing value has every sub-attribute it gives, or, where `value` is immutable (group
//!   `members`), the same `value`;
//! - to a singular complex attribute: the sub-attributes given are set, the others kept;
//! - to a singular simple attribute or a sub-attribute: the value is set, the parent created;
//! - to a value path: each matching value gets the sub-attribute (or the sub-attributes of the
//!   object given); if none matches, a new value is added, made of the `eq` comparisons of the
//!   filter's `and`s (`emails[type eq "work"].value` adds `{"type": "work", "value": ...}`);
//! - a string for a complex attribute with a `value` sub-attribute means `{"value": s}` (Entra
//!   ID sets `manager` by a bare id).
//!
//! `replace` (§3.5.2.3): as `add`, except that a multi-valued attribute is replaced wholesale
//! (`[]` or `null` empties it), and a value path that matches nothing is `noTarget`. A value path
//! without a sub-attribute replaces each matching value whole.
//!
//! `remove` (§3.5.2.2): a path is required (`noTarget`); the attribute, sub-attribute or the
//! matching values are removed, and a multi-valued attribute left empty is unassigned. Removing
//! what is absent, or a value path that matches nothing, succeeds (so member removal is
//! idempotent). A `value` array with a multi-valued path (Entra ID:
//! `{"op":"Remove","path":"members","value":[{"value":"<id>"}]}`) removes just those values.
//! Removing a required attribute (`userName`) is `mutability`, as §3.5.2.2 says of "a required
//! attribute or a read-only attribute".
//!
//! RFC 7644 §3.5.2: setting `primary` to true on one value sets it to false on the others.
//!
//! # Errors
//!
//! `invalidSyntax` (not a PatchOp message), `invalidValue` (missing or misshapen `value`,
//! unknown `op`, unknown key in a path-less value), `invalidPath` (unparsable or unknown path),
//! `invalidFilter` (inside `[...]`), `noTarget`, `mutability`. Each detail starts with the
//! operation's number, counted from 1 in request order: `operation 2: attribute "id" is readOnly`.

use crate::error::{ScimError, ScimResult, ScimType};
use crate::filter::{self, CompValue, CompareOp, Filter, PatchPath};
use crate::name::eq_ci;
use crate::path::AttrPath;
use crate::registry::SchemaRegistry;
use crate::schema::{AttrType, AttributeDef, GROUP_SCHEMA, Mutability, ResourceKind, Schema};
use serde_json::{Map, Value};

/// The URI of the PatchOp message (RFC 7644 §3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// An operation's `op` (RFC 7644 §3.5.2). Clients' spelling varies (`"Replace"`); parsing is
/// case-insensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Remove,
    Replace,
}

impl OpKind {
    /// The op named `word`, without regard to case.
    pub fn from_keyword(word: &str) -> Option<OpKind> {
        [OpKind::Add, OpKind::Remove, OpKind::Replace].into_iter().find(|k| eq_ci(k.as_str(), word))
    }
    /// The keyword, lower-case, as RFC 7644 writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Add => "add",
            OpKind::Remove => "remove",
            OpKind::Replace => "replace",
        }
    }
}

/// One PATCH operation. From [`parse_request`], `path` is bound to the schemas and written in
/// their spelling (`attr.schema` is the extension URI for extension attributes, else `None`);
/// the filter inside `[...]` keeps the client's text.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// Parses a PatchOp request body (RFC 7644 §3.5.2) for a resource type: `schemas` holds
/// [`PATCH_OP_SCHEMA`], `Operations` is a non-empty array, each operation has an `op` (any
/// case), a `path` that binds to the schemas, and a `value` where the op needs one.
pub fn parse_request(registry: &SchemaRegistry, kind: ResourceKind, body: Value) -> ScimResult<Vec<PatchOp>> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax("the request body must be a PatchOp JSON object"));
    };
    let mut schemas = None;
    let mut operations = None;
    for (key, value) in body {
        if eq_ci(&key, "schemas") {
            schemas = Some(value);
        } else if eq_ci(&key, "Operations") {
            operations = Some(value);
        }
    }
    let has_schema = match &schemas {
        Some(Value::Array(items)) => {
            items.iter().any(|s| s.as_str().is_some_and(|s| eq_ci(s, PATCH_OP_SCHEMA)))
        }
        _ => false,
    };
    if !has_schema {
        return Err(ScimError::invalid_value(format!("\"schemas\" must contain \"{PATCH_OP_SCHEMA}\"")));
    }
    let items = match operations {
        Some(Value::Array(items)) => items,
        None => return Err(ScimError::invalid_syntax("the \"Operations\" attribute is missing")),
        Some(_) => return Err(ScimError::invalid_syntax("\"Operations\" must be an array")),
    };
    if items.is_empty() {
        return Err(ScimError::invalid_value("\"Operations\" must hold at least one operation"));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| parse_op(registry, kind, item).map_err(numbered(i)))
        .collect()
}

/// Prefixes an error's detail with the operation's number (from 1).
fn numbered(index: usize) -> impl Fn(ScimError) -> ScimError {
    move |e| ScimError { detail: format!("operation {}: {}", index + 1, e.detail), ..e }
}

fn parse_op(registry: &SchemaRegistry, kind: ResourceKind, item: Value) -> ScimResult<PatchOp> {
    let Value::Object(fields) = item else {
        return Err(ScimError::invalid_syntax("an operation must be a JSON object"));
    };
    let (mut op, mut path, mut value) = (None, None, None);
    for (key, v) in fields {
        if eq_ci(&key, "op") {
            op = Some(v);
        } else if eq_ci(&key, "path") {
            path = Some(v);
        } else if eq_ci(&key, "value") {
            value = Some(v);
        }
    }
    let op = match op {
        Some(Value::String(s)) => OpKind::from_keyword(s.trim()).ok_or_else(|| {
            ScimError::invalid_value(format!("unknown op \"{s}\" (expected add, remove or replace)"))
        })?,
        Some(_) => return Err(ScimError::invalid_value("\"op\" must be a string")),
        None => return Err(ScimError::invalid_value("\"op\" is missing")),
    };
    let path = match path {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(bind_path(registry, kind, &text)?),
        Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string")),
    };
    match (op, &path, &value) {
        (OpKind::Remove, None, _) => {
            return Err(ScimError::no_target("\"path\" is required for a remove operation"));
        }
        (OpKind::Add | OpKind::Replace, _, None) => {
            return Err(ScimError::invalid_value(format!("\"value\" is required for {}", op.as_str())));
        }
        (OpKind::Add | OpKind::Replace, None, Some(v)) if !v.is_object() => {
            return Err(ScimError::invalid_value(format!(
                "without a \"path\", the \"value\" of {} must be an object of attributes",
                op.as_str()
            )));
        }
        (OpKind::Add, Some(_), Some(Value::Null)) => {
            return Err(ScimError::invalid_value("\"value\" of add must not be null"));
        }
        _ => {}
    }
    Ok(PatchOp { op, path, value })
}

/// Parses a path and binds it; returns it in the schema's spelling.
fn bind_path(registry: &SchemaRegistry, kind: ResourceKind, text: &str) -> ScimResult<PatchPath> {
    let parsed = filter::parse_patch_path(text)?;
    let canonical = match resolve(registry, kind, &parsed)? {
        Target::Extension(_) => return Ok(parsed),
        Target::Attr { ext, attr, sub } => {
            let attr_path = AttrPath {
                schema: ext.map(str::to_string),
                attr: attr.name.clone(),
                sub: sub.map(|s| s.name.clone()),
            };
            PatchPath { attr: attr_path, filter: None, sub: None }
        }
        Target::Elements { ext, attr, filter, sub } => match filter {
            Some(_) => PatchPath {
                attr: AttrPath { schema: ext.map(str::to_string), attr: attr.name.clone(), sub: None },
                filter: parsed.filter.clone(),
                sub: sub.map(|s| s.name.clone()),
            },
            None => PatchPath {
                attr: AttrPath {
                    schema: ext.map(str::to_string),
                    attr: attr.name.clone(),
                    sub: sub.map(|s| s.name.clone()),
                },
                filter: None,
                sub: None,
            },
        },
    };
    Ok(canonical)
}

/// What a path points at, bound to its definitions.
#[derive(Clone, Copy)]
enum Target<'r, 'f> {
    /// A whole extension object (`urn:...:enterprise:2.0:User`).
    Extension(&'r Schema),
    /// An attribute, or a sub-attribute of a singular complex attribute.
    Attr { ext: Option<&'r str>, attr: &'r AttributeDef, sub: Option<&'r AttributeDef> },
    /// Values of a multi-valued complex attribute: those matching `filter` (all of them when
    /// there is none, as in `emails.display`), or their sub-attribute `sub`.
    Elements {
        ext: Option<&'r str>,
        attr: &'r AttributeDef,
        filter: Option<&'f Filter>,
        sub: Option<&'r AttributeDef>,
    },
}

impl Target<'_, '_> {
    /// The attribute's path in the schema's spelling, for error details.
    fn name(&self) -> String {
        let prefix = |ext: Option<&str>| ext.map(|u| format!("{u}:")).unwrap_or_default();
        match *self {
            Target::Extension(s) => s.id.clone(),
            Target::Attr { ext, attr, sub } => {
                format!(
                    "{}{}{}",
                    prefix(ext),
                    attr.name,
                    sub.map(|s| format!(".{}", s.name)).unwrap_or_default()
                )
            }
            Target::Elements { ext, attr, filter, sub } => format!(
                "{}{}{}{}",
                prefix(ext),
                attr.name,
                filter.map(|f| format!("[{f}]")).unwrap_or_default(),
                sub.map(|s| format!(".{}", s.name)).unwrap_or_default()
            ),
        }
    }
}

fn resolve<'r, 'f>(
    registry: &'r SchemaRegistry,
    kind: ResourceKind,
    path: &'f PatchPath,
) -> ScimResult<Target<'r, 'f>> {
    if path.filter.is_none()
        && path.sub.is_none()
        && path.attr.sub.is_none()
        && let Some(ext) = registry.extension(kind, &path.attr.to_string())
    {
        return Ok(Target::Extension(ext));
    }
    let resolved = registry.resolve(kind, &path.attr)?;
    let ext = resolved.is_extension.then_some(resolved.schema.id.as_str());
    let attr = resolved.attr;
    let multi_complex = attr.multi_valued && attr.attr_type == AttrType::Complex;
    match (&path.filter, resolved.sub) {
        (Some(f), _) => {
            if !multi_complex {
                return Err(ScimError::invalid_path(format!(
                    "\"{path}\": a value filter needs a multi-valued complex attribute, and \"{}\" is not one",
                    attr.name
                )));
            }
            filter::check_value_filter(f, attr)?;
            let sub = match &path.sub {
                None => None,
                Some(name) => Some(attr.sub_attribute(name).ok_or_else(|| {
                    ScimError::invalid_path(format!("unknown attribute \"{}.{name}\"", attr.name))
                })?),
            };
            Ok(Target::Elements { ext, attr, filter: Some(f), sub })
        }
        (None, Some(sub)) if attr.multi_valued => {
            Ok(Target::Elements { ext, attr, filter: None, sub: Some(sub) })
        }
        (None, sub) => Ok(Target::Attr { ext, attr, sub }),
    }
}

/// Applies `ops` in order to a normalised resource (as [`validate`](crate::validate::validate)
/// returns it, `id` and `meta` included or not) and returns the new resource; all or nothing.
/// Re-validate the result with `WriteMode::Replace`. See the module docs for the semantics.
pub fn apply(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    resource: Map<String, Value>,
    ops: &[PatchOp],
) -> ScimResult<Map<String, Value>> {
    let mut res = resource;
    let patcher = Patcher { registry, kind };
    for (i, op) in ops.iter().enumerate() {
        patcher.apply_one(&mut res, op).map_err(numbered(i))?;
    }
    patcher.tidy(&mut res);
    Ok(res)
}

struct Patcher<'r> {
    registry: &'r SchemaRegistry,
    kind: ResourceKind,
}

/// Whether a target came from the op's `path` or from a key of a path-less value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Path,
    ValueKey,
}

impl Patcher<'_> {
    fn apply_one(&self, res: &mut Map<String, Value>, op: &PatchOp) -> ScimResult<()> {
        match &op.path {
            Some(path) => {
                let target = resolve(self.registry, self.kind, path)?;
                self.apply_target(res, op.op, target, op.value.as_ref(), Origin::Path)
            }
            None => {
                if op.op == OpKind::Remove {
                    return Err(ScimError::no_target("\"path\" is required for a remove operation"));
                }
                let Some(Value::Object(attrs)) = &op.value else {
                    return Err(ScimError::invalid_value(format!(
                        "without a \"path\", the \"value\" of {} must be an object of attributes",
                        op.op.as_str()
                    )));
                };
                for (key, value) in attrs {
                    if eq_ci(key, "schemas") {
                        continue;
                    }
                    let unknown = |e: ScimError| match e.scim_type {
                        Some(ScimType::InvalidPath) => {
                            ScimError::invalid_value(format!("unknown attribute \"{key}\""))
                        }
                        _ => e,
                    };
                    let path = filter::parse_patch_path(key).map_err(unknown)?;
                    let target = resolve(self.registry, self.kind, &path).map_err(unknown)?;
                    self.apply_target(res, op.op, target, Some(value), Origin::ValueKey)?;
                }
                Ok(())
            }
        }
    }

    fn apply_target(
        &self,
        res: &mut Map<String, Value>,
        op: OpKind,
        target: Target<'_, '_>,
        value: Option<&Value>,
        origin: Origin,
    ) -> ScimResult<()> {
        // readOnly targets: a path naming one is `mutability`; core readOnly attributes in a
        // path-less value (Okta echoes `id`) are ignored, as on PUT (RFC 7644 §3.5.1).
        if let Some(def) = read_only_def(&target) {
            let core = match target {
                Target::Attr { ext, .. } | Target::Elements { ext, .. } => ext.is_none(),
                Target::Extension(_) => false,
            };
            if origin == Origin::ValueKey && core {
                return Ok(());
            }
            let unchanged = origin == Origin::ValueKey
                && op != OpKind::Remove
                && value.is_some_and(|v| self.current(res, &target).is_some_and(|c| same_value(def, c, v)));
            if unchanged {
                return Ok(());
            }
            return Err(ScimError::mutability(format!("attribute \"{}\" is readOnly", target.name())));
        }
        let name = target.name();
        match (op, value) {
            (OpKind::Remove, _) => self.remove(res, target, value),
            (OpKind::Add, None | Some(Value::Null)) => {
                Err(ScimError::invalid_value(format!("\"value\" is required to add \"{name}\"")))
            }
            (OpKind::Replace, None) => {
                Err(ScimError::invalid_value(format!("\"value\" is required to replace \"{name}\"")))
            }
            // RFC 7643 §2.5: null is unassigned; replacing with null removes.
            (OpKind::Replace, Some(Value::Null)) => self.remove(res, target, None),
            (OpKind::Add | OpKind::Replace, Some(v)) => self.set(res, op, target, v, origin),
        }
    }

    /// The current value at a plain target, for the "sent back unchanged" test.
    fn current<'m>(&self, res: &'m Map<String, Value>, target: &Target<'_, '_>) -> Option<&'m Value> {
        let Target::Attr { ext, attr, sub } = *target else { return None };
        let container = match ext {
            Some(uri) => get_ci(res, uri)?.as_object()?,
            None => res,
        };
        let v = get_ci(container, &attr.name)?;
        match sub {
            Some(sub) => get_ci(v.as_object()?, &sub.name),
            None => Some(v),
        }
    }

    fn set(
        &self,
        res: &mut Map<String, Value>,
        op: OpKind,
        target: Target<'_, '_>,
        value: &Value,
        origin: Origin,
    ) -> ScimResult<()> {
        let name = target.name();
        match target {
            Target::Extension(schema) => {
                let Value::Object(attrs) = value else {
                    return Err(ScimError::invalid_value(format!("\"{}\" must be a JSON object", schema.id)));
                };
                // Some clients send the extension object with its own `schemas` list inside; it
                // says nothing the path does not.
                for (key, v) in attrs.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("schemas")) {
                    let path = AttrPath::parse(key)
                        .ok()
                        .filter(|p| p.schema.is_none())
                        .map(|p| AttrPath { schema: Some(schema.id.clone()), ..p });
                    let resolved = path.and_then(|p| self.registry.resolve(self.kind, &p).ok());
                    let Some(resolved) = resolved else {
                        return Err(ScimError::invalid_value(format!(
                            "unknown attribute \"{}:{key}\"",
                            schema.id
                        )));
                    };
                    let inner = match resolved.sub {
                        Some(sub) if resolved.attr.multi_valued => Target::Elements {
                            ext: Some(&schema.id),
                            attr: resolved.attr,
                            filter: None,
                            sub: Some(sub),
                        },
                        sub => Target::Attr { ext: Some(&schema.id), attr: resolved.attr, sub },
                    };
                    let origin = if origin == Origin::Path { Origin::ValueKey } else { origin };
                    self.apply_target(res, op, inner, Some(v), origin)?;
                }
                Ok(())
            }
            Target::Attr { ext, attr, sub: None } => {
                let container = container(res, ext, true).ok_or_else(|| not_object(ext))?;
                let key = key_ci(container, &attr.name);
                let current = container.remove(&key);
                let new = normalize(attr, value.clone());
                let out = if attr.multi_valued {
                    let items = match new {
                        Value::Array(items) => items,
                        lone => vec![lone],
                    };
                    let mut list = match (op, current) {
                        (OpKind::Add, Some(Value::Array(list))) => list,
                        (OpKind::Add, Some(Value::Null) | None) => Vec::new(),
                        (OpKind::Add, Some(lone)) => vec![lone],
                        _ => Vec::new(),
                    };
                    let mut touched = Vec::new();
                    for item in items.into_iter().filter(|i| !i.is_null()) {
                        if op == OpKind::Add && list.iter().any(|e| same_element(attr, e, &item)) {
                            continue;
                        }
                        touched.push(list.len());
                        list.push(item);
                    }
                    fix_primary(&mut list, &touched);
                    (!list.is_empty()).then_some(Value::Array(list))
                } else if attr.attr_type == AttrType::Complex {
                    match (current, new) {
                        (Some(Value::Object(mut old)), Value::Object(new)) => {
                            merge(&mut old, attr, new);
                            Some(Value::Object(old))
                        }
                        (_, Value::Object(new)) => {
                            let mut obj = Map::new();
                            merge(&mut obj, attr, new);
                            Some(Value::Object(obj))
                        }
                        (_, other) => Some(other),
                    }
                } else {
                    if let Some(old) = &current {
                        check_immutable(attr, old, &new, &name)?;
                    }
                    Some(new)
                };
                if let Some(v) = out.filter(|v| !is_empty(v)) {
                    container.insert(attr.name.clone(), v);
                } else if attr.required {
                    return Err(required(&name));
                }
                Ok(())
            }
            Target::Attr { ext, attr, sub: Some(sub) } => {
                let container = container(res, ext, true).ok_or_else(|| not_object(ext))?;
                let key = key_ci(container, &attr.name);
                let mut obj = match container.remove(&key) {
                    Some(Value::Object(obj)) => obj,
                    _ => Map::new(),
                };
                let new = normalize(sub, value.clone());
                let sub_key = key_ci(&obj, &sub.name);
                if let Some(old) = obj.remove(&sub_key) {
                    check_immutable(sub, &old, &new, &name)?;
                }
                obj.insert(sub.name.clone(), new);
                container.insert(attr.name.clone(), Value::Object(obj));
                Ok(())
            }
            Target::Elements { ext, attr, filter, sub } => {
                let container = container(res, ext, true).ok_or_else(|| not_object(ext))?;
                let key = key_ci(container, &attr.name);
                let mut list = match container.remove(&key) {
                    Some(Value::Array(list)) => list,
                    Some(Value::Null) | None => Vec::new(),
                    Some(lone) => vec![lone],
                };
                let matches = matching(&list, attr, filter);
                let new = match sub {
                    Some(sub) => normalize(sub, value.clone()),
                    None => normalize_element(attr, value.clone()),
                };
                if sub.is_none() && !new.is_object() {
                    return Err(ScimError::invalid_value(format!(
                        "the value for \"{name}\" must be a JSON object"
                    )));
                }
                let touched = if matches.is_empty() {
                    if op == OpKind::Replace && filter.is_some() {
                        return Err(ScimError::no_target(format!(
                            "no value of \"{}\" matches \"{name}\"",
                            attr.name
                        )));
                    }
                    let mut element = filter.map(|f| element_from_filter(attr, f)).unwrap_or_default();
                    match (sub, new) {
                        (Some(sub), v) => {
                            element.insert(sub.name.clone(), v);
                        }
                        (None, Value::Object(obj)) => merge(&mut element, attr, obj),
                        (None, _) => {}
                    }
                    list.push(Value::Object(element));
                    vec![list.len() - 1]
                } else {
                    for &i in &matches {
                        let Some(elem) = list.get_mut(i) else { continue };
                        match (sub, op) {
                            (Some(sub), _) => {
                                let Value::Object(obj) = elem else { continue };
                                let sub_key = key_ci(obj, &sub.name);
                                if let Some(old) = obj.remove(&sub_key) {
                                    check_immutable(sub, &old, &new, &name)?;
                                }
                                obj.insert(sub.name.clone(), new.clone());
                            }
                            (None, OpKind::Replace) => *elem = new.clone(),
                            (None, _) => {
                                if let (Value::Object(obj), Value::Object(add)) = (elem, &new) {
                                    merge(obj, attr, add.clone());
                                }
                            }
                        }
                    }
                    matches
                };
                fix_primary(&mut list, &touched);
                container.insert(attr.name.clone(), Value::Array(list));
                Ok(())
            }
        }
    }

    fn remove(
        &self,
        res: &mut Map<String, Value>,
        target: Target<'_, '_>,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        let name = target.name();
        match target {
            Target::Extension(schema) => {
                if let Some(Value::Object(obj)) = get_ci_mut(res, &schema.id) {
                    // Server-managed (readOnly) attributes stay; the client's go.
                    obj.retain(|k, _| {
                        schema.attribute(k).is_some_and(|a| a.mutability == Mutability::ReadOnly)
                    });
                }
                Ok(())
            }
            Target::Attr { ext, attr, sub: None } => {
                let Some(container) = container(res, ext, false) else { return Ok(()) };
                let key = key_ci(container, &attr.name);
                let selected = value.filter(|v| attr.multi_valued && !v.is_null());
                match (selected, container.get_mut(&key)) {
                    (Some(given), Some(Value::Array(list))) => {
                        let given = match normalize(attr, given.clone()) {
                            Value::Array(items) => items,
                            lone => vec![lone],
                        };
                        list.retain(|e| !given.iter().any(|g| same_element(attr, e, g)));
                        if list.is_empty() {
                            if attr.required {
                                return Err(required(&name));
                            }
                            container.remove(&key);
                        }
                    }
                    (Some(_), _) => {}
                    (None, _) => {
                        if attr.required {
                            return Err(required(&name));
                        }
                        container.remove(&key);
                    }
                }
                Ok(())
            }
            Target::Attr { ext, attr, sub: Some(sub) } => {
                if sub.required {
                    return Err(required(&name));
                }
                let Some(container) = container(res, ext, false) else { return Ok(()) };
                let key = key_ci(container, &attr.name);
                if let Some(Value::Object(obj)) = container.get_mut(&key) {
                    let sub_key = key_ci(obj, &sub.name);
                    obj.remove(&sub_key);
                    if obj.values().all(Value::is_null) {
                        container.remove(&key);
                    }
                }
                Ok(())
            }
            Target::Elements { ext, attr, filter, sub } => {
                if sub.is_some_and(|s| s.required) {
                    return Err(required(&name));
                }
                let Some(container) = container(res, ext, false) else { return Ok(()) };
                let key = key_ci(container, &attr.name);
                let Some(Value::Array(list)) = container.get_mut(&key) else { return Ok(()) };
                let matches = matching(list, attr, filter);
                match sub {
                    None => {
                        let mut i = 0;
                        list.retain(|_| {
                            let keep = !matches.contains(&i);
                            i += 1;
                            keep
                        });
                    }
                    Some(sub) => {
                        for &i in &matches {
                            if let Some(Value::Object(obj)) = list.get_mut(i) {
                                let sub_key = key_ci(obj, &sub.name);
                                obj.remove(&sub_key);
                            }
                        }
                        list.retain(|e| !e.as_object().is_some_and(|o| o.values().all(Value::is_null)));
                    }
                }
                if list.is_empty() {
                    if attr.required {
                        return Err(required(&name));
                    }
                    container.remove(&key);
                }
                Ok(())
            }
        }
    }

    /// Drops extension objects left empty and lists in `schemas` the extensions present.
    fn tidy(&self, res: &mut Map<String, Value>) {
        let exts = self.registry.extensions(self.kind);
        let mut present = Vec::new();
        for ext in &exts {
            let key = key_ci(res, &ext.id);
            match res.get(&key) {
                Some(Value::Object(obj)) if !obj.is_empty() => present.push(ext.id.clone()),
                Some(Value::Object(_)) => {
                    res.remove(&key);
                }
                _ => {}
            }
        }
        if let Some(Value::Array(schemas)) = get_ci_mut(res, "schemas") {
            schemas.retain(|s| {
                s.as_str().is_none_or(|s| {
                    !exts.iter().any(|e| eq_ci(&e.id, s)) || present.iter().any(|p| eq_ci(p, s))
                })
            });
            for p in present {
                if !schemas.iter().any(|s| s.as_str().is_some_and(|s| eq_ci(s, &p))) {
                    schemas.push(Value::String(p));
                }
            }
        }
    }
}

/// The readOnly definition a target writes to, if any: the attribute, or its sub-attribute.
fn read_only_def<'r>(target: &Target<'r, '_>) -> Option<&'r AttributeDef> {
    let (attr, sub) = match *target {
        Target::Extension(_) => return None,
        Target::Attr { attr, sub, .. } | Target::Elements { attr, sub, .. } => (attr, sub),
    };
    [Some(attr), sub].into_iter().flatten().find(|d| d.mutability == Mutability::ReadOnly)
}

fn required(name: &str) -> ScimError {
    ScimError::mutability(format!("attribute \"{name}\" is required and cannot be removed"))
}

fn not_object(ext: Option<&str>) -> ScimError {
    ScimError::invalid_value(format!("\"{}\" must be a JSON object", ext.unwrap_or("resource")))
}

/// RFC 7644 §3.5.1, RFC 7643 §7: an immutable attribute already set may not change.
fn check_immutable(def: &AttributeDef, old: &Value, new: &Value, name: &str) -> ScimResult<()> {
    if def.mutability == Mutability::Immutable && !old.is_null() && !same_value(def, old, new) {
        return Err(ScimError::mutability(format!("attribute \"{name}\" is immutable and already set")));
    }
    Ok(())
}

/// The extension object (created if asked) or the resource itself.
fn container<'m>(
    res: &'m mut Map<String, Value>,
    ext: Option<&str>,
    create: bool,
) -> Option<&'m mut Map<String, Value>> {
    let Some(uri) = ext else { return Some(res) };
    let key = key_ci(res, uri);
    if !res.contains_key(&key) {
        if !create {
            return None;
        }
        res.insert(uri.to_string(), Value::Object(Map::new()));
    }
    res.get_mut(&key).and_then(Value::as_object_mut)
}

/// The key of `map` equal to `name` without regard to case, or `name` itself.
fn key_ci(map: &Map<String, Value>, name: &str) -> String {
    if map.contains_key(name) {
        return name.to_string();
    }
    map.keys().find(|k| eq_ci(k, name)).cloned().unwrap_or_else(|| name.to_string())
}

fn get_ci<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    map.get(&key_ci(map, name))
}

fn get_ci_mut<'m>(map: &'m mut Map<String, Value>, name: &str) -> Option<&'m mut Value> {
    let key = key_ci(map, name);
    map.get_mut(&key)
}

/// A client value in the schema's spelling: sub-attribute keys renamed; a string for a complex
/// attribute with a `value` sub-attribute becomes `{"value": s}`. Elements of an array likewise.
fn normalize(def: &AttributeDef, value: Value) -> Value {
    match value {
        Value::Array(items) if def.multi_valued => {
            Value::Array(items.into_iter().map(|v| normalize_element(def, v)).collect())
        }
        other => normalize_element(def, other),
    }
}

fn normalize_element(def: &AttributeDef, value: Value) -> Value {
    if def.attr_type != AttrType::Complex {
        return value;
    }
    match value {
        Value::Object(obj) => Value::Object(
            obj.into_iter()
                .map(|(k, v)| match def.sub_attribute(&k) {
                    Some(sub) => (sub.name.clone(), v),
                    None => (k, v),
                })
                .collect(),
        ),
        Value::String(s) => match def.sub_attribute("value") {
            Some(value_def) => {
                let mut obj = Map::new();
                obj.insert(value_def.name.clone(), Value::String(s));
                Value::Object(obj)
            }
            None => Value::String(s),
        },
        other => other,
    }
}

/// Sets the sub-attributes of `new` (already normalised) on `obj`; `null` removes one.
fn merge(obj: &mut Map<String, Value>, def: &AttributeDef, new: Map<String, Value>) {
    for (k, v) in new {
        let name = def.sub_attribute(&k).map_or(k, |s| s.name.clone());
        let key = key_ci(obj, &name);
        obj.remove(&key);
        if !v.is_null() {
            obj.insert(name, v);
        }
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(obj) => obj.is_empty(),
        _ => false,
    }
}

/// The indices of the values of a multi-valued complex attribute that match `filter` (all of
/// them without a filter).
fn matching(list: &[Value], attr: &AttributeDef, filter: Option<&Filter>) -> Vec<usize> {
    list.iter()
        .enumerate()
        .filter(|(_, e)| filter.is_none_or(|f| filter::evaluate_value_filter(f, attr, e)))
        .map(|(i, _)| i)
        .collect()
}

/// The value an `add` to an unmatched value path creates: the `eq` comparisons of the filter's
/// top-level `and`s (`type eq "work"` gives `{"type": "work"}`).
fn element_from_filter(attr: &AttributeDef, filter: &Filter) -> Map<String, Value> {
    let mut out = Map::new();
    let mut stack = vec![filter];
    while let Some(f) = stack.pop() {
        match f {
            Filter::And(l, r) => {
                stack.push(r);
                stack.push(l);
            }
            Filter::Compare { path, op: CompareOp::Eq, value, .. }
                if path.schema.is_none() && path.sub.is_none() =>
            {
                let Some(sub) = attr.sub_attribute(&path.attr) else { continue };
                let v = match value {
                    CompValue::Str(s) => Value::String(s.clone()),
                    CompValue::Num(n) => Value::Number(n.clone()),
                    CompValue::Bool(b) => Value::Bool(*b),
                    CompValue::Null => continue,
                };
                out.insert(sub.name.clone(), v);
            }
            _ => {}
        }
    }
    out
}

/// Whether a value is `true` or Entra ID's `"True"`.
fn is_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => eq_ci(s, "true"),
        _ => false,
    }
}

/// RFC 7644 §3.5.2: a value newly made primary makes every other value non-primary.
fn fix_primary(list: &mut [Value], touched: &[usize]) {
    let primary = |v: &Value| v.as_object().and_then(|o| get_ci(o, "primary")).is_some_and(is_true);
    let Some(&winner) = touched.iter().rev().find(|&&i| list.get(i).is_some_and(primary)) else { return };
    for (i, v) in list.iter_mut().enumerate() {
        if i == winner {
            continue;
        }
        if let Some(obj) = v.as_object_mut()
            && obj.get("primary").is_some_and(is_true)
        {
            obj.insert("primary".into(), Value::Bool(false));
        }
    }
}

/// Equality under the attribute's type and `caseExact` (RFC 7643 §2.2); `"True"` equals `true`.
fn same_value(def: &AttributeDef, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if !def.is_case_exact() => eq_ci(x, y),
        (Value::Bool(x), Value::String(_)) | (Value::String(_), Value::Bool(x))
            if def.attr_type == AttrType::Boolean =>
        {
            let s = if a.is_string() { a } else { b };
            is_true(s) == *x && s.as_str().is_some_and(|t| eq_ci(t, "true") || eq_ci(t, "false"))
        }
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same_value(def, x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs.iter().all(|(k, x)| {
                    get_ci(ys, k).is_some_and(|y| match def.sub_attribute(k) {
                        Some(sub) => same_value(sub, x, y),
                        None => x == y,
                    })
                })
        }
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Whether the value `new` of a multi-valued attribute is already there as `existing`: a simple
/// value equal to it; a complex value whose every given sub-attribute `existing` has, or, when
/// `value` is immutable (an identifier, as in group `members`), the same `value`.
fn same_element(attr: &AttributeDef, existing: &Value, new: &Value) -> bool {
    if attr.attr_type != AttrType::Complex {
        return same_value(attr, existing, new);
    }
    let (Some(old), Some(given)) = (existing.as_object(), new.as_object()) else {
        return same_value(attr, existing, new);
    };
    if let Some(value_def) = attr.sub_attribute("value").filter(|d| d.mutability == Mutability::Immutable)
        && let (Some(a), Some(b)) = (get_ci(old, &value_def.name), get_ci(given, &value_def.name))
    {
        return same_value(value_def, a, b);
    }
    let given: Vec<_> = given.iter().filter(|(_, v)| !v.is_null()).collect();
    !given.is_empty()
        && given.iter().all(|(k, v)| {
            get_ci(old, k).is_some_and(|o| match attr.sub_attribute(k) {
                Some(sub) => same_value(sub, o, v),
                None => o == *v,
            })
        })
}

/// Group member operations split out of a PATCH request, so that a server can apply them to a
/// large group without loading its members (RFC 7644 §3.5.2 on a group; see [`member_changes`]).
///
/// The changes are already folded in request order, and are applied as:
/// 1. if `clear`: delete every member;
/// 2. if `replace_with` is `Some(list)`: the members become exactly `list` (the store diffs it);
/// 3. delete the members whose ids are in `remove`;
/// 4. insert the members in `add` that are not members already (each has a string `value`);
/// 5. apply `rest` (the operations that do not touch `members`) with [`apply`] to the group
///    without its members, then re-validate.
///
/// Invariants: `clear` and `replace_with` are never both set; when either is, `remove` is empty
/// (everything was removed), and with `replace_with` `add` is empty too (later adds are folded
/// into the list); an id is never in both `add` and `remove`. Ids compare without regard to case
/// (`members.value` is not caseExact).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MemberChanges {
    /// Member objects to add (`{"value": id, ...}`), in the schema's spelling, one per id.
    pub add: Vec<Value>,
    /// Member ids to remove.
    pub remove: Vec<String>,
    /// Whether every member is removed first (`replace` of `members` with `[]`, or `remove` of
    /// path `members` without a value).
    pub clear: bool,
    /// The new member list of a `replace` of `members` with a non-empty list.
    pub replace_with: Option<Vec<Value>>,
    /// The operations that do not touch `members`, in request order.
    pub rest: Vec<PatchOp>,
}

/// Splits the member operations out of a Group PATCH (as [`parse_request`] returned it for
/// [`ResourceKind::Group`]) into [`MemberChanges`], or `None` when some operation on `members`
/// is not one of these shapes (then apply the request whole with [`apply`]):
/// - `add` with path `members` and a member object or array of them, each with a string `value`
///   (Entra ID, Okta, RFC 7644 §3.5.2.1);
/// - `add` or `replace` without a path whose value has a `members` key (then the other keys
///   stay in `rest`), read as `add`/`replace` of `members`;
/// - `remove` with path `members[value eq "<id>"]` (Okta, RFC 7644 §3.5.2.2), or several such
///   comparisons joined by `or`;
/// - `remove` with path `members` and a `value` array of `{"value": "<id>"}` (Entra ID);
/// - `remove` with path `members` and no value, or `replace` with `[]` (Okta): clear;
/// - `replace` with path `members` and a list.
///
/// With no member operation at all, it returns `Some` with only `rest`.
pub fn member_changes(ops: &[PatchOp]) -> Option<MemberChanges> {
    let mut acc = MemberChanges::default();
    for op in ops {
        match &op.path {
            Some(path) if is_members(&path.attr) => fold_path_op(&mut acc, op.op, path, op.value.as_ref())?,
            Some(_) => acc.rest.push(op.clone()),
            None => {
                let Some(Value::Object(attrs)) = &op.value else {
                    acc.rest.push(op.clone());
                    continue;
                };
                let mut others = Map::new();
                let mut members = None;
                for (k, v) in attrs {
                    match AttrPath::parse(k) {
                        Ok(p) if is_members(&p) && p.sub.is_none() => members = Some(v.clone()),
                        Ok(p) if is_members(&p) => return None,
                        _ => {
                            others.insert(k.clone(), v.clone());
                        }
                    }
                }
                if let Some(members) = members {
                    fold_members(&mut acc, op.op, &members)?;
                }
                if !others.is_empty() {
                    acc.rest.push(PatchOp { op: op.op, path: None, value: Some(Value::Object(others)) });
                }
            }
        }
    }
    Some(acc)
}

/// Whether a path names `members` of the Group schema, with or without its URI, and no more.
fn is_members(path: &AttrPath) -> bool {
    eq_ci(&path.attr, "members") && path.schema.as_deref().is_none_or(|s| eq_ci(s, GROUP_SCHEMA))
}

fn fold_path_op(acc: &mut MemberChanges, op: OpKind, path: &PatchPath, value: Option<&Value>) -> Option<()> {
    if path.attr.sub.is_some() || path.sub.is_some() {
        return None;
    }
    match (op, &path.filter) {
        (OpKind::Remove, Some(filter)) => {
            let mut ids = Vec::new();
            value_eq_ids(filter, &mut ids)?;
            ids.into_iter().for_each(|id| remove_member(acc, id));
            Some(())
        }
        (_, Some(_)) => None,
        (OpKind::Remove, None) => match value {
            None | Some(Value::Null) => {
                clear(acc);
                Some(())
            }
            Some(v) => {
                let items = match v {
                    Value::Array(items) => items.as_slice(),
                    lone => std::slice::from_ref(lone),
                };
                for item in items {
                    remove_member(acc, member_id(item)?.to_string());
                }
                Some(())
            }
        },
        (OpKind::Add | OpKind::Replace, None) => fold_members(acc, op, value?),
    }
}

fn fold_members(acc: &mut MemberChanges, op: OpKind, value: &Value) -> Option<()> {
    let items = match value {
        Value::Array(items) => items.as_slice(),
        Value::Null if op == OpKind::Replace => &[],
        lone => std::slice::from_ref(lone),
    };
    let mut members = Vec::with_capacity(items.len());
    for item in items {
        member_id(item)?;
        members.push(normalize_member(item));
    }
    if op == OpKind::Replace {
        *acc = MemberChanges { rest: std::mem::take(&mut acc.rest), ..MemberChanges::default() };
        if members.is_empty() {
            acc.clear = true;
            return Some(());
        }
        acc.replace_with = Some(Vec::new());
    }
    for m in members {
        add_member(acc, m);
    }
    Some(())
}

fn clear(acc: &mut MemberChanges) {
    *acc = MemberChanges { clear: true, rest: std::mem::take(&mut acc.rest), ..MemberChanges::default() };
}

fn same_id(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn add_member(acc: &mut MemberChanges, member: Value) {
    let Some(id) = member_id(&member).map(str::to_string) else { return };
    acc.remove.retain(|r| !same_id(r, &id));
    let list = match &mut acc.replace_with {
        Some(list) => list,
        None => &mut acc.add,
    };
    if !list.iter().any(|m| member_id(m).is_some_and(|m| same_id(m, &id))) {
        list.push(member);
    }
}

fn remove_member(acc: &mut MemberChanges, id: String) {
    let held = |m: &Value| member_id(m).is_some_and(|m| same_id(m, &id));
    acc.add.retain(|m| !held(m));
    match &mut acc.replace_with {
        Some(list) => list.retain(|m| !held(m)),
        None if acc.clear => {}
        None => {
            if !acc.remove.iter().any(|r| same_id(r, &id)) {
                acc.remove.push(id);
            }
        }
    }
}

/// A member's id: the string `value` of a member object.
fn member_id(member: &Value) -> Option<&str> {
    member.as_object().and_then(|o| get_ci(o, "value")).and_then(Value::as_str)
}

/// A member object in the schema's spelling (`value`, `$ref`, `display`, `type`).
fn normalize_member(member: &Value) -> Value {
    let Value::Object(obj) = member else { return member.clone() };
    Value::Object(
        obj.iter()
            .map(|(k, v)| {
                let name =
                    ["value", "$ref", "display", "type"].into_iter().find(|n| eq_ci(n, k)).unwrap_or(k);
                (name.to_string(), v.clone())
            })
            .collect(),
    )
}

/// The ids of `value eq "<id>"` comparisons joined by `or`; `None` for any other filter.
fn value_eq_ids(filter: &Filter, out: &mut Vec<String>) -> Option<()> {
    match filter {
        Filter::Or(l, r) => {
            value_eq_ids(l, out)?;
            value_eq_ids(r, out)
        }
        Filter::Compare { path, op: CompareOp::Eq, value: CompValue::Str(id), .. }
            if path.schema.is_none() && path.sub.is_none() && eq_ci(&path.attr, "value") =>
        {
            out.push(id.clone());
            Some(())
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
