//! Rows of `resources` to and from [`StoredResource`]: kind codes, claims as `jsonb`, the time
//! format, and the members of a group as the arrays a statement aggregates.

use std::error::Error;
use std::io::Write as _;

use bytes::{BufMut as _, BytesMut};
use scimd_claims::claims::{DISPLAY_NAME, GROUP_DISPLAY_NAME};
pub(crate) use scimd_store::stored_time::{format_time, instant, parse_time, to_utc};
use scimd_store::{Claims, Member, ResourceKind, StoreError, StoreResult, StoredResource};
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use crate::error::{OpError, OpResult, corrupt, from_pg};

pub(crate) use scimd_claims::claims::EMAILS;

/// The columns [`from_row`] reads first, in its order, of the `resources` row named `$row`: a
/// constant, not text built for each statement.
macro_rules! columns_of {
    ($row:literal) => {
        concat!(
            $row,
            ".seq, ",
            $row,
            ".id, ",
            $row,
            ".kind, ",
            $row,
            ".created, ",
            $row,
            ".last_modified, ",
            $row,
            ".version, ",
            $row,
            ".claims"
        )
    };
}

/// The columns [`from_row`] reads of the row named `x` (most statements name it so).
pub(crate) const COLUMNS: &str = columns_of!("x");

/// The same columns of the row named `r` (the name the filter compiler writes), for a statement
/// that reads the rows it filters.
pub(crate) const COLUMNS_OF_R: &str = columns_of!("r");

/// How many columns [`COLUMNS`] names.
pub(crate) const COLUMN_COUNT: usize = 7;

/// A column after those of the row named `$row` (hence the leading comma): whether its
/// resource belongs to any group. Most belong to none, and a read that comes with memberships
/// then needs no second statement.
macro_rules! in_groups_of {
    ($row:literal) => {
        concat!(", EXISTS (SELECT 1 FROM members AS g WHERE g.member_id = ", $row, ".id)")
    };
}

/// [`in_groups_of`] the row named `x`.
pub(crate) const IN_GROUPS: &str = in_groups_of!("x");

/// [`in_groups_of`] the row named `r`.
pub(crate) const IN_GROUPS_OF_R: &str = in_groups_of!("r");

/// The stored code of a kind.
pub(crate) fn kind_code(kind: ResourceKind) -> i16 {
    match kind {
        ResourceKind::User => 1,
        ResourceKind::Group => 2,
    }
}

pub(crate) fn kind_from_code(code: i16) -> StoreResult<ResourceKind> {
    match code {
        1 => Ok(ResourceKind::User),
        2 => Ok(ResourceKind::Group),
        other => Err(StoreError::Backend(format!("unknown resource kind code {other}"))),
    }
}

/// The claim that holds a kind's displayName.
pub(crate) fn display_claim(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => DISPLAY_NAME,
        ResourceKind::Group => GROUP_DISPLAY_NAME,
    }
}

/// Claims written as a `jsonb` parameter: one JSON object, serialised straight into the
/// statement's buffer.
#[derive(Debug)]
pub(crate) struct ClaimsJson<'a>(pub(crate) &'a Claims);

impl ToSql for ClaimsJson<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        if *ty == Type::JSONB {
            // The jsonb binary format: a version byte, then the JSON text.
            out.put_u8(1);
        }
        let mut w = out.writer();
        w.write_all(b"{")?;
        for (i, (claim, value)) in self.0.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            serde_json::to_writer(&mut w, claim)?;
            w.write_all(b":")?;
            serde_json::to_writer(&mut w, value)?;
        }
        w.write_all(b"}")?;
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSONB || *ty == Type::JSON
    }

    to_sql_checked!();
}

/// Claims read from a `jsonb` column.
#[derive(Debug)]
pub(crate) struct ClaimsFromDb(pub(crate) Claims);

impl<'a> FromSql<'a> for ClaimsFromDb {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        let json = if *ty == Type::JSONB {
            match raw.split_first() {
                Some((1, rest)) => rest,
                _ => return Err("unsupported jsonb format version".into()),
            }
        } else {
            raw
        };
        Ok(ClaimsFromDb(Claims::from_json(std::str::from_utf8(json)?.to_owned())?))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSONB || *ty == Type::JSON
    }
}

pub(crate) fn version_from_db(v: i64) -> OpResult<u64> {
    u64::try_from(v).map_err(|_| corrupt(format!("negative version {v}")))
}

pub(crate) fn version_to_db(v: u64) -> StoreResult<i64> {
    i64::try_from(v).map_err(|_| StoreError::Backend(format!("version {v} out of range")))
}

