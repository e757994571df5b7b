//! Authentication: every SCIM endpoint requires a credential.

use crate::harness::*;
use reqwest::StatusCode;

/// RFC 7644 §2 (authentication and authorization) with RFC 7235 §3.1: a request without a
/// credential gets 401, a WWW-Authenticate challenge and a SCIM error body.
#[tokio::test]
async fn request_without_credential_gets_401_with_challenge_and_scim_error() {
    let s = start();
    for path in ["/Users", "/Groups", "/ServiceProviderConfig", "/Schemas", "/ResourceTypes", "/Users/x"] {
        let r = send(s.raw().get(format!("{}{path}", s.base))).await;
        r.assert_error(401, None);
        let challenges: Vec<_> =
            r.headers.get_all("www-authenticate").iter().map(|v| v.to_str().unwrap()).collect();
        assert!(challenges.iter().any(|c| c.starts_with("Bearer")), "{challenges:?}");
        assert!(challenges.iter().any(|c| c.starts_with("Basic")), "{challenges:?}");
    }
}

#[tokio::test]
async fn wrong_bearer_token_gets_401() {
    let s = start();
    let r = send(s.raw().get(format!("{}/Users", s.base)).bearer_auth("not-the-token")).await;
    r.assert_error(401, None);
    assert!(r.header("www-authenticate").is_some());
}

/// RFC 7617: HTTP Basic with the admin user and the admin token as password.
#[tokio::test]
async fn http_basic_with_admin_user_is_accepted_and_wrong_password_is_not() {
    let s = start();
    let ok = send(s.raw().get(format!("{}/Users", s.base)).basic_auth("admin", Some(&s.token))).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let bad = send(s.raw().get(format!("{}/Users", s.base)).basic_auth("admin", Some("nope"))).await;
    bad.assert_error(401, None);
}

/// A first start without SCIMD_ADMIN_TOKEN prints a generated token once; the next start
/// accepts the same token and does not print it again.
#[tokio::test]
async fn first_start_prints_a_generated_token_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = {
        let s = builder().no_token().data_dir(&data).start();
        assert!(s.token.starts_with("scimd_"), "banner: {:?}", s.banner);
        let r = s.get("/Users").await;
        assert_eq!(r.status, StatusCode::OK);
        s.token.clone()
    };
    let stored = std::fs::read_to_string(data.join("admin-token")).unwrap();
    assert!(!stored.contains(&token), "the token must be stored hashed");
    let mut s = builder().no_token().data_dir(&data).start();
    assert!(s.banner.iter().all(|l| !l.contains(&token)), "printed again: {:?}", s.banner);
    s.token = token;
    assert_eq!(s.get("/Users").await.status, StatusCode::OK);
}
