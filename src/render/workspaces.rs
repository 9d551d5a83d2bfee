//! Reports of several workspaces (accounts declared in one `dimctl.yaml`): a section per
//! workspace, each the ordinary rendering of its plan, drift report or apply result, and
//! one summary of them all. Pure: values in, a string out.

use std::fmt::Write as _;

use crate::apply::ApplyReport;
use crate::drift::DriftReport;
use crate::plan::Plan;
use crate::plan::workspaces::WorkspacePlans;

use super::summary_line;

/// A name or endpoint as inline code (backticks in it are dropped: names cannot hold any).
fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', ""))
}

fn endpoint_of(plan: &Plan) -> &str {
    if plan.endpoint.is_empty() {
        "(no endpoint recorded)"
    } else {
        &plan.endpoint
    }
}

/// The plans as text: a banner and the usual rendering per workspace, then one summary.
pub fn plans_text(set: &WorkspacePlans, colour: bool) -> String {
    let mut out = String::new();
    for (name, plan) in &set.workspaces {
        let _ = writeln!(out, "=== workspace {name}: {} ===\n", endpoint_of(plan));
        out.push_str(&super::text(plan, colour));
        out.push('\n');
    }
    let _ = writeln!(out, "=== {} workspaces ===", set.workspaces.len());
    let width = set.workspaces.keys().map(String::len).max().unwrap_or(0);
    for (name, plan) in &set.workspaces {
        let _ = writeln!(out, "{name:<width$}  {}", summary_line(&plan.summary));
    }
    let _ = writeln!(out, "{:<width$}  {}", "all", summary_line(&set.total()));
    out
}

/// The plans as GitHub-flavoured markdown: one summary table, then a section per workspace.
pub fn plans_markdown(set: &WorkspacePlans) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## dimctl plan: {} workspaces\n", set.workspaces.len());
    out.push_str("| workspace | target | create | update | delete | refused | unchanged | unmanaged | errors |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (name, plan) in &set.workspaces {
        let s = &plan.summary;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            code(name),
            code(endpoint_of(plan)),
            s.create,
            s.update,
            s.delete,
            s.refused,
            s.unchanged,
            s.unmanaged,
            s.errors
        );
    }
    let _ = writeln!(out, "\n**{}**\n", summary_line(&set.total()));
    let sections = set
        .workspaces
        .iter()
        .map(|(name, plan)| (name.as_str(), super::markdown(plan)));
    push_sections(&mut out, sections, "plan");
    out
}

/// Append a section per workspace, keeping the whole under [`super::markdown::MAX_CHARS`]
/// (a pull-request comment's limit): a section that does not fit is replaced by a line
/// saying where to find it.
fn push_sections<'a>(
    out: &mut String,
    sections: impl Iterator<Item = (&'a str, String)>,
    what: &str,
) {
    const OMITTED_LINE: usize = 300;
    let sections: Vec<(&str, String)> = sections.collect();
    let n = sections.len();
    for (i, (name, body)) in sections.into_iter().enumerate() {
        let _ = writeln!(out, "## Workspace {}\n", code(name));
        let still_to_come = (n - i - 1) * OMITTED_LINE;
        if out.len() + body.len() + still_to_come > super::markdown::MAX_CHARS {
            let _ = writeln!(
                out,
                "_The {what} of this workspace ({} characters) does not fit in this report: see the text or JSON output, or run `dimctl {what} --workspace {name}`._\n",
                body.len()
            );
            continue;
        }
        out.push_str(&body);
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
    }
}

/// Drift reports as text: a section per workspace, then one summary line each.
pub fn drift_text(reports: &[(String, DriftReport)]) -> String {
    let mut out = String::new();
    for (name, r) in reports {
        let _ = writeln!(out, "=== workspace {name}: {} ===\n", r.endpoint);
        out.push_str(&super::drift::text(r));
        out.push('\n');
    }
    out.push_str(&drift_summary(reports));
    out
}

