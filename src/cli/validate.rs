//! `dimctl validate`. OWNER: manifest work (issue 2).

use super::{CliError, CliResult};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    Err(CliError::failure("dimctl validate is not built yet"))
}
