//! Planning a customer's users: matching declared users to live ones by e-mail (trimmed,
//! case-insensitive), creates (or adoption of a user who already exists), display-name and
//! role changes, deletes and unlinks, and the unmanaged users left alone.
//!
//! Roles are a set with members dimctl does not own: the PBX-synchronised role (and the ACD
//! role when the customer syncs ACD agents with the PBX) is never added, removed or
//! reported; `customer.user`, which the API adds on every create, is implied (never removed
//! for being left out). Role changes are written as `add /roles/-` and `remove /roles/{i}`
//! (never `replace /roles`), with each role also recorded in the change's diffs as
//! `/roles/-` so apply can recompute the indices from a fresh read. Pure, like the rest of
//! the planner.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::model::catalogue::{self, IMPLIED_ROLE};
use crate::model::user::{live_email, live_roles};
use crate::model::{
    Address, AddressKey, CustomerManifest, Ensure, Kind, LiveCustomer, LiveObject, LiveUsers,
    Located, UserIgnorable, UserSpec, email_key,
};

use super::matching::Outcome;
use super::ops::{pointer, replace};
use super::{
    ActionKind, Annotation, AnnotationKind, Change, DeleteReason, FieldDiff, Policy, Refusal,
    UnmanagedUser, annotate,
};

/// The pointer every role diff carries: `old` is a role removed, `new` a role added.
pub const ROLE_DIFF_PATH: &str = "/roles/-";

/// Which customers' users a plan must read: for each manifest in scope that declares
/// `users:` and matched a live customer, that customer's id and the e-mail keys of its
/// declared users (whose roles need a Get each when they exist). With
/// [`Policy::all_users`] (drift), every present matched customer in scope too, with no
/// e-mail keys (a listing, no Gets).
pub fn to_read(
    desired: &[Located<CustomerManifest>],
    live: &[LiveCustomer],
    policy: &Policy,
) -> Vec<(String, Vec<String>)> {
    to_read_matched(desired, &super::Matching::new(desired, live), policy)
}

/// [`to_read`] with the [`super::Matching`] of `desired` already computed.
pub fn to_read_matched(
    desired: &[Located<CustomerManifest>],
    matched: &super::Matching<'_>,
    policy: &Policy,
) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (m, outcome) in desired.iter().zip(&matched.0.outcomes) {
        let Outcome::Live(l) = outcome else {
            continue;
        };
        if m.value.ensure == Ensure::Absent || !policy.targets_manifest(&m.value, Some(&l.id)) {
            continue;
        }
        let keys = match &m.value.users {
            Some(users) => users.iter().map(UserSpec::key).collect(),
            None if policy.all_users => Vec::new(),
            None => continue,
        };
        out.push((l.id.clone(), keys));
    }
    out
}

/// What planning one customer's users gave.
#[derive(Debug, Default)]
pub(crate) struct UserPlan {
    pub changes: Vec<Change>,
    pub unmanaged: Vec<UnmanagedUser>,
    /// The customer's users were not read (its manifest declares none).
    pub not_read: bool,
    /// The customer's users were read.
    pub read: bool,
}

