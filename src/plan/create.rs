//! The change for a manifest with no live tenant: a create (the POST body, secrets as
//! `{"fromEnv": VAR}` references), or nothing for `ensure: absent`.

use serde_json::Value;

use crate::model::catalogue::FieldKind;
use crate::model::{CustomerManifest, Ensure, Kind, Located};

use super::ops::pointer;
use super::{ActionKind, Change, FieldDiff, Policy, annotate, pbx};

pub(crate) fn change(m: &Located<CustomerManifest>, policy: &Policy) -> Change {
    let manifest = &m.value;
    let mut change = Change::new(manifest.key(), ActionKind::NoOp);
    change.name = manifest.spec.name.clone();
    change.source = Some(m.source.clone());
    if manifest.ensure == Ensure::Absent {
        // Already absent: nothing to do.
        return change;
    }
    let body = manifest.spec.to_wire();
    change.action = ActionKind::Create;
    change
        .annotations
        .extend(annotate::on_create(Kind::Customer));
    for field in Kind::Customer.def().writable_fields() {
        let Some(value) = body.get(field.name) else {
            continue;
        };
        match field.kind {
            FieldKind::Features => {
                if let Value::Object(features) = value {
                    for (key, v) in features {
                        let path = pointer(&[field.name, key]);
                        if crate::model::live::normalise_integer(v)
                            .as_i64()
                            .unwrap_or(0)
                            > 0
                        {
                            change.annotations.push(annotate::feature_raised(&path));
                        }
                        change.diffs.push(FieldDiff {
                            path,
                            old: None,
                            new: Some(v.clone()),
                            sensitive: false,
                        });
                    }
                }
            }
            FieldKind::PbxProfiles => {
                if let Value::Array(profiles) = value {
                    for (i, p) in profiles.iter().enumerate() {
                        if let Value::Object(p) = p {
                            change
                                .diffs
                                .extend(pbx::new_profile_diffs(&i.to_string(), p));
                        }
                    }
                }
            }
            _ => change.diffs.push(FieldDiff {
                path: pointer(&[field.name]),
                old: None,
                new: Some(value.clone()),
                sensitive: false,
            }),
        }
        if let Some(effect) = field.effect_applies(None, value) {
            change
                .annotations
                .extend(annotate::field_effect(field, effect, value, policy.today));
        }
        if field.mutability.is_create_only() {
            change
                .annotations
                .push(annotate::fixed_for_good(field, value));
        }
    }
    change.create = Some(body);
    change
}
