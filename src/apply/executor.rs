//! The executor proper: runs a plan's changes against the API, creates and updates
//! concurrently, deletes last, each customer on its own (one failure stops no other).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::outcome::{ApplyReport, Outcome, Status};
use super::preflight::{Refusal, preflight};
use super::progress::Progress;
use super::secrets::{SecretSource, resolve_map, resolve_ops};
use super::verify::{self, Expectation};
use crate::api::{Api, ApiError, WriteOptions};
use crate::model::{CustomerKey, LiveCustomer};
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
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 8,
            accept_charges: false,
            write_attempts: 5,
            retry_pause: Duration::from_millis(200),
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
/// fingerprints (the same listing the planner fingerprints), and creates check that no
/// tenant with their reference exists.
struct Snapshot {
    by_id: HashMap<String, LiveCustomer>,
    by_reference: HashMap<String, Vec<LiveCustomer>>,
}

/// References are compared trimmed, otherwise exactly.
pub fn reference_key(r: &str) -> String {
    r.trim().to_string()
}

struct Ctx {
    api: Arc<dyn Api>,
    env: Arc<dyn SecretSource>,
    progress: Arc<dyn Progress>,
    interrupt: Interrupt,
    write: WriteOptions,
    write_attempts: u32,
    retry_pause: Duration,
    snapshot: Option<Snapshot>,
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

    let listing = read_with_retry(opts.write_attempts.max(1), opts.retry_pause, || {
        api.list_customers(None)
    })
    .await;
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
        snapshot,
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
            phase1.extend(run_all(&ctx, wave, parallelism).await);
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
    let phase1_ok = !phase1.iter().any(|o| o.status.is_problem());
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
    Ok(ApplyReport::new(endpoint, results, interrupt.is_set()))
}

fn snapshot_of(list: Vec<LiveCustomer>) -> Snapshot {
    let mut by_reference: HashMap<String, Vec<LiveCustomer>> = HashMap::new();
    for c in &list {
        if let Some(r) = c.reference() {
            by_reference
                .entry(reference_key(r))
                .or_default()
                .push(c.clone());
        }
    }
    let by_id = list.into_iter().map(|c| (c.id.clone(), c)).collect();
    Snapshot {
        by_id,
        by_reference,
    }
}

