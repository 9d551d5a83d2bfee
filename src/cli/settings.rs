//! Applying `dimctl.yaml` and the environment to the parsed flags: the one place where the
//! three sources meet (see [`crate::config`] for the precedence rules).

use std::path::{Path, PathBuf};

use crate::config::{self, ConfigFile, Effective, Flags};

use super::CliError;
use super::plan::PlanArgs;
use super::target::TargetArgs;

/// Find and read the configuration file for these manifest paths (walking up from the
/// first path, or the current directory).
pub fn find_file(paths: &[PathBuf]) -> Result<Option<(PathBuf, ConfigFile)>, CliError> {
    let start = paths.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let Some(path) = config::discover(&start) else {
        return Ok(None);
    };
    let file = read_file(&path)?;
    Ok(Some((path, file)))
}

/// Read and check one configuration file.
pub fn read_file(path: &Path) -> Result<ConfigFile, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::failure(format!("{}: cannot read: {e}", path.display())))?;
    serde_saphyr::from_str::<ConfigFile>(&text)
        .map_err(|e| CliError::failure(format!("{}: {e}", path.display())))
}

/// Resolve the effective configuration and write it back into the flags, so commands
/// read one set of values. Prints a note for every environment override of the file.
pub fn configure(
    target: &mut TargetArgs,
    plan: Option<&mut PlanArgs>,
) -> Result<Effective, CliError> {
    let paths = plan.as_ref().map(|p| p.paths.clone()).unwrap_or_default();
    let file = find_file(&paths)?;
    let flags = Flags {
        api_url: target.api_url.clone(),
        region: target.region.clone(),
        sandbox: target.sandbox.clone(),
        paths,
        prune: plan.as_ref().and_then(|p| p.prune.then_some(true)),
        ..Flags::default()
    };
    let env = |name: &str| std::env::var(name).ok();
    let (effective, notices) =
        config::resolve(&flags, &env, file.as_ref().map(|(p, f)| (p.as_path(), f)));
    for n in &notices {
        eprintln!("note: {n}");
    }
    if target.sandbox.is_none() {
        target.api_url = effective.api_url.as_ref().map(|s| s.value.clone());
        target.region = effective.region.as_ref().map(|s| s.value.clone());
    }
    if let Some(plan) = plan {
        plan.paths = effective.paths.value.clone();
        plan.prune = effective.prune.value;
    }
    Ok(effective)
}
