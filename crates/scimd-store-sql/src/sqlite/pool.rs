//! Connections and the blocking threads they run on.
//!
//! rusqlite is synchronous, so each operation runs in [`tokio::task::spawn_blocking`]. A
//! [`Pool`] holds a fixed set of connections and a semaphore with one permit per connection: a
//! caller waits for a permit asynchronously (no blocking thread is parked while it waits), then
//! takes a connection on the blocking thread and gives it back when done, even on panic.
//!
//! The store has two pools: the writer (exactly one connection, so writes are serialised in
//! process and never meet `SQLITE_BUSY` from each other) and the readers (WAL mode lets them
//! read committed snapshots while the writer writes).

use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use scimd_store::{StoreError, StoreResult};
use tokio::sync::Semaphore;

use super::error::poisoned;

/// A fixed set of connections.
pub(crate) struct Pool {
    conns: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl Pool {
    pub(crate) fn new(conns: Vec<Connection>) -> Arc<Pool> {
        let permits = Arc::new(Semaphore::new(conns.len()));
        Arc::new(Pool { conns: Mutex::new(conns), permits })
    }

    /// Runs `op` with a connection of the pool on a blocking thread.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable("the store is closed".to_owned()))?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut lease = pool.take()?;
            op(lease.conn()?)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("a store task failed: {e}")))?
    }

    /// Runs a short `op` (a point read, a page) with a connection of the pool on the calling
    /// thread. Handing such an op to the blocking pool costs more than the op itself: two thread
    /// wake-ups against a few microseconds of SQLite work. The wait for a free connection is
    /// still asynchronous.
    pub(crate) async fn run_inline<T, F>(self: &Arc<Self>, op: F) -> StoreResult<T>
    where
        F: FnOnce(&mut Connection) -> StoreResult<T>,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Unavailable("the store is closed".to_owned()))?;
        let mut lease = self.take()?;
        op(lease.conn()?)
    }

    /// Takes a connection; the permit held by the caller guarantees there is one.
    fn take(self: &Arc<Self>) -> StoreResult<Lease> {
        let conn = self.conns.lock().map_err(poisoned)?.pop();
        match conn {
            Some(conn) => Ok(Lease { pool: Arc::clone(self), conn: Some(conn) }),
            None => Err(StoreError::Backend("no free connection despite a permit".to_owned())),
        }
    }
}

/// A connection taken from a pool, given back on drop (also while unwinding).
struct Lease {
    pool: Arc<Pool>,
    conn: Option<Connection>,
}

impl Lease {
    fn conn(&mut self) -> StoreResult<&mut Connection> {
        self.conn.as_mut().ok_or_else(|| StoreError::Backend("connection lease is empty".to_owned()))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // A transaction left open by a panic is rolled back by rusqlite's Transaction drop;
            // the connection itself stays usable.
            match self.pool.conns.lock() {
                Ok(mut conns) => conns.push(conn),
                Err(poisoned) => poisoned.into_inner().push(conn),
            }
        }
    }
}
