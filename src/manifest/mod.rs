//! Manifests: discovery of files, YAML with source spans, schema and semantic checks,
//! secret references, and diagnostics (`file:line:col: field: message`).
//!
//! This module reads files and (through an injectable
//! closure) asks whether environment variables are set; it never reads a secret's value,
//! never talks to the API and never prints: callers render [`Loaded::diagnostics`].
//!
//! The pipeline per document: [`yaml`] (spans, alias/depth/duplicate guards) → header
//! check → [`check`] (the compiled JSON Schema) → [`semantic`] (time zones, countries,
//! secrets) → `serde_json::from_value::<CustomerManifest>`. Across files: duplicate
//! `reference`s and `id`s.

pub mod check;
pub mod diagnostic;
pub mod discover;
pub mod document;
pub mod literal;
pub mod semantic;
pub mod source;
pub mod yaml;

use std::collections::HashMap;
use std::path::PathBuf;

use crate::model::{CustomerManifest, Located, Source};

pub use diagnostic::{
    Diagnostic, JsonDiagnostic, Severity, Snippet, ValidateReport, json_diagnostics, render_json,
    render_text, write_text,
};
pub use semantic::EnvIsSet;
pub use source::MAX_FILE_BYTES;

use discover::ManifestFile;
use document::FileOutcome;

/// Everything read from the paths given.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Valid customer documents, in file order then document order.
    pub customers: Vec<Located<CustomerManifest>>,
    /// Every problem found, errors and warnings, in file order then line order.
    pub diagnostics: Vec<Diagnostic>,
    /// How many files were read.
    pub files: usize,
    /// How many (non-empty) documents those files held, valid or not.
    pub documents: usize,
}

impl Loaded {
    /// Whether any diagnostic is an error (then nothing may be planned or applied).
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// Make the administrator rule an error (`requireAdmin: true` in dimctl.yaml).
    pub fn require_admin(&mut self) {
        for d in &mut self.diagnostics {
            if d.message == semantic::ADMIN_RULE {
                d.severity = Severity::Error;
            }
        }
    }

    /// How many diagnostics are errors and how many warnings.
    pub fn counts(&self) -> (usize, usize) {
        let errors = self.diagnostics.iter().filter(|d| d.is_error()).count();
        (errors, self.diagnostics.len() - errors)
    }

    /// `validated N documents in M files: E errors, W warnings`.
    pub fn summary(&self) -> String {
        let (e, w) = self.counts();
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        format!(
            "validated {} in {}: {}, {}",
            plural(self.documents, "document"),
            plural(self.files, "file"),
            plural(e, "error"),
            plural(w, "warning")
        )
    }
}

/// Discover, parse and check manifests under `paths` (files or directories; none means
/// `.`). Never panics on input; every problem becomes a diagnostic. Secret references
/// are checked against the process environment (presence only).
pub fn load(paths: &[PathBuf]) -> Loaded {
    load_with(paths, &|name: &str| {
        std::env::var_os(name).is_some_and(|v| !v.is_empty())
    })
}

/// [`load`] with the environment lookup injected (`env_is_set(name)`), for tests.
pub fn load_with(paths: &[PathBuf], env_is_set: EnvIsSet<'_>) -> Loaded {
    let (files, discovery) = discover::discover(paths);
    let outcomes = check_files(&files, env_is_set);

    let mut per_file: Vec<Vec<Diagnostic>> = Vec::with_capacity(files.len());
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    let mut loaded = Loaded {
        files: files.len(),
        ..Loaded::default()
    };
    // Each document's manifest moves straight into `customers` (sized once: the
    // documents are an upper bound), and only its identity keys are kept aside for the
    // duplicate check: at 100,000 documents, never two full copies at once.
    let total: usize = outcomes.iter().map(|o| o.docs.len()).sum();
    let mut keys: Vec<(Option<document::KeyAt>, Option<document::KeyAt>)> =
        Vec::with_capacity(total);
    loaded.customers = Vec::with_capacity(total);
    for (i, (file, outcome)) in files.iter().zip(outcomes).enumerate() {
        index_of.insert(file.display.as_str(), i);
        loaded.documents += outcome.documents;
        per_file.push(outcome.diagnostics);
        for d in outcome.docs {
            keys.push((d.reference, d.id));
            if let Some(m) = d.manifest {
                loaded.customers.push(Located::new(m, d.source));
            }
        }
    }

    for d in duplicates(&keys) {
        match index_of.get(d.source.file.as_str()) {
            Some(&i) => per_file[i].push(d),
            None => per_file.push(vec![d]),
        }
    }

    drop(keys);
    loaded.diagnostics = discovery;
    loaded
        .diagnostics
        .reserve(per_file.iter().map(Vec::len).sum());
    for mut diags in per_file {
        diags.sort_by_key(|d| (d.source.line, d.source.column));
        loaded.diagnostics.extend(diags);
    }
    loaded
}

/// Check files in parallel (one thread per core), keeping their order.
fn check_files(files: &[ManifestFile], env_is_set: EnvIsSet<'_>) -> Vec<FileOutcome> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().div_ceil(8))
        .max(1);
    if workers == 1 {
        return files
            .iter()
            .map(|f| document::check_file(f, env_is_set))
            .collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, FileOutcome)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(file) = files.get(i) else { break };
                        mine.push((i, document::check_file(file, env_is_set)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    // A worker that died (it should not) loses its files: report them rather than drop.
    let mut out: Vec<FileOutcome> = Vec::with_capacity(files.len());
    let mut it = results.into_iter().peekable();
    for (i, file) in files.iter().enumerate() {
        match it.next_if(|(j, _)| *j == i) {
            Some((_, o)) => out.push(o),
            None => out.push(FileOutcome {
                diagnostics: vec![Diagnostic::file(
                    Severity::Error,
                    &file.display,
                    "internal error: this file could not be checked",
                )],
                ..FileOutcome::default()
            }),
        }
    }
    out
}

/// Two documents with the same `reference` (or the same `id`): an error at the later
/// one naming both places.
fn duplicates(docs: &[(Option<document::KeyAt>, Option<document::KeyAt>)]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut first_ref: HashMap<&str, &Source> = HashMap::new();
    let mut first_id: HashMap<&str, &Source> = HashMap::new();
    for (reference, id) in docs {
        for (field, key, seen) in [
            ("reference", reference, &mut first_ref),
            ("id", id, &mut first_id),
        ] {
            let Some(key) = key else { continue };
            let (value, at) = (&key.value, &key.source);
            if let Some(first) = seen.get(value.as_str()) {
                out.push(Diagnostic {
                    severity: Severity::Error,
                    source: at.clone(),
                    field: field.to_string(),
                    message: format!("duplicate {field} `{value}`: first declared at {first}")
                        .into(),
                    hint: Some(format!(
                        "each customer is declared once; remove or change one of the two documents ({first} and {at})"
                    ).into()),
                    snippet: key.snippet.clone(),
                });
            } else {
                seen.insert(value.as_str(), at);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
