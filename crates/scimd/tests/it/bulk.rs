//! POST /Bulk (RFC 7644 §3.7).

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

fn bulk(ops: Value) -> Value {
    json!({"schemas": [BULK_REQUEST], "Operations": ops})
}

/// The response operation with this bulkId.
fn by_bulk_id<'a>(resp: &'a Value, bulk_id: &str) -> &'a Value {
    resp["Operations"].as_array().unwrap().iter().find(|o| o["bulkId"] == bulk_id).unwrap()
}

/// Asserts a failed operation: its status and a SCIM error (RFC 7644 §3.12) as `response`.
fn assert_op_error(op: &Value, status: u16, scim_type: Option<&str>) {
    assert_eq!(op["status"], status.to_string(), "{op}");
    let e = &op["response"];
    assert_eq!(e["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error", "{op}");
    assert_eq!(e["status"], status.to_string(), "{op}");
    assert_eq!(e.get("scimType").and_then(Value::as_str), scim_type, "{op}");
    assert!(e["detail"].as_str().is_some_and(|d| !d.is_empty()), "{op}");
}

/// RFC 7644 §3.7.2: the example of §3.7.2 (two users and a group whose members name them by
/// bulkId), written with the group first: the server resolves references in any order. A
/// path may name a resource by bulkId too (`/Users/bulkId:qwerty`).
#[tokio::test]
async fn bulk_resolves_bulk_ids_across_operations_in_any_order() {
    let s = start();
    let r = s
        .post(
            "/Bulk",
            &bulk(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "ytrewq", "data": {
                    "schemas": [GROUP_SCHEMA], "displayName": "Tour Guides",
                    "members": [
                        {"type": "User", "value": "bulkId:qwerty"},
                        {"type": "User", "value": "bulkId:zxcvbn"}
                    ]}},
                {"method": "patch", "path": "/Users/bulkId:qwerty", "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "displayName", "value": "Alice"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "qwerty", "data": {
                    "schemas": [USER_SCHEMA], "userName": "Alice"}},
                {"method": "POST", "path": "/Users", "bulkId": "zxcvbn", "data": {
                    "schemas": [USER_SCHEMA], "userName": "Bob"}}
            ])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    assert_eq!(r.body["schemas"][0], BULK_RESPONSE);
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 4, "{}", r.text);
    let alice = by_bulk_id(&r.body, "qwerty");
    let bob = by_bulk_id(&r.body, "zxcvbn");
    let group = by_bulk_id(&r.body, "ytrewq");
    for op in [alice, bob, group] {
        assert_eq!(op["method"], "POST");
        assert_eq!(op["status"], "201", "{op}");
        assert!(op["version"].as_str().is_some_and(|v| v.starts_with("W/\"")), "{op}");
    }
    let id_of = |op: &Value| op["location"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let (alice_id, bob_id) = (id_of(alice), id_of(bob));
    assert!(alice["location"].as_str().unwrap().starts_with(&format!("{}/Users/", s.base)));
    let patch = ops.iter().find(|o| o["method"] == "PATCH").unwrap();
    assert_eq!(patch["status"], "200", "{patch}");
    assert_eq!(patch["location"], alice["location"]);
    // The group holds the users the bulkIds named.
    let g = s.get(&format!("/Groups/{}", id_of(group))).await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.text);
    let mut members: Vec<&str> =
        g.body["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
    members.sort();
    let mut want = vec![alice_id.as_str(), bob_id.as_str()];
    want.sort();
    assert_eq!(members, want);
    let a = s.get(&format!("/Users/{alice_id}")).await;
    assert_eq!(a.body["displayName"], "Alice");
}

