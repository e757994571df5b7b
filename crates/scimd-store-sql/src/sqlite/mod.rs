//! The embedded SQLite store.
//!
//! # Durability
//! The database runs in WAL mode with `synchronous=NORMAL`: a commit is appended to the WAL
//! before the call returns, so an acknowledged write survives a kill of the process; only an OS
//! crash or power loss can lose the last commits (the WAL is synced at checkpoints, not at every
//! commit). That is the trade the store makes for write throughput.

mod batch;
mod checkpoint;
mod emails;
mod error;
mod filter;
mod folded;
mod order;
mod pool;
mod read;
mod resource;
mod schema;
mod settings;
mod write;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags};
use scimd_store::{
    MemberChange, Membership, NewResource, Page, Replacement, ResourceKind, SettingsStore, StoreError,
    StoreQuery, StoreResult, StoredResource, UserStore,
};
use time::OffsetDateTime;

use error::from_sqlite;
use pool::Pool;

/// How [`SqliteStore::open`] sets up its connections.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Reader connections (reads run in parallel up to this many); at least one is opened.
    pub read_connections: usize,
    /// How long a connection waits for a lock held by another process before giving up with
    /// [`StoreError::Unavailable`].
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions { read_connections: 4, busy_timeout: Duration::from_secs(5) }
    }
}

/// The embedded SQLite user store: one writer connection, a few readers, one file.
pub struct SqliteStore {
    writer: Arc<Pool>,
    readers: Arc<Pool>,
    /// Creation order per kind, for unfiltered paging (see `order`).
    order: Arc<order::Order>,
    /// Creates waiting for the writer, committed together.
    creates: Arc<batch::Creates>,
    path: PathBuf,
    /// Checkpoints the WAL off the write path (see `checkpoint`).
    _checkpointer: checkpoint::Checkpointer,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Statements kept prepared per connection (the filter shapes of queries vary).
const STATEMENT_CACHE: usize = 64;

impl SqliteStore {
    /// A page, and with `with_memberships` the groups of each of its resources, in one read
    /// transaction on one connection.
    async fn page(
        &self,
        query: &StoreQuery,
        with_memberships: bool,
    ) -> StoreResult<(Page, Vec<Vec<Membership>>)> {
        // An unfiltered list in creation order starts at a seq the order knows: no OFFSET walk,
        // no count(*).
        if query.filter == scimd_store::ClaimFilter::All && query.sort.is_none() {
            query.check_keyset()?;
            // `end`: a backward page stops before its position, even if resources between its
            // first and the position were deleted since the order was read.
            let (total, first, limit, end) = match (&query.after, &query.before) {
                (Some(after), _) => {
                    let (total, first) = self.order.after(query.kind, after.seq)?;
                    (total, first, query.limit, None)
                }
                (None, Some(before)) => {
                    let end = match before {
                        scimd_store::Before::Position(p) => Some(p.seq),
                        scimd_store::Before::End => None,
                    };
                    let (total, first, limit) = self.order.before(query.kind, end, query.limit)?;
                    (total, first, limit, end)
                }
                (None, None) => {
                    let (total, first) = self.order.window(query.kind, query.offset)?;
                    (total, first, query.limit, None)
                }
            };
            let (kind, with_members) = (query.kind, query.with_members);
            let (items, keys, groups) = match first {
                Some(first) if limit > 0 => {
                    self.readers
                        .run_inline(|conn| {
                            read::page_from(
                                conn,
                                kind,
                                first..end.unwrap_or(i64::MAX),
                                limit,
                                with_members,
                                with_memberships,
                            )
                        })
                        .await?
                }
                _ => (Vec::new(), Vec::new(), Vec::new()),
            };
            return Ok((Page { total, items, keys }, groups));
        }
        let kind_total = self.order.window(query.kind, 0)?.0;
        if query.limit <= INLINE_QUERY_LIMIT && narrowed_by_index(&query.filter) {
            return self
                .readers
                .run_inline(|conn| read::query_rows(conn, query, with_memberships, kind_total))
                .await;
        }
        let query = query.clone();
        self.readers.run(move |conn| read::query_rows(conn, &query, with_memberships, kind_total)).await
    }

