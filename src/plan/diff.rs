//! The change for a manifest matched to a live tenant: update, no-op, refused, or delete
//! (`ensure: absent`); and the delete of a pruned tenant.
//!
//! Only fields the manifest sets are compared, minus `lifecycle.ignoreChanges`; both sides
//! are normalised first. A field the live object does not carry is *unset* when the API
//! demonstrably returns it (another customer of the same listing carries it): setting it
//! in git is planned as an `add`. Only a field the API has not shown at all is
//! unverifiable (written as an `add` only with `write_unverifiable`). A create-only field that differs refuses
//! the whole customer; it is never turned into delete-and-recreate.

use std::collections::HashSet;

use serde_json::Value;

use crate::model::catalogue::{self, FieldKind, Mutability};
use crate::model::{CustomerKey, CustomerManifest, Ensure, Kind, LiveCustomer, Located, normalise};

use super::ops::{Delta, add, pointer, replace};
use super::{ActionKind, Change, DeleteReason, FieldDiff, Policy, Refusal, annotate};

/// The change for a manifest matched to `live`.
pub(crate) fn existing(
    m: &Located<CustomerManifest>,
    live: &LiveCustomer,
    policy: &Policy,
    shown: &HashSet<&str>,
) -> Change {
    let manifest = &m.value;
    let mut change = Change::new(manifest.key(), ActionKind::NoOp);
    change.name = manifest
        .spec
        .name
        .clone()
        .or_else(|| live.name().map(str::to_string));
    change.source = Some(m.source.clone());
    change.live_id = Some(live.id.clone());
    change.fingerprint = Some(live.fingerprint());
    let lifecycle = manifest.lifecycle();
    if manifest.ensure == Ensure::Absent {
        if lifecycle.prevent_destroy {
            change.action = ActionKind::Refused;
            change.refusals.push(Refusal {
                field: "ensure".to_string(),
                live: Some(Value::from("present")),
                desired: Some(Value::from("absent")),
                reason: "lifecycle.preventDestroy protects this customer from termination; \
                         remove preventDestroy in a reviewed change first"
                    .to_string(),
            });
        } else {
            change.action = ActionKind::Delete;
            change.delete_reason = Some(DeleteReason::EnsureAbsent);
            change.annotations = annotate::on_delete(Kind::Customer);
        }
        return change;
    }
    let delta = compare(manifest, live, &lifecycle.ignore_changes, policy, shown);
    change.action = if !delta.refusals.is_empty() {
        ActionKind::Refused
    } else if !delta.ops.is_empty() {
        ActionKind::Update
    } else {
        ActionKind::NoOp
    };
    // A refused customer is not written at all: its other differences are shown only.
    if change.action != ActionKind::Refused {
        change.operations = delta.ops;
    }
    change.diffs = delta.diffs;
    change.unverifiable = delta.unverifiable;
    change.refusals = delta.refusals;
    change.annotations = delta.annotations;
    change
}

/// The delete of a live tenant that no manifest declares (`--prune`).
pub(crate) fn prune(live: &LiveCustomer) -> Change {
    let key = match live.reference() {
        Some(r) => CustomerKey::Reference(r.trim().to_string()),
        None => CustomerKey::Id(live.id.clone()),
    };
    let mut change = Change::new(key, ActionKind::Delete);
    change.name = live.name().map(str::to_string);
    change.live_id = Some(live.id.clone());
    change.fingerprint = Some(live.fingerprint());
    change.delete_reason = Some(DeleteReason::Prune);
    change.annotations = annotate::on_delete(Kind::Customer);
    change
}

/// Compare every managed field, in catalogue order.
pub(crate) fn compare(
    manifest: &CustomerManifest,
    live: &LiveCustomer,
    ignore: &[String],
    policy: &Policy,
    shown: &HashSet<&str>,
) -> Delta {
    let desired = manifest.spec.to_wire();
    let mut delta = Delta::default();
    for field in Kind::Customer.def().writable_fields() {
        if ignore
            .iter()
            .any(|i| i.trim().trim_start_matches('/') == field.name)
        {
            continue;
        }
        let Some(want) = desired.get(field.name) else {
            continue;
        };
        match field.kind {
            // Profiles are their own resources (`plan::pbx`), compared through
            // `/customers/{C}/pbxs`: a customer's GET does not carry them.
            FieldKind::PbxProfiles => {}
            FieldKind::Features => features(want, live, policy, &mut delta),
            _ => scalar(field, want, live, policy, shown, &mut delta),
        }
    }
    delta
}

