//! Requests that arrive together, answered by one: how the PostgreSQL and LDAP stores answer
//! concurrent lookups by userName with one statement or one search.
//!
//! At most `in_flight` batches run at once. A request that finds a place leads a batch itself.
//! It first gathers: it yields once to the runtime, which runs every other task ready to run
//! (the requests read from the same wake-up of the sockets) before it goes on, and those
//! requests wait to join its batch. Then it takes its own item and the items waiting that fit
//! with it (at most `most` in all). A request that finds no place, or a leader gathering,
//! waits in a queue. A leader that is done hands its place to the first request still
//! waiting, which leads the next batch at once. An idle store delays a request by no more than
//! a turn of the runtime; the busier it is, the more items a batch carries. Nothing is kept
//! between batches: a batch starts after every request it answers was made, so each sees every
//! write done before it.
//!
//! A request that goes away (its future dropped) while it gathers, leads or waits loses
//! nothing for the others: its place passes on, and the requests its batch was to answer run
//! alone.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

/// The queue of requests waiting for a batch, and the places in flight.
pub struct Together<T, A> {
    state: Arc<Mutex<State<T, A>>>,
    most: usize,
}

struct State<T, A> {
    in_flight: usize,
    /// At most this many batches in flight.
    places: usize,
    /// A leader gathers its batch: the requests that come meanwhile wait, to join it.
    gathering: bool,
    waiting: VecDeque<Waiter<T, A>>,
}

struct Waiter<T, A> {
    item: T,
    reply: oneshot::Sender<Reply<T, A>>,
}

enum Reply<T, A> {
    Answer(A),
    Alone,
    /// Lead the next batch: the place in flight, and the request's own item (taken out of
    /// the queue with it).
    Lead(Place<T, A>, T),
}

/// What a request that joined is to do.
pub enum Turn<T, A> {
    /// Another request's batch answered it.
    Answered(A),
    /// Run alone (the batch it was in failed, or its leader went away).
    Alone,
    /// Lead a batch.
    Lead(Batch<T, A>),
}

/// A batch, held by the request that leads it: its items (the leader's first).
pub struct Batch<T, A> {
    place: Place<T, A>,
    own: T,
    others: Vec<Waiter<T, A>>,
}

fn lock<S>(state: &Mutex<S>) -> MutexGuard<'_, S> {
    // No change to the state can be left half-done by a panic: take it as it is.
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<T, A> Together<T, A> {
    /// At most `in_flight` batches at once (at least one), of at most `most` items (at least
    /// one).
    pub fn new(in_flight: usize, most: usize) -> Together<T, A> {
        Together {
            state: Arc::new(Mutex::new(State {
                in_flight: 0,
                places: in_flight.max(1),
                gathering: false,
                waiting: VecDeque::new(),
            })),
            most: most.max(1),
        }
    }

    /// Joins with `item`: leads a batch, or waits for one to answer. A leader takes the
    /// waiting items that `fits(own, waiting)` accepts; the others keep their places.
    pub async fn join(&self, item: T, fits: impl Fn(&T, &T) -> bool) -> Turn<T, A> {
        let waiting = {
            let mut state = lock(&self.state);
            if !state.gathering && state.in_flight < state.places {
                state.in_flight += 1;
                state.gathering = true;
                Ok(item)
            } else {
                let (reply, answer) = oneshot::channel();
                state.waiting.push_back(Waiter { item, reply });
                Err(answer)
            }
        };
        let (place, own, gathered) = match waiting {
            Ok(item) => {
                let place = Place { state: Arc::clone(&self.state), spent: false };
                let mut gathering = Gathering { state: Arc::clone(&self.state), done: false };
                // The runtime runs every other task ready to run (and reads the sockets that
                // became readable) before it polls this one again: the requests they make
                // join this batch.
                tokio::task::yield_now().await;
                // Gathered: the batch is taken below, with no await in between.
                gathering.done = true;
                (place, item, true)
            }
            Err(answer) => match answer.await {
                Ok(Reply::Answer(a)) => return Turn::Answered(a),
                Ok(Reply::Lead(place, own)) => (place, own, false),
                Ok(Reply::Alone) | Err(_) => return Turn::Alone,
            },
        };
        let others = {
            let mut state = lock(&self.state);
            if gathered {
                state.gathering = false;
            }
            let mut others = Vec::new();
            let mut kept = VecDeque::new();
            while let Some(waiter) = state.waiting.pop_front() {
                if others.len() + 1 < self.most && fits(&own, &waiter.item) {
                    others.push(waiter);
                } else {
                    kept.push_back(waiter);
                }
            }
            state.waiting = kept;
            others
        };
        if gathered {
            // Those that did not fit (or found the batch full) need not wait for a place.
            start_waiting(&self.state);
        }
        Turn::Lead(Batch { place, own, others })
    }
}

