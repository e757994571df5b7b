#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The SQLite store against a real database file in a temporary directory.

use std::sync::Arc;

use scimd_claims::claims::{DISPLAY_NAME, EXTERNAL_ID, GROUP_DISPLAY_NAME, USER_NAME};
use scimd_store::{
    ClaimFilter, Claims, Member, MemberChange, Membership, NewResource, Replacement, ResourceKind,
    StoreError, StoreQuery, UserStore,
};
use scimd_store_sql::{SqliteOptions, SqliteStore};
use serde_json::{Value, json};
use tempfile::TempDir;
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2025-03-01 10:00:00.123456789 UTC);
const LATER: OffsetDateTime = datetime!(2025-03-02 11:30:00.5 UTC);

async fn open(dir: &TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("db").join("scimd.db"), SqliteOptions::default()).await.unwrap()
}

async fn fresh() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    (dir, store)
}

fn claims(pairs: &[(&str, Value)]) -> Claims {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

fn new_user(id: &str, user_name: &str) -> NewResource {
    NewResource {
        id: id.to_owned(),
        kind: ResourceKind::User,
        claims: claims(&[(USER_NAME, json!(user_name))]),
        members: vec![],
        now: NOW,
    }
}

fn member(id: &str) -> Member {
    Member::new(id, None, None)
}

fn new_group(id: &str, name: &str, members: &[&str]) -> NewResource {
    NewResource {
        id: id.to_owned(),
        kind: ResourceKind::Group,
        claims: claims(&[(GROUP_DISPLAY_NAME, json!(name))]),
        members: members.iter().map(|m| member(m)).collect(),
        now: NOW,
    }
}

fn eq(claim: &str, value: &str) -> ClaimFilter {
    ClaimFilter::Eq { claim: claim.to_owned(), value: value.to_owned(), case_exact: false }
}

fn eq_exact(claim: &str, value: &str) -> ClaimFilter {
    ClaimFilter::Eq { claim: claim.to_owned(), value: value.to_owned(), case_exact: true }
}

fn users(filter: ClaimFilter) -> StoreQuery {
    StoreQuery {
        kind: ResourceKind::User,
        filter,
        offset: 0,
        limit: 100,
        with_members: false,
        sort: None,
        after: None,
    }
}

async fn ids(store: &SqliteStore, query: StoreQuery) -> Vec<String> {
    store.query(&query).await.unwrap().items.into_iter().map(|r| r.id).collect()
}

fn member_ids(members: &[Member]) -> Vec<&str> {
    members.iter().map(|m| m.id.as_str()).collect()
}

#[tokio::test]
async fn create_then_get_returns_what_was_stored() {
    let (_dir, store) = fresh().await;
    let mut new = new_user("u1", "Kim");
    new.claims = claims(&[
        (USER_NAME, json!("Kim")),
        (EXTERNAL_ID, json!("ext-1")),
        ("urn:scimd:claims:emails", json!([{"value": "kim@example.com", "type": "work", "primary": true}])),
        ("urn:scimd:claims:active", json!(true)),
        ("urn:scimd:claims:name", json!({"givenName": "Kim", "familyName": "Lee"})),
    ]);
    let created = store.create(new.clone()).await.unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(created.created, NOW);
    assert_eq!(created.last_modified, NOW);
    assert_eq!(created.members, None);

    let got = store.get(ResourceKind::User, "u1", false).await.unwrap().unwrap();
    assert_eq!(got.claims, new.claims);
    assert_eq!(got, created);
}

#[tokio::test]
async fn get_is_none_for_absent_id_or_other_kind() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "kim")).await.unwrap();
    assert!(store.get(ResourceKind::User, "nope", false).await.unwrap().is_none());
    assert!(store.get(ResourceKind::Group, "u1", true).await.unwrap().is_none());
}

#[tokio::test]
async fn time_with_offset_is_kept_as_the_same_instant() {
    let (_dir, store) = fresh().await;
    let mut new = new_user("u1", "kim");
    new.now = datetime!(2025-03-01 12:00:00.000000001 +02:00);
    let created = store.create(new).await.unwrap();
    let got = store.get(ResourceKind::User, "u1", false).await.unwrap().unwrap();
    assert_eq!(got.created, datetime!(2025-03-01 10:00:00.000000001 UTC));
    assert_eq!(got, created);
}