/// Plan the users of one customer document. `live_customer` is the tenant it matched
/// (none: the customer is to be created, or absent).
pub(crate) fn plan_users(
    m: &Located<CustomerManifest>,
    live_customer: Option<&LiveCustomer>,
    users: &LiveUsers,
    policy: &Policy,
) -> UserPlan {
    let manifest = &m.value;
    let mut out = UserPlan::default();
    if manifest.ensure == Ensure::Absent {
        return out;
    }
    let customer_address = manifest.key().address();
    let Some(declared) = &manifest.users else {
        // Drift reads them all: a customer that declares no users manages none of them.
        if let Some(live) = live_customer.and_then(|c| users.of(&c.id))
            && policy.all_users
        {
            out.read = true;
            out.unmanaged = live
                .iter()
                .filter(|l| !is_parent(l))
                .map(|l| unmanaged(&customer_address, l))
                .collect();
        } else {
            out.not_read = live_customer.is_some();
        }
        return out;
    };
    let sync_acd = manifest
        .spec
        .sync_acd_agent_with_pbx
        .or_else(|| {
            live_customer
                .and_then(|l| l.get("syncAcdAgentWithPbx"))
                .and_then(|v| v.as_bool())
        })
        .unwrap_or(false);
    let base = |u: &UserSpec, action: ActionKind| {
        let mut c = Change::new(manifest.key(), action);
        c.kind = Kind::User;
        c.address = customer_address
            .child(Kind::User, AddressKey::Name(u.email.trim().to_string()))
            .to_string();
        c.name = Some(u.display_name.clone());
        c.source = Some(m.source.clone());
        c.parent_id = live_customer.map(|l| l.id.clone());
        c
    };
    let Some(customer) = live_customer else {
        // A new customer: its users are created after it, with its new id.
        for u in declared.iter().filter(|u| u.ensure == Ensure::Present) {
            out.changes
                .push(create(base(u, ActionKind::Create), u, sync_acd));
        }
        return out;
    };
    let Some(live) = users.of(&customer.id) else {
        out.not_read = true;
        return out;
    };
    out.read = true;
    let mut claimed: HashSet<&str> = HashSet::new();
    for u in declared {
        let found = live
            .iter()
            .find(|l| live_email(l).is_some_and(|e| email_key(e) == u.key()));
        if let Some(l) = found {
            claimed.insert(l.id.as_str());
        }
        let change = match (u.ensure, found) {
            (Ensure::Present, None) => create(base(u, ActionKind::Create), u, sync_acd),
            (Ensure::Present, Some(l)) => update(base(u, ActionKind::NoOp), u, l, sync_acd),
            (Ensure::Absent, None) => continue,
            (Ensure::Absent, Some(l)) => {
                let mut c = delete(base(u, ActionKind::Delete), l, &customer.id);
                c.delete_reason = Some(DeleteReason::EnsureAbsent);
                if u.lifecycle().prevent_destroy {
                    c.action = ActionKind::Refused;
                    c.refusals.push(Refusal {
                        field: "ensure".into(),
                        live: None,
                        desired: Some(Value::from("absent")),
                        reason: "lifecycle.preventDestroy protects this user: remove it (or `ensure: absent`) to delete them".into(),
                    });
                }
                c
            }
        };
        out.changes.push(change);
    }
    for l in live.iter().filter(|l| !claimed.contains(l.id.as_str())) {
        // Users inherited from a parent tenant are not this customer's to manage.
        if is_parent(l) {
            continue;
        }
        let email = live_email(l).unwrap_or_default().to_string();
        if policy.prune {
            let mut c = Change::new(manifest.key(), ActionKind::Delete);
            c.kind = Kind::User;
            let key = if email.is_empty() {
                AddressKey::Id(l.id.clone())
            } else {
                AddressKey::Name(email.clone())
            };
            c.address = customer_address.child(Kind::User, key).to_string();
            c.name = l
                .fields
                .get("displayName")
                .and_then(Value::as_str)
                .map(str::to_string);
            c.source = Some(m.source.clone());
            c.parent_id = Some(customer.id.clone());
            let mut c = delete(c, l, &customer.id);
            c.delete_reason = Some(DeleteReason::Prune);
            out.changes.push(c);
        } else {
            out.unmanaged.push(unmanaged(&customer_address, l));
        }
    }
    out
}

/// Whether a live user is inherited from a parent tenant (not this customer's to manage).
fn is_parent(l: &LiveObject) -> bool {
    l.fields.get("isParent").and_then(Value::as_bool) == Some(true)
}

