#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]
//! The plain LDAP client scimd's LDAP domain is measured against (the issue's LDAP speed
//! targets), with ldap3 on as many connections as scimd reads with:
//!
//! - `create N CONC`: N users POSTed to scimd as `LDAP/http<i>` and the same entries added
//!   straight to the directory, at the same concurrency; one JSON line with both rates.
//! - `lookups N CONC SECS`: `(uid=direct<i>)` searches for random i < N straight in the
//!   directory for SECS seconds; one JSON line with the rate. `bench/domains` alternates them
//!   with scimbench `filter-eq` on the `LDAP/http<i>` users through scimd.
//!
//! Run by `bench/domains`, which starts slapd and scimd; by hand:
//!
//! ```sh
//! SCIMD_URL=http://127.0.0.1:8080/scim/v2 SCIMD_TOKEN=… LDAP_URL=ldap://… LDAP_BIND_DN=… \
//! LDAP_PASSWORD=… LDAP_DIRECT_BASE=ou=direct,dc=… \
//! cargo run --release -p scimd --example ldap_http -- create 5000 16
//! ```

use ldap3::{Ldap, LdapConnAsync, Scope};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set (see the example's docs)"))
}

struct Person {
    uid: String,
    given: &'static str,
    family: &'static str,
    i: usize,
}

fn person(prefix: &str, i: usize) -> Person {
    let given = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Dennis", "Linus"][i % 8];
    let family = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Ritchie", "Torvalds"]
        [(i / 8) % 8];
    Person { uid: format!("{prefix}{i:06}"), given, family, i }
}

/// The SCIM user (every attribute mapped in the OpenLDAP preset).
fn scim_user(p: &Person) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": format!("LDAP/{}", p.uid),
        "name": {"formatted": format!("{} {}", p.given, p.family), "givenName": p.given, "familyName": p.family},
        "displayName": format!("{} {} {}", p.given, p.family, p.i),
        "title": "Engineer",
        "emails": [{"type": "work", "value": format!("{}@example.com", p.uid)}],
        "phoneNumbers": [{"type": "work", "value": format!("+1 555 {:04}", p.i % 10000)},
                         {"type": "mobile", "value": format!("+1 555 {:04}", (p.i * 7) % 10000)}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": format!("{}", 100000 + p.i)},
    })
}

/// The same entry as LDAP attributes.
fn ldap_entry(p: &Person) -> Vec<(String, std::collections::HashSet<String>)> {
    let one = |v: String| std::iter::once(v).collect();
    vec![
        ("objectClass".into(), one("inetOrgPerson".into())),
        ("uid".into(), one(p.uid.clone())),
        ("cn".into(), one(format!("{} {}", p.given, p.family))),
        ("sn".into(), one(p.family.into())),
        ("givenName".into(), one(p.given.into())),
        ("displayName".into(), one(format!("{} {} {}", p.given, p.family, p.i))),
        ("title".into(), one("Engineer".into())),
        ("mail".into(), one(format!("{}@example.com", p.uid))),
        ("telephoneNumber".into(), one(format!("+1 555 {:04}", p.i % 10000))),
        ("mobile".into(), one(format!("+1 555 {:04}", (p.i * 7) % 10000))),
        ("employeeNumber".into(), one(format!("{}", 100000 + p.i))),
    ]
}

async fn connect() -> Ldap {
    let (conn, mut ldap) = LdapConnAsync::new(&env("LDAP_URL")).await.unwrap();
    ldap3::drive!(conn);
    ldap.simple_bind(&env("LDAP_BIND_DN"), &env("LDAP_PASSWORD")).await.unwrap().success().unwrap();
    ldap
}

