//! `/Users`: create, read, replace, delete, list (RFC 7644 §3.3-§3.6, §3.14).

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn full_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": "ext-Kim-1",
        "userName": user_name,
        "name": {"formatted": "Ms. Kim Berry", "givenName": "Kim", "familyName": "Berry"},
        "displayName": "Kim Berry",
        "nickName": "kb",
        "title": "Engineer",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "Europe/Paris",
        "active": true,
        "emails": [
            {"type": "home", "value": "kim@gmail.com", "primary": true},
            {"type": "work", "value": "kim@example.com"}
        ],
        "phoneNumbers": [{"type": "mobile", "value": "+1234567890"}],
        "addresses": [{"type": "work", "streetAddress": "456 Office Rd", "locality": "City", "country": "FR", "primary": true}],
        "roles": [{"value": "admin", "display": "Admin"}],
        ENTERPRISE: {
            "employeeNumber": "1234A",
            "costCenter": "CC1",
            "organization": "Org",
            "division": "R&D",
            "department": "Eng",
            "manager": {"value": "Taylor", "displayName": "Taylor Smith"}
        }
    })
}

/// Strips what the server adds (id, meta, groups) to compare with what the client wrote.
fn written_part(mut v: Value) -> Value {
    let o = v.as_object_mut().unwrap();
    o.remove("id");
    o.remove("meta");
    o.remove("groups");
    v
}

