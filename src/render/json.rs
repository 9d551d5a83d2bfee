//! The JSON rendering: the [`crate::plan::Plan`] value itself, pretty-printed. Its format is
//! `src/plan/types.rs` (versioned by `format_version`, documented in the README, "Plan JSON format"); this is
//! also what `plan --out FILE` saves and `apply --plan FILE` executes.

use std::io::Write;

use crate::plan::Plan;

/// The plan as pretty JSON, with a trailing newline.
pub fn json(plan: &Plan) -> String {
    match serde_json::to_string_pretty(plan) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        // A plan holds only strings, numbers, maps and lists: serialisation cannot fail.
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

/// [`json`] written to `w` as it is produced (the same bytes), so a large plan is never
/// held whole in memory. Only `w`'s own errors are returned.
pub fn write_json(plan: &Plan, w: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, plan).map_err(std::io::Error::from)?;
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_streamed_json_is_the_rendered_json() {
        let mut plan = crate::plan::plan(&[], &[], &crate::plan::Policy::default());
        plan.endpoint = "https://example.test/api \u{e9}\n\"x\"".into();
        plan.changes.push(crate::plan::Change::new(
            crate::model::CustomerKey::Reference("ACME-\u{301}1".into()),
            crate::plan::ActionKind::Create,
        ));
        let mut streamed = Vec::new();
        write_json(&plan, &mut streamed).unwrap();
        assert_eq!(String::from_utf8(streamed).unwrap(), json(&plan));
    }
}
