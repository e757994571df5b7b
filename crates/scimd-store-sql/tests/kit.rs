//! The store-generic checks of `scimd-store-testkit` on the SQLite store, each on a database
//! file of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use scimd_store_sql::{SqliteOptions, SqliteStore};
use scimd_store_testkit::{FreshSettings, FreshStore};

async fn open() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("scimd.db"), SqliteOptions::default()).await.unwrap();
    (store, dir)
}

async fn fresh() -> FreshStore {
    let (store, dir) = open().await;
    FreshStore::keeping(Arc::new(store), dir)
}

async fn fresh_settings() -> FreshSettings {
    let (store, dir) = open().await;
    FreshSettings::keeping(Arc::new(store), dir)
}

scimd_store_testkit::store_checks!(fresh);
scimd_store_testkit::settings_checks!(fresh_settings);
scimd_store_testkit::foreign_member_checks!(fresh);
