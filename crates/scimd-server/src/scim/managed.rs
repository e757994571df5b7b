//! The server-managed attributes of the Enterprise extension (DESIGN.md, "Schemas that admins
//! shape") that scimd maintains on SCIM writes: `lastPasswordUpdateTime`, set to the time of
//! every write that sets a password (POST, PUT, PATCH, and the same through Bulk).
//!
//! The others: `accountState` and `lockedReason` come from a lock or unlock through the admin
//! API (`admin::users`); `isReadOnlyUser` from the user's domain (the domain router);
//! `lastLoginTime`, `pendingEmails` and `oneTimePassword` have no source in scimd yet and are
//! only kept and served. Clients cannot set any of them (`scimd_core::validate`).
//!
//! A directory domain keeps only the claims its attribute map names: where the user's domain
//! has no attribute for `lastPasswordUpdateTime`, the write goes through without it rather
//! than failing (scimd maintains what the domain can keep).

use scimd_store::{Claims, StoreError};
use serde_json::Value;
use time::OffsetDateTime;

/// The local claim of `lastPasswordUpdateTime`.
pub const LAST_PASSWORD_UPDATE_TIME: &str = "urn:scimd:claims:lastPasswordUpdateTime";

/// Stamps the claims of a write that sets the password.
pub(super) fn password_set(claims: &mut Claims, now: OffsetDateTime) {
    claims.insert(LAST_PASSWORD_UPDATE_TIME, Value::String(super::render::datetime(now)));
}

/// Whether a write failed only because the domain keeps no attribute for a claim the server
/// stamped (so that it can be retried without it).
pub(super) fn unmapped_stamp(e: &StoreError) -> bool {
    match e {
        StoreError::Unmapped { claim } => claim == LAST_PASSWORD_UPDATE_TIME,
        StoreError::InDomain { error, .. } => unmapped_stamp(error),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stamp_is_rfc3339_and_only_its_own_unmapped_error_is_tolerated() {
        let mut c = Claims::new();
        password_set(&mut c, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(c.get_str(LAST_PASSWORD_UPDATE_TIME), Some("1970-01-01T00:00:00Z"));
        let own = StoreError::Unmapped { claim: LAST_PASSWORD_UPDATE_TIME.into() };
        assert!(unmapped_stamp(&own));
        assert!(unmapped_stamp(&StoreError::InDomain { domain: "LDAP".into(), error: Box::new(own) }));
        assert!(!unmapped_stamp(&StoreError::Unmapped { claim: "urn:scimd:claims:title".into() }));
    }
}
