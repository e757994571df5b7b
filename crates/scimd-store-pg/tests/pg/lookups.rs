//! Lookups by userName that arrive together share one statement (`lookups.rs`): each still
//! gets its own user, compared without regard to case (RFC 7643 §4.1.1: userName is not
//! caseExact; RFC 7644 §3.4.2.2 `eq`), with its groups, and a lookup whose statement fails
//! runs alone, so that it fails no other.

use std::sync::Arc;

use scimd_claims::ClaimPath;
use scimd_claims::claims::USER_NAME;
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{ClaimFilter, StoreError, StoreQuery, UserStore};
use scimd_store_pg::PgStore;
use scimd_store_testkit::fixtures::{new_group, new_user, users};

use super::server::{admin_client, base_url, new_schema, url_with_schema};

/// The query the server makes of `userName eq "name"`.
pub(super) fn lookup(name: &str) -> StoreQuery {
    users(ClaimFilter::Compare {
        path: ClaimPath::Claim { claim: USER_NAME.into(), sub: None },
        op: CompareOp::Eq,
        value: CompValue::Str(name.into()),
        attr_type: AttrType::String,
        case_exact: false,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_that_arrive_together_each_get_their_own_user() {
    // 8 connections: 2 shared by point reads, where lookups are answered together.
    let store =
        Arc::new(PgStore::connect(&url_with_schema(&base_url(), &new_schema().await), 8).await.unwrap());
    for i in 0..40 {
        store.create(new_user(&format!("u{i}"), &format!("User{i}"))).await.unwrap();
    }
    store.create(new_group("g0", "Zeroes", &["u0", "u10", "u20"])).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..600_usize {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            // Names of 60 users, 40 of them stored; some asked in capitals, some twice at once.
            let n = i % 60;
            let name = if i % 3 == 0 { format!("USER{n}") } else { format!("user{n}") };
            let answer = if i % 2 == 0 {
                let (page, memberships) = store.query_with_memberships(&lookup(&name)).await.unwrap();
                assert_eq!(memberships.len(), page.items.len(), "{name}");
                let groups: Vec<String> = memberships.into_iter().flatten().map(|m| m.group_id).collect();
                (page, groups)
            } else {
                (store.query(&lookup(&name)).await.unwrap(), Vec::new())
            };
            (n, i % 2 == 0, answer)
        }));
    }
    for task in tasks {
        let (n, with_groups, (page, groups)) = task.await.unwrap();
        if n < 40 {
            assert_eq!(page.total, 1, "user{n}");
            let ids: Vec<&str> = page.items.iter().map(|u| u.id.as_str()).collect();
            assert_eq!(ids, [format!("u{n}")], "user{n}");
            assert_eq!(page.keys.len(), 1);
            let expected: &[&str] = if with_groups && n % 10 == 0 && n < 30 { &["g0"] } else { &[] };
            assert_eq!(groups, expected, "user{n}");
        } else {
            assert_eq!(page.total, 0, "user{n}");
            assert!(page.items.is_empty() && page.keys.is_empty(), "user{n}");
        }
    }
    // The names read back as they were written.
    let page = store.query(&lookup("user7")).await.unwrap();
    assert_eq!(page.items[0].claims.get(USER_NAME), Some(&serde_json::json!("User7")));
}

/// A database whose encoding is not UTF-8 cannot hold what clients write (nor scimd's own
/// schema): refused at connect, with a message that names the encoding, not a failed migration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_not_in_utf8_is_refused_at_connect() {
    let admin = admin_client().await;
    let database = format!("latin1_{}", new_schema().await);
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {database} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        ))
        .await
        .unwrap();
    let base = base_url();
    let (prefix, params) = base.split_once('?').unwrap_or((&base, ""));
    let (server, _) = prefix.rsplit_once('/').unwrap();
    let err = PgStore::connect(&format!("{server}/{database}?{params}"), 2).await.unwrap_err();
    admin.batch_execute(&format!("DROP DATABASE {database} WITH (FORCE)")).await.unwrap();
    let StoreError::Backend(message) = err else { panic!("{err:?}") };
    assert!(message.contains("LATIN1") && message.contains("UTF8"), "{message}");
}

/// The statement of a batch reads each name by the unique index on userName, never by a scan
/// of `resources`, on an empty table and on a populated one (its generic plan, the one each
/// connection keeps).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statement_of_lookups_reads_each_name_by_the_unique_index() {
    let schema = new_schema().await;
    let store = PgStore::connect(&url_with_schema(&base_url(), &schema), 4).await.unwrap();
    let empty = store.explain_lookups().await.unwrap();
    for i in 0..2_000 {
        store.create(new_user(&format!("u{i}"), &format!("User{i}"))).await.unwrap();
    }
    admin_client().await.batch_execute(&format!("ANALYZE {schema}.resources")).await.unwrap();
    let populated = store.explain_lookups().await.unwrap();
    for plan in [empty, populated] {
        assert!(plan.contains("resources_user_name"), "{plan}");
        assert!(!plan.contains("Seq Scan on resources"), "{plan}");
    }
}
