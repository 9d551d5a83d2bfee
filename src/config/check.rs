//! Checking a `dimctl.yaml`: the same YAML reader (spans, duplicate keys, depth and alias
//! guards) and the same diagnostics as manifests, against the file's own generated schema
//! ([`super::config_schema`]), and `requiredVersion` before anything else. Pure: text in,
//! the typed file or diagnostics out; must not read files, print, or merge settings
//! (that is [`super::resolve`]'s).

use std::sync::LazyLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{JsonType, ValidationError, Validator};
use serde_json::Value;

use crate::manifest::check::SchemaDoesNotCompile;
use crate::manifest::diagnostic::{FileText, did_you_mean};
use crate::manifest::yaml::{self, Node};
use crate::manifest::{Diagnostic, Severity};

use super::ConfigFile;

static SCHEMA: LazyLock<Value> = LazyLock::new(super::config_schema);
static VALIDATOR: LazyLock<Result<Validator, SchemaDoesNotCompile>> =
    LazyLock::new(|| crate::manifest::check::compile("configuration", &SCHEMA));

/// Check the text of a configuration file named `file`. Errors carry the file, line,
/// column, field and a hint, and render with [`crate::manifest::render_text`].
pub fn check(file: &str, text: &str) -> Result<ConfigFile, Vec<Diagnostic>> {
    let ft = FileText::new(file, text);
    let parsed = yaml::parse(text);
    if let Some(e) = parsed.error {
        let mut d = ft.error(e.pos, 1, "", e.message);
        d.hint = e.hint.map(Into::into);
        return Err(vec![d]);
    }
    let doc = match parsed.documents.as_slice() {
        [doc] => doc,
        [] => {
            return Err(vec![
                Diagnostic::file(Severity::Error, file, "the configuration file is empty")
                    .with_hint(
                        "start it with `apiVersion: dimctl/v1` and `kind: Config`, or delete it",
                    ),
            ]);
        }
        [_, second, ..] => {
            return Err(vec![
                ft.error(
                    second.start,
                    1,
                    "",
                    "a configuration file holds one YAML document",
                )
                .with_hint("remove the `---` and merge the documents"),
            ]);
        }
    };
    let json = doc.to_json();
    // Before the schema: a file written for another dimctl may use keys this one lacks,
    // and "requires dimctl X" is the message that helps there.
    if let Some(Value::String(req)) = json.get("requiredVersion") {
        let running = semver::Version::parse(crate::document::VERSION)
            .unwrap_or_else(|_| semver::Version::new(0, 0, 0));
        if let Err(e) = required_version(req, &running) {
            let pos = doc
                .entry("requiredVersion")
                .map_or(doc.start, |e| e.value.start);
            let hint = match e {
                VersionError::Unsatisfied { .. } => {
                    "install a dimctl that matches (see the README, \"Install\"), or change requiredVersion"
                }
                VersionError::NotARequirement { .. } => {
                    "write a semver requirement, e.g. \">=0.2, <0.3\""
                }
            };
            return Err(vec![
                ft.error(
                    pos,
                    req.chars().count().max(1),
                    "requiredVersion",
                    e.to_string(),
                )
                .with_hint(hint),
            ]);
        }
    }
    let validator = match &*VALIDATOR {
        Ok(v) => v,
        Err(e) => {
            return Err(vec![Diagnostic::file(Severity::Error, file, e.to_string())]);
        }
    };
    // `.inf` and `.nan` are reported as such, not as the text JSON turns them into.
    let (mut out, at_fields) = crate::manifest::semantic::non_finite_numbers(doc, &ft);
    let mut schema = Vec::new();
    for err in validator.iter_errors(&json) {
        map_error(&err, doc, &ft, &mut schema);
    }
    schema.retain(|d: &Diagnostic| !at_fields.contains(&d.field));
    out.extend(schema);
    if !out.is_empty() {
        return Err(out);
    }
    let cfg = serde_json::from_value::<ConfigFile>(json).map_err(|e| {
        vec![Diagnostic::file(
            Severity::Error,
            file,
            format!("not a dimctl configuration: {e}"),
        )]
    })?;
    let problems = check_workspaces(&cfg, doc, &ft);
    if problems.is_empty() {
        Ok(cfg)
    } else {
        Err(problems)
    }
}

