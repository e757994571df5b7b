//! SQLite errors to [`StoreError`].
//!
//! SQLite names a violated UNIQUE index by its columns ("UNIQUE constraint failed:
//! resources.kind, resources.user_name_ci"), not by the index's name; that column list is the
//! constraint's identity, and [`UNIQUE_CONSTRAINTS`] maps it exactly to the claim it protects.

use rusqlite::ErrorCode;
use rusqlite::ffi;
use scimd_claims::claims::{ID, USER_NAME};
use scimd_store::StoreError;

/// Each UNIQUE constraint of the schema, as SQLite names it, and the claim it protects.
const UNIQUE_CONSTRAINTS: &[(&str, &str)] =
    &[("resources.kind, resources.user_name_ci", USER_NAME), ("resources.id", ID)];

const UNIQUE_PREFIX: &str = "UNIQUE constraint failed: ";

/// Maps a SQLite error: a known unique constraint to `Conflict`, busy or locked to
/// `Unavailable`, anything else to `Backend` with SQLite's message.
pub(crate) fn from_sqlite(err: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, message) = &err {
        match failure.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return StoreError::Unavailable(err.to_string());
            }
            ErrorCode::ConstraintViolation
                if failure.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
                    || failure.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                if let Some(claim) = message.as_deref().and_then(unique_claim) {
                    return StoreError::Conflict { claim: claim.to_owned() };
                }
            }
            _ => {}
        }
    }
    StoreError::Backend(err.to_string())
}

/// The claim protected by the unique constraint that `message` names, if the schema has it.
fn unique_claim(message: &str) -> Option<&'static str> {
    let columns = message.strip_prefix(UNIQUE_PREFIX)?;
    UNIQUE_CONSTRAINTS.iter().find(|(name, _)| *name == columns).map(|(_, claim)| *claim)
}

/// A JSON (de)serialisation failure of stored claims.
pub(crate) fn from_json(err: serde_json::Error) -> StoreError {
    StoreError::Backend(format!("stored claims are not valid JSON: {err}"))
}

/// A poisoned lock: some operation panicked while holding it.
pub(crate) fn poisoned<T>(_: T) -> StoreError {
    StoreError::Backend("a connection pool lock is poisoned".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_claim_maps_known_constraints_exactly() {
        assert_eq!(
            unique_claim("UNIQUE constraint failed: resources.kind, resources.user_name_ci"),
            Some(USER_NAME)
        );
        assert_eq!(unique_claim("UNIQUE constraint failed: resources.id"), Some(ID));
        assert_eq!(unique_claim("UNIQUE constraint failed: resources.kind"), None);
        assert_eq!(unique_claim("something else"), None);
    }

    #[test]
    fn busy_is_unavailable() {
        let err = rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_BUSY), None);
        assert!(matches!(from_sqlite(err), StoreError::Unavailable(_)));
    }
}
