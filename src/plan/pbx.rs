//! PBX connection profiles (`Kind::PbxConnection`, `customer[REF].pbx[NAME]`): one desired
//! resource per profile a customer document lists, matched by `name` to the live profiles
//! of `/customers/{C}/pbxs`.
//!
//! Get returns only `id`, `name`, `_type` and `tenantId`: `name` and `_type` are compared
//! (`_type` is create-only, a different kind is refused). Every other setting is write-only:
//! without `--base` it is listed as unverifiable (never a perpetual diff); with `--base REV`
//! the manifests at REV are the state, and what changed since is one coalesced PATCH (`add`s) (secrets
//! compared by their `{fromEnv, version}` reference, never by value). A new profile sends
//! every setting, after the PBX instance check. Deletes come only from `ensure: absent` on
//! the profile or `--prune`, and `lifecycle.preventDestroy` blocks them. New customers carry
//! their profiles in the create body (see [`super::create`]), not here.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::model::catalogue::{Mutability, SideEffect, is_sensitive_pbx_key, pbx_instance_key};
use crate::model::live::normalise_pbx_field;
use crate::model::{AddressKey, CustomerManifest, Ensure, Kind, LiveCustomer, PbxProfile};

use super::ops::{add, pointer};
use super::{
    ActionKind, Annotation, AnnotationKind, Change, Context, DeleteReason, FieldDiff,
    InstanceOwner, Policy, Refusal, UnmanagedResource, annotate,
};

/// What a reviewer sees for a secret.
pub(crate) const SENSITIVE: &str = "(sensitive)";

/// What a reviewer sees for a secret taken from a variable: `(sensitive, from $VAR)`,
/// so the plan says which secret goes where, never its value.
pub(crate) fn sensitive_display(value: &Value) -> String {
    match value.get("fromEnv").and_then(Value::as_str) {
        Some(var) => format!("(sensitive, from ${var})"),
        _ => SENSITIVE.to_string(),
    }
}

/// Keys whose value is where a profile's secret is sent.
const SECRET_HOST_KEYS: &[&str] = &["hostRest", "hostWebsocket"];

/// A profile as the manifest states it, in wire spelling, secrets as `{fromEnv, version}`
/// references (the form compared against `--base`), without `ensure`.
fn stated(p: &PbxProfile) -> Map<String, Value> {
    let mut m = match serde_json::to_value(p) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    m.remove("ensure");
    m
}

/// A profile as it is sent: [`stated`] with each secret reduced to `{"fromEnv": VAR}`
/// (the version only says when to rotate; apply resolves the variable).
pub(crate) fn wire(p: &PbxProfile) -> Map<String, Value> {
    let mut m = stated(p);
    for (k, v) in m.iter_mut() {
        if is_sensitive_pbx_key(k)
            && let Value::Object(r) = v
        {
            r.remove("version");
        }
    }
    m
}

/// The profiles of a new customer's create body: the present ones, as sent.
pub(crate) fn create_body_profiles(profiles: &[PbxProfile]) -> Vec<Value> {
    profiles
        .iter()
        .filter(|p| p.ensure() == Ensure::Present)
        .map(|p| Value::Object(wire(p)))
        .collect()
}

