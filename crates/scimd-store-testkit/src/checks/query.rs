//! Queries (RFC 7644 §3.4.2): filters on the indexed claims and on others, member filters,
//! sorting (§3.4.2.3), offset paging with exact totals (§3.4.2.4) and keyset paging (RFC 9865).

use std::collections::HashSet;
use std::sync::Arc;

use scimd_claims::claims::{DISPLAY_NAME, EXTERNAL_ID, GROUP_DISPLAY_NAME, ID, USER_NAME};
use scimd_claims::{ClaimPath, MemberField};
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{ClaimFilter, Keyset, ResourceKind, SortKey, StoreQuery, UserStore};
use serde_json::json;

use crate::fixtures::*;

/// RFC 7643 §4.1.1: userName is caseExact false.
pub async fn query_eq_user_name_ignores_case(store: Arc<dyn UserStore>) {
    seed_people(&*store).await;
    assert_eq!(ids(&*store, users(eq(USER_NAME, "ALICE"))).await, ["p1"]);
    assert_eq!(ids(&*store, users(eq_exact(USER_NAME, "Alice"))).await, ["p1"]);
    assert!(ids(&*store, users(eq_exact(USER_NAME, "alice"))).await.is_empty());
    let q = users(ClaimFilter::Compare {
        path: ClaimPath::Claim { claim: USER_NAME.into(), sub: None },
        op: CompareOp::Eq,
        value: CompValue::Str("CAROL".into()),
        attr_type: AttrType::String,
        case_exact: false,
    });
    assert_eq!(ids(&*store, q).await, ["p3"]);
    assert!(ids(&*store, groups(eq(USER_NAME, "alice"))).await.is_empty(), "only users have a userName");
}

/// RFC 7643 §3.1: externalId is caseExact true.
pub async fn query_eq_external_id_is_exact_unless_asked_otherwise(store: Arc<dyn UserStore>) {
    seed_people(&*store).await;
    assert_eq!(ids(&*store, users(eq_exact(EXTERNAL_ID, "EXT-C"))).await, ["p3"]);
    assert!(ids(&*store, users(eq_exact(EXTERNAL_ID, "ext-c"))).await.is_empty());
    assert_eq!(ids(&*store, users(eq(EXTERNAL_ID, "ext-c"))).await, ["p3"]);
}

pub async fn query_eq_display_name_per_kind(store: Arc<dyn UserStore>) {
    seed_people(&*store).await;
    assert_eq!(ids(&*store, users(eq(DISPLAY_NAME, "ALICE LIDDELL"))).await, ["p1", "p3"]);
    assert_eq!(ids(&*store, users(eq_exact(DISPLAY_NAME, "alice liddell"))).await, ["p3"]);
    assert_eq!(ids(&*store, groups(eq(GROUP_DISPLAY_NAME, "alice"))).await, ["g1"]);
}

pub async fn query_eq_other_claims_reads_values_lists_and_numbers(store: Arc<dyn UserStore>) {
    seed_people(&*store).await;
    assert_eq!(ids(&*store, users(eq("urn:scimd:claims:title", "title P2"))).await, ["p2"]);
    assert!(ids(&*store, users(eq_exact("urn:scimd:claims:title", "title P2"))).await.is_empty());
    // Any value of a multi-valued claim.
    assert_eq!(ids(&*store, users(eq("urn:scimd:claims:devices", "phone-p4"))).await, ["p4"]);
    assert_eq!(store.query(&users(eq("urn:scimd:claims:devices", "SHARED"))).await.unwrap().total, 5);
    // Numbers by value.
    assert_eq!(ids(&*store, users(eq("urn:scimd:claims:level", "21"))).await, ["p5"]);
    assert!(ids(&*store, users(eq("urn:scimd:claims:missing", "x"))).await.is_empty());
    assert_eq!(ids(&*store, users(eq_exact(ID, "p2"))).await, ["p2"]);
}

