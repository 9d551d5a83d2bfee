//! The terminal rendering: Terraform-like symbols (`+` create, `~` update, `-` delete,
//! `!` refused), `old → new` per field, long strings as an inline word diff, warnings,
//! unverifiable and unmanaged customers, and the summary line last.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use similar::{ChangeTag, TextDiff};

use super::{action_label, long_pair, summary_line, value, written};
use crate::plan::{ActionKind, AnnotationKind, Change, Plan};

/// Styles, all plain when colour is off.
struct Palette {
    create: Style,
    update: Style,
    delete: Style,
    refused: Style,
    warn: Style,
    error: Style,
    dim: Style,
    emph_del: Style,
    emph_ins: Style,
    bold: Style,
}

impl Palette {
    fn new(colour: bool) -> Palette {
        let fg = |c: AnsiColor| {
            if colour {
                Style::new().fg_color(Some(c.into()))
            } else {
                Style::new()
            }
        };
        let plain_or = |s: Style| if colour { s } else { Style::new() };
        Palette {
            create: fg(AnsiColor::Green),
            update: fg(AnsiColor::Yellow),
            delete: fg(AnsiColor::Red),
            refused: plain_or(fg(AnsiColor::Red).bold()),
            warn: fg(AnsiColor::Yellow),
            error: plain_or(fg(AnsiColor::Red).bold()),
            dim: plain_or(Style::new().dimmed()),
            emph_del: plain_or(fg(AnsiColor::Red).bold().underline()),
            emph_ins: plain_or(fg(AnsiColor::Green).bold().underline()),
            bold: plain_or(Style::new().bold()),
        }
    }

    fn action(&self, a: ActionKind) -> Style {
        match a {
            ActionKind::Create => self.create,
            ActionKind::Update => self.update,
            ActionKind::Delete => self.delete,
            ActionKind::Refused => self.refused,
            ActionKind::NoOp => self.dim,
        }
    }
}

fn paint(s: Style, text: &str) -> String {
    format!("{s}{text}{s:#}")
}

/// Render a plan for a terminal. `colour` adds ANSI styles (the caller decides: a TTY and
/// no `NO_COLOR`).
pub fn text(plan: &Plan, colour: bool) -> String {
    let p = Palette::new(colour);
    let mut out = String::new();
    for e in &plan.errors {
        let at = e
            .source
            .as_ref()
            .map(|s| format!("{s}: "))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{} {at}{}: {}",
            paint(p.error, "error:"),
            e.key,
            e.message
        );
    }
    if !plan.errors.is_empty() {
        out.push('\n');
    }
    let shown: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != ActionKind::NoOp || !c.unverifiable.is_empty())
        .collect();
    if !shown.is_empty() {
        let target = if plan.endpoint.is_empty() {
            String::new()
        } else {
            format!(" against {}", plan.endpoint)
        };
        let _ = writeln!(
            out,
            "dimctl compared the manifests with the live customers{target}.\n\
             Symbols: + create, ~ update in place, - delete, ! refused\n"
        );
    }
    // The header says what was not read.
    if plan.users.not_read > 0 {
        let _ = writeln!(
            out,
            "Users were read for {} customer(s) whose manifests declare `users:`; the users of {} other customer(s) were not read.\n",
            plan.users.read, plan.users.not_read
        );
    }
    for c in shown {
        change(&mut out, c, &p);
    }
    if !plan.unmanaged.is_empty() {
        let _ = writeln!(
            out,
            "{} live customers are declared by no manifest and left alone (--prune would delete them):",
            plan.unmanaged.len()
        );
        for u in &plan.unmanaged {
            let reference = u.reference.as_deref().unwrap_or("(no reference)");
            let name = u
                .name
                .as_deref()
                .map(|n| format!(" {n:?}"))
                .unwrap_or_default();
            let _ = writeln!(out, "    ? {reference}{name} (id {})", u.id);
        }
        out.push('\n');
    }
    if !plan.users.unmanaged.is_empty() {
        let _ = writeln!(
            out,
            "{} live users are declared by no manifest and left alone (--prune would delete them):",
            plan.users.unmanaged.len()
        );
        for u in &plan.users.unmanaged {
            let _ = writeln!(out, "    ? {} (id {})", u.address, u.id);
        }
        out.push('\n');
    }
    for r in &plan.unsafe_reasons {
        let _ = writeln!(out, "{} {r}", paint(p.error, "UNSAFE:"));
    }
    if !plan.unsafe_reasons.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", paint(p.bold, &summary_line(&plan.summary)));
    if !plan.errors.is_empty() || !plan.unsafe_reasons.is_empty() || plan.summary.refused > 0 {
        let _ = writeln!(
            out,
            "{} this plan cannot be applied: fix the errors, refused or unsafe changes above.",
            paint(p.error, "error:")
        );
    }
    out
}

