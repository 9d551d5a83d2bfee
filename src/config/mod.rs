//! Repository configuration: an optional `dimctl.yaml` at the root of the manifests,
//! found by walking up from the paths given, so CI needs no long command lines.
//!
//! Precedence, highest first: command-line flags, then environment variables, then the
//! file (a workspace's keys over its top level), then the built-in [`defaults`]. An
//! environment variable that overrides a value the file sets is never silent: resolution
//! returns a notice for it, and `dimctl config` prints every effective value with its
//! origin. The file holds no secrets (the schema has no place for one); tokens come from
//! the environment only.
//!
//! Owns: the file's shape and checks, the defaults table, and [`resolve`], the one merge
//! of flags, environment and file. Resolution is pure: the file's contents, the flags and
//! an environment lookup in, the effective configuration out. Must not read files or the
//! environment itself (the caller passes a lookup; [`discover`] finds the file), nor
//! print: rendering is [`crate::render::config`]'s, turning it into what commands read is
//! `cli::settings`'.

pub mod check;
pub mod file;
pub mod limits;

use std::path::{Path, PathBuf};

pub use file::{ConfigFile, ConfigKind, SafetyConfig, TargetConfig, config_schema};

/// The file name looked for.
pub const FILE_NAMES: &[&str] = &["dimctl.yaml", "dimctl.yml"];

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "name")]
pub enum Origin {
    Flag,
    Env(String),
    File(String),
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag => f.write_str("flag"),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::File(path) => write!(f, "file {path}"),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

/// Settings given on the command line (None = not given).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flags {
    pub api_url: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    pub token_url: Option<String>,
    pub sandbox: Option<PathBuf>,
    pub paths: Vec<PathBuf>,
    pub prune: Option<bool>,
    pub parallelism: Option<usize>,
    pub max_rps: Option<f64>,
    pub max_in_flight: Option<usize>,
    pub max_update_share: Option<f64>,
    pub max_delete_share: Option<f64>,
    pub max_create_share: Option<f64>,
    pub trial_warning_days: Option<u32>,
}

/// The configuration in force.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Effective {
    /// The configuration file used, if any.
    pub file: Option<String>,
    pub api_url: Option<Sourced<String>>,
    pub region: Option<Sourced<String>>,
    pub account: Option<Sourced<String>>,
    pub token_url: Option<Sourced<String>>,
    pub sandbox: Option<Sourced<PathBuf>>,
    pub paths: Sourced<Vec<PathBuf>>,
    pub prune: Sourced<bool>,
    pub parallelism: Sourced<usize>,
    pub max_rps: Option<Sourced<f64>>,
    pub max_in_flight: Sourced<usize>,
    pub max_update_share: Sourced<f64>,
    pub max_delete_share: Sourced<f64>,
    pub max_create_share: Sourced<f64>,
    pub min_existing: Sourced<usize>,
    pub trial_warning_days: Sourced<u32>,
    /// `requireAdmin`: the administrator rule is an error, not a warning.
    pub require_admin: Sourced<bool>,
    /// Credentials found in the environment, by variable name; values never kept here.
    pub credentials: Vec<String>,
}

/// One line of `dimctl config`: a setting's dimctl.yaml key, its value as shown (None:
/// unset) and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'a> {
    pub key: &'static str,
    pub value: Option<String>,
    pub origin: Option<&'a Origin>,
}