impl<T, A> Batch<T, A> {
    /// The items, the leader's first.
    pub fn items(&self) -> impl Iterator<Item = &T> {
        std::iter::once(&self.own).chain(self.others.iter().map(|w| &w.item))
    }

    /// Answers each item (in the order of [`Batch::items`]); the leader's answer is returned.
    /// The place in flight passes on first, so that the next batch need not wait for the
    /// replies. `None` if `answers` is short (the requests without one run alone).
    pub fn answer(self, answers: Vec<A>) -> Option<A> {
        let Batch { place, others, .. } = self;
        drop(place);
        let mut answers = answers.into_iter();
        let own = answers.next();
        for waiter in others {
            let reply = match answers.next() {
                Some(a) => Reply::Answer(a),
                None => Reply::Alone,
            };
            // A request that went away takes no answer.
            let _ = waiter.reply.send(reply);
        }
        own
    }

    /// Every request of the batch runs alone.
    pub fn alone(self) {
        let Batch { place, others, .. } = self;
        drop(place);
        for waiter in others {
            let _ = waiter.reply.send(Reply::Alone);
        }
    }
}

/// While places are free and no leader gathers, the first request waiting leads a batch.
fn start_waiting<T, A>(state: &Arc<Mutex<State<T, A>>>) {
    loop {
        let next = {
            let mut s = lock(state);
            if s.gathering || s.in_flight >= s.places {
                return;
            }
            let Some(next) = s.waiting.pop_front() else { return };
            s.in_flight += 1;
            next
        };
        let place = Place { state: Arc::clone(state), spent: false };
        // A request that went away drops its place, which passes on.
        let _ = next.reply.send(Reply::Lead(place, next.item));
    }
}

/// A leader gathering its batch. Dropped before it is done (the leader went away), it lets
/// the requests that waited for it go on.
struct Gathering<T, A> {
    state: Arc<Mutex<State<T, A>>>,
    done: bool,
}

impl<T, A> Drop for Gathering<T, A> {
    fn drop(&mut self) {
        if !self.done {
            lock(&self.state).gathering = false;
            start_waiting(&self.state);
        }
    }
}

/// A place in flight, held by a batch's leader. Dropped, it passes to the first request still
/// waiting, or is given back.
struct Place<T, A> {
    state: Arc<Mutex<State<T, A>>>,
    /// Passed on already.
    spent: bool,
}