#[tokio::test]
async fn create_refuses_user_name_taken_in_other_case() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "Kim")).await.unwrap();
    let err = store.create(new_user("u2", "kIM")).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { claim } if claim == USER_NAME), "{err:?}");
    assert!(store.get(ResourceKind::User, "u2", false).await.unwrap().is_none());
}

#[tokio::test]
async fn create_refuses_user_name_taken_in_other_unicode_case() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "ÉLODIE")).await.unwrap();
    let err = store.create(new_user("u2", "élodie")).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { claim } if claim == USER_NAME), "{err:?}");
}

#[tokio::test]
async fn create_refuses_taken_id() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "a")).await.unwrap();
    let err = store.create(new_user("u1", "b")).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { claim } if claim == scimd_claims::claims::ID), "{err:?}");
}

#[tokio::test]
async fn group_may_share_a_name_with_a_user_name() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "admins")).await.unwrap();
    let mut group = new_group("g1", "admins", &[]);
    group.claims.insert(USER_NAME, json!("admins"));
    store.create(group).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_of_one_user_name_admit_exactly_one() {
    let (_dir, store) = fresh().await;
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = Arc::clone(&store);
            let name = if i % 2 == 0 { "Racer" } else { "rACER" };
            tokio::spawn(async move { store.create(new_user(&format!("u{i}"), name)).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict { claim }) => assert_eq!(claim, USER_NAME),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(store.query(&users(eq(USER_NAME, "racer"))).await.unwrap().total, 1);
}

fn replacement(id: &str, kind: ResourceKind, expected_version: Option<u64>, claims: Claims) -> Replacement {
    Replacement { id: id.to_owned(), kind, expected_version, claims, members: None, now: LATER }
}

#[tokio::test]
async fn replace_with_wrong_version_is_refused_with_the_current_one() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "kim")).await.unwrap();
    let rep = replacement("u1", ResourceKind::User, Some(7), claims(&[(USER_NAME, json!("kim2"))]));
    let err = store.replace(rep).await.unwrap_err();
    assert!(matches!(err, StoreError::VersionMismatch { current: 1 }), "{err:?}");
    let got = store.get(ResourceKind::User, "u1", false).await.unwrap().unwrap();
    assert_eq!(got.claims.get_str(USER_NAME), Some("kim"));
}

#[tokio::test]
async fn replace_with_right_version_bumps_version_and_last_modified() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "kim")).await.unwrap();
    let new_claims = claims(&[(USER_NAME, json!("Kimberly")), (DISPLAY_NAME, json!("K"))]);
    let rep = replacement("u1", ResourceKind::User, Some(1), new_claims.clone());
    let replaced = store.replace(rep).await.unwrap();
    assert_eq!(replaced.version, 2);
    assert_eq!(replaced.created, NOW);
    assert_eq!(replaced.last_modified, LATER);
    let got = store.get(ResourceKind::User, "u1", false).await.unwrap().unwrap();
    assert_eq!(got, replaced);
    assert_eq!(got.claims, new_claims);
    // Unconditional replace.
    let rep = replacement("u1", ResourceKind::User, None, new_claims);
    assert_eq!(store.replace(rep).await.unwrap().version, 3);
    // The old userName is free again, the new one is indexed.
    store.create(new_user("u2", "KIM")).await.unwrap();
    assert_eq!(ids(&store, users(eq(USER_NAME, "kimberly"))).await, ["u1"]);
}

#[tokio::test]
async fn replace_of_absent_or_other_kind_is_not_found() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "kim")).await.unwrap();
    let err = store.replace(replacement("nope", ResourceKind::User, None, Claims::new())).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { kind: ResourceKind::User, .. }), "{err:?}");
    let err = store.replace(replacement("u1", ResourceKind::Group, None, Claims::new())).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { kind: ResourceKind::Group, .. }), "{err:?}");
}

#[tokio::test]
async fn replace_refuses_user_name_of_another_user() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "kim")).await.unwrap();
    store.create(new_user("u2", "lee")).await.unwrap();
    let rep = replacement("u2", ResourceKind::User, None, claims(&[(USER_NAME, json!("KIM"))]));
    let err = store.replace(rep).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { claim } if claim == USER_NAME), "{err:?}");
}

