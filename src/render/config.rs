//! `dimctl config`'s output: the effective configuration, one `key = value  (origin)` line
//! per setting, or JSON; per workspace when dimctl.yaml declares workspaces.
//!
//! Pure: the resolved configuration in, a string out. Must not read the environment: the
//! caller says whether a workspace's token variable is set. Credentials are named, never
//! valued (the configuration holds no value to show).

use crate::config::Effective;

/// A workspace's `tokenEnv`: the variable's name and whether it is set (never its value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenEnv<'a> {
    pub name: &'a str,
    pub set: bool,
}

/// One workspace's configuration, as `dimctl config` shows it.
#[derive(Debug, Clone, Copy)]
pub struct WorkspaceConfig<'a> {
    pub name: &'a str,
    pub effective: &'a Effective,
    pub token_env: Option<TokenEnv<'a>>,
}

/// One line per setting, each with its origin, then the credentials found.
pub fn text(e: &Effective) -> String {
    let mut lines = vec![format!(
        "config file            = {}",
        e.file.as_deref().unwrap_or("(none found)")
    )];
    for row in e.rows() {
        let value = row.value.unwrap_or_else(|| "(unset)".into());
        let origin = row.origin.map(|o| format!("  ({o})")).unwrap_or_default();
        lines.push(format!("{:<22} = {value}{origin}", row.key));
    }
    let creds = if e.credentials.is_empty() {
        "(none in the environment)".to_string()
    } else {
        e.credentials
            .iter()
            .map(|c| format!("{c}=(set, redacted)"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    lines.push(format!("{:<22} = {creds}", "credentials"));
    lines.join("\n") + "\n"
}

/// The configuration as pretty JSON.
pub fn json(e: &Effective) -> String {
    serde_json::to_string_pretty(e).unwrap_or_default() + "\n"
}

/// A section per workspace: `[workspace NAME]`, its settings, and its token variable.
pub fn workspaces_text(workspaces: &[WorkspaceConfig<'_>]) -> String {
    workspaces
        .iter()
        .map(|w| {
            let token = w.token_env.map_or(String::new(), |t| {
                format!(
                    "{:<22} = {} ({})\n",
                    "tokenEnv",
                    t.name,
                    if t.set { "set, redacted" } else { "not set" }
                )
            });
            format!("[workspace {}]\n{}{token}", w.name, text(w.effective))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every workspace's configuration as one JSON document, with the file they come from.
pub fn workspaces_json(workspaces: &[WorkspaceConfig<'_>]) -> String {
    let doc = serde_json::json!({
        "file": workspaces.first().and_then(|w| w.effective.file.clone()),
        "workspaces": workspaces
            .iter()
            .map(|w| (w.name.to_string(), workspace_json(w)))
            .collect::<serde_json::Map<_, _>>(),
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

fn workspace_json(w: &WorkspaceConfig<'_>) -> serde_json::Value {
    let mut v = serde_json::to_value(w.effective).unwrap_or_default();
    if let (Some(obj), Some(t)) = (v.as_object_mut(), w.token_env) {
        obj.insert(
            "tokenEnv".into(),
            serde_json::json!({"name": t.name, "set": t.set}),
        );
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Flags, resolve};

    #[test]
    fn every_setting_has_a_line_with_its_origin() {
        let (e, _) = resolve(&Flags::default(), &|_| None, None);
        let t = text(&e);
        assert!(
            t.starts_with("config file            = (none found)\n"),
            "{t}"
        );
        assert!(t.contains("parallelism            = 8  (default)\n"), "{t}");
        assert!(t.contains("target.apiUrl          = (unset)\n"), "{t}");
        assert!(
            t.ends_with("credentials            = (none in the environment)\n"),
            "{t}"
        );
        assert_eq!(t.lines().count(), e.rows().len() + 2);
    }

    #[test]
    fn a_token_variable_is_named_and_never_valued() {
        let (e, _) = resolve(&Flags::default(), &|_| None, None);
        let ws = [WorkspaceConfig {
            name: "uk",
            effective: &e,
            token_env: Some(TokenEnv {
                name: "DIMCTL_TOKEN_UK",
                set: true,
            }),
        }];
        let t = workspaces_text(&ws);
        assert!(t.starts_with("[workspace uk]\n"), "{t}");
        assert!(
            t.ends_with("tokenEnv               = DIMCTL_TOKEN_UK (set, redacted)\n"),
            "{t}"
        );
        let j: serde_json::Value = serde_json::from_str(&workspaces_json(&ws)).unwrap();
        assert_eq!(j["workspaces"]["uk"]["tokenEnv"]["set"], true);
    }
}