    /// Opens the store at `path`, creating the file and its parent directory if absent, and
    /// brings its schema up to date. A database written by a newer scimd is refused.
    pub async fn open(path: &Path, options: SqliteOptions) -> StoreResult<SqliteStore> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || open_blocking(path, &options))
            .await
            .map_err(|e| StoreError::Backend(format!("opening the store failed: {e}")))?
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open_blocking(path: PathBuf, options: &SqliteOptions) -> StoreResult<SqliteStore> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Backend(format!("cannot create the directory {}: {e}", parent.display()))
        })?;
    }
    let mut writer = connect(&path, options)?;
    // journal_mode is persistent in the file; set it before anything else writes.
    let mode: String =
        writer.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(from_sqlite)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!("the database refused WAL mode (it is in {mode} mode)")));
    }
    // Checkpoints run on a thread of their own; the writer's only restart the WAL (see
    // `checkpoint`).
    writer
        .pragma_update(None, "wal_autocheckpoint", checkpoint::WRITER_CHECKPOINT_FRAMES)
        .map_err(from_sqlite)?;
    schema::migrate(&mut writer)?;
    let order = Arc::new(order::Order::load(&writer)?);
    let readers = (0..options.read_connections.max(1))
        .map(|_| {
            let conn = connect(&path, options)?;
            conn.pragma_update(None, "query_only", true).map_err(from_sqlite)?;
            Ok(conn)
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let checkpointer = checkpoint::Checkpointer::start(connect(&path, options)?)
        .map_err(|e| StoreError::Backend(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(SqliteStore {
        writer: Pool::new(vec![writer]),
        readers: Pool::new(readers),
        order,
        creates: Arc::default(),
        path,
        _checkpointer: checkpointer,
    })
}

/// Opens and configures one connection.
fn connect(path: &Path, options: &SqliteOptions) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(from_sqlite)?;
    conn.busy_timeout(options.busy_timeout).map_err(from_sqlite)?;
    // See the module docs: durable across process crashes, not across power loss.
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(from_sqlite)?;
    conn.pragma_update(None, "foreign_keys", true).map_err(from_sqlite)?;
    // Sorting and recursive membership queries build temporary b-trees: keep them in memory.
    conn.pragma_update(None, "temp_store", "MEMORY").map_err(from_sqlite)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // The store's one case folding (Rust's `to_lowercase`), so SQL comparisons agree with the
    // `_ci` columns written from Rust; SQLite's own `lower()` folds ASCII only.
    conn.create_scalar_function(
        "scimd_lower",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                ValueRef::Text(t) => SqlValue::Text(resource::fold_case(&String::from_utf8_lossy(t))),
                ValueRef::Null => SqlValue::Null,
                ValueRef::Integer(i) => SqlValue::Integer(i),
                ValueRef::Real(r) => SqlValue::Real(r),
                ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
            })
        },
    )
    .map_err(from_sqlite)?;
    // RFC 3339 text to the store's canonical UTC text (NULL if it is not a dateTime), so that
    // dateTimes written with any offset compare and sort as instants.
    conn.create_scalar_function(
        "scimd_instant",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                ValueRef::Text(t) => scimd_store::stored_time::instant(&String::from_utf8_lossy(t))
                    .map_or(SqlValue::Null, SqlValue::Text),
                _ => SqlValue::Null,
            })
        },
    )
    .map_err(from_sqlite)?;
    Ok(conn)
}

/// Queries narrowed by an index to a few rows, asking for at most this many, run on the calling
/// thread (an index probe and a page of rows: well under a millisecond). Anything that may scan
/// the table (a `co` on a claim, a sort of every row, the candidates of an in-memory filter)
/// runs on the blocking pool, so that it never holds up other requests.
const INLINE_QUERY_LIMIT: u64 = 1000;

