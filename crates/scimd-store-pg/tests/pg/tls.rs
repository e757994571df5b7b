//! TLS to PostgreSQL (`sslmode` in the URL, the domain's `ca_file`): the throwaway server
//! offers TLS with a certificate of a throwaway CA (`scripts/pg-server`), and plain
//! connections too. A TLS connection always checks the server's certificate.

use std::path::PathBuf;

use scimd_claims::claims::USER_NAME;
use scimd_store::{ResourceKind, StoreError, UserStore};
use scimd_store_pg::PgStore;
use scimd_store_testkit::fixtures::{eq, new_user, users};

use super::server::{admin_client, base_url, new_schema, url_with_schema};

/// The CA of the test server's certificate.
fn ca_file() -> PathBuf {
    PathBuf::from(std::env::var("SCIMD_TEST_PG_CA_FILE").unwrap_or_else(|_| {
        panic!(
            "SCIMD_TEST_PG_CA_FILE is unset: run scripts/test, which starts a throwaway \
             PostgreSQL (or eval \"$(scripts/pg-server start)\" first)"
        )
    }))
}

/// The test server's URL with `sslmode` replaced (`None`: left out, the default) and an
/// application name of its own, so that its connections can be told apart.
fn url(sslmode: Option<&str>, application: &str) -> String {
    let (address, query) = base_url().split_once('?').map(|(a, q)| (a.to_owned(), q.to_owned())).unwrap();
    let mut params: Vec<String> =
        query.split('&').filter(|p| !p.starts_with("sslmode=")).map(str::to_owned).collect();
    params.extend(sslmode.map(|mode| format!("sslmode={mode}")));
    params.push(format!("application_name={application}"));
    format!("{address}?{}", params.join("&"))
}

/// Whether the server's connections of `application` are all TLS, and how many there are.
async fn sessions(application: &str) -> (i64, bool) {
    let row = admin_client()
        .await
        .query_one(
            "SELECT count(*), coalesce(bool_and(s.ssl), false) FROM pg_stat_activity AS a \
             JOIN pg_stat_ssl AS s USING (pid) WHERE a.application_name = $1",
            &[&application],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

async fn writes_and_reads_back(store: &PgStore) {
    store.create(new_user("u1", "kim")).await.unwrap();
    assert!(store.get(ResourceKind::User, "u1", false).await.unwrap().is_some());
    // A lookup: on the connections that point reads share.
    assert_eq!(store.query(&users(eq(USER_NAME, "kim"))).await.unwrap().total, 1);
}

#[tokio::test]
async fn sslmode_require_with_the_servers_ca_runs_every_connection_over_tls() {
    let application = format!("scimd-tls-require-{}", std::process::id());
    let url = url_with_schema(&url(Some("require"), &application), &new_schema().await);
    let store = PgStore::connect_with(&url, 8, Some(&ca_file())).await.unwrap();
    writes_and_reads_back(&store).await;
    let (count, all_tls) = sessions(&application).await;
    assert!(count >= 2, "the pool's and a shared reader's connections: {count}");
    assert!(all_tls, "every connection of the store uses TLS");
}

#[tokio::test]
async fn without_sslmode_tls_is_used_when_the_server_offers_it() {
    // libpq's default, `prefer`: this server offers TLS, so the connections use it.
    let application = format!("scimd-tls-prefer-{}", std::process::id());
    let url = url_with_schema(&url(None, &application), &new_schema().await);
    let store = PgStore::connect_with(&url, 4, Some(&ca_file())).await.unwrap();
    writes_and_reads_back(&store).await;
    let (count, all_tls) = sessions(&application).await;
    assert!(count >= 1 && all_tls, "{count} connections, all TLS: {all_tls}");
}

#[tokio::test]
async fn a_certificate_no_trusted_ca_signed_is_refused_with_what_to_do() {
    // The system's CAs did not sign the throwaway server's certificate: no TLS session
    // anyone in the middle could have made is accepted, whatever the mode.
    for mode in [Some("require"), None] {
        let url = url_with_schema(&url(mode, "scimd-tls-untrusted"), &new_schema().await);
        let err = PgStore::connect_with(&url, 1, None).await.unwrap_err();
        let StoreError::Unavailable(message) = &err else { panic!("{mode:?}: {err:?}") };
        assert!(message.contains("certificate") && message.contains("ca_file"), "{mode:?}: {message}");
    }
}

#[tokio::test]
async fn a_ca_file_that_cannot_be_read_is_refused_naming_it() {
    let missing = std::env::temp_dir().join(format!("scimd-no-ca-{}.pem", std::process::id()));
    let err = PgStore::connect_with(&url(Some("require"), "scimd-tls-missing"), 1, Some(&missing))
        .await
        .unwrap_err();
    let StoreError::Rejected(message) = &err else { panic!("{err:?}") };
    assert!(message.contains(&missing.display().to_string()), "{message}");
}

#[tokio::test]
async fn sslmode_disable_connects_without_tls() {
    let application = format!("scimd-tls-disable-{}", std::process::id());
    let url = url_with_schema(&url(Some("disable"), &application), &new_schema().await);
    let store = PgStore::connect_with(&url, 2, None).await.unwrap();
    writes_and_reads_back(&store).await;
    let (count, all_tls) = sessions(&application).await;
    assert!(count >= 1 && !all_tls, "{count} connections, TLS: {all_tls}");
}
