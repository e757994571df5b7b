//! PATCH (RFC 7644 §3.5.2), and the request shapes Entra ID and Okta send, each replayed as the
//! client sends it.

use crate::harness::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn ops(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

async fn patch(s: &TestServer, path: &str, body: Value) -> Resp {
    s.request(Method::PATCH, path, Some(&body), &[]).await
}

/// RFC 7644 §3.5.2.3 replace and §3.5.2.1 add, with the response body of the whole resource.
#[tokio::test]
async fn replace_and_add_with_paths_return_the_resource() {
    let s = start();
    let id = s.create_user("pat").await["id"].as_str().unwrap().to_string();
    let r = patch(
        &s,
        &format!("/Users/{id}"),
        ops(json!([
            {"op": "replace", "path": "title", "value": "Lead"},
            {"op": "add", "path": "emails", "value": [{"value": "p@example.com", "type": "work"}]},
            {"op": "add", "path": "name.givenName", "value": "Pat"}
        ])),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["title"], "Lead");
    assert_eq!(r.body["emails"][0]["value"], "p@example.com");
    assert_eq!(r.body["name"]["givenName"], "Pat");
    assert_eq!(r.body["meta"]["version"], "W/\"2\"");
    assert_eq!(s.get(&format!("/Users/{id}")).await.body, r.body);
}

/// RFC 7644 §3.5.2: all operations apply together or not at all.
#[tokio::test]
async fn a_failing_operation_leaves_the_resource_untouched() {
    let s = start();
    let id = s.create_user("atomic").await["id"].as_str().unwrap().to_string();
    let before = s.get(&format!("/Users/{id}")).await.body;
    let r = patch(
        &s,
        &format!("/Users/{id}"),
        ops(json!([
            {"op": "replace", "path": "title", "value": "Changed"},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "x@example.com"}
        ])),
    )
    .await;
    r.assert_error(400, Some("noTarget"));
    assert_eq!(s.get(&format!("/Users/{id}")).await.body, before);
}

/// RFC 7644 §3.5.2.2: remove without a path is 400 noTarget; §3.5.2 readOnly targets are
/// `mutability`.
#[tokio::test]
async fn remove_without_path_and_read_only_targets_are_refused() {
    let s = start();
    let id = s.create_user("ro").await["id"].as_str().unwrap().to_string();
    patch(&s, &format!("/Users/{id}"), ops(json!([{"op": "remove"}])))
        .await
        .assert_error(400, Some("noTarget"));
    patch(&s, &format!("/Users/{id}"), ops(json!([{"op": "replace", "path": "id", "value": "x"}])))
        .await
        .assert_error(400, Some("mutability"));
    patch(&s, &format!("/Users/{id}"), ops(json!([{"op": "replace", "path": "nosuch", "value": "x"}])))
        .await
        .assert_error(400, Some("invalidPath"));
}

/// RFC 7644 §3.14: If-Match on PATCH as on PUT.
#[tokio::test]
async fn if_match_applies_to_patch() {
    let s = start();
    let id = s.create_user("im").await["id"].as_str().unwrap().to_string();
    let body = ops(json!([{"op": "replace", "path": "title", "value": "a"}]));
    let r = s.request(Method::PATCH, &format!("/Users/{id}"), Some(&body), &[("if-match", "W/\"7\"")]).await;
    r.assert_error(412, None);
    let r = s.request(Method::PATCH, &format!("/Users/{id}"), Some(&body), &[("if-match", "W/\"1\"")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r =
        s.request(Method::PATCH, &format!("/Users/{id}"), Some(&body), &[("prefer", "return=minimal")]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.header("etag"), Some("W/\"3\""));
}

/// Entra ID: capitalised ops, booleans as strings, dotted and URI-qualified keys in a path-less
/// replace, the manager as a bare id, and Add to a valuePath that does not exist yet.
#[tokio::test]
async fn entra_id_user_requests() {
    let s = start();
    let id = s.create_user("entra@contoso.com").await["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    let r = patch(
        &s,
        &path,
        ops(json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Replace", "value": {
                "name.givenName": "Ada",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984"
            }},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "mgr-42"},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "ada@contoso.com"}
        ])),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["name"]["givenName"], "Ada");
    assert_eq!(r.body[ENTERPRISE]["employeeNumber"], "701984");
    assert_eq!(r.body[ENTERPRISE]["manager"]["value"], "mgr-42");
    assert_eq!(r.body["emails"], json!([{"type": "work", "value": "ada@contoso.com"}]));
    let r = patch(
        &s,
        &path,
        ops(json!([{"op": "Replace", "path": "emails[type eq \"work\"].primary", "value": "True"}])),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["emails"][0]["primary"], true);
}