/// RFC 7644 §3.4.2.2: `and`, `or`, `not`; `not` of a filter on a missing attribute matches.
pub async fn query_and_or_not_combine(store: Arc<dyn UserStore>) {
    seed_people(&*store).await;
    let f = ClaimFilter::And(vec![eq(DISPLAY_NAME, "alice liddell"), eq(USER_NAME, "carol")]);
    assert_eq!(ids(&*store, users(f)).await, ["p3"]);
    let f = ClaimFilter::Or(vec![eq(USER_NAME, "eve"), eq_exact(EXTERNAL_ID, "ext-b")]);
    assert_eq!(ids(&*store, users(f)).await, ["p2", "p5"]);
    let f = ClaimFilter::Or(vec![
        ClaimFilter::And(vec![eq(USER_NAME, "dave"), eq(DISPLAY_NAME, "dave")]),
        ClaimFilter::And(vec![eq(USER_NAME, "bob"), eq(DISPLAY_NAME, "nope")]),
    ]);
    assert_eq!(ids(&*store, users(f)).await, ["p4"]);
    let f = ClaimFilter::Not(Box::new(eq(USER_NAME, "bob")));
    assert_eq!(ids(&*store, users(f)).await, ["p1", "p3", "p4", "p5"]);
    let f = ClaimFilter::Not(Box::new(eq("urn:scimd:claims:missing", "x")));
    assert_eq!(store.query(&users(f)).await.unwrap().total, 5);
    let f = ClaimFilter::Not(Box::new(ClaimFilter::And(vec![
        eq("urn:scimd:claims:missing", "x"),
        ClaimFilter::All,
    ])));
    assert_eq!(store.query(&users(f)).await.unwrap().total, 5);
}

fn member_cmp(field: MemberField, op: CompareOp, value: &str) -> ClaimFilter {
    ClaimFilter::Compare {
        path: ClaimPath::Member(field),
        op,
        value: CompValue::Str(value.into()),
        attr_type: AttrType::String,
        case_exact: false,
    }
}

/// RFC 7643 §4.2 and RFC 7644 §3.4.2.2: `members.value eq`, `members[type eq "Group"]`.
pub async fn query_member_filters_find_groups(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "a")).await.unwrap();
    store.create(new_user("u2", "b")).await.unwrap();
    store.create(new_group("g1", "G1", &["u1"])).await.unwrap();
    let mut g2 = new_group("g2", "G2", &["u2", "g1"]);
    g2.members[0].display = Some("Bee".into());
    store.create(g2).await.unwrap();
    store.create(new_group("g3", "G3", &[])).await.unwrap();
    assert_eq!(ids(&*store, groups(member_cmp(MemberField::Value, CompareOp::Eq, "U1"))).await, ["g1"]);
    assert_eq!(ids(&*store, groups(member_cmp(MemberField::Type, CompareOp::Eq, "group"))).await, ["g2"]);
    assert_eq!(ids(&*store, groups(member_cmp(MemberField::Display, CompareOp::Sw, "b"))).await, ["g2"]);
    let has_members = ClaimFilter::Present { path: ClaimPath::Member(MemberField::Value) };
    assert_eq!(ids(&*store, groups(has_members.clone())).await, ["g1", "g2"]);
    assert_eq!(ids(&*store, groups(ClaimFilter::Not(Box::new(has_members)))).await, ["g3"]);
    let one = ClaimFilter::ElementMatch {
        of: scimd_claims::Collection::Members,
        filter: Box::new(ClaimFilter::And(vec![
            member_cmp(MemberField::Value, CompareOp::Eq, "u2"),
            member_cmp(MemberField::Type, CompareOp::Eq, "User"),
        ])),
    };
    assert_eq!(ids(&*store, groups(one)).await, ["g2"]);
    let none = ClaimFilter::ElementMatch {
        of: scimd_claims::Collection::Members,
        filter: Box::new(ClaimFilter::And(vec![
            member_cmp(MemberField::Value, CompareOp::Eq, "u2"),
            member_cmp(MemberField::Type, CompareOp::Eq, "Group"),
        ])),
    };
    assert!(ids(&*store, groups(none)).await.is_empty(), "one and the same member");
    let display_missing = member_cmp(MemberField::Display, CompareOp::Ne, "bee");
    assert_eq!(ids(&*store, groups(display_missing)).await, ["g1", "g3"], "ne: no value or another");
}

