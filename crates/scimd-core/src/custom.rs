//! The custom extension (DESIGN.md, "Schemas that admins shape"): a User extension whose
//! attributes admins add and delete at run time. This module checks an admin's attribute
//! definition and builds the schema from the definitions in force; the server keeps the
//! definitions and installs the schema ([`crate::SchemaRegistry::add_extension`]).
//!
//! A definition is the RFC 7643 §7 attribute representation. [`parse_attribute`] is strict: a
//! field it does not know, a value of the wrong JSON type, or a characteristic that does not fit
//! the attribute's type is refused with `invalidValue`, and the detail names the field
//! (`subAttributes[1].type`). The rules:
//! - `name` is required and is an RFC 7643 §2.1 `ATTRNAME` (`ALPHA *(nameChar)`, at most
//!   [`MAX_NAME_LEN`] characters);
//! - `type` is one of RFC 7643 §2.3's (`string` when absent);
//! - `multiValued`, `required`, `caseExact` are booleans (default false); `description` a string;
//! - `mutability` (default `readWrite`), `returned` (default `default`, `never` for writeOnly,
//!   which may not be returned), `uniqueness` (default `none`) take RFC 7643 §7's values;
//! - `caseExact: true` only for string, reference and binary attributes (it means nothing for the
//!   others); `canonicalValues` (distinct strings) only for string and reference attributes;
//!   `referenceTypes` only for reference attributes (default `["external"]`); `uniqueness`
//!   other than `none` not for complex or boolean attributes, nor for sub-attributes (the
//!   server checks uniqueness of top-level attributes only);
//! - `subAttributes` for a complex attribute, and only for one: at least one, none complex
//!   itself (RFC 7643 §2.3.8), names distinct without regard to case.
//!
//! [`check_addition`] refuses a name already taken in the schema, without regard to case.

use crate::error::{ScimError, ScimResult};
use crate::name::eq_ci;
use crate::schema::{AttrType, AttributeDef, Mutability, Returned, Schema, Uniqueness};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The URI of the custom extension when the configuration names none.
pub const DEFAULT_CUSTOM_SCHEMA: &str = "urn:scim:wso2:schema";

/// The longest attribute name accepted.
pub const MAX_NAME_LEN: usize = 128;
/// The most sub-attributes a complex custom attribute may have.
pub const MAX_SUB_ATTRIBUTES: usize = 64;
/// The most canonical values one attribute may list.
pub const MAX_CANONICAL_VALUES: usize = 256;

/// Whether `name` is an RFC 7643 §2.1 `ATTRNAME`: `ALPHA *(nameChar)`, nameChar being
/// `"-" / "_" / DIGIT / ALPHA` (the `$` of `$ref` is for the RFC's own attributes).
pub fn is_attr_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The custom extension with these attributes (RFC 7643 §7 form).
pub fn custom_schema(uri: &str, attributes: Vec<AttributeDef>) -> Schema {
    Schema {
        id: uri.to_string(),
        name: "CustomUser".into(),
        description: "Custom User attributes, defined by this server's admins".into(),
        attributes,
    }
}

/// Refuses a new attribute whose name the schema already has, without regard to case
/// (RFC 7643 §2.1: attribute names are case-insensitive).
pub fn check_addition(schema: &Schema, def: &AttributeDef) -> ScimResult<()> {
    match schema.attribute(&def.name) {
        Some(existing) => Err(ScimError::invalid_value(format!(
            "name: the schema {} already has an attribute \"{}\" (names are case-insensitive)",
            schema.id, existing.name
        ))),
        None => Ok(()),
    }
}

/// Checks a configured custom schema URI: an absolute URI (`urn:...`, `http(s)://...`) with no
/// whitespace, not one of the built-in schemas or the common prefix.
pub fn check_schema_uri(uri: &str, builtin: &[&str]) -> ScimResult<()> {
    let bad = |why: &str| ScimError::invalid_value(format!("custom schema URI \"{uri}\" {why}"));
    let lower = uri.to_ascii_lowercase();
    let scheme_ok =
        lower.starts_with("urn:") || lower.starts_with("http://") || lower.starts_with("https://");
    if !scheme_ok || uri.len() < 6 {
        return Err(bad("must be an absolute URI (urn:... or https://...)"));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) || uri.ends_with(':') {
        return Err(bad("must not contain spaces or end with \":\""));
    }
    if builtin.iter().any(|b| eq_ci(b, uri)) || eq_ci(uri, crate::schema::CORE_SCHEMA) {
        return Err(bad("is a built-in schema"));
    }
    Ok(())
}

