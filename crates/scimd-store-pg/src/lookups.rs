//! Lookups by userName, answered together.
//!
//! Entra ID and Okta look a user up by `userName eq "…"` before each create, so under load
//! most reads are this one lookup. For PostgreSQL, what such a statement costs is mostly the
//! statement (a wake-up, a bind, an executor start, a reply), not the index read. Lookups that
//! arrive together share one statement (the names as an array, each name's row read by the
//! unique index), as [`scimd_store::together`] gathers them: one such statement in flight on
//! each shared connection, each started after every lookup it answers was asked, nothing kept
//! between them.
//!
//! A statement that fails (a connection lost) fails no lookup: each one it was to answer runs
//! alone, and gets its own answer or error.

use scimd_claims::ClaimPath;
use scimd_claims::claims::USER_NAME;
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::together::{Together, Turn};
use scimd_store::{ClaimFilter, ResourceKind, StoreQuery, StoredResource};

use crate::error::{OpError, OpResult, corrupt, from_pg};
use crate::filter::compile;
use crate::readers::Readers;
use crate::resource::{COLUMN_COUNT, COLUMNS_OF_R, IN_GROUPS_OF_R, from_row};
use crate::sql::Sql;

/// At most this many lookups in one statement.
const MOST: usize = 64;

/// A user a lookup found: its seq, the user, and whether it belongs to any group.
pub(crate) type Found = (i64, StoredResource, bool);

/// The name of a lookup `query` is, if it can be answered together with others: a lookup by
/// userName ([`StoreQuery::user_name_lookup`]) whose name PostgreSQL text can hold (no NUL,
/// which would fail the statement of the others).
pub(crate) fn user_name_lookup(query: &StoreQuery) -> Option<&str> {
    query.user_name_lookup().filter(|name| !name.contains('\0'))
}

/// The statement of a batch: for each name of the array `$1` (with its position), the user
/// whose userName equals it, matched as the filter compiler matches `userName eq` (the same
/// text, with the name in place of the parameter), each by its own read of the unique index.
fn statement() -> OpResult<String> {
    let mut sql = Sql::default();
    let filter = ClaimFilter::Compare {
        path: ClaimPath::Claim { claim: USER_NAME.to_owned(), sub: None },
        op: CompareOp::Eq,
        value: CompValue::Str(String::new()),
        attr_type: AttrType::String,
        case_exact: false,
    };
    let condition = compile(ResourceKind::User, &filter, &mut sql)?;
    if sql.params.len() != 1 || condition.matches("$1").count() != 1 {
        return Err(corrupt(format!("an unexpected userName equality: {condition}")));
    }
    let condition = condition.replace("$1", "n.name");
    // `OFFSET 0` keeps the subquery a subquery: read once per name, by the index, whatever the
    // planner guesses of the array's length.
    Ok(format!(
        "SELECT n.at, {COLUMNS_OF_R}{IN_GROUPS_OF_R} \
         FROM unnest($1::text[]) WITH ORDINALITY AS n (name, at) \
         CROSS JOIN LATERAL (SELECT * FROM resources AS r WHERE r.kind = 1 AND {condition} OFFSET 0) AS r"
    ))
}

/// `EXPLAIN` of the generic plan of the statement of a batch (diagnostics; the index tests).
pub(crate) async fn explain(client: &mut deadpool_postgres::Object) -> OpResult<String> {
    crate::read::explain_sql(client, &statement()?, &["text[]"], &["ARRAY['kim', 'Alex']".to_owned()]).await
}

/// The lookups of one store waiting for a statement.
pub(crate) struct Lookups {
    together: Together<String, Option<Found>>,
    sql: String,
}

impl Lookups {
    /// Lookups answered together on the shared connections of `readers`. `None` when there
    /// are none to share.
    pub(crate) fn new(readers: &Readers) -> OpResult<Option<Lookups>> {
        if readers.count() == 0 {
            return Ok(None);
        }
        // One statement of lookups in flight on each shared connection: a second one, sent
        // while the backend answers the first, spares it a wake-up but makes the batches
        // smaller, and a statement costs more than twice a lookup in it (scimbench filter-eq
        // c=16, six alternated rounds: 0-27% more lookups per second with one, median 10%).
        Ok(Some(Lookups { together: Together::new(readers.count(), MOST), sql: statement()? }))
    }

    /// The user named `name` (none: no such user), or `None` if the lookup must run alone (the
    /// statement it was in failed).
    pub(crate) async fn find(&self, readers: &Readers, name: &str) -> Option<Option<Found>> {
        let batch = match self.together.join(name.to_owned(), |_, _| true).await {
            Turn::Answered(found) => return Some(found),
            Turn::Alone => return None,
            Turn::Lead(batch) => batch,
        };
        let names: Vec<&str> = batch.items().map(String::as_str).collect();
        match run(readers, &self.sql, &names).await {
            Ok(found) => batch.answer(found),
            Err(e) => {
                tracing::debug!(error = ?e, lookups = names.len(), "a statement of lookups failed; each runs alone");
                batch.alone();
                None
            }
        }
    }
}

/// The user each of `names` names, in their order.
async fn run(readers: &Readers, sql: &str, names: &[&str]) -> OpResult<Vec<Option<Found>>> {
    let client = readers.client().await.map_err(OpError::Store)?;
    let stmt = client.prepare_cached(sql).await.map_err(from_pg)?;
    let rows = client.query(&stmt, &[&names]).await.map_err(from_pg)?;
    let mut found: Vec<Option<Found>> = (0..names.len()).map(|_| None).collect();
    for row in &rows {
        let at: i64 = row.try_get(0).map_err(from_pg)?;
        let slot = usize::try_from(at - 1)
            .ok()
            .and_then(|i| found.get_mut(i))
            .ok_or_else(|| corrupt(format!("a lookup at position {at}")))?;
        let (seq, user) = from_row(row, 1)?;
        let in_groups: bool = row.try_get(1 + COLUMN_COUNT).map_err(from_pg)?;
        *slot = Some((seq, user, in_groups));
    }
    Ok(found)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    use scimd_store_testkit::fixtures::{compare, users};

    #[test]
    fn a_name_postgresql_text_cannot_hold_runs_alone() {
        assert_eq!(user_name_lookup(&users(compare(USER_NAME, CompareOp::Eq, "kim", false))), Some("kim"));
        // PostgreSQL text holds no NUL: such a name would fail the statement of the others.
        assert_eq!(user_name_lookup(&users(compare(USER_NAME, CompareOp::Eq, "k\0m", false))), None);
    }

    #[test]
    fn the_statement_matches_names_as_the_filter_compiler_does() {
        let sql = statement().unwrap();
        let mut single = Sql::default();
        let condition =
            compile(ResourceKind::User, &compare(USER_NAME, CompareOp::Eq, "kim", false), &mut single)
                .unwrap();
        assert!(sql.contains(&condition.replace("$1", "n.name")), "{sql}");
        assert!(sql.contains("WHERE r.kind = 1 AND "), "{sql}");
        assert!(sql.contains(" OFFSET 0)"), "{sql}");
        assert!(sql.starts_with(&format!("SELECT n.at, {COLUMNS_OF_R}{IN_GROUPS_OF_R} FROM")), "{sql}");
    }
}