impl Effective {
    /// Every setting in `dimctl config`'s order, as it shows them. Adding a setting adds
    /// its row here.
    pub fn rows(&self) -> Vec<Row<'_>> {
        fn opt<'a, T: std::fmt::Debug>(key: &'static str, s: &'a Option<Sourced<T>>) -> Row<'a> {
            Row {
                key,
                value: s
                    .as_ref()
                    .map(|s| format!("{:?}", s.value).trim_matches('"').to_string()),
                origin: s.as_ref().map(|s| &s.origin),
            }
        }
        fn one<'a, T: std::fmt::Display>(key: &'static str, s: &'a Sourced<T>) -> Row<'a> {
            Row {
                key,
                value: Some(s.value.to_string()),
                origin: Some(&s.origin),
            }
        }
        let paths: Vec<String> = self
            .paths
            .value
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        vec![
            opt("sandbox", &self.sandbox),
            opt("target.apiUrl", &self.api_url),
            opt("target.region", &self.region),
            opt("target.account", &self.account),
            opt("target.tokenUrl", &self.token_url),
            Row {
                key: "manifests",
                value: Some(paths.join(", ")),
                origin: Some(&self.paths.origin),
            },
            one("prune", &self.prune),
            one("parallelism", &self.parallelism),
            opt("maxRps", &self.max_rps),
            one("maxInFlight", &self.max_in_flight),
            one("safety.maxUpdateShare", &self.max_update_share),
            one("safety.maxDeleteShare", &self.max_delete_share),
            one("safety.maxCreateShare", &self.max_create_share),
            one("safety.minExisting", &self.min_existing),
            one("trialWarningDays", &self.trial_warning_days),
            one("requireAdmin", &self.require_admin),
        ]
    }
}

/// The vendor's regions, each with a host `https://api.REGION.myreports.cloud`.
pub const REGIONS: &[&str] = &["au", "eu", "na", "uk"];

/// The environment variables dimctl reads.
pub const ENV_API_URL: &str = "DIMCTL_API_URL";
pub const ENV_REGION: &str = "DIMCTL_REGION";
pub const ENV_ACCOUNT: &str = "DIMCTL_ACCOUNT";
pub const ENV_TOKEN_URL: &str = "DIMCTL_TOKEN_URL";
/// Credentials: reported as set or not, never shown.
pub const CREDENTIAL_VARS: &[&str] = &[
    "DIMCTL_TOKEN",
    "DIMCTL_CLIENT_ID",
    "DIMCTL_CLIENT_SECRET",
    "DIMCTL_REFRESH_TOKEN",
];

/// The defaults: one table, used when no flag, variable or file key sets a value (the
/// planner's `Policy::default` reads it too). Settings that only a flag can give
/// (`--timeout`, `--max-customers`, `--lock-timeout`, `--sandbox`'s file) keep their
/// default on the flag, where `--help` shows it.
pub mod defaults {
    /// Creates and updates at once during apply.
    pub const PARALLELISM: usize = 8;
    /// HTTP requests in flight at once.
    pub const MAX_IN_FLIGHT: usize = 16;
    /// The largest share of existing customers a plan may update, delete or create.
    pub const SHARE: f64 = 0.30;
    /// From how many existing customers the share thresholds apply.
    pub const MIN_EXISTING: usize = 10;
    /// Drift warns about trials ending within this many days.
    pub const TRIAL_WARNING_DAYS: u32 = 14;
    /// Whether a plan deletes live customers no manifest declares.
    pub const PRUNE: bool = false;
    /// The manifests when neither a path nor `manifests` is given.
    pub const MANIFESTS: &str = ".";
    /// Whether a customer without an administrator user is an error (else a warning).
    pub const REQUIRE_ADMIN: bool = false;
}

