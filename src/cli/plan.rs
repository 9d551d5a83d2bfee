//! `dimctl plan`.
//!
//! Also holds the pipeline shared by `plan`, `apply` and `drift` ([`compute`]): load
//! manifests, list live customers, call the pure planner with the resolved
//! [`PlanSettings`] and today's date. Must not resolve settings (that is
//! [`super::settings`]'s) nor render (that is [`crate::render`]'s).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::api::Api;
use crate::manifest::{Diagnostic, Severity};
use crate::plan::{Plan, Policy};
use crate::render;

pub use super::plan_args::PlanArgs;
use super::settings::{Given, PlanSettings, Resolved, Workspace};
use super::{CliError, CliResult, exit};

/// A computed plan. The manifests it came from are not kept: at 100,000 documents they
/// would double what the rendering holds.
#[derive(Debug)]
pub struct Computed {
    pub plan: Plan,
    /// The live customers the plan was computed from (drift reads trials from them).
    pub live: Vec<crate::model::LiveCustomer>,
}

/// Load the manifests, list the live customers and plan. Fails (exit 1) on invalid
/// manifests, printing their diagnostics, before any request is made.
pub async fn compute(settings: &PlanSettings, api: &dyn Api) -> Result<Computed, CliError> {
    let mut loaded = crate::manifest::load(&settings.paths);
    if settings.require_admin {
        loaded.require_admin();
    }
    print_diagnostics(&loaded.diagnostics);
    if loaded.has_errors() {
        let n = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        return Err(CliError::failure(format!(
            "{n} error{} in the manifests; nothing was planned",
            if n == 1 { "" } else { "s" }
        )));
    }
    // Printed, and none is an error: nothing reads them again (at 100,000 documents the
    // administrator rule alone is 100,000 warnings).
    loaded.diagnostics = Vec::new();
    crate::memory::give_back();
    let live = api.list_customers(None).await?;
    let policy = Policy {
        today: Some(jiff::Zoned::now().date()),
        ..settings.policy.clone()
    };
    let ctx = super::context::read(
        api,
        &loaded.customers,
        &live,
        settings.all_pbxs,
        settings.base.as_deref(),
        &settings.paths,
    )
    .await?;
    // Users are read only for customers whose manifests declare `users:`.
    // Matched once, for the users to read and for the plan.
    let matched = crate::plan::Matching::new(&loaded.customers, &live);
    let wanted = crate::plan::users::to_read_matched(&loaded.customers, &matched, &policy);
    let users = crate::api::users::read(api, &wanted).await?;
    let mut plan =
        crate::plan::plan_matched(&loaded.customers, &live, matched, &users, &ctx, &policy);
    plan.endpoint = api.endpoint();
    plan.account = api.account(&live).await;
    stamp(&mut plan, settings.revision.clone());
    Ok(Computed { plan, live })
}

/// Stamp what the pure planner cannot know: the time the live state was read, the
/// commit, and manifest paths relative to the repository (its git top level, else the
/// current directory), so a report reads the same on every machine.
fn stamp(plan: &mut Plan, revision: Option<String>) {
    plan.generated_at = crate::document::now();
    plan.revision = revision;
    let Ok(cwd) = std::env::current_dir() else {
        return;
    };
    let root = crate::document::repository_root(&cwd);
    let sources = plan
        .changes
        .iter_mut()
        .filter_map(|c| c.source.as_mut())
        .chain(plan.errors.iter_mut().filter_map(|e| e.source.as_mut()));
    // A file holds many documents: each path is made relative once, not once per change.
    let mut relative: std::collections::HashMap<String, String> = Default::default();
    for source in sources {
        if let Some(r) = relative.get(&source.file) {
            source.file.clone_from(r);
            continue;
        }
        let r = crate::document::relative_to(&source.file, &root, &cwd);
        relative.insert(std::mem::replace(&mut source.file, r.clone()), r);
    }
}

/// Print manifest diagnostics (errors and warnings) to stderr, rustc-style, coloured
/// only when stderr is a terminal and NO_COLOR is unset.
fn print_diagnostics(diagnostics: &[Diagnostic]) {
    if diagnostics.is_empty() {
        return;
    }
    let colour = super::logging::stderr_color();
    // Streamed: 100,000 warnings are written as they are rendered, never as one string.
    let mut err = crate::redact::buffered(std::io::stderr().lock());
    let _ = crate::manifest::write_text(&mut err, diagnostics, colour).and_then(|()| err.flush());
}

