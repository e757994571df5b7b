//! Admin state: versioned JSON documents in the `settings` table (see [`SettingsStore`]).

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};
use scimd_store::{StoreError, StoreResult};
use serde_json::Value;

use super::error::from_sqlite;
use super::resource::version_from_db;

pub(crate) fn load(conn: &Connection, key: &str) -> StoreResult<Option<(Value, u64)>> {
    let row = conn
        .prepare_cached("SELECT value, version FROM settings WHERE key = ?1")
        .map_err(from_sqlite)?
        .query_row([key], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
        .optional()
        .map_err(from_sqlite)?;
    let Some((text, version)) = row else { return Ok(None) };
    let value = serde_json::from_str(&text)
        .map_err(|e| StoreError::Backend(format!("the setting {key} is not valid JSON: {e}")))?;
    Ok(Some((value, version_from_db(version)?)))
}

pub(crate) fn save(
    conn: &mut Connection,
    key: &str,
    value: &Value,
    expected: Option<u64>,
) -> StoreResult<u64> {
    let text = serde_json::to_string(value)
        .map_err(|e| StoreError::Backend(format!("the setting {key} cannot be written: {e}")))?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(from_sqlite)?;
    let current = load(&tx, key)?.map(|(_, v)| v);
    if current != expected {
        return Err(StoreError::VersionMismatch { current: current.unwrap_or(0) });
    }
    let next = current.unwrap_or(0) + 1;
    let next_db = i64::try_from(next).map_err(|_| StoreError::Backend("setting version overflow".into()))?;
    tx.prepare_cached(
        "INSERT INTO settings (key, value, version) VALUES (?1, ?2, ?3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version",
    )
    .map_err(from_sqlite)?
    .execute(params![key, text, next_db])
    .map_err(from_sqlite)?;
    tx.commit().map_err(from_sqlite)?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::{SqliteOptions, SqliteStore};
    use scimd_store::{SettingsStore, StoreError};
    use serde_json::json;

    #[tokio::test]
    async fn settings_are_versioned_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(&path, SqliteOptions::default()).await.unwrap();
        assert!(store.load_setting("domains").await.unwrap().is_none());
        assert_eq!(store.save_setting("domains", &json!({"a": 1}), None).await.unwrap(), 1);
        // A writer that read no document, or an old version, is refused: nothing is lost.
        let stale = store.save_setting("domains", &json!({"b": 2}), None).await.unwrap_err();
        assert!(matches!(stale, StoreError::VersionMismatch { current: 1 }), "{stale:?}");
        assert_eq!(store.save_setting("domains", &json!({"a": 2}), Some(1)).await.unwrap(), 2);
        drop(store);
        let store = SqliteStore::open(&path, SqliteOptions::default()).await.unwrap();
        assert_eq!(store.load_setting("domains").await.unwrap(), Some((json!({"a": 2}), 2)));
    }
}
