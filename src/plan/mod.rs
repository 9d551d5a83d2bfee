//! The planner: a pure function from (desired manifests, live customers, policy) to a
//! [`Plan`]. No I/O, no clock, no environment: everything it needs is an argument.
//!
//! It owns matching (id pin, else reference; ambiguity is an error), diffing only managed
//! fields with normalisation, unverifiable fields, create-only refusals, sensitive values,
//! prune, lifecycle, safety thresholds, annotations and fingerprints. It must not read
//! files, the network, the clock or the environment, and must not render anything.

mod annotate;
mod create;
mod diff;
mod matching;
mod ops;
mod pbx;
mod safety;
#[cfg(test)]
mod tests;
pub mod types;
pub mod users;
pub mod workspaces;

pub use types::*;

use std::collections::HashMap;

use crate::model::{
    Address, AddressKey, CustomerManifest, Kind, LiveCustomer, LiveObject, LiveUsers, Located,
};

pub use pbx::instance_id as pbx_instance_id;

/// What the planner knows besides the manifests and the live customers: the live
/// resources below customers, the manifests at `--base`, the PBX instance checks.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Live PBX connection profiles by customer id. A customer missing here was not
    /// listed: its profiles are not planned (only customers whose manifests declare
    /// profiles are listed).
    pub pbxs: HashMap<String, Vec<LiveObject>>,
    /// The manifests at `plan --base REV`.
    pub base: Option<Base>,
    /// The PBX instance check's answers by instance id (`None`: attached nowhere). An
    /// instance not asked about is not checked.
    pub instances: HashMap<String, Option<InstanceOwner>>,
}

/// The manifests at a git revision, standing in for the write-only settings the API
/// cannot return.
#[derive(Debug, Clone, Default)]
pub struct Base {
    /// The commit id REV resolved to.
    pub commit: String,
    pub customers: Vec<CustomerManifest>,
}

/// Where a PBX instance is attached (the instance check's answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceOwner {
    pub profile_id: Option<String>,
    pub tenant_id: Option<String>,
}

/// What the user asked for beyond the manifests.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Plan deletion of live customers that no manifest declares.
    pub prune: bool,
    /// Let a plan through that exceeds the safety thresholds.
    pub allow_unsafe: bool,
    /// Send fields the live object does not carry anyway, as `replace`.
    pub write_unverifiable: bool,
    /// Only these customers are planned: addresses (`customer[REF]`, `customer[id=ID]`),
    /// references or `id:ID` keys; empty = all.
    pub targets: Vec<String>,
    /// Largest share of existing customers that may be updated (0.0..=1.0).
    pub max_update_share: f64,
    /// Largest share of existing customers that may be deleted (0.0..=1.0).
    pub max_delete_share: f64,
    /// Largest share of existing customers that may be created anew (0.0..=1.0).
    pub max_create_share: f64,
    /// The thresholds apply from this many existing customers up.
    pub min_existing_for_thresholds: usize,
    /// Today's date, for trial end dates (the planner reads no clock).
    pub today: Option<jiff::civil::Date>,
    /// Read the users of every matched customer, not only of those whose manifests declare
    /// `users:` (drift): the users of a customer without `users:` are reported unmanaged
    /// (never pruned: its users are not managed).
    pub all_users: bool,
}

impl Default for Policy {
    /// The defaults of [`crate::config::defaults`], the one table.
    fn default() -> Self {
        use crate::config::defaults;
        Policy {
            prune: defaults::PRUNE,
            allow_unsafe: false,
            write_unverifiable: false,
            targets: Vec::new(),
            max_update_share: defaults::SHARE,
            max_delete_share: defaults::SHARE,
            max_create_share: defaults::SHARE,
            min_existing_for_thresholds: defaults::MIN_EXISTING,
            today: None,
            all_users: false,
        }
    }
}

/// Compute the plan. Pure: same inputs, same plan.
///
/// Every manifest in scope gives one [`Change`] (or one [`PlanError`]); every live customer
/// in scope that no manifest declares is either [`UnmanagedCustomer`] or, with
/// `policy.prune`, a delete. Changes are sorted by key.
pub fn plan(desired: &[Located<CustomerManifest>], live: &[LiveCustomer], policy: &Policy) -> Plan {
    plan_all(
        desired,
        live,
        &LiveUsers::default(),
        &Context::default(),
        policy,
    )
}

/// [`plan`] with the users read of the customers whose manifests declare `users:` (see
/// [`users::to_read`]): their users are planned too (one change per user address).
pub fn plan_with_users(
    desired: &[Located<CustomerManifest>],
    live: &[LiveCustomer],
    live_users: &LiveUsers,
    policy: &Policy,
) -> Plan {
    plan_all(desired, live, live_users, &Context::default(), policy)
}

/// [`plan`] with what is known beyond the customers ([`Context`]): each PBX connection
/// profile a manifest declares becomes its own change (`customer[REF].pbx[NAME]`).
pub fn plan_with(
    desired: &[Located<CustomerManifest>],
    live: &[LiveCustomer],
    ctx: &Context,
    policy: &Policy,
) -> Plan {
    plan_all(desired, live, &LiveUsers::default(), ctx, policy)
}

