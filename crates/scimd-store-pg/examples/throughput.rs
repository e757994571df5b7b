#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]
//! Rough throughput check of the PostgreSQL store: concurrent creates, gets by id, `userName eq`
//! lookups (what a provisioning client asks before each create), and pages of 100.
//!
//! ```text
//! eval "$(scripts/pg-server start)"
//! cargo run --release -p scimd-store-pg --example throughput [users]
//! scripts/pg-server stop
//! ```
//! It works in a schema of its own in the database of `SCIMD_TEST_PG_URL` and drops it at the end.
use std::sync::Arc;
use std::time::Instant;

use scimd_claims::ClaimPath;
use scimd_claims::claims::{DISPLAY_NAME, EXTERNAL_ID, USER_NAME};
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{ClaimFilter, Claims, NewResource, ResourceKind, SortKey, StoreQuery, UserStore};
use scimd_store_pg::PgStore;
use serde_json::json;

const TASKS: usize = 32;
const POOL: u32 = 16;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let url = std::env::var("SCIMD_TEST_PG_URL")
        .expect("SCIMD_TEST_PG_URL: run eval \"$(scripts/pg-server start)\"");
    let n: usize = std::env::args().nth(1).map_or(20_000, |a| a.parse().expect("a number of users"));
    let schema = format!("throughput_{}", std::process::id());
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    admin.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let store = Arc::new(
        PgStore::connect(&format!("{url}{sep}options=-c%20search_path%3D{schema}"), POOL).await.unwrap(),
    );
    println!("{n} users, {TASKS} tasks, a pool of {POOL} connections");

    let t = Instant::now();
    run(TASKS, n, &store, move |s, i| async move {
        let claims: Claims = [
            (USER_NAME.to_owned(), json!(format!("user{i}@example.com"))),
            (EXTERNAL_ID.to_owned(), json!(format!("ext-{i}"))),
            (DISPLAY_NAME.to_owned(), json!(format!("User Number {i}"))),
            (
                "urn:scimd:claims:emails".to_owned(),
                json!([{"value": format!("user{i}@example.com"), "type": "work", "primary": true}]),
            ),
            ("urn:scimd:claims:name".to_owned(), json!({"givenName": "User", "familyName": format!("N{i}")})),
        ]
        .into_iter()
        .collect();
        let new = NewResource {
            id: format!("id-{i:08}"),
            kind: ResourceKind::User,
            claims,
            members: vec![],
            now: time::OffsetDateTime::now_utc(),
        };
        s.create(new).await.unwrap();
    })
    .await;
    report("creates", n, t);
    admin.batch_execute(&format!("ANALYZE {schema}.resources")).await.unwrap();

    let gets = 50_000;
    let t = Instant::now();
    run(TASKS, gets, &store, move |s, i| async move {
        let id = format!("id-{:08}", (i * 7919) % n);
        s.get(ResourceKind::User, &id, false).await.unwrap().unwrap();
    })
    .await;
    report("gets by id", gets, t);

    let lookups = 20_000;
    let t = Instant::now();
    run(TASKS, lookups, &store, move |s, i| async move {
        let filter = ClaimFilter::Compare {
            path: ClaimPath::Claim { claim: USER_NAME.into(), sub: None },
            op: CompareOp::Eq,
            value: CompValue::Str(format!("USER{}@example.com", (i * 7919) % n)),
            attr_type: AttrType::String,
            case_exact: false,
        };
        let page = s.query(&page_of(filter, 0, 100, None)).await.unwrap();
        assert_eq!(page.total, 1);
    })
    .await;
    report("userName eq lookups", lookups, t);

    let pages = 500;
    for (name, offset, sort) in [
        ("first page of 100 (creation order)", 0, None),
        ("page of 100 at offset n/2 (creation order)", n as u64 / 2, None),
        ("first page of 100 sorted by userName", 0, Some(by_user_name())),
    ] {
        let t = Instant::now();
        run(TASKS, pages, &store, move |s, _| {
            let sort = sort.clone();
            async move {
                let page = s.query(&page_of(ClaimFilter::All, offset, 100, sort)).await.unwrap();
                assert_eq!((page.total, page.items.len()), (n as u64, 100.min(n - offset as usize)));
            }
        })
        .await;
        report(name, pages, t);
    }

    drop(store);
    admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.unwrap();
}

fn by_user_name() -> SortKey {
    SortKey {
        path: ClaimPath::Claim { claim: USER_NAME.into(), sub: None },
        attr_type: AttrType::String,
        case_exact: false,
        descending: false,
    }
}

fn page_of(filter: ClaimFilter, offset: u64, limit: u64, sort: Option<SortKey>) -> StoreQuery {
    StoreQuery { offset, limit, sort, ..scimd_store_testkit::fixtures::users(filter) }
}

/// Runs `op(store, i)` for `i` in `0..count`, spread over `tasks` concurrent tasks.
async fn run<F, Fut>(tasks: usize, count: usize, store: &Arc<PgStore>, op: F)
where
    F: Fn(Arc<PgStore>, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let handles: Vec<_> = (0..tasks)
        .map(|k| {
            let (s, op) = (Arc::clone(store), op.clone());
            tokio::spawn(async move {
                for i in (k..count).step_by(tasks) {
                    op(Arc::clone(&s), i).await;
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
}

fn report(what: &str, count: usize, since: Instant) {
    let secs = since.elapsed().as_secs_f64();
    println!("{what}: {:.0}/s ({count} in {secs:.2} s)", count as f64 / secs);
}
