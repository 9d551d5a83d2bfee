//! One file, start to finish: read the text, parse its YAML documents, and take each
//! document through the header check, the schema, the semantic rules and finally the
//! typed model. Every problem becomes a diagnostic; nothing here panics on input.

use crate::model::{API_VERSION, CustomerManifest, KIND_CUSTOMER, Source};

use super::check::schema_diagnostics;
use super::diagnostic::{Diagnostic, FileText, Severity, Snippet};
use super::discover::ManifestFile;
use super::semantic::{EnvIsSet, nfc, non_finite_numbers, semantic_diagnostics};
use super::source::read_text;
use super::yaml::{self, Node, Pos};

/// What one file yielded.
#[derive(Debug, Default)]
pub struct FileOutcome {
    /// Documents that were not empty (valid or not).
    pub documents: usize,
    pub docs: Vec<DocOutcome>,
    pub diagnostics: Vec<Diagnostic>,
}

/// One document: the manifest when it is valid, and its identity keys (kept even when
/// it is not, so duplicates across files are still found).
#[derive(Debug)]
pub struct DocOutcome {
    pub manifest: Option<CustomerManifest>,
    pub source: Source,
    pub reference: Option<KeyAt>,
    pub id: Option<KeyAt>,
}

/// An identity key's value and where it sits.
#[derive(Debug)]
pub struct KeyAt {
    pub value: String,
    pub source: Source,
    pub snippet: Option<Snippet>,
}

/// Read and check one file.
pub fn check_file(file: &ManifestFile, env_is_set: EnvIsSet<'_>) -> FileOutcome {
    let mut out = FileOutcome::default();
    let text = match read_text(&file.path) {
        Ok(t) => t,
        Err(e) => {
            let mut d = match e.pos {
                Some(pos) => FileText::new(&file.display, "").error(pos, 1, "", e.message),
                None => Diagnostic::file(Severity::Error, &file.display, e.message),
            };
            d.hint = e.hint.map(Into::into);
            out.diagnostics.push(d);
            return out;
        }
    };
    let ft = FileText::new(&file.display, &text);
    let parsed = yaml::parse(&text);
    if let Some(e) = &parsed.error {
        let mut d = ft.error(e.pos, 1, "", e.message.clone());
        d.hint = e.hint.clone().map(Into::into);
        out.diagnostics.push(d);
    }
    let documents: Vec<&Node> = parsed
        .documents
        .iter()
        .filter(|d| d.value != yaml::Value::Null)
        .collect();
    if documents.is_empty() && parsed.error.is_none() {
        out.diagnostics.push(
            Diagnostic::file(Severity::Error, &file.display, "no manifest documents in this file")
                .with_hint("a manifest starts with `apiVersion: dimctl/v1` and `kind: Customer`; delete the file if it is not needed"),
        );
    }
    out.documents = documents.len();
    out.docs.reserve_exact(documents.len());
    for doc in documents {
        check_document(doc, &ft, env_is_set, &mut out);
    }
    out
}