/// One line per workspace: its drift summary.
pub fn drift_summary(reports: &[(String, DriftReport)]) -> String {
    let mut out = format!("=== {} workspaces ===\n", reports.len());
    let width = reports.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, r) in reports {
        let _ = writeln!(out, "{name:<width$}  {}", super::drift::summary_line(r));
    }
    out
}

/// Drift reports as markdown: a summary table, then each workspace's report.
pub fn drift_markdown(reports: &[(String, DriftReport)]) -> String {
    let mut out = format!("## dimctl drift: {} workspaces\n\n", reports.len());
    out.push_str("| workspace | target | drifted | missing | unmanaged | trials ending | errors | in sync |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (name, r) in reports {
        let s = &r.summary;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            code(name),
            code(&r.endpoint),
            s.drifted,
            s.missing,
            s.unmanaged,
            s.trials_ending,
            s.errors,
            s.in_sync
        );
    }
    out.push('\n');
    let sections = reports
        .iter()
        .map(|(name, r)| (name.as_str(), super::drift::markdown(r)));
    push_sections(&mut out, sections, "drift");
    out
}

/// Apply results as text: each workspace's table, then one summary line each.
pub fn apply_text(reports: &[(String, ApplyReport)]) -> String {
    let mut out = String::new();
    for (name, r) in reports {
        let _ = writeln!(out, "=== workspace {name}: {} ===\n", r.endpoint);
        out.push_str(&super::apply::text(r));
        out.push('\n');
    }
    let _ = writeln!(out, "=== {} workspaces ===", reports.len());
    let width = reports.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, r) in reports {
        let _ = writeln!(
            out,
            "{name:<width$}  Apply: {}",
            super::apply::summary_line(r)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Policy, plan};
    use std::collections::BTreeMap;

    fn set() -> WorkspacePlans {
        let mut uk = plan(&[], &[], &Policy::default());
        uk.endpoint = "http://uk.example/api/v1.0".into();
        let mut au = uk.clone();
        au.endpoint = "http://au.example/api/v1.0".into();
        au.summary.create = 2;
        WorkspacePlans::new(BTreeMap::from([("uk".into(), uk), ("au".into(), au)]))
    }

    #[test]
    fn text_has_a_section_per_workspace_and_one_summary() {
        let t = plans_text(&set(), false);
        let au = t
            .find("=== workspace au: http://au.example")
            .expect("au section");
        let uk = t
            .find("=== workspace uk: http://uk.example")
            .expect("uk section");
        let summary = t.find("=== 2 workspaces ===").expect("summary");
        assert!(au < uk && uk < summary, "{t}");
        assert!(t.contains("au  Plan: 2 to create"), "{t}");
        assert!(t.contains("\nall  Plan: 2 to create"), "{t}");
    }

    #[test]
    fn markdown_has_one_table_row_per_workspace() {
        let md = plans_markdown(&set());
        assert!(
            md.contains("| `au` | `http://au.example/api/v1.0` | 2 |"),
            "{md}"
        );
        assert!(
            md.contains("| `uk` | `http://uk.example/api/v1.0` | 0 |"),
            "{md}"
        );
        assert_eq!(md.matches("## Workspace `").count(), 2, "{md}");
    }

    #[test]
    fn markdown_of_large_workspaces_stays_under_the_limit_and_says_so() {
        let mut out = String::new();
        let big = "x".repeat(40_000);
        let sections = [
            ("au", big.clone()),
            ("eu", big.clone()),
            ("uk", "small\n".into()),
        ];
        push_sections(&mut out, sections.into_iter(), "plan");
        assert!(
            out.len() <= crate::render::markdown::MAX_CHARS,
            "{}",
            out.len()
        );
        assert!(out.contains("## Workspace `au`\n\nxxx"), "the first fits");
        assert!(
            out.contains("run `dimctl plan --workspace eu`"),
            "the second is named"
        );
        assert!(
            out.ends_with("small\n\n"),
            "a small one after it still fits"
        );
    }
}
