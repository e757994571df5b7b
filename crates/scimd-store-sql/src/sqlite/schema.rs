//! The versioned schema.
//!
//! The schema version is `PRAGMA user_version`: the number of [`MIGRATIONS`] applied. At open,
//! the pending migrations are applied in order, each in its own `BEGIN IMMEDIATE` transaction
//! together with the version bump, so a crash leaves the database at a known version. A database
//! whose version is newer than [`MIGRATIONS`] knows was written by a newer scimd and is refused.

use rusqlite::{Connection, TransactionBehavior};
use scimd_store::{StoreError, StoreResult};

use super::error::from_sqlite;

/// The migrations, in order: migration `i` (0-based) takes the schema to version `i + 1`.
/// Append only; never edit a released migration.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_domains.sql"),
    include_str!("migrations/0003_search_indexes.sql"),
];

/// The schema version this code writes.
pub(crate) fn current_version() -> i64 {
    // MIGRATIONS is a short, fixed list; its length always fits.
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Brings the database to [`current_version`], or refuses a newer one.
pub(crate) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(from_sqlite)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(from_sqlite)?;
        let known = current_version();
        if version > known {
            return Err(StoreError::Backend(format!(
                "the database schema version is {version}, newer than the {known} this scimd knows; \
                 upgrade scimd or open another database"
            )));
        }
        if version == known {
            return Ok(());
        }
        let index = usize::try_from(version)
            .map_err(|_| StoreError::Backend(format!("invalid database schema version {version}")))?;
        let sql = MIGRATIONS
            .get(index)
            .ok_or_else(|| StoreError::Backend(format!("no migration from schema version {version}")))?;
        tx.execute_batch(sql).map_err(from_sqlite)?;
        tx.pragma_update(None, "user_version", version + 1).map_err(from_sqlite)?;
        tx.commit().map_err(from_sqlite)?;
        tracing::info!(from = version, to = version + 1, "migrated the SQLite store schema");
    }
}
