//! Creates committed together (group commit).
//!
//! A create alone is a hand-off to the blocking pool, `BEGIN IMMEDIATE`, its rows and a
//! `COMMIT` that appends to the WAL every page it touched. Creates that arrive while the writer
//! is busy (a provisioning client sends many at once) wait in a queue instead, and the writer
//! takes them all, up to [`BATCH`], into one transaction: each under a `SAVEPOINT` of its own,
//! so that one that fails (a userName taken, a member that does not exist) is rolled back alone
//! and the others stay, then one `COMMIT`. Pages the creates share (the table's last leaf, the
//! indexes' hot pages) are written once per batch, and the hand-off is paid once.
//!
//! Nothing is acknowledged before it is committed: each caller gets its answer after the
//! `COMMIT` of its batch, and a `COMMIT` that fails fails every create of the batch. Creates of
//! one batch apply in the order they arrived, as one after the other would (the second of two
//! creates of one userName gets the conflict).
//!
//! After each batch the drain goes back to the end of the writer's queue, so that a stream of
//! creates does not hold up other writes (a PATCH waiting for the writer goes first).

use std::sync::{Arc, Mutex};

use rusqlite::{Connection, TransactionBehavior};
use scimd_store::{NewResource, StoreError, StoreResult, StoredResource};
use tokio::sync::oneshot;

use super::error::{from_sqlite, poisoned};
use super::order::Order;
use super::pool::Pool;
use super::write;

/// The most creates one transaction commits.
const BATCH: usize = 64;

/// The creates waiting for the writer.
#[derive(Default)]
pub(crate) struct Creates {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Pending>,
    /// Whether a drain is scheduled or running: it takes what is queued until nothing is.
    draining: bool,
}

struct Pending {
    new: NewResource,
    reply: oneshot::Sender<StoreResult<StoredResource>>,
}

impl Creates {
    /// Creates `new` on the `writer`, committed with the creates queued with it; `order` learns
    /// each committed resource's place.
    pub(crate) async fn create(
        self: &Arc<Self>,
        writer: &Arc<Pool>,
        order: &Arc<Order>,
        new: NewResource,
    ) -> StoreResult<StoredResource> {
        let (reply, answer) = oneshot::channel();
        let schedule = {
            let mut queue = self.queue.lock().map_err(poisoned)?;
            queue.waiting.push(Pending { new, reply });
            !std::mem::replace(&mut queue.draining, true)
        };
        if schedule {
            drain(Arc::clone(self), Arc::clone(writer), Arc::clone(order));
        }
        // A task of its own commits the batch: a caller that goes away (a client that hung up)
        // neither stops it nor loses the others' creates.
        answer.await.map_err(|_| StoreError::Backend("a create was lost by the writer".to_owned()))?
    }

    /// Takes the next batch off the queue.
    fn take(&self) -> Vec<Pending> {
        match self.queue.lock() {
            Ok(mut queue) => {
                let n = queue.waiting.len().min(BATCH);
                queue.waiting.drain(..n).collect()
            }
            Err(_) => Vec::new(),
        }
    }

    /// After a batch: whether more wait (the drain goes on), else the drain ends.
    fn more(&self) -> bool {
        match self.queue.lock() {
            Ok(mut queue) => {
                queue.draining = !queue.waiting.is_empty();
                queue.draining
            }
            Err(_) => false,
        }
    }

    /// Answers every queued create with `why` (the writer cannot run) and ends the drain.
    fn fail_all(&self, why: &StoreError) {
        let waiting = match self.queue.lock() {
            Ok(mut queue) => {
                queue.draining = false;
                std::mem::take(&mut queue.waiting)
            }
            Err(_) => Vec::new(),
        };
        for p in waiting {
            let _ = p.reply.send(Err(StoreError::Unavailable(why.to_string())));
        }
    }
}

/// Commits one batch on the writer, in a task of its own, then schedules the next if creates
/// are still waiting.
fn drain(creates: Arc<Creates>, writer: Arc<Pool>, order: Arc<Order>) {
    tokio::spawn(async move {
        let batch = {
            let (creates, order) = (Arc::clone(&creates), Arc::clone(&order));
            writer.run(move |conn| {
                commit(conn, creates.take(), &order);
                Ok(())
            })
        };
        match batch.await {
            Ok(()) if creates.more() => drain(creates, writer, order),
            Ok(()) => {}
            // The writer could not run the batch (the store is closing): nothing was taken, or
            // what was taken was answered; the rest is answered here.
            Err(e) => creates.fail_all(&e),
        }
    });
}

/// Runs `batch` in one transaction, each create under a savepoint, commits, and answers each.
fn commit(conn: &mut Connection, batch: Vec<Pending>, order: &Order) {
    if batch.is_empty() {
        return;
    }
    let (news, replies): (Vec<NewResource>, Vec<_>) = batch.into_iter().map(|p| (p.new, p.reply)).unzip();
    match run(conn, news) {
        Ok(outcomes) => {
            for (outcome, reply) in outcomes.into_iter().zip(replies) {
                let answer = outcome.and_then(|(seq, created)| {
                    order.added(created.kind, seq)?;
                    Ok(created)
                });
                let _ = reply.send(answer);
            }
        }
        Err(e) => {
            // The first gets the error itself, the others its text (an error is not Clone).
            let text = e.to_string();
            let mut first = Some(e);
            for reply in replies {
                let err = first.take().unwrap_or_else(|| StoreError::Backend(text.clone()));
                let _ = reply.send(Err(err));
            }
        }
    }
}

/// The creates of one transaction: each one's outcome, or the error that failed them all.
fn run(
    conn: &mut Connection,
    news: Vec<NewResource>,
) -> StoreResult<Vec<StoreResult<(i64, StoredResource)>>> {
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(from_sqlite)?;
    let mut outcomes = Vec::with_capacity(news.len());
    for new in news {
        // Dropped without commit (the create failed), a savepoint rolls back to where it began.
        let savepoint = tx.savepoint().map_err(from_sqlite)?;
        match write::create_in(&savepoint, new) {
            Ok(created) => {
                savepoint.commit().map_err(from_sqlite)?;
                outcomes.push(Ok(created));
            }
            Err(e) => outcomes.push(Err(e)),
        }
    }
    tx.commit().map_err(from_sqlite)?;
    Ok(outcomes)
}
