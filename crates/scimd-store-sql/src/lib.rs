//! SQL user stores. Today: the embedded SQLite store, the PRIMARY domain by default.
//!
//! [`SqliteStore`] implements [`scimd_store::UserStore`] over one SQLite file: every claim is kept
//! losslessly as a JSON object, and the few claims that filters and uniqueness need (userName,
//! externalId, displayName) are copied into indexed columns on every write.
//!
//! ```no_run
//! # async fn demo() -> scimd_store::StoreResult<()> {
//! use scimd_store_sql::{SqliteOptions, SqliteStore};
//! let store = SqliteStore::open("data/scimd.db".as_ref(), SqliteOptions::default()).await?;
//! # drop(store); Ok(()) }
//! ```
//!
//! # Layout
//! - [`sqlite`]: the SQLite store.
//!   - `sqlite/mod.rs`: [`SqliteStore`], [`SqliteOptions`], opening, and the [`UserStore`]
//!     implementation, which runs each operation on a blocking thread as one transaction.
//!   - `sqlite/pool.rs`: one writer connection and a small pool of reader connections (WAL mode
//!     lets readers run beside the writer).
//!   - `sqlite/schema.rs` and `sqlite/migrations/*.sql`: the versioned schema (`PRAGMA
//!     user_version`) and its ordered migrations; a database newer than the code is refused.
//!   - `sqlite/resource.rs`: rows to and from [`scimd_store::StoredResource`], the derived
//!     columns, the time format.
//!   - `sqlite/write.rs`: create, replace (members by difference), delete.
//!   - `sqlite/batch.rs`: group commit: creates that wait for the writer together run in one
//!     transaction, each under a savepoint, and are answered after its commit.
//!   - `sqlite/read.rs`: get, query, memberships (recursive, cycle-safe).
//!   - `sqlite/filter.rs`: the compiler from [`scimd_store::ClaimFilter`] to one SQL `WHERE`.
//!   - `sqlite/error.rs`: SQLite errors to [`scimd_store::StoreError`], constraints by name.
//! - `examples/throughput.rs`: a rough check of create and get rates
//!   (`cargo run --release -p scimd-store-sql --example throughput`).
//!
//! # Invariants
//! - Each trait call is one transaction (`BEGIN IMMEDIATE` for writes, a deferred read
//!   transaction for reads, so a page and its total come from one snapshot), or one statement
//!   where a statement reads all (a point read, a lookup whose page answers alone); a create is
//!   one savepoint in its batch's transaction, applied whole or not at all.
//! - Filters are compiled to SQL with bound parameters only; claim names never enter SQL text.
//! - Acknowledged writes survive a process kill (WAL, `synchronous=NORMAL`); see `sqlite/mod.rs`.
//!
//! [`UserStore`]: scimd_store::UserStore

pub mod sqlite;

pub use sqlite::{SqliteOptions, SqliteStore};
