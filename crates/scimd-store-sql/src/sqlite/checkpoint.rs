//! Checkpoints off the write path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that
//! commit, and every write queued behind the single writer, waits while the WAL's pages are
//! copied into the database file and the file is synced. Here a thread of the store's own,
//! with a connection of its own, runs a PASSIVE checkpoint (which blocks neither readers nor
//! the writer) every [`INTERVAL`], so that the copying happens beside the writes.
//!
//! Under a steady stream of writes the WAL is never wholly copied at a moment the writer could
//! start it over, so it would grow without end: past [`RESTART_FRAMES`] the thread runs a
//! RESTART checkpoint, which holds writes back only while it copies the few frames left, then
//! lets the next write start the WAL over. The writer's own automatic checkpoint stays, far
//! higher ([`WRITER_CHECKPOINT_FRAMES`]), should the thread ever fall behind.
//!
//! Durability is unchanged: a commit is in the WAL before the call returns, checkpointed or not.
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How often the thread checkpoints.
const INTERVAL: Duration = Duration::from_millis(100);

/// How long a checkpoint waits for a lock before it gives up until the next round.
const BUSY_TIMEOUT: Duration = Duration::from_millis(50);

/// WAL frames (pages) past which the thread starts the WAL over: 32 MiB.
const RESTART_FRAMES: i64 = 8192;

/// The writer's automatic checkpoint threshold, in WAL frames: 256 MiB.
pub(crate) const WRITER_CHECKPOINT_FRAMES: i64 = 65536;

/// One round: copy the WAL's new frames without blocking anyone; past [`RESTART_FRAMES`],
/// start the WAL over.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    // (busy, frames in the WAL, frames copied)
    let frames: i64 = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))?;
    if frames > RESTART_FRAMES {
        conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))?;
    }
    Ok(())
}

/// The checkpointing thread; stopped and joined on drop.
pub(crate) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database of `conn`, a connection of its own.
    pub(crate) fn start(conn: Connection) -> std::io::Result<Checkpointer> {
        // A RESTART checkpoint holds writes back while it waits for readers of older
        // snapshots: it gives up soon (and is tried again at the next round) rather than stall
        // writes behind a long read.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(std::io::Error::other)?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new().name("scimd-sqlite-checkpoint".into()).spawn(move || {
            let (lock, wake) = &*flag;
            loop {
                let Ok(guard) = lock.lock() else { return };
                let Ok((guard, _)) = wake.wait_timeout_while(guard, INTERVAL, |stopped| !*stopped) else {
                    return;
                };
                if *guard {
                    return;
                }
                drop(guard);
                // A failure is retried at the next round; reads and writes go on meanwhile.
                if let Err(e) = checkpoint(&conn) {
                    tracing::warn!("SQLite checkpoint failed (retried): {e}");
                }
            }
        })?;
        Ok(Checkpointer { stop, thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        if let Ok(mut stopped) = lock.lock() {
            *stopped = true;
        }
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