/// How the plan is printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Terraform-like text; coloured only on a terminal and never with NO_COLOR.
    Text,
    /// GitHub-flavoured markdown for a pull-request comment or $GITHUB_STEP_SUMMARY.
    Markdown,
    /// The JSON plan (the format `--out` writes and `apply --plan` executes).
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub target: super::target::TargetArgs,

    /// How to print the plan on stdout: text, markdown or json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Also save the JSON plan to FILE (written atomically) for `dimctl apply --plan FILE`,
    /// whatever --format prints. FILE must be a regular file or missing (a directory,
    /// device, FIFO or socket is refused; a symbolic link is written through). `-` writes
    /// the JSON plan to stdout instead, and the --format rendering goes to stderr.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// The commit the manifests come from, recorded in the plan and shown in every
    /// report. Default: GITHUB_SHA, else CI_COMMIT_SHA, else none.
    #[arg(long, value_name = "SHA")]
    pub revision: Option<String>,

    /// Compare the write-only PBX profile settings (hosts, account ids, licence keys,
    /// `enabled`, `countryCode`, secret references) with the manifests at the git revision
    /// REV, and plan a PATCH of exactly what changed since; the API cannot return them.
    /// CI passes the pull request's merge base. The saved plan records REV's commit id.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// Exit 2 when the plan has changes (0 means no changes, 1 an error), for drift jobs.
    /// Without it, a plan with changes exits 0.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

pub async fn run(args: Args) -> CliResult {
    let given = Given {
        revision: args.revision.as_deref(),
        base: args.base.as_deref(),
        ..Given::plan(&args.target, &args.plan)
    };
    let settings = match super::settings::resolve(given)? {
        Resolved::Workspaces(workspaces) => return run_workspaces(&args, workspaces).await,
        Resolved::One(settings) => settings,
    };
    let (to_stdout, out) = out_target(&args)?;
    let api = settings.target.connect().await?;
    let computed = compute(&settings.plan, api.as_ref()).await?;
    let plan = &computed.plan;
    // The JSON plan is streamed (masked on the way) wherever it goes, never rendered whole.
    if let Some(out) = out {
        crate::fsutil::write_atomic_with(out, None, |w| {
            let mut masked = crate::redact::buffered(w);
            render::json::write_json(plan, &mut masked)?;
            masked.flush()
        })
        .map_err(|e| CliError::failure(format!("cannot write {}: {e}", out.display())))?;
    }
    let rendered = match args.format {
        Format::Text => {
            let colour = text_colour(to_stdout);
            Some(render::text(plan, colour))
        }
        Format::Markdown => Some(render::markdown(plan)),
        Format::Json => None,
    };
    if to_stdout || rendered.is_none() {
        // `--out -`: the JSON plan is the data on stdout; the rendering goes to stderr.
        super::stream_stdout(|w| render::json::write_json(plan, w))?;
        if let (true, Some(rendered)) = (to_stdout, &rendered) {
            let mut stderr = crate::redact::stderr();
            stderr.write_all(rendered.as_bytes())?;
        }
    } else if let Some(rendered) = &rendered {
        super::write_stdout(rendered.as_bytes())?;
    }
    if let Some(out) = out {
        crate::errln!("Saved the plan to {}.", out.display());
    }
    let code = exit_code(plan, args.detailed_exitcode);
    // Everything is written and the process is about to exit: freeing the plan, the
    // manifests and the listing one allocation at a time (a quarter of a second at
    // 100,000 customers) would only delay the exit, so leave that to the OS.
    std::mem::forget(rendered);
    std::mem::forget(computed);
    Ok(code)
}

/// Plan every workspace (concurrently, bounded), each against its own target; print a
/// section per workspace and one summary; save them all in one plan file. A workspace
/// that fails is reported and makes the run exit 1, and no plan file is written.
async fn run_workspaces(args: &Args, workspaces: Vec<Workspace>) -> CliResult {
    let (to_stdout, out) = out_target(args)?;
    let results = compute_workspaces(workspaces).await;
    let (plans, failed) = super::workspaces::report_failures(results);
    let set = crate::plan::workspaces::WorkspacePlans::new(
        plans.into_iter().map(|(name, c)| (name, c.plan)).collect(),
    );
    let json = serde_json::to_string_pretty(&set)
        .map_err(|e| CliError::failure(format!("cannot write the plan: {e}")))?
        + "\n";
    if let Some(out) = out {
        if failed {
            crate::errln!(
                "Not saving the plan to {}: a workspace could not be planned.",
                out.display()
            );
        } else {
            write_atomic(out, crate::redact::mask(&json).as_bytes())
                .map_err(|e| CliError::failure(format!("cannot write {}: {e}", out.display())))?;
        }
    }
    let rendered = match args.format {
        Format::Text => {
            let colour = text_colour(to_stdout);
            render::workspaces::plans_text(&set, colour)
        }
        Format::Markdown => render::workspaces::plans_markdown(&set),
        Format::Json => json.clone(),
    };
    if to_stdout {
        if !failed {
            super::write_stdout(json.as_bytes())?;
        }
        if args.format != Format::Json {
            let mut stderr = crate::redact::stderr();
            stderr.write_all(rendered.as_bytes())?;
        }
    } else {
        super::write_stdout(rendered.as_bytes())?;
    }
    if let (Some(out), false) = (out, failed) {
        crate::errln!("Saved the plan of every workspace to {}.", out.display());
    }
    let codes = set
        .workspaces
        .values()
        .map(|p| exit_code(p, args.detailed_exitcode));
    let worst = super::workspaces::worst(codes);
    Ok(if failed { exit::FAILURE } else { worst })
}

