//! Applying `dimctl.yaml` and the environment to the parsed flags: the one place where the
//! three sources meet (see [`crate::config`] for the precedence rules). Every command that
//! talks to a tenant store calls [`configure`] (one target) or [`workspaces`] (a file that
//! declares several accounts) before connecting. Settings are resolved once per run, or
//! once per workspace: flags, then environment, then the workspace's keys, then the file's
//! top level, then defaults.

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

/// One workspace of a `dimctl.yaml`, resolved: its own target (with the variable holding
/// its token) and plan settings, as a single run would have them.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub name: String,
    pub target: TargetArgs,
    pub plan: PlanArgs,
    pub effective: Effective,
}

/// Find and read the configuration file for these manifest paths (walking up from each
/// path, or the current directory). Paths under different files are refused (exit 1,
/// naming both) unless a file above all of them declares `workspaces`, which is then the
/// one used. An invalid file is an error with diagnostics printed on stderr, before
/// anything else is done.
pub fn find_file(paths: &[PathBuf]) -> Result<Option<(PathBuf, ConfigFile)>, CliError> {
    let start = paths.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let first = config::discover(&start);
    let other = paths
        .iter()
        .skip(1)
        .map(|p| (p, config::discover(p)))
        .find(|(_, f)| *f != first);
    if let Some((other_path, other_file)) = other {
        // Walk up from the paths' common ancestor: a root declaring workspaces settles it.
        let mut dir = common_ancestor(paths);
        while let Some(candidate) = dir.as_deref().and_then(config::discover) {
            let file = read_file(&candidate)?;
            if file.workspaces.is_some() {
                return Ok(Some((candidate, file)));
            }
            dir = candidate
                .parent()
                .and_then(Path::parent)
                .map(Path::to_path_buf);
        }
        let name = |f: &Option<PathBuf>| {
            f.as_ref()
                .map_or("no dimctl.yaml".to_string(), |p| p.display().to_string())
        };
        return Err(CliError::failure(format!(
            "{} falls under {} but {} under {}: one run reads one configuration, so one account's manifests would be planned against the other's target; run dimctl once per directory, or declare both as `workspaces:` in a dimctl.yaml above them; nothing was done",
            start.display(),
            name(&first),
            other_path.display(),
            name(&other_file),
        )));
    }
    let Some(path) = first else {
        return Ok(None);
    };
    let file = read_file(&path)?;
    Ok(Some((path, file)))
}

/// An absolute path with `.` and `..` resolved lexically (symlinks are not followed).
fn lexical(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    crate::document::normalise(&abs)
}

/// The deepest directory holding every path (a file counts by its directory).
fn common_ancestor(paths: &[PathBuf]) -> Option<PathBuf> {
    let mut dirs = paths.iter().map(|p| {
        let abs = lexical(p);
        if abs.is_dir() {
            abs
        } else {
            abs.parent().map(Path::to_path_buf).unwrap_or(abs)
        }
    });
    let mut common = dirs.next()?;
    for d in dirs {
        while !d.starts_with(&common) {
            if !common.pop() {
                return None;
            }
        }
    }
    Some(common)
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
/// given, else dimctl.yaml's `manifests` (every workspace's, when it declares
/// workspaces), else `.`. A dimctl.yaml found is checked.
pub fn manifest_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let file = find_file(paths)?;
    if let (Some((path, cfg)), true) = (&file, paths.is_empty()) {
        let mut all = Vec::new();
        for name in cfg.workspace_names() {
            if let Some(ws) = cfg.for_workspace(&name) {
                let (e, _) = config::resolve(&Flags::default(), &|_| None, Some((path, &ws)));
                all.extend(e.paths.value);
            }
        }
        if !all.is_empty() {
            return Ok(all);
        }
    }
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

/// Whether dimctl.yaml (found as for [`manifest_paths`]) says `requireAdmin: true`.
pub fn require_admin(paths: &[PathBuf]) -> Result<bool, CliError> {
    Ok(find_file(paths)?
        .and_then(|(_, cfg)| cfg.require_admin)
        .unwrap_or(false))
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
    settle(
        target,
        plan,
        extra,
        file.as_ref().map(|(p, f)| (p.as_path(), f)),
    )
}

/// Resolve flags, environment and one configuration (a file, or one workspace of it) and
/// write the result back into the flags.
fn settle(
    target: &mut TargetArgs,
    plan: Option<&mut PlanArgs>,
    extra: Extra,
    file: Option<(&Path, &ConfigFile)>,
) -> Result<Effective, CliError> {
    let paths = plan.as_ref().map(|p| p.paths.clone()).unwrap_or_default();
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
        max_create_share: plan.as_ref().and_then(|p| p.max_create_share),
        trial_warning_days: extra.trial_warning_days,
    };
    super::target::register_credential_env();
    let env = |name: &str| std::env::var(name).ok();
    let (effective, notices) = config::resolve(&flags, &env, file);
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
        plan.max_create_share = Some(effective.max_create_share.value);
        plan.min_existing = Some(effective.min_existing.value);
    }
    Ok(effective)
}