/// Runs `op(i)` for i in 0..n on `conc` tasks; the rate.
async fn count<F, Fut>(n: usize, conc: usize, op: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..conc)
        .map(|_| {
            let (op, next) = (op.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    op(i).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Runs `op(k)` with pseudo-random k < n on `conc` tasks for `secs`; the rate.
async fn timed<F, Fut>(n: usize, conc: usize, secs: u64, op: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let done = Arc::new(AtomicUsize::new(0));
    let end = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let tasks: Vec<_> = (0..conc)
        .map(|t| {
            let (op, done) = (op.clone(), done.clone());
            tokio::spawn(async move {
                let mut x = 0x9E37_79B9_u64.wrapping_mul(t as u64 + 1);
                while Instant::now() < end {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    op((x % n as u64) as usize).await;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let numbers: Vec<usize> = args.map(|a| a.parse().unwrap()).collect();
    let (n, conc, secs) = (
        numbers.first().copied().unwrap_or(5000),
        numbers.get(1).copied().unwrap_or(16),
        numbers.get(2).copied().unwrap_or(5) as u64,
    );
    let base = Arc::new(env("LDAP_DIRECT_BASE"));
    // As many connections as the scimd domain reads with (`read_connections`, 16 by default).
    let pool: Arc<Vec<Ldap>> = Arc::new(futures_join(16).await);
    match command.as_str() {
        "create" => {
            let (url, token) = (Arc::new(env("SCIMD_URL")), Arc::new(env("SCIMD_TOKEN")));
            let direct = direct_adds(&pool, &base, n, conc).await;
            let scimd = scimd_adds(&url, &token, n, conc).await;
            let ratio = (scimd / direct * 100.0).round() / 100.0;
            println!(
                "{}",
                json!({"workload": "ldap-create", "direct_rps": direct.round(), "scimd_rps": scimd.round(), "ratio": ratio, "target": 0.5})
            );
        }
        "lookups" => {
            let rate = direct_lookups(&pool, &base, n, conc, secs).await;
            println!("{}", json!({"workload": "filter-eq", "tag": "ldap-direct", "rps": rate.round()}));
        }
        other => panic!("{other:?}: the command is create or lookups (see the example's docs)"),
    }
}

/// `n` entries added straight to the directory, the rate.
async fn direct_adds(pool: &Arc<Vec<Ldap>>, base: &Arc<String>, n: usize, conc: usize) -> f64 {
    let (pool, base) = (pool.clone(), base.clone());
    count(n, conc, move |i| {
        let (mut ldap, base) = (pool[i % pool.len()].clone(), base.clone());
        async move {
            let p = person("direct", i);
            let dn = format!("uid={},{base}", p.uid);
            ldap.add(&dn, ldap_entry(&p)).await.unwrap().success().unwrap();
        }
    })
    .await
}

/// `n` users POSTed to scimd as `LDAP/http<i>`, the rate.
async fn scimd_adds(url: &Arc<String>, token: &Arc<String>, n: usize, conc: usize) -> f64 {
    let http = reqwest::Client::new();
    let (url, token) = (url.clone(), token.clone());
    count(n, conc, move |i| {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move {
            let r = http
                .post(format!("{url}/Users"))
                .bearer_auth(&*token)
                .header("content-type", "application/scim+json")
                .body(scim_user(&person("http", i)).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap_or_default());
        }
    })
    .await
}

/// `userName eq` lookups straight in the directory, the rate.
async fn direct_lookups(pool: &Arc<Vec<Ldap>>, base: &Arc<String>, n: usize, conc: usize, secs: u64) -> f64 {
    let (pool, base) = (pool.clone(), base.clone());
    timed(n, conc, secs, move |k| {
        let (mut ldap, base) = (pool[k % pool.len()].clone(), base.clone());
        async move {
            let (found, _) = ldap
                .search(&base, Scope::OneLevel, &format!("(uid=direct{k:06})"), vec!["*", "+"])
                .await
                .unwrap()
                .success()
                .unwrap();
            assert_eq!(found.len(), 1);
        }
    })
    .await
}

async fn futures_join(k: usize) -> Vec<Ldap> {
    let mut out = Vec::with_capacity(k);
    for _ in 0..k {
        out.push(connect().await);
    }
    out
}
