//! The versioned schema.
//!
//! The table `scimd_migrations` records each migration applied (its version and name). At
//! connect, the pending migrations are applied in order, each in its own transaction together
//! with its record. Every such transaction first takes a transaction-scoped advisory lock
//! ([`MIGRATION_LOCK`]), so that nodes starting at once migrate one after the other: the second
//! finds the work done. A schema whose version is newer than [`MIGRATIONS`] knows was written
//! by a newer scimd and is refused.
//!
//! Tables and functions are created in the first schema of the connection's `search_path`
//! (set it with the URL's `options=-c search_path=...` to keep scimd in a schema of its own).

use deadpool_postgres::Object;
use scimd_store::{StoreError, StoreResult};

use crate::error::{OpError, from_pg};

/// The migrations, in order: migration `i` (0-based) takes the schema to version `i + 1`.
/// Append only; never edit a released migration.
const MIGRATIONS: &[(&str, &str)] = &[("init", include_str!("migrations/0001_init.sql"))];

/// The key of the advisory lock migrations hold (ASCII "scimdmig").
const MIGRATION_LOCK: i64 = 0x7363_696d_646d_6967;

/// The schema version this code writes.
fn current_version() -> i32 {
    // MIGRATIONS is a short, fixed list; its length always fits.
    i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX)
}

/// Brings the schema to [`current_version`], or refuses a newer one.
pub(crate) async fn migrate(client: &mut Object) -> StoreResult<()> {
    check_encoding(client).await?;
    loop {
        let tx = client.transaction().await.map_err(store)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(store)?;
        // Under the lock: two nodes never race to create it.
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS scimd_migrations (\
                 version    integer     PRIMARY KEY, \
                 name       text        NOT NULL, \
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(store)?;
        let version: i32 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM scimd_migrations", &[])
            .await
            .map_err(store)?
            .try_get(0)
            .map_err(store)?;
        let known = current_version();
        if version > known {
            return Err(StoreError::Backend(format!(
                "the database schema version is {version}, newer than the {known} this scimd knows; \
                 upgrade scimd or use another database"
            )));
        }
        if version == known {
            tx.commit().await.map_err(store)?;
            return Ok(());
        }
        let index = usize::try_from(version)
            .map_err(|_| StoreError::Backend(format!("invalid database schema version {version}")))?;
        let (name, sql) = MIGRATIONS
            .get(index)
            .ok_or_else(|| StoreError::Backend(format!("no migration from schema version {version}")))?;
        tx.batch_execute(sql).await.map_err(store)?;
        tx.execute("INSERT INTO scimd_migrations (version, name) VALUES ($1, $2)", &[&(version + 1), name])
            .await
            .map_err(store)?;
        tx.commit().await.map_err(store)?;
        tracing::info!(from = version, to = version + 1, name, "migrated the PostgreSQL store schema");
    }
}

/// Refuses a database whose encoding is not UTF-8: it could not hold every value a client may
/// write (nor the schema, whose text is UTF-8).
async fn check_encoding(client: &Object) -> StoreResult<()> {
    let encoding: String = client
        .query_one(
            "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()",
            &[],
        )
        .await
        .map_err(store)?
        .try_get(0)
        .map_err(store)?;
    if encoding == "UTF8" {
        return Ok(());
    }
    Err(StoreError::Backend(format!(
        "the database's encoding is {encoding}; scimd needs a UTF8 database \
         (CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)"
    )))
}

/// A migration error as the store reports it (a retry makes no sense here: the lock orders
/// the migrations).
fn store(err: tokio_postgres::Error) -> StoreError {
    match from_pg(err) {
        OpError::Store(e) => e,
        OpError::Retry(text) => StoreError::Unavailable(text),
    }
}