/// Reads the [`columns`] of a row, from column `at` on: the resource's seq and the resource
/// (members `None`).
pub(crate) fn from_row(row: &Row, at: usize) -> OpResult<(i64, StoredResource)> {
    let seq: i64 = row.try_get(at).map_err(from_pg)?;
    let id: String = row.try_get(at + 1).map_err(from_pg)?;
    let kind = kind_from_code(row.try_get(at + 2).map_err(from_pg)?)?;
    let created = parse_time(row.try_get(at + 3).map_err(from_pg)?)?;
    let last_modified = parse_time(row.try_get(at + 4).map_err(from_pg)?)?;
    let version = version_from_db(row.try_get(at + 5).map_err(from_pg)?)?;
    let ClaimsFromDb(claims) = row.try_get(at + 6).map_err(from_pg)?;
    Ok((seq, StoredResource { id, kind, claims, created, last_modified, version, members: None }))
}

/// The aggregate of a group's members in the order they were added, as four arrays (see
/// [`MEMBER_ARRAYS_SQL`]): ids, kind codes, displays, domains.
pub(crate) fn members_from_row(row: &Row, at: usize) -> OpResult<Vec<Member>> {
    let ids: Option<Vec<String>> = row.try_get(at).map_err(from_pg)?;
    let kinds: Option<Vec<i16>> = row.try_get(at + 1).map_err(from_pg)?;
    let displays: Option<Vec<Option<String>>> = row.try_get(at + 2).map_err(from_pg)?;
    let domains: Option<Vec<Option<String>>> = row.try_get(at + 3).map_err(from_pg)?;
    let (ids, kinds, displays, domains) = (
        ids.unwrap_or_default(),
        kinds.unwrap_or_default(),
        displays.unwrap_or_default(),
        domains.unwrap_or_default(),
    );
    if kinds.len() != ids.len() || displays.len() != ids.len() || domains.len() != ids.len() {
        return Err(corrupt("member arrays of different lengths"));
    }
    ids.into_iter()
        .zip(kinds)
        .zip(displays.into_iter().zip(domains))
        .map(|((id, kind), (display, domain))| {
            Ok(Member { id, kind: Some(kind_from_code(kind).map_err(OpError::Store)?), display, domain })
        })
        .collect()
}

/// A lateral subquery aggregating the members of the group row `x` into the four arrays
/// [`members_from_row`] reads (`m_ids`, `m_kinds`, `m_displays`, `m_domains`).
pub(crate) const MEMBER_ARRAYS_SQL: &str = "LEFT JOIN LATERAL (SELECT array_agg(mm.member_id ORDER BY mm.pos) AS m_ids, \
     array_agg(mm.kind ORDER BY mm.pos) AS m_kinds, array_agg(mm.display ORDER BY mm.pos) AS m_displays, \
     array_agg(mm.domain ORDER BY mm.pos) AS m_domains FROM members AS mm WHERE mm.group_seq = x.seq) AS mem ON x.kind = 2";

/// The columns of [`MEMBER_ARRAYS_SQL`].
pub(crate) const MEMBER_ARRAY_COLUMNS: &str = "mem.m_ids, mem.m_kinds, mem.m_displays, mem.m_domains";

/// How many columns [`MEMBER_ARRAY_COLUMNS`] are.
pub(crate) const MEMBER_ARRAY_COLUMN_COUNT: usize = 4;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn both_column_lists_name_the_columns_from_row_reads() {
        assert_eq!(COLUMNS.split(", ").count(), COLUMN_COUNT);
        assert_eq!(COLUMNS_OF_R.replace("r.", "x."), COLUMNS);
        assert!(COLUMNS.starts_with("x.seq, x.id, ") && COLUMNS.ends_with(", x.claims"));
        assert_eq!(IN_GROUPS_OF_R.replace("r.", "x."), IN_GROUPS);
    }

    #[test]
    fn claims_are_written_as_one_json_object() {
        let claims: Claims = [("urn:x:a".to_owned(), serde_json::json!([1, "é"]))].into_iter().collect();
        let mut buf = BytesMut::new();
        ClaimsJson(&claims).to_sql(&Type::JSONB, &mut buf).unwrap();
        assert_eq!(&buf[..], b"\x01{\"urn:x:a\":[1,\"\xc3\xa9\"]}");
        let ClaimsFromDb(back) = ClaimsFromDb::from_sql(&Type::JSONB, &buf).unwrap();
        assert_eq!(back, claims);
    }
}
