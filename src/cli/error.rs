//! The one place where errors become messages and exit codes, and where stdout is written
//! (so a closed pipe, `dimctl plan … | head -1`, ends quietly with the command's own code).
//!
//! The contract is Terraform's: 0 success (for `plan --detailed-exitcode` and `drift`:
//! nothing pending), 1 every error *including usage errors*, 2 changes or drift present
//! and nothing else, 130 interrupted. Commands return a code or a [`CliError`]; only
//! `main` ends the process.

use std::io::Write as _;

/// Exit codes scripts can rely on.
pub mod exit {
    /// Success; for `plan --detailed-exitcode` and `drift`: nothing pending.
    pub const OK: i32 = 0;
    /// Any error: invalid input, a usage error (a bad flag, no target), an unreachable
    /// API, a refused or unsafe change, a failed apply.
    pub const FAILURE: i32 = 1;
    /// For `plan --detailed-exitcode` and `drift`: changes or drift present. Never an error.
    pub const CHANGES: i32 = 2;
    /// A run stopped by Ctrl-C or SIGTERM (128 + SIGINT).
    pub const INTERRUPTED: i32 = 130;
}

/// An error that ends a command: a message for stderr and an exit code.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    /// An error (exit 1).
    pub fn failure(message: impl Into<String>) -> Self {
        CliError {
            code: exit::FAILURE,
            message: message.into(),
        }
    }

    /// A usage error: a flag or setting is missing or wrong. Exit 1, as every error.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::failure(message)
    }
}

impl From<crate::api::ApiError> for CliError {
    fn from(e: crate::api::ApiError) -> Self {
        CliError::failure(e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::failure(e.to_string())
    }
}

/// What every command returns: an exit code, or an error to print.
pub type CliResult = Result<i32, CliError>;

/// The exit code of a clap parse error: 0 for `--help` and `--version` (and a bare
/// `dimctl`'s help), 1 for every usage error.
pub fn parse_error_code(e: &clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => exit::OK,
        _ => exit::FAILURE,
    }
}

/// Write `bytes` to stdout, through the redactor, and flush. A closed stdout (the reader
/// went away) is not an error: the rest of the output is dropped and the command ends
/// with its own code.
pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = crate::redact::stdout();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::failure(format!("cannot write to stdout: {e}"))),
    }
}

/// [`write_stdout`] for output produced in pieces: `write` writes into a buffer, which
/// is masked and written to stdout as it fills, so a large output (a plan of 100,000
/// customers) is never held whole. A closed stdout is not an error, as there.
pub fn stream_stdout(
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), CliError> {
    let mut out = crate::redact::buffered(std::io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::failure(format!("cannot write to stdout: {e}"))),
    }
}

/// Write `bytes` to stderr, through the redactor, and flush. Never fails and never
/// panics: with stderr closed (its reader went away) there is nowhere left to report
/// anything, so the text is dropped and the command ends with its own code.
pub fn write_stderr(bytes: &[u8]) {
    let mut err = crate::redact::stderr();
    let _ = err.write_all(bytes).and_then(|()| err.flush());
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[test]
    fn usage_errors_are_1_and_help_is_0() {
        let bad = crate::cli::Cli::try_parse_from(["dimctl", "plan", "--no-such-flag"])
            .expect_err("a bad flag");
        assert_eq!(parse_error_code(&bad), 1);
        let help = crate::cli::Cli::try_parse_from(["dimctl", "--help"]).expect_err("help");
        assert_eq!(parse_error_code(&help), 0);
        let version = crate::cli::Cli::try_parse_from(["dimctl", "--version"]).expect_err("v");
        assert_eq!(parse_error_code(&version), 0);
        assert_eq!(CliError::usage("no target").code, 1);
    }
}
