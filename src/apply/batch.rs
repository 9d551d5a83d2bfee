//! Reads batched across one wave of changes, each answered the cheapest way: the
//! read-backs after writes and the exact look-ups of the create protocol wait until every
//! task of the wave has either finished or is waiting for a read, then one listing of the
//! collection answers them all when it takes fewer requests than asking one by one (a GET
//! per id, a `filter` look-up per identity); otherwise they are asked one by one.
//!
//! A task waiting here gives its parallelism slot back, so the wave's writes keep going
//! while the reads pile up, and takes a slot again once answered. Outside a wave (no
//! [`Batch`] in scope) every read is made at once, one by one.
//!
//! This module owns the batching and the choice by cost; what a read means (verify, look
//! up, confirm) stays with its caller ([`super::create`], [`super::executor`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::executor::read_with_retry;
use crate::api::paging::{self, Paging};
use crate::api::{Api, ApiError, Collection};
use crate::model::{Kind, LiveObject};

/// What one waiting task asks of a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Want {
    /// The resource with this id.
    Id(String),
    /// The resources whose identity (for a customer: its reference) is exactly this,
    /// trimmed, compared case-sensitively.
    Identity(String),
}

/// The answer to one [`Want`].
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Found {
    /// For [`Want::Id`]: the resource, or nothing when it does not exist (or is not
    /// listed yet). For [`Want::Identity`]: every resource holding it.
    pub items: Vec<LiveObject>,
    /// Whether a listing answered (which may lag behind a write) rather than a GET or a
    /// `filter` look-up made for this want alone.
    pub listed: bool,
}

/// A collection owned (its parent id copied), as batches group by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Coll(Kind, Option<String>);

impl Coll {
    fn of(c: Collection<'_>) -> Coll {
        Coll(c.kind, c.parent_id.map(str::to_string))
    }
    fn as_collection(&self) -> Collection<'_> {
        Collection::new(self.0, self.1.as_deref())
    }
}

struct Waiter {
    coll: Coll,
    want: Want,
    tx: oneshot::Sender<Result<Found, ApiError>>,
}

#[derive(Default)]
struct State {
    /// Tasks of the wave neither finished nor waiting here.
    running: usize,
    waiting: Vec<Waiter>,
    /// Counts the times the waiters were taken (a timer only takes its own generation).
    generation: u64,
    /// Flushes made by the timer so far in this wave.
    timed: u32,
}

/// The longest the first waiter of a wave waits before its read is made although other
/// tasks still run (results and an interrupt are not held back by a long wave); doubled
/// after each such flush, up to [`MAX_WAIT`], so a long wave costs a few listings more.
const FIRST_WAIT: Duration = Duration::from_secs(1);
const MAX_WAIT: Duration = Duration::from_secs(8);

/// The shared reads of one wave.
pub(super) struct Batch {
    api: Arc<dyn Api>,
    permits: Arc<Semaphore>,
    attempts: u32,
    pause: Duration,
    /// Resources the last listing of the customers held (or the run's estimate): what a
    /// listing would cost.
    size_hint: Arc<AtomicUsize>,
    state: Mutex<State>,
}

tokio::task_local! {
    /// The wave and the parallelism slot of the task running one change.
    static TURN: Turn;
}

struct Turn {
    batch: Arc<Batch>,
    permit: RefCell<Option<OwnedSemaphorePermit>>,
    /// Set while the task's reads must be made at once, keeping its slot (see
    /// [`holding_slot`]).
    alone: std::cell::Cell<bool>,
}

/// The requests a full listing of `n` resources costs with the client's paging (pages
/// fetched in rounds, ended by an empty page).
pub(super) fn listing_cost(n: usize) -> usize {
    let p = Paging::default();
    // Every page with items and the empty one after them (only an empty page ends a list).
    let needed = n.div_ceil(paging::PAGE_SIZE) + 1;
    p.first + p.window * needed.saturating_sub(p.first).div_ceil(p.window)
}

/// The requests answering `wants` one by one cost: a GET per id; a `filter` look-up per
/// identity (one page, and one more when it finds something).
fn one_by_one_cost(wants: &[&Want]) -> usize {
    wants
        .iter()
        .map(|w| match w {
            Want::Id(_) => 1,
            Want::Identity(_) => 1,
        })
        .sum()
}

impl Batch {
    /// The batch of a wave of `tasks` changes; `permits` is the wave's parallelism.
    pub(super) fn new(
        api: Arc<dyn Api>,
        permits: Arc<Semaphore>,
        tasks: usize,
        attempts: u32,
        pause: Duration,
        size_hint: Arc<AtomicUsize>,
    ) -> Arc<Batch> {
        Arc::new(Batch {
            api,
            permits,
            attempts,
            pause,
            size_hint,
            state: Mutex::new(State {
                running: tasks,
                ..State::default()
            }),
        })
    }

