//! The domain router over real SQLite stores: routing by name prefix, reads as written,
//! queries pinned to one domain or merged over all, paging and cursors across domains,
//! read-only domains. (RFC 7644 §3.4.2 for the query semantics; DESIGN.md for domains.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scimd_claims::claims::{GROUP_DISPLAY_NAME, USER_NAME};
use scimd_claims::filter::{ClaimFilter, ClaimPath, SortKey};
use scimd_core::ResourceKind;
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_domains::{Domain, IS_READ_ONLY_USER, Router};
use scimd_store::{Claims, NewResource, Replacement, StoreError, StoreQuery, UserStore};
use scimd_store_sql::{SqliteOptions, SqliteStore};
use serde_json::json;
use std::sync::Arc;
use time::OffsetDateTime;

struct Fixture {
    _dir: tempfile::TempDir,
    router: Router,
    primary: Arc<SqliteStore>,
    second: Arc<SqliteStore>,
}

async fn fixture(read_only: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let primary =
        Arc::new(SqliteStore::open(&dir.path().join("p.db"), SqliteOptions::default()).await.unwrap());
    let second =
        Arc::new(SqliteStore::open(&dir.path().join("s.db"), SqliteOptions::default()).await.unwrap());
    let router = Router::new(primary.clone());
    router.set_secondaries(vec![Domain { name: "SECOND".into(), store: second.clone(), read_only }]);
    Fixture { _dir: dir, router, primary, second }
}

fn user(id: &str, name: &str) -> NewResource {
    let claims: Claims = [(USER_NAME.to_owned(), json!(name))].into_iter().collect();
    NewResource {
        id: id.into(),
        kind: ResourceKind::User,
        claims,
        members: vec![],
        now: OffsetDateTime::now_utc(),
    }
}

fn name_cmp(op: CompareOp, v: &str) -> ClaimFilter {
    ClaimFilter::Compare {
        path: ClaimPath::Claim { claim: USER_NAME.into(), sub: None },
        op,
        value: CompValue::Str(v.into()),
        attr_type: AttrType::String,
        case_exact: false,
    }
}

fn query(filter: ClaimFilter, offset: u64, limit: u64, sort: bool) -> StoreQuery {
    StoreQuery {
        offset,
        limit,
        sort: sort.then(|| SortKey {
            path: ClaimPath::Claim { claim: USER_NAME.into(), sub: None },
            attr_type: AttrType::String,
            case_exact: false,
            descending: false,
        }),
        ..scimd_store_testkit::fixtures::users(filter)
    }
}