/// RFC 7644 §3.3: 201 Created with the resource, a Location header equal to meta.location,
/// and an ETag equal to meta.version (RFC 7644 §3.14); RFC 7643 §3.1: id and meta are set by
/// the service provider.
#[tokio::test]
async fn create_returns_201_with_location_etag_and_meta() {
    let s = start();
    let r = s.post("/Users", &full_user("kim")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let meta = &r.body["meta"];
    assert_eq!(meta["resourceType"], "User");
    assert_eq!(meta["location"], format!("{}/Users/{id}", s.base));
    assert_eq!(r.header("location"), meta["location"].as_str());
    assert_eq!(r.header("etag"), meta["version"].as_str());
    assert_eq!(meta["created"], meta["lastModified"]);
    time::OffsetDateTime::parse(
        meta["created"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
}

/// Round trip: what a client wrote, GET returns, including the Enterprise extension.
#[tokio::test]
async fn what_a_client_writes_it_reads_back() {
    let s = start();
    let written = full_user("kim");
    let created = s.post("/Users", &written).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(written_part(created.body.clone()), written);
    let id = created.body["id"].as_str().unwrap();
    let read = s.get(&format!("/Users/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, created.body);
    assert_eq!(written_part(read.body), written);
}

/// RFC 7643 §4.1.1: password is writeOnly, returned never; it is stored hashed (argon2id).
#[tokio::test]
async fn password_is_never_returned_and_stored_hashed() {
    let s = start();
    let mut u = full_user("pw");
    u["password"] = json!("MyPa33w@rd");
    let r = s.post("/Users", &u).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.body.get("password").is_none());
    assert!(!r.text.contains("MyPa33w@rd"));
    let id = r.body["id"].as_str().unwrap();
    let g = s.get(&format!("/Users/{id}?attributes=password")).await;
    assert!(!g.text.contains("password"), "{}", g.text);
    let db = rusqlite::Connection::open(s.data_dir.join("scimd.db")).unwrap();
    let mut stmt = db.prepare("SELECT claims FROM resources").unwrap();
    let all: Vec<String> = stmt.query_map([], |row| row.get(0)).unwrap().map(|r| r.unwrap()).collect();
    let joined = all.join("\n");
    assert!(!joined.contains("MyPa33w@rd"), "password stored in clear");
    assert!(joined.contains("$argon2id$"), "no argon2id hash stored");
}

/// RFC 7643 §4.1.1: userName is unique (uniqueness "server") and caseExact false, so a name
/// that differs only in case is taken: 409 uniqueness (RFC 7644 §3.3).
#[tokio::test]
async fn user_name_is_unique_without_regard_to_case() {
    let s = start();
    s.create_user("bjensen").await;
    let r = s.post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": "BJensen"})).await;
    r.assert_error(409, Some("uniqueness"));
    assert!(r.detail().contains("userName"), "{}", r.detail());
}

/// RFC 7643 §4.1.1: userName is required.
#[tokio::test]
async fn missing_user_name_is_400_naming_it() {
    let s = start();
    let r = s.post("/Users", &json!({"schemas": [USER_SCHEMA], "displayName": "x"})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.detail().contains("userName"), "{}", r.detail());
}

/// RFC 7643 §2.1: attribute names and schema URIs are case-insensitive; the server answers with
/// the schema's spelling.
#[tokio::test]
async fn attribute_names_are_case_insensitive_and_answered_in_schema_spelling() {
    let s = start();
    let r = s
        .post(
            "/Users",
            &json!({"SCHEMAS": ["urn:ietf:params:scim:schemas:core:2.0:user"], "USERNAME": "casey",
                    "NAME": {"GIVENNAME": "Casey"}, "Emails": [{"VALUE": "c@example.com"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["userName"], "casey");
    assert_eq!(r.body["name"]["givenName"], "Casey");
    assert_eq!(r.body["emails"][0]["value"], "c@example.com");
    assert_eq!(r.body["schemas"][0], USER_SCHEMA);
}

/// RFC 7643 §3.1: id and meta are readOnly; a client's values are ignored.
#[tokio::test]
async fn read_only_id_and_meta_in_input_are_ignored() {
    let s = start();
    let r = s
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "ro", "id": "mine",
                    "meta": {"resourceType": "Group", "created": "2000-01-01T00:00:00Z"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_ne!(r.body["id"], "mine");
    assert_eq!(r.body["meta"]["resourceType"], "User");
}

/// RFC 7643 §2.4: at most one value of a multi-valued attribute is primary.
#[tokio::test]
async fn two_primary_values_are_refused() {
    let s = start();
    let r = s
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "p2",
                    "emails": [{"value": "a@x.com", "primary": true}, {"value": "b@x.com", "primary": true}]}),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    assert!(r.detail().contains("emails"), "{}", r.detail());
}

#[tokio::test]
async fn unknown_attribute_is_refused_naming_it() {
    let s = start();
    let r =
        s.post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": "u", "favouriteColour": "red"})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.detail().contains("favouriteColour"), "{}", r.detail());
}

/// RFC 7643 §2.3: a value of the wrong type is refused, naming the attribute.
#[tokio::test]
async fn wrong_type_is_refused_naming_the_attribute() {
    let s = start();
    let r = s.post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": "t", "active": "maybe"})).await;
    r.assert_error(400, Some("invalidValue"));
    assert!(r.detail().contains("active"), "{}", r.detail());
}

/// RFC 7644 §3.5.1: PUT replaces the resource; attributes left out are cleared; the version
/// changes; the password, which a client cannot read back, is kept.
#[tokio::test]
async fn put_replaces_and_bumps_the_version() {
    let s = start();
    let created = s.post("/Users", &full_user("rep")).await.body;
    let id = created["id"].as_str().unwrap();
    let r = s
        .put(
            &format!("/Users/{id}"),
            &json!({"schemas": [USER_SCHEMA], "id": id, "meta": created["meta"], "userName": "rep", "title": "Boss"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["title"], "Boss");
    assert!(r.body.get("emails").is_none());
    assert!(r.body.get(ENTERPRISE).is_none());
    assert_ne!(r.body["meta"]["version"], created["meta"]["version"]);
    assert_eq!(r.body["meta"]["created"], created["meta"]["created"]);
    let read = s.get(&format!("/Users/{id}")).await;
    assert_eq!(read.body, r.body);
}

#[tokio::test]
async fn put_of_missing_user_is_404() {
    let s = start();
    s.put("/Users/00000000-0000-0000-0000-000000000000", &json!({"schemas": [USER_SCHEMA], "userName": "x"}))
        .await
        .assert_error(404, None);
}

/// RFC 7644 §3.14: If-Match with a stale version gets 412 on PUT and DELETE; the current one
/// succeeds. If-None-Match with the current version gets 304 on GET.
#[tokio::test]
async fn etag_preconditions() {
    let s = start();
    let created = s.create_user("etag").await;
    let id = created["id"].as_str().unwrap();
    let v1 = created["meta"]["version"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    let body = json!({"schemas": [USER_SCHEMA], "userName": "etag", "title": "a"});
    let r = s.request(reqwest::Method::PUT, &path, Some(&body), &[("if-match", &v1)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v2 = r.header("etag").unwrap().to_string();
    assert_ne!(v1, v2);
    s.request(reqwest::Method::PUT, &path, Some(&body), &[("if-match", &v1)]).await.assert_error(412, None);
    let nm = s.request(reqwest::Method::GET, &path, None, &[("if-none-match", &v2)]).await;
    assert_eq!(nm.status, StatusCode::NOT_MODIFIED);
    assert_eq!(nm.header("etag"), Some(v2.as_str()));
    let stale = s.request(reqwest::Method::GET, &path, None, &[("if-none-match", &v1)]).await;
    assert_eq!(stale.status, StatusCode::OK);
    s.request(reqwest::Method::DELETE, &path, None, &[("if-match", &v1)]).await.assert_error(412, None);
    let d = s.request(reqwest::Method::DELETE, &path, None, &[("if-match", &v2)]).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
}

/// RFC 7644 §3.6: DELETE answers 204; the resource is gone (404) afterwards.
#[tokio::test]
async fn delete_then_get_is_404() {
    let s = start();
    let id = s.create_user("gone").await["id"].as_str().unwrap().to_string();
    assert_eq!(s.delete(&format!("/Users/{id}")).await.status, StatusCode::NO_CONTENT);
    s.get(&format!("/Users/{id}")).await.assert_error(404, None);
    s.delete(&format!("/Users/{id}")).await.assert_error(404, None);
}

/// RFC 7644 §3.4.2.4: startIndex (1-based) and count, with totalResults, itemsPerPage and
/// startIndex in the ListResponse; count=0 gives the total alone.
#[tokio::test]
async fn list_pages_with_start_index_and_count() {
    let s = start();
    for i in 0..7 {
        s.create_user(&format!("page{i}")).await;
    }
    let r = s.get("/Users?startIndex=3&count=2").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:ListResponse");
    assert_eq!(r.body["totalResults"], 7);
    assert_eq!(r.body["itemsPerPage"], 2);
    assert_eq!(r.body["startIndex"], 3);
    let names: Vec<&str> =
        r.body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap()).collect();
    assert_eq!(names, ["page2", "page3"]);
    let z = s.get("/Users?count=0").await;
    assert_eq!(z.body["totalResults"], 7);
    assert_eq!(z.body["itemsPerPage"], 0);
    let all = s.get("/Users?startIndex=0").await;
    assert_eq!(all.body["Resources"].as_array().unwrap().len(), 7);
    assert_eq!(all.body["startIndex"], 1);
}

/// RFC 7644 §3.4.2.2: the lookups every client makes before creating: userName eq (caseExact
/// false), externalId eq (caseExact true), displayName eq.
#[tokio::test]
async fn filter_by_user_name_external_id_and_display_name() {
    let s = start();
    s.post("/Users", &full_user("kim")).await;
    s.create_user("other").await;
    let q = |f: &str| format!("/Users?filter={}", urlencode(f));
    let r = s.get(&q("userName eq \"KIM\"")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["userName"], "kim");
    assert_eq!(s.get(&q("externalId eq \"ext-Kim-1\"")).await.body["totalResults"], 1);
    assert_eq!(s.get(&q("externalId eq \"EXT-KIM-1\"")).await.body["totalResults"], 0);
    assert_eq!(s.get(&q("displayName eq \"kim berry\"")).await.body["totalResults"], 1);
    assert_eq!(s.get(&q("userName eq \"nobody\"")).await.body["totalResults"], 0);
    let bad = s.get(&q("userName eq")).await;
    bad.assert_error(400, Some("invalidFilter"));
    s.get(&q("nosuch eq \"x\"")).await.assert_error(400, Some("invalidFilter"));
}

/// RFC 7644 §3.4.2.5: attributes and excludedAttributes; id is returned always.
#[tokio::test]
async fn attributes_and_excluded_attributes() {
    let s = start();
    let id = s.post("/Users", &full_user("proj")).await.body["id"].as_str().unwrap().to_string();
    let r = s.get(&format!("/Users/{id}?attributes=userName,name.givenName")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["userName"], "proj");
    assert_eq!(r.body["name"], json!({"givenName": "Kim"}));
    assert!(r.body.get("emails").is_none());
    let r = s.get(&format!("/Users/{id}?excludedAttributes=emails,{ENTERPRISE}")).await;
    assert!(r.body.get("emails").is_none());
    assert!(r.body.get(ENTERPRISE).is_none());
    assert_eq!(r.body["userName"], "proj");
}

/// RFC 7644 §3.3 with RFC 7643 §4.1.1 (userName unique): concurrent POSTs of one userName
/// create exactly one user; every other request gets 409 uniqueness.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_of_one_user_name_create_exactly_one_user() {
    let s = std::sync::Arc::new(start());
    let mut tasks = Vec::new();
    for i in 0..24 {
        let s = s.clone();
        let name = if i % 2 == 0 { "racer" } else { "RACER" };
        tasks.push(tokio::spawn(async move {
            let r = s.post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": name})).await;
            if r.status != StatusCode::CREATED {
                r.assert_error(409, Some("uniqueness"));
            }
            r.status
        }));
    }
    let mut created = 0;
    for t in tasks {
        if t.await.unwrap() == StatusCode::CREATED {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    let r = s.get(&format!("/Users?filter={}", urlencode("userName eq \"racer\""))).await;
    assert_eq!(r.body["totalResults"], 1);
}
