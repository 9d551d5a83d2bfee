//! The pull-request rendering, for a PR comment and `$GITHUB_STEP_SUMMARY`: a summary
//! table, then the warnings a reviewer must see (errors, unsafe, refused, billable, side
//! effects), then one collapsible `<details>` per customer.
//!
//! Every rendering opens with its provenance (dimctl version, commit, target, time), so a
//! reviewer can tell whether a comment is current. A changed long text is shown as a
//! line diff in a fenced `diff` block under the customer's table, never as interleaved
//! words. Every HTML block is followed by a blank line, as GitHub's renderer needs to
//! go back to markdown after it.
//!
//! GitHub rejects comments over 65,536 characters, so the rendering stays under
//! [`MAX_CHARS`] however large the plan: the tail is collapsed into a count that says so.
//! Every user value is escaped (HTML entities), so a name cannot break the layout or
//! inject markup.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use similar::{ChangeTag, TextDiff};

use super::{action_label, heading, long_pair, summary_line, unverifiable_note, value};
use crate::plan::{ActionKind, AnnotationKind, Change, Plan};

/// The most characters a rendering may hold.
pub const MAX_CHARS: usize = 60_000;
/// Room kept for the closing notes.
const RESERVE: usize = 1_000;
/// The share of the budget the warnings may use.
const WARNINGS_BUDGET: usize = 20_000;
/// Customers listed per grouped warning before "and N more".
const KEYS_PER_WARNING: usize = 10;

/// The first [`KEYS_PER_WARNING`] keys, each through [`code`], and how many more there
/// are: "a, b and 3 more" with a and b as code.
fn first_keys<'k>(keys: impl ExactSizeIterator<Item = &'k str>) -> String {
    let more = keys.len().saturating_sub(KEYS_PER_WARNING);
    let listed: Vec<String> = keys.take(KEYS_PER_WARNING).map(code).collect();
    if more > 0 {
        format!("{} and {more} more", listed.join(", "))
    } else {
        listed.join(", ")
    }
}

/// Escape a user value for markdown and HTML alike: the one escaper of every rendering
/// (plan, drift, workspaces, config). Whatever the text, it stays plain text in one table
/// cell: an HTML entity for every character that opens markup, a table cell, a mention
/// or a link; a line break becomes `<br>`. A bare URL or e-mail address is still
/// autolinked by GitHub (to what the text says; entities cannot stop the e-mail one).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            '*' => out.push_str("&#42;"),
            '_' => out.push_str("&#95;"),
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            '\\' => out.push_str("&#92;"),
            '#' => out.push_str("&#35;"),
            '~' => out.push_str("&#126;"),
            '!' => out.push_str("&#33;"),
            '@' => out.push_str("&#64;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// The provenance line: `dimctl 0.2.0 · commit <code>…</code> · target <code>…</code> ·
/// 2026-11-23T13:45:00Z`. Parts that are unknown are left out.
pub fn provenance(
    version: &str,
    revision: Option<&str>,
    targets: &[&str],
    generated_at: &str,
) -> String {
    let mut parts = vec![format!("dimctl {}", escape(version))];
    if let Some(r) = revision {
        parts.push(format!("commit {}", code(r)));
    }
    let targets: Vec<String> = targets
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| code(t))
        .collect();
    if !targets.is_empty() {
        let label = if targets.len() == 1 {
            "target"
        } else {
            "targets"
        };
        parts.push(format!("{label} {}", targets.join(", ")));
    }
    if !generated_at.is_empty() {
        parts.push(escape(generated_at));
    }
    parts.join(" · ")
}

/// A fenced `diff` block of two texts, line by line (`-` live, `+` desired), preceded by
/// a line naming the field. The fence is longer than any run of backticks in the texts,
/// so a text cannot close it.
pub fn line_diff(path: &str, old: &str, new: &str) -> String {
    let longest_run = |s: &str| s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(3.max(longest_run(old).max(longest_run(new)) + 1));
    let mut out = format!("{} (live → desired):\n\n{fence}diff\n", code(path));
    let diff = TextDiff::from_lines(old, new);
    for ch in diff.iter_all_changes() {
        let sign = match ch.tag() {
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
            ChangeTag::Equal => ' ',
        };
        let line = ch.to_string_lossy();
        let _ = writeln!(out, "{sign}{}", line.trim_end_matches(['\n', '\r']));
    }
    let _ = write!(out, "{fence}\n\n");
    out
}

pub(crate) fn code(s: &str) -> String {
    format!("<code>{}</code>", escape(s))
}

