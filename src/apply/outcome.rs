//! What apply did, per customer: the outcome of each change and the report that holds
//! them (its JSON document is this type serialised). Its renderings live in
//! [`crate::render::apply`]; nothing here formats text.

use schemars::JsonSchema;
use serde::Serialize;

use crate::model::CustomerKey;
use crate::plan::ActionKind;

/// The result of one customer's change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Created,
    Updated,
    Deleted,
    /// Nothing to do (the plan said no-op).
    Unchanged,
    /// The live customer changed since the plan was made; not touched.
    Stale,
    /// The write failed, or its read-back differs from what was sent.
    Failed,
    /// Not started: interrupted, or a delete held back because something before it failed.
    Skipped,
    /// A write sent once whose answer was lost, and look-ups do not show its effect: it
    /// may or may not have been made. Never sent again in the same run; a re-run resolves it.
    Unknown,
}

impl Status {
    /// Whether this result makes the run fail (exit 1).
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            Status::Stale | Status::Failed | Status::Skipped | Status::Unknown
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Updated => "updated",
            Status::Deleted => "deleted",
            Status::Unchanged => "unchanged",
            Status::Stale => "stale",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Unknown => "unknown",
        }
    }
}

/// A managed field whose read-back value differs from what was written.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FieldMismatch {
    /// JSON pointer, e.g. `/name` or `/features/agent`.
    pub path: String,
    /// What was sent (never a secret: sensitive fields are not compared).
    pub sent: serde_json::Value,
    /// What the server returned (`null` when absent after a remove was expected absent).
    pub found: serde_json::Value,
}

/// One change's result.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Outcome {
    /// The customer the change belongs to (for a user: the user's customer).
    pub key: CustomerKey,
    /// The change's address, as in the plan: `customer[REF]`, `customer[REF].user[EMAIL]`.
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub action: ActionKind,
    pub status: Status,
    /// The tenant's id (for a create: the new id, when known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Why it failed, was stale or skipped, or a note (e.g. "already existed").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<FieldMismatch>,
}

/// Counts per status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    pub unchanged: usize,
    pub stale: usize,
    pub failed: usize,
    pub skipped: usize,
    pub unknown: usize,
}

/// Everything apply did.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ApplyReport {
    /// The version of this JSON document's format.
    pub format_version: u32,
    /// The dimctl that applied.
    pub dimctl_version: String,
    /// When the run finished (RFC 3339, UTC); stamped by the command.
    pub generated_at: String,
    pub endpoint: String,
    /// Ctrl-C or SIGTERM stopped the run before all work was started.
    pub interrupted: bool,
    pub counts: Counts,
    /// One per change of the plan, sorted by key, then address (a customer before its
    /// users).
    pub results: Vec<Outcome>,
    /// Problems of the run as a whole (e.g. the uniqueness check could not be made);
    /// empty when there were none.
    pub errors: Vec<String>,
}

/// The version of the `apply --format json` document.
/// Version 2: snake_case keys (`format_version`), `dimctl_version` and `generated_at`.
pub const REPORT_FORMAT_VERSION: u32 = 2;

impl ApplyReport {
    pub fn new(endpoint: String, mut results: Vec<Outcome>, interrupted: bool) -> Self {
        results.sort_by(|a, b| (&a.key, &a.address).cmp(&(&b.key, &b.address)));
        let mut counts = Counts::default();
        for o in &results {
            *match o.status {
                Status::Created => &mut counts.created,
                Status::Updated => &mut counts.updated,
                Status::Deleted => &mut counts.deleted,
                Status::Unchanged => &mut counts.unchanged,
                Status::Stale => &mut counts.stale,
                Status::Failed => &mut counts.failed,
                Status::Skipped => &mut counts.skipped,
                Status::Unknown => &mut counts.unknown,
            } += 1;
        }
        ApplyReport {
            format_version: REPORT_FORMAT_VERSION,
            dimctl_version: crate::document::VERSION.to_string(),
            generated_at: String::new(),
            endpoint,
            interrupted,
            counts,
            results,
            errors: Vec::new(),
        }
    }

    /// Whether anything failed, was stale or was skipped.
    pub fn has_problems(&self) -> bool {
        !self.errors.is_empty() || self.results.iter().any(|o| o.status.is_problem())
    }

    /// The outcome for a key.
    pub fn get(&self, key: &CustomerKey) -> Option<&Outcome> {
        self.results.iter().find(|o| &o.key == key)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An update outcome of customer `r` (also the render tests' fixture).
    pub(crate) fn outcome(r: &str, status: Status) -> Outcome {
        Outcome {
            key: CustomerKey::Reference(r.into()),
            address: format!("customer[{r}]"),
            name: None,
            action: ActionKind::Update,
            status,
            id: Some("7".into()),
            message: None,
            mismatches: vec![],
        }
    }

    #[test]
    fn counts_sorts_and_flags_problems() {
        let r = ApplyReport::new(
            "e".into(),
            vec![outcome("b", Status::Stale), outcome("a", Status::Updated)],
            false,
        );
        assert_eq!(r.results[0].key, CustomerKey::Reference("a".into()));
        assert_eq!((r.counts.updated, r.counts.stale), (1, 1));
        assert!(r.has_problems());
        let ok = ApplyReport::new("e".into(), vec![outcome("a", Status::Unchanged)], false);
        assert!(!ok.has_problems());
    }
}
