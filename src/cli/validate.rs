//! `dimctl validate`: check manifests and report every problem. Diagnostics go to stderr
//! (text) or stdout (`--format json`); the summary line always goes to stderr. Exit 0
//! when there are no errors (warnings allowed), 1 when there are.

use std::io::Write;
use std::path::PathBuf;

use super::CliResult;
use super::logging::stderr_color;
use crate::cli::exit;
use crate::manifest::{self, render_text};

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `file:line:col: severity: field: message`, the source line and a caret, on stderr.
    Text,
    /// A JSON document on stdout (`schema/validate.schema.json`): the diagnostics with
    /// file, line, column, field, severity, message, hint.
    Json,
}

/// Check manifests against the schema and the semantic rules, reporting every problem.
///
/// Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 usage error.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifest files or directories. Directories are searched recursively for *.yaml
    /// and *.yml (sorted; hidden entries and dimctl.yaml skipped). Default: the
    /// `manifests` of dimctl.yaml when there is one, else `.`. A dimctl.yaml found (walking
    /// up from the first path) is checked too.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Output format of the diagnostics: `text` (stderr, rustc-style) or `json` (a JSON
    /// document on stdout, for editors and CI annotations).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: Args) -> CliResult {
    let local = super::settings::local(&args.paths)?;
    let mut loaded = manifest::load(&local.paths);
    if local.require_admin {
        loaded.require_admin();
    }
    match args.format {
        Format::Text => {
            let color = stderr_color();
            let mut err = crate::redact::stderr();
            err.write_all(render_text(&loaded.diagnostics, color).as_bytes())?;
            writeln!(err, "{}", loaded.summary())?;
        }
        Format::Json => {
            super::write_stdout(json_document(&loaded.diagnostics).as_bytes())?;
            super::write_stderr(format!("{}\n", loaded.summary()).as_bytes());
        }
    }
    Ok(if loaded.has_errors() {
        exit::FAILURE
    } else {
        exit::OK
    })
}

/// The version of the `validate --format json` document.
pub const FORMAT_VERSION: u32 = 2;

/// The diagnostics in the document every JSON output shares (`schema/validate.schema.json`):
/// `{"format_version", "dimctl_version", "generated_at", "diagnostics": [...]}`.
fn json_document(diagnostics: &[manifest::Diagnostic]) -> String {
    let doc = manifest::ValidateReport {
        format_version: FORMAT_VERSION,
        dimctl_version: crate::document::VERSION,
        generated_at: crate::document::now(),
        diagnostics: manifest::json_diagnostics(diagnostics),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
