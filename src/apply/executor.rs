//! The executor proper: runs a plan's changes against the API, creates and updates
//! concurrently, deletes last, each customer on its own (one failure stops no other).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::batch::{self, Batch, Want};
use super::outcome::{ApplyReport, Outcome, Status};
use super::preflight::{Refusal, preflight};
use super::progress::Progress;
use super::secrets::{SecretSource, resolve_ops};
use super::verify::{self, Expectation};
use crate::api::{Api, ApiError, WriteOptions};
use crate::model::LiveCustomer;
use crate::plan::{ActionKind, Change, Plan};

/// How apply runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Customers worked on at once (creates and updates; then deletes). Default 8.
    pub parallelism: usize,
    /// Send `accept-charges: true` with writes; without it a plan with billable actions
    /// is refused before it starts.
    pub accept_charges: bool,
    /// Attempts per write whose outcome was unknown and is then shown not to have taken
    /// effect (a create: the look-up by reference finds nothing; an idempotent PATCH: the
    /// read-back does not match). Default 5.
    pub write_attempts: u32,
    /// Pause between such attempts (multiplied by the attempt number). Default 200 ms.
    pub retry_pause: Duration,
    /// Pauses between look-ups by reference after a create whose answer was lost, while
    /// confirming a new tenant a lagging search does not show yet, and before the final
    /// uniqueness check asks again about a duplicate another run is still removing.
    /// Default 0.25 s, 0.5 s, 1 s, 2 s (3.75 s in all, five look-ups).
    pub lookup_backoff: Vec<Duration>,
}

/// A problem of the run as a whole rather than of one change; reported in
/// [`ApplyReport::errors`] (and it holds the deletes back).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    /// The uniqueness check after the creates could not list the customers.
    #[error(
        "could not list customers to check that every created reference is held once ({0}); run `dimctl plan` to check"
    )]
    UniquenessUnchecked(#[source] ApiError),
}

/// The default [`ApplyOptions::lookup_backoff`].
pub fn default_lookup_backoff() -> Vec<Duration> {
    [250, 500, 1000, 2000]
        .into_iter()
        .map(Duration::from_millis)
        .collect()
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 8,
            accept_charges: false,
            write_attempts: 5,
            retry_pause: Duration::from_millis(200),
            lookup_backoff: default_lookup_backoff(),
        }
    }
}

/// Set by Ctrl-C / SIGTERM: no new customer is started; work in flight finishes.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    pub fn trigger(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The live customers read once at the start of a run: the stale check compares their
/// fingerprints (the same listing the planner fingerprints). Creates never trust it: they
/// look their reference up afresh (see [`super::create`]).
struct Snapshot {
    by_id: HashMap<String, LiveCustomer>,
}

/// References are compared trimmed, otherwise exactly.
pub fn reference_key(r: &str) -> String {
    r.trim().to_string()
}

pub(super) struct Ctx {
    pub(super) api: Arc<dyn Api>,
    pub(super) env: Arc<dyn SecretSource>,
    progress: Arc<dyn Progress>,
    pub(super) interrupt: Interrupt,
    pub(super) write: WriteOptions,
    pub(super) write_attempts: u32,
    pub(super) retry_pause: Duration,
    pub(super) lookup_backoff: Vec<Duration>,
    snapshot: Option<Snapshot>,
    /// Tenants this run terminated as its own duplicates (a real API may list them a
    /// while longer; the uniqueness check does not count them).
    terminated: Mutex<HashSet<String>>,
    /// Set once a write that had no answer at all (a timeout) ended `unknown`: the API may
    /// be stalling on writes, so no further write is started in this run. A write the
    /// server answered with an error (a 5xx) does not set it.
    halted: AtomicBool,
    /// How many customers the last full listing held: what a listing costs (see
    /// [`super::batch`]).
    pub(super) size_hint: Arc<AtomicUsize>,
    /// Resources created in this run: printed address → new id, handed over to their
    /// children in later waves.
    created: Mutex<HashMap<String, String>>,
}

impl Ctx {
    /// Record a write that ended `unknown` after `e`: when the server gave no answer at all
    /// (it may be stalling on writes), no further write is started in this run.
    pub(super) fn unknown_after(&self, e: &ApiError) {
        if no_answer(e) {
            self.halted.store(true, Ordering::SeqCst);
        }
    }

