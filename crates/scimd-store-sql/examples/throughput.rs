#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]
//! Rough throughput check: concurrent creates, then concurrent gets.
use std::sync::Arc;
use std::time::Instant;

use scimd_claims::claims::{DISPLAY_NAME, EXTERNAL_ID, USER_NAME};
use scimd_store::{Claims, NewResource, ResourceKind, UserStore};
use scimd_store_sql::{SqliteOptions, SqliteStore};
use serde_json::json;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(SqliteStore::open(&dir.path().join("t.db"), SqliteOptions::default()).await.unwrap());
    let n = 20_000usize;
    let tasks = 32usize;
    let t = Instant::now();
    let hs: Vec<_> = (0..tasks).map(|k| { let s = Arc::clone(&store); tokio::spawn(async move {
        for i in (k..n).step_by(tasks) {
            let claims: Claims = [
                (USER_NAME.to_owned(), json!(format!("user{i}@example.com"))),
                (EXTERNAL_ID.to_owned(), json!(format!("ext-{i}"))),
                (DISPLAY_NAME.to_owned(), json!(format!("User Number {i}"))),
                ("urn:scimd:claims:emails".to_owned(), json!([{"value": format!("user{i}@example.com"), "type": "work", "primary": true}])),
                ("urn:scimd:claims:name".to_owned(), json!({"givenName": "User", "familyName": format!("N{i}")})),
            ].into_iter().collect();
            s.create(NewResource { id: format!("id-{i:08}"), kind: ResourceKind::User, claims, members: vec![], now: time::OffsetDateTime::now_utc() }).await.unwrap();
        }
    })}).collect();
    for h in hs {
        h.await.unwrap();
    }
    let el = t.elapsed();
    println!("creates: {:.0}/s", n as f64 / el.as_secs_f64());
    let t = Instant::now();
    let gets = 100_000usize;
    let hs: Vec<_> = (0..tasks)
        .map(|k| {
            let s = Arc::clone(&store);
            tokio::spawn(async move {
                for i in (k..gets).step_by(tasks) {
                    let id = format!("id-{:08}", (i * 7919) % n);
                    s.get(ResourceKind::User, &id, false).await.unwrap().unwrap();
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    let el = t.elapsed();
    println!("gets: {:.0}/s", gets as f64 / el.as_secs_f64());
}
