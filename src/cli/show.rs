//! `dimctl show PLAN.json`: render a saved plan (text, markdown or JSON) with its age,
//! target(s) and revision, so a reviewer can read what `apply --plan` would execute.
//! The header and renderings are [`crate::render`]'s (`render::saved::header`).
//! Also reads saved plans for `apply --plan`: both refuse a plan of another format
//! version, saying to plan again.

use std::path::{Path, PathBuf};

use crate::plan::workspaces::Saved;
use crate::plan::{FORMAT_VERSION, Plan};

use super::{CliError, CliResult, exit, write_stdout};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The saved plan (from `dimctl plan --out FILE`).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// How to print it: text (as `dimctl plan` does), markdown (a pull-request comment)
    /// or json (the plan document itself).
    #[arg(long, value_enum, default_value_t = super::plan::Format::Text)]
    pub format: super::plan::Format,
}

pub fn run(args: Args) -> CliResult {
    let plans: Vec<(Option<String>, Plan)> = match read_saved(&args.plan)? {
        Saved::Single(plan) => vec![(None, *plan)],
        Saved::Workspaces(set) => {
            if args.format == super::plan::Format::Json {
                let text = serde_json::to_string_pretty(&set)
                    .map_err(|e| CliError::failure(format!("cannot print the plan: {e}")))?;
                write_stdout(format!("{text}\n").as_bytes())?;
                return Ok(exit::OK);
            }
            set.workspaces
                .into_iter()
                .map(|(name, plan)| (Some(name), plan))
                .collect()
        }
    };
    let mut out = String::new();
    for (name, plan) in &plans {
        if let Some(name) = name {
            out.push_str(&match args.format {
                super::plan::Format::Markdown => format!("## Workspace `{name}`\n\n"),
                _ => format!("== workspace {name} ==\n"),
            });
        }
        out.push_str(&render(plan, args.format));
    }
    write_stdout(out.as_bytes())?;
    Ok(exit::OK)
}

fn render(plan: &Plan, format: super::plan::Format) -> String {
    match format {
        super::plan::Format::Text => {
            let colour = !matches!(
                anstream::AutoStream::choice(&std::io::stdout()),
                anstream::ColorChoice::Never
            );
            format!(
                "{}\n\n{}",
                crate::render::saved::header(plan, jiff::Timestamp::now()),
                crate::render::text(plan, colour)
            )
        }
        super::plan::Format::Markdown => crate::render::markdown(plan),
        super::plan::Format::Json => crate::render::json(plan),
    }
}

/// Read a saved plan of one account. A plan of another format version is refused with
/// what to do; so is a plan of several workspaces (apply it where its dimctl.yaml is).
pub fn read_plan(path: &Path) -> Result<Plan, CliError> {
    match read_saved(path)? {
        Saved::Single(plan) => Ok(*plan),
        Saved::Workspaces(set) => Err(CliError::failure(format!(
            "{} holds the plans of workspaces ({}), but no dimctl.yaml declaring them was found: run apply where that dimctl.yaml is; nothing was applied",
            path.display(),
            set.workspaces
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Read a saved plan: one account's, or several workspaces'. A plan of another format
/// version is refused with what to do (the version is checked before anything else).
pub fn read_saved(path: &Path) -> Result<Saved, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::failure(format!("cannot read plan {}: {e}", path.display())))?;
    let not_a_plan = |e: &dyn std::fmt::Display| {
        CliError::failure(format!(
            "{} is not a dimctl plan (JSON from `dimctl plan --out`): {e}",
            path.display()
        ))
    };
    let raw: serde_json::Value = serde_json::from_str(&text).map_err(|e| not_a_plan(&e))?;
    match raw
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(v) => {
            return Err(CliError::failure(format!(
                "{} is a plan of format version {v}; this dimctl ({}) reads format version {FORMAT_VERSION} only: plan again with `dimctl plan --out {}` and use that plan",
                path.display(),
                crate::document::VERSION,
                path.display()
            )));
        }
        None => return Err(not_a_plan(&"no `format_version`")),
    }
    Saved::from_value(raw).map_err(|e| not_a_plan(&e))
}
