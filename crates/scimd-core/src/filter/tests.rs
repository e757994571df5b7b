#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::error::ScimType;
use crate::path::AttrPath;
use crate::registry::SchemaRegistry;
use crate::schema::ResourceKind;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn p(text: &str) -> Filter {
    parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn path(text: &str) -> AttrPath {
    AttrPath::parse(text).unwrap()
}

fn cmp(path_text: &str, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare { path: path(path_text), op, value, span: 0..0 }
}

fn s(text: &str) -> CompValue {
    CompValue::Str(text.into())
}

fn assert_same(got: &Filter, want: &Filter) {
    assert!(got.eq_ignoring_spans(want), "got {got:?}\nwant {want:?}");
}

/// RFC 7644 §3.4.2.2, the example filters after Table 3.
const RFC_EXAMPLES: [&str; 14] = [
    r#"userName eq "bjensen""#,
    r#"name.familyName co "O'Malley""#,
    r#"userName sw "J""#,
    r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
    r#"title pr"#,
    r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
    r#"title pr and userType eq "Employee""#,
    r#"title pr or userType eq "Intern""#,
    r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
    r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType eq "Employee" and (emails.type eq "work")"#,
    r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
    r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
];

// ---------------------------------------------------------------------------------------------
// Parsing

/// RFC 7644 §3.4.2.2: every example filter of the RFC parses, prints canonically as itself
/// (all but one are already canonical: `(emails.type eq "work")` loses its needless
/// parentheses), and checks against the User schemas.
#[test]
fn filter_parses_every_rfc_example() {
    let reg = SchemaRegistry::builtin().unwrap();
    for text in RFC_EXAMPLES {
        let f = p(text);
        assert!(p(&f.to_string()).eq_ignoring_spans(&f), "{text}");
        if !text.contains("(emails.type") {
            assert_eq!(f.to_string(), text);
        }
        check(&f, &reg, ResourceKind::User).unwrap_or_else(|e| panic!("{text}: {e}"));
    }
}

/// RFC 7644 §3.4.2.2: `userName eq "bjensen"` is an attrExp with spans on the node.
#[test]
fn filter_parses_comparison_with_span() {
    let f = p(r#"userName eq "bjensen""#);
    assert_eq!(
        f,
        Filter::Compare { path: path("userName"), op: CompareOp::Eq, value: s("bjensen"), span: 0..21 }
    );
    assert_eq!(p("  title   pr ").span(), 2..12);
}

/// RFC 7644 §3.10 / §3.4.2.2: the schema URI prefix contains ":" and "." and ends at the last ":".
#[test]
fn filter_splits_schema_uri_at_last_colon() {
    let f = p(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "x""#);
    let Filter::Compare { path, .. } = f else { panic!() };
    assert_eq!(path.schema.as_deref(), Some("urn:ietf:params:scim:schemas:core:2.0:User"));
    assert_eq!(path.attr, "name");
    assert_eq!(path.sub.as_deref(), Some("familyName"));
    let f = p(&format!("{ENTERPRISE}:manager.value eq \"26118915-6090-4610-87e4-49d8ca9f808d\""));
    let Filter::Compare { path, .. } = f else { panic!() };
    assert_eq!(path.schema.as_deref(), Some(ENTERPRISE));
    assert_eq!((path.attr.as_str(), path.sub.as_deref()), ("manager", Some("value")));
}

/// RFC 7644 §3.4.2.2: "and" binds tighter than "or"; both are left-associative.
#[test]
fn filter_precedence_or_and_not() {
    let a = || cmp("a", CompareOp::Eq, CompValue::Num(1.into()));
    let b = || cmp("b", CompareOp::Eq, CompValue::Num(2.into()));
    let c = || cmp("c", CompareOp::Eq, CompValue::Num(3.into()));
    let and = |l, r| Filter::And(Box::new(l), Box::new(r));
    let or = |l, r| Filter::Or(Box::new(l), Box::new(r));
    let not = |f| Filter::Not(Box::new(f));
    assert_same(&p("a eq 1 or b eq 2 and c eq 3"), &or(a(), and(b(), c())));
    assert_same(&p("a eq 1 and b eq 2 or c eq 3"), &or(and(a(), b()), c()));
    assert_same(&p("(a eq 1 or b eq 2) and c eq 3"), &and(or(a(), b()), c()));
    assert_same(&p("a eq 1 and b eq 2 and c eq 3"), &and(and(a(), b()), c()));
    assert_same(&p("a eq 1 or b eq 2 or c eq 3"), &or(or(a(), b()), c()));
    assert_same(&p("not (a eq 1) and b eq 2"), &and(not(a()), b()));
    assert_same(&p("not(a eq 1 or b eq 2)"), &not(or(a(), b())));
    assert_same(&p("((a eq 1))"), &a());
}

/// A bare `and`, `or` or `not` where a filter starts is the keyword, never an attribute name
/// (no SCIM schema has such an attribute); qualified or as a sub-attribute they are names.
#[test]
fn filter_reserves_keywords() {
    assert!(parse_filter("and pr").is_err());
    assert!(parse_filter("not eq 1").is_err());
    assert_same(&p("x.and pr"), &Filter::Present { path: path("x.and"), span: 0..0 });
    assert_same(&p("pr pr"), &Filter::Present { path: path("pr"), span: 0..0 });
    assert_same(&p("eq eq 1"), &cmp("eq", CompareOp::Eq, CompValue::Num(1.into())));
}

/// RFC 7644 §3.4.2.2: "Attribute names and attribute operators used in filters are case
/// insensitive"; so are the keywords and true/false/null.
#[test]
fn filter_keywords_are_case_insensitive() {
    let f = p(r#"title PR AND NOT (active Eq TRUE) Or x Ne NULL"#);
    assert_eq!(f.to_string(), "title pr and not (active eq true) or x ne null");
    assert_same(&p("active eq False"), &cmp("active", CompareOp::Eq, CompValue::Bool(false)));
}

/// RFC 7644 §3.4.2.2: compValue is a JSON value: strings with escapes, numbers.
#[test]
fn filter_reads_json_values() {
    assert_same(&p(r#"a eq "x\"y\u00e9""#), &cmp("a", CompareOp::Eq, s("x\"yé")));
    assert_same(
        &p("a gt -1.5e2"),
        &cmp("a", CompareOp::Gt, CompValue::Num(serde_json::Number::from_f64(-150.0).unwrap())),
    );
    assert_same(&p("a le 42"), &cmp("a", CompareOp::Le, CompValue::Num(42.into())));
}

/// RFC 7644 §3.4.2.2: `emails[type eq "work" and value co "@example.com"]` is a valuePath
/// whose filter names sub-attributes.
#[test]
fn filter_parses_value_path() {
    let f = p(r#"emails[type eq "work" and value co "@example.com"]"#);
    let Filter::ValuePath { path: vp, filter, span } = &f else { panic!("{f:?}") };
    assert_eq!(vp, &path("emails"));
    assert_eq!(span, &(0..50));
    assert_same(
        filter,
        &Filter::And(
            Box::new(cmp("type", CompareOp::Eq, s("work"))),
            Box::new(cmp("value", CompareOp::Co, s("@example.com"))),
        ),
    );
}

/// RFC 7644 §3.5.2, Figure 7: `PATH = attrPath / valuePath [subAttr]`.
#[test]
fn patch_path_forms() {
    let pp = parse_patch_path(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#).unwrap();
    assert_eq!(pp.attr, path("members"));
    assert_eq!(pp.sub, None);
    assert_same(
        pp.filter.as_ref().unwrap(),
        &cmp("value", CompareOp::Eq, s("2819c223-7f76-453a-919d-413861904646")),
    );

    let pp = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
    assert_eq!(pp.attr, path("emails"));
    assert_eq!(pp.sub.as_deref(), Some("value"));
    assert_eq!(pp.to_string(), r#"emails[type eq "work"].value"#);

    let pp = parse_patch_path(&format!("{ENTERPRISE}:manager")).unwrap();
    assert_eq!(pp, PatchPath { attr: path(&format!("{ENTERPRISE}:manager")), filter: None, sub: None });

    let pp = parse_patch_path("name.givenName").unwrap();
    assert_eq!(pp, PatchPath { attr: path("name.givenName"), filter: None, sub: None });
}

/// RFC 7644 §3.12: a malformed path is `invalidPath`; a bad filter inside it `invalidFilter`.
#[test]
fn patch_path_errors() {
    let cases = [
        ("", ScimType::InvalidPath, "expected an attribute path at 0..0"),
        ("emails[", ScimType::InvalidFilter, "unexpected end of filter at 7..7"),
        (
            r#"emails[type eq "work"]."#,
            ScimType::InvalidPath,
            "expected a sub-attribute name after \"]\" and \".\" at 23..23",
        ),
        (r#"emails[type eq "work"]x"#, ScimType::InvalidPath, "unexpected \"x\" at 22..23"),
        (r#"emails[type equals "work"]"#, ScimType::InvalidFilter, "unknown operator \"equals\" at 12..18"),
        (
            r#"emails.value[type eq "work"]"#,
            ScimType::InvalidPath,
            "a value filter cannot follow the sub-attribute \"value\" of \"emails.value\" at 0..12",
        ),
        ("name.givenName.x", ScimType::InvalidPath, "invalid attribute path \"name.givenName.x\" at 0..16"),
        ("userName eq \"x\"", ScimType::InvalidPath, "unexpected \"eq\" at 9..11"),
    ];
    for (text, ty, detail) in cases {
        let e = parse_patch_path(text).expect_err(text);
        assert_eq!((e.scim_type, e.detail.as_str()), (Some(ty), detail), "{text}");
    }
}

/// STYLE.md, Errors: the detail says what is wrong and where (`at 9..11`). Table-driven.
#[test]
fn filter_error_text() {
    let cases = [
        (r#"userName "bjensen""#, r#"expected a comparison operator after "userName" at 9..18"#),
        ("userName", r#"expected a comparison operator after "userName" at 8..8"#),
        (r#"userName equals "bjensen""#, r#"unknown operator "equals" at 9..15"#),
        (r#"userName eq "bjensen"#, "unclosed string at 12.."),
        (
            "userName eq bjensen",
            r#"expected a comparison value (a string, number, true, false or null) after "eq" at 12..19"#,
        ),
        (
            "userName eq",
            r#"expected a comparison value (a string, number, true, false or null) after "eq" at 11..11"#,
        ),
        (r#"(userName eq "bjensen")) and title pr"#, r#"unexpected ")" at 23..24"#),
        (
            r#"(userName eq "bjensen""#,
            r#"expected ")" to close the "(" at 0..1, found end of filter at 22..22"#,
        ),
        (r#"not userName eq "x""#, r#"expected "(" after "not" at 4..12"#),
        (r#"userName eq "x" and"#, "unexpected end of filter at 19..19"),
        (r#"userName eq "x" or or title pr"#, r#"unexpected "or" at 19..21"#),
        (r#"userName eq "x" title pr"#, r#"unexpected "title" at 16..21"#),
        ("", "unexpected end of filter at 0..0"),
        ("   ", "unexpected end of filter at 3..3"),
        (")", r#"unexpected ")" at 0..1"#),
        (r#""x" eq userName"#, r#"unexpected string "x" at 0..3"#),
        ("5 eq x", r#"unexpected number 5 at 0..1"#),
        (
            r#"emails[type eq "work""#,
            r#"expected "]" to close the "[" at 6..7, found end of filter at 21..21"#,
        ),
        (r#"emails[type eq "work")"#, r#"expected "]" to close the "[" at 6..7, found ")" at 21..22"#),
        (r#"emails[x[y pr]]"#, r#"value paths cannot be nested: unexpected "[" at 8..9"#),
        (
            r#"emails[type eq "work"].value eq "x""#,
            r#"unexpected "." at 22..23: a sub-attribute after "[...]" belongs in a PATCH path, in a filter write attr[sub eq value]"#,
        ),
        ("name..givenName pr", r#"invalid attribute path "name..givenName" at 0..15"#),
        ("name.givenName.x pr", r#"invalid attribute path "name.givenName.x" at 0..16"#),
        ("urn:foo: pr", r#"invalid attribute path "urn:foo:" at 0..8"#),
        ("x eq 01", r#"invalid number "01" at 5..7"#),
        (r#"x eq "\x""#, r#"invalid escape "\x" in string at 6..8"#),
        ("x eq #", "unexpected character '#' at 5..6"),
        ("x eq 'y'", "unexpected character '\\'' at 5..6"),
    ];
    for (text, detail) in cases {
        let e = parse_filter(text).expect_err(text);
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{text}");
        assert_eq!(e.status, 400);
        assert_eq!(e.detail, detail, "{text}");
    }
}

/// Bounded input: a filter longer than MAX_LEN is refused before lexing.
#[test]
fn filter_rejects_too_long_text() {
    let text = format!("userName eq \"{}\"", "a".repeat(MAX_LEN));
    let e = parse_filter(&text).unwrap_err();
    assert_eq!(e.detail, format!("filter is too long: {} bytes, at most {MAX_LEN}", text.len()));
    assert!(parse_filter(&format!("userName eq \"{}\"", "a".repeat(MAX_LEN - 20))).is_ok());
}

/// Bounded nesting: MAX_DEPTH parentheses parse, one more is refused with its span.
#[test]
fn filter_rejects_too_deep_nesting() {
    let ok = format!("{}title pr{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(parse_filter(&ok).is_ok());
    let deep = format!("{}title pr{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    let e = parse_filter(&deep).unwrap_err();
    assert_eq!(e.detail, format!("filter nests deeper than {MAX_DEPTH} levels at 64..65"));
    let nots = format!("{}title pr{}", "not (".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    assert!(parse_filter(&nots).unwrap_err().detail.starts_with("filter nests deeper"));
    // A long flat chain is not nesting.
    let chain = vec!["title pr"; 500].join(" and ");
    assert!(parse_filter(&chain).is_ok());
}

/// A canonical text prints parentheses only where precedence needs them.
#[test]
fn filter_display_is_canonical() {
    let cases = [
        ("(a pr or b pr) and c pr", "(a pr or b pr) and c pr"),
        ("a pr or (b pr and c pr)", "a pr or b pr and c pr"),
        ("a pr and (b pr and c pr)", "a pr and (b pr and c pr)"),
        ("a pr or (b pr or c pr)", "a pr or (b pr or c pr)"),
        ("not(a pr)", "not (a pr)"),
        ("x[ a EQ  \"q\\u0001\\/\" ]", "x[a eq \"q\\u0001/\"]"),
    ];
    for (text, want) in cases {
        assert_eq!(p(text).to_string(), want);
    }
}

// ---------------------------------------------------------------------------------------------
// Property: parse(display(f)) == f, up to spans.

fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("userName".to_string()),
        Just("eq".to_string()),
        Just("pr".to_string()),
        Just("$ref".to_string()),
        // A bare `and`, `or` or `not` reads as a keyword (see `filter_reserves_keywords`).
        "[a-zA-Z][a-zA-Z0-9_$-]{0,8}"
            .prop_filter("keyword", |n| { !["and", "or", "not"].iter().any(|k| k.eq_ignore_ascii_case(n)) }),
    ]
}

fn arb_path() -> impl Strategy<Value = AttrPath> {
    let schema = prop_oneof![
        3 => Just(None),
        1 => Just(Some("urn:ietf:params:scim:schemas:core:2.0:User".to_string())),
        1 => Just(Some(ENTERPRISE.to_string())),
    ];
    (schema, arb_name(), proptest::option::of(arb_name())).prop_map(|(schema, attr, sub)| AttrPath {
        schema,
        attr,
        sub,
    })
}

fn arb_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        any::<String>().prop_map(CompValue::Str),
        any::<i64>().prop_map(|n| CompValue::Num(n.into())),
        any::<u64>().prop_map(|n| CompValue::Num(n.into())),
        any::<f64>().prop_filter_map("finite", serde_json::Number::from_f64).prop_map(CompValue::Num),
        any::<bool>().prop_map(CompValue::Bool),
        Just(CompValue::Null),
    ]
}

fn arb_op() -> impl Strategy<Value = CompareOp> {
    proptest::sample::select(CompareOp::ALL.to_vec())
}

/// Filters without value paths (what may go inside `[...]`).
fn arb_val_filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        (arb_path(), arb_op(), arb_value()).prop_map(|(path, op, value)| Filter::Compare {
            path,
            op,
            value,
            span: 0..0
        }),
        arb_path().prop_map(|path| Filter::Present { path, span: 0..0 }),
    ];
    leaf.prop_recursive(6, 32, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::And(Box::new(l), Box::new(r))),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::Or(Box::new(l), Box::new(r))),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        3 => arb_val_filter(),
        1 => (arb_path(), arb_val_filter()).prop_map(|(path, f)| Filter::ValuePath {
            path,
            filter: Box::new(f),
            span: 0..0
        }),
    ];
    leaf.prop_recursive(4, 32, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::And(Box::new(l), Box::new(r))),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::Or(Box::new(l), Box::new(r))),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

proptest! {
    #[test]
    fn filter_display_parses_back(f in arb_filter()) {
        let text = f.to_string();
        let back = parse_filter(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert!(back.eq_ignoring_spans(&f), "{text}\n{back:?}\n{f:?}");
        prop_assert_eq!(back.to_string(), text);
    }

    /// Spans point into the text: every leaf's span starts at its path.
    #[test]
    fn filter_spans_point_at_paths(f in arb_filter()) {
        let text = f.to_string();
        let back = parse_filter(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let mut stack = vec![&back];
        while let Some(node) = stack.pop() {
            match node {
                Filter::Compare { path, span, .. } | Filter::Present { path, span } => {
                    prop_assert!(text[span.clone()].starts_with(&path.to_string()));
                }
                Filter::ValuePath { path, span, filter } => {
                    prop_assert!(text[span.clone()].starts_with(&path.to_string()));
                    prop_assert!(text[span.clone()].ends_with(']'));
                    stack.push(filter);
                }
                Filter::And(l, r) | Filter::Or(l, r) => { stack.push(l); stack.push(r); }
                Filter::Not(inner) => stack.push(inner),
            }
        }
    }

    /// The parser never panics, whatever the input.
    #[test]
    fn filter_parser_survives_any_text(text in "[ -~\\[\\]()\"\\\\a-z:.é]{0,60}") {
        let _ = parse_filter(&text);
        let _ = parse_patch_path(&text);
    }
}

// ---------------------------------------------------------------------------------------------
// Binding

fn reg() -> SchemaRegistry {
    SchemaRegistry::builtin().unwrap()
}

fn check_user(text: &str) -> crate::error::ScimResult<()> {
    check(&p(text), &reg(), ResourceKind::User)
}

/// RFC 7644 §3.4.2.2 and Table 9: an unsupported attribute/operator combination is invalidFilter.
#[test]
fn check_error_text() {
    let cases = [
        ("nickname pr and foo eq \"x\"", "unknown attribute \"foo\" at 16..19"),
        ("name.nope pr", "unknown attribute \"name.nope\" at 0..9"),
        ("urn:x:y:userName eq \"x\"", "unknown attribute \"urn:x:y:userName\" at 0..16"),
        ("active gt true", "operator \"gt\" does not apply to the boolean attribute \"active\" at 0..14"),
        (
            "x509Certificates.value lt \"AAA\"",
            "operator \"lt\" does not apply to the binary attribute \"x509Certificates.value\" at 0..31",
        ),
        ("active co \"t\"", "operator \"co\" does not apply to the boolean attribute \"active\" at 0..13"),
        ("name eq \"Babs\"", "cannot compare the complex attribute \"name\" without a sub-attribute at 0..4"),
        ("active eq \"true\"", "cannot compare the boolean attribute \"active\" with \"true\" at 0..16"),
        ("userName eq 5", "cannot compare the string attribute \"userName\" with 5 at 0..13"),
        ("title gt null", "operator \"gt\" cannot compare \"title\" with null at 0..13"),
        (
            "meta.created gt \"yesterday\"",
            "\"yesterday\" is not a dateTime (RFC 3339, like \"2011-05-13T04:42:34Z\") for \"meta.created\" at 0..27",
        ),
        ("emails[nope eq \"x\"]", "\"nope\" is not a sub-attribute of \"emails\" at 7..11"),
        ("emails[emails.type eq \"x\"]", "\"emails.type\" is not a sub-attribute of \"emails\" at 7..18"),
        (
            "userName[value eq \"x\"]",
            "\"userName\" is not a complex attribute, so it takes no value filter at 0..8",
        ),
        ("emails[type eq 1]", "cannot compare the string attribute \"type\" with 1 at 7..16"),
    ];
    for (text, detail) in cases {
        let e = check_user(text).expect_err(text);
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{text}");
        assert_eq!(e.detail, detail, "{text}");
    }
}

/// RFC 7644 §3.4.2.2: fully qualified, extension, common and sub-attribute paths all bind;
/// `pr` applies to complex attributes; `schemas` is a filter attribute.
#[test]
fn check_accepts_valid_filters() {
    for text in [
        "name pr",
        "emails pr",
        "id eq \"2819c223\"",
        "externalId sw \"x\"",
        "meta.resourceType eq \"User\"",
        "meta.created ge \"2011-05-13T04:42:34.123+02:00\"",
        "meta.created co \"2011\"",
        "active eq true",
        "active ne null",
        &format!("{ENTERPRISE}:employeeNumber eq \"701984\""),
        &format!("{ENTERPRISE}:manager.value eq \"x\""),
        "urn:ietf:params:scim:schemas:core:2.0:id eq \"x\"",
        "USERNAME EQ \"bjensen\"",
        "emails[TYPE eq \"work\" and not (primary eq false)]",
        "x509Certificates.value eq \"AAA\"",
    ] {
        check_user(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    }
    check(&p("members[value eq \"x\"] and displayName co \"ops\""), &reg(), ResourceKind::Group).unwrap();
    let e = check(&p("userName eq \"x\""), &reg(), ResourceKind::Group).unwrap_err();
    assert_eq!(e.detail, "unknown attribute \"userName\" at 0..8");
}

/// A value filter of a PATCH path checks against the parent's sub-attributes.
#[test]
fn check_value_filter_of_patch_path() {
    let r = reg();
    let emails = r.resolve(ResourceKind::User, &path("emails")).unwrap().attr;
    let pp = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
    check_value_filter(pp.filter.as_ref().unwrap(), emails).unwrap();
    let pp = parse_patch_path(r#"emails[kind eq "work"]"#).unwrap();
    let e = check_value_filter(pp.filter.as_ref().unwrap(), emails).unwrap_err();
    assert_eq!(e.detail, "\"kind\" is not a sub-attribute of \"emails\" at 7..11");
}

// ---------------------------------------------------------------------------------------------
// Evaluation

fn bjensen() -> Map<String, Value> {
    let v = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "bjensen",
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\"",
            "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
        },
        "userName": "bjensen",
        "name": { "familyName": "O'Malley", "givenName": "Barbara" },
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
        ],
        "ims": [ { "value": "babs@foo.com", "type": "xmpp" } ],
        "x509Certificates": [ { "value": "MIIDQzCCAqy" } ],
        ENTERPRISE: {
            "employeeNumber": "701984",
            "manager": { "value": "26118915", "displayName": "John Smith" }
        }
    });
    let Value::Object(map) = v else { panic!() };
    map
}

fn intern() -> Map<String, Value> {
    let v = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "c3a26dd3",
        "meta": { "resourceType": "User", "created": "2011-08-01T18:29:49.793Z", "lastModified": "2011-08-01T21:32:44.882+02:00" },
        "userName": "jsmith",
        "title": "",
        "userType": "Intern",
        "active": false,
        "emails": [ { "value": "jsmith@example.org", "type": "work" } ],
        "ims": [],
    });
    let Value::Object(map) = v else { panic!() };
    map
}

fn eval(text: &str, resource: &Map<String, Value>) -> bool {
    let r = reg();
    let f = p(text);
    check(&f, &r, ResourceKind::User).unwrap_or_else(|e| panic!("{text}: {e}"));
    evaluate(&f, &r, ResourceKind::User, resource)
}

/// RFC 7644 §3.4.2.2: the example filters, each on bjensen (an Employee with a work email at
/// example.com) and on jsmith (an Intern with an empty title and an email at example.org).
#[test]
fn evaluate_rfc_examples() {
    let expected = [
        (true, false),  // userName eq "bjensen"
        (true, false),  // name.familyName co "O'Malley"
        (false, true),  // userName sw "J": case-insensitive, "jsmith" starts with j
        (false, true),  // qualified userName sw "J"
        (true, false),  // title pr: "" is not present
        (false, true),  // meta.lastModified gt "2011-05-13T04:42:34Z"
        (true, false),  // title pr and userType eq "Employee"
        (true, true),   // title pr or userType eq "Intern"
        (true, false),  // schemas eq enterprise
        (true, false),  // Employee and (emails co example.com or emails.value co example.org)
        (false, false), // userType ne "Employee" and not (...): jsmith has example.org
        (true, false),  // Employee and (emails.type eq "work")
        (true, false),  // Employee and emails[work, @example.com]
        (true, false),  // emails[work, @example.com] or ims[xmpp, @foo.com]
    ];
    for (text, (on_bjensen, on_intern)) in RFC_EXAMPLES.iter().zip(expected) {
        assert_eq!(eval(text, &bjensen()), on_bjensen, "bjensen: {text}");
        assert_eq!(eval(text, &intern()), on_intern, "intern: {text}");
    }
}

/// RFC 7644 §3.4.2.2: "eq", "co", "sw", "ew" on strings, without regard to case unless
/// caseExact (RFC 7643 §2.2: caseExact false by default; `id` is caseExact).
#[test]
fn evaluate_string_operators_respect_case_exact() {
    let b = bjensen();
    assert!(eval(r#"userName eq "BJENSEN""#, &b));
    assert!(eval(r#"displayName co "JENSEN""#, &b));
    assert!(eval(r#"displayName sw "babs""#, &b));
    assert!(eval(r#"displayName ew "sen""#, &b));
    assert!(!eval(r#"displayName ew "babs""#, &b));
    assert!(eval(r#"id eq "2819c223-7f76-453a-919d-413861904646""#, &b));
    assert!(!eval(r#"id eq "2819C223-7F76-453A-919D-413861904646""#, &b));
    assert!(eval(r#"externalId eq "bjensen""#, &b));
    assert!(!eval(r#"externalId eq "BJensen""#, &b));
    // Lexicographic ordering on strings.
    assert!(eval(r#"userName gt "alice" and userName lt "Carol""#, &b));
    assert!(eval(r#"userName ge "bjensen" and userName le "BJENSEN""#, &b));
}

/// RFC 7644 §3.4.2.2: "gt" and friends compare dateTimes chronologically.
#[test]
fn evaluate_date_times_as_instants() {
    let b = bjensen();
    assert!(eval(r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#, &b));
    assert!(eval(r#"meta.lastModified ge "2011-05-13T06:42:34+02:00""#, &b));
    assert!(!eval(r#"meta.lastModified gt "2011-05-13T06:42:34+02:00""#, &b));
    assert!(eval(r#"meta.created lt "2010-01-23T04:56:22.5Z""#, &b));
    assert!(eval(r#"meta.created le "2010-01-23T04:56:22""#, &b));
    assert!(eval(r#"meta.created sw "2010-01""#, &b));
    let i = intern();
    // 21:32:44.882+02:00 is 19:32:44.882Z.
    assert!(eval(r#"meta.lastModified lt "2011-08-01T20:00:00Z""#, &i));
}

/// RFC 7644 §3.4.2.2: booleans compare with "eq"/"ne" only; numbers numerically.
#[test]
fn evaluate_booleans_and_numbers() {
    assert!(eval("active eq true", &bjensen()));
    assert!(!eval("active eq true", &intern()));
    assert!(eval("active ne true", &intern()));
    assert!(eval("emails[primary eq true]", &bjensen()));
    assert!(!eval("emails[primary eq true]", &intern()));
    assert!(super::eval::parse_date_time("not a date").is_none());
}

/// Numbers compare exactly as integers (also beyond f64 precision) and as floats otherwise.
#[test]
fn numbers_compare_numerically() {
    use serde_json::Number;
    use std::cmp::Ordering::*;
    let cmp = super::eval::cmp_numbers;
    let f = |x: f64| Number::from_f64(x).unwrap();
    assert_eq!(cmp(&Number::from(2), &Number::from(10)), Some(Less));
    assert_eq!(cmp(&Number::from(u64::MAX), &Number::from(-1)), Some(Greater));
    assert_eq!(cmp(&Number::from(9007199254740993_i64), &Number::from(9007199254740992_i64)), Some(Greater));
    assert_eq!(cmp(&Number::from(3), &f(2.5)), Some(Greater));
    assert_eq!(cmp(&f(1.0), &Number::from(1)), Some(Equal));
}

/// RFC 7644 §3.4.2.2 "pr": a non-empty value, or a complex attribute with a non-empty node.
#[test]
fn evaluate_present() {
    let b = bjensen();
    let i = intern();
    assert!(eval("name pr", &b));
    assert!(!eval("name pr", &i));
    assert!(eval("emails pr", &b));
    assert!(!eval("ims pr", &i));
    assert!(eval("ims pr", &b));
    assert!(!eval("nickName pr", &b));
    assert!(eval("emails.primary pr", &b));
    assert!(!eval("emails.primary pr", &i));
    assert!(eval(&format!("{ENTERPRISE}:manager pr"), &b));
    assert!(eval(&format!("{ENTERPRISE}:employeeNumber pr"), &b));
    assert!(!eval(&format!("{ENTERPRISE}:employeeNumber pr"), &i));
    assert!(eval("title eq null", &i));
    assert!(eval("nickName eq null", &b));
    assert!(eval("title ne null", &b));
}

/// RFC 7644 §3.4.2.2: a multi-valued attribute matches if any value matches; compared without
/// a sub-attribute, a multi-valued complex attribute compares its `value`.
#[test]
fn evaluate_multi_valued_any() {
    let b = bjensen();
    assert!(eval(r#"emails.value ew "jensen.org""#, &b));
    assert!(eval(r#"emails co "jensen.org""#, &b));
    assert!(eval(r#"emails.type eq "home""#, &b));
    assert!(eval(r#"emails.type ne "home""#, &b));
    assert!(!eval(r#"emails.type eq "other""#, &b));
    assert!(eval(r#"schemas eq "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER""#, &b));
    assert!(eval(r#"x509Certificates.value eq "MIIDQzCCAqy""#, &b));
    assert!(!eval(r#"x509Certificates.value eq "miidqzccaqy""#, &b));
}

/// RFC 7644 §3.4.2.2 valuePath: one value must satisfy the whole inner filter; `emails.type eq
/// "work" and emails.value co "@jensen.org"` may match on different values, the valuePath not.
#[test]
fn evaluate_value_path_binds_one_element() {
    let b = bjensen();
    assert!(eval(r#"emails.type eq "work" and emails.value co "@jensen.org""#, &b));
    assert!(!eval(r#"emails[type eq "work" and value co "@jensen.org"]"#, &b));
    assert!(eval(r#"emails[type eq "home" and value co "@jensen.org"]"#, &b));
    assert!(eval(r#"emails[not (type eq "work")]"#, &b));
    assert!(!eval(r#"ims[type eq "xmpp"]"#, &intern()));
}

/// Missing attributes: `ne` matches, every other operator does not; `not` negates.
#[test]
fn evaluate_missing_attribute() {
    let i = intern();
    assert!(eval(r#"nickName ne "x""#, &i));
    assert!(!eval(r#"nickName eq "x""#, &i));
    assert!(!eval(r#"nickName co "x""#, &i));
    assert!(!eval(r#"nickName gt "x""#, &i));
    assert!(eval(r#"not (nickName eq "x")"#, &i));
    assert!(!eval(&format!("{ENTERPRISE}:employeeNumber eq \"701984\""), &i));
    assert!(eval(&format!("{ENTERPRISE}:employeeNumber ne \"701984\""), &i));
}

/// Extension attributes sit under their schema URI; keys are matched without regard to case.
#[test]
fn evaluate_extension_and_key_case() {
    let b = bjensen();
    assert!(eval(&format!("{ENTERPRISE}:employeeNumber eq \"701984\""), &b));
    assert!(eval(&format!("{ENTERPRISE}:manager.displayName sw \"john\""), &b));
    let mut odd = Map::new();
    odd.insert("USERNAME".into(), json!("Kim"));
    odd.insert(ENTERPRISE.to_uppercase(), json!({ "EMPLOYEENUMBER": "7" }));
    assert!(eval("userName eq \"kim\"", &odd));
    assert!(eval(&format!("{ENTERPRISE}:employeeNumber eq \"7\""), &odd));
}

/// Groups: `members[value eq ...]` and `evaluate_value_filter` for PATCH paths.
#[test]
fn evaluate_group_members_and_value_filter() {
    let r = reg();
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Tour Guides",
        "members": [ { "value": "2819c223", "display": "Babs Jensen" }, { "value": "902c246b" } ]
    });
    let Value::Object(group) = group else { panic!() };
    let f = p(r#"members[value eq "902c246b"] and displayName sw "tour""#);
    check(&f, &r, ResourceKind::Group).unwrap();
    assert!(evaluate(&f, &r, ResourceKind::Group, &group));
    assert!(!evaluate(&p(r#"members.value eq "nobody""#), &r, ResourceKind::Group, &group));

    let members = r.resolve(ResourceKind::Group, &path("members")).unwrap().attr;
    let pp = parse_patch_path(r#"members[value eq "2819c223"]"#).unwrap();
    let inner = pp.filter.unwrap();
    let hits: Vec<bool> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| evaluate_value_filter(&inner, members, m))
        .collect();
    assert_eq!(hits, [true, false]);
}

/// An unchecked filter with an unknown path matches nothing (and its negation everything).
#[test]
fn evaluate_unbound_path_matches_nothing() {
    let r = reg();
    let b = bjensen();
    assert!(!evaluate(&p("nope pr"), &r, ResourceKind::User, &b));
    assert!(evaluate(&p("not (nope pr)"), &r, ResourceKind::User, &b));
}

/// The longest flat chain that fits in MAX_LEN is as deep as trees get: printing, checking,
/// evaluating and dropping it stays within a test thread's stack.
#[test]
fn longest_flat_chain_is_handled() {
    let unit = "title pr or ";
    let text = format!("{}title pr", unit.repeat((MAX_LEN - 8) / unit.len()));
    assert!(text.len() <= MAX_LEN);
    let f = p(&text);
    assert_eq!(f.to_string(), text);
    let r = reg();
    check(&f, &r, ResourceKind::User).unwrap();
    assert!(evaluate(&f, &r, ResourceKind::User, &bjensen()));
    assert!(!evaluate(&f, &r, ResourceKind::User, &intern()));
    let tight = "a pr or ".repeat(MAX_LEN / 8 - 1) + "a pr";
    assert_eq!(p(&tight).to_string(), tight);
}

/// RFC 7644 §3.4.2.2 on the custom extension (DESIGN.md): a multi-valued simple attribute
/// matches if one of its values does; `sw` on a string; a value filter on a complex one.
#[test]
fn filters_on_custom_extension_attributes() {
    let mut reg = SchemaRegistry::builtin().unwrap();
    let attrs = [
        json!({"name": "customAttribute"}),
        json!({"name": "devices", "multiValued": true}),
        json!({"name": "badges", "type": "complex", "multiValued": true, "subAttributes": [{"name": "value"}, {"name": "type"}]}),
    ]
    .iter()
    .map(|d| crate::custom::parse_attribute(d).unwrap())
    .collect();
    reg.add_extension(ResourceKind::User, crate::custom::custom_schema("urn:scim:wso2:schema", attrs), false)
        .unwrap();
    let user: Map<String, Value> = serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:scim:wso2:schema"],
        "userName": "kim",
        "urn:scim:wso2:schema": {"customAttribute": "customValue", "devices": ["d1", "d2"],
            "badges": [{"value": "b1", "type": "door"}]}
    }))
    .unwrap();
    let cases = [
        (r#"urn:scim:wso2:schema:devices eq "d1""#, true),
        (r#"urn:scim:wso2:schema:devices eq "D2""#, true),
        (r#"urn:scim:wso2:schema:devices eq "d3""#, false),
        (r#"urn:scim:wso2:schema:customAttribute sw "custom""#, true),
        (r#"urn:scim:wso2:schema:customAttribute sw "x""#, false),
        (r#"urn:scim:wso2:schema:devices pr"#, true),
        (r#"urn:scim:wso2:schema:badges[type eq "door" and value eq "b1"]"#, true),
        (r#"urn:scim:wso2:schema:badges.type eq "gate""#, false),
    ];
    for (text, want) in cases {
        let f = p(text);
        check(&f, &reg, ResourceKind::User).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(evaluate(&f, &reg, ResourceKind::User, &user), want, "{text}");
    }
    let e = check(&p(r#"urn:scim:wso2:schema:phones eq "x""#), &reg, ResourceKind::User).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
    assert!(e.detail.contains("urn:scim:wso2:schema:phones"), "{}", e.detail);
}
