//! The connections that point reads share.
//!
//! A lookup (a resource by id, the lookup by userName before a create, a group's members slice)
//! is one short statement. Taken from the pool, each holds a connection of its own for a round
//! trip, and each round trip wakes a PostgreSQL backend and the server's runtime once. Here the
//! lookups of concurrent requests share a few connections instead: the client pipelines them
//! (sends each one at once, without waiting for the answers to the ones before), so a backend
//! reads and answers them back to back, and one wake-up serves several requests.
//!
//! Only reads that an index narrows come here ([`crate::filter::narrowed_by_index`]): a
//! statement on a shared connection delays the ones pipelined behind it, so a scan (a filter no
//! index serves) takes a connection of the pool, as writes do.
//!
//! A connection that breaks (the server restarted, the network failed) is replaced at the next
//! read of its slot; a read that fails with it gets [`StoreError::Unavailable`], as from the
//! pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use deadpool_postgres::ClientWrapper;
use scimd_store::{StoreError, StoreResult};

use crate::error::from_connect;
use crate::tls::MakeTls;

/// A few connections shared by point reads, round-robin.
pub(crate) struct Readers {
    config: tokio_postgres::Config,
    tls: MakeTls,
    slots: Vec<tokio::sync::Mutex<Option<Arc<ClientWrapper>>>>,
    next: AtomicUsize,
}

impl Readers {
    /// `n` shared connections (none: every read takes a connection of the pool), opened at
    /// their first use.
    pub(crate) fn new(config: tokio_postgres::Config, tls: MakeTls, n: usize) -> Readers {
        Readers {
            config,
            tls,
            slots: (0..n).map(|_| tokio::sync::Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Whether there are shared connections.
    pub(crate) fn any(&self) -> bool {
        !self.slots.is_empty()
    }

    /// How many shared connections there are.
    pub(crate) fn count(&self) -> usize {
        self.slots.len()
    }

    /// The next shared connection, connected anew if it broke.
    pub(crate) async fn client(&self) -> StoreResult<Arc<ClientWrapper>> {
        let n = self.slots.len();
        let Some(slot) = self.slots.get(self.next.fetch_add(1, Ordering::Relaxed) % n.max(1)) else {
            return Err(StoreError::Backend("no shared read connection".to_owned()));
        };
        // Held while connecting: the reads that come meanwhile wait for this connection
        // rather than open one each.
        let mut slot = slot.lock().await;
        if let Some(client) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(Arc::clone(client));
        }
        *slot = None;
        // Boxed: connecting is rare and its future large (4 KB); inline, it would make the
        // future of every read as large, copied and allocated at every call.
        let (client, connection) =
            Box::pin(self.config.connect(self.tls.clone())).await.map_err(from_connect)?;
        // The connection's task ends when its last user drops the client.
        let task = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "a shared PostgreSQL read connection closed");
            }
        });
        let client = Arc::new(ClientWrapper::new(client, task));
        *slot = Some(Arc::clone(&client));
        Ok(client)
    }
}
