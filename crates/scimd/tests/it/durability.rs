//! Durability: a process killed in the middle of writes leaves no partial resource and loses no
//! acknowledged one.

use crate::harness::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

fn payload(i: usize) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": format!("crash{i}"),
        "name": {"givenName": format!("G{i}"), "familyName": format!("F{i}")},
        "emails": [{"type": "work", "value": format!("u{i}@example.com"), "primary": true}],
        ENTERPRISE: {"employeeNumber": format!("E{i}")}
    })
}

/// Kill -9 the real server while several clients write; reopen the data directory: every user
/// whose creation was acknowledged (201) is there, whole, and no user is there in part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_loses_no_acknowledged_write_and_leaves_no_partial_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = builder().data_dir(&data).start();
    let acked: Arc<Mutex<Vec<usize>>> = Arc::new(Mutex::new(Vec::new()));
    let base = s.base.clone();
    let token = s.token.clone();
    let mut writers = Vec::new();
    for w in 0..4 {
        let acked = acked.clone();
        let base = base.clone();
        let token = token.clone();
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for n in 0..10_000usize {
                let i = n * 4 + w;
                let r = client
                    .post(format!("{base}/Users"))
                    .bearer_auth(&token)
                    .header("content-type", "application/scim+json")
                    .body(payload(i).to_string())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 201 => acked.lock().unwrap().push(i),
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    // Let the writers get going, then kill the server in the middle of their writes.
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if acked.lock().unwrap().len() >= 200 {
            break;
        }
    }
    s.kill();
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 200);

    let s = builder().data_dir(&data).start();
    let list = s.get("/Users?count=1000&startIndex=1").await;
    let total = list.body["totalResults"].as_u64().unwrap() as usize;
    assert!(total >= acked.len(), "lost acknowledged writes: {total} < {}", acked.len());
    // At most one request per writer was in flight when the server died.
    assert!(total <= acked.len() + 4, "{total} users for {} acknowledged", acked.len());
    let mut seen = std::collections::HashSet::new();
    let mut start = 1;
    while start <= total {
        let page = s.get(&format!("/Users?startIndex={start}&count=1000")).await.body;
        for u in page["Resources"].as_array().unwrap() {
            let name = u["userName"].as_str().unwrap();
            let i: usize = name.trim_start_matches("crash").parse().unwrap();
            let mut expected = payload(i);
            let mut got = u.clone();
            got.as_object_mut().unwrap().retain(|k, _| k != "id" && k != "meta");
            expected.as_object_mut().unwrap();
            assert_eq!(got, expected, "partial or altered user {name}");
            seen.insert(i);
        }
        start += 1000;
    }
    for i in &acked {
        assert!(seen.contains(i), "acknowledged user crash{i} is missing");
    }
    let db = rusqlite::Connection::open(data.join("scimd.db")).unwrap();
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}
