//! The Enterprise User extension's server-managed attributes (DESIGN.md, "Schemas that admins
//! shape") and the payload rules of RFC 7643 §3, §3.3 and RFC 7644 §3.3.

use crate::harness::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// Every server-managed attribute with a value a client might try.
fn managed() -> Vec<(&'static str, Value)> {
    vec![
        ("accountState", json!("LOCKED")),
        ("lastLoginTime", json!("2024-01-01T00:00:00Z")),
        ("lastPasswordUpdateTime", json!("2024-01-01T00:00:00Z")),
        ("lockedReason", json!("too many attempts")),
        ("isReadOnlyUser", json!(true)),
        ("pendingEmails", json!([{"value": "new@example.com"}])),
        ("oneTimePassword", json!("123456")),
    ]
}

fn ops(list: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": list})
}

fn assert_mutability_names(r: &Resp, attr: &str) {
    r.assert_error(400, Some("mutability"));
    assert!(r.detail().contains(&format!("{ENTERPRISE}:{attr}")), "{}", r.detail());
}

/// DESIGN.md, RFC 7644 §3.5.1 (readOnly): a client that sets a server-managed attribute gets
/// 400 `mutability` naming it, by POST (RFC 7644 §3.3), PUT (§3.5.1), PATCH (§3.5.2) and Bulk
/// (§3.7), under the extension object or as a fully qualified key.
#[tokio::test]
async fn server_managed_attributes_are_refused_on_every_write() {
    let s = start();
    let id = s.create_user("kim").await["id"].as_str().unwrap().to_string();
    for (attr, value) in managed() {
        let post = json!({"schemas": [USER_SCHEMA, ENTERPRISE], "userName": format!("n-{attr}"), ENTERPRISE: {attr: value}});
        assert_mutability_names(&s.post("/Users", &post).await, attr);
        let qualified =
            json!({"schemas": [USER_SCHEMA], "userName": "kim", format!("{ENTERPRISE}:{attr}"): value});
        assert_mutability_names(&s.put(&format!("/Users/{id}"), &qualified).await, attr);
        let path = ops(json!([{"op": "replace", "path": format!("{ENTERPRISE}:{attr}"), "value": value}]));
        assert_mutability_names(&s.patch(&format!("/Users/{id}"), &path).await, attr);
        let pathless = ops(json!([{"op": "add", "value": {ENTERPRISE: {attr: value}}}]));
        assert_mutability_names(&s.patch(&format!("/Users/{id}"), &pathless).await, attr);
        let bulk = json!({"schemas": [BULK], "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": post},
            {"method": "PATCH", "path": format!("/Users/{id}"), "data": path}
        ]});
        let r = s.post("/Bulk", &bulk).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        for op in r.body["Operations"].as_array().unwrap() {
            assert_eq!(op["status"], "400", "{attr}: {op}");
            assert_eq!(op["response"]["scimType"], "mutability", "{attr}: {op}");
            assert!(op["response"]["detail"].as_str().unwrap().contains(attr), "{op}");
        }
    }
    // Nothing was written.
    let u = s.get(&format!("/Users/{id}")).await;
    assert_eq!(u.body["meta"]["version"], "W/\"1\"");
    assert!(u.body.get(ENTERPRISE).is_none());
}

