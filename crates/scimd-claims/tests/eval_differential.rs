//! Differential property test (RFC 7644 §3.4.2.2): for random users and groups and random
//! filters from the grammar, the claims-level evaluator (`scimd_claims::eval::matches`) on the
//! rewritten filter answers what the SCIM evaluator (`scimd_core::filter::evaluate`) answers on
//! the resource, whenever the rewrite leaves no residual.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use scimd_claims::eval::{Subject, SubjectMember, matches};
use scimd_claims::{DialectMapping, rewrite};
use scimd_core::filter::{check, evaluate, parse_filter};
use scimd_core::{ResourceKind, SchemaRegistry};
use serde_json::{Map, Value, json};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const TEXTS: [&str; 9] = ["", "a", "A", "ab", "Boss", "bOSS x", "é%_", "Émile", "ΟΔΟΣ"];
const TYPES: [&str; 3] = ["work", "home", "Work"];
const TIMES: [&str; 5] = [
    "2024-01-01T00:00:00Z",
    "2024-01-01T01:00:00+01:00",
    "2024-01-01T00:00:01.5Z",
    "2023-12-31T23:59:59Z",
    "2024-06-01T12:00:00-07:00",
];

fn text() -> impl Strategy<Value = String> {
    prop::sample::select(TEXTS.to_vec()).prop_map(str::to_owned)
}

fn time() -> impl Strategy<Value = String> {
    prop::sample::select(TIMES.to_vec()).prop_map(str::to_owned)
}

fn email() -> impl Strategy<Value = Value> {
    (
        text(),
        prop::option::of(prop::sample::select(TYPES.to_vec())),
        prop::option::of(any::<bool>()),
        prop::option::of(text()),
    )
        .prop_map(|(v, t, p, d)| {
            let mut m = Map::new();
            m.insert("value".into(), json!(format!("{v}@x.org")));
            if let Some(t) = t {
                m.insert("type".into(), json!(t));
            }
            if let Some(p) = p {
                m.insert("primary".into(), json!(p));
            }
            if let Some(d) = d {
                m.insert("display".into(), json!(d));
            }
            Value::Object(m)
        })
}

/// A user's attributes (the caller adds `id` and `meta`).
fn user() -> impl Strategy<Value = Map<String, Value>> {
    (
        text(),
        prop::option::of(text()),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::collection::vec(email(), 0..3)),
        (prop::option::of(text()), prop::option::of(text())),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(|(user_name, title, active, emails, (family, given), employee, external)| {
            let mut m = Map::new();
            m.insert("userName".into(), json!(user_name));
            if let Some(t) = title {
                m.insert("title".into(), json!(t));
            }
            if let Some(a) = active {
                m.insert("active".into(), json!(a));
            }
            if let Some(e) = emails.filter(|e| !e.is_empty()) {
                m.insert("emails".into(), Value::Array(e));
            }
            let mut name = Map::new();
            if let Some(f) = family {
                name.insert("familyName".into(), json!(f));
            }
            if let Some(g) = given {
                name.insert("givenName".into(), json!(g));
            }
            if !name.is_empty() {
                m.insert("name".into(), Value::Object(name));
            }
            if let Some(e) = employee {
                m.insert(ENT.into(), json!({"employeeNumber": e}));
            }
            if let Some(x) = external {
                m.insert("externalId".into(), json!(x));
            }
            m
        })
}

/// A member of a group: id from a small set, kind, optional display.
fn member() -> impl Strategy<Value = (String, bool, Option<String>)> {
    (prop::sample::select(vec!["m1", "M1", "m2", "g9"]), any::<bool>(), prop::option::of(text()))
        .prop_map(|(id, user, display)| (id.to_owned(), user, display))
}

fn group() -> impl Strategy<Value = (String, Vec<(String, bool, Option<String>)>)> {
    (text(), prop::collection::vec(member(), 0..3))
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

const OPS: [&str; 9] = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];

