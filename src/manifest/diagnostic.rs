//! Diagnostics: the value ([`Diagnostic`]) and its two renderings, rustc-style text
//! ([`render_text`]) and a JSON array for editors and CI ([`render_json`]).
//!
//! Plan and apply reuse [`render_text`] when manifests are invalid. A diagnostic never
//! carries a secret: the source line it quotes is redacted where a secret key sits.

use anstyle::{AnsiColor, Style};
use serde::Serialize;
use std::borrow::Cow;

use crate::model::Source;

use super::yaml::Pos;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in the manifests, pointing at a file, line and column. A line of 0
/// means the problem concerns the whole file or path (no position).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub source: Source,
    /// The field path, e.g. `pbxConnectionProfiles[0].apiKey` (empty for the document).
    pub field: String,
    /// Borrowed when it is a fixed text (the administrator rule's warning is one per
    /// document: 100,000 copies of it would be 20 MB).
    pub message: Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<Cow<'static, str>>,
    /// The quoted source line and how many characters to underline (text rendering only).
    #[serde(skip)]
    pub snippet: Option<Snippet>,
}

/// The source line a diagnostic points into, already redacted.
#[derive(Debug, Clone, PartialEq)]
pub struct Snippet {
    pub line: String,
    /// Characters to underline from the column (at least 1).
    pub width: usize,
}

impl Diagnostic {
    /// A diagnostic about a whole file or path (no line).
    pub fn file(severity: Severity, file: &str, message: impl Into<Cow<'static, str>>) -> Self {
        Diagnostic {
            severity,
            source: Source {
                file: file.to_string(),
                line: 0,
                column: 0,
            },
            field: String::new(),
            message: message.into(),
            hint: None,
            snippet: None,
        }
    }

    /// Add a hint.
    pub fn with_hint(mut self, hint: impl Into<Cow<'static, str>>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A file's text, for making positioned diagnostics with quoted lines.
pub struct FileText<'a> {
    pub file: &'a str,
    pub text: &'a str,
    /// Byte offsets of line starts, computed on first use (a big file with many
    /// diagnostics must not rescan the text for each).
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

impl<'a> FileText<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Self {
        FileText {
            file,
            text,
            line_starts: std::sync::OnceLock::new(),
        }
    }

    /// Line `n` (1-based) without its line ending.
    fn line(&self, n: usize) -> Option<&'a str> {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let start = *starts.get(n.checked_sub(1)?)?;
        let end = starts.get(n).map_or(self.text.len(), |e| e - 1);
        let text: &'a str = self.text;
        text.get(start..end.max(start))
            .map(|l| l.trim_end_matches('\r'))
            .filter(|_| start < text.len() || n == 1)
    }

    /// A diagnostic at `pos`, underlining `width` characters.
    pub fn at(
        &self,
        severity: Severity,
        pos: Pos,
        width: usize,
        field: impl Into<String>,
        message: impl Into<Cow<'static, str>>,
    ) -> Diagnostic {
        Diagnostic {
            severity,
            source: Source {
                file: self.file.to_string(),
                line: pos.line,
                column: pos.column,
            },
            field: field.into(),
            message: message.into(),
            hint: None,
            snippet: self.snippet(pos, width),
        }
    }

    /// The quoted (redacted) line at `pos`, underlining `width` characters.
    pub fn snippet(&self, pos: Pos, width: usize) -> Option<Snippet> {
        self.line(pos.line).map(redact_secrets).map(|line| {
            // Never let the underline give away a redacted secret's length.
            let at_redacted = line
                .char_indices()
                .nth(pos.column.saturating_sub(1))
                .is_some_and(|(i, _)| line[i..].starts_with(REDACTED));
            Snippet {
                width: if at_redacted {
                    REDACTED.len()
                } else {
                    width.max(1)
                },
                line,
            }
        })
    }

    pub fn error(
        &self,
        pos: Pos,
        width: usize,
        field: impl Into<String>,
        message: impl Into<Cow<'static, str>>,
    ) -> Diagnostic {
        self.at(Severity::Error, pos, width, field, message)
    }
}

/// What a secret's value is replaced with in a quoted line.
const REDACTED: &str = "<redacted>";

/// Replace the value after a secret key (`apiKey: hunter2`) unless it is a `{fromEnv}`
/// reference, so a quoted source line never shows a secret.
pub fn redact_secrets(line: &str) -> String {
    let mut out = line.to_string();
    for key in crate::model::catalogue::PBX_SENSITIVE_KEYS {
        let mut from = 0;
        while let Some(found) = out[from..].find(key) {
            let key_start = from + found;
            let after_key = key_start + key.len();
            let rest = &out[after_key..];
            let trimmed = rest.trim_start_matches([' ', '"', '\'']);
            let Some(after_colon) = trimmed.strip_prefix(':') else {
                from = after_key;
                continue;
            };
            let value_start = out.len() - after_colon.len();
            let value = after_colon.trim_start();
            if value.is_empty() || value.starts_with('{') {
                from = after_key;
                continue;
            }
            let lead = after_colon.len() - value.len();
            let in_flow = out[..key_start].contains(['{', '[']);
            let value_len = if in_flow {
                value.find([',', '}']).unwrap_or(value.len())
            } else {
                value.len()
            };
            let start = value_start + lead;
            out.replace_range(start..start + value_len, REDACTED);
            from = start + REDACTED.len();
        }
    }
    out
}

