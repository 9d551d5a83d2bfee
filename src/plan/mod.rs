//! The planner: a pure function from (desired manifests, live customers, policy) to a
//! [`Plan`]. No I/O, no clock, no environment: everything it needs is an argument.
//!
//! OWNER: planner work (issue 4). Matching (id pin, else reference; ambiguity is an
//! error), diffing only managed fields with normalisation, unverifiable fields, create-only
//! refusals, sensitive values, prune, lifecycle, safety thresholds, annotations,
//! fingerprints.

pub mod types;

pub use types::*;

use crate::model::{CustomerManifest, LiveCustomer, Located};

/// What the user asked for beyond the manifests.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Plan deletion of live customers that no manifest declares.
    pub prune: bool,
    /// Let a plan through that exceeds the safety thresholds.
    pub allow_unsafe: bool,
    /// Send fields the live object does not carry anyway, as `replace`.
    pub write_unverifiable: bool,
    /// Only these references (or `id:ID` keys) are planned; empty = all.
    pub targets: Vec<String>,
    /// Largest share of existing customers that may be updated (0.0..=1.0).
    pub max_update_share: f64,
    /// Largest share of existing customers that may be deleted (0.0..=1.0).
    pub max_delete_share: f64,
    /// The thresholds apply from this many existing customers up.
    pub min_existing_for_thresholds: usize,
    /// Today's date, for trial end dates (the planner reads no clock).
    pub today: Option<jiff::civil::Date>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            prune: false,
            allow_unsafe: false,
            write_unverifiable: false,
            targets: Vec::new(),
            max_update_share: 0.30,
            max_delete_share: 0.30,
            min_existing_for_thresholds: 10,
            today: None,
        }
    }
}

/// Compute the plan. Pure: same inputs, same plan.
pub fn plan(
    _desired: &[Located<CustomerManifest>],
    _live: &[LiveCustomer],
    _policy: &Policy,
) -> Plan {
    unimplemented!("planner: issue 4")
}
