//! What every JSON document dimctl writes (the plan, the apply result, the drift report,
//! the validate diagnostics) carries and how it is described: the dimctl version, a
//! timestamp, the commit it was made from, paths relative to the repository, and the
//! committed JSON Schema of each (`dimctl schema --plan|--apply|--drift|--validate`,
//! `schema/`).
//!
//! One casing convention throughout: every key is snake_case (`format_version`,
//! `dimctl_version`, `generated_at`). Values that are the API's own (customer fields in
//! a create body or a patch) keep the wire's camelCase.
//!
//! The clock, the environment and the file system are read here, by the commands, and
//! stamped into the documents; the planner and the renderers never read them.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// This dimctl's version, as `--version` prints it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The current time, RFC 3339 in UTC to the second, e.g. `2026-11-23T13:45:00Z`.
pub fn now() -> String {
    let ts = jiff::Timestamp::now();
    jiff::Timestamp::from_second(ts.as_second())
        .unwrap_or(ts)
        .to_string()
}

/// The commit the manifests came from: the flag, else `GITHUB_SHA`, else `CI_COMMIT_SHA`.
pub fn revision(flag: Option<&str>) -> Option<String> {
    let nonempty = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    flag.map(str::to_string)
        .and_then(nonempty)
        .or_else(|| std::env::var("GITHUB_SHA").ok().and_then(nonempty))
        .or_else(|| std::env::var("CI_COMMIT_SHA").ok().and_then(nonempty))
}

/// The repository's top level above `dir` (the nearest directory holding `.git`), else
/// `dir` itself.
pub fn repository_root(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(dir)
        .to_path_buf()
}

/// `path` as a reader of the repository sees it: relative to `root` when it lies under
/// it (`path` itself relative to `cwd`), with `/` separators; else unchanged.
pub fn relative_to(path: &str, root: &Path, cwd: &Path) -> String {
    let absolute = normalise(&cwd.join(path));
    let root = normalise(root);
    match absolute.strip_prefix(&root) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        _ => path.to_string(),
    }
}

/// `.` and `..` resolved without touching the file system (symlinks are not followed).
pub fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The documents with a committed JSON Schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// `dimctl plan --out` / `--format json`; `schema/plan.schema.json`.
    Plan,
    /// `dimctl apply --format json`; `schema/apply.schema.json`.
    Apply,
    /// `dimctl drift --format json`; `schema/drift.schema.json`.
    Drift,
    /// `dimctl validate --format json`; `schema/validate.schema.json` (one shape: validate
    /// has no workspaces).
    Validate,
}

impl Document {
    /// The committed file, relative to the repository.
    pub fn file(self) -> &'static str {
        match self {
            Document::Plan => "schema/plan.schema.json",
            Document::Apply => "schema/apply.schema.json",
            Document::Drift => "schema/drift.schema.json",
            Document::Validate => "schema/validate.schema.json",
        }
    }

    /// The JSON Schema (draft 2020-12) as pretty JSON with a trailing newline: `oneOf`
    /// the document of one account and the [`Workspaces`] wrapper of several.
    pub fn schema_text(self) -> String {
        let (mut schema, title) = match self {
            Document::Plan => (
                schemars::schema_for!(OneOrSeveral<crate::plan::Plan>),
                "Plan",
            ),
            Document::Apply => (
                schemars::schema_for!(OneOrSeveral<crate::apply::ApplyReport>),
                "ApplyReport",
            ),
            Document::Drift => (
                schemars::schema_for!(OneOrSeveral<crate::drift::DriftReport>),
                "DriftReport",
            ),
            Document::Validate => (
                schemars::schema_for!(crate::manifest::ValidateReport<'static>),
                "ValidateReport",
            ),
        };
        if let Some(map) = schema.as_object_mut() {
            // The two shapes exclude each other (only the wrapper has `workspaces`, only
            // the single document has `endpoint`): say so with `oneOf`.
            let shapes = map.remove("anyOf");
            map.insert("title".into(), title.into());
            if let Some(shapes) = shapes {
                map.insert("oneOf".into(), shapes);
            }
        }
        serde_json::to_string_pretty(&schema).unwrap_or_else(|_| "{}".to_string()) + "\n"
    }
}

/// The JSON document of a run over several workspaces (`plan`, `apply` and `drift` with
/// `workspaces:` in dimctl.yaml): one ordinary document per workspace, by name, stamped
/// like the single documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "Workspaces")]
pub struct Workspaces<T> {
    /// The format version of the documents inside.
    pub format_version: u32,
    /// The dimctl that made the document.
    #[serde(default)]
    pub dimctl_version: String,
    /// When the document was made (RFC 3339, UTC).
    #[serde(default)]
    pub generated_at: String,
    /// The commit the manifests came from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// One document per workspace, by name (sorted).
    pub workspaces: BTreeMap<String, T>,
}

impl<T> Workspaces<T> {
    /// A document of several workspaces, stamped now with this dimctl's version.
    pub fn stamped(
        format_version: u32,
        workspaces: BTreeMap<String, T>,
        revision: Option<String>,
    ) -> Self {
        Workspaces {
            format_version,
            dimctl_version: VERSION.to_string(),
            generated_at: now(),
            revision,
            workspaces,
        }
    }
}

/// The schema of a document that is either one account's or several workspaces'.
#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)] // only its schema is used
enum OneOrSeveral<T> {
    One(T),
    Several(Workspaces<T>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_relative_to_the_repository() {
        let root = Path::new("/work/repo");
        let cwd = Path::new("/work/repo/sub");
        assert_eq!(
            relative_to("customers/a.yaml", root, cwd),
            "sub/customers/a.yaml"
        );
        assert_eq!(relative_to("../x/a.yaml", root, cwd), "x/a.yaml");
        assert_eq!(relative_to("/work/repo/c/a.yaml", root, cwd), "c/a.yaml");
        assert_eq!(
            relative_to("/elsewhere/a.yaml", root, cwd),
            "/elsewhere/a.yaml"
        );
    }

    #[test]
    fn the_timestamp_is_rfc3339_utc_to_the_second() {
        let t = now();
        assert!(t.ends_with('Z') && !t.contains('.'), "{t}");
        assert!(t.parse::<jiff::Timestamp>().is_ok(), "{t}");
    }
}
