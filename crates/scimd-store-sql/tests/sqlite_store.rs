#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! What is the SQLite store's own, against a real database file in a temporary directory:
//! reopening, schema versions, the file's directory, concurrent readers and the in-memory
//! creation order. The behaviour every store shares is checked by the store kit (`kit.rs`).

use std::sync::Arc;

use scimd_claims::claims::{EMAILS, FAMILY_NAME, GROUP_DISPLAY_NAME, USER_NAME};
use scimd_claims::{ClaimPath, Collection};
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{
    ClaimFilter, Claims, Member, NewResource, Replacement, ResourceKind, StoreError, StoreQuery, UserStore,
};
use scimd_store_sql::{SqliteOptions, SqliteStore};
use scimd_store_testkit::fixtures::users;
use serde_json::{Value, json};
use tempfile::TempDir;
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2025-03-01 10:00:00.123456789 UTC);
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

fn member_ids(members: &[Member]) -> Vec<&str> {
    members.iter().map(|m| m.id.as_str()).collect()
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

/// Creates that wait for the writer together are committed in one transaction, each under a
/// savepoint: of 300 creates at once (many in the same batches) with each userName asked three
/// times and some groups naming a member that does not exist, exactly one create of each name
/// succeeds, the others get `Conflict`, the bad groups `UnknownMember`, and every create
/// answered Ok is there, once, in creation order, also after a reopen (nothing answered before
/// its commit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_committed_together_each_succeed_or_fail_alone() {
    let (dir, store) = fresh().await;
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let new = if i % 10 == 9 {
                    new_group(&format!("g{i}"), &format!("group-{i}"), &["no-such-member"])
                } else {
                    new_user(&format!("u{i}"), &format!("name-{}", i / 3))
                };
                (i, store.create(new).await)
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut names = std::collections::HashMap::new();
    for task in tasks {
        let (i, outcome) = task.await.unwrap();
        match outcome {
            Ok(r) => {
                assert_ne!(i % 10, 9, "a group with an unknown member was created");
                *names.entry(i / 3).or_insert(0) += 1;
                created.push(r.id);
            }
            Err(StoreError::UnknownMember { id, .. }) => {
                assert_eq!((i % 10, id.as_str()), (9, "no-such-member"))
            }
            Err(StoreError::Conflict { claim }) => assert_eq!(claim, USER_NAME),
            Err(e) => panic!("create {i}: {e:?}"),
        }
    }
    // Every name asked by a user create is taken exactly once.
    let asked: std::collections::HashSet<usize> = (0..300).filter(|i| i % 10 != 9).map(|i| i / 3).collect();
    assert_eq!(names.len(), asked.len());
    assert!(names.values().all(|&n| n == 1), "{names:?}");
    drop(store);
    let store = open(&dir).await;
    let all = store.query(&StoreQuery { limit: 1000, ..users(ClaimFilter::All) }).await.unwrap();
    let mut listed: Vec<String> = all.items.into_iter().map(|r| r.id).collect();
    assert_eq!(all.total as usize, created.len());
    listed.sort();
    created.sort();
    assert_eq!(listed, created);
    let groups =
        store.query(&StoreQuery { limit: 0, kind: ResourceKind::Group, ..users(ClaimFilter::All) }).await;
    assert_eq!(groups.unwrap().total, 0);
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

fn with_emails(id: &str, user_name: &str, emails: Value) -> NewResource {
    let mut new = new_user(id, user_name);
    new.claims.insert(EMAILS, emails);
    new
}

/// `emails.value eq "…"` (RFC 7644 §3.4.2.2), answered from the store's emails table.
fn email_eq(value: &str) -> ClaimFilter {
    ClaimFilter::Compare {
        path: ClaimPath::Claim { claim: EMAILS.into(), sub: Some("value".into()) },
        op: CompareOp::Eq,
        value: CompValue::Str(value.into()),
        attr_type: AttrType::String,
        case_exact: false,
    }
}

async fn email_rows(dir: &TempDir) -> i64 {
    let conn = rusqlite::Connection::open(dir.path().join("db").join("scimd.db")).unwrap();
    conn.query_row("SELECT count(*) FROM user_emails", [], |r| r.get(0)).unwrap()
}

/// The emails table follows every write of a user: a create adds its rows, a replace swaps
/// them, a delete removes them; filters on emails answer from it without regard to case.
#[tokio::test]
async fn emails_follow_every_write_of_a_user() {
    let (dir, store) = fresh().await;
    store
        .create(with_emails("u1", "kim", json!([{"value": "Kim@Example.com", "type": "work"}])))
        .await
        .unwrap();
    store.create(new_user("u2", "lee")).await.unwrap();
    assert_eq!(store.query(&users(email_eq("kim@EXAMPLE.com"))).await.unwrap().total, 1);
    assert_eq!(email_rows(&dir).await, 1);

    let mut claims =
        with_emails("u1", "kim", json!([{"value": "k@home.org", "type": "home"}, "not an object"])).claims;
    claims.insert(USER_NAME, json!("kim"));
    let rep = Replacement {
        id: "u1".into(),
        kind: ResourceKind::User,
        expected_version: None,
        claims,
        members: None,
        now: NOW,
    };
    store.replace(rep).await.unwrap();
    assert_eq!(store.query(&users(email_eq("kim@example.com"))).await.unwrap().total, 0);
    assert_eq!(store.query(&users(email_eq("K@HOME.org"))).await.unwrap().total, 1);
    let home = ClaimFilter::ElementMatch {
        of: Collection::Claim(EMAILS.into()),
        filter: Box::new(ClaimFilter::And(vec![
            ClaimFilter::Compare {
                path: ClaimPath::Element { sub: "type".into() },
                op: CompareOp::Eq,
                value: CompValue::Str("HOME".into()),
                attr_type: AttrType::String,
                case_exact: false,
            },
            ClaimFilter::Compare {
                path: ClaimPath::Element { sub: "value".into() },
                op: CompareOp::Co,
                value: CompValue::Str("@Home".into()),
                attr_type: AttrType::String,
                case_exact: false,
            },
        ])),
    };
    assert_eq!(store.query(&users(home)).await.unwrap().total, 1);
    assert_eq!(email_rows(&dir).await, 1, "only objects have rows");

    store.delete(ResourceKind::User, "u1", None).await.unwrap();
    assert_eq!(store.query(&users(email_eq("k@home.org"))).await.unwrap().total, 0);
    assert_eq!(email_rows(&dir).await, 0);
}

/// Schema version 3 derives the emails table and the family name column from the users already
/// stored.
#[tokio::test]
async fn the_search_migration_derives_what_it_adds_from_existing_users() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let mut kim = with_emails("u1", "kim", json!([{"value": "Ö@x.org", "type": "Work"}]));
    kim.claims.insert(FAMILY_NAME, json!("Öberg"));
    store.create(kim).await.unwrap();
    store.create(new_user("u2", "lee")).await.unwrap();
    let mut group = new_group("g", "mixed", &["u2"]);
    group.members.push(Member {
        domain: Some("LDAP".into()),
        kind: Some(ResourceKind::User),
        ..member("LDAP-Kim")
    });
    store.create(group).await.unwrap();
    drop(store);
    {
        // Back to version 2, as a store written before version 3 existed.
        let conn = rusqlite::Connection::open(dir.path().join("db").join("scimd.db")).unwrap();
        conn.execute_batch(
            "DROP TABLE user_emails; DROP INDEX resources_family_name_ci; \
             ALTER TABLE resources DROP COLUMN family_name_ci; \
             DROP INDEX external_members_member_id_ci; ALTER TABLE external_members DROP COLUMN member_id_ci; \
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let store = open(&dir).await;
    assert_eq!(email_rows(&dir).await, 1);
    assert_eq!(store.query(&users(email_eq("ö@X.ORG"))).await.unwrap().total, 1);
    let family = |op: CompareOp, v: &str| ClaimFilter::Compare {
        path: ClaimPath::Claim { claim: FAMILY_NAME.into(), sub: None },
        op,
        value: CompValue::Str(v.into()),
        attr_type: AttrType::String,
        case_exact: false,
    };
    assert_eq!(store.query(&users(family(CompareOp::Sw, "öB"))).await.unwrap().total, 1);
    assert_eq!(store.query(&users(family(CompareOp::Eq, "ÖBERG"))).await.unwrap().total, 1);
    assert_eq!(store.query(&users(family(CompareOp::Ne, "öberg"))).await.unwrap().total, 1, "lee has none");
    // Members of other domains by their folded id, members of this store by theirs.
    for id in ["ldap-kim", "LDAP-KIM", "U2"] {
        let f = ClaimFilter::Compare {
            path: ClaimPath::Member(scimd_claims::MemberField::Value),
            op: CompareOp::Eq,
            value: CompValue::Str(id.into()),
            attr_type: AttrType::String,
            case_exact: false,
        };
        let q = StoreQuery { kind: ResourceKind::Group, ..users(f) };
        assert_eq!(store.query(&q).await.unwrap().total, 1, "members.value eq {id}");
    }
}

/// Ids are kept folded (they compare without regard to case, RFC 7643 §4.2 `members.value`): an
/// id with upper-case letters is refused, never stored where a lookup by its folded form would
/// miss it.
#[tokio::test]
async fn an_id_with_upper_case_letters_is_refused() {
    let (_dir, store) = fresh().await;
    let err = store.create(new_user("Kim-1", "kim")).await.unwrap_err();
    assert!(matches!(&err, StoreError::Unsupported(m) if m.contains("Kim-1")), "{err:?}");
    assert!(store.get(ResourceKind::User, "Kim-1", false).await.unwrap().is_none());
}
