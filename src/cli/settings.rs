//! Applying `dimctl.yaml` and the environment to the parsed flags: the one place where the
//! three sources meet (see [`crate::config`] for the precedence rules). Every command that
//! talks to a tenant store calls [`configure`] before connecting.

use std::path::{Path, PathBuf};

use crate::config::{self, ConfigFile, Effective, Flags};

use super::CliError;
use super::plan_args::PlanArgs;
use super::target::TargetArgs;

/// Settings that only some commands have as flags (apply's parallelism, drift's window).
#[derive(Debug, Clone, Copy, Default)]
pub struct Extra {
    pub parallelism: Option<usize>,
    pub trial_warning_days: Option<u32>,
}

/// Find and read the configuration file for these manifest paths (walking up from the
/// first path, or the current directory). An invalid file is an error with diagnostics
/// printed on stderr, before anything else is done.
pub fn find_file(paths: &[PathBuf]) -> Result<Option<(PathBuf, ConfigFile)>, CliError> {
    let start = paths.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let Some(path) = config::discover(&start) else {
        return Ok(None);
    };
    let file = read_file(&path)?;
    Ok(Some((path, file)))
}

/// Read and check one configuration file against its schema.
pub fn read_file(path: &Path) -> Result<ConfigFile, CliError> {
    let name = path.display().to_string();
    let text = crate::manifest::source::read_text(path)
        .map_err(|e| CliError::failure(format!("{name}: {}", e.message)))?;
    config::check::check(&name, &text).map_err(|diags| {
        let colour = super::logging::stderr_color();
        crate::err!("{}", crate::manifest::render_text(&diags, colour));
        CliError::failure(format!(
            "{name} is not a valid dimctl configuration; nothing was done"
        ))
    })
}

/// The manifest paths in force for a command without a target (`validate`): the paths
/// given, else dimctl.yaml's `manifests`, else `.`. A dimctl.yaml found is checked.
pub fn manifest_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let file = find_file(paths)?;
    let flags = Flags {
        paths: paths.to_vec(),
        ..Flags::default()
    };
    let (effective, _) = config::resolve(
        &flags,
        &|_| None,
        file.as_ref().map(|(p, f)| (p.as_path(), f)),
    );
    Ok(effective.paths.value)
}

/// Resolve the effective configuration and write it back into the flags, so commands
/// read one set of values. Prints a note for every environment override of the file.
pub fn configure(
    target: &mut TargetArgs,
    plan: Option<&mut PlanArgs>,
    extra: Extra,
) -> Result<Effective, CliError> {
    let paths = plan.as_ref().map(|p| p.paths.clone()).unwrap_or_default();
    let file = find_file(&paths)?;
    let flags = Flags {
        api_url: target.api_url.clone(),
        region: target.region.clone(),
        account: target.account.clone(),
        token_url: target.token_url.clone(),
        sandbox: target.sandbox.clone(),
        paths,
        prune: plan.as_ref().and_then(|p| p.prune.then_some(true)),
        parallelism: extra.parallelism,
        max_rps: target.max_rps,
        max_in_flight: target.max_in_flight.map(|n| n as usize),
        max_update_share: plan.as_ref().and_then(|p| p.max_update_share),
        max_delete_share: plan.as_ref().and_then(|p| p.max_delete_share),
        trial_warning_days: extra.trial_warning_days,
    };
    super::target::register_credential_env();
    let env = |name: &str| std::env::var(name).ok();
    let (effective, notices) =
        config::resolve(&flags, &env, file.as_ref().map(|(p, f)| (p.as_path(), f)));
    for n in &notices {
        crate::errln!("note: {n}");
    }
    // Every number is range-checked here, whichever source gave it, before any use.
    config::limits::check(&effective, target.timeout)
        .map_err(|e| CliError::failure(format!("{e}; nothing was done")))?;
    if target.sandbox.is_none() {
        target.api_url = effective.api_url.as_ref().map(|s| s.value.clone());
        target.region = effective.region.as_ref().map(|s| s.value.clone());
        if let Some(region) = &target.region
            && !config::REGIONS.contains(&region.as_str())
        {
            return Err(CliError::usage(format!(
                "unknown region `{region}` (from {}): use au, eu, na or uk",
                effective
                    .region
                    .as_ref()
                    .map(|s| s.origin.to_string())
                    .unwrap_or_default()
            )));
        }
    }
    target.account = effective.account.as_ref().map(|s| s.value.clone());
    target.token_url = effective.token_url.as_ref().map(|s| s.value.clone());
    for url in [&target.api_url, &target.token_url].into_iter().flatten() {
        crate::redact::register_url(url);
    }
    target.max_rps = effective.max_rps.as_ref().map(|s| s.value);
    target.max_in_flight = Some(effective.max_in_flight.value as u64);
    if let Some(plan) = plan {
        plan.paths = effective.paths.value.clone();
        plan.prune = effective.prune.value;
        plan.max_update_share = Some(effective.max_update_share.value);
        plan.max_delete_share = Some(effective.max_delete_share.value);
        plan.min_existing = Some(effective.min_existing.value);
    }
    Ok(effective)
}
