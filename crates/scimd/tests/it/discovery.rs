//! Discovery endpoints (RFC 7644 §4; RFC 7643 §5-§7).

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::Value;

/// RFC 7643 §5: ServiceProviderConfig announces what works and nothing that does not.
#[tokio::test]
async fn service_provider_config_is_truthful() {
    let s = start();
    let r = s.get("/ServiceProviderConfig").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let b = &r.body;
    assert_eq!(b["schemas"][0], "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig");
    assert_eq!(b["patch"]["supported"], true);
    // RFC 7644 §3.7.4: the bulk limits of the configuration (defaults here).
    assert_eq!(b["bulk"]["supported"], true);
    assert_eq!(b["bulk"]["maxOperations"], 1000);
    assert_eq!(b["bulk"]["maxPayloadSize"], 1_048_576);
    assert_eq!(b["sort"]["supported"], true);
    assert_eq!(b["etag"]["supported"], true);
    assert_eq!(b["filter"]["supported"], true);
    assert_eq!(b["filter"]["maxResults"], 1000);
    assert_eq!(b["changePassword"]["supported"], true);
    let schemes = b["authenticationSchemes"].as_array().unwrap();
    assert!(schemes.iter().any(|a| a["type"] == "oauthbearertoken"));
    assert!(schemes.iter().any(|a| a["type"] == "httpbasic"));
    // What is announced supported answers: an empty BulkRequest gets an empty BulkResponse.
    let bulk = s
        .post(
            "/Bulk",
            &serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []}),
        )
        .await;
    assert_eq!(bulk.status, StatusCode::OK, "{}", bulk.text);
    assert_eq!(bulk.body["Operations"], serde_json::json!([]));
}

/// RFC 7643 §6: the User and Group resource types, User with the Enterprise extension.
#[tokio::test]
async fn resource_types_list_users_and_groups() {
    let s = start();
    let r = s.get("/ResourceTypes").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["totalResults"], 2);
    let user = s.get("/ResourceTypes/User").await.body;
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schema"], USER_SCHEMA);
    assert_eq!(user["schemaExtensions"][0]["schema"], ENTERPRISE);
    assert_eq!(user["schemaExtensions"][0]["required"], false);
    assert_eq!(user["meta"]["location"], format!("{}/ResourceTypes/User", s.base));
    let group = s.get("/ResourceTypes/Group").await.body;
    assert_eq!(group["endpoint"], "/Groups");
    s.get("/ResourceTypes/Nope").await.assert_error(404, None);
}

fn attr<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema["attributes"].as_array().unwrap().iter().find(|a| a["name"] == name).unwrap()
}

/// RFC 7643 §7 and §8.7.1: the schemas with their attributes and characteristics.
#[tokio::test]
async fn schemas_serve_user_group_and_enterprise_with_characteristics() {
    let s = start();
    let r = s.get("/Schemas").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ids: Vec<&str> =
        r.body["Resources"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    for want in [USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE] {
        assert!(ids.contains(&want), "{ids:?}");
    }
    let user = s.get(&format!("/Schemas/{USER_SCHEMA}")).await.body;
    let user_name = attr(&user, "userName");
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["required"], true);
    assert_eq!(user_name["caseExact"], false);
    let password = attr(&user, "password");
    assert_eq!(password["mutability"], "writeOnly");
    assert_eq!(password["returned"], "never");
    let groups = attr(&user, "groups");
    assert_eq!(groups["mutability"], "readOnly");
    let emails = attr(&user, "emails");
    assert_eq!(emails["multiValued"], true);
    assert!(emails["subAttributes"].as_array().unwrap().iter().any(|a| a["name"] == "primary"));
    assert_eq!(user["meta"]["resourceType"], "Schema");
    // case-insensitive URI lookup (RFC 7643 §2.1)
    let lower = s.get(&format!("/Schemas/{}", ENTERPRISE.to_lowercase())).await;
    assert_eq!(lower.status, StatusCode::OK);
    assert_eq!(lower.body["id"], ENTERPRISE);
    s.get("/Schemas/urn:nope").await.assert_error(404, None);
}
