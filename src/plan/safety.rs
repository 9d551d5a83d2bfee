//! Safety thresholds, as in octoDNS: a plan that creates, updates or deletes more than a
//! share of the existing customers is unsafe unless `allow_unsafe`; an empty live listing
//! while manifests pin existing tenant ids is unsafe whatever the thresholds say (the
//! listing is far more likely wrong than the account empty); a delete of a customer that
//! `lifecycle.preventDestroy` protects is refused always, whatever the flags.

use crate::model::Kind;

use super::{ActionKind, Change, Policy};

/// `existing` counts live customers; `existing_children` the live resources below them
/// that were listed (PBX profiles), against which their own changes are measured.
pub(crate) fn unsafe_reasons(
    changes: &[Change],
    existing: usize,
    existing_children: usize,
    pinned: usize,
    policy: &Policy,
) -> Vec<String> {
    let mut reasons = Vec::new();
    if existing == 0 && pinned > 0 {
        reasons.push(format!(
            "the live listing is empty although {pinned} manifest(s) pin existing tenant ids: \
             the listing is probably wrong (check the endpoint, --account and the token); \
             unsafe whatever the thresholds and --allow-unsafe say"
        ));
    }
    for c in changes {
        if c.action == ActionKind::Refused && c.refusals.iter().any(|r| r.field == "ensure") {
            reasons.push(match c.kind {
                crate::model::Kind::Customer => format!(
                    "{}: the manifest asks to terminate a customer protected by \
                     lifecycle.preventDestroy (refused even with --allow-unsafe)",
                    c.key
                ),
                crate::model::Kind::PbxConnection => format!(
                    "{}: the manifest asks to delete a PBX profile of a customer protected by \
                     lifecycle.preventDestroy (refused even with --allow-unsafe)",
                    c.address
                ),
                crate::model::Kind::User => format!(
                    "{}: the manifest asks to delete a user protected by \
                     lifecycle.preventDestroy (refused even with --allow-unsafe)",
                    c.address
                ),
            });
        }
    }
    if policy.allow_unsafe {
        return reasons;
    }
    shares(
        &mut reasons,
        changes,
        Kind::Customer,
        existing,
        "customers",
        policy,
    );
    shares(
        &mut reasons,
        changes,
        Kind::PbxConnection,
        existing_children,
        "PBX connection profiles",
        policy,
    );
    reasons
}

/// The share checks for the changes of one kind against its `existing` live count.
fn shares(
    reasons: &mut Vec<String>,
    changes: &[Change],
    kind: Kind,
    existing: usize,
    what: &str,
    policy: &Policy,
) {
    if existing == 0 || existing < policy.min_existing_for_thresholds {
        return;
    }
    // Customers: creates and updates count customers; deletes count customers and users
    // (a user deleted in their primary tenant is gone from every tenant). PBX profiles:
    // their own changes, against the profiles listed.
    let counted = |c: &Change, k: ActionKind| match kind {
        Kind::PbxConnection => c.kind == Kind::PbxConnection,
        _ => c.kind == Kind::Customer || (k == ActionKind::Delete && c.kind == Kind::User),
    };
    let count = |k: ActionKind| {
        changes
            .iter()
            .filter(|c| c.action == k && counted(c, k))
            .count()
    };
    let checks = [
        (
            "updated",
            count(ActionKind::Update),
            policy.max_update_share,
        ),
        (
            "deleted",
            count(ActionKind::Delete),
            policy.max_delete_share,
        ),
        (
            "created anew",
            count(ActionKind::Create),
            policy.max_create_share,
        ),
    ];
    for (verb, n, max) in checks {
        let share = n as f64 / existing as f64;
        if share > max {
            reasons.push(format!(
                "{n} of {existing} existing {what} ({:.0} %) would be {verb}, above the \
                 {:.0} % threshold; review the plan and pass --allow-unsafe if it is intended",
                share * 100.0,
                max * 100.0
            ));
        }
    }
}