fn scalar(
    field: &catalogue::Field,
    want: &Value,
    live: &LiveCustomer,
    policy: &Policy,
    shown: &HashSet<&str>,
    delta: &mut Delta,
) {
    let path = pointer(&[field.name]);
    let Some(have) = live.get(field.name) else {
        // Returned for other customers: unset on this one, so setting it is a change.
        let unset = shown.contains(field.name);
        if !unset {
            delta.unverifiable.push(path.clone());
        }
        // A create-only field cannot be PATCHed, verified or not.
        if (unset || policy.write_unverifiable) && field.mutability == Mutability::Mutable {
            delta.ops.push(add(&[field.name], want.clone()));
            delta.diffs.push(FieldDiff {
                path,
                old: None,
                new: Some(want.clone()),
                sensitive: false,
            });
            if let Some(effect) = field.effect_applies(None, want) {
                delta
                    .annotations
                    .extend(annotate::field_effect(field, effect, want, policy.today));
            }
        }
        return;
    };
    // Equal as written is equal once normalised: only a difference pays for the
    // normalised copies.
    if have == *want || normalise(field.name, &have) == normalise(field.name, want) {
        return;
    }
    if let Mutability::CreateOnly(reason) = field.mutability {
        delta.refusals.push(Refusal {
            field: field.name.to_string(),
            live: Some(have.clone()),
            desired: Some(want.clone()),
            reason: format!(
                "{reason}; a refused change is never made by deleting and recreating the \
                 tenant (that would destroy its data and billing history)"
            ),
        });
        return;
    }
    delta.ops.push(replace(&[field.name], want.clone()));
    delta.diffs.push(FieldDiff {
        path,
        old: Some(have.clone()),
        new: Some(want.clone()),
        sensitive: false,
    });
    if let Some(effect) = field.effect_applies(Some(&have), want) {
        delta
            .annotations
            .extend(annotate::field_effect(field, effect, want, policy.today));
    }
}

fn as_count(v: &Value) -> Option<i64> {
    crate::model::live::normalise_integer(v).as_i64()
}

fn features(want: &Value, live: &LiveCustomer, policy: &Policy, delta: &mut Delta) {
    let Value::Object(want) = want else {
        return;
    };
    let have = match live.get("features") {
        Some(Value::Object(h)) => Some(h),
        _ => None,
    };
    let Some(have) = have else {
        // The whole object is missing: nothing to compare, nowhere to `add` a key into.
        for key in want.keys() {
            delta.unverifiable.push(pointer(&["features", key]));
        }
        if policy.write_unverifiable && !want.is_empty() {
            delta
                .ops
                .push(add(&["features"], Value::Object(want.clone())));
            for (key, v) in want {
                let path = pointer(&["features", key]);
                delta.diffs.push(FieldDiff {
                    path: path.clone(),
                    old: None,
                    new: Some(v.clone()),
                    sensitive: false,
                });
                if as_count(v).unwrap_or(0) > 0 {
                    delta.annotations.push(annotate::feature_raised(&path));
                }
            }
        }
        return;
    };
    for (key, v) in want {
        let path = pointer(&["features", key]);
        match have.get(key).filter(|h| !h.is_null()) {
            None => {
                delta.unverifiable.push(path.clone());
                if policy.write_unverifiable {
                    delta.ops.push(add(&["features", key], v.clone()));
                    delta.diffs.push(FieldDiff {
                        path: path.clone(),
                        old: None,
                        new: Some(v.clone()),
                        sensitive: false,
                    });
                    if as_count(v).unwrap_or(0) > 0 {
                        delta.annotations.push(annotate::feature_raised(&path));
                    }
                }
            }
            Some(h) => {
                let (hn, wn) = (
                    crate::model::live::normalise_integer(h),
                    crate::model::live::normalise_integer(v),
                );
                if hn == wn {
                    continue;
                }
                delta.ops.push(replace(&["features", key], v.clone()));
                delta.diffs.push(FieldDiff {
                    path: path.clone(),
                    old: Some(h.clone()),
                    new: Some(v.clone()),
                    sensitive: false,
                });
                if as_count(v).unwrap_or(0) > as_count(h).unwrap_or(0) {
                    delta.annotations.push(annotate::feature_raised(&path));
                }
            }
        }
    }
}
