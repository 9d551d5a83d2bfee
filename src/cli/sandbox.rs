//! `dimctl sandbox serve|seed`. OWNER: sandbox work (issue 3).

use super::{CliError, CliResult};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Serve the simulated API over HTTP.
    Serve,
    /// Fill a sandbox state file with realistic customers.
    Seed,
}

pub async fn run(_cmd: Command) -> CliResult {
    Err(CliError::failure("dimctl sandbox is not built yet"))
}