/// Render diagnostics rustc-style:
///
/// ```text
/// customers/acme.yaml:4:14: error: countryCode: `XX` is not an ISO 3166 country code
///   |
/// 4 | countryCode: XX
///   |              ^^
///   = hint: use a two- or three-letter code such as GB, US or AU
/// ```
pub fn render_text(diags: &[Diagnostic], color: bool) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write_text(&mut out, diags, color);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// [`render_text`] written to `w` one diagnostic at a time (the same bytes), so 100,000
/// warnings are never held in one string.
pub fn write_text(
    w: &mut dyn std::io::Write,
    diags: &[Diagnostic],
    color: bool,
) -> std::io::Result<()> {
    let bold = Style::new().bold();
    let blue = Style::new().bold().fg_color(Some(AnsiColor::Blue.into()));
    let cyan = Style::new().fg_color(Some(AnsiColor::Cyan.into()));
    for d in diags {
        let sev_style = match d.severity {
            Severity::Error => Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
            Severity::Warning => Style::new().bold().fg_color(Some(AnsiColor::Yellow.into())),
        };
        if d.source.line == 0 {
            write!(w, "{}", Painted::of(color, bold, &d.source.file))?;
        } else if color {
            write!(w, "{}", Painted::of(color, bold, &d.source.to_string()))?;
        } else {
            write!(w, "{}", d.source)?;
        }
        write!(
            w,
            ": {}: ",
            Painted::of(color, sev_style, d.severity.word())
        )?;
        if !d.field.is_empty() {
            write!(w, "{}: ", d.field)?;
        }
        writeln!(w, "{}", d.message)?;
        if d.snippet.is_none() && d.hint.is_none() {
            continue;
        }
        let line_number = d.source.line.to_string();
        let pad = " ".repeat(line_number.len());
        if let (Some(snippet), true) = (&d.snippet, d.source.line > 0) {
            writeln!(w, "{pad} {}", Painted::of(color, blue, "|"))?;
            writeln!(
                w,
                "{} {} {}",
                Painted::of(color, blue, &line_number),
                Painted::of(color, blue, "|"),
                snippet.line
            )?;
            // Keep tabs as tabs so the caret lines up under them.
            let lead: String = snippet
                .line
                .chars()
                .take(d.source.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let room = snippet
                .line
                .chars()
                .count()
                .saturating_sub(d.source.column.saturating_sub(1))
                .max(1);
            let carets = "^".repeat(snippet.width.min(room));
            writeln!(
                w,
                "{pad} {} {lead}{}",
                Painted::of(color, blue, "|"),
                Painted::of(color, sev_style, &carets)
            )?;
        }
        if let Some(hint) = &d.hint {
            writeln!(w, "{pad} {} {hint}", Painted::of(color, cyan, "= hint:"))?;
        }
    }
    Ok(())
}

/// `text` in `style` when `color`, else as it is.
struct Painted<'a> {
    style: Style,
    text: &'a str,
    color: bool,
}

impl<'a> Painted<'a> {
    fn of(color: bool, style: Style, text: &'a str) -> Painted<'a> {
        Painted { style, text, color }
    }
}

impl std::fmt::Display for Painted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.color {
            write!(
                f,
                "{}{}{}",
                self.style.render(),
                self.text,
                self.style.render_reset()
            )
        } else {
            f.write_str(self.text)
        }
    }
}

/// One diagnostic in the JSON form: a flat object (line and column are null when the
/// problem has no position).
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields, rename = "Diagnostic", transform = every_key_required)]
pub struct JsonDiagnostic<'a> {
    /// The manifest (or dimctl.yaml) the problem is in, as given.
    pub file: &'a str,
    /// 1-based line, or null for a problem with the whole file or path.
    #[schemars(range(min = 1))]
    pub line: Option<usize>,
    /// 1-based column, or null with `line`.
    #[schemars(range(min = 1))]
    pub column: Option<usize>,
    /// The field path, e.g. `pbxConnectionProfiles[0].apiKey` (empty for the document).
    pub field: &'a str,
    pub severity: Severity,
    pub message: &'a str,
    /// How to fix it, when there is something to say.
    pub hint: Option<&'a str>,
}

/// Every key is always written (null when there is nothing to say): the schema says so.
fn every_key_required(schema: &mut schemars::Schema) {
    let keys: Vec<serde_json::Value> = schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|p| p.keys().cloned().map(serde_json::Value::String).collect())
        .unwrap_or_default();
    schema.insert("required".into(), keys.into());
}

