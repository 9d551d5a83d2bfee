//! The `Plan` value and its JSON form (format version 2: every change carries its
//! `address` and `kind`).
//!
//! A plan is data: the planner makes it, the renderers print it, `plan --out` saves it as
//! JSON and `apply --plan` executes it exactly. Field order here is the JSON's field order
//! and is part of the documented format (README, "Plan JSON format"): add fields, never
//! reorder or rename them without bumping [`FORMAT_VERSION`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::PatchOperation;
use crate::model::{Address, CustomerKey, Fingerprint, Kind, Source};

/// The version of the saved plan format. `apply --plan` and `show` refuse any other.
/// Version 2 added each change's `address` and `kind`, and `dimctl_version`,
/// `generated_at` and `revision`.
pub const FORMAT_VERSION: u32 = 2;

/// The outcome of planning: every decision, for every customer in scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    #[schemars(extend("const" = 2))]
    pub format_version: u32,
    /// The dimctl that made the plan.
    pub dimctl_version: String,
    /// When the live state was read (RFC 3339, UTC). The planner leaves it empty; the
    /// command that read the live state stamps it.
    pub generated_at: String,
    /// The commit the manifests came from (`--revision`, else `GITHUB_SHA` or
    /// `CI_COMMIT_SHA`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The endpoint the live state was read from ([`crate::api::Api::endpoint`]). The
    /// planner leaves it empty; the command that read the live state fills it in.
    pub endpoint: String,
    /// The reseller account the live state was read from ([`crate::api::Api::account`]):
    /// `apply --plan` refuses a plan made for another account. None when the account
    /// could not be told (no customers and an opaque token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The policy the plan was made under.
    pub policy: PolicyRecord,
    pub summary: Summary,
    /// Set when the share of updates or deletes exceeds the thresholds (and
    /// `--allow-unsafe` was not given), or a protected customer would be deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsafe_reasons: Vec<String>,
    /// Problems that stop a customer from being planned at all (ambiguous reference,
    /// pinned id not found live). A plan with errors cannot be applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<PlanError>,
    /// One entry per manifest in scope, and per live customer to delete, sorted by key.
    pub changes: Vec<Change>,
    /// Live customers that no manifest declares, left alone (without `--prune`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmanaged: Vec<UnmanagedCustomer>,
    /// Live resources below a customer (PBX connection profiles) that the customer's
    /// manifest does not declare, left alone (without `--prune`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmanaged_resources: Vec<UnmanagedResource>,
    /// `plan --base REV`: the commit REV resolved to, whose manifests stood for the
    /// write-only settings the API cannot return.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// What the plan read of users: the live users no manifest declares, and how many
    /// customers' users were not read (their manifests declare no `users:`).
    #[serde(default, skip_serializing_if = "UsersReport::is_empty")]
    pub users: UsersReport,
}

/// A live resource below a customer that no manifest declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UnmanagedResource {
    /// Its address, e.g. `customer[ACME-0001].pbx[old-kazoo]`.
    pub address: String,
    pub kind: Kind,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The users part of a plan that is not a change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UsersReport {
    /// Live users of customers that declare `users:`, that no manifest declares: left
    /// alone without `--prune`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmanaged: Vec<UnmanagedUser>,
    /// How many live customers had their users read (their manifests declare `users:`;
    /// for drift, every customer a manifest declares).
    #[serde(default)]
    pub read: usize,
    /// How many live customers in scope had their users not read (their manifests declare
    /// no `users:`, or no manifest declares them). Counted only when some users were read.
    #[serde(default)]
    pub not_read: usize,
}

impl UsersReport {
    /// Whether there is nothing to say (no manifest declares users).
    pub fn is_empty(&self) -> bool {
        self.unmanaged.is_empty() && self.read == 0
    }
}

/// A live user that no manifest declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UnmanagedUser {
    /// `customer[REF].user[EMAIL]`.
    pub address: String,
    pub id: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

#[cfg(test)]
impl Plan {
    /// A plan of exactly `changes` against `endpoint` and nothing else (no errors,
    /// thresholds or summary): what the executor's tests hand it.
    pub(crate) fn of_changes(endpoint: String, changes: Vec<Change>) -> Plan {
        Plan {
            account: None,
            format_version: FORMAT_VERSION,
            dimctl_version: crate::document::VERSION.to_string(),
            generated_at: String::new(),
            revision: None,
            endpoint,
            policy: PolicyRecord::default(),
            summary: Summary::default(),
            unsafe_reasons: vec![],
            errors: vec![],
            changes,
            unmanaged: vec![],
            unmanaged_resources: vec![],
            base: None,
            users: Default::default(),
        }
    }
}

impl Plan {
    /// Whether anything would be written.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.is_write())
    }

    /// Whether the plan may be applied as it is: no errors, not unsafe, nothing refused.
    pub fn is_applicable(&self) -> bool {
        self.errors.is_empty()
            && self.unsafe_reasons.is_empty()
            && !self.changes.iter().any(|c| c.action == ActionKind::Refused)
    }
}

/// What the plan was made under, recorded so a saved plan explains itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PolicyRecord {
    pub prune: bool,
    pub allow_unsafe: bool,
    pub write_unverifiable: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

/// Counts for the summary line and table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub refused: usize,
    pub unverifiable_fields: usize,
    /// Changes the manifests ask for that the API's answer cannot confirm (a PBX profile
    /// on a customer whose profiles the API does not show): not written, but pending, so
    /// `--detailed-exitcode` and `drift` exit 2 and "No changes" is not printed.
    #[serde(default)]
    pub pending: usize,
    pub unchanged: usize,
    pub unmanaged: usize,
    pub errors: usize,
}

