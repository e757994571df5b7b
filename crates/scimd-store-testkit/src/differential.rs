//! The differential property test (RFC 7644 §3.4.2.2 and §3.4.2.3): for random users and random
//! filters from the grammar, a store's answer (the filter rewritten into claims with
//! `scimd_claims::rewrite`, then compiled by the store) is the in-memory evaluator's
//! (`scimd_core::filter::evaluate`) on the resources the claims render to; sorted by a random
//! key, in the reference order of §3.4.2.3 (below), with exact totals.
//!
//! A backend's test runs [`case`] through proptest and [`check`] on a fresh store per case:
//!
//! ```text
//! proptest! {
//!     #[test]
//!     fn store_answers_as_the_evaluator(case in differential::case()) {
//!         runtime.block_on(async { differential::check(fresh().await.store, &case).await });
//!     }
//! }
//! ```
//!
//! The reference order: the value of the sort attribute (for a multi-valued one, of its primary
//! value, else its first), folded with `to_lowercase` unless caseExact, dateTimes as instants;
//! resources without one last ascending and first descending; ties in creation order.

use std::cmp::Ordering;
use std::sync::Arc;

use proptest::prelude::*;
use scimd_claims::{DialectMapping, rewrite, sort_key};
use scimd_core::filter::{check as check_filter, evaluate, parse_filter};
use scimd_core::{AttrPath, ResourceKind, SchemaRegistry};
use scimd_store::{NewResource, StoreQuery, UserStore};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const TEXTS: [&str; 9] = ["", "a", "A", "ab", "Boss", "bOSS x", "é%_", "Émile", "ΣΑΣ"];
const TYPES: [&str; 3] = ["work", "home", "Work"];
const TEXT_OPS: [&str; 9] = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];

/// The sort attributes drawn (RFC 7644 §3.4.2.3 `sortBy`).
pub const SORT_PATHS: [&str; 8] = [
    "userName",
    "title",
    "name.familyName",
    "emails",
    "emails.type",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "meta.created",
    "id",
];

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

/// A user's attributes (the userName is made unique when loaded).
pub fn user() -> impl Strategy<Value = Map<String, Value>> {
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
    serde_json::Value::String(s.to_owned()).to_string()
}

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
            prop::sample::select(vec!["meta.created", "meta.lastModified"]),
            0..18u32,
            0..10u32,
            0..4u8,
        )
            .prop_map(|(op, p, m, s, zone)| {
                // One instant (2024-01-01T00:mm:ss UTC, or half a second later) written four ways.
                let at = match zone {
                    0 => format!("2024-01-01T00:{m:02}:{s:02}Z"),
                    1 => format!("2024-01-01T01:{m:02}:{s:02}+01:00"),
                    2 => format!("2024-01-01T00:{m:02}:{s:02}"),
                    _ => format!("2023-12-31T23:{:02}:{s:02}.5-00:30", m + 30),
                };
                format!("{p} {op} \"{at}\"")
            }),
        (prop::sample::select(vec!["eq", "ne", "gt", "lt"]), 0..6u32)
            .prop_map(|(op, i)| format!("id {op} \"id-{i}\"")),
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

