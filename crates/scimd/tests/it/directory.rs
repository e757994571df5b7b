//! Secondary domains on real servers over HTTP: a throwaway PostgreSQL and a throwaway slapd,
//! started by `scripts/test` (DESIGN.md, Words and The path of a request; RFC 7643 §4.1 for the
//! User read back). Each test makes its own PostgreSQL database and its own LDAP subtree.

use crate::harness::{TestServer, USER_SCHEMA, builder, urlencode};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run scripts/test, which starts a throwaway PostgreSQL and slapd")
    })
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh name for this test's database or subtree.
fn unique(prefix: &str) -> String {
    format!("{prefix}{}x{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A new PostgreSQL database; its URL.
fn pg_database() -> String {
    let url = env("SCIMD_TEST_PG_URL");
    let name = unique("it");
    let out =
        Command::new("psql").arg(&url).arg("-qc").arg(format!("CREATE DATABASE {name}")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The same server and parameters (`sslmode`), another database.
    let (address, query) = url.split_once('?').map_or((url.as_str(), None), |(a, q)| (a, Some(q)));
    let (base, _) = address.rsplit_once('/').unwrap();
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// A new subtree with `ou=people` and `ou=groups` under the test directory's base; its DN.
fn ldap_subtree() -> String {
    let base = env("SCIMD_TEST_LDAP_BASE");
    let ou = format!("ou={},{base}", unique("it"));
    let ldif = format!(
        "dn: {ou}\nobjectClass: organizationalUnit\nou: {}\n\n\
         dn: ou=people,{ou}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=groups,{ou}\nobjectClass: organizationalUnit\nou: groups\n",
        ou.trim_start_matches("ou=").split(',').next().unwrap()
    );
    ldap_tool("ldapadd", &[], Some(&ldif));
    ou
}

fn ldap_tool(tool: &str, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut cmd = Command::new(tool);
    cmd.args(["-x", "-H", &env("SCIMD_TEST_LDAP_URL"), "-D", &env("SCIMD_TEST_LDAP_BIND_DN"), "-w"])
        .arg(env("SCIMD_TEST_LDAP_PASSWORD"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{tool}: {e}"));
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The entry of `uid` under `subtree`, as `attribute: value` lines (read straight from slapd).
fn ldap_entry(subtree: &str, uid: &str) -> String {
    ldap_tool("ldapsearch", &["-LLL", "-b", &format!("ou=people,{subtree}"), &format!("(uid={uid})")], None)
}

fn ldap_domain(name: &str, subtree: &str, extra: &str) -> String {
    format!(
        "[[domains]]\nname = \"{name}\"\ntype = \"ldap\"\n{extra}\
         ldap = {{ url = \"{}\", bind_dn = \"{}\", bind_secret = \"{}\", user_base = \"ou=people,{subtree}\", group_base = \"ou=groups,{subtree}\" }}\n",
        env("SCIMD_TEST_LDAP_URL"),
        env("SCIMD_TEST_LDAP_BIND_DN"),
        env("SCIMD_TEST_LDAP_PASSWORD"),
    )
}

fn start(toml: &str) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scimd.toml");
    std::fs::write(&file, toml).unwrap();
    let server =
        builder().data_dir(&dir.path().join("data")).arg("--config").arg(file.to_str().unwrap()).start();
    (server, dir)
}

fn kim(name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": name,
        "name": {"formatted": "Kim Lee", "familyName": "Lee", "givenName": "Kim"},
        "displayName": "Kim",
        "title": "Engineer",
        "emails": [{"type": "work", "value": "kim@example.com"}],
        "phoneNumbers": [{"type": "mobile", "value": "+1 555 0100"}],
    })
}

/// The user as a client compares it: without id, meta and the userName's domain prefix.
fn comparable(mut v: Value) -> Value {
    let o = v.as_object_mut().unwrap();
    o.remove("id");
    o.remove("meta");
    let name = o["userName"].as_str().unwrap();
    let plain = name.rsplit('/').next().unwrap().to_owned();
    o.insert("userName".into(), json!(plain));
    v
}

#[tokio::test]
async fn one_user_reads_back_the_same_from_primary_postgresql_and_ldap() {
    let subtree = ldap_subtree();
    let (s, _dir) = start(&format!(
        "[[domains]]\nname = \"PG\"\ntype = \"postgres\"\nurl = \"{}\"\n{}",
        pg_database(),
        ldap_domain("LDAP", &subtree, "")
    ));
    let mut read = Vec::new();
    for name in ["kim", "PG/kim", "LDAP/kim"] {
        let created = s.post("/Users", &kim(name)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{name}: {}", created.text);
        assert_eq!(created.body["userName"], name);
        let got = s.get(&format!("/Users/{}", created.body["id"].as_str().unwrap())).await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.body["userName"], name, "read back as written");
        read.push(comparable(got.body));
    }
    assert_eq!(read[0], read[1], "PRIMARY and PostgreSQL");
    assert_eq!(read[0], read[2], "PRIMARY and LDAP");

    // The directory entry holds the mapped attributes (read straight from slapd).
    let entry = ldap_entry(&subtree, "kim");
    for line in [
        "uid: kim",
        "sn: Lee",
        "givenName: Kim",
        "cn: Kim Lee",
        "title: Engineer",
        "mail: kim@example.com",
        "mobile: +1 555 0100",
        "displayName: Kim",
    ] {
        assert!(entry.contains(line), "{line} in\n{entry}");
    }

    // One list over the three domains (RFC 7644 §3.4.2): one total, one order.
    let all = s.get("/Users?sortBy=userName").await.body;
    assert_eq!(all["totalResults"], 3);
    let names: Vec<&str> =
        all["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap()).collect();
    assert_eq!(names, ["kim", "LDAP/kim", "PG/kim"]);
    let only = s
        .get(&format!("/Users?filter={}", urlencode("userName eq \"LDAP/kim\" and title eq \"engineer\"")))
        .await;
    assert_eq!(only.body["totalResults"], 1, "{}", only.text);
}

#[tokio::test]
async fn a_postgresql_domain_over_tls_checks_the_servers_certificate_with_its_ca_file() {
    // The throwaway server offers TLS with a certificate of a throwaway CA (scripts/pg-server).
    let application = unique("scimd-it-tls-");
    let url =
        pg_database().replace("sslmode=disable", &format!("sslmode=require&application_name={application}"));
    let domain = |ca: &str| format!("[[domains]]\nname = \"PG\"\ntype = \"postgres\"\nurl = \"{url}\"\n{ca}");

    // Without the CA: the system's CAs did not sign it; the domain is unavailable, PRIMARY works.
    let (s, _dir) = start(&domain(""));
    let refused = s.post("/Users", &kim("PG/kim")).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{}", refused.text);
    assert_eq!(s.post("/Users", &kim("kim")).await.status, StatusCode::CREATED);
    drop(s);

    let (s, _dir) = start(&domain(&format!("ca_file = \"{}\"\n", env("SCIMD_TEST_PG_CA_FILE"))));
    let created = s.post("/Users", &kim("PG/kim")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let got = s.get(&format!("/Users/{}", created.body["id"].as_str().unwrap())).await;
    assert_eq!(got.body["userName"], "PG/kim");
    let found = s.get(&format!("/Users?filter={}", urlencode("userName eq \"PG/kim\""))).await;
    assert_eq!(found.body["totalResults"], 1, "{}", found.text);
    // The server's own view: every connection of this scimd is a TLS session.
    let out = Command::new("psql")
        .arg(env("SCIMD_TEST_PG_URL"))
        .args([
            "-tAc",
            &format!(
                "SELECT count(*), bool_and(s.ssl) FROM pg_stat_activity AS a JOIN pg_stat_ssl AS s \
             USING (pid) WHERE a.application_name = '{application}'"
            ),
        ])
        .output()
        .unwrap();
    let view = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let (count, all_tls) = view.split_once('|').unwrap_or_else(|| panic!("{view}"));
    assert!(count.parse::<u32>().unwrap() >= 2, "the pool's and a shared reader's connections: {view}");
    assert_eq!(all_tls, "t", "{view}");
}

#[tokio::test]
async fn a_claim_remapped_for_one_directory_goes_to_the_new_attribute_there_only() {
    let (one, two) = (ldap_subtree(), ldap_subtree());
    let (s, _dir) = start(&format!("{}{}", ldap_domain("ONE", &one, ""), ldap_domain("TWO", &two, "")));
    let remap = s
        .request(
            Method::PUT,
            &format!("{}/admin/v1/claims/urn:scimd:claims:title/domains/ONE", s.root),
            Some(&json!({"mapped_attribute": "description"})),
            &[],
        )
        .await;
    assert_eq!(remap.status, StatusCode::OK, "{}", remap.text);
    assert_eq!(remap.body["domains"]["ONE"], "description");
    assert_eq!(remap.body["domains"]["TWO"], "title");

    for name in ["ONE/kim", "TWO/kim", "kim"] {
        let r = s.post("/Users", &kim(name)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
        assert_eq!(r.body["title"], "Engineer", "{name} reads back its title");
    }
    let e1 = ldap_entry(&one, "kim");
    assert!(e1.contains("description: Engineer") && !e1.contains("title:"), "{e1}");
    let e2 = ldap_entry(&two, "kim");
    assert!(e2.contains("title: Engineer") && !e2.contains("description:"), "{e2}");

    // A mapping that would drop a mandatory claim is refused, naming it.
    let bad = s
        .request(
            Method::PUT,
            &format!("{}/admin/v1/claims/urn:scimd:claims:userName/domains/ONE", s.root),
            Some(&json!({"mapped_attribute": null})),
            &[],
        )
        .await;
    bad.assert_error(400, Some("invalidValue"));
    assert!(bad.detail().contains("urn:scimd:claims:userName"), "{}", bad.detail());
    // One attribute for two claims is refused too.
    let clash = s
        .request(
            Method::PUT,
            &format!("{}/admin/v1/claims/urn:scimd:claims:nickName/domains/ONE", s.root),
            Some(&json!({"mapped_attribute": "sn"})),
            &[],
        )
        .await;
    clash.assert_error(400, Some("invalidValue"));
    assert!(clash.detail().contains("sn"), "{}", clash.detail());
}

#[tokio::test]
async fn unmapped_read_only_and_unreachable_domains_get_clear_errors_and_leave_others_working() {
    let (rw, ro) = (ldap_subtree(), ldap_subtree());
    let dead = "[[domains]]\nname = \"DOWN\"\ntype = \"ldap\"\n\
        ldap = { url = \"ldap://127.0.0.1:1\", bind_dn = \"cn=x\", bind_secret = \"x\", user_base = \"ou=p\", group_base = \"ou=g\" }\n";
    let (s, _dir) = start(&format!(
        "{}{}{dead}",
        ldap_domain("LDAP", &rw, ""),
        ldap_domain("ARCHIVE", &ro, "read_only = true\n")
    ));

    // An attribute the directory has no mapping for: refused, naming it and the domain.
    let mut user = kim("LDAP/ann");
    user["nickName"] = json!("annie");
    let r = s.post("/Users", &user).await;
    r.assert_error(400, Some("invalidValue"));
    assert!(r.detail().contains("nickName") && r.detail().contains("LDAP"), "{}", r.detail());
    let mut user = kim("LDAP/ann");
    user["emails"] = json!([{"type": "home", "value": "ann@home.example"}]);
    let r = s.post("/Users", &user).await;
    r.assert_error(400, Some("invalidValue"));
    assert!(r.detail().contains("emails.home"), "{}", r.detail());

    // A read-only domain: writes refused; its users read back with isReadOnlyUser.
    let r = s.post("/Users", &kim("ARCHIVE/old")).await;
    r.assert_error(400, Some("mutability"));
    assert!(r.detail().contains("ARCHIVE"), "{}", r.detail());
    ldap_tool(
        "ldapadd",
        &[],
        Some(&format!(
            "dn: uid=old,ou=people,{ro}\nobjectClass: inetOrgPerson\nuid: old\ncn: Old\nsn: Timer\n"
        )),
    );
    let found = s.get(&format!("/Users?filter={}", urlencode("userName eq \"ARCHIVE/old\""))).await;
    assert_eq!(found.body["totalResults"], 1, "{}", found.text);
    let old = &found.body["Resources"][0];
    assert_eq!(
        old["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["isReadOnlyUser"], true,
        "{old}"
    );

    // A domain that is down: 503 naming it for what needs it; the others keep working.
    let r = s.post("/Users", &kim("DOWN/x")).await;
    r.assert_error(503, None);
    assert!(r.detail().contains("DOWN"), "{}", r.detail());
    let all = s.get("/Users").await;
    all.assert_error(503, None);
    assert!(all.detail().contains("DOWN"), "{}", all.detail());
    let primary = s.post("/Users", &kim("pat")).await;
    assert_eq!(primary.status, StatusCode::CREATED, "{}", primary.text);
    let ldap = s.post("/Users", &kim("LDAP/kim")).await;
    assert_eq!(ldap.status, StatusCode::CREATED, "{}", ldap.text);
    let got = s.get(&format!("/Users/{}", ldap.body["id"].as_str().unwrap())).await;
    assert_eq!(
        got.status,
        StatusCode::OK,
        "a lookup by id of a user found before the dead domain: {}",
        got.text
    );
    let pinned = s.get(&format!("/Users?filter={}", urlencode("userName eq \"LDAP/kim\""))).await;
    assert_eq!(pinned.body["totalResults"], 1, "a query pinned to a live domain: {}", pinned.text);
    let ready = crate::harness::send(s.raw().get(format!("{}/readyz", s.root))).await;
    assert_eq!(ready.status, StatusCode::OK, "a secondary domain that is down leaves the node ready");
}

#[tokio::test]
async fn a_primary_group_has_ldap_members() {
    let subtree = ldap_subtree();
    let (s, _dir) = start(&ldap_domain("LDAP", &subtree, ""));
    let kim = s.post("/Users", &kim("LDAP/kim")).await.body;
    let kid = kim["id"].as_str().unwrap();
    let g = s.create_group("team", &[kid]).await;
    let gid = g["id"].as_str().unwrap();
    let user = s.get(&format!("/Users/{kid}")).await.body;
    assert_eq!(user["groups"][0]["value"], gid, "{user}");
    // And a group inside the directory with a directory member.
    let lg = s
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "LDAP/admins", "members": [{"value": kid}]}),
        )
        .await;
    assert_eq!(lg.status, StatusCode::CREATED, "{}", lg.text);
    assert_eq!(lg.body["displayName"], "LDAP/admins");
    let user = s.get(&format!("/Users/{kid}")).await.body;
    let mut groups: Vec<&str> =
        user["groups"].as_array().unwrap().iter().map(|g| g["display"].as_str().unwrap()).collect();
    groups.sort();
    assert_eq!(groups, ["LDAP/admins", "team"]);
    // RFC 7643 §4.1.2: a lookup pinned to the directory lists the same groups (the directory's
    // own, and the PRIMARY group that holds the directory's user), and so does a whole list.
    for filter in ["userName eq \"LDAP/kim\"", "userName sw \"LDAP/\"", "userName pr"] {
        let found = s.get(&format!("/Users?filter={}", urlencode(filter))).await.body;
        let listed = found["Resources"].as_array().unwrap().iter().find(|u| u["id"] == kid).unwrap().clone();
        let mut listed_groups: Vec<&str> =
            listed["groups"].as_array().unwrap().iter().map(|g| g["display"].as_str().unwrap()).collect();
        listed_groups.sort();
        assert_eq!(listed_groups, ["LDAP/admins", "team"], "{filter}: {found}");
    }
    // A PRIMARY user cannot join a directory group: the directory holds DNs of its own entries.
    let pat = s.create_user("pat").await;
    let r = s
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "LDAP/mixed", "members": [{"value": pat["id"]}]}),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    assert!(r.detail().contains("LDAP"), "{}", r.detail());
}

#[tokio::test]
async fn a_mapping_in_the_config_file_applies_to_its_domain() {
    // The same mappings as the admin API's, set in the config file ([domains.mapping]).
    let subtree = ldap_subtree();
    let toml = format!(
        "{}[domains.mapping]\n\"urn:scimd:claims:title\" = \"description\"\n",
        ldap_domain("CFG", &subtree, "")
    );
    let (s, _dir) = start(&toml);
    let r = s.post("/Users", &kim("CFG/kim")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let entry = ldap_entry(&subtree, "kim");
    assert!(entry.contains("description: Engineer") && !entry.contains("title:"), "{entry}");
    let claim = s
        .request(Method::GET, &format!("{}/admin/v1/claims/urn:scimd:claims:title", s.root), None, &[])
        .await;
    assert_eq!(claim.body["domains"]["CFG"], "description", "{}", claim.text);
}

#[test]
fn a_domain_that_leaves_a_mandatory_claim_unmapped_is_refused_at_start() {
    // DESIGN.md, Claim URIs: every store keeps the mandatory claims; the server does not start
    // with a mapping that drops one, and says which.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scimd.toml");
    std::fs::write(
        &file,
        "[[domains]]\nname = \"LDAP\"\ntype = \"ldap\"\n\
         ldap = { url = \"ldap://127.0.0.1:1\", bind_dn = \"cn=x\", bind_secret = \"x\", user_base = \"ou=p\", group_base = \"ou=g\" }\n\
         [domains.mapping]\n\"urn:scimd:claims:version\" = \"\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config", file.to_str().unwrap(), "--data-dir"])
        .arg(dir.path().join("data"))
        .env("SCIMD_ADMIN_TOKEN", "t")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the server started");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("urn:scimd:claims:version") && err.contains("LDAP"), "{err}");
}