fn user_attr_exp() -> impl Strategy<Value = String> {
    let text_path = prop::sample::select(vec![
        "userName",
        "title",
        "externalId",
        "emails",
        "emails.value",
        "emails.type",
        "emails.display",
        "name.familyName",
        "name.givenName",
        "id",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    ]);
    prop_oneof![
        3 => (text_path.clone(), prop::sample::select(OPS.to_vec()), text())
            .prop_map(|(p, op, v)| format!("{p} {op} {}", quoted(&v))),
        1 => (text_path, prop::sample::select(vec!["eq", "ne"])).prop_map(|(p, op)| format!("{p} {op} null")),
        1 => prop::sample::select(vec![
            "userName", "title", "emails", "emails.type", "emails.primary", "name", "name.familyName",
            "active", "externalId", "id", "meta.created", "meta.lastModified",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        ])
        .prop_map(|p| format!("{p} pr")),
        1 => (prop::sample::select(vec!["active", "emails.primary"]), prop::sample::select(vec!["eq", "ne"]), any::<bool>())
            .prop_map(|(p, op, b)| format!("{p} {op} {b}")),
        1 => (
            prop::sample::select(vec!["eq", "ne", "gt", "ge", "lt", "le"]),
            time(),
            prop::sample::select(vec!["meta.created", "meta.lastModified"])
        )
            .prop_map(|(op, t, p)| format!("{p} {op} \"{t}\"")),
    ]
}

fn email_filter() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (prop::sample::select(vec!["value", "type", "display"]), prop::sample::select(OPS.to_vec()), text())
            .prop_map(|(p, op, v)| format!("{p} {op} {}", quoted(&v))),
        (prop::sample::select(vec!["eq", "ne"]), any::<bool>())
            .prop_map(|(op, b)| format!("primary {op} {b}")),
        prop::sample::select(vec!["value pr", "type pr", "primary pr", "display pr", "type eq null"])
            .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