fn names(page: &scimd_store::Page) -> Vec<String> {
    page.items.iter().map(|r| r.claims.get_str(USER_NAME).unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_qualified_name_is_kept_unqualified_in_its_domain_and_read_back_as_written() {
    let f = fixture(false).await;
    let a = f.router.create(user("a", "kim")).await.unwrap();
    let b = f.router.create(user("b", "second/kim")).await.unwrap();
    assert_eq!(a.claims.get_str(USER_NAME), Some("kim"));
    assert_eq!(b.claims.get_str(USER_NAME), Some("SECOND/kim"), "the domain's own spelling");
    // Each store keeps its own: the secondary without the prefix.
    assert!(f.primary.get(ResourceKind::User, "a", false).await.unwrap().is_some());
    assert!(f.primary.get(ResourceKind::User, "b", false).await.unwrap().is_none());
    let in_second = f.second.get(ResourceKind::User, "b", false).await.unwrap().unwrap();
    assert_eq!(in_second.claims.get_str(USER_NAME), Some("kim"));
    // Reads through the router, by id, find either.
    let got = f.router.get(ResourceKind::User, "b", false).await.unwrap().unwrap();
    assert_eq!(got.claims.get_str(USER_NAME), Some("SECOND/kim"));
    let (got, groups) = f.router.get_with_memberships(ResourceKind::User, "b").await.unwrap().unwrap();
    assert_eq!(got.claims.get_str(USER_NAME), Some("SECOND/kim"));
    assert!(groups.is_empty());
    // userName is unique per domain: "kim" exists in both.
    let dup = f.router.create(user("c", "SECOND/KIM")).await.unwrap_err();
    assert!(
        matches!(&dup, StoreError::InDomain { domain, error } if domain == "SECOND"
        && matches!(**error, StoreError::Conflict { .. })),
        "{dup:?}"
    );
}

#[tokio::test]
async fn replace_keeps_a_resource_in_its_domain() {
    let f = fixture(false).await;
    f.router.create(user("b", "SECOND/kim")).await.unwrap();
    let mut claims: Claims = [(USER_NAME.to_owned(), json!("SECOND/kimberly"))].into_iter().collect();
    claims.insert("urn:scimd:claims:title", json!("boss"));
    let rep = |claims: Claims| Replacement {
        id: "b".into(),
        kind: ResourceKind::User,
        expected_version: None,
        claims,
        members: None,
        now: OffsetDateTime::now_utc(),
    };
    let r = f.router.replace(rep(claims)).await.unwrap();
    assert_eq!(r.claims.get_str(USER_NAME), Some("SECOND/kimberly"));
    assert_eq!(
        f.second.get(ResourceKind::User, "b", false).await.unwrap().unwrap().claims.get_str(USER_NAME),
        Some("kimberly")
    );
    let moved: Claims = [(USER_NAME.to_owned(), json!("kimberly"))].into_iter().collect();
    let err = f.router.replace(rep(moved)).await.unwrap_err();
    assert!(matches!(&err, StoreError::Rejected(m) if m.contains("cannot move")), "{err:?}");
}

#[tokio::test]
async fn filters_pin_a_domain_or_run_everywhere_with_exact_name_comparisons() {
    // RFC 7644 §3.4.2.2: every operator on userName compares the name as written, qualified.
    let f = fixture(false).await;
    for (id, name) in
        [("p1", "alice"), ("p2", "kim"), ("s1", "SECOND/kim"), ("s2", "SECOND/bob"), ("s3", "SECOND/alice")]
    {
        f.router.create(user(id, name)).await.unwrap();
    }
    let run = |filter| async { f.router.query(&query(filter, 0, 100, true)).await.unwrap() };
    assert_eq!(names(&run(name_cmp(CompareOp::Eq, "kim")).await), ["kim"]);
    assert_eq!(names(&run(name_cmp(CompareOp::Eq, "second/KIM")).await), ["SECOND/kim"]);
    assert_eq!(
        names(&run(name_cmp(CompareOp::Sw, "SECOND/")).await),
        ["SECOND/alice", "SECOND/bob", "SECOND/kim"]
    );
    assert_eq!(
        names(&run(name_cmp(CompareOp::Sw, "SEC")).await),
        ["SECOND/alice", "SECOND/bob", "SECOND/kim"]
    );
    assert_eq!(names(&run(name_cmp(CompareOp::Co, "d/b")).await), ["SECOND/bob"]);
    assert_eq!(names(&run(name_cmp(CompareOp::Ew, "kim")).await), ["kim", "SECOND/kim"]);
    assert_eq!(names(&run(name_cmp(CompareOp::Gt, "r")).await), ["SECOND/alice", "SECOND/bob", "SECOND/kim"]);
    assert_eq!(
        names(&run(name_cmp(CompareOp::Ne, "SECOND/bob")).await),
        ["alice", "kim", "SECOND/alice", "SECOND/kim"]
    );
    let not = ClaimFilter::Not(Box::new(name_cmp(CompareOp::Sw, "second/")));
    assert_eq!(names(&run(not).await), ["alice", "kim"]);
}

#[tokio::test]
async fn pages_and_cursors_merge_the_domains_in_one_order() {
    // RFC 7644 §3.4.2.3-4: one sort order, one totalResults, startIndex paging over all domains;
    // RFC 9865: a cursor walk visits every resource once.
    let f = fixture(false).await;
    let mut all = Vec::new();
    for i in 0..23 {
        let name = if i % 3 == 0 { format!("SECOND/u{i:02}") } else { format!("u{i:02}") };
        f.router.create(user(&format!("id{i}"), &name)).await.unwrap();
        all.push(name);
    }
    let mut sorted = all.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    for sort in [false, true] {
        let mut by_offset = Vec::new();
        for offset in (0..23).step_by(5) {
            let page = f.router.query(&query(ClaimFilter::All, offset, 5, sort)).await.unwrap();
            assert_eq!(page.total, 23);
            by_offset.extend(names(&page));
        }
        let mut by_cursor = Vec::new();
        let mut after = None;
        loop {
            let mut q = query(ClaimFilter::All, 0, 4, sort);
            q.after = after.clone();
            let page = f.router.query(&q).await.unwrap();
            assert_eq!(page.total, 23);
            if page.items.is_empty() {
                break;
            }
            by_cursor.extend(names(&page));
            after = page.keys.last().cloned();
        }
        assert_eq!(by_offset, by_cursor, "sorted: {sort}");
        let mut seen = by_cursor.clone();
        if sort {
            assert_eq!(by_cursor, sorted);
        }
        seen.sort();
        let mut expected = all.clone();
        expected.sort();
        assert_eq!(seen, expected, "every resource exactly once (sorted: {sort})");
    }
    let count = f.router.query(&query(ClaimFilter::All, 0, 0, false)).await.unwrap();
    assert_eq!((count.total, count.items.len()), (23, 0));
}

/// RFC 7644 §3.4.2.4: startIndex paging of a filter pinned to one domain (that domain alone is
/// asked, and skips the offset itself) gives the slices of the whole result, in order.
#[tokio::test]
async fn offset_pages_of_a_filter_pinned_to_one_domain_are_slices_of_its_result() {
    let f = fixture(false).await;
    for i in 0..17 {
        let name = if i % 4 == 0 { format!("u{i:02}") } else { format!("SECOND/u{i:02}") };
        f.router.create(user(&format!("id{i}"), &name)).await.unwrap();
    }
    for sort in [false, true] {
        let pinned = name_cmp(CompareOp::Sw, "SECOND/");
        let whole = f.router.query(&query(pinned.clone(), 0, 100, sort)).await.unwrap();
        assert_eq!(whole.total, 12);
        assert!(names(&whole).iter().all(|n| n.starts_with("SECOND/")));
        for offset in [0, 1, 5, 11, 12, 20] {
            let page = f.router.query(&query(pinned.clone(), offset, 3, sort)).await.unwrap();
            assert_eq!(page.total, 12, "offset {offset}");
            let want: Vec<String> = names(&whole).into_iter().skip(offset as usize).take(3).collect();
            assert_eq!(names(&page), want, "offset {offset}, sorted: {sort}");
        }
    }
}

/// RFC 9865 §2.2 `previousCursor` over merged domains: a backward page before any merged
/// position (and before the end) is the slice of the merged order that ends there, for creation
/// order, the name each domain keeps unqualified (ascending and descending, so that a domain's
/// names all sort on one side of a position in another), and a claim some resources lack (no
/// value last ascending, first descending); a backward walk visits every resource once.
#[tokio::test]
async fn backward_pages_merge_the_domains_in_one_order() {
    let f = fixture(false).await;
    for i in 0..17 {
        let name = if i % 3 == 0 { format!("SECOND/u{i:02}") } else { format!("u{i:02}") };
        let mut u = user(&format!("id{i}"), &name);
        if i % 4 != 0 {
            // Ties across domains, and resources without a value.
            u.claims.insert("urn:scimd:claims:title", json!(format!("t{}", i % 3)));
        }
        f.router.create(u).await.unwrap();
    }
    let title = |descending| SortKey {
        path: ClaimPath::Claim { claim: "urn:scimd:claims:title".into(), sub: None },
        attr_type: AttrType::String,
        case_exact: false,
        descending,
    };
    let by_name = |descending| SortKey { descending, ..query(ClaimFilter::All, 0, 0, true).sort.unwrap() };
    let sorts = [None, Some(by_name(false)), Some(by_name(true)), Some(title(false)), Some(title(true))];
    for sort in sorts {
        for filter in [ClaimFilter::All, name_cmp(CompareOp::Ne, "u05")] {
            let q = StoreQuery { sort: sort.clone(), ..query(filter, 0, 100, false) };
            scimd_store_testkit::checks::backward::assert_backward_pages(&f.router, &q).await;
        }
    }
}

#[tokio::test]
async fn a_read_only_domain_refuses_writes_and_marks_its_users() {
    let f = fixture(true).await;
    // Seed the read-only domain directly, as its directory would be.
    f.second.create(user("s1", "kim")).await.unwrap();
    let err = f.router.create(user("x", "SECOND/new")).await.unwrap_err();
    assert!(matches!(&err, StoreError::ReadOnly { domain } if domain == "SECOND"), "{err:?}");
    let err = f.router.delete(ResourceKind::User, "s1", None).await.unwrap_err();
    assert!(matches!(&err, StoreError::ReadOnly { .. }), "{err:?}");
    let got = f.router.get(ResourceKind::User, "s1", false).await.unwrap().unwrap();
    assert_eq!(got.claims.get(IS_READ_ONLY_USER), Some(&json!(true)));
    assert_eq!(got.claims.get_str(USER_NAME), Some("SECOND/kim"));
    // PRIMARY is untouched by the other domain's mode.
    let p = f.router.create(user("p", "pat")).await.unwrap();
    assert!(p.claims.get(IS_READ_ONLY_USER).is_none());
}

#[tokio::test]
async fn deleting_through_the_router_finds_the_domain() {
    let f = fixture(false).await;
    f.router.create(user("b", "SECOND/kim")).await.unwrap();
    f.router.delete(ResourceKind::User, "b", None).await.unwrap();
    assert!(f.second.get(ResourceKind::User, "b", false).await.unwrap().is_none());
    let err = f.router.delete(ResourceKind::User, "b", None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

/// A group read in slices through the router (GET of a big group) comes from its domain as SCIM
/// sees it: its displayName qualified, as any read of it gives.
#[tokio::test]
async fn members_slices_come_from_the_groups_domain_with_its_name_as_written() {
    let f = fixture(false).await;
    f.router.create(user("u", "SECOND/kim")).await.unwrap();
    let claims: Claims = [(GROUP_DISPLAY_NAME.to_owned(), json!("SECOND/team"))].into_iter().collect();
    let members = vec![scimd_store::Member::new("u", None, None)];
    let group = NewResource {
        id: "g".into(),
        kind: ResourceKind::Group,
        claims,
        members,
        now: OffsetDateTime::now_utc(),
    };
    f.router.create(group).await.unwrap();
    let slice = f.router.members_slice("g", None, 10).await.unwrap().unwrap();
    assert_eq!(slice.group.claims.get_str(GROUP_DISPLAY_NAME), Some("SECOND/team"));
    assert_eq!(slice.members.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["u"]);
    assert!(f.primary.members_slice("g", None, 10).await.unwrap().is_none(), "it lives in SECOND");
    assert!(f.router.members_slice("nope", None, 10).await.unwrap().is_none());
}