/// Render a plan as GitHub-flavoured markdown, under [`MAX_CHARS`] characters.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let s = &plan.summary;
    out.push_str("### dimctl plan\n\n");
    let _ = writeln!(
        out,
        "{}\n",
        provenance(
            &plan.dimctl_version,
            plan.revision.as_deref(),
            &[plan.endpoint.as_str()],
            &plan.generated_at
        )
    );
    out.push_str("| create | update | delete | refused | unverifiable fields | unchanged | unmanaged | errors |\n");
    out.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
        s.create,
        s.update,
        s.delete,
        s.refused,
        s.unverifiable_fields,
        s.unchanged,
        s.unmanaged,
        s.errors
    );
    let _ = writeln!(out, "**{}**\n", escape(&summary_line(s)));

    warnings(&mut out, plan);

    let shown: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != ActionKind::NoOp || !c.unverifiable.is_empty())
        .collect();
    if !shown.is_empty() {
        out.push_str("#### Changes\n\n");
    }
    let mut omitted = 0;
    for c in &shown {
        if omitted > 0 {
            omitted += 1;
            continue;
        }
        let block = details(c);
        if out.len() + block.len() + RESERVE > MAX_CHARS {
            omitted = 1;
            continue;
        }
        out.push_str(&block);
    }
    if omitted > 0 {
        let _ = writeln!(
            out,
            "_…and {omitted} more customers not shown: this rendering is limited to {MAX_CHARS} \
             characters. Run `dimctl plan` or read the JSON plan for the full list._\n"
        );
    }
    if !plan.unmanaged.is_empty() {
        let listed = first_keys(
            plan.unmanaged
                .iter()
                .map(|u| u.reference.as_deref().unwrap_or(&u.id)),
        );
        let _ = writeln!(
            out,
            "{} live customers are declared by no manifest and left alone (`--prune` would delete them): {listed}\n",
            plan.unmanaged.len(),
        );
    }
    if !plan.unmanaged_resources.is_empty() {
        let listed = first_keys(plan.unmanaged_resources.iter().map(|u| u.address.as_str()));
        let _ = writeln!(
            out,
            "{} live resources below managed customers are declared by no manifest and left alone (`--prune` would delete them): {listed}\n",
            plan.unmanaged_resources.len(),
        );
    }
    if !plan.users.unmanaged.is_empty() {
        let listed = first_keys(plan.users.unmanaged.iter().map(|u| u.address.as_str()));
        let _ = writeln!(
            out,
            "{} live users are declared by no manifest and left alone (`--prune` would delete them): {listed}\n",
            plan.users.unmanaged.len(),
        );
    }
    if plan.users.not_read > 0 {
        let _ = writeln!(
            out,
            "Users were read for {} customer(s) whose manifests declare `users:`; the users of {} other customer(s) were not read.\n",
            plan.users.read, plan.users.not_read
        );
    }
    out
}

fn warnings(out: &mut String, plan: &Plan) {
    let mut lines: Vec<String> = Vec::new();
    for e in &plan.errors {
        let at = e
            .source
            .as_ref()
            .map(|s| format!(" ({})", code(&s.to_string())))
            .unwrap_or_default();
        lines.push(format!(
            "- ⛔ **Error** {}{at}: {}",
            code(&e.key.to_string()),
            escape(&e.message)
        ));
    }
    for r in &plan.unsafe_reasons {
        lines.push(format!("- ⛔ **Unsafe**: {}", escape(r)));
    }
    for c in plan
        .changes
        .iter()
        .filter(|c| c.action == ActionKind::Refused)
    {
        for r in &c.refusals {
            let live = r
                .live
                .as_ref()
                .map(value)
                .unwrap_or_else(|| "(absent)".into());
            let desired = r
                .desired
                .as_ref()
                .map(value)
                .unwrap_or_else(|| "(absent)".into());
            lines.push(format!(
                "- ⛔ **Refused** {}: {} {} → {}: {}",
                code(&heading(c)),
                code(&r.field),
                code(&live),
                code(&desired),
                escape(&r.reason)
            ));
        }
    }
    // Annotations grouped by (kind, message), listing the customers they concern.
    let mut groups: BTreeMap<(u8, String), Vec<String>> = BTreeMap::new();
    for c in &plan.changes {
        for a in &c.annotations {
            let rank = match a.kind {
                AnnotationKind::Destructive => 0,
                AnnotationKind::Billable => 1,
                AnnotationKind::SideEffect => 2,
                AnnotationKind::CreateOnly => 3,
            };
            groups
                .entry((rank, a.message.clone()))
                .or_default()
                .push(heading(c));
        }
    }
    for ((rank, message), keys) in groups {
        let label = [
            "🗑️ **Destructive**",
            "💰 **Billable**",
            "⚠️ **Side effect**",
            "🔒 **Fixed for good**",
        ][usize::from(rank)];
        let listed: Vec<String> = keys
            .iter()
            .take(KEYS_PER_WARNING)
            .map(|k| code(k))
            .collect();
        let more = keys.len().saturating_sub(KEYS_PER_WARNING);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        lines.push(format!(
            "- {label}: {} — {}{more}",
            escape(&message),
            listed.join(", ")
        ));
    }
    if lines.is_empty() {
        return;
    }
    out.push_str("#### Warnings\n\n");
    let mut used = 0;
    let total = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        if used + line.len() > WARNINGS_BUDGET {
            let _ = writeln!(out, "- _…and {} more warnings not shown._", total - i);
            break;
        }
        used += line.len() + 1;
        out.push_str(&line);
        out.push('\n');
    }
    out.push('\n');
}

