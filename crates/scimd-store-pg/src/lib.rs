//! The PostgreSQL user store: a domain kept in PostgreSQL, which several scimd nodes can share.
//!
//! [`PgStore`] implements [`scimd_store::UserStore`] (and [`scimd_store::SettingsStore`], for
//! the admin state of a PRIMARY store shared by several nodes) with the semantics of the
//! embedded SQLite store: every claim kept losslessly in a `jsonb` column, userName unique
//! without regard to case, versions from 1 up, members in the order they were added, nested
//! groups, members from other domains, and every [`scimd_store::ClaimFilter`] compiled into one
//! SQL statement.
//!
//! ```no_run
//! # async fn demo() -> scimd_store::StoreResult<()> {
//! use scimd_store_pg::PgStore;
//! let store = PgStore::connect("postgres://scimd:secret@db.internal/scimd", 16).await?;
//! # drop(store); Ok(()) }
//! ```
//!
//! # Layout
//! - `store.rs`: [`PgStore`], [`PgStore::connect`], the connection pool, the retry of writes on
//!   serialization failures and deadlocks, and the [`scimd_store::UserStore`] implementation.
//! - `schema.rs` and `migrations/*.sql`: the versioned schema (table `scimd_migrations`),
//!   migrated at connect under a transaction-scoped advisory lock, so that nodes starting at
//!   once migrate one after the other; a schema newer than the code is refused.
//! - `readers.rs`: the few connections that reads an index narrows share, pipelined (the
//!   rest of the pool serves writes and scans).
//! - `lookups.rs`: lookups by userName (the one before each create) that arrive together,
//!   answered by one statement on a shared connection.
//! - `sql.rs`: `Sql`, a statement being built with its numbered, typed
//!   parameters.
//! - `filter.rs`: the compiler from a `ClaimFilter` and a `SortKey` to SQL over `jsonb`.
//! - `resource.rs`: rows to and from `StoredResource`, claims to and from `jsonb`, kind codes,
//!   the time format.
//! - `read.rs`: get, query (page and exact total in one statement), memberships (one recursive
//!   statement for one resource or a page of them).
//! - `write.rs`: create, replace, change_members, delete, forget_member, remove_claim.
//! - `members.rs`: resolving the members a write names, and writing them as a difference.
//! - `settings.rs`: versioned admin documents.
//! - `error.rs`: PostgreSQL errors to [`scimd_store::StoreError`], constraints by name.
//! - `examples/throughput.rs`: a rough check of create, lookup and page rates.
//!
//! # Invariants
//! - Each trait call is one transaction; reads are single statements (one snapshot each).
//! - Values are bound parameters, never SQL text. Claim names are bound too, except the fixed
//!   claims of the expression indexes (userName, externalId, displayName, emails), which are
//!   written as literals from constants so that the planner matches the indexes; kind codes,
//!   LIMIT and OFFSET are integers of the store's own, written into the text.
//! - Built statements are prepared once per connection (a bounded cache): a lookup by userName
//!   is planned once, not at every request.
//! - Concurrency is handled by the database: row locks, unique indexes and `version`, never by
//!   process-local locks, so that any number of nodes may share one database.
//! - A server that cannot be reached is [`scimd_store::StoreError::Unavailable`], never a panic.
//! - TLS as the URL's `sslmode` asks (`prefer` by default), always with the server's
//!   certificate and name checked (`tls.rs`).

mod error;
mod filter;
mod lookups;
mod members;
mod read;
mod readers;
mod resource;
mod schema;
mod settings;
mod sql;
mod store;
mod tls;
mod write;

pub use store::PgStore;
