//! `/Me` (RFC 7644 §3.11): the resource of the authenticated subject. It exists only where the
//! credential has a SCIM User behind it. Today the one credential is the bootstrap admin token
//! (`Principal::Admin`), whose subject is the bootstrap admin, not a SCIM User: every method
//! on `/Me` answers 501, as §3.11 allows.

use crate::auth::Principal;
use crate::error::ApiError;
use axum::Extension;
use scimd_core::ScimError;

/// GET, PUT, PATCH, DELETE and POST on `/Me`.
pub(super) async fn me(principal: Option<Extension<Principal>>) -> ApiError {
    let detail = match principal.map(|Extension(p)| p) {
        Some(Principal::Admin) | None => {
            "/Me is not available for this credential: its subject is the bootstrap admin, \
             who is not a SCIM User (RFC 7644 §3.11)"
        }
    };
    ApiError::from(ScimError::not_implemented(detail))
}
