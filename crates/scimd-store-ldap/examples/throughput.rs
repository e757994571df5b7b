#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]
//! Throughput of the LDAP store against plain ldap3 on the same slapd, at the same
//! concurrency and with as many connections: N creates and N `userName eq` lookups through the
//! store, and the same entries added and searched directly. Prints both rates and their ratio
//! (the product target: store ≥ 0.5 of direct for both).
//!
//! ```sh
//! eval "$(scripts/ldap-server start)"
//! cargo run --release -p scimd-store-ldap --example throughput -- 5000 16
//! scripts/ldap-server stop
//! ```

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use ldap3::{Ldap, LdapConnAsync, Scope};
use scimd_claims::claims::USER_NAME;
use scimd_claims::filter::ClaimPath;
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::ValueKind;
use scimd_store::{ClaimFilter, Claims, NewResource, ResourceKind, StoreQuery, UserStore};
use scimd_store_ldap::{ClaimType, LdapConfig, LdapStore, domain_map, preset};
use serde_json::json;

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set: eval \"$(scripts/ldap-server start)\" first"))
}

fn types(claim: &str) -> Option<ClaimType> {
    let name = claim.strip_prefix("urn:scimd:claims:")?;
    match name {
        "emails.value" | "phoneNumbers.value" => Some((ValueKind::String, false, false)),
        n if !n.contains('.') || n.starts_with("name.") => Some((ValueKind::String, false, false)),
        _ => None,
    }
}

async fn plain(url: &str, dn: &str, pw: &str) -> Ldap {
    let (conn, mut ldap) = LdapConnAsync::new(url).await.unwrap();
    ldap3::drive!(conn);
    ldap.simple_bind(dn, pw).await.unwrap().success().unwrap();
    ldap
}

fn claims(i: usize) -> Claims {
    [
        (USER_NAME.to_owned(), json!(format!("user{i}"))),
        ("urn:scimd:claims:name.formatted".to_owned(), json!(format!("User Number {i}"))),
        ("urn:scimd:claims:name.familyName".to_owned(), json!(format!("N{i}"))),
        ("urn:scimd:claims:name.givenName".to_owned(), json!("User")),
        (
            "urn:scimd:claims:emails".to_owned(),
            json!([{"value": format!("user{i}@example.com"), "type": "work"}]),
        ),
    ]
    .into_iter()
    .collect()
}