/// RFC 7644 §3.3 and §3.5.1: core readOnly attributes (`id`, `meta`, `groups`) sent by a client
/// are ignored, on POST and on PUT.
#[tokio::test]
async fn core_read_only_attributes_stay_ignored() {
    let s = start();
    let r = s
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "kim", "id": "mine",
            "meta": {"resourceType": "Group", "version": "W/\"9\""}, "groups": [{"value": "g"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_ne!(id, "mine");
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert!(r.body.get("groups").is_none());
    let r = s
        .put(
            &format!("/Users/{id}"),
            &json!({"schemas": [USER_SCHEMA], "userName": "kim", "id": "other",
            "meta": {"created": "2000-01-01T00:00:00Z"}, "groups": [{"value": "g"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["id"], id.as_str());
}

/// DESIGN.md: `accountState` and `lockedReason` come from a lock through the admin API; SCIM
/// clients read them, filter on them, and cannot change them; a PUT that leaves them out keeps
/// them (RFC 7644 §3.5.1: readOnly values are not the client's to replace).
#[tokio::test]
async fn lock_and_unlock_through_the_admin_api() {
    let s = start();
    let id = s.create_user("kim").await["id"].as_str().unwrap().to_string();
    s.create_user("lee").await;
    let r = s
        .admin(Method::POST, &format!("/users/{id}/lock"), Some(&json!({"reason": "too many attempts"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["accountState"], "LOCKED");
    let u = s.get(&format!("/Users/{id}")).await;
    assert_eq!(u.body[ENTERPRISE], json!({"accountState": "LOCKED", "lockedReason": "too many attempts"}));
    assert_eq!(u.body["schemas"], json!([USER_SCHEMA, ENTERPRISE]));
    assert_eq!(u.body["meta"]["version"], "W/\"2\"", "a lock is a change of the user");
    let f = s
        .get(&format!("/Users?filter={}", urlencode(&format!("{ENTERPRISE}:accountState eq \"locked\""))))
        .await;
    assert_eq!(f.body["totalResults"], 1);
    assert_eq!(f.body["Resources"][0]["userName"], "kim");

    // A PUT that leaves the extension out, and a PATCH of something else, keep the lock.
    let r = s
        .put(&format!("/Users/{id}"), &json!({"schemas": [USER_SCHEMA], "userName": "kim", "title": "T"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body[ENTERPRISE]["accountState"], "LOCKED");
    let r = s
        .patch(&format!("/Users/{id}"), &ops(json!([{"op": "remove", "path": ENTERPRISE}, {"op": "replace", "path": "title", "value": "U"}])))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body[ENTERPRISE]["lockedReason"], "too many attempts");
    // A client cannot unlock.
    assert_mutability_names(
        &s.put(
            &format!("/Users/{id}"),
            &json!({"schemas": [USER_SCHEMA], "userName": "kim", ENTERPRISE: {"accountState": "UNLOCKED"}}),
        )
        .await,
        "accountState",
    );

    let r = s.admin(Method::POST, &format!("/users/{id}/unlock"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let u = s.get(&format!("/Users/{id}")).await;
    assert_eq!(u.body[ENTERPRISE], json!({"accountState": "UNLOCKED"}));
    s.admin(Method::POST, "/users/nope/lock", None).await.assert_error(404, None);
    s.admin(Method::POST, &format!("/users/{id}/lock"), Some(&json!({"reason": 5})))
        .await
        .assert_error(400, Some("invalidValue"));
    s.admin(Method::GET, &format!("/users/{id}/lock"), None).await.assert_error(405, None);
}

/// RFC 7644 §3.5.1, §3.5.2 (Okta and Entra echo what they read): a PUT of the resource as it was
/// read, and a path-less PATCH that sends the server-managed values back unchanged, are
/// accepted; the values stay.
#[tokio::test]
async fn echoed_server_managed_values_are_accepted() {
    let s = start();
    let id = s.create_user("kim").await["id"].as_str().unwrap().to_string();
    s.admin(Method::POST, &format!("/users/{id}/lock"), Some(&json!({"reason": "r"}))).await;
    let read = s.get(&format!("/Users/{id}")).await.body;
    let mut echo = read.clone();
    echo["title"] = json!("Echoed");
    let r = s.put(&format!("/Users/{id}"), &echo).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body[ENTERPRISE], read[ENTERPRISE]);
    let r = s
        .patch(&format!("/Users/{id}"), &ops(json!([{"op": "replace", "value": {
            ENTERPRISE: {"accountState": "LOCKED", "lockedReason": "r", "department": "R&D"}, "title": "P"}}])))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body[ENTERPRISE],
        json!({"department": "R&D", "accountState": "LOCKED", "lockedReason": "r"})
    );
}

/// DESIGN.md: scimd maintains `lastPasswordUpdateTime` whenever the password is set: POST, PUT,
/// PATCH and Bulk; a write without a password leaves it as it was. It is returned on request
/// (RFC 7643 §7 `returned: "request"`): only when `attributes` names it.
#[tokio::test]
async fn last_password_update_time_follows_every_password_write() {
    let s = start();
    let schema = s.get(&format!("/Schemas/{ENTERPRISE}")).await.body;
    let def = schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "lastPasswordUpdateTime")
        .cloned()
        .unwrap();
    assert_eq!(
        (def["type"].clone(), def["mutability"].clone(), def["returned"].clone()),
        (json!("dateTime"), json!("readOnly"), json!("request"))
    );
    let stamp = |id: String| {
        let s = &s;
        async move {
            let r = s.get(&format!("/Users/{id}?attributes={ENTERPRISE}:lastPasswordUpdateTime")).await;
            r.body[ENTERPRISE]["lastPasswordUpdateTime"].as_str().map(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .unwrap_or_else(|e| panic!("{t} is not RFC 3339: {e}"))
            })
        }
    };

    let plain = s.create_user("nopw").await;
    assert_eq!(stamp(plain["id"].as_str().unwrap().to_string()).await, None);
    let r =
        s.post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": "kim", "password": "S3cret!x"})).await;
    assert!(r.body.get(ENTERPRISE).is_none(), "not returned by default: {}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let t1 = stamp(id.clone()).await.expect("set by POST");
    s.put(&format!("/Users/{id}"), &json!({"schemas": [USER_SCHEMA], "userName": "kim", "title": "x"})).await;
    assert_eq!(stamp(id.clone()).await, Some(t1), "PUT without a password keeps it");
    s.put(
        &format!("/Users/{id}"),
        &json!({"schemas": [USER_SCHEMA], "userName": "kim", "password": "n3w!pass"}),
    )
    .await;
    let t2 = stamp(id.clone()).await.unwrap();
    assert!(t2 > t1, "{t2} after {t1}");
    let r = s
        .patch(
            &format!("/Users/{id}"),
            &ops(json!([{"op": "replace", "path": "password", "value": "an0ther!"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let t3 = stamp(id.clone()).await.unwrap();
    assert!(t3 > t2, "{t3} after {t2}");
    s.patch(&format!("/Users/{id}"), &ops(json!([{"op": "replace", "path": "title", "value": "y"}]))).await;
    assert_eq!(stamp(id.clone()).await, Some(t3), "PATCH without a password keeps it");
    let bulk = json!({"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": [USER_SCHEMA], "userName": "bulky", "password": "bu1k!pw"}},
        {"method": "PATCH", "path": format!("/Users/{id}"), "data": ops(json!([{"op": "replace", "path": "password", "value": "bu1k!2"}]))}
    ]});
    let r = s.post("/Bulk", &bulk).await;
    let results = r.body["Operations"].as_array().unwrap().clone();
    assert!(results.iter().all(|o| o["status"] == "201" || o["status"] == "200"), "{}", r.text);
    let bulky = results[0]["location"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    assert!(stamp(bulky).await.is_some(), "set by a bulk POST");
    assert!(stamp(id.clone()).await.unwrap() > t3, "set by a bulk PATCH");
    // Filterable as a dateTime: kim (bulk PATCH) and bulky were stamped after t3.
    let t3 = t3.format(&time::format_description::well_known::Rfc3339).unwrap();
    let f = s
        .get(&format!(
            "/Users?filter={}",
            urlencode(&format!("{ENTERPRISE}:lastPasswordUpdateTime gt \"{t3}\""))
        ))
        .await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.text);
    assert_eq!(f.body["totalResults"], 2, "{}", f.text);
}

/// RFC 7643 §3, §3.3, RFC 7644 §3.3: core and User attributes are unqualified, extension
/// attributes under their schema URI; an extension used but left out of `schemas` is accepted
/// and listed; an unknown schema URI, an unqualified extension attribute, or an attribute no
/// schema defines is 400 naming it.
#[tokio::test]
async fn payload_rules() {
    let s = start();
    let r = s
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "kim", ENTERPRISE: {"department": "R&D"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["schemas"], json!([USER_SCHEMA, ENTERPRISE]));
    let cases = [
        (
            json!({"schemas": [USER_SCHEMA, "urn:example:nope"], "userName": "a"}),
            "unknown schema \"urn:example:nope\"",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", "urn:example:nope": {"x": 1}}),
            "unknown schema \"urn:example:nope\"",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", "department": "R&D"}),
            "unknown attribute \"department\"",
        ),
        (json!({"schemas": [USER_SCHEMA], "userName": "a", "colour": "red"}), "unknown attribute \"colour\""),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", ENTERPRISE: {"colour": "red"}}),
            "unknown attribute \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:colour\"",
        ),
    ];
    for (body, want) in cases {
        let r = s.post("/Users", &body).await;
        r.assert_error(400, Some("invalidValue"));
        assert!(r.detail().contains(want), "{body}: {}", r.detail());
    }
}