/// Parses and checks an admin's attribute definition (see the module docs for the rules).
pub fn parse_attribute(value: &Value) -> ScimResult<AttributeDef> {
    parse_def(value, "", false)
}

const FIELDS: [&str; 12] = [
    "name",
    "type",
    "multiValued",
    "description",
    "required",
    "caseExact",
    "mutability",
    "returned",
    "uniqueness",
    "canonicalValues",
    "referenceTypes",
    "subAttributes",
];

/// One definition; `at` prefixes field names in errors (`subAttributes[0].`).
fn parse_def(value: &Value, at: &str, is_sub: bool) -> ScimResult<AttributeDef> {
    let err = |field: &str, what: String| ScimError::invalid_value(format!("{at}{field}: {what}"));
    let Value::Object(input) = value else {
        let what = if at.is_empty() { "the attribute definition" } else { at.trim_end_matches('.') };
        return Err(ScimError::invalid_value(format!("{what} must be a JSON object")));
    };
    let mut fields: Map<String, Value> = Map::new();
    for (key, v) in input {
        let Some(known) = FIELDS.iter().find(|f| eq_ci(f, key)) else {
            return Err(err(key, "unknown field of an attribute definition".into()));
        };
        if fields.insert((*known).to_string(), v.clone()).is_some() {
            return Err(err(known, "given twice".into()));
        }
    }
    let field = |name: &str| fields.get(name).filter(|v| !v.is_null());

    let name = match field("name") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(err("name", "must be a string".into())),
        None => return Err(err("name", "is required".into())),
    };
    if !is_attr_name(&name) || name.len() > MAX_NAME_LEN {
        return Err(err(
            "name",
            format!(
                "\"{name}\" is not a valid attribute name (RFC 7643 §2.1: a letter, then letters, \
                 digits, \"-\" or \"_\"; at most {MAX_NAME_LEN} characters)"
            ),
        ));
    }
    let attr_type: AttrType = enumerated(field("type"), "type", at, &TYPES)?.unwrap_or(AttrType::String);
    let boolean = |f: &str| -> ScimResult<bool> {
        match field(f) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(err(f, "must be true or false".into())),
        }
    };
    let multi_valued = boolean("multiValued")?;
    let required = boolean("required")?;
    let case_exact = boolean("caseExact")?;
    let description = match field("description") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(err("description", "must be a string".into())),
    };
    let mutability: Mutability =
        enumerated(field("mutability"), "mutability", at, &MUTABILITIES)?.unwrap_or_default();
    let returned: Option<Returned> = enumerated(field("returned"), "returned", at, &RETURNED)?;
    let returned = match (mutability, returned) {
        (Mutability::WriteOnly, None | Some(Returned::Never)) => Returned::Never,
        (Mutability::WriteOnly, Some(_)) => {
            return Err(err(
                "returned",
                "a writeOnly attribute is never returned (RFC 7643 §7): leave returned out or make it \"never\""
                    .into(),
            ));
        }
        (_, r) => r.unwrap_or_default(),
    };
    let uniqueness: Uniqueness =
        enumerated(field("uniqueness"), "uniqueness", at, &UNIQUENESS)?.unwrap_or_default();
    let textual = matches!(attr_type, AttrType::String | AttrType::Reference | AttrType::Binary);
    if case_exact && !textual {
        return Err(err("caseExact", "applies to string, reference and binary attributes only".into()));
    }
    if uniqueness != Uniqueness::None && is_sub {
        return Err(err(
            "uniqueness",
            "a sub-attribute cannot be marked unique (scimd checks top-level attributes)".into(),
        ));
    }
    if uniqueness != Uniqueness::None && matches!(attr_type, AttrType::Complex | AttrType::Boolean) {
        return Err(err("uniqueness", format!("must be \"none\" for a {} attribute", type_word(attr_type))));
    }
    let canonical_values = strings(field("canonicalValues"), "canonicalValues", at)?;
    if !canonical_values.is_empty() && !matches!(attr_type, AttrType::String | AttrType::Reference) {
        return Err(err("canonicalValues", "apply to string and reference attributes only".into()));
    }
    if canonical_values.len() > MAX_CANONICAL_VALUES {
        return Err(err("canonicalValues", format!("at most {MAX_CANONICAL_VALUES} values")));
    }
    if let Some(dup) = duplicate(&canonical_values) {
        return Err(err("canonicalValues", format!("\"{dup}\" is listed twice")));
    }
    let mut reference_types = strings(field("referenceTypes"), "referenceTypes", at)?;
    match attr_type {
        AttrType::Reference if reference_types.is_empty() => reference_types.push("external".into()),
        AttrType::Reference => {}
        _ if !reference_types.is_empty() => {
            return Err(err("referenceTypes", "apply to reference attributes only".into()));
        }
        _ => {}
    }
    let sub_attributes = match (field("subAttributes"), attr_type) {
        (None, AttrType::Complex) => {
            return Err(err("subAttributes", "a complex attribute needs at least one sub-attribute".into()));
        }
        (None, _) => Vec::new(),
        (Some(_), _) if is_sub => {
            return Err(err(
                "subAttributes",
                "a sub-attribute cannot have sub-attributes (RFC 7643 §2.3.8)".into(),
            ));
        }
        (Some(_), t) if t != AttrType::Complex => {
            return Err(err(
                "subAttributes",
                format!("only a complex attribute has sub-attributes, and this one is {}", type_word(t)),
            ));
        }
        (Some(Value::Array(items)), _) => {
            if items.is_empty() {
                return Err(err(
                    "subAttributes",
                    "a complex attribute needs at least one sub-attribute".into(),
                ));
            }
            if items.len() > MAX_SUB_ATTRIBUTES {
                return Err(err("subAttributes", format!("at most {MAX_SUB_ATTRIBUTES} sub-attributes")));
            }
            let mut subs: Vec<AttributeDef> = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let sub = parse_def(item, &format!("{at}subAttributes[{i}]."), true)?;
                if sub.attr_type == AttrType::Complex {
                    return Err(ScimError::invalid_value(format!(
                        "{at}subAttributes[{i}].type: a sub-attribute cannot be complex (RFC 7643 §2.3.8)"
                    )));
                }
                if let Some(other) = subs.iter().find(|s| eq_ci(&s.name, &sub.name)) {
                    return Err(ScimError::invalid_value(format!(
                        "{at}subAttributes[{i}].name: \"{}\" is already a sub-attribute (\"{}\"; names are case-insensitive)",
                        sub.name, other.name
                    )));
                }
                subs.push(sub);
            }
            subs
        }
        (Some(_), _) => return Err(err("subAttributes", "must be an array of attribute definitions".into())),
    };
    Ok(AttributeDef {
        name,
        attr_type,
        multi_valued,
        description,
        required,
        canonical_values,
        case_exact: textual.then_some(case_exact),
        mutability,
        returned,
        uniqueness: (attr_type != AttrType::Complex).then_some(uniqueness),
        reference_types,
        sub_attributes,
        canonical_only: false,
    })
}

