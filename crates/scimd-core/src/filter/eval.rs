//! The in-memory evaluator: does a normalised resource match a filter (RFC 7644 §3.4.2.2)?
//!
//! The resource is normalised: core attributes at the top level, each extension's attributes in
//! an object under its schema URI. Keys are looked up without regard to case all the same.
//!
//! Semantics:
//! - strings compare without regard to case unless the attribute is caseExact; `gt`/`ge`/`lt`/
//!   `le` on strings are lexicographical;
//! - dateTimes compare as instants (RFC 3339), numbers numerically, booleans with `eq`/`ne` only;
//! - on a multi-valued attribute a comparison matches if any value matches; a multi-valued
//!   complex attribute compared without a sub-attribute compares its `value` sub-attribute;
//! - `pr` matches a value that is not null, not `""`, not `[]` and not an object of empty values;
//! - a missing attribute matches `ne` (and `eq null`) and no other operator;
//! - `attr[f]` matches if some value of `attr` matches `f`, whose paths name sub-attributes;
//! - a path that does not bind (see [`super::check`]) matches nothing.

use super::ast::{CompValue, CompareOp, Filter};
use super::bind::{Binding, Leaf, Scope};
use crate::registry::SchemaRegistry;
use crate::schema::{AttrType, AttributeDef, ResourceKind};
use serde_json::{Map, Number, Value};
use std::cmp::Ordering;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Whether `resource` (normalised, of type `kind`) matches `filter`. Run [`super::check`]
/// first: a path that does not resolve matches nothing here.
pub fn evaluate(
    filter: &Filter,
    registry: &SchemaRegistry,
    kind: ResourceKind,
    resource: &Map<String, Value>,
) -> bool {
    eval_in(filter, Scope::Resource { registry, kind }, resource)
}

/// Whether one value of the complex attribute `parent` (an element of `emails`, say) matches
/// the filter of a value path, whose paths name sub-attributes of `parent`. For PATCH paths
/// such as `emails[type eq "work"]` (RFC 7644 §3.5.2).
pub fn evaluate_value_filter(filter: &Filter, parent: &AttributeDef, element: &Value) -> bool {
    element.as_object().is_some_and(|obj| eval_in(filter, Scope::Element { parent }, obj))
}

fn eval_in(filter: &Filter, scope: Scope<'_>, obj: &Map<String, Value>) -> bool {
    match filter {
        Filter::And(l, r) => eval_in(l, scope, obj) && eval_in(r, scope, obj),
        Filter::Or(l, r) => eval_in(l, scope, obj) || eval_in(r, scope, obj),
        Filter::Not(inner) => !eval_in(inner, scope, obj),
        Filter::Present { path, span } => {
            scope.bind(path, span).is_ok_and(|b| values(&b, obj).into_iter().any(is_present))
        }
        Filter::ValuePath { path, filter, span } => {
            if matches!(scope, Scope::Element { .. }) {
                return false;
            }
            match scope.bind(path, span) {
                Ok(Binding::Attr { attr, sub: None, extension }) if attr.attr_type == AttrType::Complex => {
                    let b = Binding::Attr { attr, sub: None, extension };
                    values(&b, obj).into_iter().any(|v| evaluate_value_filter(filter, attr, v))
                }
                _ => false,
            }
        }
        Filter::Compare { path, op, value, span } => {
            let Ok(binding) = scope.bind(path, span) else { return false };
            let Some((leaf, implicit)) = binding.leaf() else { return false };
            let mut vals = values(&binding, obj);
            if let Some(value_def) = implicit {
                vals = vals.into_iter().flat_map(|v| sub_values(v, &value_def.name)).collect();
            }
            compare_any(&vals, *op, value, leaf)
        }
    }
}

/// The key of `obj` equal to `name` without regard to case.
pub fn get_ci<'v>(obj: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    obj.get(name).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// The values of `v`: the elements of an array, nothing for null, else `v` itself.
pub fn flatten(v: Option<&Value>) -> Vec<&Value> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter(|i| !i.is_null()).collect(),
        Some(other) => vec![other],
    }
}

/// The values of the sub-attribute `name` of a complex value.
pub fn sub_values<'v>(v: &'v Value, name: &str) -> Vec<&'v Value> {
    flatten(v.as_object().and_then(|o| get_ci(o, name)))
}