/// RFC 7644 §3.4.2.4: `startIndex` and `count` page in a stable order; `totalResults` counts
/// every match.
pub async fn query_pages_in_creation_order_with_exact_totals(store: Arc<dyn UserStore>) {
    seed_people(&*store).await;
    let page = store.query(&StoreQuery { offset: 1, limit: 2, ..users(ClaimFilter::All) }).await.unwrap();
    assert_eq!(page.total, 5);
    assert_eq!(page.items.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["p2", "p3"]);
    assert_eq!(page.keys.len(), 2);
    assert!(page.keys[0].seq < page.keys[1].seq);
    let page = store.query(&StoreQuery { offset: 4, limit: 10, ..users(ClaimFilter::All) }).await.unwrap();
    assert_eq!((page.total, page.items.len()), (5, 1));
    let page = store.query(&StoreQuery { offset: 50, limit: 10, ..users(ClaimFilter::All) }).await.unwrap();
    assert_eq!((page.total, page.items.len(), page.keys.len()), (5, 0, 0));
    let filtered = StoreQuery { offset: 1, limit: 1, ..users(eq(DISPLAY_NAME, "alice liddell")) };
    let page = store.query(&filtered).await.unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.items[0].id, "p3");
    let none = store.query(&users(eq(USER_NAME, "nobody"))).await.unwrap();
    assert_eq!((none.total, none.items.len()), (0, 0));
}

pub async fn query_with_limit_zero_returns_the_total_alone(store: Arc<dyn UserStore>) {
    seed_people(&*store).await;
    let page = store.query(&StoreQuery { limit: 0, ..users(ClaimFilter::All) }).await.unwrap();
    assert_eq!(page.total, 5);
    assert!(page.items.is_empty() && page.keys.is_empty());
    let page = store.query(&StoreQuery { limit: 0, ..users(eq(USER_NAME, "bob")) }).await.unwrap();
    assert_eq!(page.total, 1);
}

pub async fn query_of_groups_loads_members_when_asked(store: Arc<dyn UserStore>) {
    seed_people(&*store).await;
    store.create(new_group("g2", "Empty", &[])).await.unwrap();
    let q = StoreQuery { with_members: true, ..groups(ClaimFilter::All) };
    let page = store.query(&q).await.unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(member_ids(page.items[0].members.as_deref().unwrap()), ["p1"]);
    assert_eq!(page.items[1].members, Some(vec![]));
    assert_eq!(store.query(&groups(ClaimFilter::All)).await.unwrap().items[0].members, None);
}

/// Seven users whose displayName is, in creation order: b, -, a, B, -, c, a.
pub(crate) async fn seed_displays(store: &dyn UserStore) {
    for (i, display) in [Some("b"), None, Some("a"), Some("B"), None, Some("c"), Some("a")].iter().enumerate()
    {
        let mut u = new_user(&format!("u{i}"), &format!("user{i}"));
        if let Some(d) = display {
            u.claims.insert(DISPLAY_NAME, json!(d));
        }
        store.create(u).await.unwrap();
    }
}

pub(crate) fn by_display(descending: bool) -> Option<SortKey> {
    Some(SortKey {
        path: ClaimPath::Claim { claim: DISPLAY_NAME.into(), sub: None },
        descending,
        attr_type: AttrType::String,
        case_exact: false,
    })
}

