//! Settings are resolved here, once: the flags a command was given ([`Given`], only what
//! the user typed), the environment and `dimctl.yaml` become one [`Settings`] value (or one
//! per workspace), which is all a command then reads. Precedence, highest first: flags,
//! environment, the workspace's keys, the file's top level, the defaults (one table:
//! [`crate::config::defaults`]); [`crate::config::resolve`] does the merge, this module
//! finds the file, range-checks the result and turns it into what commands use.
//!
//! Owns: finding and reading dimctl.yaml for a run, workspace routing, the resolved
//! [`Settings`]. Must not: hold defaults of its own, write resolved values back into the
//! clap argument structs, or print anything but the notices of environment overrides and
//! an invalid file's diagnostics.
//!
//! Adding a setting: its field in [`crate::config::Flags`] (if it has a flag), in
//! [`crate::config::ConfigFile`] (and `WorkspaceConfig`, merged in `for_workspace`), its
//! default in [`crate::config::defaults`], its line in [`crate::config::resolve`] and
//! [`crate::config::Effective`] (with its row in `Effective::rows`, which `dimctl config`
//! prints), then read it from [`Settings`] here.

use std::path::{Path, PathBuf};

use crate::config::{self, ConfigFile, Effective, Flags};
use crate::plan::Policy;

use super::CliError;
use super::plan_args::PlanArgs;
use super::target::{Target, TargetArgs};

/// What the user typed for one run: the target flags, the plan flags (commands that
/// plan), and the settings only some commands have as flags. Nothing resolved here.
#[derive(Debug, Clone, Copy)]
pub struct Given<'a> {
    pub target: &'a TargetArgs,
    pub plan: Option<&'a PlanArgs>,
    /// `--revision` (plan, apply, drift).
    pub revision: Option<&'a str>,
    /// `--parallelism` (apply, config).
    pub parallelism: Option<usize>,
    /// `--trial-warning-days` (drift, config).
    pub trial_warning_days: Option<u32>,
    /// `--base REV` (plan, apply): not a setting, carried into [`PlanSettings::base`].
    pub base: Option<&'a str>,
}

impl<'a> Given<'a> {
    /// A command with target flags only (`import`).
    pub fn target(target: &'a TargetArgs) -> Self {
        Given {
            target,
            plan: None,
            revision: None,
            parallelism: None,
            trial_warning_days: None,
            base: None,
        }
    }

    /// A command with target and plan flags.
    pub fn plan(target: &'a TargetArgs, plan: &'a PlanArgs) -> Self {
        Given {
            plan: Some(plan),
            ..Given::target(target)
        }
    }

    fn paths(&self) -> &'a [PathBuf] {
        self.plan.map_or(&[], |p| p.paths.as_slice())
    }

    /// The settings given on the command line, for [`config::resolve`].
    fn flags(&self) -> Flags {
        let t = self.target;
        let p = self.plan;
        Flags {
            api_url: t.api_url.clone(),
            region: t.region.clone(),
            account: t.account.clone(),
            token_url: t.token_url.clone(),
            sandbox: t.sandbox.clone(),
            paths: self.paths().to_vec(),
            prune: p.and_then(|p| p.prune.then_some(true)),
            parallelism: self.parallelism,
            max_rps: t.max_rps,
            max_in_flight: t
                .max_in_flight
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            max_update_share: p.and_then(|p| p.max_update_share),
            max_delete_share: p.and_then(|p| p.max_delete_share),
            max_create_share: p.and_then(|p| p.max_create_share),
            trial_warning_days: self.trial_warning_days,
        }
    }
}

/// Everything a command reads, resolved once (once per workspace).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Every value flags, environment or dimctl.yaml can set, with its origin (what
    /// `dimctl config` prints).
    pub effective: Effective,
    /// The tenant store to open.
    pub target: Target,
    /// What shapes a plan.
    pub plan: PlanSettings,
}

