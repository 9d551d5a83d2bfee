//! PBX connection profiles: desired profiles are matched to live ones by name.
//!
//! A profile not present live is appended (`add /pbxConnectionProfiles/-`, carrying its
//! `{"fromEnv": VAR}` secret references for apply to resolve). A profile present live has
//! its non-sensitive keys compared: those live carries and that differ are `replace`d,
//! those live does not carry are unverifiable. Secrets are write-only: never compared,
//! never shown. Live profiles no manifest lists are left alone (removing one is not
//! planned). Every write restarts the profile's collector, and the plan says so.

use serde_json::{Map, Value};

use crate::model::catalogue::is_sensitive_pbx_key;
use crate::model::live::normalise_pbx_field;
use crate::model::{LiveCustomer, PbxProfile};

use super::ops::{Delta, add, pointer, replace, wire_object};
use super::{FieldDiff, Policy, annotate};

const FIELD: &str = "pbxConnectionProfiles";

/// What a reviewer sees for a secret.
pub(crate) const SENSITIVE: &str = "(sensitive)";

/// What a reviewer sees for a secret taken from a variable: `(sensitive, from $VAR)`,
/// so the plan says which secret goes where, never its value.
pub(crate) fn sensitive_display(value: &Value) -> String {
    match value.get("fromEnv").and_then(Value::as_str) {
        Some(var) if value.as_object().is_some_and(|m| m.len() == 1) => {
            format!("(sensitive, from ${var})")
        }
        _ => SENSITIVE.to_string(),
    }
}

/// Keys whose value is where a profile's secret is sent.
const SECRET_HOST_KEYS: &[&str] = &["hostRest", "hostWebsocket"];

/// Display diffs for a whole profile written at index `index` (create or add).
pub(crate) fn new_profile_diffs(index: &str, profile: &Map<String, Value>) -> Vec<FieldDiff> {
    profile
        .iter()
        .map(|(key, v)| {
            let sensitive = is_sensitive_pbx_key(key);
            FieldDiff {
                path: pointer(&[FIELD, index, key]),
                old: None,
                new: Some(if sensitive {
                    Value::from(sensitive_display(v))
                } else {
                    v.clone()
                }),
                sensitive,
            }
        })
        .collect()
}

pub(crate) fn compare(
    profiles: &[PbxProfile],
    live: &LiveCustomer,
    policy: &Policy,
    delta: &mut Delta,
) {
    let wanted: Vec<Map<String, Value>> = profiles.iter().map(wire_object).collect();
    let Some(Value::Array(have)) = live.get(FIELD) else {
        delta.unverifiable.push(pointer(&[FIELD]));
        if policy.write_unverifiable && !wanted.is_empty() {
            delta.ops.push(add(
                &[FIELD],
                Value::Array(wanted.iter().cloned().map(Value::Object).collect()),
            ));
            for (i, (p, w)) in profiles.iter().zip(&wanted).enumerate() {
                delta.diffs.extend(new_profile_diffs(&i.to_string(), w));
                delta
                    .annotations
                    .push(annotate::pbx_collector(&pointer(&[FIELD]), p.name(), true));
            }
        }
        return;
    };
    let mut appended = 0usize;
    for (p, want) in profiles.iter().zip(&wanted) {
        let found = have.iter().position(|h| {
            h.get("name").and_then(Value::as_str).map(str::trim) == Some(p.name().trim())
        });
        let Some(i) = found else {
            delta
                .ops
                .push(add(&[FIELD, "-"], Value::Object(want.clone())));
            let index = (have.len() + appended).to_string();
            appended = appended.saturating_add(1);
            delta.diffs.extend(new_profile_diffs(&index, want));
            delta.annotations.push(annotate::pbx_collector(
                &pointer(&[FIELD, "-"]),
                p.name(),
                true,
            ));
            continue;
        };
        let index = i.to_string();
        let live_profile = have[i].as_object();
        let mut changed = false;
        for (key, w) in want {
            if key == "name" || is_sensitive_pbx_key(key) {
                continue;
            }
            let path = pointer(&[FIELD, &index, key]);
            match live_profile
                .and_then(|lp| lp.get(key))
                .filter(|v| !v.is_null())
            {
                None => {
                    delta.unverifiable.push(path.clone());
                    if policy.write_unverifiable {
                        delta.ops.push(add(&[FIELD, &index, key], w.clone()));
                        delta.diffs.push(FieldDiff {
                            path,
                            old: None,
                            new: Some(w.clone()),
                            sensitive: false,
                        });
                        changed = true;
                    }
                }
                Some(h) => {
                    if normalise_pbx_field(key, h) == normalise_pbx_field(key, w) {
                        continue;
                    }
                    delta.ops.push(replace(&[FIELD, &index, key], w.clone()));
                    if SECRET_HOST_KEYS.contains(&key.as_str()) {
                        let show = |v: &Value| match v {
                            Value::String(s) => format!("{s:?}"),
                            other => other.to_string(),
                        };
                        delta.annotations.push(annotate::secret_host(
                            &path,
                            p.name(),
                            key,
                            &show(h),
                            &show(w),
                        ));
                    }
                    delta.diffs.push(FieldDiff {
                        path,
                        old: Some(h.clone()),
                        new: Some(w.clone()),
                        sensitive: false,
                    });
                    changed = true;
                }
            }
        }
        if changed {
            delta.annotations.push(annotate::pbx_collector(
                &pointer(&[FIELD, &index]),
                p.name(),
                false,
            ));
        }
    }
}
