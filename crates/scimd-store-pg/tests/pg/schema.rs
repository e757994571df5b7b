//! The versioned schema: migrated at connect, once, even when several nodes start at once; a
//! schema newer than the code is refused.

use scimd_store::{StoreError, UserStore};
use scimd_store_pg::PgStore;
use scimd_store_testkit::fixtures::new_user;

use super::server::{admin_client, base_url, new_schema, url_with_schema};

async fn migrations_of(schema: &str) -> Vec<(i32, String)> {
    admin_client()
        .await
        .query(&format!("SELECT version, name FROM {schema}.scimd_migrations ORDER BY version"), &[])
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

#[tokio::test]
async fn connecting_again_keeps_the_data_and_migrates_nothing() {
    let schema = new_schema().await;
    let url = url_with_schema(&base_url(), &schema);
    let first = PgStore::connect(&url, 2).await.unwrap();
    first.create(new_user("u1", "kim")).await.unwrap();
    drop(first);
    let again = PgStore::connect(&url, 2).await.unwrap();
    assert!(again.get(scimd_store::ResourceKind::User, "u1", false).await.unwrap().is_some());
    assert_eq!(migrations_of(&schema).await, vec![(1, "init".to_owned())]);
}

/// Several nodes starting at once on an empty database: one migrates, the others wait for it
/// (an advisory lock) and find the work done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_at_once_migrate_once() {
    let schema = new_schema().await;
    let url = url_with_schema(&base_url(), &schema);
    let nodes: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PgStore::connect(&url, 1).await })
        })
        .collect();
    for node in nodes {
        node.await.unwrap().unwrap();
    }
    assert_eq!(migrations_of(&schema).await, vec![(1, "init".to_owned())]);
}

#[tokio::test]
async fn a_schema_written_by_a_newer_scimd_is_refused() {
    let schema = new_schema().await;
    let url = url_with_schema(&base_url(), &schema);
    drop(PgStore::connect(&url, 1).await.unwrap());
    admin_client()
        .await
        .execute(&format!("INSERT INTO {schema}.scimd_migrations (version, name) VALUES (99, 'future')"), &[])
        .await
        .unwrap();
    match PgStore::connect(&url, 1).await.unwrap_err() {
        StoreError::Backend(message) => assert!(message.contains("newer"), "{message}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn an_invalid_url_is_refused_without_echoing_it() {
    match PgStore::connect("postgres://user:s3cret@host:notaport/db", 1).await.unwrap_err() {
        StoreError::Backend(message) => assert!(!message.contains("s3cret"), "{message}"),
        other => panic!("unexpected {other:?}"),
    }
}
