//! PATCH tests: the RFC 7644 §3.5.2 examples and the request shapes of Entra ID and Okta
//! (issue 4), table-driven.

use super::*;
use crate::schema::{ENTERPRISE_USER_SCHEMA as ENT, USER_SCHEMA};
use crate::validate::{WriteMode, validate};
use serde_json::json;

const MEMBER: &str = "2819c223-7f76-453a-919d-413861904646";

fn reg() -> SchemaRegistry {
    SchemaRegistry::builtin().unwrap()
}

fn req(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops})
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn user() -> Map<String, Value> {
    obj(json!({
        "schemas": [USER_SCHEMA],
        "id": "u1",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"}],
        "active": true
    }))
}

fn bare_user() -> Map<String, Value> {
    obj(json!({"schemas": [USER_SCHEMA], "id": "u2", "userName": "kim"}))
}

fn group() -> Map<String, Value> {
    obj(json!({
        "schemas": [GROUP_SCHEMA],
        "id": "g1",
        "displayName": "Tour Guides",
        "members": [
            {"value": MEMBER, "display": "Babs Jensen", "type": "User"},
            {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge", "type": "User"}
        ]
    }))
}

fn patch(kind: ResourceKind, res: Map<String, Value>, ops: Value) -> ScimResult<Value> {
    let r = reg();
    let ops = parse_request(&r, kind, req(ops))?;
    apply(&r, kind, res, &ops).map(Value::Object)
}

fn err<T: std::fmt::Debug>(r: ScimResult<T>) -> (ScimType, String) {
    let e = match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    };
    (e.scim_type.expect("a scimType"), e.detail)
}

/// The result validates as a PUT would (the caller's next step), with `id` kept aside.
fn revalidate(kind: ResourceKind, before: &Map<String, Value>, after: Value) -> Map<String, Value> {
    validate(&reg(), kind, after, WriteMode::Replace { existing: before }).unwrap()
}

/// A name, a resource, the operations, and attributes expected afterwards (null: absent).
type Case = (&'static str, ResourceKind, Map<String, Value>, Value, Vec<(&'static str, Value)>);

