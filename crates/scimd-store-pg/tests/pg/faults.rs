//! Faults: a server that cannot be reached, and connections cut under the store, are
//! `StoreError::Unavailable` (never a panic, never a hang), and the store recovers when the
//! server is back. Cuts are made by a TCP proxy in front of the real server.

use std::sync::{Arc, Mutex};

use scimd_store::{ResourceKind, StoreError, UserStore};
use scimd_store_pg::PgStore;
use scimd_store_testkit::fixtures::new_user;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use super::lookups::lookup;
use super::server::{base_url, new_schema, url_with_schema};

#[tokio::test]
async fn a_server_that_cannot_be_reached_is_unavailable() {
    // A port nothing listens on: bound, then released.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let url = format!("postgres://scimd:secret@127.0.0.1:{port}/scimd?connect_timeout=5");
    let err = PgStore::connect(&url, 1).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

/// A TCP proxy to the test server that can cut every connection and stop listening.
struct Proxy {
    port: u16,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    /// Listens on `port` (0: any) and forwards to the test server.
    async fn start(port: u16) -> Proxy {
        let config: tokio_postgres::Config = base_url().parse().unwrap();
        let host = match &config.get_hosts()[0] {
            tokio_postgres::config::Host::Tcp(host) => host.clone(),
            other => panic!("the test server must listen on TCP, not {other:?}"),
        };
        let target = format!("{host}:{}", config.get_ports()[0]);
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tasks: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let accepted = Arc::clone(&tasks);
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let forward = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                accepted.lock().unwrap().push(forward.abort_handle());
            }
        });
        tasks.lock().unwrap().push(accept.abort_handle());
        Proxy { port, tasks }
    }

    /// Stops listening and cuts every connection.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// The URL of the test server through the proxy, on `schema`.
    fn url(&self, schema: &str) -> String {
        let config: tokio_postgres::Config = base_url().parse().unwrap();
        let tokio_postgres::config::Host::Tcp(host) = &config.get_hosts()[0] else { unreachable!() };
        let direct = format!("{host}:{}", config.get_ports()[0]);
        let url = base_url().replacen(&direct, &format!("127.0.0.1:{}", self.port), 1);
        url_with_schema(&url, schema)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_cut_under_the_store_are_unavailable_and_the_store_recovers() {
    // Two connections: all in the pool. Eight: two of them shared by point reads.
    for pool_size in [2, 8] {
        cut_and_recover(pool_size).await;
    }
}

async fn cut_and_recover(pool_size: u32) {
    let schema = new_schema().await;
    let proxy = Proxy::start(0).await;
    let store = PgStore::connect(&proxy.url(&schema), pool_size).await.unwrap();
    store.create(new_user("u1", "kim")).await.unwrap();

    proxy.cut();
    // The pooled connection is dead, and no new one can be made: every operation, read or
    // write, fails as Unavailable.
    for _ in 0..3 {
        let err = store.get(ResourceKind::User, "u1", false).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        let err = store.create(new_user("u2", "lee")).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        // Lookups by userName: the statement that answers them together fails, then each runs
        // alone and fails the same way.
        let err = store.query(&lookup("kim")).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    }

    // The server is back on the same address: the store serves again.
    let back = Proxy::start(proxy.port).await;
    // Every shared connection (round-robin) and the pool's.
    for _ in 0..4 {
        assert!(store.get(ResourceKind::User, "u1", false).await.unwrap().is_some());
        assert_eq!(store.query(&lookup("KIM")).await.unwrap().items[0].id, "u1");
    }
    store.create(new_user("u2", "lee")).await.unwrap();
    back.cut();
}

/// PostgreSQL keeps no NUL character, in text or in JSON: refused with a message, not a 500.
#[tokio::test]
async fn values_postgres_cannot_store_are_rejected() {
    let store = PgStore::connect(&url_with_schema(&base_url(), &new_schema().await), 1).await.unwrap();
    let err = store.create(new_user("u1", "kim\u{0}")).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    let err = store.create(new_user("u\u{0}", "kim")).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    store.create(new_user("u1", "kim")).await.unwrap();
}