/// Which live customer each manifest matched (pinned id, else reference; ambiguities
/// and look-alikes are errors), computed once per plan and shared by
/// [`users::to_read_matched`] and [`plan_matched`]. Pure: a function of the manifests
/// and the live customers it was made from, which must be the ones passed with it.
#[derive(Debug)]
pub struct Matching<'l>(matching::Matched<'l>);

impl<'l> Matching<'l> {
    pub fn new(desired: &[Located<CustomerManifest>], live: &'l [LiveCustomer]) -> Self {
        Matching(matching::match_all(desired, live))
    }
}

/// The planner with everything: users read and the [`Context`] (PBX profiles, `--base`,
/// instance checks).
pub fn plan_all(
    desired: &[Located<CustomerManifest>],
    live: &[LiveCustomer],
    live_users: &LiveUsers,
    ctx: &Context,
    policy: &Policy,
) -> Plan {
    let matched = Matching::new(desired, live);
    plan_matched(desired, live, matched, live_users, ctx, policy)
}

/// [`plan_all`] with the [`Matching`] of `desired` to `live` already computed (the
/// pipeline computes it once for [`users::to_read_matched`] and the plan).
pub fn plan_matched<'l>(
    desired: &[Located<CustomerManifest>],
    live: &'l [LiveCustomer],
    matched: Matching<'l>,
    live_users: &LiveUsers,
    ctx: &Context,
    policy: &Policy,
) -> Plan {
    let matched = matched.0;
    debug_assert_eq!(matched.outcomes.len(), desired.len());
    // Live references by id, for naming the tenant a PBX instance is attached to: only
    // PBX profiles need them.
    let references: HashMap<&str, &str> = if desired
        .iter()
        .any(|d| d.value.spec.pbx_connection_profiles.is_some())
    {
        live.iter()
            .filter_map(|l| Some((l.id.as_str(), l.reference()?)))
            .collect()
    } else {
        HashMap::new()
    };
    let mut unmanaged_resources = Vec::new();
    // The fields the API demonstrably returns: carried by at least one live customer of
    // this listing. A customer whose answer lacks one of them has it unset. Only the
    // catalogue's fields are ever asked about, and the first customer usually answers.
    let shown: std::collections::HashSet<&str> = Kind::Customer
        .def()
        .fields
        .iter()
        .map(|f| f.name)
        .filter(|name| live.iter().any(|l| l.has(name)))
        .collect();
    // One change per document at least; sized once rather than doubled (100,000 changes).
    let mut changes = Vec::with_capacity(desired.len());
    let mut errors = Vec::new();
    let mut users_report = UsersReport::default();
    for (manifest, outcome) in desired.iter().zip(matched.outcomes) {
        let live_id = match &outcome {
            matching::Outcome::Live(l) => Some(l.id.as_str()),
            _ => None,
        };
        if !policy.targets_manifest(&manifest.value, live_id) {
            continue;
        }
        match outcome {
            matching::Outcome::Error(message) => errors.push(PlanError {
                key: manifest.value.key(),
                source: Some(manifest.source.clone()),
                message,
            }),
            matching::Outcome::Live(l) => {
                let customer = diff::existing(manifest, l, policy, &shown);
                let deleting = customer.action == ActionKind::Delete;
                changes.push(customer);
                if !deleting {
                    changes.extend(pbx::changes(
                        &manifest.value,
                        &manifest.source,
                        l,
                        ctx,
                        policy,
                        &references,
                        &mut unmanaged_resources,
                    ));
                }
                let u = users::plan_users(manifest, Some(l), live_users, policy);
                users_report.not_read += usize::from(u.not_read);
                users_report.read += usize::from(u.read);
                users_report.unmanaged.extend(u.unmanaged);
                changes.extend(u.changes);
            }
            matching::Outcome::NotFound => {
                let mut c = create::change(manifest, policy, ctx, &references);
                let u = users::plan_users(manifest, None, live_users, policy);
                if c.action == ActionKind::Create
                    && !u.changes.is_empty()
                    && manifest.value.spec.enabled == Some(true)
                    && manifest.value.spec.send_new_user_email != Some(false)
                {
                    c.annotations.push(Annotation {
                        kind: AnnotationKind::SideEffect,
                        field: Some("/sendNewUserEmail".into()),
                        message: "the new customer is enabled with sendNewUserEmail on: every website user will be e-mailed".into(),
                        code: Some("emails-every-website-user".into()),
                    });
                }
                changes.push(c);
                changes.extend(u.changes);
            }
        }
    }
    let mut unmanaged = Vec::new();
    for l in live
        .iter()
        .filter(|l| !matched.claimed.contains(l.id.as_str()))
    {
        if !policy.targets_live(l) {
            continue;
        }
        users_report.not_read += 1;
        if policy.prune {
            changes.push(diff::prune(l));
        } else {
            unmanaged.push(UnmanagedCustomer {
                id: l.id.clone(),
                reference: l.reference().map(str::to_string),
                name: l.name().map(str::to_string),
            });
        }
    }
    // A customer's user changes follow it (the customer's own address sorts first).
    changes.sort_by(|a, b| (&a.key, &a.address, &a.live_id).cmp(&(&b.key, &b.address, &b.live_id)));
    unmanaged_resources.sort_by(|a, b| a.address.cmp(&b.address));
    errors.sort_by(|a, b| (&a.key, &a.source).cmp(&(&b.key, &b.source)));
    unmanaged.sort_by(|a, b| (&a.reference, &a.id).cmp(&(&b.reference, &b.id)));
    if users_report.read == 0 {
        users_report.not_read = 0;
    }
    users_report
        .unmanaged
        .sort_by(|a, b| (&a.address, &a.id).cmp(&(&b.address, &b.id)));

    let pinned = desired.iter().filter(|d| d.value.id.is_some()).count();
    let listed_pbxs = ctx.pbxs.values().map(Vec::len).sum();
    let unsafe_reasons = safety::unsafe_reasons(&changes, live.len(), listed_pbxs, pinned, policy);
    let summary = summarise(
        &changes,
        unmanaged.len() + unmanaged_resources.len() + users_report.unmanaged.len(),
        errors.len(),
    );
    Plan {
        format_version: FORMAT_VERSION,
        dimctl_version: crate::document::VERSION.to_string(),
        generated_at: String::new(),
        revision: None,
        endpoint: String::new(),
        account: None,
        policy: PolicyRecord {
            prune: policy.prune,
            allow_unsafe: policy.allow_unsafe,
            write_unverifiable: policy.write_unverifiable,
            targets: policy.targets.clone(),
        },
        summary,
        unsafe_reasons,
        errors,
        changes,
        unmanaged,
        unmanaged_resources,
        base: ctx.base.as_ref().map(|b| b.commit.clone()),
        users: users_report,
    }
}

