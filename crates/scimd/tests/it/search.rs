//! POST `.search` (RFC 7644 §3.4.3) and cursor paging (RFC 9865) over HTTP against the real
//! binary.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;

const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

fn ids(body: &Value) -> Vec<String> {
    body["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

/// RFC 7644 §3.4.3: "the same semantics" as a GET list: a SearchRequest with filter, sort,
/// paging and projection answers what the query string does.
#[tokio::test]
async fn search_equals_get_for_the_same_parameters() {
    let s = start();
    for name in ["dora", "alice", "carol", "bob", "erin"] {
        s.create_user(name).await;
    }
    let get = s
        .get(&format!(
            "/Users?filter={}&sortBy=userName&sortOrder=descending&startIndex=2&count=2&attributes=userName",
            urlencode("userName ne \"erin\"")
        ))
        .await;
    assert_eq!(get.status, StatusCode::OK, "{}", get.text);
    let post = s
        .post(
            "/Users/.search",
            &json!({
                "schemas": [SEARCH],
                "filter": "userName ne \"erin\"",
                "sortBy": "userName",
                "sortOrder": "descending",
                "startIndex": 2,
                "count": 2,
                "attributes": ["userName"],
            }),
        )
        .await;
    assert_eq!(post.status, StatusCode::OK, "{}", post.text);
    assert_eq!(post.body, get.body);
    assert_eq!(post.body["totalResults"], 4);
    let names: Vec<&str> =
        post.body["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap()).collect();
    assert_eq!(names, ["carol", "bob"]);
    assert!(post.body["Resources"][0].get("meta").is_none(), "{}", post.text);

    // excludedAttributes as an array, on /Groups/.search too.
    s.create_group("admins", &[]).await;
    let post = s
        .post("/Groups/.search", &json!({"schemas": [SEARCH], "excludedAttributes": ["members", "meta"]}))
        .await;
    assert_eq!(post.status, StatusCode::OK, "{}", post.text);
    assert_eq!(post.body["totalResults"], 1);
    assert!(post.body["Resources"][0].get("meta").is_none(), "{}", post.text);
}

/// RFC 7644 §3.4.3: a search at the root covers every resource type; a filter attribute that
/// one type lacks makes that type contribute nothing, one that none has is `invalidFilter`.
#[tokio::test]
async fn root_search_returns_users_and_groups() {
    let s = start();
    let alice = s.create_user("alice").await;
    s.create_user("bob").await;
    s.create_group("alice-team", &[alice["id"].as_str().unwrap()]).await;

    let all = s.post("/.search", &json!({"schemas": [SEARCH]})).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.body["totalResults"], 3);
    let types: Vec<&str> = all.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["User", "User", "Group"], "Users, then Groups");

    // Paging runs over the concatenation.
    let page = s.post("/.search", &json!({"schemas": [SEARCH], "startIndex": 2, "count": 2})).await;
    assert_eq!(page.body["totalResults"], 3);
    assert_eq!(page.body["Resources"][0]["userName"], "bob");
    assert_eq!(page.body["Resources"][1]["displayName"], "alice-team");

    // userName is a User attribute only: the Groups contribute nothing.
    let users = s.post("/.search", &json!({"schemas": [SEARCH], "filter": "userName sw \"a\""})).await;
    assert_eq!(users.status, StatusCode::OK, "{}", users.text);
    assert_eq!(users.body["totalResults"], 1);
    assert_eq!(users.body["Resources"][0]["userName"], "alice");

    // displayName exists in both.
    let both = s.post("/.search", &json!({"schemas": [SEARCH], "filter": "displayName pr"})).await;
    assert_eq!(both.body["totalResults"], 1, "{}", both.text);

    let none = s.post("/.search", &json!({"schemas": [SEARCH], "filter": "nickName2 eq \"x\""})).await;
    none.assert_error(400, Some("invalidFilter"));
}

/// A cursor walk (RFC 9865 §2) from `path`: pages of `count`, with `between` run after each
/// page; returns the ids seen, in order.
async fn walk(s: &TestServer, count: u64, mut between: impl AsyncFnMut(usize)) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for page in 0.. {
        let r = s.get(&format!("/Users?count={count}&cursor={}", urlencode(&cursor))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(r.body.get("startIndex").is_none(), "{}", r.text);
        assert!(ids(&r.body).len() as u64 <= count);
        seen.extend(ids(&r.body));
        match r.body.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
        between(page).await;
        assert!(page < 100, "the walk does not end");
    }
    seen
}

/// RFC 9865 §2: a cursor walk visits every resource that exists throughout exactly once, even
/// while resources are created and deleted between pages; those created during the walk may
/// or may not appear, and none appears twice.
#[tokio::test]
async fn cursor_walk_visits_each_user_once_during_writes() {
    let s = start();
    let mut original = Vec::new();
    for i in 0..10 {
        original.push(s.create_user(&format!("user{i:02}")).await["id"].as_str().unwrap().to_owned());
    }
    // Undisturbed: every user, in creation order, nextCursor absent on the last page.
    let seen = walk(&s, 3, async |_| {}).await;
    assert_eq!(seen, original);

    // Between pages: delete a user not yet seen (the last original), delete one already seen,
    // create a new one.
    let mut deleted = HashSet::new();
    let mut created = HashSet::new();
    let originals = original.clone();
    let seen = walk(&s, 3, async |page| {
        if page == 0 {
            assert_eq!(s.delete(&format!("/Users/{}", originals[9])).await.status, StatusCode::NO_CONTENT);
            deleted.insert(originals[9].clone());
        }
        if page == 1 {
            assert_eq!(s.delete(&format!("/Users/{}", originals[0])).await.status, StatusCode::NO_CONTENT);
            deleted.insert(originals[0].clone());
        }
        created.insert(s.create_user(&format!("new{page}")).await["id"].as_str().unwrap().to_owned());
    })
    .await;
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no resource twice: {seen:?}");
    for id in &original[1..9] {
        assert!(seen.contains(id), "{id} was skipped: {seen:?}");
    }
    assert!(!seen.contains(&original[9]), "deleted before it was reached");
    assert!(seen.iter().all(|id| original.contains(id) || created.contains(id)));
    assert_eq!(deleted.len(), 2);

    // The same walk with a filter (a SQL keyset page rather than the in-memory order).
    let filtered = s
        .post(
            "/Users/.search",
            &json!({"schemas": [SEARCH], "filter": "userName sw \"user\"", "cursor": "", "count": 5}),
        )
        .await;
    assert_eq!(filtered.status, StatusCode::OK, "{}", filtered.text);
    assert_eq!(filtered.body["totalResults"], 8);
    let next = filtered.body["nextCursor"].as_str().unwrap();
    let rest = s
        .post(
            "/Users/.search",
            &json!({"schemas": [SEARCH], "filter": "userName sw \"user\"", "cursor": next, "count": 5}),
        )
        .await;
    assert_eq!(rest.status, StatusCode::OK, "{}", rest.text);
    assert!(rest.body.get("nextCursor").is_none(), "{}", rest.text);
    let mut both = ids(&filtered.body);
    both.extend(ids(&rest.body));
    assert_eq!(both, original[1..9]);
}

/// RFC 9865 §2: a root walk covers Users, then Groups, across the boundary.
#[tokio::test]
async fn root_cursor_walk_crosses_from_users_to_groups() {
    let s = start();
    for i in 0..3 {
        s.create_user(&format!("u{i}")).await;
        s.create_group(&format!("g{i}"), &[]).await;
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = s.post("/.search", &json!({"schemas": [SEARCH], "cursor": cursor, "count": 2})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["totalResults"], 6);
        seen.extend(
            r.body["Resources"].as_array().unwrap().iter().map(|r| r["meta"]["resourceType"].clone()),
        );
        match r.body.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, ["User", "User", "User", "Group", "Group", "Group"]);
}

/// RFC 9865 §2.3: a cursor that was edited, or that belongs to another query, is
/// `invalidCursor`; startIndex with a cursor is refused.
#[tokio::test]
async fn tampered_cursor_is_invalid_cursor() {
    let s = start();
    for i in 0..4 {
        s.create_user(&format!("u{i}")).await;
    }
    let r = s.get("/Users?count=2&cursor=").await;
    let next = r.body["nextCursor"].as_str().unwrap().to_owned();

    let mut tampered = next.clone().into_bytes();
    let at = tampered.len() / 2;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    s.get(&format!("/Users?count=2&cursor={}", urlencode(&tampered)))
        .await
        .assert_error(400, Some("invalidCursor"));
    s.get("/Users?count=2&cursor=garbage!").await.assert_error(400, Some("invalidCursor"));
    // The same cursor for another query (a filter) or another resource type.
    s.get(&format!("/Users?count=2&cursor={}&filter={}", urlencode(&next), urlencode("userName pr")))
        .await
        .assert_error(400, Some("invalidCursor"));
    s.get(&format!("/Groups?count=2&cursor={}", urlencode(&next)))
        .await
        .assert_error(400, Some("invalidCursor"));
    // Untouched, it still works.
    let ok = s.get(&format!("/Users?count=2&cursor={}", urlencode(&next))).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["Resources"].as_array().unwrap().len(), 2);

    s.get(&format!("/Users?startIndex=1&cursor={}", urlencode(&next)))
        .await
        .assert_error(400, Some("invalidValue"));
    // A cursor of a sorted walk is valid for that sort only.
    let sorted = s.get("/Users?cursor=&count=1&sortBy=userName").await;
    let next = sorted.body["nextCursor"].as_str().unwrap();
    s.get(&format!("/Users?count=1&sortBy=userName&sortOrder=descending&cursor={}", urlencode(next)))
        .await
        .assert_error(400, Some("invalidCursor"));
}

