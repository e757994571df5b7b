//! Lookups by userName, answered together.
//!
//! Entra ID and Okta look a user up by `userName eq "…"` before each create, so under load
//! most reads are this one lookup. For PostgreSQL, what such a statement costs is mostly the
//! statement (a wake-up, a bind, an executor start, a reply), not the index read. Here
//! concurrent lookups share one statement: while a statement of lookups is in flight on each
//! shared connection, the lookups that arrive wait in a queue, and the next statement answers
//! all of them at once (the names as an array, each name's row read by the unique index). A
//! lookup on an idle server waits for nobody; the busier the server, the more lookups a
//! statement answers.
//!
//! Each statement starts after every lookup it answers was asked: a lookup sees every write
//! that was done before it was asked, as when it runs alone. Nothing is kept between
//! statements (several nodes may share the database).
//!
//! A statement that fails (a connection lost, a name the database's encoding cannot hold)
//! fails no lookup: each one it was to answer runs alone, and gets its own answer or error.

use std::sync::Arc;

use scimd_claims::ClaimPath;
use scimd_claims::claims::USER_NAME;
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{ClaimFilter, ResourceKind, StoreQuery, StoredResource};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::error::{OpResult, corrupt, from_pg};
use crate::filter::compile;
use crate::readers::Readers;
use crate::resource::{COLUMN_COUNT, COLUMNS_OF_R, from_row};
use crate::sql::Sql;

/// At most this many lookups in one statement.
const MOST: usize = 64;

/// A user a lookup found: its seq, the user, and whether it belongs to any group.
pub(crate) type Found = (i64, StoredResource, bool);

/// The name of a lookup `query` is, if it is one that can be answered together with others:
/// the first page of users whose userName equals the name (without regard to case, as
/// userName compares: RFC 7643 §4.1.1), in creation order.
pub(crate) fn user_name_lookup(query: &StoreQuery) -> Option<&str> {
    let first_page = query.kind == ResourceKind::User
        && query.limit > 0
        && query.offset == 0
        && query.sort.is_none()
        && query.after.is_none()
        && query.before.is_none();
    match &query.filter {
        ClaimFilter::Compare {
            path: ClaimPath::Claim { claim, sub: None },
            op: CompareOp::Eq,
            value: CompValue::Str(name),
            attr_type: AttrType::String,
            case_exact: false,
        } if first_page && claim == USER_NAME && !name.contains('\0') => Some(name),
        _ => None,
    }
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
        "SELECT n.at, {COLUMNS_OF_R}, EXISTS (SELECT 1 FROM members AS g WHERE g.member_id = r.id) \
         FROM unnest($1::text[]) WITH ORDINALITY AS n (name, at) \
         CROSS JOIN LATERAL (SELECT * FROM resources AS r WHERE r.kind = 1 AND {condition} OFFSET 0) AS r"
    ))
}

/// `EXPLAIN` of the generic plan of the statement of a batch (diagnostics; the index tests).
pub(crate) async fn explain(client: &mut deadpool_postgres::Object) -> OpResult<String> {
    crate::read::explain_sql(client, &statement()?, &["text[]"], &["ARRAY['kim', 'Alex']".to_owned()]).await
}

/// A lookup waiting for its statement.
struct Lookup {
    name: String,
    /// `None`: the statement failed; the lookup runs alone.
    reply: oneshot::Sender<Option<Option<Found>>>,
}

/// The queue of lookups, and the task that answers them.
pub(crate) struct Lookups {
    queue: mpsc::UnboundedSender<Lookup>,
}

impl Lookups {
    /// Starts answering lookups on the shared connections of `readers` (at most one statement
    /// in flight on each). `None` when there are none to share.
    pub(crate) fn start(readers: Arc<Readers>) -> OpResult<Option<Lookups>> {
        if readers.count() == 0 {
            return Ok(None);
        }
        let sql = statement()?;
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(gather(waiting, readers, sql));
        Ok(Some(Lookups { queue }))
    }

    /// The user named `name` (none: no such user), or `None` if the lookup must run alone
    /// (its statement failed, or the task that answers lookups ended with its runtime).
    pub(crate) async fn find(&self, name: &str) -> Option<Option<Found>> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Lookup { name: name.to_owned(), reply }).ok()?;
        answer.await.ok().flatten()
    }
}