/// Merge flags, environment and file. Returns the effective configuration and a notice
/// for every environment variable that overrides a value the file sets.
pub fn resolve(
    flags: &Flags,
    env: &dyn Fn(&str) -> Option<String>,
    file: Option<(&Path, &ConfigFile)>,
) -> (Effective, Vec<String>) {
    let mut notices = Vec::new();
    let file_origin = file.map(|(p, _)| Origin::File(p.display().to_string()));
    let cfg = file.map(|(_, c)| c);
    let target = cfg.and_then(|c| c.target.as_ref());
    let safety = cfg.and_then(|c| c.safety.as_ref());

    // A target is one thing: a flag or env var naming any target replaces the file's
    // target whole, so a file's region never mixes with an env URL.
    let mut pick = |flag: &Option<String>, var: &str, from_file: Option<&String>, key: &str| {
        pick_string(
            flag,
            var,
            env,
            from_file,
            file_origin.as_ref(),
            key,
            &mut notices,
        )
    };
    let api_url = pick(
        &flags.api_url,
        ENV_API_URL,
        target.and_then(|t| t.api_url.as_ref()),
        "target.apiUrl",
    );
    let region = pick(
        &flags.region,
        ENV_REGION,
        target.and_then(|t| t.region.as_ref()),
        "target.region",
    );
    let account = pick(
        &flags.account,
        ENV_ACCOUNT,
        target.and_then(|t| t.account.as_ref()),
        "target.account",
    );
    let token_url = pick(
        &flags.token_url,
        ENV_TOKEN_URL,
        target.and_then(|t| t.token_url.as_ref()),
        "target.tokenUrl",
    );
    let (api_url, region) = one_target(api_url, region);

    let paths = if !flags.paths.is_empty() {
        Sourced {
            value: flags.paths.clone(),
            origin: Origin::Flag,
        }
    } else if let (Some(list), Some((path, _)), Some(origin)) = (
        cfg.and_then(|c| c.manifests.as_ref()),
        file,
        file_origin.clone(),
    ) {
        let base = path.parent().unwrap_or(Path::new("."));
        Sourced {
            value: list.iter().map(|p| base.join(p)).collect(),
            origin,
        }
    } else {
        Sourced {
            value: vec![PathBuf::from(defaults::MANIFESTS)],
            origin: Origin::Default,
        }
    };

    let layered = |flag: Option<f64>, from_file: Option<f64>, default: f64| {
        layer(flag, from_file, file_origin.as_ref(), default)
    };
    let effective = Effective {
        file: file.map(|(p, _)| p.display().to_string()),
        api_url,
        region,
        account,
        token_url,
        sandbox: flags.sandbox.clone().map(|value| Sourced {
            value,
            origin: Origin::Flag,
        }),
        paths,
        prune: layer(
            flags.prune,
            cfg.and_then(|c| c.prune),
            file_origin.as_ref(),
            defaults::PRUNE,
        ),
        parallelism: layer(
            flags.parallelism,
            cfg.and_then(|c| c.parallelism),
            file_origin.as_ref(),
            defaults::PARALLELISM,
        ),
        max_rps: layer_opt(
            flags.max_rps,
            cfg.and_then(|c| c.max_rps),
            file_origin.as_ref(),
        ),
        max_in_flight: layer(
            flags.max_in_flight,
            cfg.and_then(|c| c.max_in_flight),
            file_origin.as_ref(),
            defaults::MAX_IN_FLIGHT,
        ),
        max_update_share: layered(
            flags.max_update_share,
            safety.and_then(|s| s.max_update_share),
            defaults::SHARE,
        ),
        max_delete_share: layered(
            flags.max_delete_share,
            safety.and_then(|s| s.max_delete_share),
            defaults::SHARE,
        ),
        max_create_share: layered(
            flags.max_create_share,
            safety.and_then(|s| s.max_create_share),
            defaults::SHARE,
        ),
        min_existing: layer(
            None,
            safety.and_then(|s| s.min_existing),
            file_origin.as_ref(),
            defaults::MIN_EXISTING,
        ),
        require_admin: layer(
            None,
            cfg.and_then(|c| c.require_admin),
            file_origin.as_ref(),
            defaults::REQUIRE_ADMIN,
        ),
        trial_warning_days: layer(
            flags.trial_warning_days,
            cfg.and_then(|c| c.trial_warning_days),
            file_origin.as_ref(),
            defaults::TRIAL_WARNING_DAYS,
        ),
        credentials: CREDENTIAL_VARS
            .iter()
            .filter(|v| env(v).is_some_and(|s| !s.is_empty()))
            .map(|v| v.to_string())
            .collect(),
    };
    (effective, notices)
}

/// Flag, then environment, then file; a notice when the environment beats the file.
#[allow(clippy::too_many_arguments)]
fn pick_string(
    flag: &Option<String>,
    var: &str,
    env: &dyn Fn(&str) -> Option<String>,
    from_file: Option<&String>,
    file_origin: Option<&Origin>,
    key: &str,
    notices: &mut Vec<String>,
) -> Option<Sourced<String>> {
    if let Some(v) = flag {
        return Some(Sourced {
            value: v.clone(),
            origin: Origin::Flag,
        });
    }
    if let Some(v) = env(var).filter(|v| !v.is_empty()) {
        if let (Some(f), Some(Origin::File(path))) = (from_file, file_origin)
            && *f != v
        {
            notices.push(format!("{var} overrides {key} from {path}"));
        }
        return Some(Sourced {
            value: v,
            origin: Origin::Env(var.to_string()),
        });
    }
    match (from_file, file_origin) {
        (Some(v), Some(origin)) => Some(Sourced {
            value: v.clone(),
            origin: origin.clone(),
        }),
        _ => None,
    }
}

