//! The schema stage: check a document's JSON against the compiled schema and turn every
//! error into a [`Diagnostic`] at the YAML position of the value (or key) concerned.
//!
//! Messages are written here from the error's kind, never from the offending value when
//! that value could be a secret. Also compiles dimctl's generated schemas ([`compile`],
//! for manifests and `dimctl.yaml`). Must not read files or print.

use std::sync::LazyLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::model::catalogue::{self, Mutability};
use crate::model::schema::customer_schema;

use super::diagnostic::{Diagnostic, FileText, did_you_mean};
use super::yaml::{Node, Pos};

static SCHEMA: LazyLock<Value> = LazyLock::new(customer_schema);
static VALIDATOR: LazyLock<Result<Validator, SchemaDoesNotCompile>> =
    LazyLock::new(|| compile("manifest", &SCHEMA));

/// A schema dimctl generates that does not compile: a bug in dimctl, never in the input
/// (a test compiles every schema). Kept as text: the validator's error borrows the schema
/// and cannot be stored beside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("internal error: the {schema} schema does not compile: {reason}")]
pub struct SchemaDoesNotCompile {
    /// Which schema: `manifest`, `configuration`.
    pub schema: &'static str,
    pub reason: String,
}

/// Compile one of dimctl's generated schemas (draft 2020-12), once per process.
pub fn compile(schema: &'static str, json: &Value) -> Result<Validator, SchemaDoesNotCompile> {
    jsonschema::draft202012::new(json).map_err(|e| SchemaDoesNotCompile {
        schema,
        reason: e.to_string(),
    })
}

/// One step of an instance path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// `pbxConnectionProfiles[0].apiKey` from path segments.
pub fn field_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Check `json` (the document `doc` as JSON) against the schema. The header keys
/// (`apiVersion`, `kind`) are checked before and skipped here.
pub fn schema_diagnostics(doc: &Node, json: &Value, ft: &FileText<'_>) -> Vec<Diagnostic> {
    let validator = match &*VALIDATOR {
        Ok(v) => v,
        Err(e) => {
            return vec![ft.error(doc.start, 1, "", e.to_string())];
        }
    };
    let mut mapper = Mapper {
        doc,
        ft,
        out: Vec::new(),
    };
    for err in validator.iter_errors(json) {
        mapper.map(&err);
    }
    mapper.out
}

struct Mapper<'a> {
    doc: &'a Node,
    ft: &'a FileText<'a>,
    out: Vec<Diagnostic>,
}

