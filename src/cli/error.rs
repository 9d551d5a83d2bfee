//! The one place where errors become messages and exit codes.

/// Exit codes scripts can rely on.
pub mod exit {
    /// Success; for plan/drift: no changes.
    pub const OK: i32 = 0;
    /// An error, invalid input, or a refused or unsafe change.
    pub const FAILURE: i32 = 1;
    /// A usage error (bad flags, no target to talk to).
    pub const USAGE: i32 = 2;
    /// For plan/drift with `--detailed-exitcode`: changes present.
    pub const CHANGES: i32 = 2;
}

/// An error that ends a command: a message for stderr and an exit code.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    /// An error with exit code 1.
    pub fn failure(message: impl Into<String>) -> Self {
        CliError {
            code: exit::FAILURE,
            message: message.into(),
        }
    }

    /// A usage error with exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            code: exit::USAGE,
            message: message.into(),
        }
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
