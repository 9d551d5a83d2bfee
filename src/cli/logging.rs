//! Logging to stderr with `tracing`. `-v` raises the level; `RUST_LOG` overrides it.
//! Nothing logged anywhere may carry a secret: log method, path, status and latency only.

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
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
