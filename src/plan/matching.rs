//! Matching manifests to live tenants: by pinned `id` where a manifest has one, else by
//! `reference`. Never guesses: two live tenants with one reference, a pinned id that does
//! not exist, or two manifests claiming one tenant are errors.
//!
//! References are compared byte for byte, as the API compares them. A reference that
//! misses but equals a live one after Unicode NFC normalisation (`É` written as `E` and a
//! combining accent, or the other way round) is an error: the two look the same, and
//! creating the manifest's would make a look-alike duplicate.

use std::collections::{HashMap as StdMap, HashSet as StdSet};
use unicode_normalization::UnicodeNormalization;

use crate::model::{CustomerManifest, Ensure, LiveCustomer, Located, Source};

/// The maps here hash short ids and references 100,000 at a time: foldhash, randomly
/// seeded like the standard one, is several times faster than SipHash on them.
type Hasher = foldhash::fast::RandomState;
type HashMap<K, V> = StdMap<K, V, Hasher>;
type HashSet<K> = StdSet<K, Hasher>;

/// Live tenants by their reference in NFC, for the references that are not ASCII (an
/// ASCII text is its own NFC, and such a reference matches byte for byte or not at all).
type ByNfc<'l> = HashMap<String, Vec<&'l LiveCustomer>>;

/// The live tenants carrying one reference: nearly always one, so that case holds no
/// vector of its own (100,000 references would otherwise be 100,000 allocations).
#[derive(Debug)]
enum Group<'l> {
    One(&'l LiveCustomer),
    Many(Vec<&'l LiveCustomer>),
}

impl<'l> Group<'l> {
    fn push(&mut self, l: &'l LiveCustomer) {
        match self {
            Group::One(first) => *self = Group::Many(vec![*first, l]),
            Group::Many(all) => all.push(l),
        }
    }

    fn as_slice(&self) -> &[&'l LiveCustomer] {
        match self {
            Group::One(one) => std::slice::from_ref(one),
            Group::Many(all) => all,
        }
    }
}

/// Live tenants by their trimmed reference, byte for byte.
type ByRef<'l> = HashMap<&'l str, Group<'l>>;

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
    // Ids are looked up only for pinned manifests: no index when none is pinned.
    let mut by_id: HashMap<&str, &LiveCustomer> = HashMap::default();
    if desired.iter().any(|m| m.value.id.is_some()) {
        by_id.reserve(live.len());
        by_id.extend(live.iter().map(|l| (l.id.as_str(), l)));
    }
    let mut by_ref: ByRef<'l> = HashMap::with_capacity_and_hasher(live.len(), Hasher::default());
    let mut by_nfc: ByNfc<'l> = HashMap::default();
    for l in live {
        if let Some(r) = l.reference() {
            let r = r.trim();
            by_ref
                .entry(r)
                .and_modify(|g| g.push(l))
                .or_insert(Group::One(l));
            if !r.is_ascii() {
                by_nfc.entry(r.nfc().collect()).or_default().push(l);
            }
        }
    }
    let mut claimed: HashSet<&'l str> =
        HashSet::with_capacity_and_hasher(desired.len().min(live.len()), Hasher::default());
    // Which manifest took which tenant first, to report a second claim.
    let mut taken: HashMap<&'l str, &Source> =
        HashMap::with_capacity_and_hasher(claimed.capacity(), Hasher::default());
    let mut outcomes = Vec::with_capacity(desired.len());
    for m in desired {
        let outcome = match match_one(&m.value, &by_id, &by_ref) {
            Outcome::NotFound => look_alike(&m.value, &by_nfc).unwrap_or(Outcome::NotFound),
            other => other,
        };
        let outcome = match outcome {
            Outcome::Live(l) => match taken.get(l.id.as_str()) {
                Some(first) => Outcome::Error(format!(
                    "live customer {} is already declared by the manifest at {first}; \
                     each tenant may be declared once",
                    l.id
                )),
                None => {
                    taken.insert(l.id.as_str(), &m.source);
                    claimed.insert(l.id.as_str());
                    Outcome::Live(l)
                }
            },
            other => other,
        };
        if let Outcome::Error(_) = outcome
            && m.value.id.is_none()
            && let Some(r) = m.value.spec.reference.as_deref()
        {
            // An ambiguous or look-alike reference still declares those tenants: never
            // prune them.
            if let Some(ls) = by_ref.get(r.trim()) {
                claimed.extend(ls.as_slice().iter().map(|l| l.id.as_str()));
            }
            if !r.is_ascii()
                && let Some(ls) = by_nfc.get(&r.trim().nfc().collect::<String>())
            {
                claimed.extend(ls.iter().map(|l| l.id.as_str()));
            }
        }
        outcomes.push(outcome);
    }
    Matched { outcomes, claimed }
}

/// The error for a manifest whose reference matched no live tenant byte for byte but
/// equals one after NFC: the API would take the manifest's as a new reference.
fn look_alike<'l>(m: &CustomerManifest, by_nfc: &ByNfc<'l>) -> Option<Outcome<'l>> {
    if m.id.is_some() {
        return None;
    }
    let reference = m.spec.reference.as_deref()?.trim();
    if reference.is_ascii() {
        return None;
    }
    let found = by_nfc.get(&reference.nfc().collect::<String>())?;
    let live: Vec<String> = found
        .iter()
        .map(|l| {
            format!(
                "{} ({})",
                l.id,
                code_points(l.reference().unwrap_or_default().trim())
            )
        })
        .collect();
    Some(Outcome::Error(format!(
        "reference {reference:?} ({}) looks the same as the reference of live customer {} \
         but differs in its bytes (Unicode composition); the API compares references byte \
         for byte, so this would create a look-alike duplicate: write the reference exactly \
         as the live one, or pin the customer with `id`",
        code_points(reference),
        live.join(", ")
    )))
}

/// `s` with each character that is not ASCII written as its code point
/// (`CAFE<U+0301>-1`), to show a difference that cannot be seen.
fn code_points(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                format!("<U+{:04X}>", c as u32)
            }
        })
        .collect()
}

fn match_one<'l>(
    m: &CustomerManifest,
    by_id: &HashMap<&str, &'l LiveCustomer>,
    by_ref: &ByRef<'l>,
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
    match by_ref.get(reference.trim()).map(Group::as_slice) {
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