    /// `Some(skipped)` when a write with no answer has stopped further writes: checked
    /// when a change starts and again right before its first write (a create's look-up,
    /// batched with the wave's, may end after another create timed out).
    pub(super) fn halted_before(&self, c: &Change) -> Option<Outcome> {
        (self.halted.load(Ordering::SeqCst) && c.action.is_write()).then(|| {
            outcome(
                c,
                Status::Skipped,
                c.live_id.clone(),
                Some(
                    "not started: an earlier write's outcome is unknown (the API may be stalling on writes); re-run to converge"
                        .into(),
                ),
            )
        })
    }

    pub(super) fn terminated(&self, id: &str) {
        if let Ok(mut t) = self.terminated.lock() {
            t.insert(id.to_string());
        }
    }
}

/// Execute `plan` against `api`. Refuses the plan whole (before any request) when its
/// endpoint or format version differ, it is not applicable, it has billable actions
/// without `accept_charges`, or a secret it needs is not set. Otherwise every change
/// gets an [`Outcome`].
pub async fn apply(
    plan: &Plan,
    api: Arc<dyn Api>,
    opts: &ApplyOptions,
    env: Arc<dyn SecretSource>,
    progress: Arc<dyn Progress>,
    interrupt: Interrupt,
) -> Result<ApplyReport, Refusal> {
    apply_listed(plan, api, opts, env, progress, interrupt, None).await
}

/// [`apply`], given the listing of every customer its caller made a moment before (with
/// nothing between that could take long, such as a confirmation prompt): the run's
/// snapshot for the stale check, instead of listing them again.
pub async fn apply_listed(
    plan: &Plan,
    api: Arc<dyn Api>,
    opts: &ApplyOptions,
    env: Arc<dyn SecretSource>,
    progress: Arc<dyn Progress>,
    interrupt: Interrupt,
    listed: Option<Vec<LiveCustomer>>,
) -> Result<ApplyReport, Refusal> {
    let endpoint = api.endpoint();
    preflight(plan, &endpoint, opts.accept_charges, env.as_ref())?;

    let mut results: Vec<Outcome> = plan
        .changes
        .iter()
        .filter(|c| !c.action.is_write())
        .map(|c| outcome(c, Status::Unchanged, c.live_id.clone(), None))
        .collect();
    let writes: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action.is_write())
        .collect();
    if writes.is_empty() {
        return Ok(ApplyReport::new(endpoint, results, false));
    }
    progress.start(writes.len());

    let listing = match listed {
        Some(list) => Ok(list),
        None => {
            read_with_retry(opts.write_attempts.max(1), opts.retry_pause, || {
                api.list_customers(None)
            })
            .await
        }
    };
    let size_hint = Arc::new(AtomicUsize::new(match &listing {
        Ok(list) => list.len(),
        // Unknown: a listing may be large, so reads are made one by one.
        Err(_) => crate::api::paging::DEFAULT_MAX_CUSTOMERS,
    }));
    let snapshot = match listing {
        Ok(list) => Some(snapshot_of(list)),
        Err(e) => {
            progress.note(&format!(
                "could not list customers ({e}); checking each customer on its own"
            ));
            None
        }
    };
    let ctx = Arc::new(Ctx {
        api,
        env,
        progress: progress.clone(),
        interrupt: interrupt.clone(),
        write: WriteOptions {
            accept_charges: opts.accept_charges,
        },
        write_attempts: opts.write_attempts.max(1),
        retry_pause: opts.retry_pause,
        lookup_backoff: opts.lookup_backoff.clone(),
        snapshot,
        terminated: Mutex::new(HashSet::new()),
        halted: AtomicBool::new(false),
        size_hint,
        created: Mutex::new(HashMap::new()),
    });
    let parallelism = opts.parallelism.max(1);

    let (deletes, first): (Vec<&Change>, Vec<&Change>) = writes
        .into_iter()
        .partition(|c| c.action == ActionKind::Delete);
    // Parents before children (one wave per depth); a wave runs only when the one
    // before it succeeded, so a child never meets a parent that failed to appear.
    let mut phase1 = Vec::new();
    let mut held: Vec<&Change> = Vec::new();
    for wave in super::order::waves(first) {
        if held.is_empty() && !phase1.iter().any(|o: &Outcome| o.status.is_problem()) {
            // Children of a parent created in an earlier wave learn its new id.
            let created = ctx.created.lock().map(|m| m.clone()).unwrap_or_default();
            let wave = super::order::hand_over(&wave, &created);
            phase1.extend(run_all(&ctx, wave.iter().collect(), parallelism).await);
        } else {
            held.extend(wave);
        }
    }
    for c in held {
        let o = outcome(
            c,
            Status::Skipped,
            c.live_id.clone(),
            Some("held back: its parent's changes did not all succeed".into()),
        );
        progress.finish(&o);
        phase1.push(o);
    }
    let mut errors = Vec::new();
    if let Err(e) = check_unique(&ctx, &mut phase1).await {
        errors.push(e.to_string());
    }
    let phase1_ok = errors.is_empty() && !phase1.iter().any(|o| o.status.is_problem());
    results.extend(phase1);

    if phase1_ok && !interrupt.is_set() {
        // Children before parents, one wave per depth.
        for wave in super::order::waves(deletes) {
            results.extend(run_all(&ctx, wave, parallelism).await);
        }
    } else {
        let why = if interrupt.is_set() {
            "interrupted before it started"
        } else {
            "held back: deletes run only when every create and update succeeded"
        };
        for c in deletes {
            let o = outcome(c, Status::Skipped, c.live_id.clone(), Some(why.into()));
            progress.finish(&o);
            results.push(o);
        }
    }
    progress.end();
    let mut report = ApplyReport::new(endpoint, results, interrupt.is_set());
    report.errors = errors;
    Ok(report)
}

