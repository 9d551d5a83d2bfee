//! The command-line shell: parse arguments, call the library, print. One file per
//! subcommand; each `run` returns an exit code or a [`CliError`]. No decisions live here.

pub mod apply;
pub mod auth;
pub mod completions;
pub mod config;
pub mod context;
pub mod drift;
pub mod error;
pub mod import;
pub mod logging;
pub mod plan;
pub mod plan_args;
pub mod sandbox;
pub mod schema;
pub mod settings;
pub mod show;
pub mod target;
pub mod validate;
pub mod workspaces;

use clap::{Parser, Subcommand};

pub use error::{CliError, CliResult, exit, stream_stdout, write_stderr, write_stdout};

/// dimctl keeps every Dimensions customer tenant as a YAML manifest in git, and plans and
/// applies the difference with the live API.
///
/// Typical use: `dimctl validate customers/`, `dimctl plan customers/ --out plan.json`,
/// `dimctl apply --plan plan.json`. Try it with no account at all: add `--sandbox` to
/// plan and apply against a local simulator of the API.
///
/// Exit codes (as Terraform's): 0 success (for `plan --detailed-exitcode` and `drift`:
/// nothing pending), 1 every error, usage errors included (a bad flag, no target, invalid
/// input, a refused or unsafe change, a failed apply), 2 changes or drift present and
/// nothing else (`plan --detailed-exitcode`, `drift`), 130 an apply stopped by Ctrl-C or
/// SIGTERM. A closed stdout (`| head`) is not an error.
#[derive(Debug, Parser)]
#[command(name = "dimctl", version, about, long_about, propagate_version = true)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace). Secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests against the schema and the semantic rules; report every problem.
    Validate(validate::Args),
    /// Print the JSON Schema of a Customer manifest document.
    Schema(schema::Args),
    /// Compare manifests with the live API and show what apply would do.
    Plan(plan::Args),
    /// Render a saved plan (`plan --out FILE`) with its age, target and commit.
    Show(show::Args),
    /// Execute a plan: create, update and delete customers so the API matches the manifests.
    Apply(apply::Args),
    /// Run or fill the built-in simulator of the Dimensions API.
    #[command(subcommand)]
    Sandbox(sandbox::Command),
    /// Obtain API credentials.
    #[command(subcommand)]
    Auth(auth::Command),
    /// Print the effective configuration (flags, environment, dimctl.yaml, defaults) and
    /// where each value came from. Credentials are named, never shown.
    Config(config::Args),
    /// Report drift for a schedule: drifted, unmanaged and missing customers, and trials
    /// ending soon. Exit 0 in sync, 2 drift found, 1 error.
    Drift(drift::Args),
    /// Write one manifest per live customer, to adopt an existing account into git.
    Import(import::Args),
    /// Print a shell completion script (bash, zsh, fish) to stdout.
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff) to stdout.
    Man(completions::ManArgs),
}

/// Run a parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Validate(a) => validate::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Plan(a) => plan::run(a).await,
        Command::Show(a) => show::run(a),
        Command::Apply(a) => apply::run(a).await,
        Command::Sandbox(c) => sandbox::run(c).await,
        Command::Auth(c) => auth::run(c).await,
        Command::Config(a) => config::run(a).await,
        Command::Drift(a) => drift::run(a).await,
        Command::Import(a) => import::run(a).await,
        Command::Completions(a) => completions::completions(a),
        Command::Man(a) => completions::man(a),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every command's every flag: a default is printed once, by clap's `[default: …]`,
    /// never also in the flag's own words.
    #[test]
    fn no_default_is_printed_twice_in_help() {
        fn walk(cmd: &clap::Command, path: &str, bad: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                if arg.get_default_values().is_empty() || arg.is_hide_default_value_set() {
                    continue;
                }
                let help = [arg.get_help(), arg.get_long_help()]
                    .into_iter()
                    .flatten()
                    .map(|h| h.to_string().to_lowercase())
                    .collect::<Vec<_>>()
                    .join(" ");
                if help.contains("default") {
                    bad.push(format!("{path} --{}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), bad);
            }
        }
        let mut bad = Vec::new();
        walk(&super::Cli::command(), "dimctl", &mut bad);
        assert!(bad.is_empty(), "a default said twice in --help: {bad:#?}");
    }
}