fn combine(leaf: BoxedStrategy<String>) -> impl Strategy<Value = String> {
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

fn user_filter() -> impl Strategy<Value = String> {
    combine(
        prop_oneof![4 => user_attr_exp(), 1 => email_filter().prop_map(|f| format!("emails[{f}]"))].boxed(),
    )
}

fn group_filter() -> impl Strategy<Value = String> {
    let member_leaf = prop_oneof![
        (prop::sample::select(vec!["value", "display", "type"]), prop::sample::select(OPS.to_vec()), text())
            .prop_map(|(p, op, v)| format!("{p} {op} {}", quoted(&v))),
        (prop::sample::select(vec!["eq", "ne"]), prop::sample::select(vec!["m1", "M1", "User", "group"]))
            .prop_map(|(op, v)| format!("value {op} \"{v}\" or type {op} \"{v}\"")),
        prop::sample::select(vec!["value pr", "display pr", "type pr"]).prop_map(str::to_owned),
    ];
    let leaf = prop_oneof![
        (prop::sample::select(OPS.to_vec()), text())
            .prop_map(|(op, v)| format!("displayName {op} {}", quoted(&v))),
        (
            prop::sample::select(vec!["members", "members.value", "members.display", "members.type"]),
            prop::sample::select(OPS.to_vec()),
            prop::sample::select(vec!["m1", "m", "USER", "Group", "a", ""]),
        )
            .prop_map(|(p, op, v)| format!("{p} {op} \"{v}\"")),
        prop::sample::select(vec![
            "members pr",
            "members.display pr",
            "displayName pr",
            "id pr",
            "members eq null"
        ])
        .prop_map(str::to_owned),
        member_leaf.prop_map(|f| format!("members[{f}]")),
        (prop::sample::select(vec!["eq", "ne", "gt", "le"]), time())
            .prop_map(|(op, t)| format!("meta.lastModified {op} \"{t}\"")),
    ];
    combine(leaf.boxed())
}

struct Rendered {
    id: String,
    kind: ResourceKind,
    resource: Map<String, Value>,
    created: String,
    modified: String,
    members: Vec<(String, ResourceKind, Option<String>)>,
}

fn render(
    kind: ResourceKind,
    id: String,
    mut attrs: Map<String, Value>,
    times: (&str, &str),
    members: Vec<(String, ResourceKind, Option<String>)>,
) -> Rendered {
    let schema = match kind {
        ResourceKind::User => "urn:ietf:params:scim:schemas:core:2.0:User",
        ResourceKind::Group => "urn:ietf:params:scim:schemas:core:2.0:Group",
    };
    attrs.insert("id".into(), json!(id));
    attrs.insert("schemas".into(), json!([schema]));
    attrs.insert(
        "meta".into(),
        json!({"created": times.0, "lastModified": times.1, "resourceType": format!("{kind:?}")}),
    );
    if kind == ResourceKind::Group && !members.is_empty() {
        let list: Vec<Value> = members
            .iter()
            .map(|(value, k, display)| {
                let mut m = Map::new();
                m.insert("value".into(), json!(value));
                m.insert("type".into(), json!(if *k == ResourceKind::User { "User" } else { "Group" }));
                if let Some(d) = display {
                    m.insert("display".into(), json!(d));
                }
                Value::Object(m)
            })
            .collect();
        attrs.insert("members".into(), Value::Array(list));
    }
    Rendered { id, kind, resource: attrs, created: times.0.into(), modified: times.1.into(), members }
}

/// Checks one filter text on every rendered resource of `kind`.
fn agree(text: &str, kind: ResourceKind, resources: &[Rendered]) {
    let registry = SchemaRegistry::builtin().unwrap();
    let mapping = DialectMapping::builtin().unwrap();
    let f = parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
    check(&f, &registry, kind).unwrap_or_else(|e| panic!("{text}: {e:?}"));
    let rw = rewrite(&f, kind, &registry, &mapping);
    if rw.residual.is_some() {
        return;
    }
    for r in resources.iter().filter(|r| r.kind == kind) {
        let want = evaluate(&f, &registry, kind, &r.resource);
        let mut attrs = r.resource.clone();
        for key in ["id", "meta", "schemas", "members"] {
            attrs.remove(key);
        }
        let claims = mapping.to_claims(kind, &attrs).unwrap();
        let members: Vec<SubjectMember<'_>> = r
            .members
            .iter()
            .map(|(value, kind, display)| SubjectMember { value, kind: *kind, display: display.as_deref() })
            .collect();
        let subject = Subject {
            id: &r.id,
            claims: &claims,
            created: Some(&r.created),
            last_modified: Some(&r.modified),
            members: &members,
        };
        let got = matches(&rw.store, &subject);
        assert_eq!(got, want, "filter {text} ({:?}) on {}", rw.store, Value::Object(r.resource.clone()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// RFC 7644 §3.4.2.2 over users: the claims-level evaluator agrees with the SCIM one.
    #[test]
    fn claims_evaluator_agrees_with_the_scim_evaluator_on_users(
        users in prop::collection::vec((user(), time(), time()), 1..6),
        filters in prop::collection::vec(user_filter(), 1..8),
    ) {
        let rendered: Vec<Rendered> = users
            .into_iter()
            .enumerate()
            .map(|(i, (u, c, m))| render(ResourceKind::User, format!("id-{i}"), u, (&c, &m), vec![]))
            .collect();
        for text in &filters {
            agree(text, ResourceKind::User, &rendered);
        }
    }

    /// RFC 7644 §3.4.2.2 over groups: displayName, members and their value paths.
    #[test]
    fn claims_evaluator_agrees_with_the_scim_evaluator_on_groups(
        groups in prop::collection::vec((group(), time()), 1..6),
        filters in prop::collection::vec(group_filter(), 1..8),
    ) {
        let rendered: Vec<Rendered> = groups
            .into_iter()
            .enumerate()
            .map(|(i, ((name, members), t))| {
                let members = members
                    .into_iter()
                    .map(|(id, user, d)| (id, if user { ResourceKind::User } else { ResourceKind::Group }, d))
                    .collect();
                let attrs: Map<String, Value> = [("displayName".to_owned(), json!(name))].into_iter().collect();
                render(ResourceKind::Group, format!("g-{i}"), attrs, (&t, &t), members)
            })
            .collect();
        for text in &filters {
            agree(text, ResourceKind::Group, &rendered);
        }
    }
}