/// Display diffs for a whole profile written under `prefix` (a new customer's body:
/// `/pbxConnectionProfiles/0`; a new profile: empty).
pub(crate) fn new_profile_diffs(prefix: &str, profile: &Map<String, Value>) -> Vec<FieldDiff> {
    profile
        .iter()
        .map(|(key, v)| {
            let sensitive = is_sensitive_pbx_key(key);
            FieldDiff {
                path: format!("{prefix}{}", pointer(&[key])),
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

/// The instance id of a profile (Kazoo `accountId`, 3CX `licenseKey`, Teams tenant id).
pub fn instance_id(p: &PbxProfile) -> Option<String> {
    let key = pbx_instance_key(p.type_name())?;
    match stated(p).get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

/// Why creating `p` for the customer with live id `own` (none: a new customer) must not
/// go ahead: its PBX instance is attached to a tenant already.
pub(crate) fn instance_refusal(
    p: &PbxProfile,
    own: Option<&str>,
    ctx: &Context,
    references: &HashMap<&str, &str>,
) -> Option<Refusal> {
    let id = instance_id(p)?;
    let owner: &InstanceOwner = ctx.instances.get(&id)?.as_ref()?;
    let key = pbx_instance_key(p.type_name()).unwrap_or("instance");
    let tenant = owner.tenant_id.as_deref().unwrap_or("(tenant not named)");
    let reason = if own.is_some() && owner.tenant_id.as_deref() == own {
        format!(
            "PBX instance {id:?} ({key}) is already attached to this customer under another profile (id {}); \
             one PBX belongs to one profile: give this profile that profile's name to manage it, or remove the other first",
            owner.profile_id.as_deref().unwrap_or("not named")
        )
    } else {
        let ours = references
            .get(tenant)
            .map(|r| format!(" (our customer {r})"))
            .unwrap_or_default();
        format!(
            "PBX instance {id:?} ({key}) is already attached to tenant {tenant}{ours}; \
             one PBX belongs to one customer: detach it there first (delete that profile), then re-plan"
        )
    };
    Some(Refusal {
        field: key.to_string(),
        live: owner.tenant_id.clone().map(Value::from),
        desired: Some(Value::from(id)),
        reason,
    })
}

/// The changes for the profiles of `manifest`, matched to the live customer `live`.
pub(crate) fn changes(
    manifest: &CustomerManifest,
    source: &crate::model::Source,
    live: &LiveCustomer,
    ctx: &Context,
    policy: &Policy,
    references: &HashMap<&str, &str>,
    unmanaged: &mut Vec<UnmanagedResource>,
) -> Vec<Change> {
    // A customer that does not declare `pbxConnectionProfiles` leaves them unmanaged:
    // listed (by drift) they are reported, never touched, even with --prune.
    let declared = manifest.spec.pbx_connection_profiles.as_deref();
    let profiles = declared.unwrap_or_default();
    let Some(have) = ctx.pbxs.get(&live.id) else {
        return Vec::new();
    };
    let customer = manifest.key().address();
    let protected = manifest.lifecycle().prevent_destroy;
    let base_profiles = base_of(manifest, ctx);
    let mut out = Vec::new();
    let mut claimed = vec![false; have.len()];
    for (i, p) in profiles.iter().enumerate() {
        let source = manifest.profile_sources.get(i).unwrap_or(source);
        let name = p.name().trim();
        let found = have.iter().position(|h| {
            h.fields.get("name").and_then(Value::as_str).map(str::trim) == Some(name)
        });
        let mut change = Change::new(manifest.key(), ActionKind::NoOp);
        change.address = customer
            .child(Kind::PbxConnection, AddressKey::Name(name.to_string()))
            .to_string();
        change.kind = Kind::PbxConnection;
        change.name = Some(name.to_string());
        change.source = Some(source.clone());
        change.parent_id = Some(live.id.clone());
        let Some(i) = found else {
            if p.ensure() == Ensure::Absent {
                continue;
            }
            let body = wire(p);
            change.action = ActionKind::Create;
            change.diffs = new_profile_diffs("", &body);
            change.annotations = annotate::on_create(Kind::PbxConnection);
            change.annotations.extend(enabling(&body));
            if let Some(r) = instance_refusal(p, Some(&live.id), ctx, references) {
                change.action = ActionKind::Refused;
                change.refusals.push(r);
            } else {
                change.create = Some(body);
            }
            out.push(change);
            continue;
        };
        claimed[i] = true;
        let l = &have[i];
        change.live_id = Some(l.id.clone());
        change.fingerprint = Some(LiveCustomer::from(l.clone()).fingerprint());
        if p.ensure() == Ensure::Absent {
            out.push(delete_or_refuse(
                change,
                protected,
                DeleteReason::EnsureAbsent,
            ));
            continue;
        }
        let live_type = l.fields.get("_type").and_then(Value::as_str).map(str::trim);
        if let Some(t) = live_type
            && t != p.type_name()
        {
            change.action = ActionKind::Refused;
            let why = Kind::PbxConnection
                .def()
                .field("_type")
                .and_then(|f| f.mutability.create_only_reason())
                .unwrap_or_default();
            change.refusals.push(Refusal {
                field: "_type".into(),
                live: Some(Value::from(t)),
                desired: Some(Value::from(p.type_name())),
                reason: why.to_string(),
            });
            out.push(change);
            continue;
        }
        write_only(
            &mut change,
            p,
            base_profiles.as_deref(),
            ctx.base.is_some(),
            policy.write_unverifiable,
        );
        out.push(change);
    }
    for (l, _) in have.iter().zip(&claimed).filter(|(_, c)| !**c) {
        let name = l.fields.get("name").and_then(Value::as_str).map(str::trim);
        let key = match name {
            Some(n) if !n.is_empty() => AddressKey::Name(n.to_string()),
            _ => AddressKey::Id(l.id.clone()),
        };
        let address = customer.child(Kind::PbxConnection, key).to_string();
        if policy.prune && declared.is_some() {
            let mut change = Change::new(manifest.key(), ActionKind::Delete);
            change.address = address;
            change.kind = Kind::PbxConnection;
            change.name = name.map(str::to_string);
            change.source = Some(source.clone());
            change.parent_id = Some(live.id.clone());
            change.live_id = Some(l.id.clone());
            change.fingerprint = Some(LiveCustomer::from(l.clone()).fingerprint());
            out.push(delete_or_refuse(change, protected, DeleteReason::Prune));
        } else {
            unmanaged.push(UnmanagedResource {
                address,
                kind: Kind::PbxConnection,
                id: l.id.clone(),
                name: name.map(str::to_string),
            });
        }
    }
    out
}

fn delete_or_refuse(mut change: Change, protected: bool, why: DeleteReason) -> Change {
    if protected {
        change.action = ActionKind::Refused;
        change.refusals.push(Refusal {
            field: "ensure".into(),
            live: Some(Value::from("present")),
            desired: Some(Value::from("absent")),
            reason:
                "lifecycle.preventDestroy on the customer protects its PBX connection profiles \
                     from deletion; remove preventDestroy in a reviewed change first"
                    .into(),
        });
    } else {
        change.action = ActionKind::Delete;
        change.delete_reason = Some(why);
        change.annotations = annotate::on_delete(Kind::PbxConnection);
    }
    change
}

/// The profiles the `--base` manifests give this customer (`None`: no base, or the
/// customer is not in it).
fn base_of(manifest: &CustomerManifest, ctx: &Context) -> Option<Vec<PbxProfile>> {
    let base = ctx.base.as_ref()?;
    let key = manifest.key();
    base.customers
        .iter()
        .find(|b| b.key() == key)
        .map(|b| b.spec.pbx_connection_profiles.clone().unwrap_or_default())
}

/// The annotation for a body or patch that sets `enabled: true`.
fn enabling(values: &Map<String, Value>) -> Option<Annotation> {
    let field = Kind::PbxConnection.def().field("enabled")?;
    let v = values.get("enabled")?;
    let effect = field.effect_applies(None, v)?;
    Some(Annotation {
        kind: AnnotationKind::SideEffect,
        field: Some("/enabled".into()),
        message: effect.message().to_string(),
        code: Some(effect.code().to_string()),
    })
}

/// The write-only settings of a matched profile: with a base, a PATCH of exactly what
/// changed since; without, one unverifiable list.
/// With `write_unverifiable` and nothing to compare with, every write-only setting is
/// sent (one PATCH), as `--write-unverifiable` writes a customer's unverifiable fields.
fn write_only(
    change: &mut Change,
    p: &PbxProfile,
    base: Option<&[PbxProfile]>,
    based: bool,
    write_unverifiable: bool,
) {
    let now = stated(p);
    let def = Kind::PbxConnection.def();
    let settings: Vec<&String> = now
        .keys()
        .filter(|k| {
            def.field(k)
                .is_some_and(|f| f.mutability == Mutability::WriteOnly)
        })
        .collect();
    let then = base.and_then(|b| {
        b.iter()
            .find(|q| q.name().trim() == p.name().trim())
            .map(stated)
    });
    let then = match then {
        Some(then) => then,
        None => {
            // No base, or the profile is not in it: nothing to compare the settings with.
            change.unverifiable = settings.iter().map(|k| pointer(&[k])).collect();
            if based && !settings.is_empty() {
                change.annotations.push(Annotation {
                    kind: AnnotationKind::SideEffect,
                    field: None,
                    message: "this profile is not in the --base revision: its write-only settings cannot be compared; \
                              plan against a base that has it, or send them all with --write-unverifiable"
                        .into(),
                    code: Some("not-in-base".into()),
                });
            }
            if !write_unverifiable {
                return;
            }
            Map::new()
        }
    };
    let sent = wire(p);
    let mut ops = Vec::new();
    for key in settings {
        let (was, is) = (then.get(key.as_str()), &now[key.as_str()]);
        let same = match was {
            Some(w) if is_sensitive_pbx_key(key) => w == is,
            Some(w) => normalise_pbx_field(key, w) == normalise_pbx_field(key, is),
            None => false,
        };
        if same {
            continue;
        }
        let value = sent.get(key.as_str()).cloned().unwrap_or(Value::Null);
        let sensitive = is_sensitive_pbx_key(key);
        let path = pointer(&[key]);
        // `add`, not `replace`: RFC 6902 `add` sets an object member whether or not the
        // server's document holds it (a setting never sent before), and is idempotent.
        ops.push(add(&[key], value.clone()));
        change.diffs.push(FieldDiff {
            path: path.clone(),
            old: was.map(|w| {
                if sensitive {
                    Value::from(sensitive_display(w))
                } else {
                    w.clone()
                }
            }),
            new: Some(if sensitive {
                Value::from(sensitive_display(&value))
            } else {
                value.clone()
            }),
            sensitive,
        });
        if SECRET_HOST_KEYS.contains(&key.as_str()) {
            let show = |v: Option<&Value>| match v {
                Some(Value::String(s)) => format!("{s:?}"),
                Some(other) => other.to_string(),
                None => "(unset)".into(),
            };
            change.annotations.push(annotate::secret_host(
                &path,
                p.name(),
                key,
                &show(was),
                &show(Some(&value)),
            ));
        }
    }
    if ops.is_empty() {
        return;
    }
    let mut patched = Map::new();
    for op in &ops {
        if let crate::model::PatchOperation::Add(r) = op {
            patched.insert(
                r.path.to_string().trim_start_matches('/').to_string(),
                r.value.clone(),
            );
        }
    }
    change.action = ActionKind::Update;
    change.operations = ops;
    change.annotations.push(Annotation {
        kind: AnnotationKind::SideEffect,
        field: None,
        message: format!(
            "PBX profile {:?}: {}",
            p.name(),
            SideEffect::RestartsPbxCollector.message()
        ),
        code: Some(SideEffect::RestartsPbxCollector.code().to_string()),
    });
    change.annotations.extend(enabling(&patched));
}
