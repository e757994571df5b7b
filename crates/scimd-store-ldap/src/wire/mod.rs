//! The read path's own LDAP client (RFC 4511): searches, which are most of what the store
//! sends, go through connections that each carry one search at a time, written and read by
//! the task that runs it. ldap3, which the writes use, multiplexes operations over a
//! connection through a driver task and channels, and builds and clones a tree of tags for
//! each message: on a lookup by userName that was about two thirds of scimd's work.
//!
//! - `ber`: the BER subset LDAP uses; `filter`: RFC 4515 strings written as BER;
//!   `message`: requests and responses; `conn`: one connection; here: the pool.

mod ber;
mod conn;
mod filter;
mod message;

use std::sync::Mutex;

use tokio::sync::{Semaphore, SemaphorePermit};

pub(crate) use ber::{Malformed, Reader};
pub(crate) use conn::{Address, Conn, Cut, Error, Settings};
pub(crate) use filter::check as check_filter;
pub(crate) use message::{Scope, Search};

/// Tags of a search result entry (RFC 4511 §4.5.2), for its readers.
pub(crate) mod tags {
    pub(crate) use super::ber::{OCTET_STRING, SEQUENCE, SET};
    pub(crate) use super::message::SEARCH_RESULT_ENTRY;
}

/// The read connections of a domain: opened as searches need them, up to a bound, and kept
/// while they work.
pub(crate) struct ReadPool {
    settings: Settings,
    idle: Mutex<Vec<Conn>>,
    permits: Semaphore,
}

/// A connection taken from the pool: [`Lease::keep`] gives it back after a search that ended
/// well; dropped without it, the connection is closed (a search cut short or failed may have
/// left replies on the way).
pub(crate) struct Lease<'a> {
    pool: &'a ReadPool,
    conn: Conn,
    _permit: SemaphorePermit<'a>,
}

impl ReadPool {
    pub(crate) fn new(settings: Settings, size: usize) -> ReadPool {
        ReadPool { settings, idle: Mutex::new(Vec::new()), permits: Semaphore::new(size.max(1)) }
    }

    /// An idle connection, else a new one (`fresh`: always a new one).
    pub(crate) async fn get(&self, fresh: bool) -> Result<Lease<'_>, Error> {
        let permit =
            self.permits.acquire().await.map_err(|_| Error::Setup("the pool is closed".to_owned()))?;
        let idle = if fresh { None } else { self.idle.lock().ok().and_then(|mut idle| idle.pop()) };
        let conn = match idle {
            Some(c) => c,
            // Boxed: connecting is rare and its future large; inline, it would make the
            // future of every search (and of every call that searches) as large.
            None => Box::pin(Conn::open(&self.settings)).await?,
        };
        Ok(Lease { pool: self, conn, _permit: permit })
    }

    /// Closes the idle connections (one broke: the others are likely to have broken too).
    pub(crate) fn forget_idle(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}

impl Lease<'_> {
    pub(crate) fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    pub(crate) fn keep(self) {
        if let Ok(mut idle) = self.pool.idle.lock() {
            idle.push(self.conn);
        }
    }
}
