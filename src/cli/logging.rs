//! Logging to stderr with `tracing`. `-v` raises the level; `RUST_LOG` overrides it.
//! Nothing logged anywhere may carry a secret: the API client logs method, path, status
//! and latency only (never a header, a query string or a body), and every line passes
//! through [`crate::redact`] on its way out. Colour only on a
//! terminal and never with `NO_COLOR`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Install the subscriber once; later calls do nothing.
pub fn init(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("dimctl={level},warn")));
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::redact::MaskedStderr)
        .with_ansi(colour)
        .with_target(false)
        .try_init();
}

/// Colour on stderr only on a terminal and never with `NO_COLOR` (anstream's rules).
pub fn stderr_color() -> bool {
    !matches!(
        anstream::AutoStream::choice(&std::io::stderr()),
        anstream::ColorChoice::Never
    )
}
