//! Matching manifests to live tenants: by pinned `id` where a manifest has one, else by
//! `reference`. Never guesses: two live tenants with one reference, a pinned id that does
//! not exist, or two manifests claiming one tenant are errors.

use std::collections::{HashMap, HashSet};

use crate::model::{CustomerManifest, Ensure, LiveCustomer, Located};

/// What one manifest matched.
#[derive(Debug)]
pub(crate) enum Outcome<'l> {
    /// Exactly one live tenant.
    Live(&'l LiveCustomer),
    /// No live tenant (a create, or nothing to do for `ensure: absent`).
    NotFound,
    /// The manifest cannot be planned; the message says why.
    Error(String),
}

/// The outcome per manifest (same order as the input), and the ids of every live tenant
/// that some manifest declares (matched, or part of an ambiguity): those are never
/// unmanaged and never pruned.
#[derive(Debug)]
pub(crate) struct Matched<'l> {
    pub outcomes: Vec<Outcome<'l>>,
    pub claimed: HashSet<&'l str>,
}

pub(crate) fn match_all<'l>(
    desired: &[Located<CustomerManifest>],
    live: &'l [LiveCustomer],
) -> Matched<'l> {
    let mut by_id: HashMap<&str, &LiveCustomer> = HashMap::with_capacity(live.len());
    let mut by_ref: HashMap<&str, Vec<&LiveCustomer>> = HashMap::with_capacity(live.len());
    for l in live {
        by_id.insert(l.id.as_str(), l);
        if let Some(r) = l.reference() {
            by_ref.entry(r.trim()).or_default().push(l);
        }
    }
    let mut claimed: HashSet<&'l str> = HashSet::new();
    // Which manifest took which tenant first, to report a second claim.
    let mut taken: HashMap<&'l str, String> = HashMap::new();
    let mut outcomes = Vec::with_capacity(desired.len());
    for m in desired {
        let outcome = match_one(&m.value, &by_id, &by_ref);
        let outcome = match outcome {
            Outcome::Live(l) => match taken.get(l.id.as_str()) {
                Some(first) => Outcome::Error(format!(
                    "live customer {} is already declared by the manifest at {first}; \
                     each tenant may be declared once",
                    l.id
                )),
                None => {
                    taken.insert(l.id.as_str(), m.source.to_string());
                    claimed.insert(l.id.as_str());
                    Outcome::Live(l)
                }
            },
            other => other,
        };
        if let Outcome::Error(_) = outcome
            && m.value.id.is_none()
            && let Some(r) = m.value.spec.reference.as_deref()
            && let Some(ls) = by_ref.get(r.trim())
        {
            // An ambiguous reference still declares those tenants: never prune them.
            claimed.extend(ls.iter().map(|l| l.id.as_str()));
        }
        outcomes.push(outcome);
    }
    Matched { outcomes, claimed }
}

fn match_one<'l>(
    m: &CustomerManifest,
    by_id: &HashMap<&str, &'l LiveCustomer>,
    by_ref: &HashMap<&str, Vec<&'l LiveCustomer>>,
) -> Outcome<'l> {
    if let Some(id) = m.id.as_deref() {
        return match by_id.get(id) {
            Some(l) => Outcome::Live(l),
            // Already gone: terminated tenants are not listed.
            None if m.ensure == Ensure::Absent => Outcome::NotFound,
            None => Outcome::Error(format!(
                "the pinned id {id} does not exist live; a pinned id is never created \
                 (remove `id` to create a new tenant by reference)"
            )),
        };
    }
    let Some(reference) = m.spec.reference.as_deref() else {
        return Outcome::Error("the manifest has neither `id` nor `reference`".to_string());
    };
    match by_ref.get(reference.trim()).map(Vec::as_slice) {
        None | Some([]) => Outcome::NotFound,
        Some([one]) => Outcome::Live(one),
        Some(many) => {
            let ids: Vec<&str> = many.iter().map(|l| l.id.as_str()).collect();
            Outcome::Error(format!(
                "reference {reference:?} is ambiguous: live customers {} all carry it; \
                 pin one with `id` (and fix the others' reference)",
                ids.join(", ")
            ))
        }
    }
}
