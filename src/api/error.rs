//! Errors of the tenant store, as values. The CLI turns them into messages and exit codes.
//!
//! Every variant names the request (method and path, never a query string that could
//! hold a secret, never a header or a body).

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ApiError {
    /// 404, or a terminated tenant.
    #[error("{method} {path}: 404 Not Found")]
    NotFound { method: String, path: String },

    /// 401: missing, invalid or expired token (after one refresh, where refresh is set up).
    #[error(
        "{method} {path}: 401 Unauthorized: {message} (check DIMCTL_TOKEN, or the DIMCTL_CLIENT_ID / DIMCTL_CLIENT_SECRET / DIMCTL_REFRESH_TOKEN refresh flow)"
    )]
    Unauthorized {
        method: String,
        path: String,
        message: String,
    },

    /// 402: the write may incur charges and was NOT actioned by the server.
    #[error(
        "{method} {path}: 402 Payment Required: this change may incur charges and was not made; re-run with --accept-charges"
    )]
    ChargesRequired { method: String, path: String },

    /// Any other error status with the server's message (400 with the API's own text, 403,
    /// 409, a 5xx after retries, a 429 after the retry budget).
    #[error("{method} {path}: {status}: {message}")]
    Status {
        method: String,
        path: String,
        status: u16,
        message: String,
    },

    /// A write that is not safe to repeat (a POST, or a PATCH that appends to an array)
    /// whose outcome is unknown: it may or may not have been made. Look the customer up
    /// (by its key after a POST, by reading it back after a PATCH) before trying again.
    #[error(
        "{method} {path}: outcome unknown ({reason}); the write may have been made: look the customer up before retrying"
    )]
    AmbiguousCreate {
        method: String,
        path: String,
        reason: String,
    },

    /// The request could not be sent or the answer was not received (after retries).
    #[error("{method} {path}: {reason}")]
    Transport {
        method: String,
        path: String,
        reason: String,
    },

    /// The answer was not the API's JSON (an HTML page from a proxy, an empty body, ...).
    #[error("{method} {path}: {status}: unexpected response: {reason}")]
    Decode {
        method: String,
        path: String,
        status: u16,
        reason: String,
    },

    /// A configuration problem found before any request (bad URL, missing credentials).
    #[error("{0}")]
    Config(String),

    /// The run was interrupted (Ctrl-C) before this request was sent.
    #[error("interrupted")]
    Interrupted,
}

impl ApiError {
    /// The HTTP status, where there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::NotFound { .. } => Some(404),
            ApiError::Unauthorized { .. } => Some(401),
            ApiError::ChargesRequired { .. } => Some(402),
            ApiError::Status { status, .. } | ApiError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether a write's outcome is unknown and must be checked before a retry.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, ApiError::AmbiguousCreate { .. })
    }
}