/// Takes the lookups waiting whenever a shared connection has no statement in flight, and
/// sends them as one statement. Ends when the store is dropped.
async fn gather(mut waiting: mpsc::UnboundedReceiver<Lookup>, readers: Arc<Readers>, sql: String) {
    let in_flight = Arc::new(Semaphore::new(readers.count()));
    let sql: Arc<str> = sql.into();
    loop {
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else { return };
        let Some(first) = waiting.recv().await else { return };
        let mut batch = vec![first];
        while batch.len() < MOST {
            match waiting.try_recv() {
                Ok(lookup) => batch.push(lookup),
                Err(_) => break,
            }
        }
        let (readers, sql) = (Arc::clone(&readers), Arc::clone(&sql));
        tokio::spawn(async move {
            answer(&readers, &sql, batch).await;
            drop(permit);
        });
    }
}

/// Runs one statement for `batch` and replies to each lookup.
async fn answer(readers: &Readers, sql: &str, batch: Vec<Lookup>) {
    let names: Vec<&str> = batch.iter().map(|l| l.name.as_str()).collect();
    match run(readers, sql, &names).await {
        Ok(found) => {
            for (lookup, found) in batch.into_iter().zip(found) {
                // A lookup whose request went away takes no answer.
                let _ = lookup.reply.send(Some(found));
            }
        }
        Err(e) => {
            tracing::debug!(error = ?e, lookups = batch.len(), "a statement of lookups failed; each runs alone");
            for lookup in batch {
                let _ = lookup.reply.send(None);
            }
        }
    }
}

/// The user each of `names` names, in their order.
async fn run(readers: &Readers, sql: &str, names: &[&str]) -> OpResult<Vec<Option<Found>>> {
    let client = readers.client().await.map_err(crate::error::OpError::Store)?;
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

    fn user_name(op: CompareOp, case_exact: bool) -> ClaimFilter {
        ClaimFilter::Compare {
            path: ClaimPath::Claim { claim: USER_NAME.into(), sub: None },
            op,
            value: CompValue::Str("kim".into()),
            attr_type: AttrType::String,
            case_exact,
        }
    }

    fn users(filter: ClaimFilter) -> StoreQuery {
        StoreQuery {
            kind: ResourceKind::User,
            filter,
            limit: 100,
            offset: 0,
            sort: None,
            after: None,
            before: None,
            with_members: false,
        }
    }

    #[test]
    fn only_the_first_page_of_a_user_name_equality_is_a_lookup() {
        assert_eq!(user_name_lookup(&users(user_name(CompareOp::Eq, false))), Some("kim"));
        let not = [
            users(user_name(CompareOp::Sw, false)),
            users(user_name(CompareOp::Eq, true)),
            StoreQuery { kind: ResourceKind::Group, ..users(user_name(CompareOp::Eq, false)) },
            StoreQuery { limit: 0, ..users(user_name(CompareOp::Eq, false)) },
            StoreQuery { offset: 1, ..users(user_name(CompareOp::Eq, false)) },
            users(ClaimFilter::And(vec![user_name(CompareOp::Eq, false)])),
        ];
        for query in &not {
            assert_eq!(user_name_lookup(query), None, "{query:?}");
        }
        // PostgreSQL text holds no NUL: such a name would fail the statement of the others.
        let mut nul = users(user_name(CompareOp::Eq, false));
        if let ClaimFilter::Compare { value, .. } = &mut nul.filter {
            *value = CompValue::Str("k\0m".into());
        }
        assert_eq!(user_name_lookup(&nul), None);
    }

    #[test]
    fn the_statement_matches_names_as_the_filter_compiler_does() {
        let sql = statement().unwrap();
        let mut single = Sql::default();
        let condition = compile(ResourceKind::User, &user_name(CompareOp::Eq, false), &mut single).unwrap();
        assert!(sql.contains(&condition.replace("$1", "n.name")), "{sql}");
        assert!(sql.contains("WHERE r.kind = 1 AND "), "{sql}");
        assert!(sql.contains(" OFFSET 0)"), "{sql}");
        assert!(sql.starts_with(&format!("SELECT n.at, {COLUMNS_OF_R}, EXISTS")), "{sql}");
    }
}