/// RFC 7644 §3.5.2.1, §3.5.2.2, §3.5.2.3: the RFC's examples and the clients' shapes, each as
/// (name, resource, operations, the attributes expected afterwards).
#[test]
fn patch_table() {
    use ResourceKind::{Group, User};
    let new_member = json!({"display": "Babs Jensen", "$ref": format!("https://example.com/v2/Users/{MEMBER}"), "value": "m3"});
    let cases: Vec<Case> = vec![
        // RFC 7644 §3.5.2.1: "add" to members appends.
        (
            "rfc add members",
            Group,
            group(),
            json!([{"op": "add", "path": "members", "value": [new_member.clone()]}]),
            vec![("members", json!([group()["members"][0], group()["members"][1], new_member]))],
        ),
        // RFC 7644 §3.5.2.1: add without path; multi-valued appended, simple set; names
        // normalised to the schema's spelling ("nickname" -> "nickName").
        (
            "rfc add without path",
            User,
            user(),
            json!([{"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "other"}], "nickname": "Babs"}}]),
            vec![
                ("nickName", json!("Babs")),
                (
                    "emails",
                    json!([user()["emails"][0], user()["emails"][1], {"value": "babs@jensen.org", "type": "other"}]),
                ),
            ],
        ),
        // RFC 7644 §3.5.2.1: "If the target location already contains the value specified, no
        // changes SHOULD be made"; a member is identified by its value.
        (
            "add existing member is a no-op",
            Group,
            group(),
            json!([{"op": "add", "path": "members", "value": [{"value": MEMBER}]}]),
            vec![("members", group()["members"].clone())],
        ),
        (
            "add existing email is a no-op",
            User,
            user(),
            json!([{"op": "add", "path": "emails", "value": {"value": "BJENSEN@example.com", "type": "work"}}]),
            vec![("emails", user()["emails"].clone())],
        ),
        // RFC 7644 §3.5.2.1: add to a singular complex attribute sets the sub-attributes given.
        (
            "add singular complex merges",
            User,
            user(),
            json!([{"op": "add", "path": "name", "value": {"MiddleName": "Jane"}}]),
            vec![("name", json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "Jane"}))],
        ),
        // RFC 7644 §3.5.2.2: remove all members.
        (
            "rfc remove all members",
            Group,
            group(),
            json!([{"op": "remove", "path": "members"}]),
            vec![("members", Value::Null)],
        ),
        // RFC 7644 §3.5.2.2: remove a single member.
        (
            "rfc remove one member",
            Group,
            group(),
            json!([{"op": "remove", "path": format!("members[value eq \"{MEMBER}\"]")}]),
            vec![("members", json!([group()["members"][1]]))],
        ),
        // RFC 7644 §3.5.2.2: remove matching values of a complex multi-valued attribute.
        (
            "rfc remove emails by filter",
            User,
            user(),
            json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]),
            vec![("emails", json!([user()["emails"][1]]))],
        ),
        // RFC 7644 §3.5.2.2: remove a member and add another in one request.
        (
            "rfc remove then add member",
            Group,
            group(),
            json!([
                {"op": "remove", "path": format!("members[value eq \"{MEMBER}\"]")},
                {"op": "add", "path": "members", "value": [{"display": "James Smith", "value": "08e1d05d"}]}
            ]),
            vec![(
                "members",
                json!([group()["members"][1], {"display": "James Smith", "value": "08e1d05d"}]),
            )],
        ),
        // RFC 7644 §3.5.2.2: removing what is absent, or a value path matching nothing, succeeds.
        (
            "remove absent attribute",
            User,
            user(),
            json!([{"op": "remove", "path": "title"}]),
            vec![("title", Value::Null)],
        ),
        (
            "remove unmatched member",
            Group,
            group(),
            json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}]),
            vec![("members", group()["members"].clone())],
        ),
        // RFC 7644 §3.5.2.2: remove a sub-attribute.
        (
            "remove sub-attribute",
            User,
            user(),
            json!([{"op": "remove", "path": "name.familyName"}]),
            vec![("name", json!({"givenName": "Barbara"}))],
        ),
        (
            "remove sub-attribute of matches",
            User,
            user(),
            json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
            vec![("emails", json!([{"value": "bjensen@example.com", "type": "work"}, user()["emails"][1]]))],
        ),
        // RFC 7644 §3.5.2.3: replace members wholesale.
        (
            "rfc replace members",
            Group,
            group(),
            json!([{"op": "replace", "path": "members", "value": [{"display": "Babs Jensen", "value": MEMBER}, {"display": "James Smith", "value": "08e1d05d"}]}]),
            vec![(
                "members",
                json!([{"display": "Babs Jensen", "value": MEMBER}, {"display": "James Smith", "value": "08e1d05d"}]),
            )],
        ),
        // RFC 7644 §3.5.2.3: replace the matching value of a complex multi-valued attribute.
        (
            "rfc replace address by filter",
            User,
            user(),
            json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": {"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood", "primary": true}}]),
            vec![(
                "addresses",
                json!([{"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood", "primary": true}]),
            )],
        ),
        // RFC 7644 §3.5.2.3: replace a sub-attribute of the matching values.
        (
            "rfc replace address sub-attribute",
            User,
            user(),
            json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]),
            vec![(
                "addresses",
                json!([{"type": "work", "streetAddress": "1010 Broadway Ave", "locality": "Hollywood"}]),
            )],
        ),
        // RFC 7644 §3.5.2.3: replace without path replaces each attribute given; multi-valued
        // ones wholesale.
        (
            "rfc replace without path",
            User,
            user(),
            json!([{"op": "replace", "value": {"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}], "nickName": "Babs"}}]),
            vec![
                ("emails", json!([{"value": "bjensen@example.com", "type": "work", "primary": true}])),
                ("nickName", json!("Babs")),
            ],
        ),
        // RFC 7644 §3.5.2.3: replace of a complex attribute leaves unspecified sub-attributes.
        (
            "replace singular complex merges",
            User,
            user(),
            json!([{"op": "replace", "path": "name", "value": {"familyName": "Smith"}}]),
            vec![("name", json!({"givenName": "Barbara", "familyName": "Smith"}))],
        ),
        // RFC 7644 §3.5.2: a value made primary makes the others non-primary.
        (
            "add primary email demotes the old primary",
            User,
            user(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "other", "primary": true}]}]),
            vec![(
                "emails",
                json!([
                    {"value": "bjensen@example.com", "type": "work", "primary": false},
                    user()["emails"][1],
                    {"value": "new@example.com", "type": "other", "primary": true}
                ]),
            )],
        ),
        // Case-insensitive paths, output in schema spelling.
        (
            "paths ignore case",
            User,
            user(),
            json!([{"op": "replace", "path": "NAME.GIVENNAME", "value": "Babs"}, {"op": "add", "path": "DisplayName", "value": "B"}]),
            vec![("name", json!({"givenName": "Babs", "familyName": "Jensen"})), ("displayName", json!("B"))],
        ),
        // Extension paths: an attribute, a sub-attribute, the whole extension (RFC 7644 §3.10).
        (
            "extension attribute path",
            User,
            bare_user(),
            json!([{"op": "add", "path": format!("{ENT}:department"), "value": "R&D"}, {"op": "add", "path": format!("{ENT}:manager.value"), "value": "m1"}]),
            vec![
                (ENT, json!({"department": "R&D", "manager": {"value": "m1"}})),
                ("schemas", json!([USER_SCHEMA, ENT])),
            ],
        ),
        (
            "whole extension path",
            User,
            bare_user(),
            json!([{"op": "add", "path": ENT, "value": {"Department": "R&D", "costCenter": "4130"}}]),
            vec![(ENT, json!({"department": "R&D", "costCenter": "4130"}))],
        ),
        // The public conformance checker (scim2-tester) sends the extension object with its
        // own `schemas` list inside.
        (
            "whole extension path with schemas inside",
            User,
            bare_user(),
            json!([{"op": "replace", "path": ENT, "value": {"schemas": [ENT], "employeeNumber": "42"}}]),
            vec![(ENT, json!({"employeeNumber": "42"}))],
        ),
        // ---- Microsoft Entra ID (issue 4) ----
        (
            "entra op case and string booleans",
            User,
            user(),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
            vec![("active", json!("False"))],
        ),
        (
            "entra path-less replace with dotted and qualified keys",
            User,
            user(),
            json!([{"op": "Replace", "value": {
                "name.givenName": "Barb",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "mgr-id",
                "active": "True"
            }}]),
            vec![
                ("name", json!({"givenName": "Barb", "familyName": "Jensen"})),
                (ENT, json!({"employeeNumber": "701984", "manager": {"value": "mgr-id"}})),
                ("active", json!("True")),
                ("schemas", json!([USER_SCHEMA, ENT])),
            ],
        ),
        (
            "entra manager by bare id",
            User,
            bare_user(),
            json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "mgr-id"}]),
            vec![(ENT, json!({"manager": {"value": "mgr-id"}}))],
        ),
        (
            "entra add members",
            Group,
            group(),
            json!([{"op": "Add", "path": "members", "value": [{"value": "m3"}]}]),
            vec![("members", json!([group()["members"][0], group()["members"][1], {"value": "m3"}]))],
        ),
        (
            "entra remove members by value array",
            Group,
            group(),
            json!([{"op": "Remove", "path": "members", "value": [{"value": MEMBER}]}]),
            vec![("members", json!([group()["members"][1]]))],
        ),
        (
            "entra add work email value with no work email",
            User,
            bare_user(),
            json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "kim@example.com"}]),
            vec![("emails", json!([{"type": "work", "value": "kim@example.com"}]))],
        ),
        (
            "entra add work email value with a work email",
            User,
            user(),
            json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "barbara@example.com"}]),
            vec![(
                "emails",
                json!([{"value": "barbara@example.com", "type": "work", "primary": true}, user()["emails"][1]]),
            )],
        ),
        (
            "entra add primary string to the work email",
            User,
            user(),
            json!([{"op": "Add", "path": "emails[type eq \"home\"].primary", "value": "True"}]),
            vec![(
                "emails",
                json!([{"value": "bjensen@example.com", "type": "work", "primary": false}, {"value": "babs@jensen.org", "type": "home", "primary": "True"}]),
            )],
        ),
        (
            "entra add givenName with no name",
            User,
            bare_user(),
            json!([{"op": "Add", "path": "name.givenName", "value": "Kim"}]),
            vec![("name", json!({"givenName": "Kim"}))],
        ),
        // ---- Okta (issue 4) ----
        (
            "okta empty a group",
            Group,
            group(),
            json!([{"op": "replace", "path": "members", "value": []}]),
            vec![("members", Value::Null)],
        ),
        (
            "okta deactivate",
            User,
            user(),
            json!([{"op": "replace", "value": {"active": false}}]),
            vec![("active", json!(false))],
        ),
        (
            "okta rename group echoing id",
            Group,
            group(),
            json!([{"op": "replace", "value": {"id": "g1", "displayName": "Guides"}}]),
            vec![
                ("displayName", json!("Guides")),
                ("id", json!("g1")),
                ("members", group()["members"].clone()),
            ],
        ),
        (
            "okta remove member by filter",
            Group,
            group(),
            json!([{"op": "remove", "path": format!("members[value eq \"{MEMBER}\"]")}]),
            vec![("members", json!([group()["members"][1]]))],
        ),
        (
            "okta add member without type",
            Group,
            obj(json!({"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "G"})),
            json!([{"op": "add", "path": "members", "value": [{"value": "m1", "display": "kim"}]}]),
            vec![("members", json!([{"value": "m1", "display": "kim"}]))],
        ),
    ];
    for (name, kind, res, ops, want) in cases {
        let before = res.clone();
        let out = patch(kind, res, ops).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (attr, value) in want {
            assert_eq!(out.get(attr).unwrap_or(&Value::Null), &value, "{name}: {attr} in {out}");
        }
        revalidate(kind, &before, out);
    }
}

/// RFC 7644 §3.5.2, §3.12: the errors the RFC names, with details naming the operation and path.
#[test]
fn patch_errors_table() {
    use ResourceKind::{Group, User};
    let cases: Vec<(&str, ResourceKind, Value, ScimType, &str)> = vec![
        // §3.5.2.2: "If "path" is unspecified, the operation fails with ... noTarget".
        (
            "remove without path",
            User,
            json!([{"op": "remove"}]),
            ScimType::NoTarget,
            "operation 1: \"path\" is required",
        ),
        // §3.5.2.3: a value path that matches nothing is noTarget on replace.
        (
            "replace unmatched filter",
            User,
            json!([{"op": "replace", "path": "emails[type eq \"pager\"].value", "value": "x"}]),
            ScimType::NoTarget,
            "no value of \"emails\" matches \"emails[type eq \"pager\"].value\"",
        ),
        // §3.5.2: readOnly targets.
        (
            "replace id",
            User,
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            ScimType::Mutability,
            "attribute \"id\" is readOnly",
        ),
        (
            "add meta.created",
            User,
            json!([{"op": "add", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]),
            ScimType::Mutability,
            "attribute \"meta.created\" is readOnly",
        ),
        (
            "add groups",
            User,
            json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
            ScimType::Mutability,
            "\"groups\" is readOnly",
        ),
        (
            "set server-managed enterprise attribute",
            User,
            json!([{"op": "add", "value": {format!("{ENT}:accountState"): "LOCKED"}}]),
            ScimType::Mutability,
            "accountState\" is readOnly",
        ),
        // §3.5.2.2: "If an attribute is removed ... and is defined as a required attribute ...
        // mutability".
        (
            "remove userName",
            User,
            json!([{"op": "remove", "path": "userName"}]),
            ScimType::Mutability,
            "\"userName\" is required",
        ),
        (
            "replace userName null",
            User,
            json!([{"op": "replace", "path": "userName", "value": null}]),
            ScimType::Mutability,
            "\"userName\" is required",
        ),
        (
            "remove displayName",
            Group,
            json!([{"op": "remove", "path": "displayName"}]),
            ScimType::Mutability,
            "\"displayName\" is required",
        ),
        // Immutable: members.value may not change.
        (
            "change immutable member value",
            Group,
            json!([{"op": "replace", "path": format!("members[value eq \"{MEMBER}\"].value"), "value": "other"}]),
            ScimType::Mutability,
            "is immutable",
        ),
        // invalidPath: unknown or malformed paths, naming them.
        (
            "unknown path",
            User,
            json!([{"op": "add", "path": "foo", "value": 1}]),
            ScimType::InvalidPath,
            "operation 1: unknown attribute \"foo\"",
        ),
        (
            "unknown sub",
            User,
            json!([{"op": "add", "path": "name.foo", "value": 1}]),
            ScimType::InvalidPath,
            "unknown attribute \"name.foo\"",
        ),
        (
            "unknown sub after filter",
            User,
            json!([{"op": "add", "path": "emails[type eq \"work\"].foo", "value": 1}]),
            ScimType::InvalidPath,
            "unknown attribute \"emails.foo\"",
        ),
        (
            "filter on singular",
            User,
            json!([{"op": "remove", "path": "userName[value eq \"x\"]"}]),
            ScimType::InvalidPath,
            "needs a multi-valued complex attribute",
        ),
        (
            "malformed path",
            User,
            json!([{"op": "remove", "path": "emails[type eq \"work\"]x"}]),
            ScimType::InvalidPath,
            "unexpected",
        ),
        (
            "members on a user",
            User,
            json!([{"op": "add", "path": "members", "value": []}]),
            ScimType::InvalidPath,
            "\"members\"",
        ),
        // invalidFilter inside the brackets.
        (
            "bad filter",
            User,
            json!([{"op": "remove", "path": "emails[type equals \"work\"]"}]),
            ScimType::InvalidFilter,
            "unknown operator",
        ),
        (
            "filter on unknown sub",
            User,
            json!([{"op": "remove", "path": "emails[kind eq \"work\"]"}]),
            ScimType::InvalidFilter,
            "kind",
        ),
        // invalidValue: op, value.
        (
            "unknown op",
            User,
            json!([{"op": "move", "path": "title"}]),
            ScimType::InvalidValue,
            "unknown op \"move\"",
        ),
        (
            "add without value",
            User,
            json!([{"op": "add", "path": "title"}]),
            ScimType::InvalidValue,
            "\"value\" is required",
        ),
        (
            "path-less add of a string",
            User,
            json!([{"op": "add", "value": "x"}]),
            ScimType::InvalidValue,
            "must be an object",
        ),
        (
            "path-less unknown key",
            User,
            json!([{"op": "replace", "value": {"foo": 1}}]),
            ScimType::InvalidValue,
            "unknown attribute \"foo\"",
        ),
        (
            "value path without sub needs an object",
            User,
            json!([{"op": "add", "path": "emails[type eq \"work\"]", "value": 5}]),
            ScimType::InvalidValue,
            "must be a JSON object",
        ),
        // Details count operations from 1.
        (
            "second operation named",
            User,
            json!([{"op": "add", "path": "title", "value": "x"}, {"op": "replace", "path": "id", "value": "y"}]),
            ScimType::Mutability,
            "operation 2: attribute \"id\" is readOnly",
        ),
    ];
    for (name, kind, ops, ty, detail) in cases {
        let res = if kind == Group { group() } else { user() };
        let (t, d) = err(patch(kind, res, ops)
            .map_err(|e| ScimError { detail: format!("{name}: {}", e.detail), ..e })
            .map(|_| name));
        assert_eq!(t, ty, "{name}: {d}");
        assert!(d.contains(detail), "{name}: {d:?} lacks {detail:?}");
    }
}

/// RFC 7644 §3.5.2: the PatchOp message itself.
#[test]
fn request_envelope_errors() {
    let r = reg();
    let cases: Vec<(Value, ScimType, &str)> = vec![
        (json!([]), ScimType::InvalidSyntax, "PatchOp JSON object"),
        (
            json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]}),
            ScimType::InvalidValue,
            PATCH_OP_SCHEMA,
        ),
        (json!({"schemas": [USER_SCHEMA], "Operations": []}), ScimType::InvalidValue, PATCH_OP_SCHEMA),
        (
            json!({"schemas": [PATCH_OP_SCHEMA]}),
            ScimType::InvalidSyntax,
            "\"Operations\" attribute is missing",
        ),
        (
            json!({"schemas": [PATCH_OP_SCHEMA], "Operations": {}}),
            ScimType::InvalidSyntax,
            "must be an array",
        ),
        (json!({"schemas": [PATCH_OP_SCHEMA], "Operations": []}), ScimType::InvalidValue, "at least one"),
        (
            json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ["add"]}),
            ScimType::InvalidSyntax,
            "operation 1:",
        ),
        (
            json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"path": "title"}]}),
            ScimType::InvalidValue,
            "\"op\" is missing",
        ),
    ];
    for (body, ty, detail) in cases {
        let (t, d) = err(parse_request(&r, ResourceKind::User, body.clone()));
        assert_eq!(t, ty, "{body}: {d}");
        assert!(d.contains(detail), "{body}: {d:?} lacks {detail:?}");
    }
}

