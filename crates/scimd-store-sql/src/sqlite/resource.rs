//! Rows of `resources` to and from [`StoredResource`]: kind codes, derived columns, claims as
//! JSON, and the time format.

use std::io::Write as _;

use rusqlite::Row;
use scimd_claims::claims::{DISPLAY_NAME, EMAILS, EXTERNAL_ID, FAMILY_NAME, GROUP_DISPLAY_NAME, USER_NAME};
pub(crate) use scimd_store::stored_time::{format_time, parse_time, to_utc};
use scimd_store::{Claims, ResourceKind, StoreError, StoreResult, StoredResource};

use super::error::{from_json, from_sqlite};

/// The columns [`from_row`] reads, in its order.
pub(crate) const COLUMNS: &str = "seq, id, kind, created, last_modified, version, claims";

/// The stored code of a kind.
pub(crate) fn kind_code(kind: ResourceKind) -> i64 {
    match kind {
        ResourceKind::User => 1,
        ResourceKind::Group => 2,
    }
}

pub(crate) fn kind_from_code(code: i64) -> StoreResult<ResourceKind> {
    match code {
        1 => Ok(ResourceKind::User),
        2 => Ok(ResourceKind::Group),
        other => Err(StoreError::Backend(format!("unknown resource kind code {other}"))),
    }
}

/// The indexed columns derived from a resource's claims; recomputed on every write.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Derived {
    /// Users: the userName, lower-cased.
    pub(crate) user_name_ci: Option<String>,
    /// The externalId as written (it is caseExact).
    pub(crate) external_id: Option<String>,
    /// Users: displayName; groups: the group displayName; lower-cased.
    pub(crate) display_name_ci: Option<String>,
    /// Users: `name.familyName`, lower-cased.
    pub(crate) family_name_ci: Option<String>,
    /// Users: the rows of `user_emails`, one per object in the emails claim's list.
    pub(crate) emails: Vec<EmailRow>,
}

/// One row of `user_emails`: an element of a user's emails, its type and value folded.
#[derive(Debug, PartialEq)]
pub(crate) struct EmailRow {
    /// The element's index in the claim's list.
    pub(crate) pos: i64,
    pub(crate) type_ci: Option<String>,
    pub(crate) value_ci: Option<String>,
}

/// The `user_emails` rows of a user's claims: as the 0003 migration derives them in SQL.
fn email_rows(claims: &Claims) -> Vec<EmailRow> {
    let Some(serde_json::Value::Array(items)) = claims.get(EMAILS) else {
        return Vec::new();
    };
    let folded = |v: &serde_json::Value, key: &str| v.get(key).and_then(|s| s.as_str()).map(fold_case);
    (0_i64..)
        .zip(items)
        .filter(|(_, item)| item.is_object())
        .map(|(pos, item)| EmailRow { pos, type_ci: folded(item, "type"), value_ci: folded(item, "value") })
        .collect()
}

impl Derived {
    pub(crate) fn of(kind: ResourceKind, claims: &Claims) -> Derived {
        let (user_name_ci, family_name_ci, emails) = match kind {
            ResourceKind::User => (
                claims.get_str(USER_NAME).map(fold_case),
                claims.get_str(FAMILY_NAME).map(fold_case),
                email_rows(claims),
            ),
            ResourceKind::Group => (None, None, Vec::new()),
        };
        Derived {
            user_name_ci,
            family_name_ci,
            emails,
            external_id: claims.get_str(EXTERNAL_ID).map(str::to_owned),
            display_name_ci: claims.get_str(display_claim(kind)).map(fold_case),
        }
    }
}

/// The claim that feeds `display_name_ci` for a kind.
pub(crate) fn display_claim(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => DISPLAY_NAME,
        ResourceKind::Group => GROUP_DISPLAY_NAME,
    }
}

/// The one case folding used for every `_ci` column and every case-insensitive comparison (also
/// inside SQL, as the `scimd_lower` function), so that stored and queried values agree.
pub(crate) fn fold_case(s: &str) -> String {
    s.to_lowercase()
}

/// The claims as one JSON object.
pub(crate) fn claims_to_json(claims: &Claims) -> StoreResult<String> {
    let mut out = Vec::with_capacity(64 * claims.len() + 2);
    out.push(b'{');
    for (i, (claim, value)) in claims.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, claim).map_err(from_json)?;
        out.push(b':');
        serde_json::to_writer(&mut out, value).map_err(from_json)?;
    }
    out.write_all(b"}").map_err(|e| StoreError::Backend(e.to_string()))?;
    String::from_utf8(out).map_err(|e| StoreError::Backend(e.to_string()))
}

pub(crate) fn claims_from_json(json: &str) -> StoreResult<Claims> {
    Claims::from_json(json.to_owned()).map_err(from_json)
}

pub(crate) fn version_from_db(v: i64) -> StoreResult<u64> {
    u64::try_from(v).map_err(|_| StoreError::Backend(format!("negative stored version {v}")))
}

pub(crate) fn to_db_int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Reads a row selected with [`COLUMNS`]: the resource's seq and the resource (members `None`).
pub(crate) fn from_row(row: &Row<'_>) -> StoreResult<(i64, StoredResource)> {
    let seq: i64 = row.get(0).map_err(from_sqlite)?;
    let id: String = row.get(1).map_err(from_sqlite)?;
    let kind = kind_from_code(row.get(2).map_err(from_sqlite)?)?;
    let created = parse_time(row.get_ref(3).and_then(|v| Ok(v.as_str()?)).map_err(from_sqlite)?)?;
    let last_modified = parse_time(row.get_ref(4).and_then(|v| Ok(v.as_str()?)).map_err(from_sqlite)?)?;
    let version = version_from_db(row.get(5).map_err(from_sqlite)?)?;
    let claims = claims_from_json(row.get_ref(6).and_then(|v| Ok(v.as_str()?)).map_err(from_sqlite)?)?;
    Ok((seq, StoredResource { id, kind, claims, created, last_modified, version, members: None }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_round_trip_through_json() {
        let claims: Claims = [
            (USER_NAME.to_owned(), json!("Kim")),
            ("urn:x:emails".to_owned(), json!([{"value": "a@b", "type": "work", "primary": true}])),
            ("urn:x:n".to_owned(), json!(1.5)),
        ]
        .into_iter()
        .collect();
        assert_eq!(claims_from_json(&claims_to_json(&claims).unwrap()).unwrap(), claims);
        assert_eq!(claims_to_json(&Claims::new()).unwrap(), "{}");
    }

    #[test]
    fn derived_columns_follow_the_kind() {
        let claims: Claims = [
            (USER_NAME.to_owned(), json!("KÍM")),
            (DISPLAY_NAME.to_owned(), json!("Kim K")),
            (GROUP_DISPLAY_NAME.to_owned(), json!("Admins")),
            (EXTERNAL_ID.to_owned(), json!("Ext-1")),
        ]
        .into_iter()
        .collect();
        let user = Derived::of(ResourceKind::User, &claims);
        assert_eq!(user.user_name_ci.as_deref(), Some("kím"));
        assert_eq!(user.display_name_ci.as_deref(), Some("kim k"));
        assert_eq!(user.external_id.as_deref(), Some("Ext-1"));
        let group = Derived::of(ResourceKind::Group, &claims);
        assert_eq!(group.user_name_ci, None);
        assert_eq!(group.display_name_ci.as_deref(), Some("admins"));
    }
}