/// The uniqueness check after every create: one full listing; any reference this run
/// created (or adopted) that more than one tenant holds makes that customer's outcome a
/// failure naming every id. A duplicate may be one another run is about to terminate, so
/// a duplicate found is looked at again with the look-up backoff before it counts.
/// `Err` when the check itself could not be made.
async fn check_unique(ctx: &Ctx, outcomes: &mut [Outcome]) -> Result<(), RunError> {
    let touched: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| o.action == ActionKind::Create && o.status != Status::Skipped)
        .map(|(i, _)| i)
        .collect();
    if touched.is_empty() {
        return Ok(());
    }
    let mut delays = ctx.lookup_backoff.iter();
    loop {
        let listing = read_with_retry(ctx.write_attempts, ctx.retry_pause, || {
            ctx.api.list_customers(None)
        })
        .await
        .map_err(RunError::UniquenessUnchecked)?;
        let gone = ctx.terminated.lock().map(|t| t.clone()).unwrap_or_default();
        let mut by_reference: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for c in &listing {
            if let Some(r) = c.reference()
                && !gone.contains(&c.id)
            {
                by_reference
                    .entry(reference_key(r))
                    .or_default()
                    .push(c.id.clone());
            }
        }
        let dups: Vec<(usize, Vec<String>)> = touched
            .iter()
            .filter_map(|&i| {
                let r = super::create::reference_of(&outcomes[i])?;
                by_reference
                    .get(&reference_key(&r))
                    .filter(|ids| ids.len() > 1)
                    .map(|ids| (i, ids.clone()))
            })
            .collect();
        if dups.is_empty() {
            return Ok(());
        }
        if let Some(d) = delays.next() {
            tokio::time::sleep(*d).await;
            continue;
        }
        for (i, ids) in dups {
            let o = &mut outcomes[i];
            o.status = Status::Failed;
            o.message = Some(format!(
                "duplicate: {} tenants hold this reference after the run: {}; terminate all but one (the earliest created is the one dimctl keeps), then re-run",
                ids.len(),
                ids.join(", ")
            ));
            ctx.progress.finish(o);
        }
        return Ok(());
    }
}

fn snapshot_of(list: Vec<LiveCustomer>) -> Snapshot {
    let by_id = list.into_iter().map(|c| (c.id.clone(), c)).collect();
    Snapshot { by_id }
}