/// RFC 7644 §3.5.2: op names and message keys in any case (Entra ID sends "Replace"); paths
/// come back bound, in the schema's spelling.
#[test]
fn parse_request_normalises_ops_and_paths() {
    let r = reg();
    let body = json!({"SCHEMAS": [PATCH_OP_SCHEMA.to_uppercase()], "operations": [
        {"OP": "Replace", "Path": "NAME.givenname", "Value": "x"},
        {"op": "REMOVE", "path": "Emails[Type eq \"work\"].VALUE"},
        {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:MANAGER", "value": "m"}
    ]});
    let ops = parse_request(&r, ResourceKind::User, body).unwrap();
    let kinds: Vec<OpKind> = ops.iter().map(|o| o.op).collect();
    assert_eq!(kinds, [OpKind::Replace, OpKind::Remove, OpKind::Add]);
    let paths: Vec<String> = ops.iter().map(|o| o.path.as_ref().unwrap().to_string()).collect();
    assert_eq!(paths, ["name.givenName", "emails[Type eq \"work\"].value", &format!("{ENT}:manager")]);
    assert_eq!(ops[0].value, Some(json!("x")));
    assert_eq!(ops[1].value, None);
}

/// RFC 7644 §3.5.2: "each operation ... applied in sequence"; all or nothing: a failing
/// operation returns the error and no resource.
#[test]
fn operations_apply_in_order() {
    let out = patch(
        ResourceKind::User,
        bare_user(),
        json!([
            {"op": "add", "path": "title", "value": "a"},
            {"op": "replace", "path": "title", "value": "b"},
            {"op": "add", "path": "emails", "value": {"value": "k@x", "type": "work"}},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "k@y"},
            {"op": "remove", "path": "emails[value eq \"k@y\"]"}
        ]),
    )
    .unwrap();
    assert_eq!(out, json!({"schemas": [USER_SCHEMA], "id": "u2", "userName": "kim", "title": "b"}));
}

