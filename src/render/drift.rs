//! Drift report renderings: terminal text, markdown (issue bodies and
//! `$GITHUB_STEP_SUMMARY`), and JSON. Pure: a report in, a string out. Must not compute
//! findings (that is [`crate::drift`]'s) or read the terminal or environment. Every user
//! value in markdown goes through the one escaper, [`super::markdown::escape`].

use std::fmt::Write;

use serde_json::Value;

use super::markdown::escape as md;
use crate::drift::DriftReport;
use crate::model::CustomerKey;
use crate::plan::{ActionKind, FieldDiff};

/// Markdown stays under this size (GitHub's comment and issue limit is 65,536).
pub const MARKDOWN_LIMIT: usize = 60_000;

/// Plain text for a terminal or a job log.
pub fn text(r: &DriftReport) -> String {
    let mut out = String::new();
    if !r.has_findings() {
        let _ = writeln!(
            out,
            "No drift: {} customer(s) in sync with git at {}.",
            r.summary.in_sync, r.endpoint
        );
        return out;
    }
    let _ = writeln!(out, "Drift report for {} on {}", r.endpoint, r.today);
    for e in &r.errors {
        let _ = writeln!(out, "\nerror: {}: {}", e.key, e.message);
    }
    if !r.drifted.is_empty() {
        let _ = writeln!(out, "\nDrifted (live differs from git):");
        for d in &r.drifted {
            let key = d.address.clone().unwrap_or_else(|| d.key.to_string());
            let _ = writeln!(out, "  {} {key}{}", symbol(d.action), name(&d.name));
            for f in &d.fields {
                let _ = writeln!(
                    out,
                    "      {}: {} → {}",
                    f.path,
                    show(f, true),
                    show(f, false)
                );
            }
            for u in &d.unfixable {
                let _ = writeln!(out, "      ! {u}");
            }
        }
    }
    if !r.missing.is_empty() {
        let _ = writeln!(out, "\nMissing (in git, not live):");
        for m in &r.missing {
            let key = m.address.clone().unwrap_or_else(|| m.key.to_string());
            let _ = writeln!(out, "  + {key}{}", name(&m.name));
        }
    }
    if !r.unmanaged.is_empty() {
        let _ = writeln!(out, "\nUnmanaged (live, in no manifest):");
        for u in &r.unmanaged {
            let _ = writeln!(
                out,
                "  ? {}{}",
                u.address
                    .clone()
                    .unwrap_or_else(|| unmanaged_key(&u.id, &u.reference)),
                name(&u.name)
            );
        }
    }
    if !r.trials_ending.is_empty() {
        let _ = writeln!(
            out,
            "\nTrials ending within {} days (an unterminated trial becomes a paying customer):",
            r.trial_warning_days
        );
        for t in &r.trials_ending {
            let _ = writeln!(
                out,
                "  $ {}{} ends {} ({})",
                unmanaged_key(&t.id, &t.reference),
                name(&t.name),
                t.ends,
                days(t.days_left)
            );
        }
    }
    let _ = writeln!(out, "\n{}", summary_line(r));
    out
}

/// The one-line summary.
pub fn summary_line(r: &DriftReport) -> String {
    let s = &r.summary;
    format!(
        "Drift: {} drifted, {} missing, {} unmanaged, {} trial(s) ending, {} error(s), {} in sync.",
        s.drifted, s.missing, s.unmanaged, s.trials_ending, s.errors, s.in_sync
    )
}