fn change(out: &mut String, c: &Change, p: &Palette) {
    let style = p.action(c.action);
    let name = c
        .name
        .as_deref()
        .map(|n| format!(" {n:?}"))
        .unwrap_or_default();
    let id = c
        .live_id
        .as_deref()
        .map(|i| format!(", id {i}"))
        .unwrap_or_default();
    let from = c
        .source
        .as_ref()
        .map(|s| format!("  ({s})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  {} {}{name} {}{id}{}",
        paint(style, &c.action.symbol().to_string()),
        paint(
            p.bold,
            &match c.kind {
                crate::model::Kind::Customer => c.key.to_string(),
                crate::model::Kind::User => c.address.clone(),
            }
        ),
        action_label(c),
        paint(p.dim, &from)
    );
    let width = c.diffs.iter().map(|d| d.path.len()).max().unwrap_or(0);
    for d in &c.diffs {
        let sym = match (&d.old, &d.new) {
            (None, Some(_)) => '+',
            (Some(_), None) => '-',
            _ => '~',
        };
        let sym = if c.action == ActionKind::Refused {
            ' '
        } else {
            sym
        };
        let path = format!("{:width$}", d.path);
        let sym_s = paint(
            p.action(match sym {
                '+' => ActionKind::Create,
                '-' => ActionKind::Delete,
                '~' => ActionKind::Update,
                _ => ActionKind::NoOp,
            }),
            &sym.to_string(),
        );
        if d.sensitive {
            let shown = d
                .new
                .as_ref()
                .and_then(|v| v.as_str())
                .unwrap_or("(sensitive)");
            let _ = writeln!(out, "      {sym_s} {path} = {shown}");
        } else if let Some((old, new)) = long_pair(d.old.as_ref(), d.new.as_ref()) {
            let _ = writeln!(out, "      {sym_s} {path}:");
            word_diff(out, old, new, p);
        } else {
            match (&d.old, &d.new) {
                (Some(o), Some(n)) => {
                    let _ = writeln!(out, "      {sym_s} {path} = {} → {}", value(o), value(n));
                }
                (None, Some(n)) => {
                    let _ = writeln!(out, "      {sym_s} {path} = {}", value(n));
                }
                (Some(o), None) => {
                    let _ = writeln!(out, "      {sym_s} {path} = {} → (removed)", value(o));
                }
                (None, None) => {}
            }
        }
    }
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
        let _ = writeln!(
            out,
            "      {} {}: {live} → {desired} cannot be changed: {}",
            paint(p.refused, "!"),
            r.field,
            r.reason
        );
    }
    if !c.unverifiable.is_empty() {
        let (sent, unsent): (Vec<&String>, Vec<&String>) =
            c.unverifiable.iter().partition(|u| written(c, u));
        let join = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        if !unsent.is_empty() {
            let _ = writeln!(
                out,
                "      {} {} (not returned by the API: unverifiable, not compared)",
                paint(p.warn, "?"),
                join(&unsent)
            );
        }
        if !sent.is_empty() {
            let _ = writeln!(
                out,
                "      {} {} (not returned by the API: unverifiable, written anyway)",
                paint(p.warn, "?"),
                join(&sent)
            );
        }
    }
    for a in &c.annotations {
        let kind = match a.kind {
            AnnotationKind::Billable => "billable",
            AnnotationKind::SideEffect => "side effect",
            AnnotationKind::CreateOnly => "fixed for good",
            AnnotationKind::Destructive => "destructive",
        };
        let _ = writeln!(
            out,
            "      {} {}",
            paint(p.warn, &format!("warning ({kind}):")),
            a.message
        );
    }
    out.push('\n');
}

/// An inline word diff of two strings: removed words as `[-…-]`, added as `{+…+}` (or
/// coloured and underlined with colour on).
fn word_diff(out: &mut String, old: &str, new: &str, p: &Palette) {
    let diff = TextDiff::from_lines(old, new);
    for op in diff.ops() {
        for change in diff.iter_inline_changes_deadline(op, None) {
            let (sym, style, emph, open, close) = match change.tag() {
                ChangeTag::Delete => ('-', p.delete, p.emph_del, "[-", "-]"),
                ChangeTag::Insert => ('+', p.create, p.emph_ins, "{+", "+}"),
                ChangeTag::Equal => (' ', p.dim, p.dim, "", ""),
            };
            let mut line = String::new();
            for (emphasised, s) in change.iter_strings_lossy() {
                let s = s.trim_end_matches('\n');
                if emphasised && change.tag() != ChangeTag::Equal {
                    if emph == Style::new() {
                        let _ = write!(line, "{open}{s}{close}");
                    } else {
                        line.push_str(&paint(emph, s));
                    }
                } else {
                    line.push_str(&paint(style, s));
                }
            }
            let _ = writeln!(out, "          {} {line}", paint(style, &sym.to_string()));
        }
    }
}