/// RFC 7644 §3.7.1: circular bulkId references are detected; each operation of the cycle
/// fails with 409, and the other operations run.
#[tokio::test]
async fn bulk_reports_circular_references_as_409() {
    let s = start();
    let r = s
        .post(
            "/Bulk",
            &bulk(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {
                    "schemas": [GROUP_SCHEMA], "displayName": "A", "members": [{"value": "bulkId:b"}]}},
                {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {
                    "schemas": [GROUP_SCHEMA], "displayName": "B", "members": [{"value": "bulkId:a"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "u", "data": {
                    "schemas": [USER_SCHEMA], "userName": "carol"}}
            ])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_op_error(by_bulk_id(&r.body, "a"), 409, Some("invalidValue"));
    assert_op_error(by_bulk_id(&r.body, "b"), 409, Some("invalidValue"));
    assert_eq!(by_bulk_id(&r.body, "u")["status"], "201");
    let groups = s.get("/Groups").await;
    assert_eq!(groups.body["totalResults"], 0, "{}", groups.text);
}

/// RFC 7644 §3.7.3: a reference to a bulkId no POST of the request defines is an error of
/// that operation.
#[tokio::test]
async fn bulk_refuses_an_unknown_bulk_id() {
    let s = start();
    let r = s
        .post(
            "/Bulk",
            &bulk(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {
                    "schemas": [GROUP_SCHEMA], "displayName": "G", "members": [{"value": "bulkId:nobody"}]}}
            ])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_op_error(by_bulk_id(&r.body, "g"), 409, Some("invalidValue"));
}

/// RFC 7644 §3.7.3: failOnErrors stops processing after that many errors; the response lists
/// the operations processed, and the later ones have not run.
#[tokio::test]
async fn bulk_fail_on_errors_stops_early() {
    let s = start();
    s.create_user("taken").await;
    let r = s
        .post(
            "/Bulk",
            &json!({"schemas": [BULK_REQUEST], "failOnErrors": 1, "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "1", "data": {
                    "schemas": [USER_SCHEMA], "userName": "taken"}},
                {"method": "POST", "path": "/Users", "bulkId": "2", "data": {
                    "schemas": [USER_SCHEMA], "userName": "fresh"}}
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 1, "{}", r.text);
    assert_op_error(&ops[0], 409, Some("uniqueness"));
    let fresh = s.get("/Users?filter=userName%20eq%20%22fresh%22").await;
    assert_eq!(fresh.body["totalResults"], 0, "{}", fresh.text);
    // Without failOnErrors every operation runs (RFC 7644 §3.7: bulk is not atomic).
    let r = s
        .post(
            "/Bulk",
            &bulk(json!([
                {"method": "POST", "path": "/Users", "bulkId": "1", "data": {
                    "schemas": [USER_SCHEMA], "userName": "taken"}},
                {"method": "POST", "path": "/Users", "bulkId": "2", "data": {
                    "schemas": [USER_SCHEMA], "userName": "fresh"}}
            ])),
        )
        .await;
    assert_op_error(by_bulk_id(&r.body, "1"), 409, Some("uniqueness"));
    assert_eq!(by_bulk_id(&r.body, "2")["status"], "201");
}

/// RFC 7644 §3.7 and §3.14: an operation's `version` is a precondition, as If-Match is: a
/// PUT, PATCH or DELETE on another version fails with 412 in its operation.
#[tokio::test]
async fn bulk_version_mismatch_is_412_per_operation() {
    let s = start();
    let user = s.create_user("dave").await;
    let id = user["id"].as_str().unwrap();
    let version = user["meta"]["version"].as_str().unwrap();
    let path = format!("/Users/{id}");
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "displayName", "value": "D"}]});
    let r = s
        .post(
            "/Bulk",
            &bulk(json!([
                {"method": "PUT", "path": path, "version": "W/\"999\"", "data": {
                    "schemas": [USER_SCHEMA], "userName": "dave2"}},
                {"method": "PATCH", "path": path, "version": "W/\"999\"", "data": patch},
                {"method": "DELETE", "path": path, "version": "W/\"999\""},
                {"method": "PATCH", "path": path, "version": version, "data": patch}
            ])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 4);
    for op in &ops[..3] {
        assert_op_error(op, 412, None);
    }
    assert_eq!(ops[3]["method"], "PATCH");
    assert_eq!(ops[3]["status"], "200", "{}", ops[3]);
    assert_ne!(ops[3]["version"], version);
    let now = s.get(&path).await;
    assert_eq!(now.body["userName"], "dave");
    assert_eq!(now.body["displayName"], "D");
    // DELETE on the current version: 204.
    let current = now.body["meta"]["version"].as_str().unwrap();
    let r = s.post("/Bulk", &bulk(json!([{"method": "DELETE", "path": path, "version": current}]))).await;
    assert_eq!(r.body["Operations"][0]["status"], "204", "{}", r.text);
    s.get(&path).await.assert_error(404, None);
}