/// Every value a bound path reads in `obj`.
fn values<'v>(binding: &Binding<'_>, obj: &'v Map<String, Value>) -> Vec<&'v Value> {
    match *binding {
        Binding::Schemas => flatten(get_ci(obj, "schemas")),
        Binding::Attr { extension, attr, sub } => {
            let container = match extension {
                Some(uri) => get_ci(obj, uri).and_then(Value::as_object),
                None => Some(obj),
            };
            let Some(container) = container else { return Vec::new() };
            let top = flatten(get_ci(container, &attr.name));
            match sub {
                Some(sub) => top.into_iter().flat_map(|v| sub_values(v, &sub.name)).collect(),
                None => top,
            }
        }
    }
}

/// RFC 7644 §3.4.2.2 `pr`: "If the attribute has a non-empty value, or if it contains a
/// non-empty node for complex attributes, there is a match."
pub fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(map) => map.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn compare_any(vals: &[&Value], op: CompareOp, expected: &CompValue, leaf: Leaf) -> bool {
    matches_values(vals, op, expected, leaf.ty, leaf.case_exact)
}

/// Whether some of `vals` (the values a path reads) compares with `expected` by `op`, with the
/// filter semantics of RFC 7644 §3.4.2.2 every evaluator and store shares: `eq null` when no
/// value is present, `ne null` when one is, `ne` when there is no value or some value differs.
pub fn matches_values(
    vals: &[&Value],
    op: CompareOp,
    expected: &CompValue,
    ty: AttrType,
    case_exact: bool,
) -> bool {
    match (op, expected) {
        // RFC 7643 §2.5: null is equivalent to unassigned.
        (CompareOp::Eq, CompValue::Null) => !vals.iter().any(|v| is_present(v)),
        (CompareOp::Ne, CompValue::Null) => vals.iter().any(|v| is_present(v)),
        (_, CompValue::Null) => false,
        // A missing attribute is not equal to anything.
        (CompareOp::Ne, _) if vals.is_empty() => true,
        (CompareOp::Ne, _) => vals.iter().any(|v| !compare_value(v, CompareOp::Eq, expected, ty, case_exact)),
        _ => vals.iter().any(|v| compare_value(v, op, expected, ty, case_exact)),
    }
}

/// One value against the filter's value, by the attribute's type and caseExact (strings
/// without regard to case unless caseExact; dateTimes as instants; numbers numerically;
/// booleans with `eq` only; a value of another type never matches). `Ne` is the caller's.
pub fn compare_value(
    actual: &Value,
    op: CompareOp,
    expected: &CompValue,
    ty: AttrType,
    case_exact: bool,
) -> bool {
    match (ty, actual, expected) {
        (AttrType::Boolean, Value::Bool(a), CompValue::Bool(b)) => op == CompareOp::Eq && a == b,
        (AttrType::Integer | AttrType::Decimal, Value::Number(a), CompValue::Num(b)) => {
            cmp_numbers(a, b).is_some_and(|ord| ordering_matches(op, ord))
        }
        (AttrType::DateTime, Value::String(a), CompValue::Str(b)) if !op.is_substring() => {
            match (parse_date_time(a), parse_date_time(b)) {
                (Some(a), Some(b)) => ordering_matches(op, a.cmp(&b)),
                _ => compare_text(a, op, b, true),
            }
        }
        (
            AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime,
            Value::String(a),
            CompValue::Str(b),
        ) => compare_text(a, op, b, case_exact),
        _ => false,
    }
}

fn ordering_matches(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn compare_text(actual: &str, op: CompareOp, expected: &str, case_exact: bool) -> bool {
    let (a, b) = if case_exact {
        (actual.to_string(), expected.to_string())
    } else {
        (actual.to_lowercase(), expected.to_lowercase())
    };
    match op {
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        _ => ordering_matches(op, a.cmp(&b)),
    }
}

/// Numbers compared exactly when both are integers, else as floating point.
pub fn cmp_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    let int = |n: &Number| n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// An RFC 3339 date-time; one without an offset (xsd:dateTime allows it) is taken as UTC.
pub fn parse_date_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok().or_else(|| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339).ok())
}
