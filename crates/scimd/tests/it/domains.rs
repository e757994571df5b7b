//! User store domains over HTTP (DESIGN.md, Words and The path of a request; issue: claims,
//! domains and mappings): a `DOMAIN/` prefix routes a resource to a secondary domain, reads
//! return names as written, queries pin a domain or run on all with one totalResults
//! (RFC 7644 §3.4.2), and the admin API adds, lists and removes domains without a restart.

use crate::harness::{TestServer, USER_SCHEMA, builder, urlencode};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A server with this config file; the data directory is under the returned dir, so that it
/// outlives the server (for restarts).
fn with_config(toml: &str) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scimd.toml");
    std::fs::write(&file, toml).unwrap();
    let server =
        builder().data_dir(&dir.path().join("data")).arg("--config").arg(file.to_str().unwrap()).start();
    (server, dir)
}

const PARTNERS: &str = "[[domains]]\nname = \"PARTNERS\"\ntype = \"sqlite\"\npath = \"partners.db\"\n";

async fn admin(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> crate::harness::Resp {
    s.request(method, &format!("{}/admin/v1{path}", s.root), body, &[]).await
}

fn names(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_prefixed_user_name_lives_in_its_domain_and_reads_back_as_written() {
    let (s, _dir) = with_config(PARTNERS);
    let ann = s.create_user("partners/ann").await;
    assert_eq!(ann["userName"], "PARTNERS/ann", "the domain's spelling of its name");
    let plain = s.create_user("ann").await;
    // Each domain keeps its own database file.
    assert!(s.data_dir.join("partners.db").exists());

    let got = s.get(&format!("/Users/{}", ann["id"].as_str().unwrap())).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["userName"], "PARTNERS/ann");
    assert_eq!(s.get(&format!("/Users/{}", plain["id"].as_str().unwrap())).await.body["userName"], "ann");

    // A filter that pins the domain, one that names PRIMARY's user, and a query of all.
    let q = |f: &str| format!("/Users?filter={}", urlencode(f));
    assert_eq!(names(&s.get(&q("userName eq \"PARTNERS/ann\"")).await.body), ["PARTNERS/ann"]);
    assert_eq!(names(&s.get(&q("userName eq \"ann\"")).await.body), ["ann"]);
    assert_eq!(names(&s.get(&q("userName sw \"partners/\"")).await.body), ["PARTNERS/ann"]);
    assert_eq!(names(&s.get(&q("userName ew \"ann\"")).await.body), ["PARTNERS/ann", "ann"]);
    let all = s.get("/Users?sortBy=userName").await.body;
    assert_eq!(all["totalResults"], 2);
    assert_eq!(all["Resources"][0]["userName"], "ann", "sorted over both domains");

    // Uniqueness is per domain: the same name again in PARTNERS is a conflict (RFC 7644 §3.3).
    let dup = s.post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": "PARTNERS/ANN"})).await;
    dup.assert_error(409, Some("uniqueness"));
    assert!(dup.detail().contains("PARTNERS"), "{}", dup.detail());

    // PUT keeps the user in its domain; moving it is refused with the reason.
    let id = ann["id"].as_str().unwrap();
    let put =
        s.put(&format!("/Users/{id}"), &json!({"schemas": [USER_SCHEMA], "userName": "PARTNERS/anne"})).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.body["userName"], "PARTNERS/anne");
    let moved = s.put(&format!("/Users/{id}"), &json!({"schemas": [USER_SCHEMA], "userName": "anne"})).await;
    moved.assert_error(400, Some("invalidValue"));
    assert!(moved.detail().contains("cannot move"), "{}", moved.detail());

    assert_eq!(s.delete(&format!("/Users/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(s.get(&format!("/Users/{id}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_admin_api_adds_and_removes_domains_without_a_restart_and_they_persist() {
    let (s, _dir) = with_config(PARTNERS);
    let list = admin(&s, reqwest::Method::GET, "/domains", None).await;
    assert_eq!(list.status, StatusCode::OK);
    let listed: Vec<&str> =
        list.body["domains"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(listed, ["PRIMARY", "PARTNERS"]);

    let extra = json!({"name": "EXTRA", "type": "sqlite", "path": "extra.db"});
    let added = admin(&s, reqwest::Method::POST, "/domains", Some(&extra)).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    assert_eq!(added.body["source"], "admin");
    let x = s.create_user("EXTRA/x").await;
    assert_eq!(x["userName"], "EXTRA/x");
    let again = admin(&s, reqwest::Method::POST, "/domains", Some(&extra)).await;
    again.assert_error(409, None);

    // Bad definitions are refused with the field at fault.
    let bad = admin(
        &s,
        reqwest::Method::POST,
        "/domains",
        Some(&json!({"name": "a/b", "type": "sqlite", "path": "y.db"})),
    )
    .await;
    bad.assert_error(400, Some("invalidValue"));
    let bad =
        admin(&s, reqwest::Method::POST, "/domains", Some(&json!({"name": "PG", "type": "postgres"}))).await;
    bad.assert_error(400, Some("invalidValue"));
    assert!(bad.detail().contains("url"), "{}", bad.detail());
    let primary = admin(
        &s,
        reqwest::Method::POST,
        "/domains",
        Some(&json!({"name": "primary", "type": "sqlite", "path": "p.db"})),
    )
    .await;
    primary.assert_error(400, Some("invalidValue"));

    // A config-file domain is removed in the config file.
    admin(&s, reqwest::Method::DELETE, "/domains/PARTNERS", None)
        .await
        .assert_error(400, Some("invalidValue"));

    // The added domain survives a restart.
    let data_dir = s.data_dir.clone();
    let config = _dir.path().join("scimd.toml");
    drop(s);
    let s = builder().data_dir(&data_dir).arg("--config").arg(config.to_str().unwrap()).start();
    let found = s.get(&format!("/Users?filter={}", urlencode("userName eq \"EXTRA/x\""))).await;
    assert_eq!(found.body["totalResults"], 1, "{}", found.text);

    let removed = admin(&s, reqwest::Method::DELETE, "/domains/extra", None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let gone = s.get(&format!("/Users?filter={}", urlencode("userName eq \"EXTRA/x\""))).await;
    assert_eq!(gone.body["totalResults"], 0, "the domain's users are no longer served");
}

#[tokio::test]
async fn a_read_only_domain_refuses_writes_with_a_clear_error() {
    let (s, _dir) = with_config(
        "[[domains]]\nname = \"ARCHIVE\"\ntype = \"sqlite\"\npath = \"archive.db\"\nread_only = true\n",
    );
    let r = s.post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": "ARCHIVE/old"})).await;
    r.assert_error(400, Some("mutability"));
    assert!(r.detail().contains("ARCHIVE") && r.detail().contains("read-only"), "{}", r.detail());
}

#[tokio::test]
async fn claim_mappings_are_shown_and_changes_are_validated() {
    let (s, _dir) = with_config(PARTNERS);
    let claim = admin(&s, reqwest::Method::GET, "/claims/urn:scimd:claims:userName", None).await;
    assert_eq!(claim.status, StatusCode::OK, "{}", claim.text);
    assert_eq!(claim.body["mapped_attribute"], "uid");
    assert!(
        claim.body["scim_claims"]
            .as_array()
            .unwrap()
            .contains(&json!("urn:ietf:params:scim:schemas:core:2.0:User:userName"))
    );

    let dialects = admin(&s, reqwest::Method::GET, "/dialects", None).await;
    let uris: Vec<&str> =
        dialects.body["dialects"].as_array().unwrap().iter().map(|d| d["uri"].as_str().unwrap()).collect();
    for uri in [
        "urn:ietf:params:scim:schemas:core:2.0",
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:scimd:claims",
    ] {
        assert!(uris.contains(&uri), "{uri} in {uris:?}");
    }

    // A new default applies and is shown.
    let set = admin(
        &s,
        reqwest::Method::PUT,
        "/claims/urn:scimd:claims:nickName",
        Some(&json!({"mapped_attribute": "nickname"})),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(set.body["mapped_attribute"], "nickname");
    // Unknown claims, SQL domains (which keep every claim) and unknown domains are refused.
    let unknown = admin(
        &s,
        reqwest::Method::PUT,
        "/claims/urn:scimd:claims:nope",
        Some(&json!({"mapped_attribute": "x"})),
    )
    .await;
    unknown.assert_error(400, Some("invalidValue"));
    assert!(unknown.detail().contains("urn:scimd:claims:nope"), "{}", unknown.detail());
    let sql = admin(
        &s,
        reqwest::Method::PUT,
        "/claims/urn:scimd:claims:title/domains/PARTNERS",
        Some(&json!({"mapped_attribute": "x"})),
    )
    .await;
    sql.assert_error(400, Some("invalidValue"));
    admin(
        &s,
        reqwest::Method::PUT,
        "/claims/urn:scimd:claims:title/domains/NOPE",
        Some(&json!({"mapped_attribute": "x"})),
    )
    .await
    .assert_error(404, None);
    // Removing a default mapping of a mandatory claim would leave directories without it: no
    // directory here, so it is allowed, and shown as unmapped.
    let none = admin(
        &s,
        reqwest::Method::PUT,
        "/claims/urn:scimd:claims:title",
        Some(&json!({"mapped_attribute": null})),
    )
    .await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.text);
    assert_eq!(none.body["mapped_attribute"], Value::Null);
}

#[tokio::test]
async fn a_primary_group_holds_members_of_another_domain() {
    // RFC 7643 §4.1.2 (groups) and §4.2 (members), across domains: the member is checked in its
    // own domain, kept by the group's, and shows in the user's groups.
    let (s, _dir) = with_config(PARTNERS);
    let ann = s.create_user("PARTNERS/ann").await;
    let bob = s.create_user("bob").await;
    let (ann_id, bob_id) = (ann["id"].as_str().unwrap(), bob["id"].as_str().unwrap());
    let group = s.create_group("staff", &[ann_id, bob_id]).await;
    let gid = group["id"].as_str().unwrap();
    let got = s.get(&format!("/Groups/{gid}")).await.body;
    let members: Vec<&str> =
        got["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert_eq!(members, [ann_id, bob_id], "in the order written");
    assert_eq!(got["members"][0]["type"], "User");

    let groups = s.get(&format!("/Users/{ann_id}")).await.body["groups"].clone();
    assert_eq!(groups[0]["value"], gid, "{groups}");
    assert_eq!(groups[0]["display"], "staff");
    let listed = s.get(&format!("/Users?filter={}", urlencode("userName eq \"PARTNERS/ann\""))).await.body;
    assert_eq!(listed["Resources"][0]["groups"][0]["value"], gid);

    // Member filters see the member of the other domain (RFC 7644 §3.4.2.2).
    let f =
        s.get(&format!("/Groups?filter={}", urlencode(&format!("members.value eq \"{ann_id}\"")))).await.body;
    assert_eq!(f["totalResults"], 1, "{f}");

    // A member id that no domain has is refused, naming it (RFC 7644 §3.12 invalidValue).
    let r = s
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "x",
        "members": [{"value": "nobody-anywhere"}]}),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    assert!(r.detail().contains("nobody-anywhere"), "{}", r.detail());

    // PATCH removes and adds members of the other domain (RFC 7644 §3.5.2).
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": format!("members[value eq \"{ann_id}\"]")}]});
    let r = s.request(reqwest::Method::PATCH, &format!("/Groups/{gid}"), Some(&patch), &[]).await;
    assert!(r.status.is_success(), "{}", r.text);
    let after = s.get(&format!("/Groups/{gid}")).await.body;
    assert_eq!(after["members"].as_array().unwrap().len(), 1);
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": ann_id}]}]});
    let r = s.request(reqwest::Method::PATCH, &format!("/Groups/{gid}"), Some(&patch), &[]).await;
    assert!(r.status.is_success(), "{}", r.text);

    // Deleting the user in its domain drops it from the PRIMARY group.
    assert_eq!(s.delete(&format!("/Users/{ann_id}")).await.status, StatusCode::NO_CONTENT);
    let after = s.get(&format!("/Groups/{gid}")).await.body;
    let members: Vec<&str> =
        after["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert_eq!(members, [bob_id]);
}
