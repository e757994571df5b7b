//! A PostgreSQL on the same host reached over its Unix socket (`host=` a directory), as
//! docs/domains.md shows: the store works there as it does over TCP, writes and reads and the
//! lookups on the shared connections alike.

use scimd_claims::claims::USER_NAME;
use scimd_store::{ResourceKind, UserStore};
use scimd_store_pg::PgStore;
use scimd_store_testkit::fixtures::{eq, new_user, users};

use super::server::{new_schema, url_with_schema};

/// The URL of the test database over its Unix socket (`scripts/pg-server start` exports it).
fn socket_url() -> String {
    std::env::var("SCIMD_TEST_PG_SOCKET_URL").unwrap_or_else(|_| {
        panic!(
            "SCIMD_TEST_PG_SOCKET_URL is unset: run scripts/test, which starts a throwaway \
             PostgreSQL (or eval \"$(scripts/pg-server start)\" first)"
        )
    })
}

#[tokio::test]
async fn a_store_reached_over_the_unix_socket_reads_back_what_it_wrote() {
    let url = socket_url();
    let config: tokio_postgres::Config = url.parse().unwrap();
    assert!(
        matches!(config.get_hosts(), [tokio_postgres::config::Host::Unix(_)]),
        "the socket URL must name a socket directory: {:?}",
        config.get_hosts()
    );
    // Eight connections: two of them shared by lookups, the rest pooled.
    let store = PgStore::connect(&url_with_schema(&url, &new_schema().await), 8).await.unwrap();
    store.create(new_user("u1", "kim")).await.unwrap();
    let got = store.get(ResourceKind::User, "u1", false).await.unwrap().expect("u1 reads back");
    assert_eq!(got.id, "u1");
    let page = store.query(&users(eq(USER_NAME, "KIM"))).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["u1"]);
}

#[tokio::test]
async fn a_socket_directory_with_no_server_is_unavailable() {
    let empty = std::env::temp_dir().join(format!("scimd-no-pg-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let url = format!("postgres://postgres@/scimd?host={}&port=5999&connect_timeout=5", empty.display());
    let err = PgStore::connect(&url, 1).await.unwrap_err();
    std::fs::remove_dir_all(&empty).unwrap();
    assert!(matches!(err, scimd_store::StoreError::Unavailable(_)), "{err:?}");
}