/// Removing the only extension attribute drops the extension object and its `schemas` entry.
#[test]
fn removing_last_extension_attribute_drops_the_extension() {
    let res =
        obj(json!({"schemas": [USER_SCHEMA, ENT], "id": "u", "userName": "k", ENT: {"department": "R&D"}}));
    let out = patch(ResourceKind::User, res, json!([{"op": "remove", "path": format!("{ENT}:department")}]))
        .unwrap();
    assert_eq!(out, json!({"schemas": [USER_SCHEMA], "id": "u", "userName": "k"}));
    let res = obj(
        json!({"schemas": [USER_SCHEMA, ENT], "id": "u", "userName": "k", ENT: {"department": "R&D", "accountState": "LOCKED"}}),
    );
    let out = patch(ResourceKind::User, res, json!([{"op": "remove", "path": ENT}])).unwrap();
    assert_eq!(out[ENT], json!({"accountState": "LOCKED"}), "server-managed attributes stay");
}

/// Okta echoes back `id` in a path-less replace; readOnly core attributes there are ignored
/// (RFC 7644 §3.5.1), even when they differ.
#[test]
fn path_less_read_only_core_attributes_are_ignored() {
    let out = patch(
        ResourceKind::User,
        user(),
        json!([{"op": "replace", "value": {"id": "other", "meta": {"version": "W/\"1\""}, "groups": [], "schemas": [USER_SCHEMA], "title": "T"}}]),
    )
    .unwrap();
    assert_eq!(out["id"], "u1");
    assert!(out.get("meta").is_none() && out.get("groups").is_none());
    assert_eq!(out["title"], "T");
}

