//! The JSON rendering: the [`crate::plan::Plan`] value itself, pretty-printed. Its format is
//! `src/plan/types.rs` (versioned by `format_version`, documented in the README, "Plan JSON format"); this is
//! also what `plan --out FILE` saves and `apply --plan FILE` executes.

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