async fn run_all(ctx: &Arc<Ctx>, changes: Vec<&Change>, parallelism: usize) -> Vec<Outcome> {
    let permits = Arc::new(Semaphore::new(parallelism));
    let mut set = JoinSet::new();
    for c in changes {
        let ctx = ctx.clone();
        let permits = permits.clone();
        let change = c.clone();
        set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let o = if ctx.interrupt.is_set() {
                outcome(
                    &change,
                    Status::Skipped,
                    change.live_id.clone(),
                    Some("interrupted before it started".into()),
                )
            } else {
                run_one(&ctx, &change).await
            };
            ctx.progress.finish(&o);
            o
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

fn outcome(c: &Change, status: Status, id: Option<String>, message: Option<String>) -> Outcome {
    Outcome {
        key: c.key.clone(),
        name: c.name.clone(),
        action: c.action,
        status,
        id,
        message,
        mismatches: Vec::new(),
    }
}

async fn run_one(ctx: &Ctx, c: &Change) -> Outcome {
    match c.action {
        ActionKind::Create => {
            ctx.progress.begin(&c.key, "creating");
            create(ctx, c).await
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
fn possibly_committed(e: &ApiError) -> bool {
    e.is_ambiguous()
        || matches!(e, ApiError::Transport { .. } | ApiError::Decode { .. })
        || e.status().is_some_and(|s| s >= 500)
}

/// Whether a failed read may succeed if asked again.
fn read_retryable(e: &ApiError) -> bool {
    matches!(e, ApiError::Transport { .. } | ApiError::Decode { .. })
        || e.status().is_some_and(|s| s >= 500 || s == 429)
}

/// Run a read, asking again (up to the write-attempt bound) while it fails transiently.
/// Reads are safe to repeat; the client's own retry policy may not cover every 5xx.
async fn read_with_retry<T, F, Fut>(
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

fn charges_message(c: &Change) -> String {
    format!(
        "{}: the server answered 402 Payment Required (this change may incur charges) and did not make it; re-run with --accept-charges",
        c.key
    )
}

/// The live customers whose reference is `reference`: from the run's snapshot, or (when
/// `fresh` or there is none) from a filtered listing made now.
async fn find_by_reference(
    ctx: &Ctx,
    reference: &str,
    fresh: bool,
) -> Result<Vec<LiveCustomer>, ApiError> {
    let key = reference_key(reference);
    if !fresh && let Some(s) = &ctx.snapshot {
        return Ok(s.by_reference.get(&key).cloned().unwrap_or_default());
    }
    let list = read_with_retry(ctx.write_attempts, ctx.retry_pause, || {
        ctx.api.list_customers(Some(key.as_str()))
    })
    .await?;
    Ok(list
        .into_iter()
        .filter(|c| c.reference().map(reference_key).as_deref() == Some(key.as_str()))
        .collect())
}

fn create_reference(c: &Change) -> Option<String> {
    let from_body = c
        .create
        .as_ref()
        .and_then(|b| b.get("reference"))
        .and_then(|v| v.as_str())
        .filter(|s| !s.trim().is_empty());
    match (from_body, &c.key) {
        (Some(r), _) => Some(r.to_string()),
        (None, CustomerKey::Reference(r)) if !r.trim().is_empty() => Some(r.clone()),
        _ => None,
    }
}

async fn create(ctx: &Ctx, c: &Change) -> Outcome {
    let fail = |m: String| outcome(c, Status::Failed, None, Some(m));
    let Some(body) = &c.create else {
        return fail("the plan has no body for this create".into());
    };
    let Some(reference) = create_reference(c) else {
        return fail("a create needs a reference: dimctl finds a created customer by it".into());
    };
    let expected = verify::from_create(body);
    match find_by_reference(ctx, &reference, false).await {
        Err(e) => {
            return fail(format!(
                "could not check that no tenant has reference {reference} ({e}); not created"
            ));
        }
        Ok(found) if found.len() > 1 => {
            return fail(format!(
                "{} tenants already have reference {reference}; not created",
                found.len()
            ));
        }
        Ok(found) => {
            if let Some(existing) = found.into_iter().next() {
                return read_back(
                    ctx,
                    c,
                    Status::Created,
                    &existing.id,
                    &expected,
                    Some("already existed (an earlier run created it); not created again"),
                )
                .await;
            }
        }
    }
    if ctx.interrupt.is_set() {
        return outcome(
            c,
            Status::Skipped,
            None,
            Some("interrupted before it started".into()),
        );
    }
    let resolved = match resolve_map(body, ctx.env.as_ref()) {
        Ok(b) => b,
        Err(e) => return fail(e.to_string()),
    };
    let mut last = String::new();
    for attempt in 1..=ctx.write_attempts {
        match ctx.api.create_customer(&resolved, ctx.write).await {
            Ok(live) => {
                return read_back(ctx, c, Status::Created, &live.id, &expected, None).await;
            }
            Err(ApiError::ChargesRequired { .. }) => return fail(charges_message(c)),
            Err(e) if possibly_committed(&e) => {
                tracing::info!("create {}: outcome unknown ({e}); looking it up", c.key);
                match find_by_reference(ctx, &reference, true).await {
                    Ok(found) if found.len() == 1 => {
                        return read_back(
                            ctx,
                            c,
                            Status::Created,
                            &found[0].id,
                            &expected,
                            Some("the answer was lost; found it created"),
                        )
                        .await;
                    }
                    Ok(found) if found.len() > 1 => {
                        return fail(format!(
                            "{} tenants have reference {reference} after an unanswered create",
                            found.len()
                        ));
                    }
                    Ok(_) => last = e.to_string(),
                    Err(le) => {
                        return fail(format!(
                            "outcome unknown ({e}) and the look-up failed ({le}); re-run plan to see whether it exists"
                        ));
                    }
                }
            }
            Err(e) => return fail(e.to_string()),
        }
        if attempt < ctx.write_attempts {
            if ctx.interrupt.is_set() {
                return outcome(
                    c,
                    Status::Skipped,
                    None,
                    Some(format!(
                        "interrupted; the last attempt did not create it ({last})"
                    )),
                );
            }
            tokio::time::sleep(ctx.retry_pause * attempt).await;
        }
    }
    fail(format!(
        "not created after {} attempts (each confirmed not to have committed): {last}",
        ctx.write_attempts
    ))
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
        match ctx.api.patch_customer(id, &ops, ctx.write).await {
            Ok(()) => return read_back(ctx, c, Status::Updated, id, &expected, None).await,
            Err(ApiError::ChargesRequired { .. }) => return fail(charges_message(c)),
            Err(e) if possibly_committed(&e) => {
                // The answer was lost: read back to learn whether it was made.
                let o = read_back(
                    ctx,
                    c,
                    Status::Updated,
                    id,
                    &expected,
                    Some("the answer was lost; verified by reading it back"),
                )
                .await;
                if o.status == Status::Updated {
                    return o;
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

/// Read the customer back and compare; `status` when it matches, failed otherwise.
async fn read_back(
    ctx: &Ctx,
    c: &Change,
    status: Status,
    id: &str,
    expected: &[Expectation],
    note: Option<&str>,
) -> Outcome {
    match read_with_retry(ctx.write_attempts, ctx.retry_pause, || {
        ctx.api.get_customer(id)
    })
    .await
    {
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
