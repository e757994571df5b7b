//! `/Groups` and membership (RFC 7643 §4.2 members, §4.1.2 groups).

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;

/// RFC 7643 §4.2: members carry value, $ref, type (User or Group) and display.
#[tokio::test]
async fn group_with_user_and_group_members_reads_back() {
    let s = start();
    let alice = s.create_user("alice").await["id"].as_str().unwrap().to_string();
    let inner = s.create_group("inner", &[]).await["id"].as_str().unwrap().to_string();
    let r = s
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "outer", "externalId": "g-1", "members": [
                {"value": alice, "display": "Alice", "type": "User"},
                {"value": inner}
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let members = r.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["value"], alice.as_str());
    assert_eq!(members[0]["type"], "User");
    assert_eq!(members[0]["display"], "Alice");
    assert_eq!(members[0]["$ref"], format!("{}/Users/{alice}", s.base));
    assert_eq!(members[1]["type"], "Group");
    assert_eq!(members[1]["$ref"], format!("{}/Groups/{inner}", s.base));
    let id = r.body["id"].as_str().unwrap();
    let read = s.get(&format!("/Groups/{id}")).await;
    assert_eq!(read.body, r.body);
    assert_eq!(read.body["externalId"], "g-1");
}

/// A member id that does not exist: 400 invalidValue naming it; nothing is created.
#[tokio::test]
async fn unknown_member_is_400_naming_it() {
    let s = start();
    let r = s
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "g", "members": [{"value": "no-such-id"}]}),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    assert!(r.detail().contains("no-such-id"), "{}", r.detail());
    assert_eq!(s.get("/Groups").await.body["totalResults"], 0);
}

/// RFC 7643 §4.2: members.type is one of "User" and "Group"; a wrong type is refused.
#[tokio::test]
async fn member_of_the_wrong_type_is_refused() {
    let s = start();
    let alice = s.create_user("alice").await["id"].as_str().unwrap().to_string();
    let r = s
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "g", "members": [{"value": alice, "type": "Group"}]}),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
}