/// RFC 7644 §3.4.2.3: sorted without regard to case for caseExact false; resources without a
/// value last ascending and first descending; ties in creation order.
pub async fn query_sorts_with_nulls_last_ascending_and_first_descending(store: Arc<dyn UserStore>) {
    seed_displays(&*store).await;
    let q = |descending| StoreQuery { sort: by_display(descending), ..users(ClaimFilter::All) };
    assert_eq!(ids(&*store, q(false)).await, ["u2", "u6", "u0", "u3", "u5", "u1", "u4"]);
    assert_eq!(ids(&*store, q(true)).await, ["u1", "u4", "u5", "u0", "u3", "u2", "u6"]);
    let page = store.query(&q(false)).await.unwrap();
    assert!(page.keys.iter().all(|k| k.key.is_some()), "sorted pages have sort keys");
    // By a number, and by a multi-valued attribute's primary value (else its first).
    for (i, (level, emails)) in [
        (Some(json!(10)), json!([{"value": "z@x", "primary": false}, {"value": "a@x", "primary": true}])),
        (Some(json!(2.5)), json!([{"value": "b@x"}, {"value": "0@x"}])),
        (None, json!([])),
    ]
    .into_iter()
    .enumerate()
    {
        let mut u = new_user(&format!("n{i}"), &format!("n{i}"));
        if let Some(level) = level {
            u.claims.insert("urn:scimd:claims:level", level);
        }
        u.claims.insert("urn:scimd:claims:emails", emails);
        store.create(u).await.unwrap();
    }
    let numbers = StoreQuery {
        sort: Some(SortKey {
            path: ClaimPath::Claim { claim: "urn:scimd:claims:level".into(), sub: None },
            descending: false,
            attr_type: AttrType::Decimal,
            case_exact: false,
        }),
        ..users(ClaimFilter::All)
    };
    let sorted = ids(&*store, numbers).await;
    assert_eq!(&sorted[..2], ["n1", "n0"], "2.5 before 10: numerically, not as text");
    let emails = StoreQuery {
        sort: Some(SortKey {
            path: ClaimPath::Claim { claim: "urn:scimd:claims:emails".into(), sub: Some("value".into()) },
            descending: false,
            attr_type: AttrType::String,
            case_exact: false,
        }),
        ..users(ClaimFilter::All)
    };
    let sorted = ids(&*store, emails).await;
    assert_eq!(&sorted[..2], ["n0", "n1"], "a@x (primary) before b@x (first)");
}

/// RFC 7644 §3.4.2.4 with §3.4.2.3: offsets count in the sorted order.
pub async fn query_sorted_pages_with_offsets_follow_the_sort(store: Arc<dyn UserStore>) {
    seed_displays(&*store).await;
    for descending in [false, true] {
        let all = ids(&*store, StoreQuery { sort: by_display(descending), ..users(ClaimFilter::All) }).await;
        let mut paged = Vec::new();
        for offset in (0..8).step_by(3) {
            let q = StoreQuery { sort: by_display(descending), offset, limit: 3, ..users(ClaimFilter::All) };
            let page = store.query(&q).await.unwrap();
            assert_eq!(page.total, 7);
            paged.extend(page.items.into_iter().map(|r| r.id));
        }
        assert_eq!(paged, all);
        let filtered = StoreQuery {
            sort: by_display(descending),
            offset: 1,
            limit: 2,
            ..users(ClaimFilter::Not(Box::new(eq(USER_NAME, "user0"))))
        };
        let page = store.query(&filtered).await.unwrap();
        assert_eq!(page.total, 6);
        let expected: Vec<String> = all.iter().filter(|id| *id != "u0").skip(1).take(2).cloned().collect();
        assert_eq!(page.items.into_iter().map(|r| r.id).collect::<Vec<_>>(), expected);
    }
}

/// A keyset walk (RFC 9865 cursors): pages of `limit` after the last key seen, with `between`
/// run after each page. Returns the ids seen.
async fn keyset_walk(
    store: &dyn UserStore,
    query: StoreQuery,
    mut between: impl AsyncFnMut(usize),
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after: Option<Keyset> = None;
    for page_no in 0..100 {
        let page = store.query(&StoreQuery { after, ..query.clone() }).await.unwrap();
        assert_eq!(page.keys.len(), page.items.len());
        if query.sort.is_none() {
            assert!(page.keys.windows(2).all(|w| w[0].seq < w[1].seq), "creation order");
        }
        seen.extend(page.items.into_iter().map(|r| r.id));
        match page.keys.last() {
            Some(last) => after = Some(last.clone()),
            None => return seen,
        }
        between(page_no).await;
    }
    panic!("the walk does not end: {seen:?}");
}

