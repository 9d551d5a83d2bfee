//! What the pure planner needs besides the manifests and the live customers
//! ([`crate::plan::Context`]), read for it: the live PBX connection profiles of the customers
//! whose manifests declare profiles (of every customer for `drift` and `import`), the PBX
//! instance check for every profile that would be created, and for `plan --base REV` the
//! manifests at REV, read with `git`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use futures_util::StreamExt;

use crate::api::{Api, Collection};
use crate::model::{CustomerManifest, Ensure, Kind, LiveCustomer, LiveObject, Located};
use crate::plan::{Base, Context, InstanceOwner};

use super::CliError;

/// Listings and checks run at once (the client's own limits still apply).
const CONCURRENCY: usize = 8;

/// The live customer each manifest names (pinned id, else reference), where there is one.
fn matched<'a>(
    desired: &'a [Located<CustomerManifest>],
    live: &'a [LiveCustomer],
) -> Vec<(&'a CustomerManifest, Option<&'a LiveCustomer>)> {
    let by_id: HashMap<&str, &LiveCustomer> = live.iter().map(|l| (l.id.as_str(), l)).collect();
    let mut by_ref: HashMap<&str, Vec<&LiveCustomer>> = HashMap::new();
    for l in live {
        if let Some(r) = l.reference() {
            by_ref.entry(r.trim()).or_default().push(l);
        }
    }
    desired
        .iter()
        .map(|d| {
            let m = &d.value;
            let l = match (&m.id, &m.spec.reference) {
                (Some(id), _) => by_id.get(id.as_str()).copied(),
                (None, Some(r)) => match by_ref.get(r.trim()).map(Vec::as_slice) {
                    Some([one]) => Some(*one),
                    _ => None,
                },
                _ => None,
            };
            (m, l)
        })
        .collect()
}

