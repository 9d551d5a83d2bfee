//! `dimctl completions SHELL` and `dimctl man [--dir DIR]`: generated from the same clap
//! definition as `--help`, so they never drift from the real flags.

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
pub struct ManArgs {
    /// Write one page per command into DIR (created if missing): dimctl.1, dimctl-plan.1,
    /// dimctl-sandbox-serve.1, ... Without it, print the main page to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
}

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

/// Print the man page (roff) to stdout: `dimctl man > dimctl.1`; with `--dir DIR`, write
/// every page. Every page is rendered before the first is written.
pub fn man(args: ManArgs) -> CliResult {
    if let Some(dir) = &args.dir {
        let pages = man_pages()?;
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::failure(format!("cannot create {}: {e}", dir.display())))?;
        for (name, roff) in &pages {
            let path = dir.join(name);
            crate::fsutil::write_atomic(&path, roff, None)
                .map_err(|e| CliError::failure(format!("cannot write {}: {e}", path.display())))?;
        }
        super::write_stderr(
            format!("wrote {} man pages to {}\n", pages.len(), dir.display()).as_bytes(),
        );
        return Ok(exit::OK);
    }
    let cmd = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .map_err(|e| CliError::failure(format!("cannot render the man page: {e}")))?;
    write_stdout(&out)
}

/// Every page, `(file name, roff)`: the main one and one per (nested) subcommand, named
/// as the main page's SEE ALSO refers to them (`dimctl-plan.1`).
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>, CliError> {
    fn walk(cmd: clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), CliError> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
            walk(sub, out)?;
        }
        let man = clap_mangen::Man::new(cmd);
        let mut roff = Vec::new();
        man.render(&mut roff)
            .map_err(|e| CliError::failure(format!("cannot render the man page: {e}")))?;
        out.push((man.get_filename(), roff));
        Ok(())
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    walk(cmd, &mut pages)?;
    pages.sort();
    Ok(pages)
}

fn write_stdout(bytes: &[u8]) -> CliResult {
    super::write_stdout(bytes)?;
    Ok(exit::OK)
}
