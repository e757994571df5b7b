//! Queries pushed down to the store: every operator, value paths, `not`, precedence, sorting
//! (RFC 7644 §3.4.2.2, §3.4.2.3) over HTTP against the real binary.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn seed(s: &TestServer) {
    for (name, title, emails, family) in [
        (
            "alice",
            Some("Engineer"),
            json!([{"type": "work", "value": "alice@example.com", "primary": true}]),
            Some("Liddell"),
        ),
        (
            "bob",
            Some("engineer II"),
            json!([{"type": "home", "value": "bob@example.com"}, {"type": "work", "value": "bob@corp.org"}]),
            None,
        ),
        ("carol", None, json!([{"type": "home", "value": "carol@home.net"}]), Some("Danvers")),
        ("dave", Some("Boss"), json!([]), Some("bowman")),
    ] {
        let mut u = json!({"schemas": [USER_SCHEMA], "userName": name, "active": name != "dave"});
        if let Some(t) = title {
            u["title"] = json!(t);
        }
        if emails.as_array().is_some_and(|e| !e.is_empty()) {
            u["emails"] = emails;
        }
        if let Some(f) = family {
            u["name"] = json!({"familyName": f});
        }
        let r = s.post("/Users", &u).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
}

async fn names(s: &TestServer, query: &str) -> Vec<String> {
    let r = s.get(&format!("/Users?{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text);
    let total = r.body["totalResults"].as_u64().unwrap();
    let list: Vec<String> = r.body["Resources"]
        .as_array()
        .map(|a| a.iter().map(|u| u["userName"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    if !query.contains("count=") {
        assert_eq!(total as usize, list.len(), "{query}");
    }
    list
}

async fn filtered(s: &TestServer, filter: &str) -> Vec<String> {
    names(s, &format!("filter={}", urlencode(filter))).await
}

/// RFC 7644 §3.4.2.2, Table 3: every operator, strings without regard to case (title and
/// userName are caseExact false), `pr`, and a missing attribute matching only `ne`.
#[tokio::test]
async fn every_operator_filters_in_the_store() {
    let s = start();
    seed(&s).await;
    let cases: &[(&str, &[&str])] = &[
        ("title eq \"engineer\"", &["alice"]),
        ("title ne \"engineer\"", &["bob", "carol", "dave"]),
        ("title co \"GINEER\"", &["alice", "bob"]),
        ("title sw \"eng\"", &["alice", "bob"]),
        ("title ew \"ss\"", &["dave"]),
        ("userName gt \"bob\"", &["carol", "dave"]),
        ("userName ge \"bob\"", &["bob", "carol", "dave"]),
        ("userName lt \"bob\"", &["alice"]),
        ("userName le \"BOB\"", &["alice", "bob"]),
        ("title pr", &["alice", "bob", "dave"]),
        ("active eq false", &["dave"]),
        ("emails co \"example.com\"", &["alice", "bob"]),
        ("emails.type eq \"work\"", &["alice", "bob"]),
        ("name.familyName sw \"B\"", &["dave"]),
        ("meta.created gt \"2000-01-01T00:00:00+05:00\"", &["alice", "bob", "carol", "dave"]),
    ];
    for (filter, want) in cases {
        assert_eq!(filtered(&s, filter).await, *want, "{filter}");
    }
}

/// RFC 7644 §3.4.2.2: `emails[type eq "work" and value co "@example.com"]` needs one and the
/// same email to satisfy both; bob has a work email and an example.com email, not one both.
#[tokio::test]
async fn a_value_path_matches_one_element_with_both_conditions() {
    let s = start();
    seed(&s).await;
    assert_eq!(filtered(&s, "emails[type eq \"work\" and value co \"@example.com\"]").await, ["alice"]);
    assert_eq!(filtered(&s, "emails[type eq \"home\"]").await, ["bob", "carol"]);
    assert_eq!(filtered(&s, "not (emails[type eq \"home\"])").await, ["alice", "dave"]);
}

/// RFC 7644 §3.4.2.2: "and" binds tighter than "or"; parentheses regroup; `not` negates.
#[tokio::test]
async fn and_binds_tighter_than_or_and_not_negates() {
    let s = start();
    seed(&s).await;
    assert_eq!(
        filtered(&s, "userName eq \"dave\" or userName eq \"alice\" and title pr").await,
        ["alice", "dave"]
    );
    assert_eq!(
        filtered(&s, "(userName eq \"carol\" or userName eq \"alice\") and title pr").await,
        ["alice"]
    );
    assert_eq!(filtered(&s, "not (title pr) or active eq false").await, ["carol", "dave"]);
}

/// RFC 7644 §3.4.2.3: sorted by the attribute without regard to case, no value last when
/// ascending and first when descending; a multi-valued attribute by its primary (else first)
/// value.
#[tokio::test]
async fn sort_by_orders_with_missing_values_last_ascending_first_descending() {
    let s = start();
    seed(&s).await;
    assert_eq!(names(&s, "sortBy=title").await, ["dave", "alice", "bob", "carol"]);
    assert_eq!(names(&s, "sortBy=title&sortOrder=descending").await, ["carol", "bob", "alice", "dave"]);
    assert_eq!(names(&s, "sortBy=name.familyName").await, ["dave", "carol", "alice", "bob"]);
    assert_eq!(names(&s, "sortBy=emails&sortOrder=ascending").await, ["alice", "bob", "carol", "dave"]);
    assert_eq!(
        names(&s, "sortBy=userName&sortOrder=descending&count=2&startIndex=2").await,
        ["carol", "bob"]
    );
    assert_eq!(
        names(&s, &format!("sortBy=title&filter={}", urlencode("title pr"))).await,
        ["dave", "alice", "bob"]
    );
    let r = s.get("/Users?sortBy=nope").await;
    r.assert_error(400, Some("invalidValue"));
    let r = s.get("/Users?sortBy=userName&sortOrder=sideways").await;
    r.assert_error(400, Some("invalidValue"));
}

/// RFC 7644 §3.4.2.2 and §3.12: a bad filter is 400 invalidFilter, and the detail says where.
#[tokio::test]
async fn a_bad_filter_is_invalid_filter_with_its_position() {
    let s = start();
    let r = s.get(&format!("/Users?filter={}", urlencode("userName eq \"a\" and (title pr"))).await;
    r.assert_error(400, Some("invalidFilter"));
    assert!(r.detail().contains(".."), "{}", r.detail());
    let r = s.get(&format!("/Users?filter={}", urlencode("nosuch eq \"a\""))).await;
    r.assert_error(400, Some("invalidFilter"));
    assert!(r.detail().contains("0..6"), "{}", r.detail());
}

/// RFC 7643 §4.2: groups are filtered by member (as Okta and Entra ID do), in the store.
#[tokio::test]
async fn groups_filter_by_member_value() {
    let s = start();
    let u = s.create_user("kim").await;
    let id = u["id"].as_str().unwrap();
    s.create_group("with", &[id]).await;
    s.create_group("without", &[]).await;
    let r = s.get(&format!("/Groups?filter={}", urlencode(&format!("members[value eq \"{id}\"]")))).await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.text);
    assert_eq!(r.body["Resources"][0]["displayName"], "with");
    let r = s.get(&format!("/Groups?filter={}", urlencode(&format!("members.value eq \"{id}\"")))).await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.text);
    let r = s.get(&format!("/Groups?filter={}", urlencode("not (members pr)"))).await;
    assert_eq!(r.body["Resources"][0]["displayName"], Value::from("without"), "{}", r.text);
}
