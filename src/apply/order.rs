//! The order in which the executor writes changes across kinds: parents are created and
//! updated before their children, children are deleted before their parents. A wave is a
//! set of changes that may run concurrently.
//!
//! It also hands a parent's id over to its children: a child whose parent is created in the
//! same run learns the new id before its wave runs ([`hand_over`]).
//!
//! Pure: it only sorts and fills in ids. It must not call the API or decide whether a
//! change runs.

use std::collections::HashMap;

use crate::model::{Address, Kind};
use crate::plan::{ActionKind, Change};

/// How deep a kind sits: 0 for a top-level kind, 1 for its children, and so on.
pub fn depth(kind: Kind) -> usize {
    let mut d = 0;
    let mut k = kind;
    while let Some(p) = k.def().parent {
        d += 1;
        k = p;
    }
    d
}

/// Group items into waves: non-deletes by ascending depth (parents first), then deletes by
/// descending depth (children first). `key` gives an item's depth and whether it deletes.
/// Items keep their relative order within a wave.
pub fn waves_by<T>(items: Vec<T>, key: impl Fn(&T) -> (usize, bool)) -> Vec<Vec<T>> {
    let mut keyed: Vec<((usize, bool), T)> = items.into_iter().map(|t| (key(&t), t)).collect();
    // Rank: writes first by depth, then deletes by reverse depth.
    let rank = |(d, del): (usize, bool)| -> (bool, isize) {
        if del {
            (true, -(d as isize))
        } else {
            (false, d as isize)
        }
    };
    keyed.sort_by_key(|(k, _)| rank(*k));
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut last = None;
    for (k, t) in keyed {
        if last != Some(rank(k)) {
            out.push(Vec::new());
            last = Some(rank(k));
        }
        if let Some(w) = out.last_mut() {
            w.push(t);
        }
    }
    out
}

/// The waves of a plan's writes.
pub fn waves(changes: Vec<&Change>) -> Vec<Vec<&Change>> {
    waves_by(changes, |c| (depth(c.kind), c.action == ActionKind::Delete))
}

/// The address of a change's parent, printed (`customer[ACME-0001]`), if it has one.
pub fn parent_address(c: &Change) -> Option<String> {
    let a: Address = c.address.parse().ok()?;
    a.parent.map(|p| p.to_string())
}

/// The wave's changes, each child that does not know its parent's id given the id of the
/// parent created earlier in this run (`created`: printed address → new id). A child whose
/// parent id is already known (from the plan) keeps it; one whose parent was not created
/// keeps none, and the executor reports it.
pub fn hand_over(wave: &[&Change], created: &HashMap<String, String>) -> Vec<Change> {
    wave.iter()
        .map(|c| {
            let mut c = (*c).clone();
            if c.parent_id.is_none()
                && let Some(id) = parent_address(&c).and_then(|p| created.get(&p))
            {
                c.parent_id = Some(id.clone());
            }
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_first_on_create_children_first_on_delete() {
        // (name, depth, delete): a customer, its PBX profile, its user's grant (depth 2).
        let items = vec![
            ("grant+", 2, false),
            ("pbx-", 1, true),
            ("customer+", 0, false),
            ("customer-", 0, true),
            ("pbx+", 1, false),
            ("grant-", 2, true),
            ("user+", 1, false),
        ];
        let w = waves_by(items, |&(_, d, del)| (d, del));
        let names: Vec<Vec<&str>> = w
            .iter()
            .map(|wave| wave.iter().map(|i| i.0).collect())
            .collect();
        assert_eq!(
            names,
            [
                vec!["customer+"],
                vec!["pbx+", "user+"],
                vec!["grant+"],
                vec!["grant-"],
                vec!["pbx-"],
                vec!["customer-"],
            ]
        );
    }

    #[test]
    fn children_of_a_parent_created_in_this_run_get_its_new_id() {
        use crate::model::CustomerKey;
        let child = |addr: &str, parent_id: Option<&str>| {
            let mut c = Change::new(CustomerKey::Reference("A".into()), ActionKind::Create);
            c.kind = Kind::User;
            c.address = addr.into();
            c.parent_id = parent_id.map(str::to_string);
            c
        };
        let new_parent = child("customer[A].user[jane@a.example]", None);
        let known_parent = child("customer[B].user[joe@b.example]", Some("live-b"));
        let parent_failed = child("customer[C].user[ann@c.example]", None);
        let mut created = HashMap::new();
        created.insert("customer[A]".to_string(), "new-a".to_string());
        // An id the plan already knew is never overwritten, even by a same-named create.
        created.insert("customer[B]".to_string(), "other".to_string());
        let out = hand_over(&[&new_parent, &known_parent, &parent_failed], &created);
        let ids: Vec<Option<&str>> = out.iter().map(|c| c.parent_id.as_deref()).collect();
        assert_eq!(ids, [Some("new-a"), Some("live-b"), None]);
        assert_eq!(parent_address(&new_parent).as_deref(), Some("customer[A]"));
        let top = Change::new(CustomerKey::Reference("A".into()), ActionKind::Create);
        assert_eq!(parent_address(&top), None);
    }

    #[test]
    fn every_kind_has_a_finite_depth_below_its_children() {
        for k in Kind::ALL {
            if let Some(p) = k.def().parent {
                assert_eq!(depth(*k), depth(p) + 1);
            } else {
                assert_eq!(depth(*k), 0);
            }
        }
    }

    #[test]
    fn customers_alone_are_one_wave_of_writes_and_one_of_deletes() {
        use crate::model::CustomerKey;
        let a = Change::new(CustomerKey::Reference("A".into()), ActionKind::Create);
        let b = Change::new(CustomerKey::Reference("B".into()), ActionKind::Delete);
        let c = Change::new(CustomerKey::Reference("C".into()), ActionKind::Update);
        let w = waves(vec![&b, &a, &c]);
        let got: Vec<Vec<&str>> = w
            .iter()
            .map(|wave| wave.iter().map(|c| c.address.as_str()).collect())
            .collect();
        assert_eq!(
            got,
            [vec!["customer[A]", "customer[C]"], vec!["customer[B]"]]
        );
    }
}