fn member_ops(ops: Value) -> Option<MemberChanges> {
    member_changes(&parse_request(&reg(), ResourceKind::Group, req(ops)).unwrap())
}

/// Issue 4, large groups: the member operations of Entra ID, Okta and RFC 7644 §3.5.2 fold into
/// adds, removes, a clear or a new list, and the rest stays for `apply`.
#[test]
fn member_changes_table() {
    let m = |id: &str| json!({"value": id});
    let cases: Vec<(&str, Value, MemberChanges)> = vec![
        (
            "entra add",
            json!([{"op": "Add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}]),
            MemberChanges { add: vec![m("a"), m("b")], ..Default::default() },
        ),
        (
            "entra remove by value array",
            json!([{"op": "Remove", "path": "members", "value": [{"value": "a"}]}]),
            MemberChanges { remove: vec!["a".into()], ..Default::default() },
        ),
        (
            "okta remove by filter, many ops",
            json!([{"op": "remove", "path": "members[value eq \"a\"]"}, {"op": "remove", "path": "members[value eq \"b\"]"}]),
            MemberChanges { remove: vec!["a".into(), "b".into()], ..Default::default() },
        ),
        (
            "remove by or filter",
            json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]"}]),
            MemberChanges { remove: vec!["a".into(), "b".into()], ..Default::default() },
        ),
        (
            "okta empty",
            json!([{"op": "replace", "path": "members", "value": []}]),
            MemberChanges { clear: true, ..Default::default() },
        ),
        (
            "rfc remove all",
            json!([{"op": "remove", "path": "members"}]),
            MemberChanges { clear: true, ..Default::default() },
        ),
        (
            "clear then add",
            json!([{"op": "remove", "path": "members"}, {"op": "add", "path": "members", "value": [{"value": "a"}]}, {"op": "remove", "path": "members[value eq \"x\"]"}]),
            MemberChanges { clear: true, add: vec![m("a")], ..Default::default() },
        ),
        (
            "rfc replace list, then fold",
            json!([
                {"op": "remove", "path": "members[value eq \"z\"]"},
                {"op": "replace", "path": "members", "value": [{"value": "a", "display": "A"}, {"value": "b"}]},
                {"op": "add", "path": "members", "value": {"value": "c"}},
                {"op": "remove", "path": "members[value eq \"b\"]"}
            ]),
            MemberChanges {
                replace_with: Some(vec![json!({"value": "a", "display": "A"}), m("c")]),
                ..Default::default()
            },
        ),
        (
            "add then remove the same id cancels",
            json!([{"op": "add", "path": "members", "value": [{"value": "a"}]}, {"op": "remove", "path": "members[value eq \"A\"]"}]),
            MemberChanges { remove: vec!["A".into()], ..Default::default() },
        ),
        (
            "remove then add the same id",
            json!([{"op": "remove", "path": "members[value eq \"a\"]"}, {"op": "add", "path": "members", "value": [{"Value": "a"}, {"value": "a"}]}]),
            MemberChanges { add: vec![m("a")], ..Default::default() },
        ),
        (
            "okta rename stays in rest; path-less members split out",
            json!([{"op": "replace", "value": {"id": "g1", "displayName": "New", "members": [{"value": "a"}]}}]),
            MemberChanges {
                replace_with: Some(vec![m("a")]),
                rest: vec![PatchOp {
                    op: OpKind::Replace,
                    path: None,
                    value: Some(json!({"id": "g1", "displayName": "New"})),
                }],
                ..Default::default()
            },
        ),
        (
            "no member ops",
            json!([{"op": "replace", "path": "displayName", "value": "x"}]),
            MemberChanges {
                rest: vec![PatchOp {
                    op: OpKind::Replace,
                    path: Some(filter::parse_patch_path("displayName").unwrap()),
                    value: Some(json!("x")),
                }],
                ..Default::default()
            },
        ),
    ];
    for (name, ops, want) in cases {
        assert_eq!(member_ops(ops), Some(want), "{name}");
    }
}

/// Member operations that are not plain adds and removes by id are left to `apply`.
#[test]
fn member_changes_refuses_other_shapes() {
    let cases = [
        json!([{"op": "add", "path": "members", "value": [{"display": "no value"}]}]),
        json!([{"op": "remove", "path": "members[display eq \"x\"]"}]),
        json!([{"op": "remove", "path": "members[value eq \"a\" and type eq \"User\"]"}]),
        json!([{"op": "replace", "path": "members[value eq \"a\"].display", "value": "x"}]),
        json!([{"op": "remove", "path": "members.display"}]),
        json!([{"op": "remove", "path": "members", "value": [{"display": "x"}]}]),
        json!([{"op": "add", "value": {"members.display": "x"}}]),
    ];
    for ops in cases {
        assert_eq!(member_ops(ops.clone()), None, "{ops}");
    }
}

/// The member changes and `apply` agree: applying the changes to the member list gives what
/// `apply` gives for the whole request.
#[test]
fn member_changes_agree_with_apply() {
    let requests = [
        json!([{"op": "Add", "path": "members", "value": [{"value": "m3"}, {"value": MEMBER}]}]),
        json!([{"op": "Remove", "path": "members", "value": [{"value": MEMBER}]}, {"op": "add", "path": "members", "value": {"value": "m4"}}]),
        json!([{"op": "replace", "path": "members", "value": []}, {"op": "add", "path": "members", "value": [{"value": "m5"}]}]),
        json!([{"op": "replace", "path": "members", "value": [{"value": "m6"}]}, {"op": "remove", "path": "members[value eq \"m6\"]"}]),
    ];
    let ids = |v: &Value| -> Vec<String> {
        let mut ids: Vec<String> = v
            .as_array()
            .map(|l| l.iter().map(|m| m["value"].as_str().unwrap().to_lowercase()).collect())
            .unwrap_or_default();
        ids.sort();
        ids
    };
    for ops in requests {
        let whole = patch(ResourceKind::Group, group(), ops.clone()).unwrap();
        let c = member_ops(ops.clone()).unwrap();
        let mut members: Vec<Value> = group()["members"].as_array().unwrap().clone();
        if c.clear {
            members.clear();
        }
        if let Some(list) = c.replace_with {
            members = list;
        }
        members.retain(|m| !c.remove.iter().any(|r| r.eq_ignore_ascii_case(m["value"].as_str().unwrap())));
        for a in c.add {
            if !members.iter().any(|m| m["value"] == a["value"]) {
                members.push(a);
            }
        }
        assert_eq!(ids(&Value::Array(members)), ids(&whole["members"]), "{ops}");
    }
}

/// The custom extension with `devices` (multi-valued string), `customAttribute` (string) and
/// `badges` (multi-valued complex), as an admin would define them (DESIGN.md).
fn custom_reg() -> SchemaRegistry {
    let mut r = reg();
    let attrs = [
        json!({"name": "customAttribute"}),
        json!({"name": "devices", "multiValued": true}),
        json!({"name": "badges", "type": "complex", "multiValued": true, "subAttributes": [
            {"name": "value"}, {"name": "type"}, {"name": "serial", "caseExact": true}]}),
    ]
    .iter()
    .map(|d| crate::custom::parse_attribute(d).unwrap())
    .collect();
    r.add_extension(ResourceKind::User, crate::custom::custom_schema(CUSTOM, attrs), false).unwrap();
    r
}

const CUSTOM: &str = "urn:scim:wso2:schema";

fn custom_patch(res: Map<String, Value>, ops: Value) -> ScimResult<Value> {
    let r = custom_reg();
    let ops = parse_request(&r, ResourceKind::User, req(ops))?;
    let out = apply(&r, ResourceKind::User, res.clone(), &ops)?;
    // The result passes validation as a replacement, as the server checks it.
    validate(&r, ResourceKind::User, Value::Object(out), WriteMode::Replace { existing: &res })
        .map(Value::Object)
}

/// RFC 7644 §3.5.2.1 (add to a multi-valued attribute appends), DESIGN.md (claim URI
/// `urn:scim:wso2:schema:devices`): PATCH paths into the custom extension, simple and complex.
#[test]
fn custom_extension_paths_add_replace_remove() {
    let res = obj(json!({"schemas": [USER_SCHEMA, CUSTOM], "id": "u", "userName": "k",
        CUSTOM: {"devices": ["d1"]}}));
    let out = custom_patch(
        res.clone(),
        json!([{"op": "add", "path": "urn:scim:wso2:schema:devices", "value": ["d2", "d1"]}]),
    )
    .unwrap();
    assert_eq!(out[CUSTOM]["devices"], json!(["d1", "d2"]), "add appends, without duplicates");
    let out = custom_patch(
        res.clone(),
        json!([{"op": "Add", "path": "URN:SCIM:WSO2:SCHEMA:Devices", "value": "d3"}]),
    )
    .unwrap();
    assert_eq!(out[CUSTOM]["devices"], json!(["d1", "d3"]), "a lone value, any case");
    let out = custom_patch(
        res.clone(),
        json!([{"op": "replace", "path": "urn:scim:wso2:schema:devices", "value": ["x"]}]),
    )
    .unwrap();
    assert_eq!(out[CUSTOM]["devices"], json!(["x"]));
    let out =
        custom_patch(res.clone(), json!([{"op": "remove", "path": "urn:scim:wso2:schema:devices"}])).unwrap();
    assert!(out.get(CUSTOM).is_none());
    assert_eq!(out["schemas"], json!([USER_SCHEMA]));
    // A path-less add with the extension object, and with a qualified key (Entra ID).
    let out = custom_patch(
        bare_user(),
        json!([{"op": "add", "value": {CUSTOM: {"customAttribute": "v"},
        "urn:scim:wso2:schema:devices": ["d9"]}}]),
    )
    .unwrap();
    assert_eq!(out[CUSTOM], json!({"customAttribute": "v", "devices": ["d9"]}));
    assert_eq!(out["schemas"], json!([USER_SCHEMA, CUSTOM]));
    // A value path into the multi-valued complex attribute.
    let res = obj(json!({"schemas": [USER_SCHEMA, CUSTOM], "id": "u", "userName": "k",
        CUSTOM: {"badges": [{"value": "b1", "type": "door"}]}}));
    let out = custom_patch(
        res,
        json!([{"op": "add", "path": "urn:scim:wso2:schema:badges[type eq \"door\"].serial", "value": "S1"}]),
    )
    .unwrap();
    assert_eq!(out[CUSTOM]["badges"], json!([{"value": "b1", "type": "door", "serial": "S1"}]));
    // An attribute the custom schema does not define.
    let (t, d) = err(custom_patch(
        bare_user(),
        json!([{"op": "add", "path": "urn:scim:wso2:schema:phones", "value": "x"}]),
    ));
    assert_eq!(t, ScimType::InvalidPath);
    assert!(d.contains("urn:scim:wso2:schema:phones"), "{d}");
}
