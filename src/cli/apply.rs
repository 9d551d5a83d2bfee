//! `dimctl apply`: plan (or read a saved plan), show it, confirm, execute, report.
//! Thin: settings come resolved from [`super::settings`], the executor in
//! [`crate::apply`] does the work, [`crate::render::apply`] renders the result. Must not
//! decide an outcome or an exit code beyond mapping the report's (`main` owns the table).

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use crate::api::Api;
use crate::apply::{
    ApplyOptions, ApplyReport, Bar, Interrupt, Lines, ProcessEnv, Progress, preflight,
};
use crate::plan::Plan;
use crate::plan::workspaces::{Saved, WorkspacePlans};

use super::settings::{Given, Resolved, Workspace};

use super::{CliError, CliResult, exit, write_stdout};

/// How the result is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A per-customer table and a summary line on stdout.
    Text,
    /// A JSON result document on stdout (the plan itself goes to stderr).
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub plan: super::plan::PlanArgs,
    #[command(flatten)]
    pub target: super::target::TargetArgs,

    /// Execute this saved JSON plan (from `dimctl plan --out FILE`) exactly, instead of
    /// planning from manifests. Refused whole if made against another endpoint or by
    /// another plan format version; customers changed since are skipped as stale.
    #[arg(
        long = "plan",
        value_name = "FILE",
        conflicts_with_all = ["paths", "prune", "allow_unsafe", "write_unverifiable", "targets", "max_update_share", "max_delete_share", "revision", "max_create_share", "base"]
    )]
    pub plan_file: Option<PathBuf>,

    /// Send `accept-charges: true` so billable writes (creates, raised licences) are
    /// actioned; without it a plan with billable changes is refused before any write.
    #[arg(long)]
    pub accept_charges: bool,

    /// The commit the manifests come from, recorded in the plan and shown in every
    /// report. Default: GITHUB_SHA, else CI_COMMIT_SHA, else none.
    #[arg(long, value_name = "SHA")]
    pub revision: Option<String>,

    /// Plan with the write-only PBX profile settings compared against the manifests at the
    /// git revision REV, as `plan --base REV` does (a saved plan records its own base).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// Apply without asking for confirmation. Required when stdin is not a terminal (CI).
    /// Default: ask on a terminal.
    #[arg(long)]
    pub auto_approve: bool,

    /// How many customers are worked on at once (creates and updates; deletes run after
    /// them with the same limit), inside the client's own rate and in-flight limits.
    /// 1 to 256. Default 8, or `parallelism` in dimctl.yaml.
    #[arg(long, value_name = "N")]
    pub parallelism: Option<u64>,

    /// Result format on stdout: `text` (a table) or `json` (a machine-readable document).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// How long to wait for another apply against the same endpoint and account on this
    /// machine to finish (a file lock in the cache directory: $DIMCTL_CACHE_DIR, else
    /// $XDG_CACHE_HOME/dimctl, else ~/.cache/dimctl, else the temporary directory), e.g. `30s`, `5m`, `1h`.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub lock_timeout: std::time::Duration,

    /// Do not take the local lock (for applies serialised elsewhere, e.g. by CI). Creates
    /// stay duplicate-proof without it (see "Concurrency and failure guarantees").
    #[arg(long)]
    pub no_lock: bool,
}

/// Why a `--lock-timeout` value is refused. clap takes any error as a value parser's
/// (it prints it after `invalid value '…' for '--lock-timeout <DURATION>':`), so this is
/// typed rather than a `String`.
#[derive(Debug, thiserror::Error)]
pub enum DurationError {
    #[error("{text:?} is not a duration like 30s, 5m or 1h ({source})")]
    NotADuration {
        text: String,
        #[source]
        source: jiff::Error,
    },
    #[error("{text:?} is negative")]
    Negative { text: String },
}

/// A duration such as `90s`, `5m`, `1h30m`, `2 minutes` or ISO 8601 `PT5M`; a bare
/// number is seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, DurationError> {
    let t = s.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    let d: jiff::SignedDuration = t.parse().map_err(|source| DurationError::NotADuration {
        text: s.to_string(),
        source,
    })?;
    std::time::Duration::try_from(d).map_err(|_| DurationError::Negative {
        text: s.to_string(),
    })
}