impl Mapper<'_> {
    fn map(&mut self, err: &ValidationError<'_>) {
        let path: Vec<Seg> = err
            .instance_path()
            .iter()
            .map(|s| match s {
                LocationSegment::Property(p) => Seg::Key(p.into_owned()),
                LocationSegment::Index(i) => Seg::Index(i),
            })
            .collect();
        if let Some(Seg::Key(k)) = path.first()
            && (k == "apiVersion" || k == "kind")
        {
            return;
        }
        let field = field_path(&path);
        let last = match path.last() {
            Some(Seg::Key(k)) => k.as_str(),
            _ => "",
        };
        let instance: &Value = err.instance();
        match err.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let allowed = allowed_properties(err.schema_path().as_str());
                for key in unexpected {
                    self.unknown_key(&path, key, &allowed);
                }
            }
            ValidationErrorKind::OneOfNotValid { context } => {
                self.one_of(err, &path, context);
            }
            ValidationErrorKind::AnyOf { .. } if path.is_empty() => {
                let d = self
                    .ft
                    .error(
                        self.doc.start,
                        1,
                        "",
                        "a Customer needs `reference` (the reseller's stable key) or `id` (the pin of an adopted tenant)",
                    )
                    .with_hint("add a line such as `reference: ACME-0001`");
                self.out.push(d);
            }
            ValidationErrorKind::Type { kind } => {
                let expected = match kind {
                    TypeKind::Single(t) => type_words(t.as_str()).to_string(),
                    TypeKind::Multiple(set) => set
                        .iter()
                        .map(|t| type_words(t.as_str()))
                        .collect::<Vec<_>>()
                        .join(" or "),
                };
                self.type_error(&path, &field, last, &expected, instance);
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                let mut d =
                    self.value_diag(&path, &field, format!("missing required field `{name}`"));
                if name == "fromEnv" {
                    d = d.with_hint(format!(
                        "secrets never sit in git: write `{last}: {{fromEnv: VAR}}`"
                    ));
                }
                self.out.push(d);
            }
            ValidationErrorKind::Enum { options } => {
                let opts: Vec<&str> = options
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let shown = opts
                    .iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let what = match instance.as_str() {
                    Some(s) => format!("`{s}` is not allowed here"),
                    None => format!("{} is not allowed here", type_words(json_type(instance))),
                };
                let mut d =
                    self.value_diag(&path, &field, format!("{what}; expected one of {shown}"));
                if let Some(s) = instance.as_str()
                    && let Some(best) = did_you_mean(s, opts.iter().copied())
                {
                    d = d.with_hint(format!("did you mean `{best}`?"));
                }
                self.out.push(d);
            }
            ValidationErrorKind::Constant { expected_value } => {
                let msg = format!("must be {expected_value}");
                let d = self.value_diag(&path, &field, msg);
                self.out.push(d);
            }
            ValidationErrorKind::MaxLength { limit } => {
                let n = instance.as_str().map_or(0, |s| s.chars().count());
                let d = self.value_diag(
                    &path,
                    &field,
                    format!("`{last}` is {n} characters long; the maximum is {limit}"),
                );
                self.out.push(d);
            }
            ValidationErrorKind::MinLength { .. } => {
                let d = self.value_diag(&path, &field, format!("`{last}` must not be empty"));
                self.out.push(d);
            }
            ValidationErrorKind::Maximum { limit } => {
                let mut d =
                    self.value_diag(&path, &field, format!("`{last}` must be at most {limit}"));
                if last == "trialDuration" {
                    d = d.with_hint(format!(
                        "dimctl accepts trials of 0 to {} days; 0 means no trial",
                        catalogue::MAX_TRIAL_DAYS
                    ));
                }
                self.out.push(d);
            }
            ValidationErrorKind::Minimum { limit } => {
                let d =
                    self.value_diag(&path, &field, format!("`{last}` must be at least {limit}"));
                self.out.push(d);
            }
            ValidationErrorKind::Pattern { .. } => {
                let value = instance.as_str().unwrap_or_default();
                let (msg, hint) = match last {
                    "countryCode" => (
                        format!("`{value}` is not a country code"),
                        "use an ISO 3166 code of two or three letters, such as GB, US or AU",
                    ),
                    "timezone" => (
                        format!("`{value}` is not an IANA time zone name"),
                        "use a name such as Europe/London or America/New_York",
                    ),
                    "fromEnv" => (
                        format!("`{value}` is not an environment variable name"),
                        "use letters, digits and `_`, not starting with a digit",
                    ),
                    _ => (format!("`{last}` has the wrong form"), ""),
                };
                let mut d = self.value_diag(&path, &field, msg);
                if !hint.is_empty() {
                    d = d.with_hint(hint);
                }
                self.out.push(d);
            }
            other => {
                let d = self.value_diag(
                    &path,
                    &field,
                    format!("does not satisfy the schema rule `{}`", other.keyword()),
                );
                self.out.push(d);
            }
        }
    }

    /// A PBX profile (the one `oneOf` in the schema): pick the branch its `_type` names
    /// and report that branch's errors; otherwise say what `_type` should be.
    fn one_of(
        &mut self,
        err: &ValidationError<'_>,
        path: &[Seg],
        context: &[Vec<ValidationError<'static>>],
    ) {
        let field = field_path(path);
        let schema_path = err.schema_path().as_str();
        let branches: Vec<&Value> = SCHEMA
            .pointer(schema_path)
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let types: Vec<&str> = branches
            .iter()
            .filter_map(|b| b.pointer("/properties/_type/const").and_then(Value::as_str))
            .collect();
        let one_of_types = types
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let instance: &Value = err.instance();
        let Value::Object(obj) = instance else {
            let d = self.value_diag(
                path,
                &field,
                format!(
                    "expected a mapping (a PBX connection profile), found {}",
                    type_words(json_type(instance))
                ),
            );
            self.out.push(d);
            return;
        };
        match obj.get("_type") {
            Some(Value::String(t)) => match types.iter().position(|c| c == t) {
                Some(i) if i < context.len() => {
                    for e in &context[i] {
                        self.map(e);
                    }
                }
                _ => {
                    let mut p = path.to_vec();
                    p.push(Seg::Key("_type".into()));
                    let mut d = self.value_diag(
                        &p,
                        &field_path(&p),
                        format!("unknown PBX profile type `{t}`; expected one of {one_of_types}"),
                    );
                    if let Some(best) = did_you_mean(t, types.iter().copied()) {
                        d = d.with_hint(format!("did you mean `{best}`?"));
                    }
                    self.out.push(d);
                }
            },
            Some(_) => {
                let mut p = path.to_vec();
                p.push(Seg::Key("_type".into()));
                let d = self.value_diag(
                    &p,
                    &field_path(&p),
                    format!("`_type` must be text: one of {one_of_types}"),
                );
                self.out.push(d);
            }
            None => {
                let d = self
                    .value_diag(
                        path,
                        &field,
                        "missing `_type`: which kind of PBX this profile connects to",
                    )
                    .with_hint(format!("add `_type:` with one of {one_of_types}"));
                self.out.push(d);
            }
        }
    }

    fn type_error(
        &mut self,
        path: &[Seg],
        field: &str,
        last: &str,
        expected: &str,
        instance: &Value,
    ) {
        let found = json_type(instance);
        if catalogue::is_sensitive_pbx_key(last) && found != "object" {
            let d = self
                .value_diag(
                    path,
                    field,
                    format!("`{last}` is a secret; its value must not be written in a manifest"),
                )
                .with_hint(format!(
                    "secrets never sit in git: write `{last}: {{fromEnv: VAR}}` and set VAR where apply runs"
                ));
            self.out.push(d);
            return;
        }
        if found == "null" {
            let d = self
                .value_diag(path, field, format!("`{last}` has no value; expected {expected}"))
                .with_hint("remove the line to leave the field unmanaged, or give it a value (null is not allowed)");
            self.out.push(d);
            return;
        }
        let mut d = self.value_diag(
            path,
            field,
            format!("expected {expected}, found {}", type_words(found)),
        );
        let text = instance.as_str().unwrap_or_default();
        if expected == "text" && matches!(found, "integer" | "number" | "boolean") {
            d = d.with_hint("put the value in quotes to keep it as text (unquoted 0001 reads as the number 1, yes/no as text only in YAML 1.2)");
        } else if expected == "true or false"
            && ["yes", "no", "on", "off", "y", "n"].contains(&text.to_ascii_lowercase().as_str())
        {
            d = d.with_hint(format!(
                "YAML 1.2 reads `{text}` as text: write true or false"
            ));
        } else if expected.contains("whole number") && text.trim().parse::<i64>().is_ok() {
            d = d.with_hint("remove the quotes to make it a number");
        }
        self.out.push(d);
    }

    fn unknown_key(&mut self, parent: &[Seg], key: &str, allowed: &[String]) {
        let mut path = parent.to_vec();
        path.push(Seg::Key(key.to_string()));
        let field = field_path(&path);
        let pos = self.key_pos(parent, key);
        let width = key.chars().count();
        if parent.is_empty()
            && let Some(f) = crate::model::Kind::Customer.def().field(key)
            && f.mutability == Mutability::ReadOnly
        {
            let d = self.ft.error(
                pos,
                width,
                field,
                format!("`{key}` is read-only: set by the server; remove it"),
            );
            self.out.push(d);
            return;
        }
        let mut d = self
            .ft
            .error(pos, width, field, format!("unknown field `{key}`"));
        if let Some(best) = did_you_mean(key, allowed.iter().map(String::as_str)) {
            d = d.with_hint(format!("did you mean `{best}`?"));
        } else if parent.is_empty() && key == "spec" {
            d = d.with_hint("customer fields sit at the top level beside apiVersion and kind; there is no `spec:`");
        } else if !allowed.is_empty() && allowed.len() <= 10 {
            let list = allowed
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ");
            d = d.with_hint(format!("expected one of {list}"));
        }
        self.out.push(d);
    }

    fn key_pos(&self, parent: &[Seg], key: &str) -> Pos {
        let found = self.doc.locate(&strings(parent));
        found
            .node
            .entry(key)
            .map_or(found.node.start, |e| e.key_pos)
    }

    /// A diagnostic at the value `path` points to (or the nearest node on the way).
    fn value_diag(
        &self,
        path: &[Seg],
        field: &str,
        message: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Diagnostic {
        let found = self.doc.locate(&strings(path));
        let node = found.node;
        let width = if node.start.line == node.end.line && node.end.index > node.start.index {
            node.end.index - node.start.index
        } else {
            1
        };
        self.ft.error(node.start, width, field, message)
    }
}

fn strings(path: &[Seg]) -> Vec<String> {
    path.iter()
        .map(|s| match s {
            Seg::Key(k) => k.clone(),
            Seg::Index(i) => i.to_string(),
        })
        .collect()
}

/// The property names allowed where an `additionalProperties` error came from.
fn allowed_properties(schema_path: &str) -> Vec<String> {
    let parent = schema_path
        .strip_suffix("/additionalProperties")
        .unwrap_or(schema_path);
    SCHEMA
        .pointer(parent)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A JSON type in YAML words.
fn type_words(t: &str) -> &'static str {
    match t {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "text",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "true or false",
        "null" => "nothing (null)",
        _ => "something else",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_read_like_code() {
        let p = [
            Seg::Key("pbxConnectionProfiles".into()),
            Seg::Index(0),
            Seg::Key("apiKey".into()),
        ];
        assert_eq!(field_path(&p), "pbxConnectionProfiles[0].apiKey");
        assert_eq!(field_path(&[]), "");
    }

    #[test]
    fn the_schema_compiles() {
        assert!(VALIDATOR.is_ok(), "{:?}", VALIDATOR.as_ref().err());
    }

    #[test]
    fn allowed_properties_follow_defs() {
        let root = allowed_properties("/additionalProperties");
        assert!(root.contains(&"countryCode".to_string()));
        let features = allowed_properties("/$defs/Features/additionalProperties");
        assert_eq!(features, ["agent", "device"]);
    }
}
