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
    for (name, plan) in &set.workspaces {
        let _ = writeln!(out, "## Workspace {}\n", code(name));
        out.push_str(&super::markdown(plan));
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
    }
    out
}

/// Drift reports as text: a section per workspace, then one summary line each.
pub fn drift_text(reports: &[(String, DriftReport)]) -> String {
    let mut out = String::new();
    for (name, r) in reports {
        let _ = writeln!(out, "=== workspace {name}: {} ===\n", r.endpoint);
        out.push_str(&crate::drift::render::text(r));
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
        let _ = writeln!(
            out,
            "{name:<width$}  {}",
            crate::drift::render::summary_line(r)
        );
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
    for (name, r) in reports {
        let _ = writeln!(out, "## Workspace {}\n", code(name));
        out.push_str(&crate::drift::render::markdown(r));
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
    }
    out
}

/// Apply results as text: each workspace's table, then one summary line each.
pub fn apply_text(reports: &[(String, ApplyReport)]) -> String {
    let mut out = String::new();
    for (name, r) in reports {
        let _ = writeln!(out, "=== workspace {name}: {} ===\n", r.endpoint);
        out.push_str(&r.render_table());
        out.push('\n');
    }
    let _ = writeln!(out, "=== {} workspaces ===", reports.len());
    let width = reports.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, r) in reports {
        let _ = writeln!(out, "{name:<width$}  Apply: {}", r.summary_line());
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
}
