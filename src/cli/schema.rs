//! `dimctl schema`: print the JSON Schema of a Customer manifest document (draft
//! 2020-12) on stdout; `dimctl schema --config` that of `dimctl.yaml`; `--plan`,
//! `--apply`, `--drift` and `--validate` those of the JSON documents dimctl writes.
//!
//! The committed `schema/customer.schema.json` and `schema/config.schema.json` are this
//! output; regenerate them with `cargo run -- schema > schema/customer.schema.json` and
//! `cargo run -- schema --config > schema/config.schema.json`, and likewise
//! `schema/plan.schema.json`, `schema/apply.schema.json`, `schema/drift.schema.json` and
//! `schema/validate.schema.json`.

use super::CliResult;
use crate::cli::exit;

/// Print the manifest schema (pretty JSON, newline-terminated) on stdout.
///
/// Point editors at it with a first line `# yaml-language-server: $schema=PATH` in each
/// manifest, or use it in CI with any JSON Schema 2020-12 validator.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the schema of the repository configuration file `dimctl.yaml` instead.
    #[arg(long, group = "document")]
    pub config: bool,
    /// Print the schema of the JSON plan (`plan --out`, `plan --format json`).
    #[arg(long, group = "document")]
    pub plan: bool,
    /// Print the schema of the JSON apply result (`apply --format json`).
    #[arg(long, group = "document")]
    pub apply: bool,
    /// Print the schema of the JSON drift report (`drift --format json`).
    #[arg(long, group = "document")]
    pub drift: bool,
    /// Print the schema of the JSON diagnostics document (`validate --format json`).
    #[arg(long, group = "document")]
    pub validate: bool,
}

pub fn run(args: Args) -> CliResult {
    use crate::document::Document;
    let text = if args.config {
        let schema = crate::config::config_schema();
        serde_json::to_string_pretty(&schema).unwrap_or_else(|_| "{}".to_string()) + "\n"
    } else if args.plan {
        Document::Plan.schema_text()
    } else if args.apply {
        Document::Apply.schema_text()
    } else if args.drift {
        Document::Drift.schema_text()
    } else if args.validate {
        Document::Validate.schema_text()
    } else {
        crate::model::schema::customer_schema_text()
    };
    super::write_stdout(text.as_bytes())?;
    Ok(exit::OK)
}
