//! Progress reporting while apply runs: an `indicatif` bar on a terminal, one plain line
//! per action otherwise (CI logs, and the crash test that reads them), or nothing.
//! Everything goes to stderr; stdout is for the result.

use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::outcome::{Outcome, Status};
use crate::model::CustomerKey;

/// Receives events from the executor. Implementations must be cheap and never fail.
pub trait Progress: Send + Sync {
    /// The run starts with this many changes to carry out.
    fn start(&self, _total: usize) {}
    /// Work on a customer begins (`what`: "creating", "updating", "deleting").
    fn begin(&self, _key: &CustomerKey, _what: &str) {}
    /// A customer's change is finished.
    fn finish(&self, _outcome: &Outcome) {}
    /// A note for the user (e.g. "interrupted: finishing requests in flight").
    fn note(&self, _message: &str) {}
    /// The run is over.
    fn end(&self) {}
}

/// Reports nothing.
#[derive(Debug, Default)]
pub struct Silent;
impl Progress for Silent {}

/// One line per event on stderr: `apply: updated acme-01 (id 42)`.
#[derive(Debug, Default)]
pub struct Lines;

impl Progress for Lines {
    fn start(&self, total: usize) {
        crate::errln!("apply: {total} change(s) to make");
    }
    fn finish(&self, o: &Outcome) {
        crate::errln!("apply: {}", line(o));
    }
    fn note(&self, message: &str) {
        crate::errln!("apply: {message}");
    }
}

/// `updated REF (id ID)` for a customer; a child (a user) is named by its address.
fn line(o: &Outcome) -> String {
    let name = if o.address.is_empty() || o.address == o.key.address().to_string() {
        o.key.to_string()
    } else {
        o.address.clone()
    };
    let mut s = format!("{} {name}", o.status.label());
    if let Some(id) = &o.id {
        s.push_str(&format!(" (id {id})"));
    }
    if let Some(m) = &o.message {
        s.push_str(&format!(": {m}"));
    }
    s
}

/// A bar: done/total, the current customer, and failures so far.
pub struct Bar {
    bar: ProgressBar,
    failures: AtomicUsize,
}

impl Bar {
    pub fn new() -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {prefix} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Bar {
            bar,
            failures: AtomicUsize::new(0),
        }
    }
}

impl Default for Bar {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for Bar {
    fn start(&self, total: usize) {
        self.bar.set_length(total as u64);
        self.bar
            .enable_steady_tick(std::time::Duration::from_millis(120));
    }
    fn begin(&self, key: &CustomerKey, what: &str) {
        self.bar
            .set_message(crate::redact::mask(&format!("{what} {key}")).into_owned());
    }
    fn finish(&self, o: &Outcome) {
        if o.status.is_problem() {
            let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
            self.bar.set_prefix(format!("({n} failed/stale)"));
            if o.status != Status::Skipped {
                self.bar.println(crate::redact::mask(&line(o)));
            }
        }
        self.bar.inc(1);
    }
    fn note(&self, message: &str) {
        self.bar.println(crate::redact::mask(message));
    }
    fn end(&self) {
        self.bar.finish_and_clear();
    }
}