/// The environment variables that name a target: with workspaces, each workspace names
/// its own, so these may only narrow a run of one workspace.
const TARGET_VARS: &[&str] = &[config::ENV_API_URL, config::ENV_REGION, config::ENV_ACCOUNT];

/// When the `dimctl.yaml` in force declares `workspaces:`, resolve the workspaces this run
/// covers (all, or those `--workspace` names, or those holding the paths given), each with
/// its own settings; `None` for a file without workspaces (then [`configure`] applies).
/// `--workspace` without such a file, an unknown name, a path in no workspace, or a target
/// flag or variable over several workspaces is an error (exit 1).
pub fn workspaces(
    target: &TargetArgs,
    plan: &PlanArgs,
    extra: Extra,
) -> Result<Option<Vec<Workspace>>, CliError> {
    let file = find_file(&plan.paths)?;
    let Some((path, cfg)) = file.filter(|(_, f)| f.workspaces.is_some()) else {
        if let Some(name) = plan.workspaces.first() {
            return Err(CliError::failure(format!(
                "--workspace {name}: no dimctl.yaml declaring `workspaces:` was found above {}",
                plan.paths
                    .first()
                    .map_or(".".to_string(), |p| p.display().to_string())
            )));
        }
        return Ok(None);
    };
    let names = cfg.workspace_names();
    for wanted in &plan.workspaces {
        if !names.contains(wanted) {
            let hint = match crate::manifest::diagnostic::did_you_mean(
                wanted,
                names.iter().map(String::as_str),
            ) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("declared: {}", names.join(", ")),
            };
            return Err(CliError::failure(format!(
                "--workspace {wanted}: {} declares no such workspace; {hint}",
                path.display()
            )));
        }
    }
    let routed = route(&path, &cfg, &plan.paths)?;
    let selected: Vec<(String, Vec<PathBuf>)> = routed
        .into_iter()
        .filter(|(name, _)| plan.workspaces.is_empty() || plan.workspaces.contains(name))
        .collect();
    if selected.is_empty() {
        return Err(CliError::failure(format!(
            "no workspace of {} holds the paths given and is named by --workspace; nothing was done",
            path.display()
        )));
    }
    if selected.len() > 1 {
        let flag = [
            (target.api_url.is_some(), "--api-url"),
            (target.region.is_some(), "--region"),
            (target.account.is_some(), "--account"),
            (target.sandbox.is_some(), "--sandbox"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then(|| name.to_string()))
        .or_else(|| {
            TARGET_VARS
                .iter()
                .find(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()))
                .map(|v| v.to_string())
        });
        if let Some(flag) = flag {
            return Err(CliError::failure(format!(
                "{flag} would send every workspace of {} to one target; each workspace names its own: drop {flag}, or pick one workspace with --workspace NAME",
                path.display()
            )));
        }
    }
    let mut out = Vec::new();
    for (name, paths) in selected {
        let Some(ws_file) = cfg.for_workspace(&name) else {
            continue;
        };
        let mut ws_target = target.clone();
        ws_target.token_env = cfg
            .workspaces
            .as_ref()
            .and_then(|w| w.get(&name))
            .and_then(|w| w.token_env.clone());
        let mut ws_plan = plan.clone();
        ws_plan.paths = paths;
        let effective = settle(
            &mut ws_target,
            Some(&mut ws_plan),
            extra,
            Some((&path, &ws_file)),
        )
        .map_err(|e| CliError {
            code: e.code,
            message: format!("workspace {name}: {}", e.message),
        })?;
        out.push(Workspace {
            name,
            target: ws_target,
            plan: ws_plan,
            effective,
        });
    }
    Ok(Some(out))
}