/// The rules of `workspaces:` a schema does not say: names fit for reports and flags, at
/// least one workspace, and no top-level target or manifests beside them (which would be
/// a second, nameless account).
fn check_workspaces(cfg: &ConfigFile, doc: &Node, ft: &FileText<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some(workspaces) = &cfg.workspaces else {
        return out;
    };
    let top = doc;
    if workspaces.is_empty() {
        let here = doc.locate(&["workspaces"]).node;
        out.push(
            ft.error(here.start, 1, "workspaces", "`workspaces` is empty")
                .with_hint("declare at least one workspace, or remove the key"),
        );
    }
    for key in ["target", "manifests"] {
        if let Some(entry) = top.entry(key) {
            out.push(
                ft.error(
                    entry.key_pos,
                    key.len(),
                    key,
                    format!("a file with `workspaces` has no top-level `{key}`"),
                )
                .with_hint(format!(
                    "move `{key}` into each workspace: every workspace names its own"
                )),
            );
        }
    }
    let ws_node = doc.locate(&["workspaces"]).node;
    for name in workspaces.keys() {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            let pos = ws_node.entry(name).map_or(ws_node.start, |e| e.key_pos);
            out.push(
                ft.error(
                    pos,
                    name.chars().count().max(1),
                    format!("workspaces.{name}"),
                    format!("`{name}` is not a workspace name"),
                )
                .with_hint("use letters, digits, `-` and `_` (at most 64), e.g. `uk` or `au-prod`"),
            );
        }
    }
    out
}

/// Turn one schema error into diagnostics at the YAML position concerned.
/// Why a `requiredVersion` stops the run.
#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    /// The text is not a semver requirement.
    #[error("`{req}` is not a version requirement: {source}")]
    NotARequirement {
        req: String,
        #[source]
        source: semver::Error,
    },
    /// This dimctl is not one the repository works with.
    #[error("this repository requires dimctl {req}; this is dimctl {running}; nothing was done")]
    Unsatisfied {
        req: String,
        running: semver::Version,
    },
}

/// Whether `running` satisfies the requirement `req` (semver, as Cargo writes it).
pub fn required_version(req: &str, running: &semver::Version) -> Result<(), VersionError> {
    let parsed =
        semver::VersionReq::parse(req).map_err(|source| VersionError::NotARequirement {
            req: req.to_string(),
            source,
        })?;
    if parsed.matches(running) {
        Ok(())
    } else {
        Err(VersionError::Unsatisfied {
            req: req.to_string(),
            running: running.clone(),
        })
    }
}

fn map_error(err: &ValidationError<'_>, doc: &Node, ft: &FileText<'_>, out: &mut Vec<Diagnostic>) {
    let path: Vec<String> = err
        .instance_path()
        .iter()
        .map(|s| match s {
            LocationSegment::Property(p) => p.into_owned(),
            LocationSegment::Index(i) => i.to_string(),
        })
        .collect();
    let field = path.join(".");
    let here = doc.locate(&path);
    match err.kind() {
        // `Option<T>` is `anyOf: [T, null]`: report what is wrong with the T branch.
        ValidationErrorKind::AnyOf { context } if !err.instance().is_null() => {
            let useful: Vec<_> = context
                .iter()
                .filter(|branch| {
                    !branch.iter().all(|e| {
                        matches!(
                            e.kind(),
                            ValidationErrorKind::Type {
                                kind: TypeKind::Single(JsonType::Null)
                            }
                        )
                    })
                })
                .collect();
            if useful.is_empty() {
                out.push(
                    ft.error(
                        here.node.start,
                        span_width(here.node),
                        field,
                        err.to_string(),
                    )
                    .with_hint(hint_for(&path)),
                );
            }
            for branch in useful {
                for e in branch {
                    map_error(e, doc, ft, out);
                }
            }
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let allowed = allowed_keys(&path);
            for key in unexpected {
                let pos = here.node.entry(key).map_or(here.node.start, |e| e.key_pos);
                let name = if field.is_empty() {
                    key.clone()
                } else {
                    format!("{field}.{key}")
                };
                let mut d = ft.error(
                    pos,
                    key.chars().count(),
                    name,
                    format!("unknown key `{key}`"),
                );
                d.hint = Some(
                    match did_you_mean(key, allowed.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("allowed here: {}", allowed.join(", ")),
                    }
                    .into(),
                );
                out.push(d);
            }
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default().to_string();
            out.push(
                ft.error(here.node.start, 1, field, format!("`{name}` is missing"))
                    .with_hint(required_hint(&name)),
            );
        }
        _ => {
            out.push(
                ft.error(
                    here.node.start,
                    span_width(here.node),
                    field,
                    err.to_string(),
                )
                .with_hint(hint_for(&path)),
            );
        }
    }
}