/// When both a URL and a region are set, the one from the stronger origin wins.
fn one_target(
    url: Option<Sourced<String>>,
    region: Option<Sourced<String>>,
) -> (Option<Sourced<String>>, Option<Sourced<String>>) {
    fn rank(o: &Origin) -> u8 {
        match o {
            Origin::Flag => 3,
            Origin::Env(_) => 2,
            Origin::File(_) => 1,
            Origin::Default => 0,
        }
    }
    match (url, region) {
        (Some(u), Some(r)) if rank(&r.origin) > rank(&u.origin) => (None, Some(r)),
        (Some(u), Some(_)) => (Some(u), None),
        other => other,
    }
}

fn layer<T: Clone>(
    flag: Option<T>,
    from_file: Option<T>,
    file_origin: Option<&Origin>,
    default: T,
) -> Sourced<T> {
    match (flag, from_file, file_origin) {
        (Some(v), _, _) => Sourced {
            value: v,
            origin: Origin::Flag,
        },
        (None, Some(v), Some(o)) => Sourced {
            value: v,
            origin: o.clone(),
        },
        _ => Sourced {
            value: default,
            origin: Origin::Default,
        },
    }
}

fn layer_opt<T: Clone>(
    flag: Option<T>,
    from_file: Option<T>,
    file_origin: Option<&Origin>,
) -> Option<Sourced<T>> {
    match (flag, from_file, file_origin) {
        (Some(v), _, _) => Some(Sourced {
            value: v,
            origin: Origin::Flag,
        }),
        (None, Some(v), Some(o)) => Some(Sourced {
            value: v,
            origin: o.clone(),
        }),
        _ => None,
    }
}

/// Find `dimctl.yaml` by walking up from `start` (a file or directory) to the root.
pub fn discover(start: &Path) -> Option<PathBuf> {
    let start = std::path::absolute(start).ok()?;
    let mut dir = if start.is_dir() {
        Some(start.as_path())
    } else {
        start.parent()
    };
    while let Some(d) = dir {
        for name in FILE_NAMES {
            let candidate = d.join(name);
            if candidate.is_file() {
                if is_customer_manifest(&candidate) {
                    tracing::warn!(
                        "{} is a customer manifest (kind: Customer), not dimctl's configuration; not read as configuration: rename it",
                        candidate.display()
                    );
                    continue;
                }
                return Some(candidate);
            }
        }
        dir = d.parent();
    }
    None
}