#[tokio::test]
async fn create_group_keeps_members_in_order_with_kinds_and_display() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "a")).await.unwrap();
    store.create(new_user("u2", "b")).await.unwrap();
    store.create(new_group("inner", "Inner", &[])).await.unwrap();
    let mut group = new_group("g", "Outer", &["u2", "inner", "u1", "u2"]);
    group.members[0].display = Some("Bee".to_owned());
    let created = store.create(group).await.unwrap();
    let expected = vec![
        Member::new("u2", Some(ResourceKind::User), Some("Bee".to_owned())),
        Member::new("inner", Some(ResourceKind::Group), None),
        Member::new("u1", Some(ResourceKind::User), None),
    ];
    assert_eq!(created.members.as_deref(), Some(&expected[..]));
    let got = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    assert_eq!(got.members, Some(expected));
    let without = store.get(ResourceKind::Group, "g", false).await.unwrap().unwrap();
    assert_eq!(without.members, None);
}

#[tokio::test]
async fn create_group_refuses_unknown_member() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "a")).await.unwrap();
    let err = store.create(new_group("g", "G", &["u1", "ghost"])).await.unwrap_err();
    assert!(matches!(&err, StoreError::UnknownMember { id, expected: None } if id == "ghost"), "{err:?}");
    // Nothing of the failed create remains.
    assert!(store.get(ResourceKind::Group, "g", true).await.unwrap().is_none());
}

#[tokio::test]
async fn create_group_refuses_member_of_other_kind() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "a")).await.unwrap();
    let mut group = new_group("g", "G", &[]);
    group.members = vec![Member::new("u1", Some(ResourceKind::Group), None)];
    let err = store.create(group).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::UnknownMember { id, expected: Some(ResourceKind::Group) } if id == "u1"),
        "{err:?}"
    );
}

#[tokio::test]
async fn replace_refuses_group_as_its_own_member() {
    let (_dir, store) = fresh().await;
    store.create(new_group("g", "G", &[])).await.unwrap();
    let mut rep = replacement("g", ResourceKind::Group, None, claims(&[(GROUP_DISPLAY_NAME, json!("G"))]));
    rep.members = Some(vec![member("g")]);
    let err = store.replace(rep).await.unwrap_err();
    assert!(matches!(err, StoreError::Unsupported(_)), "{err:?}");
}

#[tokio::test]
async fn replace_members_keeps_order_of_kept_ones_and_appends_new_ones() {
    let (_dir, store) = fresh().await;
    for (id, name) in [("u1", "a"), ("u2", "b"), ("u3", "c"), ("u4", "d")] {
        store.create(new_user(id, name)).await.unwrap();
    }
    store.create(new_group("g", "G", &["u1", "u2", "u3"])).await.unwrap();
    let mut rep = replacement("g", ResourceKind::Group, Some(1), claims(&[(GROUP_DISPLAY_NAME, json!("G"))]));
    let mut members = vec![member("u4"), member("u3"), member("u1")];
    members[1].display = Some("Cee".to_owned());
    rep.members = Some(members);
    let replaced = store.replace(rep).await.unwrap();
    assert_eq!(replaced.version, 2);
    let got = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    let got_members = got.members.unwrap();
    assert_eq!(member_ids(&got_members), ["u1", "u3", "u4"]);
    assert_eq!(got_members[1].display.as_deref(), Some("Cee"));
    assert_eq!(replaced.members.unwrap(), got_members);

    // `None` leaves the members as they are.
    let rep = replacement("g", ResourceKind::Group, Some(2), claims(&[(GROUP_DISPLAY_NAME, json!("H"))]));
    assert_eq!(store.replace(rep).await.unwrap().members, None);
    let got = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    assert_eq!(member_ids(got.members.as_deref().unwrap()), ["u1", "u3", "u4"]);
}

#[tokio::test]
async fn replace_of_10000_member_group_adding_one_keeps_the_rest() {
    let (_dir, store) = fresh().await;
    let user_ids: Vec<String> = (0..10_001).map(|i| format!("user-{i:05}")).collect();
    for id in &user_ids {
        store.create(new_user(id, id)).await.unwrap();
    }
    let mut group = new_group("big", "Big", &[]);
    group.members = user_ids[..10_000].iter().map(|id| member(id)).collect();
    store.create(group).await.unwrap();

    let mut rep =
        replacement("big", ResourceKind::Group, Some(1), claims(&[(GROUP_DISPLAY_NAME, json!("Big"))]));
    rep.members = Some(user_ids.iter().map(|id| member(id)).collect());
    let replaced = store.replace(rep).await.unwrap();
    assert_eq!(replaced.version, 2);
    let got = store.get(ResourceKind::Group, "big", true).await.unwrap().unwrap();
    let got_members = got.members.unwrap();
    assert_eq!(got_members.len(), 10_001);
    assert!(got_members.iter().map(|m| &m.id).eq(user_ids.iter()));
    assert_eq!(store.memberships("user-10000").await.unwrap().len(), 1);
}

