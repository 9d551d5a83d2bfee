//! `dimctl drift`: plan with `--detailed-exitcode` semantics, reported for a schedule.
//! Unlike `plan`, it reads the users of every customer a manifest declares.
//! Thin: settings from [`super::settings`], findings from [`crate::drift`], renderings
//! from [`crate::render::drift`]; this file only wires them and writes the output.

use std::io::Write;
use std::path::PathBuf;

use crate::drift;
use crate::render::drift as render;

use super::settings::{Given, Resolved, Workspace};
use super::{CliError, CliResult, exit};

/// How to print the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub plan: super::plan::PlanArgs,

    #[command(flatten)]
    pub target: super::target::TargetArgs,

    /// The report's format on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,

    /// Warn about trials that end within this many days (an unterminated trial becomes a
    /// paying customer): 0 to 365. Default 14, or `trialWarningDays` in dimctl.yaml.
    #[arg(long, value_name = "DAYS")]
    pub trial_warning_days: Option<u32>,

    /// The commit the manifests come from, recorded in the plan and shown in every
    /// report. Default: GITHUB_SHA, else CI_COMMIT_SHA, else none.
    #[arg(long, value_name = "SHA")]
    pub revision: Option<String>,

    /// Also append the markdown report to FILE, e.g. `--summary-file "$GITHUB_STEP_SUMMARY"`.
    #[arg(long, value_name = "FILE")]
    pub summary_file: Option<PathBuf>,
}

/// Exit 0 when git and the account agree, 2 when anything drifted, is missing or
/// unmanaged, or a trial ends within the window; 1 on error.
pub async fn run(args: Args) -> CliResult {
    summary_target(&args)?;
    let given = Given {
        revision: args.revision.as_deref(),
        trial_warning_days: args.trial_warning_days,
        ..Given::plan(&args.target, &args.plan)
    };
    let mut settings = match super::settings::resolve(given)? {
        Resolved::Workspaces(workspaces) => return run_workspaces(&args, workspaces).await,
        Resolved::One(settings) => settings,
    };
    // Drift reports every customer's PBX profiles: missing, unmanaged, of another kind.
    settings.plan.all_pbxs = true;
    // Drift reads every customer's users: those of a customer without `users:` are unmanaged.
    settings.plan.policy.all_users = true;
    let api = settings.target.connect().await?;
    let computed = super::plan::compute(&settings.plan, api.as_ref()).await?;
    let today = jiff::Zoned::now().date();
    let window = settings.trial_warning_days();
    let report = drift::report(&computed.plan, &computed.live, today, window);

    match args.format {
        Format::Text => super::write_stdout(render::text(&report).as_bytes())?,
        Format::Markdown => super::write_stdout(render::markdown(&report).as_bytes())?,
        // Streamed, never rendered whole.
        Format::Json => super::stream_stdout(|w| render::write_json(&report, w))?,
    }
    if let Some(path) = &args.summary_file {
        append(path, &render::markdown(&report))?;
    }
    if args.format != Format::Text {
        crate::errln!("{}", render::summary_line(&report));
    }
    let code = if report.has_findings() {
        exit::CHANGES
    } else {
        exit::OK
    };
    // Everything is written and the process is about to exit: freeing the plan, the
    // listing and the report one allocation at a time would only delay the exit.
    std::mem::forget(report);
    std::mem::forget(computed);
    Ok(code)
}

/// Drift of every workspace, each against its own target: a section per workspace and one
/// summary; exit 1 if any workspace failed, else 2 if any drifted, else 0.
async fn run_workspaces(args: &Args, workspaces: Vec<Workspace>) -> CliResult {
    use crate::render::workspaces as ws;
    let today = jiff::Zoned::now().date();
    let results =
        super::workspaces::each(super::workspaces::named(workspaces), |mut w| async move {
            w.settings.plan.all_pbxs = true;
            w.settings.plan.policy.all_users = true;
            let api = w.settings.target.connect().await?;
            let computed = super::plan::compute(&w.settings.plan, api.as_ref()).await?;
            let window = w.settings.trial_warning_days();
            Ok(drift::report(&computed.plan, &computed.live, today, window))
        })
        .await;
    let (reports, failed) = super::workspaces::report_failures(results);
    let printed = match args.format {
        Format::Text => ws::drift_text(&reports),
        Format::Markdown => ws::drift_markdown(&reports),
        Format::Json => {
            let doc = crate::document::Workspaces::stamped(
                drift::FORMAT_VERSION,
                reports.iter().cloned().collect(),
                reports.iter().find_map(|(_, r)| r.revision.clone()),
            );
            serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
        }
    };
    super::write_stdout(printed.as_bytes())?;
    if let Some(path) = &args.summary_file {
        append(path, &ws::drift_markdown(&reports))?;
    }
    if args.format != Format::Text {
        crate::err!("{}", ws::drift_summary(&reports));
    }
    let worst = super::workspaces::worst(reports.iter().map(|(_, r)| {
        if r.has_findings() {
            exit::CHANGES
        } else {
            exit::OK
        }
    }));
    Ok(if failed { exit::FAILURE } else { worst })
}

/// Check `--summary-file` as every file dimctl writes is checked ([`crate::fsutil`]),
/// before anything is asked of the API: a directory, device, FIFO, socket or dangling
/// link is refused (exit 1); a link to a regular file is written through.
fn summary_target(args: &Args) -> Result<(), CliError> {
    if let Some(path) = &args.summary_file {
        crate::fsutil::check_target(path).map_err(|e| {
            CliError::failure(format!(
                "--summary-file {}: {e}; nothing was checked",
                path.display()
            ))
        })?;
    }
    Ok(())
}

/// Append `text` (masked) to the summary file, checked again at the moment it is opened:
/// only a regular file (or a link to one) is ever appended to.
fn append(path: &std::path::Path, text: &str) -> Result<(), CliError> {
    let fail =
        |e: std::io::Error| CliError::failure(format!("--summary-file {}: {e}", path.display()));
    let real = crate::fsutil::check_target(path).map_err(fail)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&real)
        .map_err(|e| CliError::failure(format!("cannot append to {}: {e}", path.display())))?;
    // The path may have been swapped between the check and the open.
    if !f.metadata().map_err(fail)?.is_file() {
        return Err(CliError::failure(format!(
            "--summary-file {}: not a regular file; dimctl writes only regular files: choose another path",
            path.display()
        )));
    }
    f.write_all(crate::redact::mask(text).as_bytes())
        .and_then(|_| f.write_all(b"\n"))
        .map_err(|e| CliError::failure(format!("cannot append to {}: {e}", path.display())))
}