const TYPES: [&str; 8] =
    ["string", "boolean", "decimal", "integer", "dateTime", "binary", "reference", "complex"];
const MUTABILITIES: [&str; 4] = ["readOnly", "readWrite", "immutable", "writeOnly"];
const RETURNED: [&str; 4] = ["always", "never", "default", "request"];
const UNIQUENESS: [&str; 3] = ["none", "server", "global"];

fn type_word(t: AttrType) -> &'static str {
    match t {
        AttrType::String => "a string",
        AttrType::Boolean => "a boolean",
        AttrType::Decimal => "a decimal",
        AttrType::Integer => "an integer",
        AttrType::DateTime => "a dateTime",
        AttrType::Binary => "a binary",
        AttrType::Reference => "a reference",
        AttrType::Complex => "a complex",
    }
}

/// One of RFC 7643's keywords (without regard to case), as the serde enum it names.
fn enumerated<T: DeserializeOwned>(
    value: Option<&Value>,
    field: &str,
    at: &str,
    words: &[&str],
) -> ScimResult<Option<T>> {
    let Some(value) = value else { return Ok(None) };
    let wrong =
        || ScimError::invalid_value(format!("{at}{field}: must be one of {}, not {value}", words.join(", ")));
    let word = value.as_str().and_then(|s| words.iter().find(|w| eq_ci(w, s.trim()))).ok_or_else(wrong)?;
    serde_json::from_value(Value::String((*word).to_string())).map(Some).map_err(|_| wrong())
}

