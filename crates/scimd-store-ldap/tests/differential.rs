//! Differential property test (RFC 7644 §3.4.2.2) against the real slapd: for random users and
//! random filters over the mapped attributes (every operator, and/or/not, value paths), the
//! store's answer (the filter rewritten into claims, compiled to LDAP, the rest checked in
//! memory) is the SCIM evaluator's on the resources as the store reads them back, in creation
//! order. A modest case count: each case writes its users to a real server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use proptest::prelude::*;
use scimd_claims::{DialectMapping, rewrite};
use scimd_core::filter::{check, evaluate, parse_filter};
use scimd_core::{ResourceKind, SchemaRegistry};
use scimd_store::{NewResource, StoreQuery, UserStore};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Non-empty (an empty string is no value in a directory), with case, spaces and non-ASCII.
const TEXTS: [&str; 8] = ["a", "A", "ab", "Boss", "bOSS x", "é%_*", "Émile", "a(b)\\c"];
/// Mail attributes are IA5 strings: ASCII only.
const MAILS: [&str; 5] = ["a", "ab", "Boss", "b.x", "a*b"];
const TYPES: [&str; 3] = ["work", "home", "Work"];

fn text() -> impl Strategy<Value = String> {
    prop::sample::select(TEXTS.to_vec()).prop_map(str::to_owned)
}

fn email() -> impl Strategy<Value = Value> {
    (prop::sample::select(MAILS.to_vec()), prop::sample::select(TYPES.to_vec()))
        .prop_map(|(v, t)| json!({"value": format!("{v}@x.org"), "type": t}))
}