/// What shapes a plan: the manifests, the policy (without today's date, which the plan
/// step adds) and the commit recorded in it.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    pub paths: Vec<PathBuf>,
    pub policy: Policy,
    /// `--revision`, else GITHUB_SHA, else CI_COMMIT_SHA.
    pub revision: Option<String>,
    /// `plan --base REV` / `apply --base REV`: the git revision whose manifests stand for
    /// the write-only PBX settings the API cannot return.
    pub base: Option<String>,
    /// List the PBX profiles of every live customer, not only of those whose documents
    /// declare profiles (drift sets it).
    pub all_pbxs: bool,
    /// `requireAdmin` of dimctl.yaml: the administrator rule is an error.
    pub require_admin: bool,
}

impl Settings {
    /// How many customers apply works on at once.
    pub fn parallelism(&self) -> usize {
        self.effective.parallelism.value
    }

    /// Drift's trial warning window, in days.
    pub fn trial_warning_days(&self) -> u32 {
        self.effective.trial_warning_days.value
    }
}

/// The settings of a command that has target flags only (`import`): the file's top level,
/// never its workspaces.
pub fn resolve_target(target: &TargetArgs) -> Result<Settings, CliError> {
    match resolve(Given::target(target))? {
        Resolved::One(settings) => Ok(*settings),
        Resolved::Workspaces(_) => Err(CliError::failure(
            "this command reads one target, not workspaces",
        )),
    }
}

/// One workspace of a `dimctl.yaml`, resolved: its own target (with the variable holding
/// its token) and plan settings, as a single run would have them.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub name: String,
    pub settings: Settings,
}

/// The settings of a run: one target, or the workspaces of a dimctl.yaml declaring them.
#[derive(Debug)]
pub enum Resolved {
    One(Box<Settings>),
    Workspaces(Vec<Workspace>),
}