/// Runs `f(i)` for i in 0..n on `tasks` tasks; returns operations per second.
async fn rate<F, Fut>(n: usize, tasks: usize, f: F) -> f64
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let f = Arc::new(f);
    let t = Instant::now();
    let hs: Vec<_> = (0..tasks)
        .map(|k| {
            let f = Arc::clone(&f);
            tokio::spawn(async move {
                for i in (k..n).step_by(tasks) {
                    f(k, i).await;
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    n as f64 / t.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(2000, |a| a.parse().unwrap());
    let tasks: usize = args.next().map_or(16, |a| a.parse().unwrap());
    let (url, base, bind, pw) = (
        env("SCIMD_TEST_LDAP_URL"),
        env("SCIMD_TEST_LDAP_BASE"),
        env("SCIMD_TEST_LDAP_BIND_DN"),
        env("SCIMD_TEST_LDAP_PASSWORD"),
    );
    let pool = 4usize;

    // Two fresh subtrees: one for the store, one for the direct writes.
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let made: Vec<(String, String)> = [format!("bench-store-{stamp}"), format!("bench-direct-{stamp}")]
        .into_iter()
        .map(|name| (format!("ou={name},{base}"), name))
        .collect();
    let mut admin = plain(&url, &bind, &pw).await;
    for (dn, name) in &made {
        admin
            .add(
                dn,
                vec![
                    ("objectClass", HashSet::from(["organizationalUnit"])),
                    ("ou", HashSet::from([name.as_str()])),
                ],
            )
            .await
            .unwrap()
            .success()
            .unwrap();
        for sub in ["people", "groups"] {
            admin
                .add(
                    &format!("ou={sub},{dn}"),
                    vec![
                        ("objectClass", HashSet::from(["organizationalUnit"])),
                        ("ou", HashSet::from([sub])),
                    ],
                )
                .await
                .unwrap()
                .success()
                .unwrap();
        }
    }
    let (store_ou, direct_ou) = (made[0].0.clone(), made[1].0.clone());

    let p = preset("openldap").unwrap();
    let mut config =
        LdapConfig::new(&url, &bind, &pw, format!("ou=people,{store_ou}"), format!("ou=groups,{store_ou}"))
            .with_preset(&p);
    config.pool_size = pool;
    let store =
        Arc::new(LdapStore::connect("LDAP", config, domain_map(&p.rows, types).unwrap()).await.unwrap());

    let s = Arc::clone(&store);
    let store_create = rate(n, tasks, move |_, i| {
        let s = Arc::clone(&s);
        async move {
            let new = NewResource {
                id: String::new(),
                kind: ResourceKind::User,
                claims: claims(i),
                members: vec![],
                now: time::OffsetDateTime::now_utc(),
            };
            s.create(new).await.unwrap();
        }
    })
    .await;
    let s = Arc::clone(&store);
    let store_lookup = rate(n, tasks, move |_, i| {
        let s = Arc::clone(&s);
        async move {
            let filter = ClaimFilter::Compare {
                path: ClaimPath::Claim { claim: USER_NAME.into(), sub: None },
                op: CompareOp::Eq,
                value: CompValue::Str(format!("USER{i}")),
                attr_type: AttrType::String,
                case_exact: false,
            };
            let q = StoreQuery {
                kind: ResourceKind::User,
                filter,
                offset: 0,
                limit: 1,
                with_members: false,
                sort: None,
                after: None,
                before: None,
            };
            let page = s.query(&q).await.unwrap();
            assert_eq!(page.total, 1);
        }
    })
    .await;

    // Direct: as many connections as the store's pool, the same tasks, the same attributes.
    let mut conns = Vec::new();
    for _ in 0..pool {
        conns.push(plain(&url, &bind, &pw).await);
    }
    let conns = Arc::new(conns);
    let people = Arc::new(format!("ou=people,{direct_ou}"));
    let (c, pe) = (Arc::clone(&conns), Arc::clone(&people));
    let direct_add = rate(n, tasks, move |k, i| {
        let mut ldap = c[k % c.len()].clone();
        let dn = format!("uid=user{i},{pe}");
        async move {
            let (uid, cn, sn, mail) = (
                format!("user{i}"),
                format!("User Number {i}"),
                format!("N{i}"),
                format!("user{i}@example.com"),
            );
            let attrs = vec![
                ("objectClass", HashSet::from(["inetOrgPerson"])),
                ("uid", HashSet::from([uid.as_str()])),
                ("cn", HashSet::from([cn.as_str()])),
                ("sn", HashSet::from([sn.as_str()])),
                ("givenName", HashSet::from(["User"])),
                ("mail", HashSet::from([mail.as_str()])),
            ];
            ldap.add(&dn, attrs).await.unwrap().success().unwrap();
        }
    })
    .await;
    let (c, pe) = (Arc::clone(&conns), Arc::clone(&people));
    let direct_search = rate(n, tasks, move |k, i| {
        let mut ldap = c[k % c.len()].clone();
        let base = pe.to_string();
        async move {
            let attrs = vec!["*", "entryUUID", "createTimestamp", "modifyTimestamp", "entryCSN"];
            let (rs, _) = ldap
                .search(&base, Scope::Subtree, &format!("(&(objectClass=inetOrgPerson)(uid=USER{i}))"), attrs)
                .await
                .unwrap()
                .success()
                .unwrap();
            assert_eq!(rs.len(), 1);
        }
    })
    .await;

    println!("n={n} tasks={tasks} connections={pool}");
    println!(
        "create:        store {store_create:>8.0}/s  direct add    {direct_add:>8.0}/s  ratio {:.2}",
        store_create / direct_add
    );
    println!(
        "userName eq:   store {store_lookup:>8.0}/s  direct search {direct_search:>8.0}/s  ratio {:.2}",
        store_lookup / direct_search
    );
}
