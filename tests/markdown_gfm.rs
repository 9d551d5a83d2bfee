//! The pull-request and issue renderings (plan and drift markdown) parsed by a GitHub-
//! flavoured markdown implementation (comrak, with GFM tables): no literal `**` anywhere
//! (markdown swallowed by an HTML block, as after a `</details>` with no blank line),
//! balanced `<details>`, every table parsed as a table, a blank line after every
//! `</details>`, a changed long text as a line diff in a ```diff block, and the
//! provenance (version, commit, target, time) on top.

mod plan_fixture;

use comrak::nodes::NodeValue;
use comrak::{Arena, Options, parse_document};
use dimctl::plan::Plan;

fn gfm() -> Options<'static> {
    let mut o = Options::default();
    o.extension.table = true;
    o.extension.strikethrough = true;
    o.extension.autolink = true;
    o.extension.tasklist = true;
    o
}

#[derive(Default, Debug)]
struct Seen {
    texts: Vec<String>,
    html: Vec<String>,
    tables: usize,
    diff_blocks: Vec<String>,
}

fn parse(md: &str) -> Seen {
    let arena = Arena::new();
    let root = parse_document(&arena, md, &gfm());
    let mut seen = Seen::default();
    for node in root.descendants() {
        match &node.data().value {
            NodeValue::Text(t) => seen.texts.push(t.to_string()),
            NodeValue::HtmlBlock(b) => seen.html.push(b.literal.clone()),
            NodeValue::HtmlInline(h) => seen.html.push(h.clone()),
            NodeValue::Table(_) => seen.tables += 1,
            NodeValue::CodeBlock(c) if c.info == "diff" => seen.diff_blocks.push(c.literal.clone()),
            _ => {}
        }
    }
    seen
}

/// The structural rules every rendering must keep.
fn assert_renders_cleanly(md: &str, what: &str) -> Seen {
    let seen = parse(md);
    for t in &seen.texts {
        assert!(!t.contains("**"), "{what}: literal ** in text {t:?}\n{md}");
    }
    for h in &seen.html {
        assert!(
            !h.contains("**"),
            "{what}: markdown swallowed by an HTML block {h:?}\n{md}"
        );
        assert!(
            !h.lines().any(|l| l.starts_with("- ") || l.starts_with('|')),
            "{what}: list or table inside an HTML block {h:?}"
        );
    }
    let opened: usize = seen
        .html
        .iter()
        .map(|h| h.matches("<details>").count())
        .sum();
    let closed: usize = seen
        .html
        .iter()
        .map(|h| h.matches("</details>").count())
        .sum();
    assert_eq!(opened, closed, "{what}: unbalanced <details>\n{md}");
    assert_eq!(
        opened,
        md.matches("<details>").count(),
        "{what}: every <details> is HTML, none is text"
    );
    // Every table the source writes (a delimiter row) is parsed as a table.
    let delimiter_rows = md.lines().filter(|l| l.starts_with("|---")).count();
    assert_eq!(
        seen.tables, delimiter_rows,
        "{what}: a table was not parsed as one\n{md}"
    );
    let lines: Vec<&str> = md.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.trim_end().ends_with("</details>") {
            assert_eq!(
                lines.get(i + 1).copied().unwrap_or(""),
                "",
                "{what}: no blank line after </details> at line {}",
                i + 1
            );
        }
    }
    seen
}

fn stamped(mut plan: Plan) -> Plan {
    plan.generated_at = "2026-11-23T12:00:00Z".into();
    plan.revision = Some("0123abcd".into());
    plan.endpoint = "https://api.uk.myreports.cloud/api/v1.0".into();
    plan
}

#[test]
fn the_plan_comment_renders_under_gfm_with_provenance_and_a_line_diff() {
    let plan = stamped(plan_fixture::every_kind());
    let md = dimctl::render::markdown(&plan);
    let seen = assert_renders_cleanly(&md, "plan");
    assert!(seen.tables >= 2, "the summary and at least one field table");
    let top = md.lines().take(4).collect::<Vec<_>>().join("\n");
    for want in [
        "dimctl 9.9.9-test".to_string(),
        "commit <code>0123abcd</code>".to_string(),
        "target <code>https://api.uk.myreports.cloud/api/v1.0</code>".to_string(),
        "2026-11-23T12:00:00Z".to_string(),
    ] {
        assert!(top.contains(&want), "{want} missing from the top:\n{top}");
    }
    // Beta's long description changed: a line diff, not interleaved <del>/<ins> words.
    assert!(!md.contains("<del>") && !md.contains("<ins>"), "{md}");
    let diff = seen
        .diff_blocks
        .iter()
        .find(|d| d.contains("Beta's support desk"))
        .unwrap_or_else(|| panic!("no diff block for the description:\n{md}"));
    assert!(
        diff.contains("-Beta's support desk, first line only, open weekdays\n"),
        "{diff}"
    );
    assert!(
        diff.contains("+Beta's support desk, first line and escalations, open weekdays\n"),
        "{diff}"
    );
}

#[test]
fn the_drift_report_renders_under_gfm() {
    let plan = stamped(plan_fixture::every_kind());
    let live = plan_fixture::live_customers();
    let report = dimctl::drift::report(&plan, &live, jiff::civil::date(2026, 11, 23), 14);
    assert!(!report.drifted.is_empty() && !report.missing.is_empty());
    let md = dimctl::render::drift::markdown(&report);
    let seen = assert_renders_cleanly(&md, "drift");
    assert!(md.contains("commit <code>0123abcd</code>"), "{md}");
    assert!(
        seen.diff_blocks
            .iter()
            .any(|d| d.contains("+Beta's support desk, first line and escalations")),
        "{md}"
    );
}

#[test]
fn a_fence_in_a_description_cannot_close_the_diff_block() {
    let md = dimctl::render::markdown::line_diff(
        "/description",
        "one\n```\ntwo",
        "one\n````\n**three**",
    );
    let seen = parse(&md);
    assert_eq!(seen.diff_blocks.len(), 1, "{md}");
    assert!(seen.diff_blocks[0].contains("+**three**"), "{md}");
}