/// A live user no manifest declares, as the plan lists it.
fn unmanaged(customer_address: &Address, l: &LiveObject) -> UnmanagedUser {
    let email = live_email(l).unwrap_or_default().to_string();
    UnmanagedUser {
        address: customer_address
            .child(Kind::User, AddressKey::Name(email.clone()))
            .to_string(),
        id: l.id.clone(),
        email,
        display_name: l
            .fields
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

/// The roles dimctl writes for a declared user: as declared, without the PBX-managed ones
/// and without repeats.
fn desired_roles(u: &UserSpec, sync_acd: bool) -> Option<Vec<String>> {
    let roles = u.roles.as_ref()?;
    let mut out: Vec<String> = Vec::new();
    for r in roles {
        let r = r.trim();
        if !catalogue::is_pbx_managed_role(r, sync_acd) && !out.iter().any(|o| o == r) {
            out.push(r.to_string());
        }
    }
    Some(out)
}

fn role_diff(old: Option<&str>, new: Option<&str>) -> FieldDiff {
    FieldDiff {
        path: ROLE_DIFF_PATH.into(),
        old: old.map(Value::from),
        new: new.map(Value::from),
        sensitive: false,
    }
}

fn billable_roles(added: &[String]) -> Annotation {
    Annotation {
        kind: AnnotationKind::Billable,
        field: Some("/roles".into()),
        message: format!(
            "adds role{} {}: roles are billed monthly in advance; a role held over a day carries a 30-day minimum",
            if added.len() == 1 { "" } else { "s" },
            added.join(", ")
        ),
        code: Some("roles-billed".into()),
    }
}

fn create(mut c: Change, u: &UserSpec, sync_acd: bool) -> Change {
    let roles = desired_roles(u, sync_acd).unwrap_or_default();
    let mut body = Map::new();
    body.insert("email".into(), Value::from(u.email.trim()));
    body.insert("displayName".into(), Value::from(u.display_name.clone()));
    body.insert(
        "roles".into(),
        Value::Array(roles.iter().cloned().map(Value::from).collect()),
    );
    c.create = Some(body);
    for f in ["email", "displayName"] {
        c.diffs.push(FieldDiff {
            path: pointer(&[f]),
            old: None,
            new: c.create.as_ref().and_then(|b| b.get(f)).cloned(),
            sensitive: false,
        });
    }
    c.diffs
        .extend(roles.iter().map(|r| role_diff(None, Some(r))));
    c.annotations.push(Annotation {
        kind: AnnotationKind::SideEffect,
        field: None,
        message: format!(
            "sends an activation e-mail to {} immediately (unless the user already exists: then dimctl adopts them)",
            u.email.trim()
        ),
        code: Some("sends-activation-email".into()),
    });
    let mut billed = roles.clone();
    if !billed.iter().any(|r| r == IMPLIED_ROLE) {
        billed.push(IMPLIED_ROLE.to_string());
    }
    c.annotations.push(billable_roles(&billed));
    c
}

/// Role changes from `live` (as read) to the declared set: roles to add, and roles to remove
/// with their index in `live`. The PBX-managed roles are left alone, and `customer.user`
/// is not removed for being left out of the manifest.
pub fn role_changes(
    declared: &[String],
    live: &[String],
    sync_acd: bool,
) -> (Vec<String>, Vec<(usize, String)>) {
    let adds = declared
        .iter()
        .filter(|r| !catalogue::is_pbx_managed_role(r, sync_acd))
        .filter(|r| !live.contains(r))
        .cloned()
        .collect();
    let removes = live
        .iter()
        .enumerate()
        .filter(|(_, r)| !catalogue::is_pbx_managed_role(r, sync_acd))
        .filter(|(_, r)| r.as_str() != IMPLIED_ROLE || declared.iter().any(|d| d == IMPLIED_ROLE))
        .filter(|(_, r)| !declared.contains(r))
        .map(|(i, r)| (i, r.clone()))
        .collect();
    (adds, removes)
}

/// The JSON Patch for role changes: removals from the highest index down (so each index
/// still points at its role), then one `add /roles/-` per role.
pub fn role_operations(
    adds: &[String],
    removes: &[(usize, String)],
) -> Vec<crate::model::PatchOperation> {
    let mut removes: Vec<&(usize, String)> = removes.iter().collect();
    removes.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut ops: Vec<crate::model::PatchOperation> = Vec::new();
    for (i, _) in removes {
        if let Ok(op) = serde_json::from_value(
            serde_json::json!({"op": "remove", "path": format!("/roles/{i}")}),
        ) {
            ops.push(op);
        }
    }
    for r in adds {
        if let Ok(op) = serde_json::from_value(
            serde_json::json!({"op": "add", "path": ROLE_DIFF_PATH, "value": r}),
        ) {
            ops.push(op);
        }
    }
    ops
}

fn update(mut c: Change, u: &UserSpec, l: &LiveObject, sync_acd: bool) -> Change {
    c.live_id = Some(l.id.clone());
    let live_name = l.fields.get("displayName").and_then(Value::as_str);
    if !u.ignores(UserIgnorable::DisplayName) && live_name != Some(u.display_name.as_str()) {
        c.operations.push(replace(
            &["displayName"],
            Value::from(u.display_name.clone()),
        ));
        c.diffs.push(FieldDiff {
            path: "/displayName".into(),
            old: live_name.map(Value::from),
            new: Some(Value::from(u.display_name.clone())),
            sensitive: false,
        });
    }
    if !u.ignores(UserIgnorable::Roles)
        && let Some(declared) = desired_roles(u, sync_acd)
    {
        match live_roles(l) {
            None => c.unverifiable.push("/roles".into()),
            Some(live) => {
                let (adds, removes) = role_changes(&declared, &live, sync_acd);
                c.operations.extend(role_operations(&adds, &removes));
                c.diffs
                    .extend(removes.iter().map(|(_, r)| role_diff(Some(r), None)));
                c.diffs
                    .extend(adds.iter().map(|r| role_diff(None, Some(r))));
                if !adds.is_empty() {
                    c.annotations.push(billable_roles(&adds));
                }
            }
        }
    }
    if !c.operations.is_empty() {
        c.action = ActionKind::Update;
    }
    c
}

fn delete(mut c: Change, l: &LiveObject, customer_id: &str) -> Change {
    c.live_id = Some(l.id.clone());
    let email = live_email(l).unwrap_or(&l.id).to_string();
    let primary = l.fields.get("primaryTenant").and_then(Value::as_str);
    let parent = l.fields.get("isParent").and_then(Value::as_bool) == Some(true);
    if primary == Some(customer_id) && !parent {
        c.annotations.extend(annotate::on_delete(Kind::User));
        c.annotations.push(Annotation {
            kind: AnnotationKind::Destructive,
            field: None,
            message: format!(
                "deletes {email} from every tenant: this customer is their primary tenant"
            ),
            code: Some("deletes-user-everywhere".into()),
        });
    } else {
        let why = if parent {
            "they are a parent tenant's user (isParent)".to_string()
        } else {
            format!(
                "their primary tenant is {}",
                primary.unwrap_or("another tenant")
            )
        };
        c.annotations.push(Annotation {
            kind: AnnotationKind::SideEffect,
            field: None,
            message: format!("unlinks {email} from this customer only, not deleted: {why}"),
            code: Some("unlinks-user".into()),
        });
    }
    c
}

/// The address of a customer's user, as the plan prints it.
pub fn user_address(customer: &Address, email: &str) -> Address {
    customer.child(Kind::User, AddressKey::Name(email.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn roles_leave_the_pbx_role_and_the_implied_role_alone() {
        let live = s(&[
            "customer.user.pbx",
            "customer.user",
            "customer.crm",
            "customer.user.acd",
        ]);
        // Declared without customer.user: it stays; crm goes; admin comes; pbx untouched.
        let (adds, removes) = role_changes(&s(&["admin.user"]), &live, true);
        assert_eq!(adds, s(&["admin.user"]));
        assert_eq!(removes, vec![(2, "customer.crm".to_string())]);
        // Without ACD sync the ACD role is the manifest's to decide.
        let (_, removes) = role_changes(&s(&["admin.user"]), &live, false);
        assert_eq!(
            removes,
            vec![
                (2, "customer.crm".to_string()),
                (3, "customer.user.acd".to_string())
            ]
        );
        // The same set in another order: nothing to do (no flapping).
        let (adds, removes) = role_changes(
            &s(&["customer.crm", "customer.user"]),
            &s(&["customer.user", "customer.crm"]),
            false,
        );
        assert!(adds.is_empty() && removes.is_empty());
        // Declaring the PBX role never adds it.
        let (adds, _) = role_changes(&s(&["customer.user.pbx"]), &[], false);
        assert!(adds.is_empty());
    }

    fn located(v: serde_json::Value) -> Located<CustomerManifest> {
        let mut doc = serde_json::json!({"apiVersion": "dimctl/v1", "kind": "Customer"});
        if let (Value::Object(d), Value::Object(f)) = (&mut doc, v) {
            d.extend(f);
        }
        Located::new(
            serde_json::from_value(doc).unwrap(),
            crate::model::Source {
                file: "c.yaml".into(),
                line: 1,
                column: 1,
            },
        )
    }

    fn user(id: &str, email: &str, primary: &str, is_parent: bool) -> LiveObject {
        LiveObject::from_json(
            Kind::User,
            serde_json::json!({"id": id, "email": email, "displayName": "X",
                "primaryTenant": primary, "isParent": is_parent, "roles": ["customer.user"]}),
        )
        .unwrap()
    }

    #[test]
    fn unmanaged_users_pruned_users_and_customers_not_read() {
        let desired = [
            located(serde_json::json!({"reference": "A", "users": [
                {"email": "kept@a.example", "displayName": "X", "roles": ["customer.user"]}]})),
            located(serde_json::json!({"reference": "B"})),
        ];
        let live = [
            LiveCustomer::from_json(serde_json::json!({"id": "a", "reference": "A"})).unwrap(),
            LiveCustomer::from_json(serde_json::json!({"id": "b", "reference": "B"})).unwrap(),
        ];
        let read = to_read(&desired, &live, &Policy::default());
        assert_eq!(
            read,
            vec![("a".to_string(), vec!["kept@a.example".to_string()])]
        );
        let mut users = LiveUsers::default();
        users.by_customer.insert(
            "a".into(),
            vec![
                user("u1", "KEPT@a.example", "a", false),
                user("u2", "other@a.example", "a", false),
                user("u3", "parent@reseller.example", "r", true),
            ],
        );
        let p = super::super::plan_with_users(&desired, &live, &users, &Policy::default());
        assert!(!p.has_changes(), "{:?}", p.changes);
        assert_eq!((p.users.read, p.users.not_read), (1, 1));
        let unmanaged: Vec<&str> = p
            .users
            .unmanaged
            .iter()
            .map(|u| u.address.as_str())
            .collect();
        assert_eq!(unmanaged, ["customer[A].user[other@a.example]"]);
        assert_eq!(p.summary.unmanaged, 1);

        let prune = Policy {
            prune: true,
            ..Policy::default()
        };
        let p = super::super::plan_with_users(&desired, &live, &users, &prune);
        let deletes: Vec<&str> = p
            .changes
            .iter()
            .filter(|c| c.action == ActionKind::Delete)
            .map(|c| c.address.as_str())
            .collect();
        // The parent tenant's user is never pruned.
        assert_eq!(deletes, ["customer[A].user[other@a.example]"]);

        // Drift reads every customer's users: B's are unmanaged, and never pruned (B
        // declares no users, so manages none), nor its parent tenant's user listed.
        let all = Policy {
            prune: true,
            all_users: true,
            ..Policy::default()
        };
        assert_eq!(
            to_read(&desired, &live, &all),
            vec![
                ("a".to_string(), vec!["kept@a.example".to_string()]),
                ("b".to_string(), Vec::new())
            ]
        );
        users.by_customer.insert(
            "b".into(),
            vec![
                user("u4", "pbx@b.example", "b", false),
                user("u5", "parent@reseller.example", "r", true),
            ],
        );
        let p = super::super::plan_with_users(&desired, &live, &users, &all);
        let deletes: Vec<&str> = p
            .changes
            .iter()
            .filter(|c| c.action == ActionKind::Delete)
            .map(|c| c.address.as_str())
            .collect();
        assert_eq!(deletes, ["customer[A].user[other@a.example]"]);
        let unmanaged: Vec<&str> = p
            .users
            .unmanaged
            .iter()
            .map(|u| u.address.as_str())
            .collect();
        assert_eq!(unmanaged, ["customer[B].user[pbx@b.example]"]);
        assert_eq!((p.users.read, p.users.not_read), (2, 0));
    }

    #[test]
    fn a_new_enabled_customer_with_users_warns_that_every_website_user_is_emailed() {
        let codes = |extra: serde_json::Value| {
            let mut doc = serde_json::json!({"reference": "N", "name": "N", "enabled": true,
                "users": [{"email": "a@n.example", "displayName": "A", "roles": ["admin.user"]}]});
            if let (Value::Object(d), Value::Object(e)) = (&mut doc, extra) {
                d.extend(e);
            }
            let p = super::super::plan(&[located(doc)], &[], &Policy::default());
            assert_eq!(p.changes.len(), 2);
            assert_eq!(p.changes[1].kind, Kind::User);
            assert_eq!(p.changes[1].parent_id, None);
            p.changes[0]
                .annotations
                .iter()
                .filter_map(|a| a.code.clone())
                .collect::<Vec<_>>()
        };
        assert!(codes(serde_json::json!({})).contains(&"emails-every-website-user".to_string()));
        assert!(
            !codes(serde_json::json!({"sendNewUserEmail": false}))
                .contains(&"emails-every-website-user".to_string())
        );
    }

    #[test]
    fn role_operations_remove_from_the_top_then_add() {
        let ops = role_operations(&s(&["admin.user"]), &[(1, "a".into()), (3, "b".into())]);
        let v = serde_json::to_value(&ops).unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                {"op": "remove", "path": "/roles/3"},
                {"op": "remove", "path": "/roles/1"},
                {"op": "add", "path": "/roles/-", "value": "admin.user"},
            ])
        );
        assert!(!v.to_string().contains("replace"));
    }
}