/// RFC 9865 §2: a keyset walk in creation order visits every resource that exists throughout
/// exactly once while resources are created and deleted between pages; `total` counts every
/// match, not those left.
pub async fn keyset_walk_visits_each_resource_once_during_writes(store: Arc<dyn UserStore>) {
    for i in 0..10 {
        store.create(new_user(&format!("u{i}"), &format!("user{i}"))).await.unwrap();
        store.create(new_group(&format!("g{i}"), &format!("user{i}"), &[])).await.unwrap();
    }
    let all: Vec<String> = (0..10).map(|i| format!("u{i}")).collect();
    let q = StoreQuery { limit: 3, ..users(ClaimFilter::All) };
    assert_eq!(keyset_walk(&*store, q.clone(), async |_| {}).await, all);
    let after = Some(Keyset { key: None, seq: i64::MAX });
    let page = store.query(&StoreQuery { after, ..users(ClaimFilter::All) }).await.unwrap();
    assert_eq!((page.total, page.items.len()), (10, 0));
    let mut n = 0;
    for filter in [ClaimFilter::All, ClaimFilter::Not(Box::new(eq(USER_NAME, "nobody")))] {
        let walk = StoreQuery { filter, ..q.clone() };
        let seen = keyset_walk(&*store, walk, async |page_no| {
            // Delete one already seen and one not yet seen; create one.
            if page_no == 0 {
                store.delete(ResourceKind::User, "u1", None).await.unwrap();
                store.delete(ResourceKind::User, "u8", None).await.unwrap();
            }
            if page_no >= 3 {
                return;
            }
            n += 1;
            store.create(new_user(&format!("n{n}-{page_no}"), &format!("new{n}-{page_no}"))).await.unwrap();
        })
        .await;
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{seen:?}");
        for id in ["u0", "u2", "u3", "u4", "u5", "u6", "u7", "u9"] {
            assert!(seen.contains(&id.to_owned()), "{id} skipped: {seen:?}");
        }
        assert!(!seen.contains(&"u8".to_owned()));
        // Put them back for the next round.
        for id in ["u1", "u8"] {
            store.create(new_user(id, &format!("again-{id}-{n}"))).await.unwrap();
        }
    }
}

/// A keyset walk of a sorted query (RFC 9865 with RFC 7644 §3.4.2.3): `(key, seq)` after the
/// last position, resources without a value last ascending and first descending, ties in
/// creation order; the walk equals the sorted listing, with filters too.
pub async fn keyset_walk_of_a_sorted_query_follows_the_sort(store: Arc<dyn UserStore>) {
    seed_displays(&*store).await;
    for descending in [false, true] {
        for filter in [ClaimFilter::All, ClaimFilter::Not(Box::new(eq(USER_NAME, "user3")))] {
            let q = StoreQuery { sort: by_display(descending), ..users(filter) };
            let expected = ids(&*store, q.clone()).await;
            let seen = keyset_walk(&*store, StoreQuery { limit: 2, ..q.clone() }, async |_| {}).await;
            assert_eq!(seen, expected, "descending: {descending}");
            let total = store.query(&StoreQuery { limit: 2, ..q }).await.unwrap().total;
            assert_eq!(total as usize, expected.len());
        }
        let order = if descending {
            ["u1", "u4", "u5", "u0", "u3", "u2", "u6"]
        } else {
            ["u2", "u6", "u0", "u3", "u5", "u1", "u4"]
        };
        let all = ids(&*store, StoreQuery { sort: by_display(descending), ..users(ClaimFilter::All) }).await;
        assert_eq!(all, order);
    }
    // By a number: positions hold numbers.
    for (i, level) in [3, 1, 2, 1].into_iter().enumerate() {
        let mut u = new_user(&format!("l{i}"), &format!("l{i}"));
        u.claims.insert("urn:scimd:claims:level", json!(level));
        store.create(u).await.unwrap();
    }
    let q = StoreQuery {
        sort: Some(SortKey {
            path: ClaimPath::Claim { claim: "urn:scimd:claims:level".into(), sub: None },
            descending: false,
            attr_type: AttrType::Integer,
            case_exact: false,
        }),
        ..users(ClaimFilter::All)
    };
    let seen = keyset_walk(&*store, StoreQuery { limit: 1, ..q.clone() }, async |_| {}).await;
    assert_eq!(&seen[..4], ["l1", "l3", "l2", "l0"]);
    assert_eq!(seen, ids(&*store, q).await);
}