/// Entra ID: members added and removed with a value array. A group PATCH answers 204 (RFC
/// 7644 §3.5.2 allows it) unless the client asks for the body.
#[tokio::test]
async fn entra_id_group_membership_requests() {
    let s = start();
    let a = s.create_user("a").await["id"].as_str().unwrap().to_string();
    let b = s.create_user("b").await["id"].as_str().unwrap().to_string();
    let g = s.create_group("Entra Group", &[]).await["id"].as_str().unwrap().to_string();
    let path = format!("/Groups/{g}");
    let r = patch(
        &s,
        &path,
        ops(json!([{"op": "Add", "path": "members", "value": [{"value": a}, {"value": b}]}])),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(s.get(&path).await.body["members"].as_array().unwrap().len(), 2);
    let r =
        patch(&s, &path, ops(json!([{"op": "Remove", "path": "members", "value": [{"value": a}]}]))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let group = s.get(&path).await.body;
    let members: Vec<&Value> = group["members"].as_array().unwrap().iter().map(|m| &m["value"]).collect();
    assert_eq!(members, [&json!(b)]);
    let user_a = s.get(&format!("/Users/{a}")).await.body;
    assert!(user_a.get("groups").is_none(), "{user_a}");
    // Asked for, the body comes back (RFC 7644 §3.5.2, subject to "attributes").
    let r = s
        .request(
            Method::PATCH,
            &format!("{path}?attributes=members"),
            Some(&ops(json!([{"op": "Add", "path": "members", "value": [{"value": a}]}]))),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["members"].as_array().unwrap().len(), 2);
    assert!(r.body.get("displayName").is_none());
}

/// Okta: members added without a type, removal by value filter, emptying by replace with [],
/// rename by a path-less replace echoing the id, deactivation by a path-less replace.
#[tokio::test]
async fn okta_requests() {
    let s = start();
    let a = s.create_user("okta-a").await["id"].as_str().unwrap().to_string();
    let b = s.create_user("okta-b").await["id"].as_str().unwrap().to_string();
    let g = s.create_group("Okta Group", &[]).await["id"].as_str().unwrap().to_string();
    let path = format!("/Groups/{g}");
    let r = patch(
        &s,
        &path,
        ops(json!([{"op": "add", "path": "members", "value": [{"value": a, "display": "A"}, {"value": b}]}])),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r =
        patch(&s, &path, ops(json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}]))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(s.get(&path).await.body["members"].as_array().unwrap().len(), 1);
    let r =
        patch(&s, &path, ops(json!([{"op": "replace", "value": {"id": g, "displayName": "Renamed"}}]))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let group = s.get(&path).await.body;
    assert_eq!(group["displayName"], "Renamed");
    assert_eq!(group["members"].as_array().unwrap().len(), 1, "a rename keeps the members");
    let r = patch(&s, &path, ops(json!([{"op": "replace", "path": "members", "value": []}]))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(s.get(&path).await.body.get("members").is_none());
    let u =
        patch(&s, &format!("/Users/{a}"), ops(json!([{"op": "replace", "value": {"active": false}}]))).await;
    assert_eq!(u.status, StatusCode::OK, "{}", u.text);
    assert_eq!(u.body["active"], false);
}

/// Two PATCHes that add different members to one group at the same time both take effect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_member_additions_are_all_kept() {
    let s = std::sync::Arc::new(start());
    let g = s.create_group("busy", &[]).await["id"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(s.create_user(&format!("c{i}")).await["id"].as_str().unwrap().to_string());
    }
    let mut tasks = Vec::new();
    for id in ids.clone() {
        let (s, path) = (s.clone(), format!("/Groups/{g}"));
        tasks.push(tokio::spawn(async move {
            patch(&s, &path, ops(json!([{"op": "add", "path": "members", "value": [{"value": id}]}])))
                .await
                .status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::NO_CONTENT);
    }
    let group = s.get(&format!("/Groups/{g}")).await.body;
    let mut got: Vec<String> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    ids.sort();
    assert_eq!(got, ids);
    assert_eq!(group["meta"]["version"], "W/\"41\"");
}

/// Member operations and other operations in one request apply together; a bad member makes
/// the whole request fail and changes nothing.
#[tokio::test]
async fn member_and_attribute_operations_apply_together_or_not_at_all() {
    let s = start();
    let a = s.create_user("x").await["id"].as_str().unwrap().to_string();
    let g = s.create_group("before", &[]).await["id"].as_str().unwrap().to_string();
    let path = format!("/Groups/{g}");
    let r = patch(
        &s,
        &path,
        ops(json!([
            {"op": "replace", "path": "displayName", "value": "after"},
            {"op": "add", "path": "members", "value": [{"value": a}, {"value": "ghost"}]}
        ])),
    )
    .await;
    r.assert_error(400, Some("invalidValue"));
    let group = s.get(&path).await.body;
    assert_eq!(group["displayName"], "before");
    assert!(group.get("members").is_none());
    let r = patch(
        &s,
        &path,
        ops(json!([
            {"op": "replace", "path": "displayName", "value": "after"},
            {"op": "add", "path": "members", "value": [{"value": a}]}
        ])),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let group = s.get(&path).await.body;
    assert_eq!(group["displayName"], "after");
    assert_eq!(group["members"][0]["value"], a.as_str());
}

/// A PATCH that names a member that does not exist is refused, naming it.
#[tokio::test]
async fn patch_with_unknown_member_is_400() {
    let s = start();
    let g = s.create_group("g", &[]).await["id"].as_str().unwrap().to_string();
    let r = patch(
        &s,
        &format!("/Groups/{g}"),
        ops(json!([{"op": "add", "path": "members", "value": [{"value": "ghost"}]}])),
    )
    .await;
    r.assert_error(400, Some("invalidValue"));
    assert!(r.detail().contains("ghost"), "{}", r.detail());
}
