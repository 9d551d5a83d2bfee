//! `dimctl plan`. OWNER: planner work (issue 4).
//!
//! Also holds the pipeline shared by `plan`, `apply` and (later) `drift`: load manifests,
//! list live customers, call the pure planner.

use std::path::PathBuf;

use crate::api::Api;
use crate::manifest::Loaded;
use crate::plan::Plan;

use super::{CliError, CliResult};

/// The flags that shape a plan, shared by plan, apply and drift.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// Manifest files or directories (recursing into *.yaml and *.yml). Default: `.`
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Plan deletion of live customers that no manifest declares (except preventDestroy).
    #[arg(long)]
    pub prune: bool,

    /// Let a plan through whose share of updates or deletes exceeds the safety thresholds.
    #[arg(long)]
    pub allow_unsafe: bool,

    /// Write managed fields that the API does not return (and so cannot be compared).
    #[arg(long)]
    pub write_unverifiable: bool,

    /// Only plan these customers (by reference, or `id:ID`). Repeatable.
    #[arg(long = "target", value_name = "REFERENCE")]
    pub targets: Vec<String>,
}

/// A computed plan and the manifests it came from.
#[derive(Debug)]
pub struct Computed {
    pub plan: Plan,
    pub loaded: Loaded,
    /// The live customers the plan was computed from (drift reads trials from them).
    pub live: Vec<crate::model::LiveCustomer>,
}

/// Load the manifests, list the live customers and plan. Fails (exit 1) on invalid
/// manifests, printing their diagnostics, before any request is made.
pub async fn compute(_args: &PlanArgs, _api: &dyn Api) -> Result<Computed, CliError> {
    Err(CliError::failure("planning is not built yet"))
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub target: super::target::TargetArgs,
}

pub async fn run(_args: Args) -> CliResult {
    Err(CliError::failure("dimctl plan is not built yet"))
}