fn span_width(node: &Node) -> usize {
    if node.start.line == node.end.line {
        node.end.column.saturating_sub(node.start.column).max(1)
    } else {
        1
    }
}

fn required_hint(name: &str) -> String {
    match name {
        "apiVersion" => "add `apiVersion: dimctl/v1` as the first line".into(),
        "kind" => "add `kind: Config` after `apiVersion`".into(),
        other => format!("add `{other}`"),
    }
}

fn hint_for(path: &[String]) -> String {
    match path
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["apiVersion"] => "write `apiVersion: dimctl/v1`".into(),
        ["kind"] => {
            "write `kind: Config` (manifests of customers are `kind: Customer` files of their own)"
                .into()
        }
        ["target", "region"] => "one of au, eu, na, uk".into(),
        ["target", "apiUrl"] | ["target", "tokenUrl"] => {
            "a URL starting with https://, e.g. https://api.uk.myreports.cloud/api/v1.0".into()
        }
        ["target"] => "give either `region` or `apiUrl`, not both".into(),
        ["safety", _] => "a share between 0 and 1, e.g. 0.3 for 30 %".into(),
        _ => "see `dimctl schema --config` for the file's schema".into(),
    }
}

/// The keys the schema allows in the object at `path` (for "did you mean").
fn allowed_keys(path: &[String]) -> Vec<String> {
    let schema: &Value = &SCHEMA;
    let mut node = schema;
    for seg in path {
        // A map's entries (`workspaces.NAME`) are described by `additionalProperties`.
        let Some(prop) = node
            .get("properties")
            .and_then(|p| p.get(seg))
            .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))
        else {
            return Vec::new();
        };
        node = resolve(schema, prop);
    }
    node.get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Follow a `$ref` (directly or inside `anyOf`, as schemars writes `Option<T>`).
fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    let target = node.get("$ref").and_then(Value::as_str).or_else(|| {
        node.get("anyOf")?
            .as_array()?
            .iter()
            .find_map(|n| n.get("$ref").and_then(Value::as_str))
    });
    match target.and_then(|r| r.strip_prefix("#/")) {
        Some(ptr) => root.pointer(&format!("/{ptr}")).unwrap_or(node),
        None => node,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "apiVersion: dimctl/v1\nkind: Config\n";

    fn errors(text: &str) -> Vec<Diagnostic> {
        check("dimctl.yaml", text).expect_err("should fail")
    }

    #[test]
    fn required_versions() {
        let v = |s: &str| semver::Version::parse(s).unwrap();
        assert!(required_version(">=0.2, <0.3", &v("0.2.0")).is_ok());
        assert!(required_version(">=0.2, <0.3", &v("0.2.9")).is_ok());
        let e = required_version(">=0.2, <0.3", &v("0.3.0"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("requires dimctl >=0.2, <0.3") && e.contains("this is dimctl 0.3.0"),
            "{e}"
        );
        assert!(required_version(">=0.2, <0.3", &v("0.1.0")).is_err());
        let e = required_version("about two", &v("0.2.0")).unwrap_err();
        assert!(matches!(e, VersionError::NotARequirement { .. }), "{e}");
        assert!(e.to_string().contains("not a version requirement"), "{e}");
    }

    #[test]
    fn a_required_version_that_does_not_match_is_reported_before_unknown_keys() {
        let d = errors(&format!(
            "{HEAD}requiredVersion: \">=99\"\nsomeFutureKey: true\n"
        ));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "requiredVersion");
        assert_eq!(d[0].source.line, 3);
        assert!(
            d[0].message.contains(crate::document::VERSION),
            "{}",
            d[0].message
        );
        let ok = check(
            "dimctl.yaml",
            &format!(
                "{HEAD}requiredVersion: \">={}\"\n",
                crate::document::VERSION
            ),
        )
        .unwrap();
        assert!(ok.required_version.is_some());
    }

    #[test]
    fn a_good_file_reads() {
        let cfg = check(
            "dimctl.yaml",
            &format!("{HEAD}target:\n  region: uk\nmanifests: [customers]\nparallelism: 4\nsafety:\n  maxDeleteShare: 0.1\n"),
        )
        .expect("valid");
        assert_eq!(cfg.parallelism, Some(4));
        assert_eq!(cfg.target.and_then(|t| t.region).as_deref(), Some("uk"));
        assert_eq!(cfg.safety.and_then(|s| s.max_delete_share), Some(0.1));
    }

    #[test]
    fn a_misspelt_key_names_line_and_suggestion() {
        let e = errors(&format!("{HEAD}paralelism: 4\n"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!((e[0].source.line, e[0].source.column), (3, 1));
        assert_eq!(e[0].field, "paralelism");
        assert_eq!(e[0].hint.as_deref(), Some("did you mean `parallelism`?"));
    }

    #[test]
    fn a_nested_misspelt_key_is_found() {
        let e = errors(&format!("{HEAD}safety:\n  maxDeleteShares: 0.1\n"));
        assert_eq!((e[0].source.line, e[0].source.column), (4, 3));
        assert_eq!(e[0].field, "safety.maxDeleteShares");
        assert_eq!(e[0].hint.as_deref(), Some("did you mean `maxDeleteShare`?"));
    }

    #[test]
    fn a_bad_value_points_at_it() {
        let e = errors(&format!(
            "{HEAD}target:\n  region: mars\nsafety:\n  maxUpdateShare: 3\n"
        ));
        assert_eq!(e.len(), 2, "{e:?}");
        let region = e
            .iter()
            .find(|d| d.field == "target.region")
            .expect("region");
        assert_eq!((region.source.line, region.source.column), (4, 11));
        let share = e
            .iter()
            .find(|d| d.field == "safety.maxUpdateShare")
            .expect("share");
        assert_eq!(share.source.line, 6);
    }

    const WS: &str = "workspaces:\n  uk:\n    target:\n      region: uk\n    manifests: [uk]\n    tokenEnv: TOKEN_UK\n    safety:\n      maxDeleteShare: 0.1\n  au:\n    target:\n      region: au\n    manifests: [au]\n";

    #[test]
    fn workspaces_read_and_inherit_the_top_level() {
        let cfg = check(
            "dimctl.yaml",
            &format!("{HEAD}parallelism: 4\nsafety:\n  maxUpdateShare: 0.2\n{WS}"),
        )
        .expect("valid");
        assert_eq!(cfg.workspace_names(), ["au", "uk"]);
        let uk = cfg.for_workspace("uk").expect("uk");
        assert_eq!(uk.target.and_then(|t| t.region).as_deref(), Some("uk"));
        assert_eq!(uk.manifests, Some(vec!["uk".to_string()]));
        assert_eq!(uk.parallelism, Some(4));
        let safety = uk.safety.expect("safety");
        assert_eq!(safety.max_update_share, Some(0.2));
        assert_eq!(safety.max_delete_share, Some(0.1));
        assert!(uk.workspaces.is_none());
        assert!(cfg.for_workspace("eu").is_none());
    }

    #[test]
    fn workspace_mistakes_point_at_the_line() {
        // A misspelt key inside a workspace gets a suggestion.
        let e = errors(&format!(
            "{HEAD}workspaces:\n  uk:\n    target: {{region: uk}}\n    manifests: [uk]\n    tokenEnvv: X\n"
        ));
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].source.line, 7, "{e:?}");
        assert_eq!(e[0].hint.as_deref(), Some("did you mean `tokenEnv`?"));
        // A top-level target beside workspaces is a second, nameless account.
        let e = errors(&format!("{HEAD}target:\n  region: uk\n{WS}"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!((e[0].source.line, e[0].field.as_str()), (3, "target"));
        // A name unfit for reports and flags.
        let e = errors(&format!(
            "{HEAD}workspaces:\n  \"u k\":\n    target: {{region: uk}}\n    manifests: [uk]\n"
        ));
        assert_eq!(e[0].source.line, 4, "{e:?}");
        assert!(e[0].message.contains("not a workspace name"), "{e:?}");
        // A workspace without manifests.
        let e = errors(&format!(
            "{HEAD}workspaces:\n  uk:\n    target: {{region: uk}}\n"
        ));
        assert!(e[0].message.contains("manifests"), "{e:?}");
        // An empty map.
        let e = errors(&format!("{HEAD}workspaces: {{}}\n"));
        assert!(e[0].message.contains("empty"), "{e:?}");
    }

    #[test]
    fn header_problems_and_yaml_errors() {
        let e = errors("kind: Config\n");
        assert!(e[0].message.contains("apiVersion"), "{e:?}");
        let e = errors(&format!("{HEAD}prune: true\nprune: false\n"));
        assert_eq!(e[0].source.line, 4, "{e:?}");
        assert!(check("dimctl.yaml", "").is_err());
        assert!(check("dimctl.yaml", &format!("{HEAD}---\n{HEAD}")).is_err());
    }
}
