//! `dimctl plan`. OWNER: planner work (issue 4).

use super::{CliError, CliResult};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: super::target::TargetArgs,
}

pub async fn run(_args: Args) -> CliResult {
    Err(CliError::failure("dimctl plan is not built yet"))
}
