//! [`PgStore`]: the connection pool and the [`UserStore`] implementation.
//!
//! Reads are single statements. Writes run on a connection of the pool; a write that fails
//! with a serialization failure or a deadlock (two nodes changing the same rows in different
//! orders) is run again from the start, up to [`WRITE_ATTEMPTS`] times: each attempt is one
//! transaction, so a failed one left nothing behind.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{ClientWrapper, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use scimd_store::{
    Keyset, MemberChange, Membership, NewResource, Page, Replacement, ResourceKind, SettingsStore,
    StoreError, StoreQuery, StoreResult, StoredResource, UserStore,
};
use time::OffsetDateTime;
use tokio_postgres::config::SslMode;

use crate::error::{OpError, from_pool};
use crate::filter::narrowed_by_index;
use crate::lookups::{Found, Lookups, user_name_lookup};
use crate::readers::Readers;
use crate::tls::MakeTls;
use crate::{read, schema, settings, write};

/// How many times a write is attempted when the database asks for a retry.
const WRITE_ATTEMPTS: u32 = 10;
/// How long a new connection may take when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an operation waits for a free connection of the pool.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// The connection settings of `url`. libpq's `sslmode=verify-ca` and `verify-full`, which
/// tokio-postgres does not read, are taken as `require`: TLS here checks the certificate and
/// the name in every mode (tls.rs). The URL may hold a password: an error names the option at
/// fault, never the URL.
fn parse_url(url: &str) -> StoreResult<tokio_postgres::Config> {
    let url =
        url.replace("sslmode=verify-full", "sslmode=require").replace("sslmode=verify-ca", "sslmode=require");
    url.parse().map_err(|e: tokio_postgres::Error| {
        let why = std::error::Error::source(&e).map(ToString::to_string).filter(|s| s.contains("option `"));
        let hint = if why.as_deref().is_some_and(|w| w.contains("`sslrootcert`")) {
            " (the domain's `ca_file` names the CAs to trust)"
        } else {
            ""
        };
        StoreError::Backend(match why {
            Some(why) => format!("the PostgreSQL URL is not valid: {why}{hint}"),
            None => "the PostgreSQL URL is not valid".to_owned(),
        })
    })
}