pub async fn run(args: Args) -> CliResult {
    let given = Given {
        revision: args.revision.as_deref(),
        base: args.base.as_deref(),
        parallelism: args
            .parallelism
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        ..Given::plan(&args.target, &args.plan)
    };
    let settings = match super::settings::resolve(given)? {
        Resolved::Workspaces(workspaces) => return run_workspaces(&args, workspaces).await,
        Resolved::One(settings) => settings,
    };
    // A saved plan is read (and a stale format refused) before anything is opened.
    let saved = args
        .plan_file
        .as_deref()
        .map(super::show::read_plan)
        .transpose()?;
    if let Some(plan) = &saved {
        super::write_stderr(
            format!(
                "{}\n",
                crate::render::saved::header(plan, jiff::Timestamp::now())
            )
            .as_bytes(),
        );
    }
    let api: Arc<dyn Api> = Arc::from(settings.target.connect().await?);
    let _lock = take_lock(&args, &api.endpoint()).await?;
    let mut plan = match saved {
        Some(plan) => plan,
        None => {
            super::plan::compute(&settings.plan, api.as_ref())
                .await?
                .plan
        }
    };
    if args.plan_file.is_none() && plan.endpoint.is_empty() {
        plan.endpoint = api.endpoint();
    }

    match args.format {
        Format::Text => write_stdout(show_plan(&plan, &std::io::stdout()).as_bytes())?,
        Format::Json => crate::err!("{}", show_plan(&plan, &std::io::stderr())),
    }

    let listed = match args.plan_file {
        Some(_) => check_account(&plan, api.as_ref()).await?,
        None => None,
    };
    // The account check's listing is the run's snapshot too, unless a person is about to
    // be asked (the answer may take long; the executor then lists afresh).
    let listed = listed.filter(|_| args.auto_approve);
    let accept_charges = args.accept_charges;
    if let Err(refusal) = preflight(&plan, &api.endpoint(), accept_charges, &ProcessEnv) {
        return Err(CliError::failure(format!("refusing to apply: {refusal}")));
    }
    if plan.has_changes() && !args.auto_approve {
        confirm()?;
    }

    let interrupt = Interrupt::default();
    let mut signals = tokio::spawn(watch_signals(interrupt.clone()));
    let progress: Arc<dyn Progress> =
        if std::io::stderr().is_terminal() && args.format == Format::Text {
            Arc::new(Bar::new())
        } else {
            Arc::new(Lines)
        };
    let opts = ApplyOptions {
        parallelism: settings.parallelism().clamp(1, 256),
        accept_charges,
        ..ApplyOptions::default()
    };
    let work = crate::apply::apply_listed(
        &plan,
        api,
        &opts,
        Arc::new(ProcessEnv),
        progress,
        interrupt.clone(),
        listed,
    );
    // A second signal quits at once: the work in flight is dropped.
    let result = tokio::select! {
        r = work => r,
        _ = &mut signals => return Ok(exit::INTERRUPTED),
    };
    signals.abort();
    let mut report = result.map_err(|r| CliError::failure(format!("refusing to apply: {r}")))?;
    report.generated_at = crate::document::now();
    print_report(&report, args.format)?;
    Ok(if report.interrupted {
        exit::INTERRUPTED
    } else if report.has_problems() {
        exit::FAILURE
    } else {
        exit::OK
    })
}

/// The local run lock of this endpoint, unless `--no-lock`; held until apply returns.
async fn take_lock(
    args: &Args,
    endpoint: &str,
) -> Result<Option<crate::apply::lock::RunLock>, CliError> {
    if args.no_lock {
        return Ok(None);
    }
    let Some(dir) = crate::apply::lock::cache_dir() else {
        return Err(CliError::failure(
            "no cache directory for the apply lock: set DIMCTL_CACHE_DIR (or HOME), or pass --no-lock",
        ));
    };
    let timeout = args.lock_timeout;
    let lock = crate::apply::lock::acquire(&dir, endpoint, timeout, |path| {
        eprintln!(
            "waiting up to {timeout:?} for another dimctl apply against {endpoint} to finish (lock {})",
            path.display()
        );
    })
    .await
    .map_err(|e| CliError::failure(e.to_string()))?;
    Ok(Some(lock))
}