#[tokio::test]
async fn delete_of_user_removes_it_from_groups_and_bumps_their_version() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "a")).await.unwrap();
    store.create(new_user("u2", "b")).await.unwrap();
    store.create(new_group("g1", "G1", &["u1", "u2"])).await.unwrap();
    store.create(new_group("g2", "G2", &["u2"])).await.unwrap();
    store.create(new_group("g3", "G3", &["u1"])).await.unwrap();

    store.delete(ResourceKind::User, "u2", Some(1)).await.unwrap();
    assert!(store.get(ResourceKind::User, "u2", false).await.unwrap().is_none());
    let g1 = store.get(ResourceKind::Group, "g1", true).await.unwrap().unwrap();
    assert_eq!(member_ids(g1.members.as_deref().unwrap()), ["u1"]);
    assert_eq!(g1.version, 2);
    assert!(g1.last_modified > NOW);
    let g2 = store.get(ResourceKind::Group, "g2", true).await.unwrap().unwrap();
    assert_eq!(g2.members, Some(vec![]));
    assert_eq!(g2.version, 2);
    let g3 = store.get(ResourceKind::Group, "g3", true).await.unwrap().unwrap();
    assert_eq!(g3.version, 1, "a group the user was not in is untouched");
    // The userName is free again.
    store.create(new_user("u3", "B")).await.unwrap();
}

#[tokio::test]
async fn delete_of_group_removes_it_from_parent_groups() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "a")).await.unwrap();
    store.create(new_group("child", "Child", &["u1"])).await.unwrap();
    store.create(new_group("parent", "Parent", &["child", "u1"])).await.unwrap();
    store.delete(ResourceKind::Group, "child", None).await.unwrap();
    let parent = store.get(ResourceKind::Group, "parent", true).await.unwrap().unwrap();
    assert_eq!(member_ids(parent.members.as_deref().unwrap()), ["u1"]);
    assert_eq!(parent.version, 2);
    assert!(store.get(ResourceKind::User, "u1", false).await.unwrap().is_some());
}

#[tokio::test]
async fn delete_checks_version_kind_and_existence() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "a")).await.unwrap();
    let err = store.delete(ResourceKind::User, "u1", Some(2)).await.unwrap_err();
    assert!(matches!(err, StoreError::VersionMismatch { current: 1 }), "{err:?}");
    let err = store.delete(ResourceKind::Group, "u1", None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let err = store.delete(ResourceKind::User, "nope", None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(store.get(ResourceKind::User, "u1", false).await.unwrap().is_some());
}

fn membership(group_id: &str, display: &str, direct: bool) -> Membership {
    Membership { group_id: group_id.to_owned(), display: Some(display.to_owned()), direct }
}

#[tokio::test]
async fn memberships_report_direct_and_indirect_groups() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "a")).await.unwrap();
    store.create(new_group("team", "Team", &["u1"])).await.unwrap();
    store.create(new_group("dept", "Dept", &["team"])).await.unwrap();
    store.create(new_group("org", "Org", &["dept", "u1"])).await.unwrap();
    store.create(new_group("other", "Other", &[])).await.unwrap();
    let got = store.memberships("u1").await.unwrap();
    assert_eq!(
        got,
        vec![
            membership("team", "Team", true),
            membership("dept", "Dept", false),
            membership("org", "Org", true)
        ]
    );
    assert_eq!(store.memberships("team").await.unwrap().len(), 2);
    assert!(store.memberships("nobody").await.unwrap().is_empty());
}

#[tokio::test]
async fn memberships_terminate_on_a_cycle() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "a")).await.unwrap();
    store.create(new_group("a", "A", &["u1"])).await.unwrap();
    store.create(new_group("b", "B", &["a"])).await.unwrap();
    let mut rep = replacement("a", ResourceKind::Group, None, claims(&[(GROUP_DISPLAY_NAME, json!("A"))]));
    rep.members = Some(vec![member("u1"), member("b")]);
    store.replace(rep).await.unwrap();
    let got = store.memberships("u1").await.unwrap();
    assert_eq!(got, vec![membership("a", "A", true), membership("b", "B", false)]);
    // A group in a cycle does not list itself.
    assert_eq!(store.memberships("a").await.unwrap(), vec![membership("b", "B", true)]);
}

