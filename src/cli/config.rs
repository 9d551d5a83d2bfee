//! `dimctl config`: print the effective configuration and where each value came from.

use crate::config::{Effective, Sourced};

use super::{CliResult, exit};

/// How to print the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub plan: super::plan::PlanArgs,

    #[command(flatten)]
    pub target: super::target::TargetArgs,

    /// As `apply --parallelism`, to see the value in force.
    #[arg(long, value_name = "N")]
    pub parallelism: Option<usize>,

    /// As `drift --trial-warning-days`, to see the value in force.
    #[arg(long, value_name = "DAYS")]
    pub trial_warning_days: Option<u32>,

    /// text (one `key = value  (origin)` line each) or json.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

pub async fn run(mut args: Args) -> CliResult {
    let extra = super::settings::Extra {
        parallelism: args.parallelism,
        trial_warning_days: args.trial_warning_days,
    };
    if let Some(workspaces) = super::settings::workspaces(&args.target, &args.plan, extra)? {
        let out = match args.format {
            Format::Json => {
                let doc = serde_json::json!({
                    "file": workspaces.first().and_then(|w| w.effective.file.clone()),
                    "workspaces": workspaces
                        .iter()
                        .map(|w| (w.name.clone(), workspace_json(w)))
                        .collect::<serde_json::Map<_, _>>(),
                });
                serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
            }
            Format::Text => workspaces
                .iter()
                .map(|w| {
                    let token = w.target.token_env.as_deref().map_or(String::new(), |v| {
                        let set = std::env::var(v).is_ok_and(|s| !s.trim().is_empty());
                        format!(
                            "{:<22} = {v} ({})\n",
                            "tokenEnv",
                            if set { "set, redacted" } else { "not set" }
                        )
                    });
                    format!("[workspace {}]\n{}{token}", w.name, text(&w.effective))
                })
                .collect::<Vec<_>>()
                .join("\n"),
        };
        super::write_stdout(out.as_bytes())?;
        return Ok(exit::OK);
    }
    let effective = super::settings::configure(&mut args.target, Some(&mut args.plan), extra)?;
    let out = match args.format {
        Format::Json => serde_json::to_string_pretty(&effective).unwrap_or_default() + "\n",
        Format::Text => text(&effective),
    };
    super::write_stdout(out.as_bytes())?;
    Ok(exit::OK)
}

fn text(e: &Effective) -> String {
    let mut lines = vec![format!(
        "config file            = {}",
        e.file.as_deref().unwrap_or("(none found)")
    )];
    let mut add = |key: &str, value: Option<String>, origin: Option<String>| {
        let value = value.unwrap_or_else(|| "(unset)".into());
        let origin = origin.map(|o| format!("  ({o})")).unwrap_or_default();
        lines.push(format!("{key:<22} = {value}{origin}"));
    };
    fn show<T: std::fmt::Debug>(s: &Option<Sourced<T>>) -> (Option<String>, Option<String>) {
        match s {
            Some(s) => (
                Some(format!("{:?}", s.value).trim_matches('"').to_string()),
                Some(s.origin.to_string()),
            ),
            None => (None, None),
        }
    }
    let (v, o) = show(&e.sandbox);
    add("sandbox", v, o);
    let (v, o) = show(&e.api_url);
    add("target.apiUrl", v, o);
    let (v, o) = show(&e.region);
    add("target.region", v, o);
    let (v, o) = show(&e.account);
    add("target.account", v, o);
    let (v, o) = show(&e.token_url);
    add("target.tokenUrl", v, o);
    let paths: Vec<String> = e
        .paths
        .value
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    add(
        "manifests",
        Some(paths.join(", ")),
        Some(e.paths.origin.to_string()),
    );
    add(
        "prune",
        Some(e.prune.value.to_string()),
        Some(e.prune.origin.to_string()),
    );
    add(
        "parallelism",
        Some(e.parallelism.value.to_string()),
        Some(e.parallelism.origin.to_string()),
    );
    let (v, o) = show(&e.max_rps);
    add("maxRps", v, o);
    add(
        "maxInFlight",
        Some(e.max_in_flight.value.to_string()),
        Some(e.max_in_flight.origin.to_string()),
    );
    add(
        "safety.maxUpdateShare",
        Some(e.max_update_share.value.to_string()),
        Some(e.max_update_share.origin.to_string()),
    );
    add(
        "safety.maxDeleteShare",
        Some(e.max_delete_share.value.to_string()),
        Some(e.max_delete_share.origin.to_string()),
    );
    add(
        "safety.minExisting",
        Some(e.min_existing.value.to_string()),
        Some(e.min_existing.origin.to_string()),
    );
    add(
        "trialWarningDays",
        Some(e.trial_warning_days.value.to_string()),
        Some(e.trial_warning_days.origin.to_string()),
    );
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

/// One workspace's effective configuration as JSON, with the variable naming its token
/// (whether it is set; never its value).
fn workspace_json(w: &super::settings::Workspace) -> serde_json::Value {
    let mut v = serde_json::to_value(&w.effective).unwrap_or_default();
    if let (Some(obj), Some(var)) = (v.as_object_mut(), &w.target.token_env) {
        let set = std::env::var(var).is_ok_and(|s| !s.trim().is_empty());
        obj.insert(
            "tokenEnv".into(),
            serde_json::json!({"name": var, "set": set}),
        );
    }
    v
}
