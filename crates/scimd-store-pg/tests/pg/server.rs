//! The test server: a schema of its own for each test, in the database of `SCIMD_TEST_PG_URL`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use scimd_store_pg::PgStore;
use scimd_store_testkit::{FreshSettings, FreshStore};
use tokio_postgres::{Client, NoTls};

/// The URL of the test database.
pub fn base_url() -> String {
    std::env::var("SCIMD_TEST_PG_URL").unwrap_or_else(|_| {
        panic!(
            "SCIMD_TEST_PG_URL is unset: run scripts/test, which starts a throwaway PostgreSQL \
             (or eval \"$(scripts/pg-server start)\" first)"
        )
    })
}

/// A plain client of the test database (for what the store does not do: schemas, ANALYZE).
pub async fn admin_client() -> Client {
    let (client, connection) = tokio_postgres::connect(&base_url(), NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// `url` with the `search_path` set to `schema`.
pub fn url_with_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// A new, empty schema; its name.
pub async fn new_schema() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let schema = format!("t_{}_{}_{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    admin_client().await.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
    schema
}

/// A store on a new schema, and the URL that reaches that schema.
pub async fn store_in_new_schema() -> (PgStore, String) {
    let url = url_with_schema(&base_url(), &new_schema().await);
    (PgStore::connect(&url, 4).await.unwrap(), url)
}

pub async fn fresh() -> FreshStore {
    FreshStore::new(Arc::new(store_in_new_schema().await.0))
}

pub async fn fresh_settings() -> FreshSettings {
    FreshSettings::new(Arc::new(store_in_new_schema().await.0))
}