async fn seed_people(store: &SqliteStore) {
    let people = [
        ("p1", "Alice", "ext-A", "Alice Liddell"),
        ("p2", "bob", "ext-b", "Bob Builder"),
        ("p3", "Carol", "EXT-C", "alice liddell"),
        ("p4", "dave", "ext-d", "Dave"),
        ("p5", "Eve", "ext-e", "Eve"),
    ];
    for (id, user_name, external_id, display) in people {
        let mut new = new_user(id, user_name);
        new.claims.insert(EXTERNAL_ID, json!(external_id));
        new.claims.insert(DISPLAY_NAME, json!(display));
        new.claims.insert("urn:scimd:claims:title", json!(format!("Title {id}")));
        new.claims.insert("urn:scimd:claims:devices", json!([format!("Phone-{id}"), "shared"]));
        new.claims.insert("urn:scimd:claims:level", json!(id.len() * 10 + usize::from(id == "p5")));
        store.create(new).await.unwrap();
    }
    store.create(new_group("g1", "Alice", &["p1"])).await.unwrap();
}

#[tokio::test]
async fn query_eq_user_name_ignores_case_and_kind() {
    let (_dir, store) = fresh().await;
    seed_people(&store).await;
    assert_eq!(ids(&store, users(eq(USER_NAME, "ALICE"))).await, ["p1"]);
    assert_eq!(ids(&store, users(eq_exact(USER_NAME, "Alice"))).await, ["p1"]);
    assert!(ids(&store, users(eq_exact(USER_NAME, "alice"))).await.is_empty());
}

#[tokio::test]
async fn query_eq_external_id_is_exact_unless_asked_otherwise() {
    let (_dir, store) = fresh().await;
    seed_people(&store).await;
    assert_eq!(ids(&store, users(eq_exact(EXTERNAL_ID, "EXT-C"))).await, ["p3"]);
    assert!(ids(&store, users(eq_exact(EXTERNAL_ID, "ext-c"))).await.is_empty());
    assert_eq!(ids(&store, users(eq(EXTERNAL_ID, "ext-c"))).await, ["p3"]);
}

#[tokio::test]
async fn query_eq_display_name_per_kind() {
    let (_dir, store) = fresh().await;
    seed_people(&store).await;
    assert_eq!(ids(&store, users(eq(DISPLAY_NAME, "ALICE LIDDELL"))).await, ["p1", "p3"]);
    assert_eq!(ids(&store, users(eq_exact(DISPLAY_NAME, "alice liddell"))).await, ["p3"]);
    let groups = StoreQuery { kind: ResourceKind::Group, ..users(eq(GROUP_DISPLAY_NAME, "alice")) };
    assert_eq!(ids(&store, groups).await, ["g1"]);
}

#[tokio::test]
async fn query_eq_other_claims_reads_the_json() {
    let (_dir, store) = fresh().await;
    seed_people(&store).await;
    assert_eq!(ids(&store, users(eq("urn:scimd:claims:title", "title P2"))).await, ["p2"]);
    assert!(ids(&store, users(eq_exact("urn:scimd:claims:title", "title P2"))).await.is_empty());
    // Any value of a multi-valued claim.
    assert_eq!(ids(&store, users(eq("urn:scimd:claims:devices", "phone-p4"))).await, ["p4"]);
    assert_eq!(store.query(&users(eq("urn:scimd:claims:devices", "SHARED"))).await.unwrap().total, 5);
    // Numbers by value.
    assert_eq!(ids(&store, users(eq("urn:scimd:claims:level", "21"))).await, ["p5"]);
    assert!(ids(&store, users(eq("urn:scimd:claims:missing", "x"))).await.is_empty());
    // ID.
    assert_eq!(ids(&store, users(eq_exact(scimd_claims::claims::ID, "p2"))).await, ["p2"]);
}