fn summarise(changes: &[Change], unmanaged: usize, errors: usize) -> Summary {
    let count = |k: ActionKind| changes.iter().filter(|c| c.action == k).count();
    Summary {
        create: count(ActionKind::Create),
        update: count(ActionKind::Update),
        delete: count(ActionKind::Delete),
        refused: count(ActionKind::Refused),
        unverifiable_fields: changes.iter().map(|c| c.unverifiable.len()).sum(),
        pending: changes.iter().map(|c| c.pending().len()).sum(),
        unchanged: count(ActionKind::NoOp),
        unmanaged,
        errors,
    }
}

/// One `--target`: an address (`customer[REF]`, `customer[id=ID]`), `id:ID`, or a plain
/// reference.
enum Target<'a> {
    Reference(&'a str),
    Id(&'a str),
    Address(Address),
}

impl<'a> Target<'a> {
    fn parse(t: &'a str) -> Target<'a> {
        if let Ok(a) = t.trim().parse::<Address>() {
            return Target::Address(a);
        }
        match t.strip_prefix("id:") {
            Some(id) => Target::Id(id),
            None => Target::Reference(t.trim()),
        }
    }

    /// Whether this target selects the customer with this reference, pinned id and live id.
    fn selects(&self, reference: Option<&str>, ids: &[Option<&str>]) -> bool {
        let by_id = |id: &str| ids.contains(&Some(id));
        let by_ref = |r: &str| reference.map(str::trim) == Some(r.trim());
        match self {
            Target::Reference(r) => by_ref(r),
            Target::Id(id) => by_id(id),
            // Only customers are planned at the top level: a child's address selects its
            // customer.
            Target::Address(a) => {
                let mut top = a;
                while let Some(p) = &top.parent {
                    top = p;
                }
                match (top.kind, &top.key) {
                    (Kind::Customer, AddressKey::Name(r)) => by_ref(r),
                    (Kind::Customer, AddressKey::Id(id)) => by_id(id),
                    // A child kind always has a parent: never the top.
                    (Kind::PbxConnection, _) => false,
                    // A user never sits at the top of an address.
                    (Kind::User, _) => false,
                }
            }
        }
    }
}

impl Policy {
    /// Whether `--target` selects this manifest: by address, by its reference, or `id:ID`
    /// by its pinned id or the id of the live tenant it matched. No targets selects
    /// everything.
    fn targets_manifest(&self, m: &CustomerManifest, live_id: Option<&str>) -> bool {
        self.targets.is_empty()
            || self.targets.iter().any(|t| {
                Target::parse(t).selects(m.spec.reference.as_deref(), &[m.id.as_deref(), live_id])
            })
    }

    /// Whether `--target` selects this live customer (by address, reference or `id:ID`).
    fn targets_live(&self, l: &LiveCustomer) -> bool {
        self.targets.is_empty()
            || self
                .targets
                .iter()
                .any(|t| Target::parse(t).selects(l.reference(), &[Some(l.id.as_str())]))
    }
}