/// The PostgreSQL user store: a pool of connections to one database (and schema), and a few
/// connections that point reads share (see `readers.rs`), where the lookups by userName that
/// arrive together are answered by one statement (see `lookups.rs`).
pub struct PgStore {
    pool: Pool,
    readers: Readers,
    lookups: Option<Lookups>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("pool", &self.pool.status()).finish()
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`, with the
    /// usual parameters, e.g. `?options=-c%20search_path%3Dscimd` to keep scimd's tables in a
    /// schema of their own) with a pool of at most `pool_size` connections (at least one), and
    /// brings the schema up to date. A server that cannot be reached is
    /// [`StoreError::Unavailable`]; a schema written by a newer scimd is refused.
    pub async fn connect(url: &str, pool_size: u32) -> StoreResult<PgStore> {
        PgStore::connect_with(url, pool_size, None).await
    }

    /// [`PgStore::connect`], trusting the CAs of `ca_file` (PEM) rather than the system's for
    /// TLS (see `tls.rs`: the URL's `sslmode` says when TLS is used; a TLS connection always
    /// checks the server's certificate and name).
    pub async fn connect_with(url: &str, pool_size: u32, ca_file: Option<&Path>) -> StoreResult<PgStore> {
        let mut config = parse_url(url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("scimd");
        }
        // Generic plans: the store's statements are built so that a generic plan uses the
        // indexes (tests/pg/indexes.rs checks it). Left to itself, PostgreSQL keeps planning
        // some of them anew at every execution (custom plans), which cost ten times the
        // execution of an indexed lookup. Options the URL gives come after, and win.
        let options = match config.get_options() {
            Some(given) => format!("-c plan_cache_mode=force_generic_plan {given}"),
            None => "-c plan_cache_mode=force_generic_plan".to_owned(),
        };
        config.options(&options);
        // Of `pool_size` connections, a quarter (at most one per core) are shared by point
        // reads; the pool keeps the rest, at least one.
        let size = usize::try_from(pool_size.max(1)).unwrap_or(1);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let shared = (size / 4).min(cores);
        let tls = MakeTls::new(ca_file, config.get_ssl_mode() != SslMode::Disable)?;
        let readers = Readers::new(config.clone(), tls.clone(), shared);
        let lookups = Lookups::new(&readers).map_err(settle)?;
        let size = size - shared;
        let manager =
            Manager::from_config(config, tls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build the connection pool: {e}")))?;
        let mut client = pool.get().await.map_err(from_pool)?;
        schema::migrate(&mut client).await?;
        drop(client);
        Ok(PgStore { pool, readers, lookups })
    }

    /// The plan PostgreSQL makes for a query's statement (`EXPLAIN`, the generic plan): which
    /// indexes a filter uses. For diagnostics.
    pub async fn explain(&self, query: &StoreQuery) -> StoreResult<String> {
        let mut client = self.client().await?;
        read::explain(&mut client, query).await.map_err(settle)
    }

    /// The plan PostgreSQL makes for the statement that answers several lookups by userName at
    /// once (`EXPLAIN`, the generic plan). For diagnostics.
    pub async fn explain_lookups(&self) -> StoreResult<String> {
        let mut client = self.client().await?;
        crate::lookups::explain(&mut client).await.map_err(settle)
    }

    async fn client(&self) -> StoreResult<Object> {
        self.pool.get().await.map_err(from_pool)
    }

    /// A connection for a read that an index narrows: a shared one if there are any.
    async fn point_reader(&self) -> StoreResult<ReadClient> {
        if self.readers.any() {
            Ok(ReadClient::Shared(self.readers.client().await?))
        } else {
            Ok(ReadClient::Pooled(self.client().await?))
        }
    }

    /// The answer to `query` if it is a lookup by userName answered together with the others
    /// that came at once (see `lookups.rs`); `None` when it runs alone.
    async fn look_up(&self, query: &StoreQuery) -> Option<Option<Found>> {
        let name = user_name_lookup(query)?;
        self.lookups.as_ref()?.find(&self.readers, name).await
    }

    /// A connection for `query`: a shared one if an index narrows its filter, else one of the
    /// pool (a scan would hold up the reads pipelined behind it).
    async fn query_reader(&self, query: &StoreQuery) -> StoreResult<ReadClient> {
        if narrowed_by_index(query.kind, &query.filter) {
            self.point_reader().await
        } else {
            Ok(ReadClient::Pooled(self.client().await?))
        }
    }
}

/// The page of a lookup by userName (one user or none), and whether its user belongs to any
/// group.
fn page_of(found: Option<Found>) -> (Page, bool) {
    match found {
        Some((seq, user, in_groups)) => {
            (Page { total: 1, items: vec![user], keys: vec![Keyset { key: None, seq }] }, in_groups)
        }
        None => (Page { total: 0, items: Vec::new(), keys: Vec::new() }, false),
    }
}

/// A connection a read runs on. Held on the stack for one read: boxing the pool's object would
/// cost an allocation per read for nothing.
#[allow(clippy::large_enum_variant)]
enum ReadClient {
    Shared(Arc<ClientWrapper>),
    Pooled(Object),
}

impl Deref for ReadClient {
    type Target = ClientWrapper;

    fn deref(&self) -> &ClientWrapper {
        match self {
            ReadClient::Shared(client) => client,
            ReadClient::Pooled(object) => object,
        }
    }
}

/// One attempt's failure as the caller sees it (a read is never retried).
fn settle(err: OpError) -> StoreError {
    match err {
        OpError::Store(e) => e,
        OpError::Retry(why) => StoreError::Unavailable(format!("the database asked for a retry: {why}")),
    }
}

/// How long to wait before attempt `attempt + 1`: a few milliseconds, growing, with jitter so
/// that the writers that collided do not collide again.
fn backoff(attempt: u32) -> Duration {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos() % 1_000));
    Duration::from_micros(u64::from(attempt.min(6)) * 1_000 + jitter * u64::from(attempt.min(6)))
}

/// Runs a write (`$op`, an expression over the connection `$client`) until it succeeds, fails
/// for good, or has asked for a retry [`WRITE_ATTEMPTS`] times.
macro_rules! write_retrying {
    ($store:expr, |$client:ident| $op:expr) => {{
        let mut attempt = 1;
        loop {
            let mut $client = $store.client().await?;
            match $op.await {
                Ok(value) => break Ok(value),
                Err(OpError::Retry(why)) if attempt < WRITE_ATTEMPTS => {
                    tracing::debug!(attempt, %why, "retrying a PostgreSQL write");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                Err(err) => break Err(settle(err)),
            }
        }
    }};
}

#[async_trait]
impl UserStore for PgStore {
    async fn create(&self, new: NewResource) -> StoreResult<StoredResource> {
        write_retrying!(self, |client| write::create(&mut client, &new))
    }

    async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
        with_members: bool,
    ) -> StoreResult<Option<StoredResource>> {
        let client = self.point_reader().await?;
        read::get(&client, kind, id, with_members).await.map_err(settle)
    }

    async fn replace(&self, replacement: Replacement) -> StoreResult<StoredResource> {
        write_retrying!(self, |client| write::replace(&mut client, &replacement))
    }

    async fn change_members(&self, change: MemberChange) -> StoreResult<StoredResource> {
        write_retrying!(self, |client| write::change_members(&mut client, &change))
    }

    async fn delete(&self, kind: ResourceKind, id: &str, expected_version: Option<u64>) -> StoreResult<()> {
        // The trait gives no time; the groups the resource leaves take the clock's.
        let now = OffsetDateTime::now_utc();
        write_retrying!(self, |client| write::delete(&mut client, kind, id, expected_version, now))
    }

    async fn query(&self, query: &StoreQuery) -> StoreResult<Page> {
        if let Some(found) = self.look_up(query).await {
            return Ok(page_of(found).0);
        }
        let client = self.query_reader(query).await?;
        read::query(&client, query).await.map_err(settle)
    }

    async fn query_with_memberships(&self, query: &StoreQuery) -> StoreResult<(Page, Vec<Vec<Membership>>)> {
        if let Some(found) = self.look_up(query).await {
            let (page, in_groups) = page_of(found);
            // The user belongs to groups (most belong to none): a second statement reads them.
            let memberships = match page.items.first() {
                Some(user) if in_groups => self.memberships_of(std::slice::from_ref(&user.id)).await?,
                _ => vec![Vec::new(); page.items.len()],
            };
            return Ok((page, memberships));
        }
        // One statement for the page and its users' groups.
        let client = self.query_reader(query).await?;
        read::query_with_memberships(&client, query).await.map_err(settle)
    }

    async fn memberships(&self, id: &str) -> StoreResult<Vec<Membership>> {
        let client = self.point_reader().await?;
        read::memberships(&client, id).await.map_err(settle)
    }

    async fn get_with_memberships(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> StoreResult<Option<(StoredResource, Vec<Membership>)>> {
        let client = self.point_reader().await?;
        read::get_with_memberships(&client, kind, id).await.map_err(settle)
    }

    async fn members_slice(
        &self,
        id: &str,
        after: Option<i64>,
        limit: usize,
    ) -> StoreResult<Option<scimd_store::MembersSlice>> {
        let client = self.point_reader().await?;
        read::members_slice(&client, id, after, limit).await.map_err(settle)
    }

    async fn holds_members_of_other_domains(&self) -> StoreResult<bool> {
        let client = self.client().await?;
        read::holds_members_of_other_domains(&client).await.map_err(settle)
    }

    async fn forget_member(&self, id: &str) -> StoreResult<()> {
        let now = OffsetDateTime::now_utc();
        write_retrying!(self, |client| write::forget_member(&mut client, id, now))
    }

    async fn remove_claim(&self, kind: ResourceKind, claim: &str) -> StoreResult<u64> {
        write_retrying!(self, |client| write::remove_claim(&mut client, kind, claim))
    }

    async fn memberships_of(&self, ids: &[String]) -> StoreResult<Vec<Vec<Membership>>> {
        let client = self.point_reader().await?;
        read::memberships_of(&client, ids).await.map_err(settle)
    }
}

#[async_trait]
impl SettingsStore for PgStore {
    async fn load_setting(&self, key: &str) -> StoreResult<Option<(serde_json::Value, u64)>> {
        let client = self.client().await?;
        settings::load(&client, key).await.map_err(settle)
    }

    async fn save_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
        expected: Option<u64>,
    ) -> StoreResult<u64> {
        write_retrying!(self, |client| settings::save(&mut client, key, value, expected))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn libpq_verify_modes_read_as_require() {
        for mode in ["verify-full", "verify-ca", "require"] {
            let config = parse_url(&format!("postgres://scimd@db.example.com/scimd?sslmode={mode}")).unwrap();
            assert_eq!(config.get_ssl_mode(), SslMode::Require, "{mode}");
        }
        let config = parse_url("host=db.example.com dbname=scimd sslmode=verify-full").unwrap();
        assert_eq!(config.get_ssl_mode(), SslMode::Require);
        assert_eq!(parse_url("postgres://h/db").unwrap().get_ssl_mode(), SslMode::Prefer);
    }

    #[test]
    fn a_url_that_cannot_be_read_names_the_option_never_the_password() {
        let err = parse_url("postgres://scimd:hunter2@h/db?sslmode=sometimes").unwrap_err();
        let StoreError::Backend(message) = err else { panic!("{err:?}") };
        assert_eq!(message, "the PostgreSQL URL is not valid: invalid value for option `sslmode`");
        let err = parse_url("postgres://scimd:hunter2@h/db?sslrootcert=/x").unwrap_err();
        let StoreError::Backend(message) = err else { panic!("{err:?}") };
        assert!(
            message.ends_with("unknown option `sslrootcert` (the domain's `ca_file` names the CAs to trust)"),
            "{message}"
        );
        let err = parse_url("host='hunter2").unwrap_err();
        assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
    }
}