#[tokio::test]
async fn query_and_or_combine() {
    let (_dir, store) = fresh().await;
    seed_people(&store).await;
    let f = ClaimFilter::And(vec![eq(DISPLAY_NAME, "alice liddell"), eq(USER_NAME, "carol")]);
    assert_eq!(ids(&store, users(f)).await, ["p3"]);
    let f = ClaimFilter::Or(vec![eq(USER_NAME, "eve"), eq_exact(EXTERNAL_ID, "ext-b")]);
    assert_eq!(ids(&store, users(f)).await, ["p2", "p5"]);
    let f = ClaimFilter::Or(vec![
        ClaimFilter::And(vec![eq(USER_NAME, "dave"), eq(DISPLAY_NAME, "dave")]),
        ClaimFilter::And(vec![eq(USER_NAME, "bob"), eq(DISPLAY_NAME, "nope")]),
    ]);
    assert_eq!(ids(&store, users(f)).await, ["p4"]);
}

#[tokio::test]
async fn query_pages_in_creation_order_with_total() {
    let (_dir, store) = fresh().await;
    seed_people(&store).await;
    let page = store.query(&StoreQuery { offset: 1, limit: 2, ..users(ClaimFilter::All) }).await.unwrap();
    assert_eq!(page.total, 5);
    assert_eq!(page.items.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["p2", "p3"]);
    let page = store.query(&StoreQuery { offset: 4, limit: 10, ..users(ClaimFilter::All) }).await.unwrap();
    assert_eq!((page.total, page.items.len()), (5, 1));
    let page = store.query(&StoreQuery { offset: 50, limit: 10, ..users(ClaimFilter::All) }).await.unwrap();
    assert_eq!((page.total, page.items.len()), (5, 0));
    let filtered = StoreQuery { offset: 1, limit: 1, ..users(eq(DISPLAY_NAME, "alice liddell")) };
    let page = store.query(&filtered).await.unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.items[0].id, "p3");
}

#[tokio::test]
async fn query_with_limit_zero_returns_the_total_alone() {
    let (_dir, store) = fresh().await;
    seed_people(&store).await;
    let page = store.query(&StoreQuery { limit: 0, ..users(ClaimFilter::All) }).await.unwrap();
    assert_eq!(page.total, 5);
    assert!(page.items.is_empty());
}

#[tokio::test]
async fn query_of_groups_loads_members_when_asked() {
    let (_dir, store) = fresh().await;
    seed_people(&store).await;
    let q = StoreQuery { kind: ResourceKind::Group, with_members: true, ..users(ClaimFilter::All) };
    let page = store.query(&q).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(member_ids(page.items[0].members.as_deref().unwrap()), ["p1"]);
    let q = StoreQuery { kind: ResourceKind::Group, ..users(ClaimFilter::All) };
    assert_eq!(store.query(&q).await.unwrap().items[0].members, None);
}

#[tokio::test]
async fn reopen_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(&dir).await;
        store.create(new_user("u1", "kim")).await.unwrap();
        store.create(new_group("g", "G", &["u1"])).await.unwrap();
    }
    let store = open(&dir).await;
    let got = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    assert_eq!(member_ids(got.members.as_deref().unwrap()), ["u1"]);
    let err = store.create(new_user("u2", "KIM")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
}