/// List the PBX profiles of `ids` (customer ids), at most [`CONCURRENCY`] at a time.
pub async fn list_pbxs(
    api: &dyn Api,
    ids: Vec<String>,
) -> Result<HashMap<String, Vec<LiveObject>>, CliError> {
    let results: Vec<(String, Result<Vec<LiveObject>, crate::api::ApiError>)> =
        futures_util::stream::iter(ids)
            .map(|id| async move {
                let got = api
                    .list(Collection::new(Kind::PbxConnection, Some(&id)), None)
                    .await;
                (id, got)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
    let mut out = HashMap::new();
    for (id, r) in results {
        out.insert(id, r?);
    }
    Ok(out)
}

/// Read the planner's context. `all_pbxs`: list the profiles of every live customer
/// (drift), not only of those whose manifests declare profiles.
pub async fn read(
    api: &dyn Api,
    desired: &[Located<CustomerManifest>],
    live: &[LiveCustomer],
    all_pbxs: bool,
    base: Option<&str>,
    paths: &[PathBuf],
) -> Result<Context, CliError> {
    // Only manifests that declare profiles need their tenant: no matching without one.
    let pairs = if desired
        .iter()
        .any(|d| d.value.spec.pbx_connection_profiles.is_some())
    {
        matched(desired, live)
    } else {
        Vec::new()
    };
    let mut ids: Vec<String> = if all_pbxs {
        live.iter().map(|l| l.id.clone()).collect()
    } else {
        pairs
            .iter()
            .filter(|(m, _)| m.spec.pbx_connection_profiles.is_some())
            .filter_map(|(_, l)| l.map(|l| l.id.clone()))
            .collect()
    };
    ids.sort();
    ids.dedup();
    let pbxs = list_pbxs(api, ids).await?;

    // The instance check, for every profile that would be created.
    let mut wanted: Vec<String> = Vec::new();
    for (m, l) in &pairs {
        let Some(profiles) = &m.spec.pbx_connection_profiles else {
            continue;
        };
        if m.ensure == Ensure::Absent {
            continue;
        }
        let have: HashSet<&str> = l
            .and_then(|l| pbxs.get(&l.id))
            .into_iter()
            .flatten()
            .filter_map(|o| o.fields.get("name").and_then(|v| v.as_str()))
            .map(str::trim)
            .collect();
        for p in profiles {
            if p.ensure() == Ensure::Present
                && !have.contains(p.name().trim())
                && let Some(id) = crate::plan::pbx_instance_id(p)
            {
                wanted.push(id);
            }
        }
    }
    wanted.sort();
    wanted.dedup();
    let checks: Vec<(String, Result<_, crate::api::ApiError>)> = futures_util::stream::iter(wanted)
        .map(|id| async move {
            let r = api.pbx_instance(&id).await;
            (id, r)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut instances = HashMap::new();
    for (id, r) in checks {
        let owner = r.map_err(|e| {
            CliError::failure(format!(
                "could not check whether PBX instance {id:?} is attached to a tenant already: {e}"
            ))
        })?;
        instances.insert(
            id,
            owner.map(|o| InstanceOwner {
                profile_id: o.profile_id,
                tenant_id: o.tenant_id,
            }),
        );
    }

    let base = match base {
        Some(rev) => Some(read_base(rev, paths)?),
        None => None,
    };
    Ok(Context {
        pbxs,
        base,
        instances,
    })
}

/// Run `git ARGS` in the current directory; its stdout, or a clear error.
fn git(args: &[&str]) -> Result<Vec<u8>, String> {
    let out = std::process::Command::new("git")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git ({e}); --base needs git on the PATH"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// The manifests at revision `rev` under `paths` (relative to the current directory,
/// inside a git work tree), loaded as dimctl loads files.
pub fn read_base(rev: &str, paths: &[PathBuf]) -> Result<Base, CliError> {
    let fail = |m: String| CliError::failure(m);
    git(&["rev-parse", "--is-inside-work-tree"]).map_err(|e| {
        fail(format!(
            "--base {rev}: the current directory is not inside a git work tree ({e}); run dimctl from the repository that holds the manifests"
        ))
    })?;
    let spec = format!("{rev}^{{commit}}");
    let commit = git(&["rev-parse", "--verify", "--quiet", &spec]).map_err(|_| {
        fail(format!(
            "--base {rev}: git does not know this revision; fetch it first (e.g. `git fetch origin {rev}`, or a full clone with fetch-depth 0 in CI)"
        ))
    })?;
    let commit = String::from_utf8_lossy(&commit).trim().to_string();
    let cwd = std::env::current_dir().map_err(|e| fail(format!("--base: {e}")))?;
    let mut specs: Vec<String> = Vec::new();
    for p in paths {
        let rel = if p.is_absolute() {
            p.strip_prefix(&cwd).map(Path::to_path_buf).map_err(|_| {
                fail(format!(
                    "--base: {} is outside the current directory; give manifest paths relative to it",
                    p.display()
                ))
            })?
        } else {
            p.clone()
        };
        // The manifests at REV are staged under a temporary directory by these paths:
        // one that climbs out (`..`) could not be staged there.
        if rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(fail(format!(
                "--base: {} leaves the current directory; run dimctl from a directory that holds the manifests",
                p.display()
            )));
        }
        specs.push(rel.to_string_lossy().into_owned());
    }
    let mut args = vec!["ls-tree", "-r", "-z", "--name-only", commit.as_str(), "--"];
    args.extend(specs.iter().map(String::as_str));
    let listing = git(&args).map_err(|e| fail(format!("--base {rev}: git ls-tree failed: {e}")))?;
    let dir = std::env::temp_dir().join(format!(
        "dimctl-base-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let result = (|| {
        for name in listing.split(|b| *b == 0).filter(|n| !n.is_empty()) {
            let name = String::from_utf8_lossy(name).into_owned();
            let climbs = Path::new(&name)
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)));
            if climbs || !(name.ends_with(".yaml") || name.ends_with(".yml")) {
                continue;
            }
            let text = git(&["show", &format!("{commit}:./{name}")])
                .map_err(|e| fail(format!("--base {rev}: cannot read {name}: {e}")))?;
            let to = dir.join(&name);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| fail(format!("--base: cannot stage {name}: {e}")))?;
            }
            std::fs::write(&to, text)
                .map_err(|e| fail(format!("--base: cannot stage {name}: {e}")))?;
        }
        let staged: Vec<PathBuf> = specs.iter().map(|s| dir.join(s)).collect();
        let staged: Vec<PathBuf> = staged.into_iter().filter(|p| p.exists()).collect();
        let customers = if staged.is_empty() {
            Vec::new()
        } else {
            crate::manifest::load_with(&staged, &|_| true)
                .customers
                .into_iter()
                .map(|l| l.value)
                .collect()
        };
        Ok(Base {
            commit: commit.clone(),
            customers,
        })
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