/// Whether a file named like the configuration is in fact a customer manifest (an older
/// `import` could write one named `dimctl.yaml`): a top-level `kind: Customer`.
fn is_customer_manifest(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| {
        text.lines().any(|l| {
            let l = l.trim_end();
            l == "kind: Customer" || l == "kind: \"Customer\"" || l == "kind: 'Customer'"
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    fn file_with(target: TargetConfig) -> ConfigFile {
        ConfigFile {
            target: Some(target),
            manifests: Some(vec!["customers".into()]),
            prune: Some(true),
            parallelism: Some(4),
            ..ConfigFile::empty()
        }
    }

    #[test]
    fn defaults_without_file_flags_or_env() {
        let (e, notices) = resolve(&Flags::default(), &env_of(&[]), None);
        assert!(notices.is_empty());
        assert_eq!(
            e.parallelism,
            Sourced {
                value: 8,
                origin: Origin::Default
            }
        );
        assert_eq!(e.paths.value, vec![PathBuf::from(".")]);
        assert!(!e.prune.value);
        assert_eq!(e.api_url, None);
    }

    #[test]
    fn require_admin_is_resolved_with_the_rest_and_shown() {
        let (e, _) = resolve(&Flags::default(), &env_of(&[]), None);
        assert_eq!(e.require_admin.value, defaults::REQUIRE_ADMIN);
        assert_eq!(e.require_admin.origin, Origin::Default);
        let cfg = ConfigFile {
            require_admin: Some(true),
            ..ConfigFile::empty()
        };
        let path = Path::new("/repo/dimctl.yaml");
        let (e, _) = resolve(&Flags::default(), &env_of(&[]), Some((path, &cfg)));
        assert!(e.require_admin.value);
        assert_eq!(
            e.require_admin.origin,
            Origin::File("/repo/dimctl.yaml".into())
        );
        let row = e.rows().into_iter().find(|r| r.key == "requireAdmin");
        assert_eq!(row.and_then(|r| r.value), Some("true".to_string()));
    }

    #[test]
    fn file_then_env_then_flag() {
        let cfg = file_with(TargetConfig {
            region: Some("uk".into()),
            ..Default::default()
        });
        let path = Path::new("/repo/dimctl.yaml");
        let (e, notices) = resolve(&Flags::default(), &env_of(&[]), Some((path, &cfg)));
        assert!(notices.is_empty());
        assert_eq!(e.region.as_ref().map(|r| r.value.as_str()), Some("uk"));
        assert_eq!(e.paths.value, vec![PathBuf::from("/repo/customers")]);
        assert_eq!(e.parallelism.value, 4);
        assert!(e.prune.value);

        // The environment names another target: it wins, and says so.
        let env = env_of(&[("DIMCTL_REGION", "eu")]);
        let (e, notices) = resolve(&Flags::default(), &env, Some((path, &cfg)));
        assert_eq!(
            e.region.as_ref().map(|r| r.origin.clone()),
            Some(Origin::Env("DIMCTL_REGION".into()))
        );
        assert_eq!(
            notices,
            ["DIMCTL_REGION overrides target.region from /repo/dimctl.yaml"]
        );

        // A flag beats both, silently (the user typed it).
        let flags = Flags {
            region: Some("au".into()),
            parallelism: Some(2),
            prune: Some(false),
            ..Flags::default()
        };
        let (e, _) = resolve(&flags, &env, Some((path, &cfg)));
        assert_eq!(
            e.region.map(|r| (r.value, r.origin)),
            Some(("au".into(), Origin::Flag))
        );
        assert_eq!(e.parallelism.value, 2);
        assert!(!e.prune.value);
    }

    #[test]
    fn an_env_url_replaces_a_file_region() {
        let cfg = file_with(TargetConfig {
            region: Some("uk".into()),
            ..Default::default()
        });
        let env = env_of(&[("DIMCTL_API_URL", "https://white.label/api/v1.0")]);
        let (e, _) = resolve(&Flags::default(), &env, Some((Path::new("d.yaml"), &cfg)));
        assert_eq!(e.region, None);
        assert_eq!(
            e.api_url.map(|u| u.value).as_deref(),
            Some("https://white.label/api/v1.0")
        );
    }

    #[test]
    fn credentials_are_named_never_valued() {
        let env = env_of(&[("DIMCTL_TOKEN", "s3cr3t-token"), ("DIMCTL_CLIENT_ID", "")]);
        let (e, _) = resolve(&Flags::default(), &env, None);
        assert_eq!(e.credentials, ["DIMCTL_TOKEN"]);
        let json = serde_json::to_string(&e).expect("serialises");
        assert!(!json.contains("s3cr3t"));
    }

    #[test]
    fn discovers_upwards() {
        let dir = tempfile::tempdir().expect("tempdir");
        let nested = dir.path().join("a/b");
        std::fs::create_dir_all(&nested).expect("mkdir");
        assert!(discover(&nested).is_none_or(|p| !p.starts_with(dir.path())));
        std::fs::write(dir.path().join("dimctl.yaml"), "apiVersion: dimctl/v1\n").expect("write");
        let found = discover(&nested).expect("found");
        assert!(found.ends_with("dimctl.yaml"));
        // A customer manifest named dimctl.yaml is never read as configuration.
        std::fs::write(
            nested.join("dimctl.yaml"),
            "apiVersion: dimctl/v1\nkind: Customer\nreference: dimctl\nname: D\n",
        )
        .expect("write");
        assert_eq!(discover(&nested).expect("found"), found);
    }
}