/// What happens to one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    Create,
    Update,
    Delete,
    NoOp,
    Refused,
}

impl ActionKind {
    /// Whether this action writes to the API.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            ActionKind::Create | ActionKind::Update | ActionKind::Delete
        )
    }

    /// The Terraform-like symbol: `+`, `~`, `-`, `!`, or a space.
    pub fn symbol(self) -> char {
        match self {
            ActionKind::Create => '+',
            ActionKind::Update => '~',
            ActionKind::Delete => '-',
            ActionKind::Refused => '!',
            ActionKind::NoOp => ' ',
        }
    }
}

/// Why a customer is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeleteReason {
    /// The manifest says `ensure: absent`.
    EnsureAbsent,
    /// No manifest declares it and `--prune` was given.
    Prune,
}

/// The planned action for one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    /// The resource's address, e.g. `customer[ACME-0001]`, or `customer[id=ID]` for a
    /// customer known only by its id ([`Address`]'s printed form).
    pub address: String,
    /// The resource's kind.
    pub kind: Kind,
    /// The key it was matched by.
    pub key: CustomerKey,
    /// The customer's name (desired, else live) for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub action: ActionKind,
    /// The manifest document this change comes from (none for a pruned customer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// The live tenant's id (none for a create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_id: Option<String>,
    /// The fingerprint of the live object this change was computed from (none for a
    /// create: the tenant must still not exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// For a create: the body to POST, in wire spelling. Secrets are `{"fromEnv": VAR}`
    /// references, resolved by apply at write time, never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<Map<String, Value>>,
    /// For an update: the RFC 6902 operations to PATCH. Values of sensitive keys are
    /// `{"fromEnv": VAR}` references, resolved by apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<PatchOperationSchema>")]
    pub operations: Vec<PatchOperation>,
    /// For a delete: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_reason: Option<DeleteReason>,
    /// Field-level differences for display (update: old → new; create: the values set).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<FieldDiff>,
    /// Managed fields that the live object does not carry and so cannot be compared
    /// (JSON pointers, e.g. `/timezone`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverifiable: Vec<String>,
    /// For a refused customer: each change the API cannot make.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refusals: Vec<Refusal>,
    /// Warnings a reviewer must see: billing, side effects, fields fixed for good.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
    /// For a child kind (a user): the server id of its parent customer, when the parent
    /// exists at plan time. A parent created in the same run hands its new id over at
    /// apply time (`apply::order::hand_over`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
}

impl Change {
    /// A change of `action` for the customer matched by `key`, with nothing else yet.
    pub fn new(key: CustomerKey, action: ActionKind) -> Change {
        Change {
            address: key.address().to_string(),
            kind: Kind::Customer,
            key,
            name: None,
            action,
            source: None,
            live_id: None,
            fingerprint: None,
            create: None,
            operations: Vec::new(),
            delete_reason: None,
            diffs: Vec::new(),
            unverifiable: Vec::new(),
            refusals: Vec::new(),
            annotations: Vec::new(),
            parent_id: None,
        }
    }

    /// The parsed address.
    pub fn parsed_address(&self) -> Option<Address> {
        self.address.parse().ok()
    }
}

/// One field's difference, for display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldDiff {
    /// A JSON pointer, e.g. `/name` or `/features/agent`.
    pub path: String,
    /// The live value (none when absent or on create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// The desired value (none when removed). Never a secret: sensitive values are
    /// replaced by the string `(sensitive)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

/// A change the API cannot make in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Refusal {
    /// The field's wire name.
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<Value>,
    /// Why (from the catalogue) and what to do instead.
    pub reason: String,
}

/// A warning attached to a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Annotation {
    pub kind: AnnotationKind,
    /// The field it concerns, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The sentence a reviewer reads.
    pub message: String,
    /// The catalogue's side-effect code, for machines (e.g. `starts-pbx-and-emails-users`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The kinds of warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AnnotationKind {
    /// The action may incur charges (any create; raising licensed features; a trial's end).
    Billable,
    /// A side effect beyond the field itself (PBX start, emails, collector restart).
    SideEffect,
    /// A create-only value that will be fixed for good once the customer exists.
    CreateOnly,
    /// A destructive action (termination cannot be undone).
    Destructive,
}

/// A customer that could not be planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanError {
    pub key: CustomerKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    pub message: String,
}

/// A live customer that no manifest declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UnmanagedCustomer {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Change {
    /// Unverifiable paths that are pending changes: PBX profiles the manifest declares
    /// on a customer whose profiles the API's answer does not show (and that were not
    /// written anyway with `--write-unverifiable`).
    pub fn pending(&self) -> Vec<&str> {
        self.unverifiable
            .iter()
            .filter(|p| p.as_str() == "/pbxConnectionProfiles")
            .filter(|p| {
                !self
                    .operations
                    .iter()
                    .any(|o| o.path().as_str() == p.as_str())
            })
            .map(String::as_str)
            .collect()
    }
}

/// The JSON Schema of one RFC 6902 operation (json-patch's type has none).
#[derive(JsonSchema)]
#[allow(dead_code)]
struct PatchOperationSchema {
    /// `add`, `remove`, `replace`, `move`, `copy` or `test`.
    op: String,
    /// A JSON pointer.
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
}