/// Apply several workspaces, each with its own target and token: every plan shown and
/// checked against its workspace's endpoint before anything is written (one refusal stops
/// them all), one confirmation, then the workspaces applied at most a few at once.
async fn run_workspaces(args: &Args, workspaces: Vec<Workspace>) -> CliResult {
    let plans = workspace_plans(args, workspaces).await?;
    let connected = super::workspaces::each(
        plans
            .into_iter()
            .map(|(w, p)| (w.name.clone(), (w, p)))
            .collect(),
        |(w, plan)| async move {
            let api: Arc<dyn Api> = Arc::from(w.settings.target.connect().await?);
            Ok((w, plan, api))
        },
    )
    .await;
    let (connected, failed) = super::workspaces::report_failures(connected);
    if failed {
        return Err(CliError::failure(
            "a workspace's target could not be opened; nothing was applied",
        ));
    }
    let set = WorkspacePlans::new(
        connected
            .iter()
            .map(|(name, (_, plan, _))| (name.clone(), plan.clone()))
            .collect(),
    );
    match args.format {
        Format::Text => crate::out!(
            "{}",
            crate::render::workspaces::plans_text(&set, colour_on(&std::io::stdout()))
        ),
        Format::Json => crate::err!(
            "{}",
            crate::render::workspaces::plans_text(&set, colour_on(&std::io::stderr()))
        ),
    }
    let accept_charges = args.accept_charges;
    for (name, (_, plan, api)) in &connected {
        if args.plan_file.is_some() {
            check_account(plan, api.as_ref())
                .await
                .map_err(|e| CliError {
                    code: e.code,
                    message: format!("workspace {name}: {}; nothing was applied", e.message),
                })?;
        }
        if let Err(refusal) = preflight(plan, &api.endpoint(), accept_charges, &ProcessEnv) {
            return Err(CliError::failure(format!(
                "refusing to apply: workspace {name}: {refusal}; nothing was applied"
            )));
        }
    }
    if set.has_changes() && !args.auto_approve {
        confirm()?;
    }

    let interrupt = Interrupt::default();
    let signals = tokio::spawn(watch_signals(interrupt.clone()));
    let results = super::workspaces::each(connected, |(w, plan, api)| {
        let interrupt = interrupt.clone();
        let progress: Arc<dyn Progress> = Arc::new(super::workspaces::Lines {
            workspace: w.name.clone(),
        });
        async move {
            let opts = ApplyOptions {
                parallelism: w.settings.parallelism().clamp(1, 256),
                accept_charges,
                ..ApplyOptions::default()
            };
            crate::apply::apply(&plan, api, &opts, Arc::new(ProcessEnv), progress, interrupt)
                .await
                .map_err(|r| CliError::failure(format!("refusing to apply: {r}")))
        }
    })
    .await;
    signals.abort();
    let (reports, failed) = super::workspaces::report_failures(results);
    let printed = match args.format {
        Format::Text => format!("\n{}", crate::render::workspaces::apply_text(&reports)),
        Format::Json => {
            let doc = crate::document::Workspaces::stamped(
                crate::apply::outcome::REPORT_FORMAT_VERSION,
                reports.iter().cloned().collect::<BTreeMap<_, _>>(),
                set.revision.clone(),
            );
            let doc = serde_json::to_string_pretty(&doc)
                .map_err(|e| CliError::failure(format!("cannot write the result: {e}")))?;
            format!("{doc}\n")
        }
    };
    write_stdout(printed.as_bytes())?;
    let codes = reports.iter().map(|(_, r)| {
        if r.interrupted {
            exit::INTERRUPTED
        } else if r.has_problems() {
            exit::FAILURE
        } else {
            exit::OK
        }
    });
    let worst = super::workspaces::worst(codes.chain(failed.then_some(exit::FAILURE)));
    Ok(worst)
}

/// A saved plan is applied only to the account it was made for: resellers of a region
/// share one URL, so the endpoint check alone would let a plan made with token A write
/// A's customers into B's account. Returns the listing of the customers it made, if any.
async fn check_account(
    plan: &Plan,
    api: &dyn Api,
) -> Result<Option<Vec<crate::model::LiveCustomer>>, CliError> {
    let Some(planned) = &plan.account else {
        return Ok(None);
    };
    let live = api.list_customers(None).await?;
    match api.account(&live).await {
        Some(now) if &now == planned => Ok(Some(live)),
        now => Err(CliError::failure(format!(
            "refusing to apply: the plan was made for account {planned}, but these credentials reach {} (same URL, another reseller?): re-run plan with the credentials of the account you mean to change",
            match now {
                Some(a) => format!("account {a}"),
                None => "an account dimctl cannot identify (no customers, and the token names no tenant)".into(),
            }
        ))),
    }
}

