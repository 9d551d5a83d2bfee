//! `dimctl schema`: print the JSON Schema of a Customer manifest document (draft
//! 2020-12) on stdout; `dimctl schema --config` that of `dimctl.yaml`.
//!
//! The committed `schema/customer.schema.json` and `schema/config.schema.json` are this
//! output; regenerate them with `cargo run -- schema > schema/customer.schema.json` and
//! `cargo run -- schema --config > schema/config.schema.json`.

use std::io::Write;

use super::CliResult;
use crate::cli::exit;

/// Print the manifest schema (pretty JSON, newline-terminated) on stdout.
///
/// Point editors at it with a first line `# yaml-language-server: $schema=PATH` in each
/// manifest, or use it in CI with any JSON Schema 2020-12 validator.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the schema of the repository configuration file `dimctl.yaml` instead.
    #[arg(long)]
    pub config: bool,
}

pub fn run(args: Args) -> CliResult {
    let text = if args.config {
        let schema = crate::config::config_schema();
        serde_json::to_string_pretty(&schema).unwrap_or_else(|_| "{}".to_string()) + "\n"
    } else {
        crate::model::schema::customer_schema_text()
    };
    let mut out = crate::redact::stdout();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(exit::OK)
}
