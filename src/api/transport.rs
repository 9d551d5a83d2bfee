//! The shape of dimctl's HTTP transport, shared by the API client ([`super::http`]) and the
//! token endpoint calls ([`super::auth`]): the reqwest client (no redirects, timeouts),
//! a transport failure in words, and the error for a redirect. It sends nothing itself.

use std::time::Duration;

use super::ApiError;

/// A reqwest error in words, without its URL (which could carry a query).
pub fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off"
    } else {
        "the connection failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

/// The HTTP client every request and the token endpoint use: no redirects followed, a
/// connect timeout and a whole-request timeout (body included) of `timeout`.
pub fn client(timeout: Duration) -> Result<reqwest::Client, ApiError> {
    reqwest::Client::builder()
        .user_agent(concat!("dimctl/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .build()
        .map_err(|e| ApiError::Config(format!("cannot set up the HTTP client: {e}")))
}

/// The error for a 3xx answer: redirects are never followed, and the message names only
/// the origin (scheme, host, port) of where the server pointed.
pub fn redirected(method: &str, path: &str, status: u16, location: Option<&str>) -> ApiError {
    let origin = location
        .and_then(|l| reqwest::Url::parse(l).ok())
        .map(|u| u.origin().ascii_serialization())
        .map(|o| crate::redact::untrusted(&o));
    let to = match (origin, location) {
        (Some(o), _) => format!("to {o}"),
        (None, Some(_)) => "to a relative or unreadable Location".into(),
        (None, None) => "without a Location".into(),
    };
    ApiError::Status {
        method: method.into(),
        path: path.into(),
        status,
        message: format!(
            "the server redirected {to}; dimctl follows no redirects (nothing was sent there): check the API URL"
        ),
    }
}