/// Markdown for an issue body or a job summary, under [`MARKDOWN_LIMIT`] characters.
pub fn markdown(r: &DriftReport) -> String {
    let s = &r.summary;
    let mut out = String::new();
    let _ = writeln!(out, "## dimctl drift report: {}\n", md(&r.endpoint));
    let _ = writeln!(
        out,
        "{}\n",
        super::markdown::provenance(
            &r.dimctl_version,
            r.revision.as_deref(),
            &[r.endpoint.as_str()],
            &r.generated_at
        )
    );
    let _ = writeln!(
        out,
        "| drifted | missing | unmanaged | trials ending | errors | in sync |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} |\n",
        s.drifted, s.missing, s.unmanaged, s.trials_ending, s.errors, s.in_sync
    );
    if !r.has_findings() {
        let _ = writeln!(out, "No drift on {}.", r.today);
        return out;
    }
    let mut rows: Vec<String> = Vec::new();
    for t in &r.trials_ending {
        rows.push(format!(
            "- :warning: trial **{}**{} ends **{}** ({}): terminate it or it rolls into billing\n",
            md(&unmanaged_key(&t.id, &t.reference)),
            md(&name(&t.name)),
            t.ends,
            days(t.days_left)
        ));
    }
    for e in &r.errors {
        rows.push(format!(
            "- :x: **{}**: {}\n",
            md(&e.key.to_string()),
            md(&e.message)
        ));
    }
    for d in &r.drifted {
        // HTML blocks stand alone: a blank line before and after, or GitHub's renderer
        // reads the markdown that follows as raw text (a literal `**`).
        let mut row = format!(
            "\n<details><summary><code>{}</code> {}{}</summary>\n\n",
            symbol(d.action),
            md(&d.address.clone().unwrap_or_else(|| d.key.to_string())),
            md(&name(&d.name))
        );
        if !d.fields.is_empty() {
            let mut long = String::new();
            row.push_str("| field | live | git |\n|---|---|---|\n");
            for f in &d.fields {
                let (live, git) = match super::long_pair(f.old.as_ref(), f.new.as_ref()) {
                    Some((o, n)) if !f.sensitive => {
                        long.push_str(&super::markdown::line_diff(&f.path, o, n));
                        (
                            "(long text)".to_string(),
                            "(changed: the diff is below)".to_string(),
                        )
                    }
                    _ => (show(f, true), show(f, false)),
                };
                let _ = writeln!(
                    row,
                    "| {} | {} | {} |",
                    super::markdown::code(&f.path),
                    md(&live),
                    md(&git)
                );
            }
            row.push('\n');
            row.push_str(&long);
        }
        for u in &d.unfixable {
            let _ = writeln!(row, "\n- cannot be fixed by apply: {}", md(u));
        }
        row.push_str("\n</details>\n\n");
        rows.push(row);
    }
    for m in &r.missing {
        rows.push(format!(
            "- missing: **{}**{}\n",
            md(&m.address.clone().unwrap_or_else(|| m.key.to_string())),
            md(&name(&m.name))
        ));
    }
    for u in &r.unmanaged {
        rows.push(format!(
            "- unmanaged: **{}**{}\n",
            md(&u
                .address
                .clone()
                .unwrap_or_else(|| unmanaged_key(&u.id, &u.reference))),
            md(&name(&u.name))
        ));
    }
    let footer = format!("\n{}\n", summary_line(r));
    let mut shown = 0;
    for row in &rows {
        if out.len() + row.len() + footer.len() + 200 > MARKDOWN_LIMIT {
            break;
        }
        out.push_str(row);
        shown += 1;
    }
    if shown < rows.len() {
        let _ = writeln!(
            out,
            "\n… and {} more finding(s) not shown to stay under {} characters; run `dimctl drift --format json` for all of them.",
            rows.len() - shown,
            MARKDOWN_LIMIT
        );
    }
    out.push_str(&footer);
    out
}

/// The versioned JSON document.
pub fn json(r: &DriftReport) -> String {
    serde_json::to_string_pretty(r)
        .map(|s| s + "\n")
        .unwrap_or_default()
}

/// [`json`] written to `w` as it is produced (the same bytes), never held whole.
pub fn write_json(r: &DriftReport, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, r).map_err(std::io::Error::from)?;
    w.write_all(b"\n")
}

fn symbol(a: ActionKind) -> char {
    a.symbol()
}

fn name(n: &Option<String>) -> String {
    n.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
}

fn unmanaged_key(id: &str, reference: &Option<String>) -> String {
    match reference {
        Some(r) => r.clone(),
        None => CustomerKey::Id(id.to_string()).to_string(),
    }
}

fn days(n: i64) -> String {
    match n {
        0 => "today".into(),
        1 => "in 1 day".into(),
        n if n > 0 => format!("in {n} days"),
        -1 => "ended 1 day ago".into(),
        n => format!("ended {} days ago", -n),
    }
}

fn show(f: &FieldDiff, old: bool) -> String {
    if f.sensitive {
        return "(sensitive)".into();
    }
    match if old { &f.old } else { &f.new } {
        None => "(absent)".into(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{DriftSummary, Unmanaged};

    fn report_with_unmanaged(n: usize) -> DriftReport {
        let unmanaged: Vec<Unmanaged> = (0..n)
            .map(|i| Unmanaged {
                address: None,
                id: format!("id-{i}"),
                reference: Some(format!("REF-{i:05}")),
                name: Some(format!("Customer <{i}> | with a pipe")),
            })
            .collect();
        DriftReport {
            format_version: 2,
            dimctl_version: "0.2.0".into(),
            generated_at: "2026-11-22T08:00:00Z".into(),
            revision: Some("abc123".into()),
            endpoint: "sandbox:test".into(),
            today: "2026-11-22".into(),
            trial_warning_days: 14,
            summary: DriftSummary {
                unmanaged: n,
                ..Default::default()
            },
            drifted: vec![],
            missing: vec![],
            unmanaged,
            trials_ending: vec![],
            errors: vec![],
        }
    }

    #[test]
    fn markdown_stays_under_the_limit_and_says_so() {
        let md = markdown(&report_with_unmanaged(10_000));
        assert!(md.len() < MARKDOWN_LIMIT, "{}", md.len());
        assert!(md.contains("more finding(s) not shown"));
        assert!(
            md.contains("Customer &lt;0&gt; &#124; with a pipe"),
            "user text is escaped"
        );
    }

    #[test]
    fn the_streamed_json_is_the_rendered_json() {
        let r = report_with_unmanaged(3);
        let mut streamed = Vec::new();
        write_json(&r, &mut streamed).unwrap();
        assert_eq!(String::from_utf8(streamed).unwrap(), json(&r));
        assert!(json(&r).contains("REF-00002"));
    }

    #[test]
    fn no_findings() {
        let r = report_with_unmanaged(0);
        assert!(!r.has_findings());
        assert!(text(&r).starts_with("No drift"));
        assert!(markdown(&r).contains("No drift on 2026-11-22"));
    }
}