    /// Run one change's task within this wave, holding `permit` (given back while the
    /// task waits for a read). The task counts as finished when `fut` ends.
    pub(super) async fn run<F: std::future::Future>(
        self: &Arc<Batch>,
        permit: Option<OwnedSemaphorePermit>,
        fut: F,
    ) -> F::Output {
        let _done = Finished(self.clone());
        TURN.scope(
            Turn {
                batch: self.clone(),
                permit: RefCell::new(permit),
                alone: std::cell::Cell::new(false),
            },
            fut,
        )
        .await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }

    /// Take the waiters when nobody else can join them any more.
    fn ready(state: &mut State) -> Option<Vec<Waiter>> {
        (state.running == 0 && !state.waiting.is_empty()).then(|| Batch::take(state))
    }

    fn take(state: &mut State) -> Vec<Waiter> {
        let w = std::mem::take(&mut state.waiting);
        state.running += w.len();
        state.generation += 1;
        w
    }

    /// The first waiter of a generation starts its timer.
    fn arm(self: &Arc<Batch>, generation: u64, timed: u32) {
        let wait = FIRST_WAIT.saturating_mul(1 << timed.min(8)).min(MAX_WAIT);
        let me = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let due = {
                let mut s = me.lock();
                (s.generation == generation && !s.waiting.is_empty()).then(|| {
                    s.timed += 1;
                    Batch::take(&mut s)
                })
            };
            if let Some(w) = due {
                me.flush(w).await;
            }
        });
    }

    fn flush_later(self: &Arc<Batch>, waiters: Vec<Waiter>) {
        let me = self.clone();
        tokio::spawn(async move { me.flush(waiters).await });
    }

    async fn flush(&self, waiters: Vec<Waiter>) {
        let mut groups: HashMap<Coll, Vec<Waiter>> = HashMap::new();
        for w in waiters {
            groups.entry(w.coll.clone()).or_default().push(w);
        }
        let answered = groups.into_iter().map(|(coll, ws)| self.answer(coll, ws));
        futures_util::future::join_all(answered).await;
    }

    async fn answer(&self, coll: Coll, waiters: Vec<Waiter>) {
        let wants: Vec<&Want> = waiters.iter().map(|w| &w.want).collect();
        let known = match coll.0 {
            Kind::Customer => self.size_hint.load(Ordering::Relaxed),
            // A customer's users or PBX profiles: how many is not known here, so each is
            // asked alone.
            Kind::PbxConnection | Kind::User => paging::DEFAULT_MAX_CUSTOMERS,
        };
        if listing_cost(known) < one_by_one_cost(&wants) {
            let listed = read_with_retry(self.attempts, self.pause, || {
                self.api.list(coll.as_collection(), None)
            })
            .await;
            match listed {
                Ok(items) => {
                    if matches!(coll.0, Kind::Customer) {
                        self.size_hint.store(items.len(), Ordering::Relaxed);
                    }
                    let field = identity_field(coll.0);
                    let by_id: HashMap<&str, &LiveObject> =
                        items.iter().map(|o| (o.id.as_str(), o)).collect();
                    let mut by_identity: HashMap<&str, Vec<&LiveObject>> = HashMap::new();
                    for o in &items {
                        if let Some(k) = o.fields.get(field).and_then(|v| v.as_str()) {
                            by_identity.entry(k.trim()).or_default().push(o);
                        }
                    }
                    for w in waiters {
                        let items = match &w.want {
                            Want::Id(id) => by_id.get(id.as_str()).map(|o| vec![(*o).clone()]),
                            Want::Identity(k) => by_identity
                                .get(k.trim())
                                .map(|v| v.iter().map(|o| (*o).clone()).collect()),
                        }
                        .unwrap_or_default();
                        let _ = w.tx.send(Ok(Found {
                            items,
                            listed: true,
                        }));
                    }
                }
                Err(e) => {
                    for w in waiters {
                        let _ = w.tx.send(Err(e.clone()));
                    }
                }
            }
            return;
        }
        let one = waiters.into_iter().map(|w| {
            let coll = coll.clone();
            async move {
                let r = self.one(&coll, &w.want).await;
                let _ = w.tx.send(r);
            }
        });
        futures_util::future::join_all(one).await;
    }

    async fn one(&self, coll: &Coll, want: &Want) -> Result<Found, ApiError> {
        direct(self.api.as_ref(), self.attempts, self.pause, coll, want).await
    }
}