fn check_document(doc: &Node, ft: &FileText<'_>, env_is_set: EnvIsSet<'_>, out: &mut FileOutcome) {
    let source = source_at(ft.file, doc.start);
    if !matches!(doc.value, yaml::Value::Map(_)) {
        out.diagnostics.push(
            ft.error(
                doc.start,
                1,
                "",
                "a manifest document must be a mapping of `key: value` lines",
            )
            .with_hint("start the document with `apiVersion: dimctl/v1` and `kind: Customer`"),
        );
        return;
    }
    let json = doc.to_json();
    // Before any diagnostic exists: a literal secret is masked wherever it would show.
    super::literal::register_literals(&json);
    if let Some(d) = header_problem(doc, ft) {
        out.diagnostics.push(d);
        return;
    }
    let key_of = |name: &str| -> Option<KeyAt> {
        let entry = doc.entry(name)?;
        match &entry.value.value {
            yaml::Value::Str(s) if !s.trim().is_empty() => {
                let width = s.chars().count();
                // Two keys equal after NFC are the same key (and so duplicates).
                Some(KeyAt {
                    value: nfc(s.trim()),
                    source: source_at(ft.file, entry.value.start),
                    snippet: ft.snippet(entry.value.start, width),
                })
            }
            _ => None,
        }
    };
    let reference = key_of("reference");
    let id = key_of("id");
    let (non_finite, at_fields) = non_finite_numbers(doc, ft);
    let mut diags = schema_diagnostics(doc, &json, ft);
    diags.retain(|d| !at_fields.contains(&d.field));
    diags.extend(non_finite);
    diags.extend(semantic_diagnostics(doc, &json, ft, env_is_set));
    let valid = !diags.iter().any(Diagnostic::is_error);
    out.diagnostics.extend(diags);
    let manifest = if valid {
        match serde_json::from_value::<CustomerManifest>(json) {
            Ok(mut m) => {
                let count = m.spec.pbx_connection_profiles.as_ref().map_or(0, Vec::len);
                m.profile_sources = (0..count)
                    .map(|i| {
                        let at = doc.locate(&["pbxConnectionProfiles".to_string(), i.to_string()]);
                        source_at(ft.file, at.node.start)
                    })
                    .collect();
                Some(m)
            }
            Err(e) => {
                out.diagnostics.push(ft.error(
                    doc.start,
                    1,
                    "",
                    format!("the document passed the schema but cannot be read: {e}"),
                ));
                None
            }
        }
    } else {
        None
    };
    out.docs.push(DocOutcome {
        manifest,
        source,
        reference,
        id,
    });
}

/// `apiVersion: dimctl/v1` and `kind: Customer`, or one clear error.
fn header_problem(doc: &Node, ft: &FileText<'_>) -> Option<Diagnostic> {
    let text_of = |name: &str| {
        doc.entry(name).map(|e| match &e.value.value {
            yaml::Value::Str(s) => (Some(s.as_str()), e.value.start),
            _ => (None, e.value.start),
        })
    };
    match text_of("apiVersion") {
        None => {
            return Some(
                ft.error(doc.start, 1, "apiVersion", "missing `apiVersion: dimctl/v1`")
                    .with_hint("every manifest document starts with `apiVersion: dimctl/v1` and `kind: Customer`"),
            );
        }
        Some((Some(API_VERSION), _)) => {}
        Some((v, pos)) => {
            let shown = v.map_or("a non-text value".to_string(), |v| format!("`{v}`"));
            return Some(
                ft.error(
                    pos,
                    v.map_or(1, |v| v.chars().count()),
                    "apiVersion",
                    format!("unsupported apiVersion {shown}"),
                )
                .with_hint(format!("this dimctl reads `apiVersion: {API_VERSION}`")),
            );
        }
    }
    match text_of("kind") {
        None => Some(
            ft.error(doc.start, 1, "kind", "missing `kind: Customer`")
                .with_hint("add `kind: Customer` below `apiVersion`"),
        ),
        Some((Some(KIND_CUSTOMER), _)) => None,
        Some((v, pos)) => {
            let shown = v.map_or("a non-text value".to_string(), |v| format!("`{v}`"));
            let mut d = ft.error(
                pos,
                v.map_or(1, |v| v.chars().count()),
                "kind",
                format!("unknown kind {shown}; {API_VERSION} knows only `{KIND_CUSTOMER}`"),
            );
            if v.is_some_and(|v| v.eq_ignore_ascii_case(KIND_CUSTOMER)) {
                d = d.with_hint(format!("did you mean `{KIND_CUSTOMER}`?"));
            }
            Some(d)
        }
    }
}

fn source_at(file: &str, pos: Pos) -> Source {
    Source {
        file: file.to_string(),
        line: pos.line,
        column: pos.column,
    }
}