async fn run_all(ctx: &Arc<Ctx>, changes: Vec<&Change>, parallelism: usize) -> Vec<Outcome> {
    let permits = Arc::new(Semaphore::new(parallelism));
    // The wave's read-backs and look-ups, answered together the cheapest way.
    let batch = Batch::new(
        ctx.api.clone(),
        permits.clone(),
        changes.len(),
        ctx.write_attempts,
        ctx.retry_pause,
        ctx.size_hint.clone(),
    );
    let mut set = JoinSet::new();
    for c in changes {
        let ctx = ctx.clone();
        let permits = permits.clone();
        let change = c.clone();
        let batch = batch.clone();
        set.spawn(async move {
            let permit = permits.acquire_owned().await.ok();
            batch.run(permit, run_turn(ctx, change)).await
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(o) => out.push(o),
            // A task only ends early by panicking, which the executor never does on data.
            Err(e) => tracing::error!("an apply task ended abnormally: {e}"),
        }
    }
    out
}

/// One change's task within its wave.
async fn run_turn(ctx: Arc<Ctx>, change: Change) -> Outcome {
    {
        {
            let o = if ctx.interrupt.is_set() {
                outcome(
                    &change,
                    Status::Skipped,
                    change.live_id.clone(),
                    Some("interrupted before it started".into()),
                )
            } else if let Some(o) = ctx.halted_before(&change) {
                o
            } else {
                run_one(&ctx, &change).await
            };
            if change.action == ActionKind::Create
                && o.status == Status::Created
                && let (Some(id), Ok(mut created)) = (&o.id, ctx.created.lock())
            {
                created.insert(change.address.clone(), id.clone());
            }
            ctx.progress.finish(&o);
            o
        }
    }
}

pub(super) fn outcome(
    c: &Change,
    status: Status,
    id: Option<String>,
    message: Option<String>,
) -> Outcome {
    Outcome {
        key: c.key.clone(),
        address: c.address.clone(),
        name: c.name.clone(),
        action: c.action,
        status,
        id,
        message,
        mismatches: Vec::new(),
    }
}

async fn run_one(ctx: &Ctx, c: &Change) -> Outcome {
    if c.kind == crate::model::Kind::User {
        ctx.progress.begin(&c.key, "writing a user");
        return super::user::run(ctx, c).await;
    }
    if c.kind.def().parent.is_some() {
        let verb = match c.action {
            ActionKind::Create => "creating",
            ActionKind::Update => "updating",
            _ => "deleting",
        };
        ctx.progress.begin(&c.key, verb);
        return super::child::run(ctx, c).await;
    }
    match c.action {
        ActionKind::Create => {
            ctx.progress.begin(&c.key, "creating");
            super::create::create(ctx, c).await
        }
        ActionKind::Update => {
            ctx.progress.begin(&c.key, "updating");
            update(ctx, c).await
        }
        ActionKind::Delete => {
            ctx.progress.begin(&c.key, "deleting");
            delete(ctx, c).await
        }
        ActionKind::NoOp | ActionKind::Refused => {
            outcome(c, Status::Unchanged, c.live_id.clone(), None)
        }
    }
}

/// Whether a failed write may nevertheless have been carried out by the server.
pub(super) fn possibly_committed(e: &ApiError) -> bool {
    e.is_ambiguous()
        || matches!(e, ApiError::Transport { .. } | ApiError::Decode { .. })
        || e.status().is_some_and(|s| s >= 500)
}

/// Whether a failed request had no answer at all within its time bound.
fn no_answer(e: &ApiError) -> bool {
    match e {
        ApiError::Transport { reason, .. } | ApiError::AmbiguousCreate { reason, .. } => {
            reason.starts_with("timed out") || reason.starts_with("no answer within")
        }
        _ => false,
    }
}

/// Whether a failed read may succeed if asked again.
fn read_retryable(e: &ApiError) -> bool {
    matches!(e, ApiError::Transport { .. } | ApiError::Decode { .. })
        || e.status().is_some_and(|s| s >= 500 || s == 429)
}

/// Run a read, asking again (up to the write-attempt bound) while it fails transiently.
/// Reads are safe to repeat; the client's own retry policy may not cover every 5xx.
pub(super) async fn read_with_retry<T, F, Fut>(
    attempts: u32,
    pause: Duration,
    mut read: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let mut attempt = 1;
    loop {
        match read().await {
            Err(e) if read_retryable(&e) && attempt < attempts => {
                tracing::info!("read failed ({e}); asking again");
                tokio::time::sleep(pause * attempt).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

pub(super) fn charges_message(c: &Change) -> String {
    format!(
        "{}: the server answered 402 Payment Required (this change may incur charges) and did not make it; re-run with --accept-charges",
        c.key
    )
}

/// The stale check: the live customer must still have the plan's fingerprint.
/// `Ok(())` to proceed, `Err(outcome)` when stale or unreadable.
async fn check_fresh(ctx: &Ctx, c: &Change, id: &str) -> Result<(), Outcome> {
    let Some(want) = &c.fingerprint else {
        return Ok(());
    };
    let current = match ctx.snapshot.as_ref().and_then(|s| s.by_id.get(id)) {
        Some(live) => live.clone(),
        None => match read_with_retry(ctx.write_attempts, ctx.retry_pause, || {
            ctx.api.get_customer(id)
        })
        .await
        {
            Ok(live) => live,
            Err(ApiError::NotFound { .. }) => {
                return Err(outcome(
                    c,
                    Status::Stale,
                    Some(id.into()),
                    Some("no longer exists; re-run plan".into()),
                ));
            }
            Err(e) => {
                return Err(outcome(
                    c,
                    Status::Failed,
                    Some(id.into()),
                    Some(format!("could not re-read it before writing: {e}")),
                ));
            }
        },
    };
    if &current.fingerprint() != want {
        return Err(outcome(
            c,
            Status::Stale,
            Some(id.into()),
            Some("changed since the plan was made; not touched: re-run plan".into()),
        ));
    }
    Ok(())
}

async fn update(ctx: &Ctx, c: &Change) -> Outcome {
    let Some(id) = c.live_id.as_deref() else {
        return outcome(
            c,
            Status::Failed,
            None,
            Some("the plan has no live id for this update".into()),
        );
    };
    let fail = |m: String| outcome(c, Status::Failed, Some(id.into()), Some(m));
    if let Err(o) = check_fresh(ctx, c, id).await {
        return o;
    }
    if c.operations.is_empty() {
        return outcome(c, Status::Unchanged, Some(id.into()), None);
    }
    if ctx.interrupt.is_set() {
        return outcome(
            c,
            Status::Skipped,
            Some(id.into()),
            Some("interrupted before it started".into()),
        );
    }
    let ops = match resolve_ops(&c.operations, ctx.env.as_ref()) {
        Ok(ops) => ops,
        Err(e) => return fail(e.to_string()),
    };
    let expected = verify::from_ops(&c.operations);
    let attempts = if crate::api::patch_is_idempotent(&c.operations) {
        ctx.write_attempts
    } else {
        1
    };
    for attempt in 1..=attempts {
        batch::slot().await;
        match ctx.api.patch_customer(id, &ops, ctx.write).await {
            Ok(()) => return read_back(ctx, c, Status::Updated, id, &expected, None).await,
            Err(ApiError::ChargesRequired { .. }) => return fail(charges_message(c)),
            Err(e) if possibly_committed(&e) => {
                // The answer was lost: read back to learn whether it was made (holding the
                // slot: no other write starts before this one is settled).
                let o = batch::holding_slot(read_back(
                    ctx,
                    c,
                    Status::Updated,
                    id,
                    &expected,
                    Some("the answer was lost; verified by reading it back"),
                ))
                .await;
                if o.status == Status::Updated {
                    return o;
                }
                if attempts == 1 {
                    // Not safe to send twice (an array append): never re-sent in this run.
                    ctx.unknown_after(&e);
                    let mut u = outcome(
                        c,
                        Status::Unknown,
                        Some(id.into()),
                        Some(format!(
                            "outcome unknown: sent once, the answer was lost ({e}) and reading it back does not show the change; not sent again. Re-run: the next plan shows whether it is still pending"
                        )),
                    );
                    u.mismatches = o.mismatches;
                    return u;
                }
                if attempt == attempts || ctx.interrupt.is_set() {
                    let then = o.message.unwrap_or_default();
                    let mut f = fail(format!("{e}; then: {then}"));
                    f.mismatches = o.mismatches;
                    return f;
                }
                tokio::time::sleep(ctx.retry_pause * attempt).await;
            }
            Err(e) => return fail(e.to_string()),
        }
    }
    fail("not updated".into())
}

async fn delete(ctx: &Ctx, c: &Change) -> Outcome {
    let Some(id) = c.live_id.as_deref() else {
        return outcome(
            c,
            Status::Failed,
            None,
            Some("the plan has no live id for this delete".into()),
        );
    };
    if let Err(o) = check_fresh(ctx, c, id).await {
        return o;
    }
    if ctx.interrupt.is_set() {
        return outcome(
            c,
            Status::Skipped,
            Some(id.into()),
            Some("interrupted before it started".into()),
        );
    }
    let done = |m: Option<&str>| outcome(c, Status::Deleted, Some(id.into()), m.map(String::from));
    // A delete is idempotent: after a failure that may or may not have been actioned
    // (a 5xx, a lost answer), read it; gone means done, still there means ask again.
    for attempt in 1..=ctx.write_attempts {
        match ctx.api.delete_customer(id).await {
            Ok(()) => return done(None),
            Err(ApiError::NotFound { .. }) => return done(Some("already gone")),
            Err(e) if possibly_committed(&e) => {
                match read_with_retry(ctx.write_attempts, ctx.retry_pause, || {
                    ctx.api.get_customer(id)
                })
                .await
                {
                    Err(ApiError::NotFound { .. }) => {
                        return done(Some("the answer was lost; it is gone"));
                    }
                    _ if attempt < ctx.write_attempts && !ctx.interrupt.is_set() => {
                        tokio::time::sleep(ctx.retry_pause * attempt).await;
                    }
                    _ => return outcome(c, Status::Failed, Some(id.into()), Some(e.to_string())),
                }
            }
            Err(e) => return outcome(c, Status::Failed, Some(id.into()), Some(e.to_string())),
        }
    }
    outcome(
        c,
        Status::Failed,
        Some(id.into()),
        Some("not deleted".into()),
    )
}

/// Read the customer back and compare; `status` when it matches, failed otherwise. The
/// read is batched with the wave's others (see [`super::batch`]); what a listing shows
/// not matching (or not at all: a lagging listing) is read again by GET.
pub(super) async fn read_back(
    ctx: &Ctx,
    c: &Change,
    status: Status,
    id: &str,
    expected: &[Expectation],
    note: Option<&str>,
) -> Outcome {
    let batched = batch::read(
        ctx.api.as_ref(),
        ctx.write_attempts,
        ctx.retry_pause,
        crate::api::Collection::CUSTOMERS,
        Want::Id(id.to_string()),
    )
    .await;
    let seen = match batched {
        Ok(found) => {
            let live = found.items.into_iter().next().map(LiveCustomer::from);
            match live {
                Some(live) if !found.listed || verify::verify(expected, &live).is_empty() => {
                    Ok(live)
                }
                // Not listed yet, or listed with other values: the listing may lag.
                _ => {
                    read_with_retry(ctx.write_attempts, ctx.retry_pause, || {
                        ctx.api.get_customer(id)
                    })
                    .await
                }
            }
        }
        Err(e) => Err(e),
    };
    match seen {
        Ok(live) => {
            let mismatches = verify::verify(expected, &live);
            if mismatches.is_empty() {
                outcome(c, status, Some(id.into()), note.map(String::from))
            } else {
                let paths: Vec<&str> = mismatches.iter().map(|m| m.path.as_str()).collect();
                let mut o = outcome(
                    c,
                    Status::Failed,
                    Some(id.into()),
                    Some(format!(
                        "written, but the server holds other values for {} (ignored or altered)",
                        paths.join(", ")
                    )),
                );
                o.mismatches = mismatches;
                o
            }
        }
        Err(e) => outcome(
            c,
            Status::Failed,
            Some(id.into()),
            Some(format!("written, but reading it back failed: {e}")),
        ),
    }
}
