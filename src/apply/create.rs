//! The create protocol: a customer is never left created twice, and no side effect happens
//! on a duplicate, although the API has no lock and no idempotency key and other runs may
//! create the same reference at the same moment. It owns the steps of one create:
//!
//! 1. an exact, case-sensitive look-up of the reference right before the POST (a fresh
//!    `filter` listing): a tenant another run created meanwhile is adopted, not created;
//! 2. at most one POST per customer per run. A POST whose answer is lost is followed by
//!    look-ups with bounded backoff ([`ApplyOptions::lookup_backoff`], about 4 s in all);
//!    found means adopted, not found means the outcome is `unknown` (exit 1; a re-run's
//!    plan sees the tenant if it was created);
//! 3. side effects last: a manifest with `enabled: true` is created with `enabled: false`;
//! 4. a confirmation look-up that must show the tenant itself (so a lagging search has
//!    caught up); when it shows more than one tenant with the reference, the survivor is
//!    the earliest `dateCreated`, then the smallest id (every run computes the same), and a
//!    run whose own tenant lost terminates it (it was never enabled) and carries on with
//!    the survivor;
//! 5. only then the PATCH that enables it, and a read-back.
//!
//! The uniqueness check over every reference a run created runs after all creates (in
//! [`super::executor`]).
//!
//! [`ApplyOptions::lookup_backoff`]: super::ApplyOptions::lookup_backoff

use std::cmp::Ordering;

use serde_json::Value;

use super::batch::{self, Want};
use super::executor::{Ctx, charges_message, outcome, possibly_committed};
use super::outcome::{Outcome, Status};
use super::secrets::resolve_map;
use super::verify::{self, Expectation};
use crate::api::{ApiError, Collection, PatchOperation};
use crate::model::{CustomerKey, LiveCustomer};
use crate::plan::Change;

/// The tenants whose reference is exactly `reference` (case-sensitive, after trimming
/// both), from a listing made now: batched with the wave's other look-ups (one listing of
/// every customer, or a `filter` look-up each, whichever takes fewer requests; see
/// [`super::batch`]).
pub(super) async fn find_exact(ctx: &Ctx, reference: &str) -> Result<Vec<LiveCustomer>, ApiError> {
    let key = reference.trim();
    let found = batch::read(
        ctx.api.as_ref(),
        ctx.write_attempts,
        ctx.retry_pause,
        Collection::CUSTOMERS,
        Want::Identity(key.to_string()),
    )
    .await?;
    Ok(found
        .items
        .into_iter()
        .map(LiveCustomer::from)
        .filter(|c| c.reference().map(str::trim) == Some(key))
        .collect())
}

/// The deterministic survivor among tenants sharing a reference: earliest `dateCreated`
/// (a missing or unreadable one sorts last), then the smallest id.
pub fn survivor(tenants: &[LiveCustomer]) -> Option<&LiveCustomer> {
    tenants.iter().min_by(|a, b| compare_age(a, b))
}

fn created_at(c: &LiveCustomer) -> Option<jiff::Timestamp> {
    c.get_str("dateCreated")
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
}

