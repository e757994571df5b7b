//! Differential property test (RFC 7644 §3.4.2.2): for random users and random filters from
//! the grammar, the SQLite store's answer (the filter rewritten into claims and compiled to SQL)
//! is the in-memory evaluator's, in the same order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use scimd_claims::{DialectMapping, rewrite};
use scimd_core::filter::{check, evaluate, parse_filter};
use scimd_core::{ResourceKind, SchemaRegistry};
use scimd_store::{NewResource, StoreQuery, UserStore};
use scimd_store_sql::{SqliteOptions, SqliteStore};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const TEXTS: [&str; 8] = ["", "a", "A", "ab", "Boss", "bOSS x", "é%_", "Émile"];
const TYPES: [&str; 3] = ["work", "home", "Work"];

fn text() -> impl Strategy<Value = String> {
    prop::sample::select(TEXTS.to_vec()).prop_map(str::to_owned)
}

fn email() -> impl Strategy<Value = Value> {
    (text(), prop::option::of(prop::sample::select(TYPES.to_vec())), prop::option::of(any::<bool>()))
        .prop_map(|(v, t, p)| {
            let mut m = Map::new();
            m.insert("value".into(), json!(format!("{v}@x.org")));
            if let Some(t) = t {
                m.insert("type".into(), json!(t));
            }
            if let Some(p) = p {
                m.insert("primary".into(), json!(p));
            }
            Value::Object(m)
        })
}

/// A user's attributes (userName made unique by the caller).
fn user() -> impl Strategy<Value = Map<String, Value>> {
    (
        text(),
        prop::option::of(text()),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::collection::vec(email(), 0..3)),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(|(user_name, title, active, emails, family, employee)| {
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
            if let Some(f) = family {
                m.insert("name".into(), json!({"familyName": f}));
            }
            if let Some(e) = employee {
                m.insert(ENT.into(), json!({"employeeNumber": e}));
            }
            m
        })
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

const TEXT_OPS: [&str; 9] = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];

/// An attribute expression over the generated attributes.
fn attr_exp() -> impl Strategy<Value = String> {
    let text_path = prop::sample::select(vec![
        "userName",
        "title",
        "emails",
        "emails.value",
        "emails.type",
        "name.familyName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    ]);
    prop_oneof![
        (text_path.clone(), prop::sample::select(TEXT_OPS.to_vec()), text())
            .prop_map(|(p, op, v)| format!("{p} {op} {}", quoted(&v))),
        (text_path.clone(), prop::sample::select(vec!["eq", "ne"]))
            .prop_map(|(p, op)| format!("{p} {op} null")),
        prop::sample::select(vec![
            "userName",
            "title",
            "emails",
            "emails.type",
            "emails.primary",
            "name",
            "name.familyName",
            "active",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "id",
            "meta.created",
        ])
        .prop_map(|p| format!("{p} pr")),
        (
            prop::sample::select(vec!["active", "emails.primary"]),
            prop::sample::select(vec!["eq", "ne"]),
            any::<bool>()
        )
            .prop_map(|(p, op, b)| format!("{p} {op} {b}")),
        (
            prop::sample::select(vec!["eq", "ne", "gt", "ge", "lt", "le"]),
            0..6u32,
            prop::sample::select(vec!["meta.created", "meta.lastModified"])
        )
            .prop_map(|(op, s, p)| format!("{p} {op} \"2024-01-01T0{}:00:0{s}+01:00\"", 1)),
    ]
}

fn value_filter() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (prop::sample::select(vec!["value", "type"]), prop::sample::select(TEXT_OPS.to_vec()), text())
            .prop_map(|(p, op, v)| format!("{p} {op} {}", quoted(&v))),
        (prop::sample::select(vec!["eq", "ne"]), any::<bool>())
            .prop_map(|(op, b)| format!("primary {op} {b}")),
        prop::sample::select(vec!["value pr", "type pr", "primary pr"]).prop_map(str::to_owned),
    ];
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

fn filter() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![4 => attr_exp(), 1 => value_filter().prop_map(|f| format!("emails[{f}]"))];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} or {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

struct Fixture {
    store: SqliteStore,
    rendered: Vec<(String, Map<String, Value>)>,
    _dir: tempfile::TempDir,
}

async fn load(users: &[Map<String, Value>], mapping: &DialectMapping) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db"), SqliteOptions::default()).await.unwrap();
    let base = OffsetDateTime::parse("2024-01-01T00:00:00Z", &Rfc3339).unwrap();
    let mut rendered = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let mut u = u.clone();
        let name = format!("{}-{i}", u["userName"].as_str().unwrap());
        u.insert("userName".into(), json!(name));
        let claims = mapping.to_claims(ResourceKind::User, &u).unwrap();
        let id = format!("id-{i}");
        let now = base + time::Duration::seconds(i as i64);
        store
            .create(NewResource {
                id: id.clone(),
                kind: ResourceKind::User,
                claims: claims.clone(),
                members: vec![],
                now,
            })
            .await
            .unwrap();
        let mut r = mapping.to_resource(ResourceKind::User, &claims);
        r.insert("id".into(), json!(id));
        r.insert("schemas".into(), json!(["urn:ietf:params:scim:schemas:core:2.0:User"]));
        let at = now.format(&Rfc3339).unwrap();
        r.insert("meta".into(), json!({"created": at, "lastModified": at, "resourceType": "User"}));
        rendered.push((id, r));
    }
    Fixture { store, rendered, _dir: dir }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// RFC 7644 §3.4.2.2: the pushed-down result equals the in-memory evaluator's.
    #[test]
    fn sqlite_answers_every_filter_as_the_evaluator_does(
        users in prop::collection::vec(user(), 1..10),
        filters in prop::collection::vec(filter(), 1..12),
    ) {
        let registry = SchemaRegistry::builtin().unwrap();
        let mapping = DialectMapping::builtin().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let fx = load(&users, &mapping).await;
            for text in &filters {
                let f = parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
                check(&f, &registry, ResourceKind::User).unwrap_or_else(|e| panic!("{text}: {e:?}"));
                let rw = rewrite(&f, ResourceKind::User, &registry, &mapping);
                assert!(rw.residual.is_none(), "{text}: not pushed down whole");
                let q = StoreQuery { kind: ResourceKind::User, filter: rw.store, offset: 0, limit: 1000, with_members: false, sort: None, after: None };
                let page = fx.store.query(&q).await.unwrap_or_else(|e| panic!("{text}: {e}"));
                let got: Vec<&str> = page.items.iter().map(|r| r.id.as_str()).collect();
                let want: Vec<&str> = fx.rendered.iter()
                    .filter(|(_, r)| evaluate(&f, &registry, ResourceKind::User, r))
                    .map(|(id, _)| id.as_str())
                    .collect();
                assert_eq!(got, want, "filter {text} on {:?}", fx.rendered);
                assert_eq!(page.total as usize, want.len());
            }
        });
    }
}
