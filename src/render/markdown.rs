//! The pull-request rendering, for a PR comment and `$GITHUB_STEP_SUMMARY`: a summary
//! table, then the warnings a reviewer must see (errors, unsafe, refused, billable, side
//! effects), then one collapsible `<details>` per customer.
//!
//! GitHub rejects comments over 65,536 characters, so the rendering stays under
//! [`MAX_CHARS`] however large the plan: the tail is collapsed into a count that says so.
//! Every user value is escaped (HTML entities), so a name cannot break the layout or
//! inject markup.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use similar::{ChangeTag, TextDiff};

use super::{action_label, long_pair, summary_line, value};
use crate::plan::{ActionKind, AnnotationKind, Change, Plan};

/// The most characters a rendering may hold.
pub const MAX_CHARS: usize = 60_000;
/// Room kept for the closing notes.
const RESERVE: usize = 1_000;
/// The share of the budget the warnings may use.
const WARNINGS_BUDGET: usize = 20_000;
/// Customers listed per grouped warning before "and N more".
const KEYS_PER_WARNING: usize = 10;

/// Escape a user value for markdown and HTML alike.
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

fn code(s: &str) -> String {
    format!("<code>{}</code>", escape(s))
}

/// Render a plan as GitHub-flavoured markdown, under [`MAX_CHARS`] characters.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let s = &plan.summary;
    out.push_str("### dimctl plan\n\n");
    if !plan.endpoint.is_empty() {
        let _ = writeln!(out, "Against {}.\n", code(&plan.endpoint));
    }
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
        let listed: Vec<String> = plan
            .unmanaged
            .iter()
            .take(KEYS_PER_WARNING)
            .map(|u| code(u.reference.as_deref().unwrap_or(&u.id)))
            .collect();
        let more = plan.unmanaged.len().saturating_sub(KEYS_PER_WARNING);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{} live customers are declared by no manifest and left alone (`--prune` would delete them): {}{more}\n",
            plan.unmanaged.len(),
            listed.join(", ")
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
                code(&c.key.to_string()),
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
                .push(c.key.to_string());
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
        escape(&c.key.to_string()),
        escape(&action_label(c))
    );
    if let Some(src) = &c.source {
        let _ = writeln!(b, "From {}.\n", code(&src.to_string()));
    }
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
                (
                    code(&value(d.old.as_ref().unwrap_or(&serde_json::Value::Null))),
                    word_diff(o, n),
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
    }
    for r in &c.refusals {
        let _ = writeln!(b, "- ⛔ refused: {}: {}", code(&r.field), escape(&r.reason));
    }
    if !c.unverifiable.is_empty() {
        let list: Vec<String> = c.unverifiable.iter().map(|u| code(u)).collect();
        let _ = writeln!(
            b,
            "- ❔ unverifiable (the API does not return them): {}",
            list.join(", ")
        );
    }
    for a in &c.annotations {
        let _ = writeln!(b, "- ⚠️ {}", escape(&a.message));
    }
    b.push_str("\n</details>\n\n");
    b
}

/// An inline word diff with `<del>`/`<ins>` (adjacent runs of one kind merged).
fn word_diff(old: &str, new: &str) -> String {
    let diff = TextDiff::from_words(old, new);
    let mut runs: Vec<(ChangeTag, String)> = Vec::new();
    for ch in diff.iter_all_changes() {
        let s = ch.to_string_lossy();
        match runs.last_mut() {
            Some((tag, text)) if *tag == ch.tag() => text.push_str(&s),
            _ => runs.push((ch.tag(), s.into_owned())),
        }
    }
    let mut out = String::new();
    for (tag, text) in runs {
        let s = escape(&text);
        match tag {
            ChangeTag::Delete => {
                let _ = write!(out, "<del>{s}</del>");
            }
            ChangeTag::Insert => {
                let _ = write!(out, "<ins>{s}</ins>");
            }
            ChangeTag::Equal => out.push_str(&s),
        }
    }
    out
}
