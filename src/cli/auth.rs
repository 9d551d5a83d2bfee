//! `dimctl auth login`. OWNER: API client work (issue 3).

use super::{CliError, CliResult};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run the OAuth authorization-code flow in a browser and store the refresh token.
    Login,
}

pub async fn run(_cmd: Command) -> CliResult {
    Err(CliError::failure("dimctl auth is not built yet"))
}