impl<T, A> Drop for Place<T, A> {
    fn drop(&mut self) {
        if self.spent {
            return;
        }
        loop {
            let next = {
                let mut state = lock(&self.state);
                match state.waiting.pop_front() {
                    Some(next) => next,
                    None => {
                        state.in_flight = state.in_flight.saturating_sub(1);
                        return;
                    }
                }
            };
            let place = Place { state: Arc::clone(&self.state), spent: false };
            match next.reply.send(Reply::Lead(place, next.item)) {
                Ok(()) => return,
                // That request went away: the next one.
                Err(Reply::Lead(mut place, _)) => place.spent = true,
                Err(_) => return,
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    use std::future::Future;
    use std::task::Poll;

    type Lookups = Arc<Together<&'static str, String>>;

    fn lead(turn: Turn<&'static str, String>) -> Batch<&'static str, String> {
        match turn {
            Turn::Lead(batch) => batch,
            Turn::Answered(a) => panic!("answered {a}"),
            Turn::Alone => panic!("alone"),
        }
    }

    fn any(_: &&str, _: &&str) -> bool {
        true
    }

    /// A request that joins and then leads or takes its answer, as a store's lookup does. A
    /// leader answers each item with the batch it was in: `"b with [\"b\", \"c\"]"`.
    fn ask(together: &Lookups, item: &'static str) -> tokio::task::JoinHandle<Option<String>> {
        ask_fitting(together, item, any)
    }

    fn ask_fitting(
        together: &Lookups,
        item: &'static str,
        fits: fn(&&'static str, &&'static str) -> bool,
    ) -> tokio::task::JoinHandle<Option<String>> {
        let together = Arc::clone(together);
        tokio::spawn(async move {
            match together.join(item, fits).await {
                Turn::Answered(a) => Some(a),
                Turn::Alone => None,
                Turn::Lead(batch) => {
                    let items: Vec<&str> = batch.items().copied().collect();
                    batch.answer(items.iter().map(|i| format!("{i} with {items:?}")).collect())
                }
            }
        })
    }

    /// Lets the spawned requests run up to their wait.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn an_idle_store_delays_no_request() {
        let together: Lookups = Arc::new(Together::new(1, 8));
        for _ in 0..3 {
            let batch = lead(together.join("kim", any).await);
            assert_eq!(batch.items().copied().collect::<Vec<_>>(), ["kim"]);
            assert_eq!(batch.answer(vec!["K".into()]), Some("K".into()));
        }
    }

    #[tokio::test]
    async fn requests_that_wait_are_answered_by_the_next_batch() {
        let together: Lookups = Arc::new(Together::new(1, 8));
        let first = lead(together.join("a", any).await);
        let (b, c) = (ask(&together, "b"), ask(&together, "c"));
        settle().await;
        // The place passes to b, which leads a batch of b and c.
        assert_eq!(first.answer(vec!["A".into()]), Some("A".into()));
        assert_eq!(b.await.unwrap().as_deref(), Some(r#"b with ["b", "c"]"#));
        assert_eq!(c.await.unwrap().as_deref(), Some(r#"c with ["b", "c"]"#));
        // And the place is free again.
        lead(together.join("d", any).await).alone();
    }

    #[tokio::test]
    async fn requests_made_while_a_leader_gathers_join_its_batch() {
        // Places are free for each of them, yet the three run as one batch: a gathers, and b
        // and c, ready to run in the same turn of the runtime, wait for it.
        let together: Lookups = Arc::new(Together::new(3, 8));
        let asked: Vec<_> = ["a", "b", "c"].into_iter().map(|i| ask(&together, i)).collect();
        let answers = futures_join(asked).await;
        assert_eq!(
            answers,
            [r#"a with ["a", "b", "c"]"#, r#"b with ["a", "b", "c"]"#, r#"c with ["a", "b", "c"]"#]
        );
    }

    #[tokio::test]
    async fn what_a_gathered_batch_leaves_starts_on_the_free_places() {
        // a gathers b (same length) and finds the batch full for d; cc does not fit. Places
        // are free: cc and d each lead at once rather than wait for a's batch to be done.
        let together: Lookups = Arc::new(Together::new(3, 2));
        let same_length = |own: &&str, other: &&str| own.len() == other.len();
        let a = Arc::clone(&together);
        let first = tokio::spawn(async move { lead(a.join("a", same_length).await) });
        let waiting: Vec<_> =
            ["b", "cc", "d"].into_iter().map(|i| ask_fitting(&together, i, same_length)).collect();
        let first = first.await.unwrap();
        assert_eq!(first.items().copied().collect::<Vec<_>>(), ["a", "b"]);
        settle().await;
        // cc and d were answered while a's batch is still in flight.
        let (cc, d) = (&waiting[1], &waiting[2]);
        assert!(cc.is_finished() && d.is_finished());
        first.answer(vec!["A".into(), "B".into()]);
        assert_eq!(futures_join(waiting).await, ["B", r#"cc with ["cc"]"#, r#"d with ["d"]"#]);
    }

    #[tokio::test]
    async fn a_leader_that_goes_away_while_gathering_lets_the_others_go_on() {
        let together: Lookups = Arc::new(Together::new(1, 8));
        let mut gathering = Box::pin(together.join("a", any));
        let pending = std::future::poll_fn(|cx| Poll::Ready(gathering.as_mut().poll(cx).is_pending())).await;
        assert!(pending, "a gathers");
        let b = ask(&together, "b");
        settle().await;
        assert!(!b.is_finished(), "b waits for a's batch");
        drop(gathering);
        assert_eq!(b.await.unwrap().as_deref(), Some(r#"b with ["b"]"#));
        // The one place is free again, and no leader gathers.
        let c = tokio::time::timeout(std::time::Duration::from_secs(10), together.join("c", any));
        lead(c.await.expect("c leads at once")).alone();
    }

    #[tokio::test]
    async fn a_batch_takes_what_fits_and_at_most_its_size() {
        let together: Lookups = Arc::new(Together::new(1, 2));
        let first = lead(together.join("a", any).await);
        let same_length = |own: &&str, other: &&str| own.len() == other.len();
        let waiting: Vec<_> =
            ["b", "cc", "d", "e"].into_iter().map(|i| ask_fitting(&together, i, same_length)).collect();
        settle().await;
        first.alone();
        let answers: Vec<String> = futures_join(waiting).await;
        // b leads b and d: cc does not fit with b, e would but finds the batch full. cc leads
        // next, alone (e does not fit with it), then e.
        assert_eq!(
            answers,
            [r#"b with ["b", "d"]"#, r#"cc with ["cc"]"#, r#"d with ["b", "d"]"#, r#"e with ["e"]"#]
        );
    }

    async fn futures_join(tasks: Vec<tokio::task::JoinHandle<Option<String>>>) -> Vec<String> {
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap().unwrap());
        }
        out
    }

    #[tokio::test]
    async fn a_request_that_goes_away_loses_nothing_for_the_others() {
        let together: Lookups = Arc::new(Together::new(1, 8));
        let first = lead(together.join("a", any).await);
        // b waits, then goes away; c waits.
        let b = ask(&together, "b");
        settle().await;
        b.abort();
        let _ = b.await;
        let c = ask(&together, "c");
        settle().await;
        // The place skips b and passes to c.
        first.answer(vec!["A".into()]);
        assert_eq!(c.await.unwrap().as_deref(), Some(r#"c with ["c"]"#));

        // A leader dropped without answering passes its place on as well.
        let leader = lead(together.join("x", any).await);
        let y = ask(&together, "y");
        settle().await;
        drop(leader);
        assert_eq!(y.await.unwrap().as_deref(), Some(r#"y with ["y"]"#));
        lead(together.join("w", any).await).alone();
    }

    #[tokio::test]
    async fn a_leader_that_goes_away_mid_batch_leaves_its_batch_to_run_alone() {
        let together: Lookups = Arc::new(Together::new(1, 8));
        let first = lead(together.join("a", any).await);
        // b will lead b and c, and never answer.
        let together_b = Arc::clone(&together);
        let b = tokio::spawn(async move {
            let batch = lead(together_b.join("b", any).await);
            assert_eq!(batch.items().count(), 2);
            std::future::pending::<()>().await;
            drop(batch);
        });
        settle().await;
        let c = ask(&together, "c");
        settle().await;
        first.alone();
        settle().await;
        // b goes away (its request was dropped): c runs alone, and the place is free.
        b.abort();
        assert!(b.await.unwrap_err().is_cancelled(), "b led b and c");
        assert_eq!(c.await.unwrap(), None);
        lead(together.join("d", any).await).alone();
    }
}
