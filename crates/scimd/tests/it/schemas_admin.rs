//! The custom extension (DESIGN.md, "Schemas that admins shape"): served from config, shaped
//! through the admin API and the CLI, seen at once by every part of the server, and kept across
//! restarts.

use crate::harness::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CUSTOM: &str = "urn:scim:wso2:schema";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SEED_USER: &str = include_str!("../fixtures/seed-user.json");

fn attrs_path(uri: &str) -> String {
    format!("/schemas/{uri}/attributes")
}

async fn add(s: &TestServer, def: Value) -> Resp {
    s.admin(Method::POST, &attrs_path(CUSTOM), Some(&def)).await
}

async fn add_ok(s: &TestServer, def: Value) -> Value {
    let r = add(s, def).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

/// The schema `uri` as `/Schemas` serves it, if it does.
async fn served(s: &TestServer, uri: &str) -> Option<Value> {
    let r = s.get("/Schemas").await;
    assert_eq!(r.status, StatusCode::OK);
    r.body["Resources"].as_array().unwrap().iter().find(|x| x["id"] == uri).cloned()
}

async fn user_extensions(s: &TestServer) -> Vec<Value> {
    let r = s.get("/ResourceTypes/User").await;
    r.body["schemaExtensions"].as_array().cloned().unwrap_or_default()
}

fn ops(list: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": list})
}

async fn filter_names(s: &TestServer, filter: &str) -> Resp {
    s.get(&format!("/Users?filter={}", urlencode(filter))).await
}

fn user_names(r: &Resp) -> Vec<String> {
    let mut v: Vec<String> = r.body["Resources"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|u| u["userName"].as_str().unwrap_or("").to_string())
        .collect();
    v.sort();
    v
}

/// DESIGN.md (custom extension, default URI), RFC 7643 §6, §7: turned on by default, the custom
/// extension is served by /Schemas (empty) and accepted in a payload's `schemas`; the User
/// resource type lists it, not required, from its first attribute on (an extension without
/// attributes holds nothing a User could carry; RFC 7643 §2.5).
#[tokio::test]
async fn custom_extension_is_served_empty_by_default() {
    let s = start();
    let schema = served(&s, CUSTOM).await.expect("the custom schema is served");
    assert_eq!(schema["attributes"], json!([]));
    assert_eq!(schema["meta"]["resourceType"], "Schema");
    assert!(user_extensions(&s).await.iter().all(|e| e["schema"] != CUSTOM));
    let r = s.post("/Users", &json!({"schemas": [USER_SCHEMA, CUSTOM], "userName": "kim", CUSTOM: {}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["schemas"], json!([USER_SCHEMA]), "an empty extension is unassigned");
    add_ok(&s, json!({"name": "devices", "multiValued": true})).await;
    assert!(user_extensions(&s).await.contains(&json!({"schema": CUSTOM, "required": false})));
    let list = s.admin(Method::GET, "/schemas", None).await;
    let custom =
        list.body["schemas"].as_array().unwrap().iter().find(|x| x["id"] == CUSTOM).cloned().unwrap();
    assert_eq!(custom["builtIn"], false);
    assert_eq!(custom["resourceType"], "User");
}

/// DESIGN.md: `custom_user_schema_uri` names the extension.
#[tokio::test]
async fn custom_uri_comes_from_config() {
    let s = builder().env("SCIMD_SCIM2_CUSTOM_USER_SCHEMA_URI", "urn:example:params:custom").start();
    assert!(served(&s, CUSTOM).await.is_none());
    assert!(served(&s, "urn:example:params:custom").await.is_some());
    let r = s
        .admin(Method::POST, &attrs_path("urn:example:params:custom"), Some(&json!({"name": "badge"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = s
        .post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": "u1", "urn:example:params:custom": {"badge": "B7"}}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["urn:example:params:custom"], json!({"badge": "B7"}));
}

/// DESIGN.md: `enable_custom_schema_extension = false` removes the extension: gone from
/// /Schemas and the User resource type's schemaExtensions; a payload using it gets 400 naming
/// the schema (RFC 7644 §3.3, RFC 7643 §3); the admin API has no such schema.
#[tokio::test]
async fn disabled_custom_extension_is_gone_everywhere() {
    let s = builder().env("SCIMD_SCIM2_ENABLE_CUSTOM_SCHEMA_EXTENSION", "false").start();
    assert!(served(&s, CUSTOM).await.is_none());
    assert!(s.get(&format!("/Schemas/{CUSTOM}")).await.status == StatusCode::NOT_FOUND);
    assert!(user_extensions(&s).await.iter().all(|e| e["schema"] != CUSTOM));
    for body in [
        json!({"schemas": [USER_SCHEMA, CUSTOM], "userName": "a"}),
        json!({"schemas": [USER_SCHEMA], "userName": "a", CUSTOM: {"devices": ["d1"]}}),
        json!({"schemas": [USER_SCHEMA], "userName": "a", format!("{CUSTOM}:devices"): ["d1"]}),
    ] {
        let r = s.post("/Users", &body).await;
        r.assert_error(400, Some("invalidValue"));
        assert!(r.detail().contains(&format!("unknown schema \"{CUSTOM}\"")), "{}", r.detail());
    }
    let r = add(&s, json!({"name": "devices"})).await;
    r.assert_error(404, None);
    assert!(r.detail().contains("turned off"), "{}", r.detail());
}

/// DESIGN.md (fixtures/seed-user.json), RFC 7643 §3.3, §8.7.1: once `customAttribute` (string)
/// and `devices` (multi-valued string) are defined through the admin API, the seed user is
/// accepted by POST and reads back identically, password aside.
#[tokio::test]
async fn seed_user_round_trips_once_custom_attributes_are_defined() {
    let s = start();
    let seed: Value = serde_json::from_str(SEED_USER).unwrap();
    let before = s.post("/Users", &seed).await;
    before.assert_error(400, Some("invalidValue"));
    assert!(before.detail().contains("urn:scim:wso2:schema:customAttribute"), "{}", before.detail());

    let a = add_ok(&s, json!({"name": "customAttribute", "type": "string"})).await;
    assert_eq!(a["localClaim"], "urn:scimd:claims:customAttribute");
    assert_eq!(a["claimUri"], "urn:scim:wso2:schema:customAttribute");
    add_ok(&s, json!({"name": "devices", "type": "string", "multiValued": true})).await;

    let created = s.post("/Users", &seed).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().unwrap();
    let mut want = seed.clone();
    want.as_object_mut().unwrap().remove("password");
    for got in [created.body.clone(), s.get(&format!("/Users/{id}")).await.body] {
        let mut got = got;
        let obj = got.as_object_mut().unwrap();
        assert!(obj.remove("id").is_some() && obj.remove("meta").is_some());
        assert_eq!(got, want);
    }
    // The server stamped the password's time (returned on request only).
    let r = s.get(&format!("/Users/{id}?attributes={ENTERPRISE}:lastPasswordUpdateTime")).await;
    assert!(r.body[ENTERPRISE]["lastPasswordUpdateTime"].is_string(), "{}", r.text);
}

/// DESIGN.md ("A change is seen at once"), RFC 7643 §7, RFC 7644 §3.4.2.2, §3.5.2: an attribute
/// added is at once in /Schemas, validation, filters, PATCH paths and the claim mapping; once
/// deleted (with its values, after confirmation), it is gone from all of them.
#[tokio::test]
async fn a_change_is_seen_at_once_everywhere() {
    let s = start();
    let body = |name: &str, devices: Value| json!({"schemas": [USER_SCHEMA], "userName": name, CUSTOM: {"devices": devices, "customAttribute": format!("x-{name}")}});
    s.post("/Users", &body("early", json!(["d1"]))).await.assert_error(400, Some("invalidValue"));
    filter_names(&s, r#"urn:scim:wso2:schema:devices eq "d1""#)
        .await
        .assert_error(400, Some("invalidFilter"));

    add_ok(&s, json!({"name": "devices", "multiValued": true})).await;
    add_ok(&s, json!({"name": "customAttribute"})).await;
    let schema = served(&s, CUSTOM).await.unwrap();
    let names: Vec<&str> =
        schema["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["devices", "customAttribute"]);

    let kim = s.post("/Users", &body("kim", json!(["d1", "d2"]))).await;
    assert_eq!(kim.status, StatusCode::CREATED, "{}", kim.text);
    let kid = kim.body["id"].as_str().unwrap().to_string();
    let lee = s.post("/Users", &body("lee", json!("d3"))).await;
    assert_eq!(lee.body[CUSTOM]["devices"], json!(["d3"]), "a lone value is wrapped");
    let lid = lee.body["id"].as_str().unwrap().to_string();
    s.create_user("plain").await;

    // PATCH: add appends (RFC 7644 §3.5.2.1), through the claim URI path.
    let r = s
        .patch(
            &format!("/Users/{lid}"),
            &ops(json!([{"op": "add", "path": "urn:scim:wso2:schema:devices", "value": ["d1"]}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body[CUSTOM]["devices"], json!(["d3", "d1"]));

    // Filters: a multi-valued simple attribute matches on any value; sw on a string.
    assert_eq!(
        user_names(&filter_names(&s, r#"urn:scim:wso2:schema:devices eq "d1""#).await),
        ["kim", "lee"]
    );
    assert_eq!(user_names(&filter_names(&s, r#"urn:scim:wso2:schema:devices eq "d2""#).await), ["kim"]);
    assert_eq!(
        user_names(&filter_names(&s, r#"urn:scim:wso2:schema:customAttribute sw "x-k""#).await),
        ["kim"]
    );
    assert_eq!(
        user_names(&filter_names(&s, r#"urn:scim:wso2:schema:customAttribute sw "x""#).await),
        ["kim", "lee"]
    );
    assert_eq!(user_names(&filter_names(&s, r#"not (urn:scim:wso2:schema:devices pr)"#).await), ["plain"]);
    // Projection knows the attribute too.
    let r = s.get(&format!("/Users/{kid}?attributes=urn:scim:wso2:schema:devices")).await;
    assert_eq!(r.body[CUSTOM], json!({"devices": ["d1", "d2"]}));

    // Delete: values exist, so confirmation is needed (409), then they go with it.
    let path = format!("{}/devices", attrs_path(CUSTOM));
    let r = s.admin(Method::DELETE, &path, None).await;
    r.assert_error(409, None);
    assert!(r.detail().contains("2 User(s)") && r.detail().contains("confirm=true"), "{}", r.detail());
    assert_eq!(
        s.get(&format!("/Users/{kid}")).await.body[CUSTOM]["devices"],
        json!(["d1", "d2"]),
        "nothing removed"
    );
    let r = s.admin(Method::DELETE, &format!("{path}?confirm=true"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["valuesRemoved"], 2);
    let schema = served(&s, CUSTOM).await.unwrap();
    assert_eq!(schema["attributes"].as_array().unwrap().len(), 1);
    assert_eq!(s.get(&format!("/Users/{kid}")).await.body[CUSTOM], json!({"customAttribute": "x-kim"}));
    filter_names(&s, r#"urn:scim:wso2:schema:devices eq "d1""#)
        .await
        .assert_error(400, Some("invalidFilter"));
    s.patch(
        &format!("/Users/{kid}"),
        &ops(json!([{"op": "add", "path": "urn:scim:wso2:schema:devices", "value": "d"}])),
    )
    .await
    .assert_error(400, Some("invalidPath"));
    s.post("/Users", &body("late", json!(["d1"]))).await.assert_error(400, Some("invalidValue"));
    // Added again, it starts empty: the old values do not come back.
    add_ok(&s, json!({"name": "devices", "multiValued": true})).await;
    assert!(s.get(&format!("/Users/{kid}")).await.body[CUSTOM].get("devices").is_none());
    // An attribute without values goes without confirmation; an unknown one is 404.
    let r = s.admin(Method::DELETE, &path, None).await;
    assert_eq!((r.status, r.body["valuesRemoved"].clone()), (StatusCode::OK, json!(0)), "{}", r.text);
    s.admin(Method::DELETE, &path, None).await.assert_error(404, None);
}

/// DESIGN.md ("survives a restart"): the definitions are kept in the PRIMARY store; a restart on
/// the same data directory serves them, and the values written under them read back.
#[tokio::test]
async fn definitions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = builder().data_dir(&data).start();
    add_ok(&s, json!({"name": "devices", "multiValued": true, "description": "Devices"})).await;
    add_ok(&s, json!({"name": "badge", "localClaim": "urn:scimd:claims:badgeNumber"})).await;
    let r = s
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "kim", CUSTOM: {"devices": ["d1"], "badge": "B1"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let attributes_before = served(&s, CUSTOM).await.unwrap()["attributes"].clone();
    drop(s);

    let s = builder().data_dir(&data).start();
    assert_eq!(served(&s, CUSTOM).await.unwrap()["attributes"], attributes_before);
    assert_eq!(s.get(&format!("/Users/{id}")).await.body[CUSTOM], json!({"devices": ["d1"], "badge": "B1"}));
    assert_eq!(user_names(&filter_names(&s, r#"urn:scim:wso2:schema:badge eq "b1""#).await), ["kim"]);
    let a = s.admin(Method::GET, &format!("{}/badge", attrs_path(CUSTOM)), None).await;
    assert_eq!(a.body["localClaim"], "urn:scimd:claims:badgeNumber");
}

/// DESIGN.md ("the built-in schemas are fixed"): adding to or deleting from a built-in schema is
/// 400 `mutability`; an unknown schema is 404.
#[tokio::test]
async fn builtin_schemas_cannot_be_changed() {
    let s = start();
    for uri in [USER_SCHEMA, ENTERPRISE, GROUP_SCHEMA] {
        let r = s.admin(Method::POST, &attrs_path(uri), Some(&json!({"name": "extra"}))).await;
        r.assert_error(400, Some("mutability"));
        assert!(r.detail().contains("built in") && r.detail().contains(CUSTOM), "{}", r.detail());
    }
    s.admin(Method::DELETE, &format!("{}/employeeNumber?confirm=true", attrs_path(ENTERPRISE)), None)
        .await
        .assert_error(400, Some("mutability"));
    s.admin(Method::POST, &attrs_path("urn:nope"), Some(&json!({"name": "x"}))).await.assert_error(404, None);
    // Built-in schemas are readable, with the local claim of each attribute.
    let ent = s.admin(Method::GET, &format!("/schemas/{ENTERPRISE}"), None).await;
    let attrs = ent.body["attributes"].as_array().unwrap();
    let manager = attrs.iter().find(|a| a["name"] == "manager").unwrap();
    assert_eq!(manager["subAttributes"][0]["localClaim"], "urn:scimd:claims:manager.value");
    let state = attrs.iter().find(|a| a["name"] == "accountState").unwrap();
    assert_eq!(state["localClaim"], "urn:scimd:claims:accountState");
    assert_eq!(ent.body["builtIn"], true);
}

/// RFC 7643 §2.1 (ATTRNAME, names case-insensitive), §2.3 (types), §2.3.8 and §7: a definition
/// that is not valid is 400 naming the field; nothing is installed.
#[tokio::test]
async fn bad_definitions_are_refused_naming_the_field() {
    let s = start();
    add_ok(&s, json!({"name": "devices", "multiValued": true})).await;
    let cases = [
        (json!({"name": "x", "type": "strin"}), "type:"),
        (json!({"name": "DEVICES"}), "name:"),
        (json!({"name": "2fa"}), "name:"),
        (json!({"name": "a.b"}), "name:"),
        (json!({"name": "x", "subAttributes": [{"name": "y"}]}), "subAttributes:"),
        (json!({"name": "x", "type": "complex"}), "subAttributes:"),
        (
            json!({"name": "x", "type": "complex", "subAttributes": [{"name": "y", "type": "complex", "subAttributes": [{"name": "z"}]}]}),
            "subAttributes[0]",
        ),
        (json!({"name": "x", "mutability": "sometimes"}), "mutability:"),
        (json!({"name": "x", "returned": "later"}), "returned:"),
        (json!({"name": "x", "uniqueness": "total"}), "uniqueness:"),
        (json!({"name": "x", "colour": "red"}), "colour:"),
        (json!({"name": "x", "localClaim": "devices"}), "localClaim:"),
        (json!({"name": "title"}), "localClaim:"),
        (json!({"name": "dev2", "localClaim": "urn:scimd:claims:devices"}), "localClaim:"),
        (json!(["devices"]), "JSON object"),
    ];
    for (def, field) in cases {
        let r = add(&s, def.clone()).await;
        r.assert_error(400, Some("invalidValue"));
        assert!(r.detail().contains(field), "{def}: {}", r.detail());
    }
    let r = s.request(Method::POST, &format!("{}/admin/v1{}", s.root, attrs_path(CUSTOM)), None, &[]).await;
    r.assert_error(400, Some("invalidSyntax"));
    assert_eq!(served(&s, CUSTOM).await.unwrap()["attributes"].as_array().unwrap().len(), 1);
}

/// DESIGN.md (Scale: concurrent admin changes must not lose each other): attributes added at
/// the same time are all kept.
#[tokio::test]
async fn concurrent_additions_are_all_kept() {
    let s = start();
    let adds = (0..12).map(|i| add(&s, json!({"name": format!("attr{i}")})));
    let results = futures_join_all(adds).await;
    for r in &results {
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let schema = served(&s, CUSTOM).await.unwrap();
    let mut names: Vec<String> = schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    let mut want: Vec<String> = (0..12).map(|i| format!("attr{i}")).collect();
    want.sort();
    assert_eq!(names, want);
}

/// Runs the futures at once and waits for all (no extra dependency for join_all).
async fn futures_join_all<F: std::future::Future<Output = Resp>>(futs: impl Iterator<Item = F>) -> Vec<Resp> {
    let mut out = Vec::new();
    let futs: Vec<_> = futs.map(Box::pin).collect();
    let mut pending: Vec<_> = futs.into_iter().map(Some).collect();
    // Poll all of them together.
    std::future::poll_fn(|cx| {
        let mut done = true;
        for slot in pending.iter_mut() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => {
                        out.push(r);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
    out
}

/// RFC 7643 §2.3.8, §3.3; RFC 7644 §3.4.2.2, §3.5.2: complex custom attributes, singular and
/// multi-valued, in payloads, PATCH value paths and filters.
#[tokio::test]
async fn complex_custom_attributes() {
    let s = start();
    add_ok(&s, json!({"name": "badges", "type": "complex", "multiValued": true, "subAttributes": [
        {"name": "value"}, {"name": "type", "canonicalValues": ["door", "gate"]}, {"name": "primary", "type": "boolean"}]}))
    .await;
    add_ok(&s, json!({"name": "card", "type": "complex", "subAttributes": [{"name": "serial", "caseExact": true}, {"name": "floor", "type": "integer"}]}))
    .await;
    let r = s
        .post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": "kim", CUSTOM: {
            "badges": [{"value": "b1", "type": "door", "primary": true}], "card": {"serial": "S-1", "floor": 3}}}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body[CUSTOM]["card"], json!({"serial": "S-1", "floor": 3}));
    s.post(
        "/Users",
        &json!({"schemas": [USER_SCHEMA], "userName": "x", CUSTOM: {"card": {"colour": "red"}}}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    let r = s
        .patch(&format!("/Users/{id}"), &ops(json!([
            {"op": "add", "path": "urn:scim:wso2:schema:badges", "value": {"value": "b2", "type": "gate"}},
            {"op": "replace", "path": "urn:scim:wso2:schema:badges[value eq \"b1\"].type", "value": "gate"},
            {"op": "replace", "path": "urn:scim:wso2:schema:card.floor", "value": 4}
        ])))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body[CUSTOM]["badges"],
        json!([{"value": "b1", "type": "gate", "primary": true}, {"value": "b2", "type": "gate"}])
    );
    assert_eq!(r.body[CUSTOM]["card"]["floor"], 4);
    s.create_user("other").await;
    for (f, want) in [
        (r#"urn:scim:wso2:schema:badges[type eq "gate" and value eq "b2"]"#, vec!["kim"]),
        (r#"urn:scim:wso2:schema:badges.value eq "b1""#, vec!["kim"]),
        (r#"urn:scim:wso2:schema:card.serial eq "S-1""#, vec!["kim"]),
        (r#"urn:scim:wso2:schema:card.serial eq "s-1""#, vec![]),
        (r#"urn:scim:wso2:schema:card.floor gt 3"#, vec!["kim"]),
    ] {
        let r = filter_names(&s, f).await;
        assert_eq!(r.status, StatusCode::OK, "{f}: {}", r.text);
        assert_eq!(user_names(&r), want, "{f}");
    }
    // A singular complex attribute is kept as one claim per sub-attribute (DESIGN.md, Claim
    // URIs); deleting it deletes them all.
    let card = s.admin(Method::GET, &format!("{}/card", attrs_path(CUSTOM)), None).await;
    assert_eq!(card.body["subAttributes"][0]["localClaim"], "urn:scimd:claims:card.serial");
    let path = format!("{}/card", attrs_path(CUSTOM));
    s.admin(Method::DELETE, &path, None).await.assert_error(409, None);
    let r = s.admin(Method::DELETE, &format!("{path}?confirm=true"), None).await;
    assert_eq!((r.status, r.body["usersWithValues"].clone()), (StatusCode::OK, json!(1)), "{}", r.text);
    let u = s.get(&format!("/Users/{id}")).await;
    assert!(u.body[CUSTOM].get("card").is_none() && u.body[CUSTOM].get("badges").is_some(), "{}", u.text);
}

/// RFC 7643 §7: each characteristic an admin gives is served by /Schemas and enforced:
/// required, caseExact, mutability (immutable, readOnly, writeOnly), returned, uniqueness,
/// canonicalValues.
#[tokio::test]
async fn every_characteristic_is_served_and_enforced() {
    let s = start();
    add_ok(
        &s,
        json!({"name": "badgeNo", "description": "Badge number", "caseExact": true, "uniqueness": "server",
        "mutability": "immutable", "returned": "always", "canonicalValues": ["B1", "B2"]}),
    )
    .await;
    add_ok(&s, json!({"name": "pin", "mutability": "writeOnly"})).await;
    add_ok(&s, json!({"name": "score", "type": "integer", "mutability": "readOnly"})).await;
    add_ok(&s, json!({"name": "note", "returned": "request"})).await;
    add_ok(&s, json!({"name": "level", "type": "decimal", "required": true})).await;
    let schema = served(&s, CUSTOM).await.unwrap();
    let badge = &schema["attributes"][0];
    assert_eq!(
        *badge,
        json!({"name": "badgeNo", "type": "string", "multiValued": false, "description": "Badge number",
            "required": false, "canonicalValues": ["B1", "B2"], "caseExact": true, "mutability": "immutable",
            "returned": "always", "uniqueness": "server"})
    );
    assert_eq!(schema["attributes"][1]["returned"], "never");
    let user = |name: &str, ext: Value| json!({"schemas": [USER_SCHEMA], "userName": name, CUSTOM: ext});

    // required
    let r = s.post("/Users", &user("a", json!({"badgeNo": "B1"}))).await;
    r.assert_error(400, Some("invalidValue"));
    assert!(r.detail().contains("urn:scim:wso2:schema:level"), "{}", r.detail());
    // readOnly
    let r = s.post("/Users", &user("a", json!({"level": 1.5, "score": 3}))).await;
    r.assert_error(400, Some("mutability"));
    assert!(r.detail().contains("urn:scim:wso2:schema:score"), "{}", r.detail());
    // writeOnly is kept but never returned; request only when asked
    let r = s
        .post("/Users", &user("a", json!({"level": 1.5, "badgeNo": "B1", "pin": "1234", "note": "n"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body[CUSTOM], json!({"badgeNo": "B1", "level": 1.5}));
    let r = s.get(&format!("/Users/{id}?attributes=urn:scim:wso2:schema:note")).await;
    assert_eq!(r.body[CUSTOM], json!({"badgeNo": "B1", "note": "n"}), "returned always and request");
    // uniqueness (server), caseExact: "b1" is another value
    let r = s.post("/Users", &user("b", json!({"level": 1, "badgeNo": "B1"}))).await;
    r.assert_error(409, Some("uniqueness"));
    assert!(r.detail().contains("urn:scim:wso2:schema:badgeNo"), "{}", r.detail());
    let r = s.post("/Users", &user("b", json!({"level": 1, "badgeNo": "b1"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // immutable: may not change once set; a PUT that keeps it is fine (and not a duplicate of itself)
    let keep = s.put(&format!("/Users/{id}"), &user("a", json!({"level": 2, "badgeNo": "B1"}))).await;
    assert_eq!(keep.status, StatusCode::OK, "{}", keep.text);
    s.put(&format!("/Users/{id}"), &user("a", json!({"level": 2, "badgeNo": "B2"})))
        .await
        .assert_error(400, Some("mutability"));
}

/// DESIGN.md (Interfaces: `scimd` subcommands serve admins): `scimd schema` drives the admin API
/// of a running server.
#[tokio::test]
async fn cli_adds_shows_and_deletes_custom_attributes() {
    let s = start();
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimd"))
            .arg("schema")
            .args(["--url", &s.root])
            .args(args)
            .env("SCIMD_ADMIN_TOKEN", &s.token)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, out, err) = cli(&[
        "add-attribute",
        "badges",
        "--type",
        "complex",
        "--multi-valued",
        "--description",
        "Door badges",
        "--sub-attribute",
        "value",
        "--sub-attribute",
        "floor:integer",
        "--sub-attribute",
        r#"{"name": "kind", "canonicalValues": ["door", "gate"]}"#,
        "--local-claim",
        "urn:scimd:claims:doorBadges",
    ]);
    assert!(ok, "{out} {err}");
    let added: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(added["localClaim"], "urn:scimd:claims:doorBadges");
    assert_eq!(added["subAttributes"][1]["type"], "integer");
    let (ok, out, err) = cli(&[
        "add-attribute",
        "devices",
        "--multi-valued",
        "--case-exact",
        "--uniqueness",
        "server",
        "--mutability",
        "readWrite",
        "--returned",
        "default",
        "--required",
    ]);
    assert!(ok, "{out} {err}");
    let (ok, _, err) = cli(&["add-attribute", "bad", "--type", "strin"]);
    assert!(!ok && err.contains("400") && err.contains("type:"), "{err}");
    let (ok, out, _) = cli(&["show"]);
    assert!(ok);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["id"], CUSTOM);
    assert_eq!(shown["attributes"].as_array().unwrap().len(), 2);
    let (ok, out, _) = cli(&["list"]);
    assert!(ok && out.contains(ENTERPRISE));
    let r = s
        .post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": "kim", CUSTOM: {"devices": ["d1"]}}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (ok, _, err) = cli(&["delete-attribute", "devices"]);
    assert!(!ok && err.contains("409") && err.contains("confirm"), "{err}");
    let (ok, out, err) = cli(&["delete-attribute", "devices", "--confirm"]);
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["valuesRemoved"], 1);
    let (ok, _, err) = cli(&["--token", "wrong", "list"]);
    assert!(!ok && err.contains("401"), "{err}");
}
