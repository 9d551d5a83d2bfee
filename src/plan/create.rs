//! The change for a manifest with no live tenant: a create (the POST body, secrets as
//! `{"fromEnv": VAR}` references), or nothing for `ensure: absent`.

use serde_json::Value;

use crate::model::catalogue::{self, FieldKind, Mutability};
use crate::model::{CustomerManifest, Ensure, Located, normalise};

use super::diff::pointer;
use super::{ActionKind, Change, FieldDiff, Policy, annotate, pbx};

pub(crate) fn change(m: &Located<CustomerManifest>, policy: &Policy) -> Change {
    let manifest = &m.value;
    let mut change = Change {
        key: manifest.key(),
        name: manifest.spec.name.clone(),
        action: ActionKind::NoOp,
        source: Some(m.source.clone()),
        live_id: None,
        fingerprint: None,
        create: None,
        operations: Vec::new(),
        delete_reason: None,
        diffs: Vec::new(),
        unverifiable: Vec::new(),
        refusals: Vec::new(),
        annotations: Vec::new(),
    };
    if manifest.ensure == Ensure::Absent {
        // Already absent: nothing to do.
        return change;
    }
    let body = manifest.spec.to_wire();
    change.action = ActionKind::Create;
    change.annotations.push(annotate::create_billable());
    for field in catalogue::writable_fields() {
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
        if field.name == "enabled" && normalise("enabled", value) == Value::Bool(true) {
            change.annotations.push(annotate::enabling());
        }
        if field.name == "trialDuration"
            && let Some(days) = manifest.spec.trial_duration
            && days > 0
        {
            change.annotations.push(annotate::trial(days, policy.today));
        }
        if field.name == "tenantProfileType" {
            change.annotations.push(annotate::product_type());
        }
        if field.mutability == Mutability::CreateOnly {
            change
                .annotations
                .push(annotate::fixed_for_good(field, value));
        }
    }
    change.create = Some(body);
    change
}