#[tokio::test]
async fn open_refuses_a_newer_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db").join("scimd.db");
    drop(SqliteStore::open(&path, SqliteOptions::default()).await.unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = SqliteStore::open(&path, SqliteOptions::default()).await.unwrap_err();
    match err {
        StoreError::Backend(message) => assert!(message.contains("newer"), "{message}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn open_creates_the_parent_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("scimd.db");
    let store = SqliteStore::open(&path, SqliteOptions { read_connections: 1, ..SqliteOptions::default() })
        .await
        .unwrap();
    assert!(path.exists());
    assert_eq!(store.path(), path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_writes_run_concurrently() {
    let (_dir, store) = fresh().await;
    let store = Arc::new(store);
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..50 {
                    store.create(new_user(&format!("w{t}-{i}"), &format!("w{t}-{i}"))).await.unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for _ in 0..50 {
                    store.query(&StoreQuery { limit: 0, ..users(ClaimFilter::All) }).await.unwrap();
                }
            })
        })
        .collect();
    for task in writers.into_iter().chain(readers) {
        task.await.unwrap();
    }
    assert_eq!(store.query(&StoreQuery { limit: 0, ..users(ClaimFilter::All) }).await.unwrap().total, 200);
}

async fn walk_users(store: &SqliteStore) -> Vec<String> {
    let mut seen = Vec::new();
    for offset in (0..18).step_by(4) {
        let page = store.query(&StoreQuery { offset, limit: 4, ..users(ClaimFilter::All) }).await.unwrap();
        assert_eq!(page.total, 16);
        seen.extend(page.items.into_iter().map(|r| r.id));
    }
    seen
}

/// Unfiltered paging starts from the in-memory creation order: after deletions, with groups
/// interleaved, and after a reopen, every offset gives the right page and the right total.
#[tokio::test]
async fn unfiltered_paging_is_exact_after_deletions_and_reopen() {
    let (dir, store) = fresh().await;
    for i in 0..20 {
        store.create(new_user(&format!("u{i}"), &format!("user{i}"))).await.unwrap();
        if i % 5 == 0 {
            store.create(new_group(&format!("g{i}"), &format!("group{i}"), &[])).await.unwrap();
        }
    }
    for i in [0, 3, 4, 19] {
        store.delete(ResourceKind::User, &format!("u{i}"), None).await.unwrap();
    }
    let expected: Vec<String> =
        (0..20).filter(|i| ![0, 3, 4, 19].contains(i)).map(|i| format!("u{i}")).collect();
    assert_eq!(walk_users(&store).await, expected);
    drop(store);
    let store = open(&dir).await;
    assert_eq!(walk_users(&store).await, expected);
    let groups = store
        .query(&StoreQuery { kind: ResourceKind::Group, offset: 1, limit: 10, ..users(ClaimFilter::All) })
        .await
        .unwrap();
    assert_eq!(groups.total, 4);
    assert_eq!(groups.items.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), ["g5", "g10", "g15"]);
}

fn change(group: &str) -> MemberChange {
    MemberChange {
        group_id: group.to_owned(),
        expected_version: None,
        clear: false,
        remove: vec![],
        add: vec![],
        claims: None,
        now: NOW,
    }
}

/// A PATCH of a big group names only the members it changes; the others stay, in order.
#[tokio::test]
async fn change_members_touches_only_the_members_named() {
    let (_dir, store) = fresh().await;
    let ids: Vec<String> = (0..2_000).map(|i| format!("m{i}")).collect();
    for id in &ids {
        store.create(new_user(id, id)).await.unwrap();
    }
    let refs: Vec<&str> = ids[..1_900].iter().map(String::as_str).collect();
    store.create(new_group("big", "big", &refs)).await.unwrap();
    let added = change("big");
    let g = store
        .change_members(MemberChange { add: ids[1_900..].iter().map(|i| member(i)).collect(), ..added })
        .await
        .unwrap();
    assert_eq!(g.version, 2);
    assert!(g.members.is_none());
    let removed = change("big");
    store
        .change_members(MemberChange {
            remove: ids[..100].to_vec(),
            add: vec![member("m0"), member("m1950")],
            ..removed
        })
        .await
        .unwrap();
    let g = store.get(ResourceKind::Group, "big", true).await.unwrap().unwrap();
    let members = g.members.unwrap();
    let expected: Vec<&str> = ids[100..].iter().map(String::as_str).chain(["m0"]).collect();
    assert_eq!(member_ids(&members), expected, "kept members keep their order; re-added go last");
    assert_eq!(g.version, 3);
}

#[tokio::test]
async fn change_members_is_all_or_nothing_and_checks_versions() {
    let (_dir, store) = fresh().await;
    store.create(new_user("u1", "u1")).await.unwrap();
    store.create(new_group("g", "g", &["u1"])).await.unwrap();
    let err = store
        .change_members(MemberChange { clear: true, add: vec![member("ghost")], ..change("g") })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownMember { ref id, .. } if id == "ghost"), "{err:?}");
    let g = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    assert_eq!(member_ids(g.members.as_ref().unwrap()), ["u1"]);
    assert_eq!(g.version, 1);
    let err =
        store.change_members(MemberChange { expected_version: Some(7), ..change("g") }).await.unwrap_err();
    assert!(matches!(err, StoreError::VersionMismatch { current: 1 }), "{err:?}");
    let err = store.change_members(MemberChange { add: vec![member("g")], ..change("g") }).await.unwrap_err();
    assert!(matches!(err, StoreError::Unsupported(_)), "{err:?}");
    let err = store.change_members(change("nope")).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