/// A filter from the grammar (RFC 7644 §3.4.2.2) over the generated attributes.
pub fn filter() -> impl Strategy<Value = String> {
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

/// One case: users, and queries (a filter, and maybe a sort attribute and order).
#[derive(Debug, Clone)]
pub struct Case {
    pub users: Vec<Map<String, Value>>,
    pub queries: Vec<(String, Option<(&'static str, bool)>)>,
}

/// Random cases: 1 to 9 users, 1 to 11 queries, half of them sorted.
pub fn case() -> impl Strategy<Value = Case> {
    let sort = prop::option::of((prop::sample::select(SORT_PATHS.to_vec()), any::<bool>()));
    (prop::collection::vec(user(), 1..10), prop::collection::vec((filter(), sort), 1..12))
        .prop_map(|(users, queries)| Case { users, queries })
}

/// Creates the users of a case in `store`; returns each one's id and the resource its claims
/// render to (with `id` and `meta`), in creation order.
pub async fn load(
    store: &dyn UserStore,
    users: &[Map<String, Value>],
    mapping: &DialectMapping,
) -> Vec<(String, Map<String, Value>)> {
    let base = OffsetDateTime::parse("2024-01-01T00:00:00Z", &Rfc3339).unwrap();
    let mut rendered = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let mut u = u.clone();
        let name = format!("{}-{i}", u["userName"].as_str().unwrap());
        u.insert("userName".into(), json!(name));
        let claims = mapping.to_claims(ResourceKind::User, &u).unwrap();
        let id = format!("id-{i}");
        let now = base + time::Duration::seconds(i as i64 * 7 % 10) + time::Duration::minutes(i as i64 * 2);
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
    rendered
}

/// Runs every query of `case` on `store` (fresh and empty) and compares with the evaluator and
/// the reference order.
pub async fn check(store: Arc<dyn UserStore>, case: &Case) {
    let registry = SchemaRegistry::builtin().unwrap();
    let mapping = DialectMapping::builtin().unwrap();
    let rendered = load(&*store, &case.users, &mapping).await;
    for (text, sort) in &case.queries {
        let f = parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        check_filter(&f, &registry, ResourceKind::User).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        let rw = rewrite(&f, ResourceKind::User, &registry, &mapping);
        assert!(rw.residual.is_none(), "{text}: not pushed down whole");
        let key = sort.map(|(path, descending)| {
            let path_ = AttrPath::parse(path).unwrap();
            sort_key(&path_, descending, ResourceKind::User, &registry, &mapping)
                .unwrap_or_else(|| panic!("{path}: no sort key"))
        });
        let q = StoreQuery {
            kind: ResourceKind::User,
            filter: rw.store,
            offset: 0,
            limit: 1000,
            with_members: false,
            sort: key,
            after: None,
            before: None,
        };
        let page = store.query(&q).await.unwrap_or_else(|e| panic!("{text}: {e}"));
        let got: Vec<&str> = page.items.iter().map(|r| r.id.as_str()).collect();
        let mut want: Vec<(usize, &str, &Map<String, Value>)> = rendered
            .iter()
            .enumerate()
            .filter(|(_, (_, r))| evaluate(&f, &registry, ResourceKind::User, r))
            .map(|(i, (id, r))| (i, id.as_str(), r))
            .collect();
        if let Some((path, descending)) = sort {
            want.sort_by(|a, b| reference_order(path, *descending, (a.0, a.2), (b.0, b.2)));
        }
        let want: Vec<&str> = want.into_iter().map(|(_, id, _)| id).collect();
        assert_eq!(got, want, "filter {text}, sort {sort:?}, on {rendered:?}");
        assert_eq!(page.total as usize, want.len(), "total of {text}");
        assert_eq!(page.keys.len(), page.items.len());
        // count=0 (RFC 7644 §3.4.2.4): the total alone, which a store may count another way.
        let counted =
            store.query(&StoreQuery { limit: 0, ..q }).await.unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(counted.total as usize, want.len(), "count of {text}");
    }
}

/// A sort value of the reference order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum RefKey {
    Text(String),
    Instant(OffsetDateTime),
}

/// RFC 7644 §3.4.2.3 on two rendered resources `(creation index, resource)`.
fn reference_order(
    path: &str,
    descending: bool,
    a: (usize, &Map<String, Value>),
    b: (usize, &Map<String, Value>),
) -> Ordering {
    let (ka, kb) = (reference_key(path, a.1), reference_key(path, b.1));
    let by_key = match (ka, kb) {
        (None, None) => Ordering::Equal,
        // No value: last ascending, first descending (after reversing below).
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.cmp(&y),
    };
    let by_key = if descending { by_key.reverse() } else { by_key };
    by_key.then(a.0.cmp(&b.0))
}

/// The value a rendered resource sorts by.
fn reference_key(path: &str, r: &Map<String, Value>) -> Option<RefKey> {
    let fold = |v: &Value| v.as_str().map(|s| RefKey::Text(s.to_lowercase()));
    let element = || -> Option<&Map<String, Value>> {
        let list = r.get("emails")?.as_array()?;
        let objects: Vec<&Map<String, Value>> = list.iter().filter_map(Value::as_object).collect();
        objects.iter().find(|e| e.get("primary") == Some(&json!(true))).or(objects.first()).copied()
    };
    match path {
        "userName" | "title" => fold(r.get(path)?),
        "name.familyName" => fold(r.get("name")?.get("familyName")?),
        "emails" => fold(element()?.get("value")?),
        "emails.type" => fold(element()?.get("type")?),
        "id" => r.get("id")?.as_str().map(|s| RefKey::Text(s.to_owned())),
        "meta.created" => {
            let s = r.get("meta")?.get("created")?.as_str()?;
            OffsetDateTime::parse(s, &Rfc3339).ok().map(RefKey::Instant)
        }
        p if p.starts_with(ENT) => fold(r.get(ENT)?.get("employeeNumber")?),
        other => panic!("no reference key for {other}"),
    }
}
