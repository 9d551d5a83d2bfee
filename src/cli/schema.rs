//! `dimctl schema`: print the JSON Schema of a Customer manifest document (draft
//! 2020-12) on stdout. OWNER: manifest work (issue 2).
//!
//! The committed `schema/customer.schema.json` is this output; regenerate it with
//! `cargo run -- schema > schema/customer.schema.json`.

use std::io::Write;

use super::CliResult;
use crate::cli::exit;

/// Print the manifest schema (pretty JSON, newline-terminated) on stdout.
///
/// Point editors at it with a first line `# yaml-language-server: $schema=PATH` in each
/// manifest, or use it in CI with any JSON Schema 2020-12 validator.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    let text = crate::model::schema::customer_schema_text();
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(exit::OK)
}