/// Connect to every workspace's target and plan it, at most a few at once.
pub async fn compute_workspaces(
    workspaces: Vec<Workspace>,
) -> Vec<(String, Result<Computed, CliError>)> {
    super::workspaces::each(super::workspaces::named(workspaces), |w| async move {
        let api = w.settings.target.connect().await?;
        compute(&w.settings.plan, api.as_ref()).await
    })
    .await
}

/// 1 when the plan cannot be applied (errors, refused, unsafe); with `detailed`, 2 when
/// it has changes (or changes pending that the API cannot confirm); else 0.
pub fn exit_code(plan: &Plan, detailed: bool) -> i32 {
    if !plan.is_applicable() {
        exit::FAILURE
    } else if detailed && (plan.has_changes() || plan.summary.pending > 0) {
        exit::CHANGES
    } else {
        exit::OK
    }
}

/// Write `bytes` to `path` atomically: a temporary file beside it, fsync, rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::fsutil::write_atomic(path, bytes, None)
}

/// Where `--out` goes: `-` is stdout (`true`); any other target is checked as a file
/// dimctl may write before anything is asked of the API.
fn out_target(args: &Args) -> Result<(bool, Option<&PathBuf>), CliError> {
    let to_stdout = args.out.as_deref() == Some(Path::new("-"));
    let out = args.out.as_ref().filter(|_| !to_stdout);
    if let Some(out) = out {
        crate::fsutil::check_target(out).map_err(|e| {
            CliError::failure(format!("--out {}: {e}; nothing was planned", out.display()))
        })?;
    }
    Ok((to_stdout, out))
}

/// Whether the text rendering may use colour: it goes to stderr under `--out -` (stdout
/// then carries the JSON plan), else to stdout; colour only on a terminal, never with
/// `NO_COLOR`.
fn text_colour(to_stderr: bool) -> bool {
    let choice = if to_stderr {
        anstream::AutoStream::choice(&std::io::stderr())
    } else {
        anstream::AutoStream::choice(&std::io::stdout())
    };
    !matches!(choice, anstream::ColorChoice::Never)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let mut p = crate::plan::plan(&[], &[], &Policy::default());
        assert_eq!(exit_code(&p, true), exit::OK);
        p.changes.push(crate::plan::Change::new(
            crate::model::CustomerKey::Reference("A".into()),
            crate::plan::ActionKind::Create,
        ));
        assert_eq!(exit_code(&p, false), exit::OK);
        assert_eq!(exit_code(&p, true), exit::CHANGES);
        p.unsafe_reasons.push("too many".into());
        assert_eq!(exit_code(&p, true), exit::FAILURE);
    }

    #[test]
    fn stamp_makes_every_source_relative_once_per_file() {
        let cwd = std::env::current_dir().unwrap();
        let root = crate::document::repository_root(&cwd);
        let at = |file: String| crate::model::Source {
            file,
            line: 1,
            column: 1,
        };
        let a = root.join("customers/a.yaml").display().to_string();
        let b = root.join("customers/sub/../b.yaml").display().to_string();
        let mut p = crate::plan::plan(&[], &[], &Policy::default());
        for (i, file) in [&a, &b, &a, &a].into_iter().enumerate() {
            let mut c = crate::plan::Change::new(
                crate::model::CustomerKey::Reference(format!("R{i}")),
                crate::plan::ActionKind::Create,
            );
            c.source = Some(at(file.clone()));
            p.changes.push(c);
        }
        p.errors.push(crate::plan::PlanError {
            key: crate::model::CustomerKey::Reference("E".into()),
            source: Some(at(b.clone())),
            message: "x".into(),
        });
        stamp(&mut p, Some("abc".into()));
        let files: Vec<&str> = p
            .changes
            .iter()
            .filter_map(|c| c.source.as_ref())
            .chain(p.errors.iter().filter_map(|e| e.source.as_ref()))
            .map(|s| s.file.as_str())
            .collect();
        assert_eq!(
            files,
            [
                "customers/a.yaml",
                "customers/b.yaml",
                "customers/a.yaml",
                "customers/a.yaml",
                "customers/b.yaml"
            ]
        );
        assert_eq!(p.revision.as_deref(), Some("abc"));
    }

    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, "old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }
}