fn compare_age(a: &LiveCustomer, b: &LiveCustomer) -> Ordering {
    let by_date = match (created_at(a), created_at(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_date.then_with(|| a.id.cmp(&b.id))
}

fn ids(tenants: &[LiveCustomer]) -> String {
    tenants
        .iter()
        .map(|t| t.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The reference a create outcome is about (its key, when keyed by reference).
pub(super) fn reference_of(o: &Outcome) -> Option<String> {
    match &o.key {
        CustomerKey::Reference(r) if !r.trim().is_empty() => Some(r.clone()),
        _ => None,
    }
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

/// Run one create change through the protocol.
pub(super) async fn create(ctx: &Ctx, c: &Change) -> Outcome {
    let fail = |m: String| outcome(c, Status::Failed, None, Some(m));
    let Some(body) = &c.create else {
        return fail("the plan has no body for this create".into());
    };
    let Some(reference) = create_reference(c) else {
        return fail("a create needs a reference: dimctl finds a created customer by it".into());
    };
    let expected = verify::from_create(body);
    let wants_enabled = body.get("enabled").and_then(Value::as_bool) == Some(true);
    match find_exact(ctx, &reference).await {
        Err(e) => {
            return fail(format!(
                "could not check that no tenant has reference {reference} ({e}); not created"
            ));
        }
        Ok(found) => {
            // Another run created it meanwhile (more than one: other runs are resolving a
            // duplicate right now): carry on with the survivor every run agrees on. A
            // duplicate that stays is reported by the uniqueness check.
            if let Some(keep) = survivor(&found) {
                let note = if found.len() > 1 {
                    format!(
                        "already existed (another run created it; {} tenants hold it now: {}); adopted the first created, not created again",
                        found.len(),
                        ids(&found)
                    )
                } else {
                    "already existed (another run created it); adopted, not created again".into()
                };
                let id = keep.id.clone();
                return settle(ctx, c, &reference, None, &id, &expected, &note).await;
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
    let mut resolved = match resolve_map(body, ctx.env.as_ref()) {
        Ok(b) => b,
        Err(e) => return fail(e.to_string()),
    };
    if wants_enabled {
        // Side effects last: enabled only once the reference is confirmed unique.
        resolved.insert("enabled".into(), Value::Bool(false));
    }
    batch::slot().await;
    if let Some(skipped) = ctx.halted_before(c) {
        return skipped;
    }
    match ctx.api.create_customer(&resolved, ctx.write).await {
        Ok(live) => settle(ctx, c, &reference, Some(&live), &live.id, &expected, "").await,
        Err(ApiError::ChargesRequired { .. }) => fail(charges_message(c)),
        Err(e) if possibly_committed(&e) => {
            tracing::info!("create {}: outcome unknown ({e}); looking it up", c.key);
            match batch::holding_slot(look_after_lost_answer(ctx, &reference)).await {
                Ok(found) => match survivor(&found) {
                    Some(s) => {
                        let id = s.id.clone();
                        settle(
                            ctx,
                            c,
                            &reference,
                            None,
                            &id,
                            &expected,
                            "the answer was lost; found it created",
                        )
                        .await
                    }
                    None => {
                        ctx.unknown_after(&e);
                        unknown(c, &reference, &e.to_string())
                    }
                },
                Err(le) => {
                    ctx.unknown_after(&e);
                    unknown(c, &reference, &format!("{e}; the look-up failed: {le}"))
                }
            }
        }
        Err(e) => fail(e.to_string()),
    }
}

fn unknown(c: &Change, reference: &str, why: &str) -> Outcome {
    outcome(
        c,
        Status::Unknown,
        None,
        Some(format!(
            "outcome unknown: the create was sent once and its answer lost ({why}), and look-ups by reference {reference} do not show it; not sent again. Re-run: the next plan sees the tenant if it was created"
        )),
    )
}

/// Look the reference up after a lost answer, with the run's bounded backoff, until a
/// tenant shows up.
async fn look_after_lost_answer(ctx: &Ctx, reference: &str) -> Result<Vec<LiveCustomer>, ApiError> {
    let mut delays = ctx.lookup_backoff.iter();
    loop {
        let found = find_exact(ctx, reference).await?;
        if !found.is_empty() {
            return Ok(found);
        }
        match delays.next() {
            Some(d) => tokio::time::sleep(*d).await,
            None => return Ok(found),
        }
    }
}

/// The confirmation look-up: tenants with the reference, once the list shows `id` itself
/// (a lagging search has caught up with it); `None` when it never does within the backoff.
async fn confirm(
    ctx: &Ctx,
    reference: &str,
    id: &str,
) -> Result<Option<Vec<LiveCustomer>>, ApiError> {
    let mut delays = ctx.lookup_backoff.iter();
    loop {
        let found = find_exact(ctx, reference).await?;
        if found.iter().any(|t| t.id == id) {
            return Ok(Some(found));
        }
        match delays.next() {
            Some(d) => tokio::time::sleep(*d).await,
            None => return Ok(None),
        }
    }
}

/// Confirm, resolve a duplicate by the survivor rule, enable last, verify.
/// `own` is the tenant this run's POST created, as its answer showed it (when it has the
/// answer): what the confirmation listing does not carry is checked against the answer.
async fn settle(
    ctx: &Ctx,
    c: &Change,
    reference: &str,
    own_answer: Option<&LiveCustomer>,
    candidate: &str,
    expected: &[Expectation],
    note: &str,
) -> Outcome {
    let with_id =
        |status: Status, id: &str, m: String| outcome(c, status, Some(id.into()), Some(m));
    let tenants = match confirm(ctx, reference, candidate).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return with_id(
                Status::Failed,
                candidate,
                format!(
                    "created, but look-ups by reference {reference} do not show it yet, so it could not be confirmed unique; left disabled. Re-run to finish"
                ),
            );
        }
        Err(e) => {
            return with_id(
                Status::Failed,
                candidate,
                format!(
                    "created, but the confirmation look-up failed ({e}); left disabled. Re-run to finish"
                ),
            );
        }
    };
    let Some(keep) = survivor(&tenants).cloned() else {
        return with_id(Status::Failed, candidate, "no tenant to confirm".into());
    };
    let mut notes: Vec<String> = Vec::new();
    if !note.is_empty() {
        notes.push(note.to_string());
    }
    let own = own_answer.map(|a| a.id.as_str());
    if let Some(own) = own
        && own != keep.id
    {
        // Our tenant lost: it was never enabled, so terminating it has no side effect.
        batch::slot().await;
        match ctx.api.delete_customer(own).await {
            Ok(()) | Err(ApiError::NotFound { .. }) => {
                ctx.terminated(own);
                notes.push(format!(
                    "another run created reference {reference} at the same time: terminated this run's duplicate {own} (never enabled) and kept {} (created first)",
                    keep.id
                ));
            }
            Err(e) => {
                return with_id(
                    Status::Failed,
                    own,
                    format!(
                        "duplicate: reference {reference} is held by {} (kept) and this run's {own}, which could not be terminated ({e}); it was never enabled. Terminate {own}",
                        keep.id
                    ),
                );
            }
        }
    }
    if tenants.len() > 1 && own.is_none_or(|o| o == keep.id) {
        let others: Vec<LiveCustomer> = tenants
            .iter()
            .filter(|t| t.id != keep.id)
            .cloned()
            .collect();
        notes.push(format!(
            "other tenants with reference {reference} ({}) were created after this one; their runs terminate them",
            ids(&others)
        ));
    }
    let wants_enabled = expected
        .iter()
        .any(|e| matches!(e, Expectation::Value(p, Value::Bool(true)) if p == "/enabled"));
    let is_enabled = keep.get("enabled").and_then(|v| v.as_bool()) == Some(true);
    let message = |notes: &[String]| (!notes.is_empty()).then(|| notes.join("; "));
    if wants_enabled && !is_enabled {
        let op: PatchOperation = match serde_json::from_value(serde_json::json!(
            {"op": "replace", "path": "/enabled", "value": true}
        )) {
            Ok(op) => op,
            Err(e) => return with_id(Status::Failed, &keep.id, e.to_string()),
        };
        let mut enabled = false;
        let mut last = String::new();
        for attempt in 1..=ctx.write_attempts {
            batch::slot().await;
            match ctx
                .api
                .patch_customer(&keep.id, std::slice::from_ref(&op), ctx.write)
                .await
            {
                Ok(()) => {
                    enabled = true;
                    break;
                }
                Err(ApiError::ChargesRequired { .. }) => {
                    return with_id(Status::Failed, &keep.id, charges_message(c));
                }
                Err(e) if possibly_committed(&e) => {
                    last = e.to_string();
                    // `replace` is idempotent: read back, and ask again if not made.
                    if let Ok(live) = ctx.api.get_customer(&keep.id).await
                        && live.get("enabled").and_then(|v| v.as_bool()) == Some(true)
                    {
                        enabled = true;
                        break;
                    }
                    if attempt < ctx.write_attempts {
                        tokio::time::sleep(ctx.retry_pause * attempt).await;
                    }
                }
                Err(e) => {
                    last = e.to_string();
                    break;
                }
            }
        }
        if !enabled {
            return with_id(
                Status::Failed,
                &keep.id,
                format!("created and confirmed unique, but enabling it failed: {last}; re-run"),
            );
        }
        let o = super::executor::read_back(ctx, c, Status::Created, &keep.id, expected, None).await;
        let mut o = o;
        if o.status == Status::Created {
            o.message = message(&notes);
        }
        return o;
    }
    let seen = match own_answer {
        Some(answer) if answer.id == keep.id => with_answer(&keep, answer),
        _ => keep.clone(),
    };
    let mismatches = verify::verify(expected, &seen);
    let mut o = outcome(c, Status::Created, Some(keep.id.clone()), message(&notes));
    if !mismatches.is_empty() {
        let paths: Vec<&str> = mismatches.iter().map(|m| m.path.as_str()).collect();
        o.status = Status::Failed;
        o.message = Some(format!(
            "the tenant with reference {reference} holds other values for {} (ignored or altered by the server, or created by another run from another manifest)",
            paths.join(", ")
        ));
        o.mismatches = mismatches;
    }
    o
}

/// The tenant as a listing shows it, with the fields only the create's answer carried
/// (a listing may return fewer fields than a create answers with).
fn with_answer(listed: &LiveCustomer, answer: &LiveCustomer) -> LiveCustomer {
    let mut fields = listed.fields();
    for (k, v) in answer.fields() {
        fields.entry(k).or_insert(v);
    }
    LiveCustomer::new(listed.id.clone(), &fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(id: &str, date: Option<&str>) -> LiveCustomer {
        let mut v = json!({"id": id, "reference": "R"});
        if let Some(d) = date {
            v["dateCreated"] = json!(d);
        }
        LiveCustomer::from_json(v).unwrap()
    }

    #[test]
    fn the_survivor_is_the_earliest_then_the_smallest_id_in_any_order() {
        let a = t("b", Some("2026-01-01T00:00:00.5Z"));
        let b = t("a", Some("2026-01-01T00:00:00.25Z"));
        let c = t("0", None);
        let d = t("c", Some("2026-01-01T00:00:00.25Z"));
        for order in [
            vec![a.clone(), b.clone(), c.clone(), d.clone()],
            vec![d.clone(), c.clone(), b.clone(), a.clone()],
            vec![c.clone(), a.clone(), d.clone(), b.clone()],
        ] {
            assert_eq!(survivor(&order).unwrap().id, "a");
        }
        assert_eq!(survivor(&[t("z", None), t("y", None)]).unwrap().id, "y");
        assert!(survivor(&[]).is_none());
    }
}