/// The `validate --format json` document (`schema/validate.schema.json`): the stamp every
/// JSON document carries and the diagnostics.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ValidateReport<'a> {
    /// The version of this document's format.
    pub format_version: u32,
    /// The dimctl that made the document.
    pub dimctl_version: &'a str,
    /// When the document was made (RFC 3339, UTC).
    pub generated_at: String,
    /// Every problem found, in file order; empty when the manifests are valid.
    pub diagnostics: Vec<JsonDiagnostic<'a>>,
}

/// The diagnostics in their JSON form.
pub fn json_diagnostics(diags: &[Diagnostic]) -> Vec<JsonDiagnostic<'_>> {
    diags
        .iter()
        .map(|d| JsonDiagnostic {
            file: &d.source.file,
            line: (d.source.line > 0).then_some(d.source.line),
            column: (d.source.line > 0).then_some(d.source.column),
            field: &d.field,
            severity: d.severity,
            message: &d.message,
            hint: d.hint.as_deref(),
        })
        .collect()
}

/// Render diagnostics as a pretty JSON array (with a trailing newline).
pub fn render_json(diags: &[Diagnostic]) -> String {
    let items = json_diagnostics(diags);
    let mut text = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_string());
    text.push('\n');
    text
}

/// The closest candidate to `word` when it is close enough to be a likely typo:
/// same letters ignoring case and `_`/`-`, or a small edit distance.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let word_sq = squash(word);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let d = if squash(c) == word_sq {
            0
        } else {
            strsim::damerau_levenshtein(&word.to_lowercase(), &c.to_lowercase())
        };
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let limit = (word.chars().count() / 3).clamp(1, 3);
    best.filter(|(d, _)| *d <= limit).map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(line: usize, column: usize, text: &str, width: usize) -> Diagnostic {
        let ft = FileText::new("c/acme.yaml", text);
        ft.error(
            Pos {
                line,
                column,
                index: 0,
            },
            width,
            "countryCode",
            "`XX` is not an ISO 3166 country code",
        )
        .with_hint("use a code such as GB")
    }

    #[test]
    fn text_has_location_line_caret_and_hint() {
        let d = diag(2, 14, "name: A\ncountryCode: XX\n", 2);
        let text = render_text(&[d], false);
        assert_eq!(
            text,
            "c/acme.yaml:2:14: error: countryCode: `XX` is not an ISO 3166 country code\n  |\n2 | countryCode: XX\n  |              ^^\n  = hint: use a code such as GB\n"
        );
    }

    #[test]
    fn lines_are_found_by_number() {
        let ft = FileText::new("f", "a\r\nbb\n\nccc");
        assert_eq!(ft.line(1), Some("a"));
        assert_eq!(ft.line(2), Some("bb"));
        assert_eq!(ft.line(3), Some(""));
        assert_eq!(ft.line(4), Some("ccc"));
        assert_eq!(ft.line(5), None);
        assert_eq!(ft.line(0), None);
    }

    #[test]
    fn colour_only_when_asked() {
        let d = diag(1, 1, "countryCode: XX\n", 1);
        assert!(!render_text(std::slice::from_ref(&d), false).contains('\x1b'));
        assert!(render_text(&[d], true).contains('\x1b'));
    }

    #[test]
    fn json_is_flat_and_nulls_missing_positions() {
        let d = Diagnostic::file(Severity::Error, "nowhere", "no such file or directory");
        let v: serde_json::Value = serde_json::from_str(&render_json(&[d])).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{"file": "nowhere", "line": null, "column": null, "field": "",
                "severity": "error", "message": "no such file or directory", "hint": null}])
        );
    }

    #[test]
    fn secrets_are_redacted_from_quoted_lines() {
        assert_eq!(
            redact_secrets("    apiKey: hunter2"),
            "    apiKey: <redacted>"
        );
        assert_eq!(
            redact_secrets("  - {name: k, apiKey: 's3cret', password: x}"),
            "  - {name: k, apiKey: <redacted>, password: <redacted>}"
        );
        assert_eq!(
            redact_secrets("    apiKey: {fromEnv: ACME_KEY}"),
            "    apiKey: {fromEnv: ACME_KEY}"
        );
        assert_eq!(redact_secrets("name: apiKey"), "name: apiKey");
        assert_eq!(
            redact_secrets("  password: a,b}c"),
            "  password: <redacted>"
        );
    }

    #[test]
    fn hints_for_typos() {
        let names = ["countryCode", "timezone", "reference", "name", "enabled"];
        assert_eq!(did_you_mean("contryCode", names), Some("countryCode"));
        assert_eq!(did_you_mean("country_code", names), Some("countryCode"));
        assert_eq!(did_you_mean("CountryCode", names), Some("countryCode"));
        assert_eq!(did_you_mean("timezon", names), Some("timezone"));
        assert_eq!(did_you_mean("colour", names), None);
        assert_eq!(did_you_mean("nmae", names), Some("name"));
    }
}
