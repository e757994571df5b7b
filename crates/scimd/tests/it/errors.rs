//! Errors: every 4xx and 5xx is a SCIM Error (RFC 7644 §3.12).

use crate::harness::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn unknown_route_is_404_scim_error() {
    let s = start();
    s.get("/Nothing").await.assert_error(404, None);
    let r = send(s.raw().get(format!("{}/nowhere", s.root)).bearer_auth(&s.token)).await;
    r.assert_error(404, None);
}

#[tokio::test]
async fn wrong_method_is_405_scim_error_with_allow() {
    let s = start();
    let r = s.request(Method::DELETE, "/Users", None, &[]).await;
    r.assert_error(405, None);
    assert_eq!(r.header("allow"), Some("GET, POST"));
    s.request(Method::POST, "/ServiceProviderConfig", Some(&json!({})), &[]).await.assert_error(405, None);
}

/// RFC 7644 §3.12: a body that cannot be parsed is 400 invalidSyntax.
#[tokio::test]
async fn malformed_json_is_400_invalid_syntax() {
    let s = start();
    let r = send(
        s.raw()
            .post(format!("{}/Users", s.base))
            .bearer_auth(&s.token)
            .header("content-type", "application/scim+json")
            .body("{\"userName\": \"a\",,}"),
    )
    .await;
    r.assert_error(400, Some("invalidSyntax"));
    assert!(r.detail().contains("line 1"), "{}", r.detail());
}

/// RFC 7644 §3.1: application/json is accepted as well as application/scim+json.
#[tokio::test]
async fn application_json_is_accepted_and_other_types_are_not() {
    let s = start();
    let r = send(
        s.raw()
            .post(format!("{}/Users", s.base))
            .bearer_auth(&s.token)
            .header("content-type", "application/json")
            .body(json!({"schemas": [USER_SCHEMA], "userName": "json"}).to_string()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let r = send(
        s.raw()
            .post(format!("{}/Users", s.base))
            .bearer_auth(&s.token)
            .header("content-type", "text/plain")
            .body("x"),
    )
    .await;
    r.assert_error(415, None);
}

#[tokio::test]
async fn body_over_the_limit_is_413_scim_error() {
    let s = builder().env("SCIMD_SERVER_MAX_BODY_BYTES", "1000").start();
    let big = "x".repeat(2000);
    let r = s.post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": big})).await;
    r.assert_error(413, None);
}
