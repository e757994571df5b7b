#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]
//! Search workloads of issue 3 that scimbench has no workload for, against a running scimd:
//!
//! - `paths CONC SECS PATH...`: GET each path (relative to the SCIM root, query string already
//!   encoded) in turn on CONC tasks for SECS seconds; one JSON line: rate, p50, p99, max, and
//!   the totalResults of each path (checked the same on every response).
//! - `walk COUNT [FILTER]`: one cursor walk (RFC 9865) over /Users with `count=COUNT` from an
//!   empty cursor to the last page; one JSON line: seconds, pages, resources, distinct ids.
//!
//! ```sh
//! SCIMD_URL=http://127.0.0.1:8080/scim/v2 SCIMD_TOKEN=… \
//! cargo run --release -p scimd --example search_load -- paths 4 5 '/Users?filter=…&count=50'
//! ```
//! Run by `bench/search`.

use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set (see the example's docs)"))
}

struct Client {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl Client {
    async fn get(&self, path: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Authorization", &self.auth)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert!(status.is_success(), "GET {path}: {status} {body}");
        body
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn paths(client: Arc<Client>, conc: usize, secs: u64, paths: Vec<String>) {
    let paths = Arc::new(paths);
    let totals: Arc<Mutex<Vec<Option<u64>>>> = Arc::new(Mutex::new(vec![None; paths.len()]));
    let end = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let tasks: Vec<_> = (0..conc)
        .map(|t| {
            let (client, paths, totals) = (client.clone(), paths.clone(), totals.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                let mut k = t;
                while Instant::now() < end {
                    let i = k % paths.len();
                    k += conc;
                    let begun = Instant::now();
                    let body = client.get(&paths[i]).await;
                    times.push(begun.elapsed().as_secs_f64() * 1000.0);
                    let total = body["totalResults"].as_u64();
                    let mut seen = totals.lock().unwrap();
                    match seen[i] {
                        None => seen[i] = total,
                        Some(t) => assert_eq!(Some(t), total, "{}: totalResults changed", paths[i]),
                    }
                }
                times
            })
        })
        .collect();
    let mut times = Vec::new();
    for t in tasks {
        times.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    let totals = totals.lock().unwrap().clone();
    println!(
        "{}",
        json!({
            "workload": "paths", "conc": conc, "n": times.len(), "rps": times.len() as f64 / elapsed,
            "p50_ms": percentile(&times, 0.50), "p99_ms": percentile(&times, 0.99),
            "max_ms": times.last().copied().unwrap_or(0.0),
            "paths": *paths, "totals": totals,
        })
    );
}

async fn walk(client: Arc<Client>, count: u64, filter: Option<String>) {
    let filter = filter.map(|f| format!("&filter={}", encode(&f))).unwrap_or_default();
    let start = Instant::now();
    let (mut cursor, mut pages, mut resources) = (String::new(), 0_u64, 0_u64);
    let mut ids = HashSet::new();
    loop {
        let body = client.get(&format!("/Users?count={count}&cursor={}{filter}", encode(&cursor))).await;
        pages += 1;
        for r in body["Resources"].as_array().into_iter().flatten() {
            resources += 1;
            ids.insert(r["id"].as_str().unwrap_or_default().to_owned());
        }
        match body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    println!(
        "{}",
        json!({
            "workload": "cursor-walk", "count": count, "secs": start.elapsed().as_secs_f64(),
            "pages": pages, "resources": resources, "distinct": ids.len(),
        })
    );
}

/// Percent-encodes a query parameter's value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let client = Arc::new(Client {
        http: reqwest::Client::new(),
        base: env("SCIMD_URL"),
        auth: format!("Bearer {}", env("SCIMD_TOKEN")),
    });
    match args.first().map(String::as_str) {
        Some("paths") if args.len() >= 4 => {
            paths(client, args[1].parse().unwrap(), args[2].parse().unwrap(), args[3..].to_vec()).await
        }
        Some("walk") if args.len() >= 2 => walk(client, args[1].parse().unwrap(), args.get(2).cloned()).await,
        _ => panic!("usage: search_load paths CONC SECS PATH... | walk COUNT [FILTER]"),
    }
}