/// RFC 7643 §4.1.2: User.groups is readOnly and derived, with direct and indirect membership.
#[tokio::test]
async fn user_groups_show_direct_and_indirect_membership() {
    let s = start();
    let bob = s.create_user("bob").await["id"].as_str().unwrap().to_string();
    let team = s.create_group("team", &[&bob]).await["id"].as_str().unwrap().to_string();
    let dept = s.create_group("dept", &[&team]).await["id"].as_str().unwrap().to_string();
    let u = s.get(&format!("/Users/{bob}")).await.body;
    let groups = u["groups"].as_array().unwrap();
    let find = |id: &str| groups.iter().find(|g| g["value"] == id).cloned().unwrap();
    assert_eq!(find(&team)["type"], "direct");
    assert_eq!(find(&team)["display"], "team");
    assert_eq!(find(&dept)["type"], "indirect");
    assert_eq!(find(&dept)["$ref"], format!("{}/Groups/{dept}", s.base));
    // groups written by a client are ignored (readOnly)
    let r = s
        .put(
            &format!("/Users/{bob}"),
            &json!({"schemas": [USER_SCHEMA], "userName": "bob", "groups": [{"value": dept}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["groups"].as_array().unwrap().len(), 2);
}

/// Deleting a user or a group removes it from every group, in the same transaction.
#[tokio::test]
async fn deleting_a_member_removes_it_from_every_group() {
    let s = start();
    let carol = s.create_user("carol").await["id"].as_str().unwrap().to_string();
    let dave = s.create_user("dave").await["id"].as_str().unwrap().to_string();
    let g1 = s.create_group("g1", &[&carol, &dave]).await["id"].as_str().unwrap().to_string();
    let g2 = s.create_group("g2", &[&carol, &g1]).await["id"].as_str().unwrap().to_string();
    assert_eq!(s.delete(&format!("/Users/{carol}")).await.status, StatusCode::NO_CONTENT);
    let g1b = s.get(&format!("/Groups/{g1}")).await.body;
    assert_eq!(g1b["members"].as_array().unwrap().len(), 1);
    assert_eq!(g1b["members"][0]["value"], dave.as_str());
    assert_eq!(s.delete(&format!("/Groups/{g1}")).await.status, StatusCode::NO_CONTENT);
    let g2b = s.get(&format!("/Groups/{g2}")).await.body;
    assert!(g2b.get("members").is_none(), "{g2b}");
    assert!(s.get(&format!("/Users/{dave}")).await.body.get("groups").is_none());
}

/// RFC 7644 §3.5.1: PUT of a group replaces its members.
#[tokio::test]
async fn put_replaces_members() {
    let s = start();
    let a = s.create_user("a").await["id"].as_str().unwrap().to_string();
    let b = s.create_user("b").await["id"].as_str().unwrap().to_string();
    let g = s.create_group("g", &[&a]).await["id"].as_str().unwrap().to_string();
    let r = s
        .put(
            &format!("/Groups/{g}"),
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "g2", "members": [{"value": b}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["displayName"], "g2");
    assert_eq!(r.body["members"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["members"][0]["value"], b.as_str());
}

/// Entra ID looks a group up by displayName, without its members.
#[tokio::test]
async fn filter_groups_by_display_name_and_exclude_members() {
    let s = start();
    let a = s.create_user("a").await["id"].as_str().unwrap().to_string();
    s.create_group("Sales Team", &[&a]).await;
    s.create_group("Other", &[]).await;
    let r = s
        .get(&format!(
            "/Groups?filter={}&excludedAttributes=members",
            urlencode("displayName eq \"sales team\"")
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["displayName"], "Sales Team");
    assert!(r.body["Resources"][0].get("members").is_none());
}

/// RFC 7643 §4.2: displayName is required for a Group.
#[tokio::test]
async fn group_without_display_name_is_refused() {
    let s = start();
    let r = s.post("/Groups", &json!({"schemas": [GROUP_SCHEMA]})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.detail().contains("displayName"), "{}", r.detail());
}

/// RFC 7643 §4.2, issue 4's big groups: a group of more members than the server reads at a
/// time (it sends them slice by slice) reads back whole, members in the order they were added,
/// with its ETag; `excludedAttributes=members` leaves them out; If-None-Match answers 304.
#[tokio::test]
async fn a_group_bigger_than_a_slice_reads_back_whole() {
    let s = start();
    let n = 2300;
    let mut ids = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let ops: Vec<_> = chunk
            .iter()
            .map(|i| {
                json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                       "data": {"schemas": [USER_SCHEMA], "userName": format!("member{i:05}")}})
            })
            .collect();
        let r = s
            .post(
                "/Bulk",
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        for op in r.body["Operations"].as_array().unwrap() {
            assert_eq!(op["status"], "201", "{op}");
            ids.push(op["location"].as_str().unwrap().rsplit('/').next().unwrap().to_owned());
        }
    }
    let members: Vec<_> = ids.iter().map(|id| json!({"value": id})).collect();
    let created = s
        .post("/Groups", &json!({"schemas": [GROUP_SCHEMA], "displayName": "everyone", "members": members}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().unwrap();

    let read = s.get(&format!("/Groups/{id}")).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.body, created.body);
    let got: Vec<&str> =
        read.body["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert_eq!(got, ids);
    let etag = read.header("etag").unwrap().to_owned();
    assert_eq!(Some(etag.as_str()), created.header("etag"));

    let without = s.get(&format!("/Groups/{id}?excludedAttributes=members")).await;
    assert!(without.body.get("members").is_none(), "{}", without.text);
    let cached = send(
        s.raw().get(format!("{}/Groups/{id}", s.base)).bearer_auth(&s.token).header("If-None-Match", etag),
    )
    .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
}
