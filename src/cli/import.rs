//! `dimctl import`: write one manifest per live customer, to adopt an existing account.
//! Settings come from [`super::settings::resolve_target`] (dimctl.yaml's top level; an
//! import reads one target, never workspaces); the manifests from [`crate::import`].
//!
//! Nothing is half done: every target file is checked before the first is written, and
//! an existing file is never overwritten without `--force`. Each file is written
//! atomically (temp file, then rename).

use std::path::{Path, PathBuf};

use crate::import::{self, Imported};

use super::{CliError, CliResult, exit};

/// The schema file written beside the imported manifests, named by their modeline.
const SCHEMA_FILE: &str = "customer.schema.json";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory to write manifests into (created if missing). Every file written
    /// there must be a regular file or missing: a directory, device, FIFO or socket in
    /// its place is refused before anything is written; a symbolic link is written
    /// through. `-` prints all manifests to stdout as one YAML stream instead (no schema
    /// file).
    #[arg(long, value_name = "DIR", default_value = "customers")]
    pub out: PathBuf,

    /// Only customers whose name or reference contains TEXT (the API's own filter).
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,

    /// Overwrite manifests that already exist. Without it, import writes nothing when any
    /// target file exists, and lists them.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub target: super::target::TargetArgs,
}

pub async fn run(args: Args) -> CliResult {
    let settings = super::settings::resolve_target(&args.target)?;
    let api = settings.target.connect().await?;
    let live = api.list_customers(args.filter.as_deref()).await?;
    // Every customer's users, with their roles (one Get per user).
    let ids: Vec<String> = live.iter().map(|c| c.id.clone()).collect();
    let users = crate::api::users::read_all(&*api, &ids).await?;
    let (imported, skipped) = import::import_all_with_users(&live, &users);
    for s in &skipped {
        crate::errln!("warning: customer {} not imported: {}", s.id, s.reason);
    }

    if args.out.as_path() == Path::new("-") {
        return print_all(&imported, skipped.is_empty());
    }
    let schema_path = args.out.join(SCHEMA_FILE);
    // Every target is checked before the first is written, so nothing is half done.
    for path in imported
        .iter()
        .map(|i| args.out.join(&i.file_name))
        .chain([schema_path.clone()])
    {
        crate::fsutil::check_target(&path).map_err(|e| {
            CliError::failure(format!(
                "--out {}: {e}; nothing was written",
                args.out.display()
            ))
        })?;
    }
    let schema = crate::model::schema::customer_schema_text();
    let existing: Vec<PathBuf> = imported
        .iter()
        .map(|i| args.out.join(&i.file_name))
        .filter(|p| p.exists())
        .collect();
    if !existing.is_empty() && !args.force {
        let list: Vec<String> = existing.iter().map(|p| p.display().to_string()).collect();
        return Err(CliError::failure(format!(
            "{} manifest(s) already exist; nothing was written (use --force to overwrite):\n  {}",
            existing.len(),
            list.join("\n  ")
        )));
    }

    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError::failure(format!("cannot create {}: {e}", args.out.display())))?;
    let texts = render_all(&imported)?;
    for (item, text) in imported.iter().zip(&texts) {
        write_atomic(&args.out.join(&item.file_name), text)?;
        for note in &item.notes {
            crate::errln!("note: {}: {note}", item.file_name);
        }
    }
    let schema_current = std::fs::read_to_string(&schema_path).ok();
    if schema_current.as_deref() != Some(schema.as_str()) {
        write_atomic(&schema_path, &schema)?;
    }
    let secrets: usize = imported
        .iter()
        .map(|i| i.manifest.spec.secrets().len())
        .sum();
    crate::errln!(
        "imported {} customer(s) into {}{}",
        imported.len(),
        args.out.display(),
        if secrets > 0 {
            format!(
                "; {secrets} PBX secret(s) are {{fromEnv: VAR}} placeholders: set those variables where apply runs"
            )
        } else {
            String::new()
        }
    );
    Ok(if skipped.is_empty() {
        exit::OK
    } else {
        exit::FAILURE
    })
}

/// `--out -`: every manifest on stdout, one YAML document each.
fn print_all(imported: &[Imported], complete: bool) -> CliResult {
    let texts = render_all(imported)?;
    super::write_stdout(texts.join("---\n").as_bytes())?;
    super::write_stderr(format!("imported {} customer(s) to stdout\n", imported.len()).as_bytes());
    Ok(if complete { exit::OK } else { exit::FAILURE })
}

fn render_all(imported: &[Imported]) -> Result<Vec<String>, CliError> {
    imported
        .iter()
        .map(|i| {
            import::to_yaml(&i.manifest, SCHEMA_FILE).map_err(|e| {
                CliError::failure(format!("cannot write YAML for {}: {e}", i.file_name))
            })
        })
        .collect()
}

/// Write a file so that a reader (or a crash) sees the old content or the new, never half.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), CliError> {
    crate::fsutil::write_atomic(path, crate::redact::mask(text).as_bytes(), None)
        .map_err(|e| CliError::failure(format!("cannot write {}: {e}", path.display())))
}
