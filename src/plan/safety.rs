//! Safety thresholds, as in octoDNS: a plan that creates, updates or deletes more than a
//! share of the existing customers is unsafe unless `allow_unsafe`; an empty live listing
//! while manifests pin existing tenant ids is unsafe whatever the thresholds say (the
//! listing is far more likely wrong than the account empty); a delete of a customer that
//! `lifecycle.preventDestroy` protects is refused always, whatever the flags.

use super::{ActionKind, Change, Policy};

pub(crate) fn unsafe_reasons(
    changes: &[Change],
    existing: usize,
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
                crate::model::Kind::User => format!(
                    "{}: the manifest asks to delete a user protected by \
                     lifecycle.preventDestroy (refused even with --allow-unsafe)",
                    c.address
                ),
            });
        }
    }
    if policy.allow_unsafe || existing == 0 || existing < policy.min_existing_for_thresholds {
        return reasons;
    }
    // Creates and updates count customers; deletes count every resource deleted (a user
    // deleted in their primary tenant is gone from every tenant).
    let count = |k: ActionKind| {
        changes
            .iter()
            .filter(|c| c.action == k)
            .filter(|c| k == ActionKind::Delete || c.kind == crate::model::Kind::Customer)
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
                "{n} of {existing} existing customers ({:.0} %) would be {verb}, above the \
                 {:.0} % threshold; review the plan and pass --allow-unsafe if it is intended",
                share * 100.0,
                max * 100.0
            ));
        }
    }
    reasons
}
