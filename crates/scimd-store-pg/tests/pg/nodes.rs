//! Several scimd nodes sharing one database (DESIGN.md, Scale): each sees the others' writes,
//! and the database, not a process, keeps concurrent writers correct.

use std::sync::Arc;

use scimd_claims::claims::USER_NAME;
use scimd_store::{MemberChange, ResourceKind, StoreError, UserStore};
use scimd_store_pg::PgStore;
use scimd_store_testkit::fixtures::{change, eq, member, new_group, new_user, users};

use super::server::{base_url, new_schema, url_with_schema};

async fn two_nodes() -> (Arc<PgStore>, Arc<PgStore>) {
    let url = url_with_schema(&base_url(), &new_schema().await);
    (Arc::new(PgStore::connect(&url, 4).await.unwrap()), Arc::new(PgStore::connect(&url, 4).await.unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_node_is_read_on_another() {
    let (a, b) = two_nodes().await;
    a.create(new_user("u1", "kim")).await.unwrap();
    assert!(b.get(ResourceKind::User, "u1", false).await.unwrap().is_some());
    b.delete(ResourceKind::User, "u1", Some(1)).await.unwrap();
    assert!(a.get(ResourceKind::User, "u1", false).await.unwrap().is_none());
}

/// RFC 7644 §3.3: one userName, created at once on two nodes: one user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_of_one_user_name_on_two_nodes_admit_exactly_one() {
    let (a, b) = two_nodes().await;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let node = if i % 2 == 0 { Arc::clone(&a) } else { Arc::clone(&b) };
            let name = if i % 3 == 0 { "Racer" } else { "rACER" };
            tokio::spawn(async move { node.create(new_user(&format!("u{i}"), name)).await })
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
    assert_eq!(a.query(&users(eq(USER_NAME, "racer"))).await.unwrap().total, 1);
}

/// RFC 7644 §3.5.2: member changes of one group on two nodes at once all take effect; a
/// delete of a member racing them leaves no member behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_changes_on_two_nodes_all_take_effect() {
    let (a, b) = two_nodes().await;
    for i in 0..40 {
        a.create(new_user(&format!("u{i}"), &format!("user{i}"))).await.unwrap();
    }
    // The members to be deleted are in the group already: their deletes bump the group's
    // version while the additions lock it.
    a.create(new_group("g", "g", &["u9", "u19", "u29", "u39"])).await.unwrap();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let node = if i % 2 == 0 { Arc::clone(&a) } else { Arc::clone(&b) };
            tokio::spawn(async move {
                if i % 10 == 9 {
                    // A member deleted (and so removed from the group) while others are added.
                    node.delete(ResourceKind::User, &format!("u{i}"), None).await.unwrap();
                } else {
                    let add = vec![member(&format!("u{i}"))];
                    node.change_members(MemberChange { add, ..change("g") }).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let g = b.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    let mut got: Vec<String> = g.members.unwrap().into_iter().map(|m| m.id).collect();
    got.sort();
    let mut want: Vec<String> = (0..40).filter(|i| i % 10 != 9).map(|i| format!("u{i}")).collect();
    want.sort();
    assert_eq!(got, want);
}

/// A database that runs every transaction SERIALIZABLE (an admin's `default_transaction_isolation`)
/// refuses concurrent writes of one row with serialization failures: the store runs them
/// again, and every change takes effect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serialization_failures_are_retried() {
    let url = url_with_schema(&base_url(), &new_schema().await);
    let serializable = format!("{url}%20-c%20default_transaction_isolation%3Dserializable");
    let store = Arc::new(PgStore::connect(&serializable, 4).await.unwrap());
    let (writers, changes) = (3, 5);
    for w in 0..writers {
        for i in 0..changes {
            store.create(new_user(&format!("w{w}-{i}"), &format!("w{w}-{i}"))).await.unwrap();
        }
    }
    store.create(new_group("g", "g", &[])).await.unwrap();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..changes {
                    let add = vec![member(&format!("w{w}-{i}"))];
                    store.change_members(MemberChange { add, ..change("g") }).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let g = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    assert_eq!(g.members.unwrap().len(), writers * changes);
    assert_eq!(g.version, 1 + (writers * changes) as u64);
}