fn details(c: &Change) -> String {
    let mut b = String::new();
    let name = c
        .name
        .as_deref()
        .map(|n| format!(" “{}”", escape(n)))
        .unwrap_or_default();
    let id = c
        .live_id
        .as_deref()
        .map(|i| format!(", id {}", code(i)))
        .unwrap_or_default();
    let _ = writeln!(
        b,
        "<details><summary><code>{}</code> <b>{}</b>{name}: {}{id}</summary>\n",
        escape(&c.action.symbol().to_string()),
        escape(&heading(c)),
        escape(&action_label(c))
    );
    if let Some(src) = &c.source {
        let _ = writeln!(b, "From {}.\n", code(&src.to_string()));
    }
    let mut long_diffs = String::new();
    if !c.diffs.is_empty() {
        b.push_str("| field | live | desired |\n|---|---|---|\n");
        for d in &c.diffs {
            let (old, new) = if d.sensitive {
                let shown = d
                    .new
                    .as_ref()
                    .and_then(|v| v.as_str())
                    .unwrap_or("(sensitive)");
                (String::new(), format!("<i>{}</i>", escape(shown)))
            } else if let Some((o, n)) = long_pair(d.old.as_ref(), d.new.as_ref()) {
                long_diffs.push_str(&line_diff(&d.path, o, n));
                (
                    "<i>(long text)</i>".to_string(),
                    "<i>(changed: the diff is below)</i>".to_string(),
                )
            } else {
                (
                    d.old.as_ref().map(|v| code(&value(v))).unwrap_or_default(),
                    d.new.as_ref().map(|v| code(&value(v))).unwrap_or_default(),
                )
            };
            let _ = writeln!(b, "| {} | {old} | {new} |", code(&d.path));
        }
        b.push('\n');
        b.push_str(&long_diffs);
    }
    for r in &c.refusals {
        let _ = writeln!(b, "- ⛔ refused: {}: {}", code(&r.field), escape(&r.reason));
    }
    if !c.unverifiable.is_empty() {
        let list: Vec<String> = c.unverifiable.iter().map(|u| code(u)).collect();
        let _ = writeln!(
            b,
            "- ❔ unverifiable ({}): {}",
            if c.kind.def().parent.is_none() {
                "the API does not return them".to_string()
            } else {
                escape(unverifiable_note(c))
            },
            list.join(", ")
        );
    }
    for a in &c.annotations {
        let _ = writeln!(b, "- ⚠️ {}", escape(&a.message));
    }
    b.push_str("\n</details>\n\n");
    b
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn first_keys_lists_ten_and_counts_the_rest() {
        use super::code;
        let keys: Vec<String> = (0..12).map(|i| format!("k{i}")).collect();
        let ten: Vec<String> = keys[..10].iter().map(|k| code(k)).collect();
        assert_eq!(
            super::first_keys(keys.iter().map(String::as_str)),
            format!("{} and 2 more", ten.join(", "))
        );
        assert_eq!(
            super::first_keys(["a", "b"].into_iter()),
            format!("{}, {}", code("a"), code("b"))
        );
        assert_eq!(super::first_keys(std::iter::empty::<&str>()), "");
    }
    use comrak::nodes::NodeValue;
    use comrak::{Arena, Options, parse_document};

    /// The one markdown escaper (every rendering uses it): whatever a user writes, it stays
    /// one table cell of plain text, with no markup, link, mention or HTML, and reads back
    /// as written (a line break as one `<br>`).
    #[test]
    fn the_escaper_keeps_any_text_one_plain_table_cell() {
        let hostile = [
            "A | B",
            "<script>alert(1)</script>",
            "**bold** _em_ `code` ~~gone~~",
            "[link](https://evil.example) ![img](x)",
            "# heading \\| @octocat",
            "&lt;entity&gt; 'quoted' \"double\"",
            "two\nlines\r\n",
        ];
        let mut options = Options::default();
        options.extension.table = true;
        options.extension.strikethrough = true;
        // Not `autolink`: a bare URL stays a link to what the text says (see `escape`).
        for text in hostile {
            let md = format!("| a | b |\n|---|---|\n| {} | end |\n", escape(text));
            let arena = Arena::new();
            let root = parse_document(&arena, &md, &options);
            let mut cells = 0;
            let mut plain = String::new();
            for node in root.descendants() {
                match &node.data().value {
                    NodeValue::TableCell => cells += 1,
                    NodeValue::Text(t) => plain.push_str(t),
                    NodeValue::HtmlInline(h) => {
                        assert_eq!(h, "<br>", "{text:?}: markup passed through: {md}");
                        plain.push('\n');
                    }
                    NodeValue::Table(_)
                    | NodeValue::TableRow(_)
                    | NodeValue::Document
                    | NodeValue::Paragraph => {}
                    other => panic!("{text:?} became {other:?}: {md}"),
                }
            }
            assert_eq!(cells, 4, "{text:?} split the row: {md}");
            let want = format!("ab{}end", text.replace('\r', ""));
            assert_eq!(plain, want, "{text:?} does not read back: {md}");
        }
    }
}
