//! Every rendering dimctl prints: a [`crate::plan::Plan`] (terminal text, pull-request
//! markdown, JSON; here and in `text`, `markdown`, `json`), several workspaces' plans and
//! reports (`workspaces`), a drift report (`drift`), what apply did (`apply`), a saved
//! plan's header (`saved`) and the effective configuration (`config`). One markdown escaper for all of them:
//! [`markdown::escape`].
//!
//! Pure: values in, a string out. Must not compute what it shows, read the terminal or
//! the environment: colour is decided by the caller (the CLI: only on a terminal and
//! never with `NO_COLOR`). Secrets never reach a rendering: the plan holds only
//! `(sensitive)` markers and `{"fromEnv": VAR}` references.

pub mod apply;
pub mod config;
pub mod drift;
pub mod json;
pub mod markdown;
pub mod saved;
pub mod text;
pub mod workspaces;

use serde_json::Value;

use crate::plan::{ActionKind, Change, DeleteReason, Summary};

pub use json::json;
pub use markdown::markdown;
pub use text::text;

/// Strings longer than this (or spanning lines) are shown as an inline diff.
pub const LONG_STRING: usize = 40;

/// A value as a reviewer reads it: strings quoted, the rest as compact JSON.
pub(crate) fn value(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Whether an old → new pair of strings is worth an inline word diff.
pub(crate) fn long_pair<'a>(
    old: Option<&'a Value>,
    new: Option<&'a Value>,
) -> Option<(&'a str, &'a str)> {
    match (old, new) {
        (Some(Value::String(o)), Some(Value::String(n)))
            if o.chars().count() > LONG_STRING
                || n.chars().count() > LONG_STRING
                || o.contains('\n')
                || n.contains('\n') =>
        {
            Some((o.as_str(), n.as_str()))
        }
        _ => None,
    }
}

/// `will be created`, `will be updated in place`, `is refused`, ... for headings.
pub(crate) fn action_label(c: &Change) -> String {
    match (c.action, c.delete_reason) {
        (ActionKind::Create, _) => "will be created".into(),
        (ActionKind::Update, _) => "will be updated in place".into(),
        (ActionKind::Delete, Some(DeleteReason::Prune)) => {
            "will be deleted (--prune: no manifest declares it)".into()
        }
        (ActionKind::Delete, _) => "will be deleted (ensure: absent)".into(),
        (ActionKind::Refused, _) => "is refused".into(),
        (ActionKind::NoOp, _) => "is unchanged".into(),
    }
}

/// Whether an unverifiable field is written anyway (an operation at it or a parent).
pub(crate) fn written(c: &Change, pointer: &str) -> bool {
    c.operations.iter().any(|o| {
        let at = o.path().to_string();
        pointer == at || pointer.starts_with(&format!("{at}/"))
    })
}

/// The summary line: `Plan: 2 to create, 3 to update, 1 to delete, 1 refused, 4
/// unverifiable fields, 12 unchanged`, or `No changes. ...` when nothing would be written
/// or refused.
pub fn summary_line(s: &Summary) -> String {
    let tail = format!(
        "{} unverifiable fields, {} unchanged",
        s.unverifiable_fields, s.unchanged
    );
    if s.create + s.update + s.delete + s.refused == 0 && s.pending > 0 {
        format!(
            "Nothing to write, but {} change(s) pending that the API's answers cannot confirm (PBX profiles it does not show); see the customers above ({tail}).",
            s.pending
        )
    } else if s.create + s.update + s.delete + s.refused == 0 {
        format!("No changes. The live customers match the manifests ({tail}).")
    } else {
        format!(
            "Plan: {} to create, {} to update, {} to delete, {} refused, {tail}",
            s.create, s.update, s.delete, s.refused
        )
    }
}