/// Whether an index lookup narrows the filter's rows: an equality on an indexed claim or
/// column, an AND with one, an OR of such.
fn narrowed_by_index(filter: &scimd_store::ClaimFilter) -> bool {
    use scimd_claims::filter::{ClaimPath, Column};
    use scimd_store::ClaimFilter as F;
    filter.narrowed_by(&|leaf| match leaf {
        F::Eq { claim, .. } => scimd_claims::claims::INDEXED.contains(&claim.as_str()),
        F::Compare { path, op: scimd_core::filter::CompareOp::Eq, .. } => match path {
            ClaimPath::Claim { claim, sub: None } => scimd_claims::claims::INDEXED.contains(&claim.as_str()),
            ClaimPath::Column(Column::Id) => true,
            _ => false,
        },
        _ => false,
    })
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create(&self, new: NewResource) -> StoreResult<StoredResource> {
        // Committed with the creates that wait for the writer with it (see `batch`).
        self.creates.create(&self.writer, &self.order, new).await
    }

    async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
        with_members: bool,
    ) -> StoreResult<Option<StoredResource>> {
        if with_members && kind == ResourceKind::Group {
            // A group's members can be many (100,000): read them on the blocking pool.
            let id = id.to_owned();
            return self.readers.run(move |conn| read::get(conn, kind, &id, true)).await;
        }
        self.readers.run_inline(|conn| read::get(conn, kind, id, false)).await
    }

    async fn change_members(&self, change: MemberChange) -> StoreResult<StoredResource> {
        self.writer.run(move |conn| write::change_members(conn, change)).await
    }

    async fn replace(&self, replacement: Replacement) -> StoreResult<StoredResource> {
        self.writer.run(move |conn| write::replace(conn, replacement)).await
    }

    async fn delete(&self, kind: ResourceKind, id: &str, expected_version: Option<u64>) -> StoreResult<()> {
        let id = id.to_owned();
        // The trait gives no time; the groups the resource leaves take the clock's.
        let now = OffsetDateTime::now_utc();
        let order = Arc::clone(&self.order);
        self.writer
            .run(move |conn| {
                let seq = write::delete(conn, kind, &id, expected_version, now)?;
                order.removed(kind, seq)
            })
            .await
    }

    async fn query(&self, query: &StoreQuery) -> StoreResult<Page> {
        Ok(self.page(query, false).await?.0)
    }

    async fn members_slice(
        &self,
        id: &str,
        after: Option<i64>,
        limit: usize,
    ) -> StoreResult<Option<scimd_store::MembersSlice>> {
        // A slice is a bounded read of two indexes: on the calling thread, as a page is.
        self.readers.run_inline(|conn| read::members_slice(conn, id, after, limit)).await
    }

    async fn holds_members_of_other_domains(&self) -> StoreResult<bool> {
        self.readers
            .run_inline(|conn| {
                conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM external_members)")
                    .map_err(from_sqlite)?
                    .query_row([], |row| row.get::<_, bool>(0))
                    .map_err(from_sqlite)
            })
            .await
    }

    async fn forget_member(&self, id: &str) -> StoreResult<()> {
        let id = id.to_owned();
        let now = OffsetDateTime::now_utc();
        self.writer.run(move |conn| write::forget_member(conn, &id, now)).await
    }

    async fn remove_claim(&self, kind: ResourceKind, claim: &str) -> StoreResult<u64> {
        let claim = claim.to_owned();
        self.writer.run(move |conn| write::remove_claim(conn, kind, &claim)).await
    }

    async fn query_with_memberships(&self, query: &StoreQuery) -> StoreResult<(Page, Vec<Vec<Membership>>)> {
        self.page(query, true).await
    }

    async fn memberships(&self, id: &str) -> StoreResult<Vec<Membership>> {
        self.readers.run_inline(|conn| read::memberships(conn, id)).await
    }

    async fn get_with_memberships(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> StoreResult<Option<(StoredResource, Vec<Membership>)>> {
        self.readers.run_inline(|conn| read::get_with_memberships(conn, kind, id)).await
    }

    async fn memberships_of(&self, ids: &[String]) -> StoreResult<Vec<Vec<Membership>>> {
        self.readers.run_inline(|conn| read::memberships_of(conn, ids)).await
    }
}

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn load_setting(&self, key: &str) -> StoreResult<Option<(serde_json::Value, u64)>> {
        let key = key.to_owned();
        self.readers.run(move |conn| settings::load(conn, &key)).await
    }

    async fn save_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
        expected: Option<u64>,
    ) -> StoreResult<u64> {
        let (key, value) = (key.to_owned(), value.clone());
        self.writer.run(move |conn| settings::save(conn, &key, &value, expected)).await
    }
}
