//! `dimctl completions SHELL` and `dimctl man`: generated from the same clap definition
//! as `--help`, so they never drift from the real flags.

use clap::CommandFactory;

use super::{Cli, CliError, CliResult, exit};

/// The shells dimctl writes completions for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh or fish. Example: `dimctl completions bash > /etc/bash_completion.d/dimctl`
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {}

/// Print a completion script for the shell to stdout.
pub fn completions(args: CompletionsArgs) -> CliResult {
    let mut cmd = Cli::command();
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "dimctl", &mut out);
    write_stdout(&out)
}

/// Print the man page (roff) to stdout: `dimctl man > dimctl.1`.
pub fn man(_args: ManArgs) -> CliResult {
    let cmd = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .map_err(|e| CliError::failure(format!("cannot render the man page: {e}")))?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> CliResult {
    use std::io::Write;
    let mut stdout = crate::redact::stdout();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(exit::OK)
}