/// RFC 7644 §3.7.4: more operations than maxOperations, or a body larger than maxPayloadSize,
/// is 413 with a SCIM error; both limits are announced in ServiceProviderConfig (RFC 7643 §5).
#[tokio::test]
async fn bulk_limits_are_enforced_and_announced() {
    let s = builder()
        .env("SCIMD_SCIM2_BULK_MAX_OPERATIONS", "2")
        .env("SCIMD_SCIM2_BULK_MAX_PAYLOAD_BYTES", "600")
        .start();
    let config = s.get("/ServiceProviderConfig").await.body;
    assert_eq!(config["bulk"], json!({"supported": true, "maxOperations": 2, "maxPayloadSize": 600}));
    let op = |n: u32| {
        json!({"method": "POST", "path": "/Users", "bulkId": n.to_string(),
               "data": {"schemas": [USER_SCHEMA], "userName": format!("u{n}")}})
    };
    let r = s.post("/Bulk", &bulk(json!([op(1), op(2), op(3)]))).await;
    r.assert_error(413, None);
    assert!(r.detail().contains("3 operations"), "{}", r.text);
    let big = json!({"method": "POST", "path": "/Users", "bulkId": "big",
                     "data": {"schemas": [USER_SCHEMA], "userName": "x".repeat(700)}});
    s.post("/Bulk", &bulk(json!([big]))).await.assert_error(413, None);
    let users = s.get("/Users").await;
    assert_eq!(users.body["totalResults"], 0, "{}", users.text);
    // Within the limits, it runs.
    let r = s.post("/Bulk", &bulk(json!([op(1), op(2)]))).await;
    assert_eq!(r.body["Operations"].as_array().unwrap().len(), 2, "{}", r.text);
}

/// RFC 7644 §3.7: a BulkRequest needs its schema and Operations; POST needs a bulkId.
#[tokio::test]
async fn bulk_refuses_malformed_requests() {
    let s = start();
    s.post("/Bulk", &json!({"Operations": []})).await.assert_error(400, Some("invalidSyntax"));
    s.post("/Bulk", &json!({"schemas": [BULK_REQUEST]})).await.assert_error(400, Some("invalidSyntax"));
    let r = s
        .post(
            "/Bulk",
            &bulk(json!([
                {"method": "POST", "path": "/Users", "data": {"schemas": [USER_SCHEMA], "userName": "e"}},
                {"method": "GET", "path": "/Users"},
                {"method": "DELETE", "path": "/Elsewhere/1"}
            ])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ops = r.body["Operations"].as_array().unwrap();
    assert_op_error(&ops[0], 400, Some("invalidValue"));
    assert_op_error(&ops[1], 400, Some("invalidValue"));
    assert_op_error(&ops[2], 400, Some("invalidPath"));
}

/// RFC 7644 §3.11: /Me maps to the User behind the credential; the bootstrap admin token has
/// none, so every method answers 501 (which §3.11 allows) saying so.
#[tokio::test]
async fn me_is_501_for_the_bootstrap_admin() {
    let s = start();
    let r = s.get("/Me").await;
    r.assert_error(501, None);
    assert!(r.detail().contains("bootstrap admin"), "{}", r.text);
    s.put("/Me", &json!({"schemas": [USER_SCHEMA], "userName": "x"})).await.assert_error(501, None);
    s.post("/Me", &json!({"schemas": [USER_SCHEMA], "userName": "x"})).await.assert_error(501, None);
    s.delete("/Me").await.assert_error(501, None);
}
