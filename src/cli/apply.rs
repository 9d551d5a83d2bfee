//! `dimctl apply`. OWNER: apply work (issue 5).

use super::{CliError, CliResult};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub plan: super::plan::PlanArgs,
    #[command(flatten)]
    pub target: super::target::TargetArgs,
}

pub async fn run(_args: Args) -> CliResult {
    Err(CliError::failure("dimctl apply is not built yet"))
}