/// Which workspaces the paths given belong to, and with which of the paths: a path inside
/// a workspace's manifests narrows it to that path; a directory holding a workspace's
/// manifests selects them whole. No paths: every workspace with its own manifests. A path
/// in no workspace is an error.
fn route(
    file: &Path,
    cfg: &ConfigFile,
    paths: &[PathBuf],
) -> Result<Vec<(String, Vec<PathBuf>)>, CliError> {
    let base = file.parent().unwrap_or(Path::new("."));
    let mut out: Vec<(String, Vec<PathBuf>)> = Vec::new();
    let mut used = vec![false; paths.len()];
    for (name, ws) in cfg.workspaces.iter().flatten() {
        if paths.is_empty() {
            out.push((name.clone(), Vec::new()));
            continue;
        }
        let manifests: Vec<PathBuf> = ws
            .manifests
            .iter()
            .map(|m| lexical(&base.join(m)))
            .collect();
        let mut mine = Vec::new();
        for (i, p) in paths.iter().enumerate() {
            let abs = lexical(p);
            if manifests.iter().any(|m| abs.starts_with(m)) {
                mine.push(p.clone());
                used[i] = true;
            } else {
                let inside: Vec<&PathBuf> =
                    manifests.iter().filter(|m| m.starts_with(&abs)).collect();
                if !inside.is_empty() {
                    mine.extend(inside.into_iter().cloned());
                    used[i] = true;
                }
            }
        }
        if !mine.is_empty() {
            mine.dedup();
            out.push((name.clone(), mine));
        }
    }
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(CliError::failure(format!(
            "{} is in no workspace of {}: every manifest path must fall under one workspace's `manifests`; nothing was done",
            paths[i].display(),
            file.display()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ConfigFile {
        let text = "apiVersion: dimctl/v1\nkind: Config\nworkspaces:\n  uk:\n    target: {region: uk}\n    manifests: [accounts/uk]\n  au:\n    target: {region: au}\n    manifests: [accounts/au, shared/au]\n";
        config::check::check("dimctl.yaml", text).expect("valid")
    }

    #[test]
    fn paths_route_to_the_workspaces_that_hold_them() {
        let file = Path::new("/repo/dimctl.yaml");
        let c = cfg();
        // No paths: every workspace, with its own manifests.
        let all = route(file, &c, &[]).unwrap();
        assert_eq!(
            all.iter()
                .map(|(n, p)| (n.as_str(), p.len()))
                .collect::<Vec<_>>(),
            [("au", 0), ("uk", 0)]
        );
        // A file inside a workspace narrows it to that file.
        let one = route(file, &c, &[PathBuf::from("/repo/accounts/uk/a.yaml")]).unwrap();
        assert_eq!(
            one,
            [(
                "uk".to_string(),
                vec![PathBuf::from("/repo/accounts/uk/a.yaml")]
            )]
        );
        // A directory above manifests selects them whole, in every workspace it holds.
        let both = route(file, &c, &[PathBuf::from("/repo/accounts/../accounts")]).unwrap();
        assert_eq!(both.len(), 2, "{both:?}");
        assert_eq!(both[0].1, [PathBuf::from("/repo/accounts/au")]);
        // A path in no workspace is an error naming it.
        let e = route(file, &c, &[PathBuf::from("/repo/eu")]).unwrap_err();
        assert!(
            e.message.contains("/repo/eu is in no workspace"),
            "{}",
            e.message
        );
    }

    #[test]
    fn the_common_ancestor_of_paths() {
        let dir = tempfile::tempdir().unwrap();
        for d in ["a/x", "a/y", "b"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        let p = |s: &str| dir.path().join(s);
        assert_eq!(
            common_ancestor(&[p("a/x"), p("a/y")]),
            Some(lexical(&p("a")))
        );
        assert_eq!(
            common_ancestor(&[p("a/x"), p("b")]),
            Some(lexical(dir.path()))
        );
    }
}
