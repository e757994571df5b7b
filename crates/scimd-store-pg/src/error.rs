//! PostgreSQL errors to [`StoreError`].
//!
//! A unique violation names the index or constraint it violated; [`UNIQUE_CONSTRAINTS`] maps
//! each one of the schema to the claim it protects. Serialization failures and deadlocks are
//! [`OpError::Retry`]: the write is run again from the start. What says the server cannot be
//! reached (connection failures, a closed connection, a shutting-down server, too many
//! connections) is [`StoreError::Unavailable`]; values the server refuses to store (a NUL
//! character) are [`StoreError::Rejected`]; the rest is [`StoreError::Backend`].

use scimd_claims::claims::{ID, USER_NAME};
use scimd_store::StoreError;
use tokio_postgres::error::SqlState;

/// Each unique index or constraint of the schema and the claim it protects.
const UNIQUE_CONSTRAINTS: &[(&str, &str)] = &[("resources_user_name", USER_NAME), ("resources_id_key", ID)];

/// Why one attempt of an operation failed.
#[derive(Debug)]
pub(crate) enum OpError {
    /// The operation failed for good.
    Store(StoreError),
    /// A serialization failure or a deadlock: running the operation again may succeed.
    Retry(String),
}

impl From<StoreError> for OpError {
    fn from(err: StoreError) -> Self {
        OpError::Store(err)
    }
}

/// The result of one attempt.
pub(crate) type OpResult<T> = Result<T, OpError>;

/// Maps an error of the PostgreSQL client.
pub(crate) fn from_pg(err: tokio_postgres::Error) -> OpError {
    if let Some(db) = err.as_db_error() {
        let code = db.code();
        if *code == SqlState::UNIQUE_VIOLATION {
            if let Some(claim) = db.constraint().and_then(unique_claim) {
                return OpError::Store(StoreError::Conflict { claim: claim.to_owned() });
            }
        } else if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED {
            return OpError::Retry(db.message().to_owned());
        } else if *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE
            || *code == SqlState::UNTRANSLATABLE_CHARACTER
        {
            // A NUL character, in text or in a JSON string: PostgreSQL keeps neither.
            return OpError::Store(StoreError::Rejected(format!(
                "a value holds a character PostgreSQL cannot store ({})",
                db.message()
            )));
        } else if unavailable_code(code) {
            return OpError::Store(StoreError::Unavailable(db.message().to_owned()));
        }
        return OpError::Store(StoreError::Backend(format!("{}: {}", code.code(), db.message())));
    }
    OpError::Store(from_client_error(&err))
}

/// A client error that carries no server error: the connection failed, closed or timed out
/// (the server cannot be reached), or the client could not handle what it got (a backend error).
fn from_client_error(err: &tokio_postgres::Error) -> StoreError {
    let io = std::error::Error::source(err).is_some_and(|s| s.is::<std::io::Error>());
    // The error and its causes (a TLS handshake's says which certificate check failed).
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(inner) = cause {
        let more = inner.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = inner.source();
    }
    if err.is_closed() || io || text.contains("timeout") || text.contains("connect") {
        StoreError::Unavailable(text)
    } else {
        StoreError::Backend(text)
    }
}

/// Server errors that say it cannot serve now: connection exceptions (class 08), a server
/// shutting down or starting (57P01-57P03), too many connections (53300).
fn unavailable_code(code: &SqlState) -> bool {
    code.code().starts_with("08")
        || *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
        || *code == SqlState::TOO_MANY_CONNECTIONS
}

/// The claim protected by the unique index or constraint `name`, if the schema has it.
fn unique_claim(name: &str) -> Option<&'static str> {
    UNIQUE_CONSTRAINTS.iter().find(|(constraint, _)| *constraint == name).map(|(_, claim)| *claim)
}

/// Maps a failure to get a connection from the pool: the server cannot be reached, or the pool
/// is closed or exhausted for longer than its wait timeout.
pub(crate) fn from_pool(err: deadpool_postgres::PoolError) -> StoreError {
    use deadpool_postgres::PoolError;
    match err {
        PoolError::Backend(e) => from_connect(e),
        PoolError::Timeout(kind) => {
            StoreError::Unavailable(format!("no connection to PostgreSQL: {kind:?} timed out"))
        }
        PoolError::Closed => StoreError::Unavailable("the connection pool is closed".to_owned()),
        other => StoreError::Backend(format!("connection pool: {other}")),
    }
}

/// A new connection that failed: whatever the reason, the server cannot be used now.
pub(crate) fn from_connect(err: tokio_postgres::Error) -> StoreError {
    match from_pg(err) {
        OpError::Store(StoreError::Backend(text)) => StoreError::Unavailable(text),
        OpError::Store(other) => other,
        OpError::Retry(text) => StoreError::Unavailable(text),
    }
}

/// Stored claims or a stored setting that are not what the store wrote.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> OpError {
    OpError::Store(StoreError::Backend(format!("unexpected stored data: {what}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn unique_claim_maps_the_schemas_unique_indexes_exactly() {
        assert_eq!(unique_claim("resources_user_name"), Some(USER_NAME));
        assert_eq!(unique_claim("resources_id_key"), Some(ID));
        assert_eq!(unique_claim("members_pkey"), None);
        assert_eq!(unique_claim("resources_user"), None);
    }

    #[test]
    fn connection_classes_are_unavailable() {
        assert!(unavailable_code(&SqlState::CONNECTION_FAILURE));
        assert!(unavailable_code(&SqlState::ADMIN_SHUTDOWN));
        assert!(unavailable_code(&SqlState::TOO_MANY_CONNECTIONS));
        assert!(!unavailable_code(&SqlState::UNIQUE_VIOLATION));
        assert!(!unavailable_code(&SqlState::SYNTAX_ERROR));
    }
}
