//! Admin state: versioned JSON documents in the `settings` table (see
//! [`scimd_store::SettingsStore`]). Each save is one conditional statement, so that of two
//! nodes saving on the same version, one wins and the other gets `VersionMismatch`.

use deadpool_postgres::{ClientWrapper, Object};
use scimd_store::StoreError;
use serde_json::Value;

use crate::error::{OpResult, corrupt, from_pg};
use crate::resource::{version_from_db, version_to_db};

pub(crate) async fn load(client: &ClientWrapper, key: &str) -> OpResult<Option<(Value, u64)>> {
    let stmt =
        client.prepare_cached("SELECT value, version FROM settings WHERE key = $1").await.map_err(from_pg)?;
    let Some(row) = client.query_opt(&stmt, &[&key]).await.map_err(from_pg)? else { return Ok(None) };
    let text: &str = row.try_get(0).map_err(from_pg)?;
    let value =
        serde_json::from_str(text).map_err(|e| corrupt(format!("the setting {key} is not JSON: {e}")))?;
    Ok(Some((value, version_from_db(row.try_get(1).map_err(from_pg)?)?)))
}

pub(crate) async fn save(
    client: &mut Object,
    key: &str,
    value: &Value,
    expected: Option<u64>,
) -> OpResult<u64> {
    let text = serde_json::to_string(value)
        .map_err(|e| StoreError::Backend(format!("the setting {key} cannot be written: {e}")))?;
    let saved = match expected {
        None => {
            let stmt = client
                .prepare_cached(
                    "INSERT INTO settings (key, value, version) VALUES ($1, $2, 1) \
                     ON CONFLICT (key) DO NOTHING RETURNING version",
                )
                .await
                .map_err(from_pg)?;
            client.query_opt(&stmt, &[&key, &text]).await.map_err(from_pg)?
        }
        Some(expected) => {
            let stmt = client
                .prepare_cached(
                    "UPDATE settings SET value = $2, version = version + 1 \
                     WHERE key = $1 AND version = $3 RETURNING version",
                )
                .await
                .map_err(from_pg)?;
            client.query_opt(&stmt, &[&key, &text, &version_to_db(expected)?]).await.map_err(from_pg)?
        }
    };
    match saved {
        Some(row) => version_from_db(row.try_get(0).map_err(from_pg)?),
        None => {
            let current = load(client, key).await?.map_or(0, |(_, v)| v);
            Err(StoreError::VersionMismatch { current }.into())
        }
    }
}
