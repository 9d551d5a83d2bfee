//! Renderings of what apply did ([`crate::apply::ApplyReport`]): the text table with its
//! summary line, and the JSON result document. Pure: a report in, a string out. Must not
//! decide outcomes or exit codes (the executor and `main` do) nor read the terminal.

use crate::apply::outcome::{ApplyReport, Outcome, Status};

/// The summary line, e.g. `3 created, 1 updated, 0 deleted, 2 unchanged, 1 failed`
/// (shown after `Apply: `).
pub fn summary_line(report: &ApplyReport) -> String {
    let c = &report.counts;
    let mut s = format!(
        "{} created, {} updated, {} deleted, {} unchanged",
        c.created, c.updated, c.deleted, c.unchanged
    );
    for (n, label) in [
        (c.stale, "stale"),
        (c.failed, "failed"),
        (c.skipped, "skipped"),
        (c.unknown, "unknown"),
    ] {
        if n > 0 {
            s.push_str(&format!(", {n} {label}"));
        }
    }
    if report.interrupted {
        s.push_str(" (interrupted)");
    }
    s
}

/// The table (address, status, id, message) of every change that was acted on or has a
/// problem (unchanged ones are only counted), then the summary line, the run's errors and
/// what to do about unknown or stale outcomes. A row is named by the change's address
/// (`customer[REF]`, `customer[REF].user[EMAIL]`).
pub fn text(report: &ApplyReport) -> String {
    let rows: Vec<&Outcome> = report
        .results
        .iter()
        .filter(|o| o.status != Status::Unchanged)
        .collect();
    let key_w = rows
        .iter()
        .map(|o| address(o).chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = String::new();
    if !rows.is_empty() {
        out.push_str(&format!(
            "{:<key_w$}  {:<9}  MESSAGE\n",
            "ADDRESS", "RESULT"
        ));
    }
    for o in rows {
        let mut msg = o.message.clone().unwrap_or_default();
        if let Some(id) = &o.id {
            if msg.is_empty() {
                msg = format!("id {id}");
            } else {
                msg = format!("id {id}: {msg}");
            }
        }
        out.push_str(&format!(
            "{:<key_w$}  {:<9}  {}\n",
            address(o),
            o.status.label(),
            msg
        ));
        for m in &o.mismatches {
            out.push_str(&format!(
                "{:<key_w$}  {:<9}    {}: sent {}, server has {}\n",
                "", "", m.path, m.sent, m.found
            ));
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&format!("Apply: {}.\n", summary_line(report)));
    for e in &report.errors {
        out.push_str(&format!("error: {e}\n"));
    }
    if report.counts.unknown > 0 {
        out.push_str(
            "Outcome unknown for some customers (a write whose answer was lost): re-run plan and apply to resolve it.\n",
        );
    }
    if report.counts.stale > 0 {
        out.push_str("Stale customers changed since the plan was made: re-run plan.\n");
    }
    out
}

/// The row's name: the change's address (the customer's key if it has none).
fn address(o: &Outcome) -> String {
    if o.address.is_empty() {
        o.key.address().to_string()
    } else {
        o.address.clone()
    }
}

/// The `apply --format json` document (`schema --apply`), pretty, ending in a newline.
pub fn json(report: &ApplyReport) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_string_pretty(report)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::outcome::FieldMismatch;
    use crate::apply::outcome::tests::outcome;

    #[test]
    fn the_table_lists_problems_and_says_what_to_do() {
        let mut failed = outcome("c", Status::Failed);
        failed.mismatches.push(FieldMismatch {
            path: "/name".into(),
            sent: "X".into(),
            found: "U1".into(),
        });
        let r = ApplyReport::new(
            "e".into(),
            vec![
                outcome("b", Status::Stale),
                outcome("a", Status::Updated),
                failed,
            ],
            false,
        );
        let t = text(&r);
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[0].starts_with("ADDRESS ") && lines[0].ends_with("  RESULT     MESSAGE"),
            "{t}"
        );
        assert_eq!(
            lines.len(),
            1 + 3 + 1 + 1 + 1 + 1,
            "header, 3 rows, a mismatch, blank, summary, hint: {t}"
        );
        assert!(
            lines[1].starts_with("customer[a]  updated    id 7"),
            "sorted by key, named by address: {t}"
        );
        assert!(t.contains("/name: sent \"X\", server has \"U1\""), "{t}");
        assert!(
            t.contains("Apply: 0 created, 1 updated, 0 deleted, 0 unchanged, 1 stale, 1 failed.\n"),
            "{t}"
        );
        assert!(
            t.ends_with("Stale customers changed since the plan was made: re-run plan.\n"),
            "{t}"
        );

        // A user's row is named by its address, after its customer's.
        let mut user = outcome("a", Status::Created);
        user.address = "customer[a].user[jane@a.example]".into();
        user.id = Some("u1".into());
        let r = ApplyReport::new("e".into(), vec![user, outcome("a", Status::Updated)], false);
        let t = text(&r);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[..3],
            [
                "ADDRESS                           RESULT     MESSAGE",
                "customer[a]                       updated    id 7",
                "customer[a].user[jane@a.example]  created    id u1",
            ],
            "{t}"
        );
        let doc: serde_json::Value = serde_json::from_str(&json(&r).unwrap()).unwrap();
        assert_eq!(
            doc["results"][1]["address"],
            "customer[a].user[jane@a.example]"
        );

        // Unchanged customers are only counted.
        let ok = ApplyReport::new("e".into(), vec![outcome("a", Status::Unchanged)], false);
        assert_eq!(
            text(&ok),
            "Apply: 0 created, 0 updated, 0 deleted, 1 unchanged.\n"
        );
        let doc: serde_json::Value = serde_json::from_str(&json(&ok).unwrap()).unwrap();
        assert_eq!(doc["counts"]["unchanged"], 1);
    }
}