fn user() -> impl Strategy<Value = Map<String, Value>> {
    (
        text(),
        prop::option::of(text()),
        prop::option::of(any::<bool>()),
        prop::option::of(email()),
        prop::option::of(email()),
        text(),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(|(user_name, title, active, work, home, family, given, employee)| {
            let mut m = Map::new();
            m.insert("userName".into(), json!(user_name));
            if let Some(t) = title {
                m.insert("title".into(), json!(t));
            }
            if let Some(a) = active {
                m.insert("active".into(), json!(a));
            }
            // One element per view type: a view attribute holds the element of its type.
            let mut emails = Vec::new();
            if let Some(mut w) = work {
                w["type"] = json!("work");
                emails.push(w);
            }
            if let Some(mut h) = home {
                h["type"] = json!("home");
                emails.push(h);
            }
            if !emails.is_empty() {
                m.insert("emails".into(), Value::Array(emails));
            }
            let mut name = Map::new();
            name.insert("formatted".into(), json!(format!("{user_name} {family}")));
            name.insert("familyName".into(), json!(family));
            if let Some(g) = given {
                name.insert("givenName".into(), json!(g));
            }
            m.insert("name".into(), Value::Object(name));
            if let Some(e) = employee {
                m.insert(ENT.into(), json!({"employeeNumber": e}));
            }
            m
        })
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

const OPS: [&str; 9] = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];

fn attr_exp() -> impl Strategy<Value = String> {
    let text_path = prop::sample::select(vec![
        "userName",
        "title",
        "emails",
        "emails.value",
        "emails.type",
        "name.familyName",
        "name.givenName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    ]);
    let value = prop_oneof![
        text(),
        prop::sample::select(vec!["work", "HOME", "x.org", "b.x@x.org", "émile"]).prop_map(str::to_owned)
    ];
    prop_oneof![
        4 => (text_path.clone(), prop::sample::select(OPS.to_vec()), value)
            .prop_map(|(p, op, v)| format!("{p} {op} {}", quoted(&v))),
        1 => (text_path, prop::sample::select(vec!["eq", "ne"])).prop_map(|(p, op)| format!("{p} {op} null")),
        1 => prop::sample::select(vec![
            "userName", "title", "emails", "emails.type", "emails.value", "name", "name.givenName", "active", "id",
            "meta.created", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        ])
        .prop_map(|p| format!("{p} pr")),
        1 => (prop::sample::select(vec!["eq", "ne"]), any::<bool>()).prop_map(|(op, b)| format!("active {op} {b}")),
        1 => (prop::sample::select(vec!["eq", "ne", "gt", "ge", "lt", "le"]), prop::sample::select(vec!["meta.created", "meta.lastModified"]), prop::sample::select(vec!["2000-01-01T00:00:00Z", "2100-01-01T00:00:00+01:00"]))
            .prop_map(|(op, p, t)| format!("{p} {op} \"{t}\"")),
    ]
}

fn value_filter() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (
            prop::sample::select(vec!["value", "type"]),
            prop::sample::select(OPS.to_vec()),
            prop::sample::select(vec!["work", "a", "Boss@x.org", "x.org", "home"])
        )
            .prop_map(|(p, op, v)| format!("{p} {op} {}", quoted(v))),
        prop::sample::select(vec!["value pr", "type pr", "primary pr", "type eq null"])
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

fn filter() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![4 => attr_exp(), 1 => value_filter().prop_map(|f| format!("emails[{f}]"))];
    leaf.prop_recursive(3, 10, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// RFC 7644 §3.4.2.2: the LDAP store's answer equals the SCIM evaluator's.
    #[test]
    fn ldap_answers_every_filter_as_the_evaluator_does(
        users in prop::collection::vec(user(), 1..7),
        filters in prop::collection::vec(filter(), 1..10),
    ) {
        let registry = SchemaRegistry::builtin().unwrap();
        let mapping = DialectMapping::builtin().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let s = server();
            let t = tree(&s, "diff").await;
            let store = store(&s, &t).await;
            let mut rendered = Vec::new();
            for (i, u) in users.iter().enumerate() {
                let mut u = u.clone();
                let name = format!("{}-{i}", u["userName"].as_str().unwrap());
                u.insert("userName".into(), json!(name));
                let claims = mapping.to_claims(ResourceKind::User, &u).unwrap();
                let new = NewResource { id: String::new(), kind: ResourceKind::User, claims, members: vec![], now: OffsetDateTime::now_utc() };
                let stored = store.create(new).await.unwrap_or_else(|e| panic!("{u:?}: {e}"));
                // The resource as the store reads it back.
                let back = store.get(ResourceKind::User, &stored.id, false).await.unwrap().unwrap();
                let mut r = mapping.to_resource(ResourceKind::User, &back.claims);
                let mut written = u.clone();
                written.remove("schemas");
                assert_eq!(Value::Object(r.clone()), Value::Object(written), "what was written reads back");
                r.insert("id".into(), json!(back.id));
                r.insert("schemas".into(), json!(["urn:ietf:params:scim:schemas:core:2.0:User"]));
                r.insert("meta".into(), json!({
                    "created": back.created.format(&Rfc3339).unwrap(),
                    "lastModified": back.last_modified.format(&Rfc3339).unwrap(),
                    "resourceType": "User",
                }));
                rendered.push((back.id, r));
            }
            for text in &filters {
                let f = parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
                check(&f, &registry, ResourceKind::User).unwrap_or_else(|e| panic!("{text}: {e:?}"));
                let rw = rewrite(&f, ResourceKind::User, &registry, &mapping);
                assert!(rw.residual.is_none(), "{text}: not pushed down whole");
                let q = StoreQuery { kind: ResourceKind::User, filter: rw.store.clone(), offset: 0, limit: 1000, with_members: false, sort: None, after: None, before: None };
                let page = store.query(&q).await.unwrap_or_else(|e| panic!("{text}: {e}"));
                let got: Vec<&str> = page.items.iter().map(|r| r.id.as_str()).collect();
                let want: Vec<&str> = rendered.iter()
                    .filter(|(_, r)| evaluate(&f, &registry, ResourceKind::User, r))
                    .map(|(id, _)| id.as_str())
                    .collect();
                assert_eq!(got, want, "filter {text} ({:?}) on {:?}", rw.store, rendered);
                assert_eq!(page.total as usize, want.len());
            }
        });
    }
}