/// Resolve a run's settings: for a command with plan flags, when the dimctl.yaml in force
/// declares `workspaces:`, one [`Settings`] per workspace the run covers (see
/// [`workspaces`]); else one, from the file's top level.
pub fn resolve(given: Given<'_>) -> Result<Resolved, CliError> {
    let file = find_file(given.paths())?;
    if given.plan.is_some()
        && let Some(ws) = workspaces(given, file.as_ref())?
    {
        return Ok(Resolved::Workspaces(ws));
    }
    let settings = settle(
        given,
        given.paths(),
        None,
        file.as_ref().map(|(p, f)| (p.as_path(), f)),
    )?;
    Ok(Resolved::One(Box::new(settings)))
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

/// What a command without a target (`validate`) takes from flags and dimctl.yaml.
#[derive(Debug, Clone, PartialEq)]
pub struct Local {
    /// The paths given, else dimctl.yaml's `manifests` (every workspace's, when it
    /// declares workspaces), else `.`.
    pub paths: Vec<PathBuf>,
    /// `requireAdmin` of dimctl.yaml.
    pub require_admin: bool,
}

/// Resolve [`Local`] settings for these paths. A dimctl.yaml found is checked.
pub fn local(paths: &[PathBuf]) -> Result<Local, CliError> {
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
    let mut local = Local {
        paths: effective.paths.value,
        require_admin: effective.require_admin.value,
    };
    if let (Some((path, cfg)), true) = (&file, paths.is_empty()) {
        let mut all = Vec::new();
        for name in cfg.workspace_names() {
            if let Some(ws) = cfg.for_workspace(&name) {
                let (e, _) = config::resolve(&Flags::default(), &|_| None, Some((path, &ws)));
                all.extend(e.paths.value);
            }
        }
        if !all.is_empty() {
            local.paths = all;
        }
    }
    Ok(local)
}

/// Resolve flags, environment and one configuration (a file, or one workspace of it, with
/// the variable holding that workspace's token) into [`Settings`]. Prints a note for
/// every environment override of the file.
fn settle(
    given: Given<'_>,
    paths: &[PathBuf],
    token_env: Option<String>,
    file: Option<(&Path, &ConfigFile)>,
) -> Result<Settings, CliError> {
    let flags = Flags {
        paths: paths.to_vec(),
        ..given.flags()
    };
    super::target::register_credential_env();
    let env = |name: &str| std::env::var(name).ok();
    let (effective, notices) = config::resolve(&flags, &env, file);
    for n in &notices {
        crate::errln!("note: {n}");
    }
    let args = given.target;
    // Every number is range-checked here, whichever source gave it, before any use.
    config::limits::check(&effective, args.timeout)
        .map_err(|e| CliError::failure(format!("{e}; nothing was done")))?;
    let value = |s: &Option<config::Sourced<String>>| s.as_ref().map(|s| s.value.clone());
    let (api_url, region) = if args.sandbox.is_some() {
        (None, None)
    } else {
        (value(&effective.api_url), value(&effective.region))
    };
    if let (Some(region), Some(from)) = (&region, &effective.region)
        && !config::REGIONS.contains(&region.as_str())
    {
        return Err(CliError::usage(format!(
            "unknown region `{region}` (from {}): use au, eu, na or uk",
            from.origin
        )));
    }
    let target = Target {
        sandbox: args.sandbox.clone(),
        api_url,
        region,
        account: value(&effective.account),
        token_url: value(&effective.token_url),
        timeout: args.timeout,
        max_in_flight: effective.max_in_flight.value,
        max_rps: effective.max_rps.as_ref().map(|s| s.value),
        max_customers: args.max_customers,
        refresh_token_file: args.refresh_token_file.clone(),
        token_env,
    };
    for url in [&target.api_url, &target.token_url].into_iter().flatten() {
        if crate::redact::url_password_too_short(url) {
            return Err(CliError::failure(
                crate::redact::TooShort(format!(
                    "the password in the URL {}",
                    crate::redact::url_for_display(url)
                ))
                .to_string(),
            ));
        }
        crate::redact::register_url(url);
    }
    let plan = given.plan;
    let plan = PlanSettings {
        paths: effective.paths.value.clone(),
        policy: Policy {
            prune: effective.prune.value,
            allow_unsafe: plan.is_some_and(|p| p.allow_unsafe),
            write_unverifiable: plan.is_some_and(|p| p.write_unverifiable),
            targets: plan.map(|p| p.targets.clone()).unwrap_or_default(),
            max_update_share: effective.max_update_share.value,
            max_delete_share: effective.max_delete_share.value,
            max_create_share: effective.max_create_share.value,
            min_existing_for_thresholds: effective.min_existing.value,
            today: None,
            // `drift` reads every customer's users (see `cli::drift`).
            all_users: false,
        },
        revision: crate::document::revision(given.revision),
        base: given.base.map(str::to_owned),
        all_pbxs: false,
        require_admin: effective.require_admin.value,
    };
    Ok(Settings {
        effective,
        target,
        plan,
    })
}

/// The environment variables that name a target: with workspaces, each workspace names
/// its own, so these may only narrow a run of one workspace.
const TARGET_VARS: &[&str] = &[config::ENV_API_URL, config::ENV_REGION, config::ENV_ACCOUNT];

/// When the `dimctl.yaml` in force declares `workspaces:`, resolve the workspaces this run
/// covers (all, or those `--workspace` names, or those holding the paths given), each with
/// its own settings; `None` for a file without workspaces (one [`Settings`] then).
/// `--workspace` without such a file, an unknown name, a path in no workspace, or a target
/// flag or variable over several workspaces is an error (exit 1).
fn workspaces(
    given: Given<'_>,
    file: Option<&(PathBuf, ConfigFile)>,
) -> Result<Option<Vec<Workspace>>, CliError> {
    let target = given.target;
    let paths = given.paths();
    let wanted_names: &[String] = given.plan.map_or(&[], |p| p.workspaces.as_slice());
    let Some((path, cfg)) = file.filter(|(_, f)| f.workspaces.is_some()) else {
        if let Some(name) = wanted_names.first() {
            return Err(CliError::failure(format!(
                "--workspace {name}: no dimctl.yaml declaring `workspaces:` was found above {}",
                paths
                    .first()
                    .map_or(".".to_string(), |p| p.display().to_string())
            )));
        }
        return Ok(None);
    };
    let names = cfg.workspace_names();
    for wanted in wanted_names {
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
    let routed = route(path, cfg, paths)?;
    let selected: Vec<(String, Vec<PathBuf>)> = routed
        .into_iter()
        .filter(|(name, _)| wanted_names.is_empty() || wanted_names.contains(name))
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
        let token_env = cfg
            .workspaces
            .as_ref()
            .and_then(|w| w.get(&name))
            .and_then(|w| w.token_env.clone());
        let settings =
            settle(given, &paths, token_env, Some((path, &ws_file))).map_err(|e| CliError {
                code: e.code,
                message: format!("workspace {name}: {}", e.message),
            })?;
        out.push(Workspace { name, settings });
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

    /// Parse `dimctl apply ARGS` and resolve it against `file` (a dimctl.yaml's text).
    fn apply_settings(args: &[&str], file: &str) -> Settings {
        let cli = crate::cli::Cli::try_parse_from(["dimctl", "apply"].iter().chain(args).copied())
            .expect("parses");
        let crate::cli::Command::Apply(a) = cli.command else {
            panic!("not apply")
        };
        let cfg = config::check::check("dimctl.yaml", file).expect("valid");
        let given = Given {
            parallelism: a.parallelism.map(|n| n as usize),
            revision: a.revision.as_deref(),
            ..Given::plan(&a.target, &a.plan)
        };
        settle(
            given,
            given.paths(),
            None,
            Some((Path::new("/repo/dimctl.yaml"), &cfg)),
        )
        .expect("resolves")
    }

    use clap::Parser as _;

    #[test]
    fn flags_beat_the_file_and_the_file_beats_the_defaults() {
        let file = "apiVersion: dimctl/v1\nkind: Config\nmanifests: [tenants]\nprune: true\nparallelism: 4\nmaxInFlight: 9\nsafety: {maxDeleteShare: 0.1, minExisting: 3}\n";
        // The file over the defaults.
        let s = apply_settings(&["--sandbox", "/tmp/s.json"], file);
        assert_eq!(s.plan.paths, [PathBuf::from("/repo/tenants")]);
        assert!(s.plan.policy.prune);
        assert_eq!(s.parallelism(), 4);
        assert_eq!(s.target.max_in_flight, 9);
        assert_eq!(s.plan.policy.max_delete_share, 0.1);
        assert_eq!(s.plan.policy.min_existing_for_thresholds, 3);
        // What the file leaves out: the one defaults table.
        assert_eq!(s.plan.policy.max_update_share, config::defaults::SHARE);
        assert_eq!(s.trial_warning_days(), config::defaults::TRIAL_WARNING_DAYS);
        assert_eq!(s.target.sandbox, Some(PathBuf::from("/tmp/s.json")));
        assert_eq!(s.target.api_url, None, "a sandbox run has no URL");

        // Flags over the file.
        let s = apply_settings(
            &[
                "--sandbox",
                "/tmp/s.json",
                "--parallelism",
                "2",
                "--max-delete-share",
                "0.5",
                "--max-in-flight",
                "3",
                "--allow-unsafe",
                "--target",
                "ACME-1",
                "--revision",
                "abc123",
                "one.yaml",
            ],
            file,
        );
        assert_eq!(s.plan.paths, [PathBuf::from("one.yaml")]);
        assert_eq!(s.parallelism(), 2);
        assert_eq!(s.target.max_in_flight, 3);
        assert_eq!(s.plan.policy.max_delete_share, 0.5);
        assert!(s.plan.policy.allow_unsafe);
        assert_eq!(s.plan.policy.targets, ["ACME-1"]);
        assert_eq!(s.plan.revision.as_deref(), Some("abc123"));
        assert_eq!(s.effective.parallelism.origin, config::Origin::Flag);
    }
}