/// A keyset walk (RFC 9865 cursors): pages of `limit` after the last key seen, with `between`
/// run after each page. Returns the ids seen.
async fn keyset_walk(
    store: &SqliteStore,
    filter: ClaimFilter,
    limit: u64,
    mut between: impl AsyncFnMut(usize),
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = None;
    for page_no in 0..100 {
        let page = store.query(&StoreQuery { limit, after, ..users(filter.clone()) }).await.unwrap();
        assert_eq!(page.keys.len(), page.items.len());
        assert!(page.keys.windows(2).all(|w| w[0].seq < w[1].seq), "creation order");
        seen.extend(page.items.into_iter().map(|r| r.id));
        match page.keys.last() {
            Some(last) => after = Some(last.clone()),
            None => return seen,
        }
        between(page_no).await;
    }
    panic!("the walk does not end: {seen:?}");
}

/// RFC 9865 §2: a keyset walk in creation order, unfiltered (the in-memory order) and filtered
/// (SQL `seq > ?`), visits every resource that exists throughout exactly once while resources
/// are created and deleted between pages; `total` counts every match, not those left.
#[tokio::test]
async fn keyset_walk_visits_each_resource_once_during_writes() {
    let (_dir, store) = fresh().await;
    for i in 0..10 {
        store.create(new_user(&format!("u{i}"), &format!("user{i}"))).await.unwrap();
        store.create(new_group(&format!("g{i}"), &format!("user{i}"), &[])).await.unwrap();
    }
    let all: Vec<String> = (0..10).map(|i| format!("u{i}")).collect();
    assert_eq!(keyset_walk(&store, ClaimFilter::All, 3, async |_| {}).await, all);
    let after = Some(scimd_store::Keyset { key: None, seq: i64::MAX });
    let page = store.query(&StoreQuery { after, ..users(ClaimFilter::All) }).await.unwrap();
    assert_eq!((page.total, page.items.len()), (10, 0));

    let mut n = 0;
    for filter in [ClaimFilter::All, ClaimFilter::Not(Box::new(eq(USER_NAME, "nobody")))] {
        let seen = keyset_walk(&store, filter, 3, async |page_no| {
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
        let unique: std::collections::HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{seen:?}");
        for id in ["u0", "u2", "u3", "u4", "u5", "u6", "u7", "u9"] {
            assert!(seen.contains(&id.to_owned()), "{id} skipped: {seen:?}");
        }
        assert!(!seen.contains(&"u8".to_owned()));
        // Put them back for the next round.
        for id in ["u1", "u8"] {
            let _ = store.create(new_user(id, &format!("again-{id}"))).await;
        }
    }
}

/// A keyset walk of a sorted query (RFC 9865 with RFC 7644 §3.4.2.3): `(key, seq)` after the
/// last position, resources without a value last ascending and first descending, ties in
/// creation order; the walk equals the sorted listing.
#[tokio::test]
async fn keyset_walk_of_a_sorted_query_follows_the_sort() {
    let (_dir, store) = fresh().await;
    for (i, display) in [Some("b"), None, Some("a"), Some("B"), None, Some("c"), Some("a")].iter().enumerate()
    {
        let mut u = new_user(&format!("u{i}"), &format!("user{i}"));
        if let Some(d) = display {
            u.claims.insert(DISPLAY_NAME, json!(d));
        }
        store.create(u).await.unwrap();
    }
    for descending in [false, true] {
        let sort = Some(scimd_store::SortKey {
            path: scimd_claims::ClaimPath::Claim { claim: DISPLAY_NAME.into(), sub: None },
            descending,
            attr_type: scimd_core::schema::AttrType::String,
            case_exact: false,
        });
        let expected = ids(&store, StoreQuery { sort: sort.clone(), ..users(ClaimFilter::All) }).await;
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let q =
                StoreQuery { sort: sort.clone(), limit: 2, after: after.clone(), ..users(ClaimFilter::All) };
            let page = store.query(&q).await.unwrap();
            assert_eq!(page.total, 7);
            seen.extend(page.items.into_iter().map(|r| r.id));
            match page.keys.last() {
                Some(last) => after = Some(last.clone()),
                None => break,
            }
        }
        assert_eq!(seen, expected, "descending: {descending}");
        let order = if descending {
            ["u1", "u4", "u5", "u0", "u3", "u2", "u6"]
        } else {
            ["u2", "u6", "u0", "u3", "u5", "u1", "u4"]
        };
        assert_eq!(seen, order);
    }
}