fn strings(value: Option<&Value>, field: &str, at: &str) -> ScimResult<Vec<String>> {
    let wrong = || ScimError::invalid_value(format!("{at}{field}: must be an array of strings"));
    match value {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            items.iter().map(|v| v.as_str().map(str::to_string).ok_or_else(wrong)).collect()
        }
        Some(_) => Err(wrong()),
    }
}

fn duplicate(values: &[String]) -> Option<&str> {
    values.iter().enumerate().find(|(i, v)| values[..*i].contains(v)).map(|(_, v)| v.as_str())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    fn err(v: Value) -> String {
        let e = parse_attribute(&v).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{}", e.detail);
        assert_eq!(e.status, 400);
        e.detail
    }

    /// RFC 7643 §7: defaults for what an admin leaves out; the result serializes as /Schemas
    /// serves it.
    #[test]
    fn minimal_definition_gets_rfc_defaults() {
        let def = parse_attribute(&json!({"name": "customAttribute"})).unwrap();
        assert_eq!(
            serde_json::to_value(&def).unwrap(),
            json!({"name": "customAttribute", "type": "string", "multiValued": false, "description": "",
                   "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default",
                   "uniqueness": "none"})
        );
    }

    /// RFC 7643 §7: every characteristic is taken as given; keywords without regard to case.
    #[test]
    fn every_characteristic_is_kept() {
        let def = parse_attribute(&json!({
            "name": "badge", "type": "Complex", "multiValued": true, "description": "Badges",
            "required": true, "mutability": "immutable", "returned": "request",
            "subAttributes": [
                {"name": "value", "type": "string", "caseExact": true, "required": true},
                {"name": "issued", "type": "dateTime"},
                {"name": "$ref", "type": "reference"}
            ]
        }));
        // `$ref` is not an ATTRNAME an admin may define.
        assert!(def.unwrap_err().detail.starts_with("subAttributes[2].name:"));
        let def = parse_attribute(&json!({
            "name": "badge", "type": "Complex", "multiValued": true, "description": "Badges",
            "required": true, "mutability": "immutable", "returned": "request",
            "subAttributes": [
                {"name": "value", "type": "string", "caseExact": true,
                 "canonicalValues": ["a", "b"], "required": true},
                {"name": "issued", "type": "dateTime"},
                {"name": "link", "type": "reference", "referenceTypes": ["uri"]}
            ]
        }))
        .unwrap();
        assert_eq!(def.attr_type, AttrType::Complex);
        assert!(def.multi_valued && def.required);
        assert_eq!((def.mutability, def.returned), (Mutability::Immutable, Returned::Request));
        assert_eq!(def.uniqueness, None, "complex attributes carry no uniqueness");
        let value = &def.sub_attributes[0];
        assert_eq!(value.case_exact, Some(true));
        assert_eq!(value.uniqueness(), Uniqueness::None);
        let unique = parse_attribute(&json!({"name": "badgeNo", "uniqueness": "server"})).unwrap();
        assert_eq!(unique.uniqueness(), Uniqueness::Server);
        assert_eq!(value.canonical_values, ["a", "b"]);
        assert_eq!(def.sub_attributes[1].case_exact, None, "caseExact is for strings");
        assert_eq!(def.sub_attributes[2].reference_types, ["uri"]);
        let r = parse_attribute(&json!({"name": "home", "type": "reference"})).unwrap();
        assert_eq!(r.reference_types, ["external"]);
        let w = parse_attribute(&json!({"name": "pin", "mutability": "writeOnly"})).unwrap();
        assert_eq!(w.returned, Returned::Never, "writeOnly is never returned");
    }

    /// RFC 7643 §2.1, §2.3, §2.3.8, §7: bad definitions are refused, naming the field.
    #[test]
    fn bad_definitions_name_the_field() {
        let cases: &[(Value, &str)] = &[
            (json!("devices"), "the attribute definition must be a JSON object"),
            (json!({}), "name: is required"),
            (json!({"name": 5}), "name: must be a string"),
            (json!({"name": "1st"}), "name: \"1st\" is not a valid attribute name"),
            (json!({"name": "a b"}), "name: \"a b\" is not a valid attribute name"),
            (json!({"name": "a.b"}), "name: \"a.b\" is not a valid attribute name"),
            (json!({"name": "urn:x:y"}), "name: \"urn:x:y\" is not a valid attribute name"),
            (json!({"name": "a".repeat(129)}), "is not a valid attribute name"),
            (json!({"name": "d", "type": "strin"}), "type: must be one of string, boolean"),
            (json!({"name": "d", "type": 1}), "type: must be one of"),
            (json!({"name": "d", "multiValued": "yes"}), "multiValued: must be true or false"),
            (json!({"name": "d", "mutability": "sometimes"}), "mutability: must be one of readOnly"),
            (json!({"name": "d", "returned": "maybe"}), "returned: must be one of always"),
            (json!({"name": "d", "uniqueness": "total"}), "uniqueness: must be one of none"),
            (json!({"name": "d", "colour": "red"}), "colour: unknown field"),
            (json!({"name": "d", "Name": "e"}), "name: given twice"),
            (
                json!({"name": "d", "subAttributes": [{"name": "x"}]}),
                "subAttributes: only a complex attribute",
            ),
            (
                json!({"name": "d", "type": "complex"}),
                "subAttributes: a complex attribute needs at least one",
            ),
            (
                json!({"name": "d", "type": "complex", "subAttributes": []}),
                "subAttributes: a complex attribute needs",
            ),
            (json!({"name": "d", "type": "complex", "subAttributes": {}}), "subAttributes: must be an array"),
            (
                json!({"name": "d", "type": "complex", "subAttributes": [{"name": "x", "type": "complex", "subAttributes": [{"name": "y"}]}]}),
                "subAttributes[0].subAttributes: a sub-attribute cannot have sub-attributes",
            ),
            (
                json!({"name": "d", "type": "complex", "subAttributes": [{"name": "x"}, {"name": "X"}]}),
                "subAttributes[1].name: \"X\" is already a sub-attribute",
            ),
            (
                json!({"name": "d", "type": "complex", "subAttributes": [{"name": "x", "type": "bool"}]}),
                "subAttributes[0].type: must be one of",
            ),
            (json!({"name": "d", "type": "integer", "caseExact": true}), "caseExact: applies to string"),
            (json!({"name": "d", "type": "boolean", "uniqueness": "server"}), "uniqueness: must be \"none\""),
            (
                json!({"name": "d", "type": "complex", "subAttributes": [{"name": "x", "uniqueness": "global"}]}),
                "subAttributes[0].uniqueness: a sub-attribute cannot be marked unique",
            ),
            (
                json!({"name": "d", "type": "integer", "canonicalValues": ["1"]}),
                "canonicalValues: apply to string",
            ),
            (json!({"name": "d", "canonicalValues": "a"}), "canonicalValues: must be an array of strings"),
            (json!({"name": "d", "canonicalValues": ["a", "a"]}), "canonicalValues: \"a\" is listed twice"),
            (json!({"name": "d", "referenceTypes": ["User"]}), "referenceTypes: apply to reference"),
            (json!({"name": "d", "mutability": "writeOnly", "returned": "default"}), "returned: a writeOnly"),
            (json!({"name": "d", "description": 3}), "description: must be a string"),
        ];
        for (def, want) in cases {
            let d = err(def.clone());
            assert!(d.contains(want), "{def}: {d}");
        }
    }

    /// RFC 7643 §2.1: attribute names are case-insensitive, so a name that differs only in case
    /// from one the schema has is taken.
    #[test]
    fn duplicate_name_without_regard_to_case_is_refused() {
        let schema =
            custom_schema(DEFAULT_CUSTOM_SCHEMA, vec![parse_attribute(&json!({"name": "devices"})).unwrap()]);
        let e = check_addition(&schema, &parse_attribute(&json!({"name": "DEVICES"})).unwrap()).unwrap_err();
        assert!(e.detail.starts_with("name:") && e.detail.contains("\"devices\""), "{}", e.detail);
        assert!(check_addition(&schema, &parse_attribute(&json!({"name": "device"})).unwrap()).is_ok());
    }

    /// DESIGN.md: the custom URI comes from the configuration; it must be a URI and not a
    /// built-in schema.
    #[test]
    fn custom_schema_uri_is_checked() {
        let builtin = [USER_SCHEMA, ENTERPRISE_USER_SCHEMA];
        assert!(check_schema_uri(DEFAULT_CUSTOM_SCHEMA, &builtin).is_ok());
        assert!(check_schema_uri("https://example.com/scim/custom", &builtin).is_ok());
        for bad in [
            "",
            "custom",
            "urn:",
            "urn:a b",
            "urn:x:",
            ENTERPRISE_USER_SCHEMA,
            "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0",
        ] {
            assert!(check_schema_uri(bad, &builtin).is_err(), "{bad}");
        }
    }
}
