//! The flags that shape a plan ([`PlanArgs`]), shared by `plan`, `apply`, `drift` and
//! `config`. Only their declaration, holding what the user typed: [`super::settings`]
//! resolves them with the environment and dimctl.yaml; nothing writes back into them.

use std::path::PathBuf;

/// The flags that shape a plan, shared by plan, apply and drift.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// Manifest files or directories (recursing into *.yaml and *.yml). Default: `.`
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Plan deletion of live customers that no manifest declares. Off by default: they are
    /// listed as unmanaged and left alone.
    #[arg(long)]
    pub prune: bool,

    /// Let a plan through whose updates or deletes exceed the safety thresholds (30 % of
    /// the existing customers, checked from 10 customers up, unless dimctl.yaml or the
    /// flags below say otherwise). Off by default. Never lets a preventDestroy customer be
    /// deleted.
    #[arg(long)]
    pub allow_unsafe: bool,

    /// The largest share (0 to 1) of existing customers a plan may update before it is
    /// unsafe. Default 0.3, or `safety.maxUpdateShare` in dimctl.yaml.
    #[arg(long, value_name = "SHARE")]
    pub max_update_share: Option<f64>,

    /// The largest share (0 to 1) of existing customers a plan may delete before it is
    /// unsafe. Default 0.3, or `safety.maxDeleteShare` in dimctl.yaml.
    #[arg(long, value_name = "SHARE")]
    pub max_delete_share: Option<f64>,

    /// The largest share (0 to 1) of existing customers a plan may create anew before it
    /// is unsafe (from `--min-existing` customers up). Default 0.3, or
    /// `safety.maxCreateShare` in dimctl.yaml.
    #[arg(long, value_name = "SHARE")]
    pub max_create_share: Option<f64>,

    /// Also write managed fields that the API does not return (and so cannot be
    /// compared), as RFC 6902 `add`. Off by default: they are listed as unverifiable.
    #[arg(long)]
    pub write_unverifiable: bool,

    /// Only plan these customers: an address (`customer[REF]`, `customer[id=ID]`), a plain
    /// reference, or `id:ID`. Repeatable. Default: all.
    #[arg(long = "target", value_name = "REFERENCE")]
    pub targets: Vec<String>,

    /// Only these workspaces of dimctl.yaml's `workspaces:` (repeatable). Default: every
    /// workspace (or those holding the PATHs given).
    #[arg(long = "workspace", value_name = "NAME")]
    pub workspaces: Vec<String>,
}