/// The plans of the workspaces to apply, with the workspace each belongs to: from the
/// saved file (every workspace it holds, or those `--workspace` names; each must still be
/// declared), else planned now.
async fn workspace_plans(
    args: &Args,
    workspaces: Vec<Workspace>,
) -> Result<Vec<(Workspace, Plan)>, CliError> {
    let Some(path) = &args.plan_file else {
        let mut by_name = workspaces_by_name(super::workspaces::named(workspaces.clone()));
        let results = super::plan::compute_workspaces(workspaces).await;
        let (computed, failed) = super::workspaces::report_failures(results);
        if failed {
            return Err(CliError::failure(
                "a workspace could not be planned; nothing was applied",
            ));
        }
        return Ok(computed
            .into_iter()
            .filter_map(|(name, c)| Some((by_name.remove(&name)?, c.plan)))
            .collect());
    };
    let mut set = match super::show::read_saved(path)? {
        Saved::Workspaces(set) => set,
        Saved::Single(_) => {
            return Err(CliError::failure(format!(
                "{} holds the plan of one account, but dimctl.yaml declares workspaces: plan again with `dimctl plan --out {}`; nothing was applied",
                path.display(),
                path.display()
            )));
        }
    };
    let mut declared = workspaces_by_name(super::workspaces::named(workspaces));
    let restricted = !args.plan.workspaces.is_empty();
    let mut out = Vec::new();
    if restricted {
        for (name, w) in declared {
            let plan = set.workspaces.remove(&name).ok_or_else(|| {
                CliError::failure(format!(
                    "{} holds no plan for workspace {name}: plan it with `dimctl plan --workspace {name} --out FILE`; nothing was applied",
                    path.display()
                ))
            })?;
            out.push((w, plan));
        }
    } else {
        for (name, plan) in set.workspaces {
            let w = declared.remove(&name).ok_or_else(|| {
                CliError::failure(format!(
                    "{} holds a plan for workspace {name}, which dimctl.yaml does not declare: plan again; nothing was applied",
                    path.display()
                ))
            })?;
            out.push((w, plan));
        }
    }
    Ok(out)
}

fn workspaces_by_name(named: Vec<(String, Workspace)>) -> BTreeMap<String, Workspace> {
    named.into_iter().collect()
}

/// The plan as `dimctl plan` prints it; coloured only when `stream` is a terminal and
/// NO_COLOR is not set.
fn show_plan(plan: &Plan, stream: &impl anstream::stream::RawStream) -> String {
    crate::render::text(plan, colour_on(stream))
}

/// Whether to colour what goes to `stream`: a terminal, and NO_COLOR unset.
fn colour_on(stream: &impl anstream::stream::RawStream) -> bool {
    !matches!(
        anstream::AutoStream::choice(stream),
        anstream::ColorChoice::Never
    )
}

/// Ask on the terminal; without one, refuse (CI must say --auto-approve).
fn confirm() -> Result<(), CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() || !std::io::stderr().is_terminal() {
        return Err(CliError::failure(
            "refusing to apply without confirmation: stdin is not a terminal; review the plan and pass --auto-approve",
        ));
    }
    crate::err!("\nApply these changes? Only 'yes' is accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(CliError::failure("apply cancelled; nothing was written"))
    }
}

/// First SIGINT/SIGTERM: stop starting work. Second: return, and the caller quits at once.
async fn watch_signals(interrupt: Interrupt) {
    signal().await;
    interrupt.trigger();
    crate::errln!(
        "\ninterrupted: starting no new work; waiting for requests in flight (signal again to quit at once)"
    );
    signal().await;
}

#[cfg(unix)]
async fn signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn signal() {
    let _ = tokio::signal::ctrl_c().await;
}

fn print_report(report: &ApplyReport, format: Format) -> Result<(), CliError> {
    let text = match format {
        Format::Text => format!("\n{}", crate::render::apply::text(report)),
        Format::Json => crate::render::apply::json(report)
            .map_err(|e| CliError::failure(format!("cannot write the result: {e}")))?,
    };
    write_stdout(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::{DurationError, parse_duration};
    use std::time::Duration;

    #[test]
    fn lock_timeouts_parse_and_bad_ones_say_why() {
        for (text, secs) in [
            ("30", 30),
            ("90s", 90),
            ("5m", 300),
            ("1h30m", 5400),
            ("PT5M", 300),
        ] {
            assert_eq!(
                parse_duration(text).unwrap(),
                Duration::from_secs(secs),
                "{text}"
            );
        }
        let e = parse_duration("soon").unwrap_err();
        assert!(matches!(e, DurationError::NotADuration { .. }), "{e}");
        assert!(
            e.to_string()
                .starts_with("\"soon\" is not a duration like 30s"),
            "{e}"
        );
        let e = parse_duration("-5m").unwrap_err();
        assert!(matches!(e, DurationError::Negative { .. }), "{e}");
    }
}