/// RFC 9865 with RFC 7644 §3.4.2.3: a cursor walk of a sorted query follows the sort (no
/// value last ascending, first descending) and equals the sorted listing, even when a resource
/// is created between pages.
#[tokio::test]
async fn sorted_cursor_walk_follows_the_sort() {
    let s = start();
    for (name, nick) in
        [("u1", Some("b")), ("u2", None), ("u3", Some("A")), ("u4", Some("c")), ("u5", Some("a"))]
    {
        let mut u = json!({"schemas": [USER_SCHEMA], "userName": name});
        if let Some(n) = nick {
            u["nickName"] = json!(n);
        }
        assert_eq!(s.post("/Users", &u).await.status, StatusCode::CREATED);
    }
    for order in ["ascending", "descending"] {
        let listed = s.get(&format!("/Users?sortBy=nickName&sortOrder={order}")).await;
        let expected: Vec<Value> =
            listed.body["Resources"].as_array().unwrap().iter().map(|r| r["userName"].clone()).collect();
        let mut seen = Vec::new();
        let mut cursor = String::new();
        loop {
            let r = s
                .post(
                    "/Users/.search",
                    &json!({"schemas": [SEARCH], "sortBy": "nickName", "sortOrder": order, "count": 2, "cursor": cursor}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            seen.extend(r.body["Resources"].as_array().unwrap().iter().map(|r| r["userName"].clone()));
            match r.body.get("nextCursor").and_then(Value::as_str) {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        assert_eq!(seen, expected, "{order}");
        let names: Vec<&str> = seen.iter().map(|v| v.as_str().unwrap()).collect();
        if order == "ascending" {
            // Case-insensitive; ties (A, a) in creation order; no value last.
            assert_eq!(names, ["u3", "u5", "u1", "u4", "u2"]);
        } else {
            assert_eq!(names, ["u2", "u4", "u1", "u3", "u5"]);
        }
    }

    // A user created during the walk, sorting after the position reached, is seen once; the
    // others are each seen once.
    let first = s
        .post("/Users/.search", &json!({"schemas": [SEARCH], "sortBy": "nickName", "count": 2, "cursor": ""}))
        .await;
    assert_eq!(
        s.post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": "u6", "nickName": "bb"})).await.status,
        StatusCode::CREATED
    );
    let mut seen: Vec<String> = first.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap().to_owned())
        .collect();
    let mut cursor = first.body["nextCursor"].as_str().unwrap().to_owned();
    loop {
        let r = s
            .post(
                "/Users/.search",
                &json!({"schemas": [SEARCH], "sortBy": "nickName", "count": 2, "cursor": cursor}),
            )
            .await;
        seen.extend(
            r.body["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["userName"].as_str().unwrap().to_owned()),
        );
        match r.body.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, ["u3", "u5", "u1", "u6", "u4", "u2"]);
}

/// One cursor page by POST `path`: `body` with `cursor`; asserts 200.
async fn cursor_page(s: &TestServer, path: &str, body: &Value, cursor: &str) -> Value {
    let mut body = body.clone();
    body["schemas"] = json!([SEARCH]);
    body["cursor"] = json!(cursor);
    let r = s.post(path, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

fn cursor_of<'a>(page: &'a Value, name: &str) -> Option<&'a str> {
    page.get(name).and_then(Value::as_str)
}

/// A forward walk (RFC 9865 §2): each page, from an empty cursor through each nextCursor.
async fn forward_pages(s: &TestServer, path: &str, body: &Value) -> Vec<Value> {
    let mut pages = vec![cursor_page(s, path, body, "").await];
    while let Some(next) = pages.last().and_then(|p| cursor_of(p, "nextCursor")).map(str::to_owned) {
        pages.push(cursor_page(s, path, body, &next).await);
        assert!(pages.len() < 100, "the walk does not end");
    }
    pages
}

/// RFC 9865 §2.2: a walk forward, then back by previousCursor from the last page, visits the
/// same pages; previousCursor is absent on the first page (and only there); a page's
/// previousCursor, then that page's nextCursor, comes back to the same page; a previousCursor
/// request returns as many as its own `count` asks. In creation order, sorted (no value last
/// ascending, first descending; ties in creation order), with a filter the store answers, and
/// with one evaluated in memory (on `groups`).
#[tokio::test]
async fn previous_cursor_walks_back_over_the_pages_of_a_forward_walk() {
    let s = start();
    let mut team = Vec::new();
    for (i, nick) in
        [Some("b"), None, Some("a"), Some("B"), None, Some("c"), Some("a"), Some("d"), None, Some("e")]
            .into_iter()
            .enumerate()
    {
        let mut u = json!({"schemas": [USER_SCHEMA], "userName": format!("u{i}")});
        if let Some(n) = nick {
            u["nickName"] = json!(n);
        }
        let r = s.post("/Users", &u).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        if i != 3 && i != 6 {
            team.push(r.body["id"].as_str().unwrap().to_owned());
        }
    }
    let members: Vec<&str> = team.iter().map(String::as_str).collect();
    s.create_group("team", &members).await;
    let queries = [
        json!({"count": 3}),
        json!({"count": 3, "sortBy": "nickName"}),
        json!({"count": 3, "sortBy": "nickName", "sortOrder": "descending"}),
        json!({"count": 3, "filter": "userName ne \"u4\""}),
        json!({"count": 3, "filter": "groups.display eq \"team\""}),
    ];
    for q in &queries {
        let forward = forward_pages(&s, "/Users/.search", q).await;
        assert!(forward.len() >= 3, "{q}: {forward:?}");
        assert!(cursor_of(&forward[0], "previousCursor").is_none(), "{q}: none on the first page");
        // Back from the last page, one previousCursor after another.
        let mut back = Vec::new();
        let mut page = forward.last().unwrap().clone();
        while let Some(previous) = cursor_of(&page, "previousCursor").map(str::to_owned) {
            page = cursor_page(&s, "/Users/.search", q, &previous).await;
            assert_eq!(page["totalResults"], forward[0]["totalResults"], "{q}");
            back.push(ids(&page));
            assert!(back.len() < 100, "the backward walk does not end");
        }
        back.reverse();
        let expected: Vec<Vec<String>> = forward[..forward.len() - 1].iter().map(ids).collect();
        assert_eq!(back, expected, "{q}");
        // previousCursor, then nextCursor: the same page again.
        for k in 1..forward.len() {
            let previous = cursor_of(&forward[k], "previousCursor").unwrap();
            let before = cursor_page(&s, "/Users/.search", q, previous).await;
            assert_eq!(ids(&before), ids(&forward[k - 1]), "{q}, page {k}");
            assert_eq!(cursor_of(&before, "previousCursor").is_some(), k > 1, "{q}, page {k}");
            let again = cursor_page(&s, "/Users/.search", q, cursor_of(&before, "nextCursor").unwrap()).await;
            assert_eq!(ids(&again), ids(&forward[k]), "{q}, page {k}");
        }
        // The count of the previousCursor request, not of the page it came from.
        let last = forward.last().unwrap();
        let all: Vec<String> = forward.iter().flat_map(ids).collect();
        let mut five = q.clone();
        five["count"] = json!(5);
        let before =
            cursor_page(&s, "/Users/.search", &five, cursor_of(last, "previousCursor").unwrap()).await;
        let end = all.len() - ids(last).len();
        assert_eq!(ids(&before), all[end - 5..end], "{q}");
        assert_eq!(before["itemsPerPage"], 5);
    }
}

/// RFC 9865 §2.2 at the root (RFC 7644 §3.4.3): previousCursor goes back from the Groups into
/// the Users, over the concatenation a forward walk pages through.
#[tokio::test]
async fn root_previous_cursor_crosses_from_groups_back_into_users() {
    let s = start();
    for i in 0..3 {
        s.create_user(&format!("u{i}")).await;
    }
    for i in 0..3 {
        s.create_group(&format!("g{i}"), &[]).await;
    }
    let q = json!({"count": 2});
    let forward = forward_pages(&s, "/.search", &q).await;
    let kinds = |page: &Value| -> Vec<String> {
        page["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["meta"]["resourceType"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        forward.iter().map(kinds).collect::<Vec<_>>(),
        [["User", "User"], ["User", "Group"], ["Group", "Group"]]
    );
    let middle = cursor_page(&s, "/.search", &q, cursor_of(&forward[2], "previousCursor").unwrap()).await;
    assert_eq!(ids(&middle), ids(&forward[1]), "from the Groups back into the Users");
    assert_eq!(middle["totalResults"], 6);
    let first = cursor_page(&s, "/.search", &q, cursor_of(&middle, "previousCursor").unwrap()).await;
    assert_eq!(ids(&first), ids(&forward[0]));
    assert!(cursor_of(&first, "previousCursor").is_none(), "back at the start: {first}");
    // Three back from the first Group left on the last page: two Users, then a Group.
    let three =
        cursor_page(&s, "/.search", &json!({"count": 3}), cursor_of(&forward[2], "previousCursor").unwrap())
            .await;
    assert_eq!(kinds(&three), ["User", "User", "Group"]);
    assert!(cursor_of(&three, "previousCursor").is_some(), "u0 comes before");
}

/// The payload of a cursor edited by `edit`, with its digest made again: what only the server
/// could issue (the digest shows edits; it is not a secret).
fn reissued(cursor: &str, edit: impl FnOnce(&mut Value)) -> String {
    use base64ct::{Base64UrlUnpadded, Encoding as _};
    use blake2::Digest as _;
    let raw = String::from_utf8(Base64UrlUnpadded::decode_vec(cursor).unwrap()).unwrap();
    let (payload, _) = raw.rsplit_once('.').unwrap();
    let mut v: Value = serde_json::from_str(payload).unwrap();
    edit(&mut v);
    let payload = v.to_string();
    let mut h = blake2::Blake2b::<blake2::digest::consts::U16>::new();
    for part in ["scimd cursor", &payload] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let check: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Base64UrlUnpadded::encode_string(format!("{payload}.{check}").as_bytes())
}

/// RFC 9865 §2.3: an edited previousCursor, or one of another query, is `invalidCursor`; one
/// older than `cursorTimeout` is `expiredCursor`.
#[tokio::test]
async fn tampered_or_expired_previous_cursor_is_refused() {
    let s = start();
    for i in 0..6 {
        s.create_user(&format!("u{i}")).await;
    }
    let q = json!({"count": 2});
    let first = cursor_page(&s, "/Users/.search", &q, "").await;
    let second = cursor_page(&s, "/Users/.search", &q, cursor_of(&first, "nextCursor").unwrap()).await;
    let previous = cursor_of(&second, "previousCursor").unwrap().to_owned();
    let ok = cursor_page(&s, "/Users/.search", &q, &previous).await;
    assert_eq!(ids(&ok), ids(&first), "untouched, it works");

    let mut tampered = previous.clone().into_bytes();
    let at = tampered.len() / 2;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let search = |cursor: &str, extra: Value| {
        let mut body = json!({"schemas": [SEARCH], "count": 2, "cursor": cursor});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    s.post("/Users/.search", &search(&tampered, json!({}))).await.assert_error(400, Some("invalidCursor"));
    s.post("/Users/.search", &search(&previous, json!({"sortBy": "userName"})))
        .await
        .assert_error(400, Some("invalidCursor"));
    let expired = reissued(&previous, |v| v["t"] = json!(v["t"].as_i64().unwrap() - 2 * 3600));
    s.post("/Users/.search", &search(&expired, json!({}))).await.assert_error(400, Some("expiredCursor"));
    let sideways = reissued(&previous, |v| v["d"] = json!("x"));
    s.post("/Users/.search", &search(&sideways, json!({}))).await.assert_error(400, Some("invalidCursor"));
    // The same cursor, reissued as it was: accepted (the check above is the edit, not the copy).
    let same = reissued(&previous, |_| {});
    assert_eq!(ids(&cursor_page(&s, "/Users/.search", &q, &same).await), ids(&first));
}

/// RFC 9865 §4: ServiceProviderConfig announces both pagination methods and the cursor
/// timeout.
#[tokio::test]
async fn service_provider_config_announces_pagination() {
    let s = start();
    let r = s.get("/ServiceProviderConfig").await;
    assert_eq!(r.status, StatusCode::OK);
    let p = &r.body["pagination"];
    assert_eq!(p["cursor"], true, "{}", r.text);
    assert_eq!(p["index"], true);
    assert_eq!(p["defaultPaginationMethod"], "index");
    assert!(p["defaultPageSize"].as_u64().unwrap() >= 1);
    assert_eq!(p["maxPageSize"], r.body["filter"]["maxResults"]);
    assert!(p["cursorTimeout"].as_u64().unwrap() > 0);
}

/// RFC 7644 §3.4.3: the body is a SearchRequest; a wrong schema or a mistyped parameter is 400.
#[tokio::test]
async fn search_request_body_is_checked() {
    let s = start();
    s.post("/Users/.search", &json!({"schemas": ["urn:x"]})).await.assert_error(400, Some("invalidSyntax"));
    s.post("/Users/.search", &json!({"schemas": [SEARCH], "count": "ten"}))
        .await
        .assert_error(400, Some("invalidValue"));
    s.post("/Users/.search", &json!({"schemas": [SEARCH], "attributes": "userName,bogus"}))
        .await
        .assert_error(400, Some("invalidValue"));
    let r = s.get("/Users/.search").await;
    assert_eq!(r.status.as_u16(), 405, "{}", r.text);
}
