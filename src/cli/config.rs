//! `dimctl config`: print the effective configuration and where each value came from.
//! Thin: [`super::settings`] resolves, [`crate::render::config`] renders.

use crate::render::config::{self as render, TokenEnv, WorkspaceConfig};

use super::settings::{Given, Resolved};
use super::{CliResult, exit};

/// How to print the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub plan: super::plan::PlanArgs,

    #[command(flatten)]
    pub target: super::target::TargetArgs,

    /// As `apply --parallelism`, to see the value in force.
    #[arg(long, value_name = "N")]
    pub parallelism: Option<usize>,

    /// As `drift --trial-warning-days`, to see the value in force.
    #[arg(long, value_name = "DAYS")]
    pub trial_warning_days: Option<u32>,

    /// text (one `key = value  (origin)` line each) or json.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

pub async fn run(args: Args) -> CliResult {
    let given = Given {
        parallelism: args.parallelism,
        trial_warning_days: args.trial_warning_days,
        ..Given::plan(&args.target, &args.plan)
    };
    let out = match super::settings::resolve(given)? {
        Resolved::Workspaces(workspaces) => {
            let shown: Vec<WorkspaceConfig<'_>> = workspaces
                .iter()
                .map(|w| WorkspaceConfig {
                    name: &w.name,
                    effective: &w.settings.effective,
                    token_env: w.settings.target.token_env.as_deref().map(|name| TokenEnv {
                        name,
                        set: std::env::var(name).is_ok_and(|s| !s.trim().is_empty()),
                    }),
                })
                .collect();
            match args.format {
                Format::Json => render::workspaces_json(&shown),
                Format::Text => render::workspaces_text(&shown),
            }
        }
        Resolved::One(settings) => match args.format {
            Format::Json => render::json(&settings.effective),
            Format::Text => render::text(&settings.effective),
        },
    };
    super::write_stdout(out.as_bytes())?;
    Ok(exit::OK)
}
