//! `/admin/v1/users/{id}/lock` and `/unlock`: the account state of a user, which scimd manages
//! (DESIGN.md, "Schemas that admins shape"). It shows in the Enterprise extension as
//! `accountState` (`LOCKED` or `UNLOCKED`) and `lockedReason`, both readOnly to SCIM clients.
//!
//! POST `/users/{id}/lock` with an optional body `{"reason": "..."}` locks; POST
//! `/users/{id}/unlock` unlocks (and clears the reason). Either answers 200 with the user's id,
//! state, reason and new version; 404 for no such user. The write is one store transaction on
//! the version read, retried when a concurrent write got there first, and bumps the user's
//! version (its representation changed).

use crate::app::SharedState;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{Router, post};
use scimd_core::{ResourceKind, ScimError};
use scimd_store::{Replacement, StoreError};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The local claim of `accountState`.
pub const ACCOUNT_STATE: &str = "urn:scimd:claims:accountState";
/// The local claim of `lockedReason`.
pub const LOCKED_REASON: &str = "urn:scimd:claims:lockedReason";

/// The routes, relative to `/admin/v1`.
pub fn routes() -> Router<SharedState> {
    let not_allowed = crate::scim::method_not_allowed;
    Router::new()
        .route("/users/{id}/lock", post(lock).fallback(not_allowed("POST")))
        .route("/users/{id}/unlock", post(unlock).fallback(not_allowed("POST")))
}

async fn lock(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let v: Value = serde_json::from_slice(&body)
            .map_err(|_| ScimError::invalid_syntax("the request body must be a JSON object"))?;
        match v.get("reason") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.len() <= 1024 => Some(s.clone()),
            Some(_) => {
                return Err(ScimError::invalid_value("reason: must be a string of at most 1024 bytes").into());
            }
        }
    };
    set_state(&state, &id, "LOCKED", reason).await
}

async fn unlock(State(state): State<SharedState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    set_state(&state, &id, "UNLOCKED", None).await
}

async fn set_state(
    state: &SharedState,
    id: &str,
    account_state: &str,
    reason: Option<String>,
) -> ApiResult<Json<Value>> {
    let kind = ResourceKind::User;
    let not_found = || ApiError::from(ScimError::not_found(format!("no User with id \"{id}\"")));
    for _ in 0..5 {
        let stored = state
            .store
            .get(kind, id, false)
            .await
            .map_err(|e| crate::scim::store_error(kind, Some(id), e))?
            .ok_or_else(not_found)?;
        let mut claims = stored.claims.clone();
        claims.insert(ACCOUNT_STATE, Value::String(account_state.into()));
        match &reason {
            Some(r) => claims.insert(LOCKED_REASON, Value::String(r.clone())),
            None => {
                claims.remove(LOCKED_REASON);
            }
        }
        let replacement = Replacement {
            id: id.to_string(),
            kind,
            expected_version: Some(stored.version),
            claims,
            members: None,
            now: OffsetDateTime::now_utc(),
        };
        match state.store.replace(replacement).await {
            Ok(written) => {
                return Ok(Json(json!({
                    "id": written.id,
                    "accountState": account_state,
                    "lockedReason": reason,
                    "version": format!("W/\"{}\"", written.version),
                })));
            }
            Err(StoreError::VersionMismatch { .. }) => continue,
            Err(e) => return Err(crate::scim::store_error(kind, Some(id), e)),
        }
    }
    Err(ScimError::status(409, format!("the User \"{id}\" kept changing under this request; try again"))
        .into())
}