async fn direct(
    api: &dyn Api,
    attempts: u32,
    pause: Duration,
    coll: &Coll,
    want: &Want,
) -> Result<Found, ApiError> {
    let c = coll.as_collection();
    let items = match want {
        Want::Id(id) => match read_with_retry(attempts, pause, || api.get(c, id)).await {
            Ok(o) => vec![o],
            Err(ApiError::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(e),
        },
        Want::Identity(k) => {
            let key = k.trim();
            let field = identity_field(coll.0);
            read_with_retry(attempts, pause, || api.list(c, Some(key)))
                .await?
                .into_iter()
                .filter(|o| {
                    o.fields.get(field).and_then(|v| v.as_str()).map(str::trim) == Some(key)
                })
                .collect()
        }
    };
    Ok(Found {
        items,
        listed: false,
    })
}

/// The field a kind's exact look-up compares (its first identity field).
fn identity_field(kind: Kind) -> &'static str {
    kind.def().identity.first().copied().unwrap_or("id")
}

/// Counts a task of the wave finished (also when it ends by unwinding).
struct Finished(Arc<Batch>);

impl Drop for Finished {
    fn drop(&mut self) {
        let ready = {
            let mut s = self.0.lock();
            s.running = s.running.saturating_sub(1);
            Batch::ready(&mut s)
        };
        if let Some(w) = ready {
            self.0.flush_later(w);
        }
    }
}

/// Ask for `want` in `collection`: batched with the rest of the wave when called from a
/// wave's task, else at once. The parallelism slot is given back while waiting.
pub(super) async fn read(
    api: &dyn Api,
    attempts: u32,
    pause: Duration,
    collection: Collection<'_>,
    want: Want,
) -> Result<Found, ApiError> {
    let coll = Coll::of(collection);
    let batch = TURN
        .try_with(|t| (!t.alone.get()).then(|| t.batch.clone()))
        .ok()
        .flatten();
    let Some(batch) = batch else {
        return direct(api, attempts, pause, &coll, &want).await;
    };
    let (tx, rx) = oneshot::channel();
    // Give the slot back while waiting.
    let _ = TURN.try_with(|t| t.permit.borrow_mut().take());
    let (ready, timer) = {
        let mut s = batch.lock();
        s.running = s.running.saturating_sub(1);
        let first = s.waiting.is_empty();
        s.waiting.push(Waiter {
            coll: coll.clone(),
            want: want.clone(),
            tx,
        });
        let timer = first.then_some((s.generation, s.timed));
        (Batch::ready(&mut s), timer)
    };
    if let (None, Some((generation, timed))) = (&ready, timer) {
        batch.arm(generation, timed);
    }
    if let Some(w) = ready {
        batch.flush(w).await;
    }
    // The slot is taken again only for another write ([`slot`]): a task that only
    // reports its outcome now is not queued behind the wave's tasks yet to start.
    let answer = rx.await;
    match answer {
        Ok(r) => r,
        // The flush ended without answering (it cannot, short of a panic): ask alone.
        Err(_) => direct(api, attempts, pause, &coll, &want).await,
    }
}

/// Run `fut` with its reads made at once while the task keeps its slot: after a write
/// whose answer was lost, no other change may start writing until this one is settled
/// (a write with no answer may stop every further write).
pub(super) async fn holding_slot<F: std::future::Future>(fut: F) -> F::Output {
    slot().await;
    let was = TURN.try_with(|t| t.alone.replace(true)).unwrap_or(false);
    let out = fut.await;
    let _ = TURN.try_with(|t| t.alone.set(was));
    out
}

/// Hold a parallelism slot of the wave before a write (taken again after a read gave it
/// back); nothing outside a wave.
pub(super) async fn slot() {
    let Ok((has, permits)) =
        TURN.try_with(|t| (t.permit.borrow().is_some(), t.batch.permits.clone()))
    else {
        return;
    };
    if !has {
        let permit = permits.acquire_owned().await.ok();
        let _ = TURN.try_with(|t| *t.permit.borrow_mut() = permit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_costs_its_pages_in_rounds() {
        // Rounds of 2, then 4: an empty or short page ends the list.
        assert_eq!(listing_cost(0), 2);
        assert_eq!(listing_cost(500), 2);
        assert_eq!(listing_cost(999), 2);
        assert_eq!(listing_cost(1000), 2);
        assert_eq!(listing_cost(1001), 6);
        assert_eq!(listing_cost(1500), 6);
        assert_eq!(listing_cost(2000), 6);
        assert_eq!(listing_cost(2001), 6);
        assert_eq!(listing_cost(100_000), 102);
    }
}
