//! The harness of the LDAP store's tests: the throwaway slapd of `scripts/ldap-server` (started
//! by `scripts/test`), one `ou` subtree per test, a store over it with the OpenLDAP preset and
//! the test schema's attributes, and a plain ldap3 connection to look at entries directly.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use ldap3::{Ldap, LdapConnAsync, Scope, SearchEntry};
use scimd_store::{DomainMap, ValueKind};
use scimd_store_ldap::{ClaimType, LdapConfig, LdapStore, PresetResource, PresetRow, domain_map, preset};

/// Where the throwaway slapd listens, from the environment `scripts/ldap-server start` sets.
pub struct Server {
    pub url: String,
    pub ldaps_url: Option<String>,
    pub ca_file: Option<String>,
    pub base: String,
    pub bind_dn: String,
    pub password: String,
}

pub fn server() -> Server {
    let var = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| {
            panic!("{k} is not set: run scripts/test, which starts a throwaway slapd (or eval \"$(scripts/ldap-server start)\")")
        })
    };
    Server {
        url: var("SCIMD_TEST_LDAP_URL"),
        ldaps_url: std::env::var("SCIMD_TEST_LDAPS_URL").ok(),
        ca_file: std::env::var("SCIMD_TEST_LDAP_CA_FILE").ok(),
        base: var("SCIMD_TEST_LDAP_BASE"),
        bind_dn: var("SCIMD_TEST_LDAP_BIND_DN"),
        password: var("SCIMD_TEST_LDAP_PASSWORD"),
    }
}

/// A plain ldap3 connection as the admin.
pub async fn plain(s: &Server) -> Ldap {
    let (conn, mut ldap) = LdapConnAsync::new(&s.url).await.unwrap();
    ldap3::drive!(conn);
    ldap.simple_bind(&s.bind_dn, &s.password).await.unwrap().success().unwrap();
    ldap
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh `ou=<name>-<n>` with `ou=people` and `ou=groups` below it.
pub struct Tree {
    pub dn: String,
    pub people: String,
    pub groups: String,
}

pub async fn tree(s: &Server, name: &str) -> Tree {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let dn = format!("ou={name}-{}-{n}-{nanos},{}", std::process::id(), s.base);
    let mut ldap = plain(s).await;
    fn ou(v: &str) -> Vec<(&str, HashSet<&str>)> {
        vec![("objectClass", HashSet::from(["organizationalUnit"])), ("ou", HashSet::from([v]))]
    }
    let top = dn.split(',').next().unwrap().trim_start_matches("ou=").to_owned();
    ldap.add(&dn, ou(&top)).await.unwrap().success().unwrap();
    let people = format!("ou=people,{dn}");
    let groups = format!("ou=groups,{dn}");
    ldap.add(&people, ou("people")).await.unwrap().success().unwrap();
    ldap.add(&groups, ou("groups")).await.unwrap().success().unwrap();
    Tree { dn, people, groups }
}

pub const U: &str = "urn:scimd:claims:";

/// The kinds of the local claims the tests use (the server gets them from its schemas).
pub fn types(claim: &str) -> Option<ClaimType> {
    let name = claim.strip_prefix(U)?;
    Some(match name {
        "emails" | "phoneNumbers" => (ValueKind::String, true, false),
        "emails.value" | "phoneNumbers.value" => (ValueKind::String, false, false),
        "active" => (ValueKind::Boolean, false, false),
        "level" => (ValueKind::Integer, false, false),
        "hired" => (ValueKind::DateTime, false, false),
        "devices" => (ValueKind::String, true, false),
        "externalId" => (ValueKind::String, false, true),
        n if !n.contains('.') || n.starts_with("name.") => (ValueKind::String, false, false),
        _ => return None,
    })
}

/// The OpenLDAP preset plus the test schema's attributes.
pub fn rows() -> Vec<PresetRow> {
    let mut rows = preset("openldap").unwrap().rows;
    for (claim, attribute) in [
        ("active", "scimdActive"),
        ("level", "scimdLevel"),
        ("hired", "scimdHired"),
        ("emails.home", "scimdHomeMail"),
        ("externalId", "scimdExternalId"),
        ("devices", "scimdNote"),
    ] {
        rows.push(PresetRow {
            resource: PresetResource::User,
            claim: format!("{U}{claim}"),
            attribute: attribute.into(),
        });
    }
    rows
}

pub fn map() -> DomainMap {
    domain_map(&rows(), types).unwrap()
}

pub fn config(s: &Server, t: &Tree) -> LdapConfig {
    let mut c = LdapConfig::new(&s.url, &s.bind_dn, &s.password, &t.people, &t.groups)
        .with_preset(&preset("openldap").unwrap());
    c.user_object_classes.push("scimdTestUser".into());
    c
}

pub async fn store(s: &Server, t: &Tree) -> LdapStore {
    LdapStore::connect("LDAP", config(s, t), map()).await.unwrap()
}

/// The entry `dn` as plain ldap3 sees it: attribute (lower-cased) → values.
pub async fn entry(s: &Server, dn: &str) -> Option<HashMap<String, Vec<String>>> {
    let mut ldap = plain(s).await;
    let res = ldap.search(dn, Scope::Base, "(objectClass=*)", vec!["*", "+"]).await.unwrap();
    if res.1.rc == 32 {
        return None;
    }
    let (rs, _) = res.success().unwrap();
    rs.into_iter().next().map(|e| {
        let e = SearchEntry::construct(e);
        let mut out: HashMap<String, Vec<String>> =
            e.attrs.into_iter().map(|(k, v)| (k.to_lowercase(), v)).collect();
        for (k, v) in e.bin_attrs {
            out.insert(k.to_lowercase(), v.iter().map(|b| format!("{b:?}")).collect());
        }
        out
    })
}

/// The DNs under `base` matching `filter`.
pub async fn dns(s: &Server, base: &str, filter: &str) -> Vec<String> {
    let mut ldap = plain(s).await;
    let (rs, _) = ldap.search(base, Scope::Subtree, filter, vec!["1.1"]).await.unwrap().success().unwrap();
    rs.into_iter().map(|e| SearchEntry::construct(e).dn).collect()
}
