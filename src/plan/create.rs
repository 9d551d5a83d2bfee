//! The change for a manifest with no live tenant: a create (the POST body, secrets as
//! `{"fromEnv": VAR}` references), or nothing for `ensure: absent`.

use serde_json::Value;

use crate::model::catalogue::FieldKind;
use crate::model::{CustomerManifest, Ensure, Kind, Located};

use super::ops::pointer;
use std::collections::HashMap;

use super::{ActionKind, Change, Context, FieldDiff, Policy, Refusal, annotate, pbx};

pub(crate) fn change(
    m: &Located<CustomerManifest>,
    policy: &Policy,
    ctx: &Context,
    references: &HashMap<&str, &str>,
) -> Change {
    let manifest = &m.value;
    let mut change = Change::new(manifest.key(), ActionKind::NoOp);
    change.name = manifest.spec.name.clone();
    change.source = Some(m.source.clone());
    if manifest.ensure == Ensure::Absent {
        // Already absent: nothing to do.
        return change;
    }
    let mut body = manifest.spec.to_wire();
    // The profiles travel in the create body (the documented way to connect a PBX when
    // the customer is created), in the schema's array spelling, each as it is sent.
    if let Some(profiles) = &manifest.spec.pbx_connection_profiles {
        body.insert(
            "pbxConnectionProfiles".into(),
            Value::Array(pbx::create_body_profiles(profiles)),
        );
        for p in profiles
            .iter()
            .filter(|p| p.ensure() == crate::model::Ensure::Present)
        {
            if let Some(r) = pbx::instance_refusal(p, None, ctx, references) {
                change.refusals.push(Refusal {
                    field: format!("pbxConnectionProfiles[{}].{}", p.name(), r.field),
                    ..r
                });
            }
        }
    }
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
                            change.diffs.extend(pbx::new_profile_diffs(
                                &pointer(&[field.name, &i.to_string()]),
                                p,
                            ));
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
        if field.mutability.is_create_only() && field.kind != FieldKind::PbxProfiles {
            change
                .annotations
                .push(annotate::fixed_for_good(field, value));
        }
    }
    if !change.refusals.is_empty() {
        change.action = ActionKind::Refused;
        return change;
    }
    change.create = Some(body);
    change
}
