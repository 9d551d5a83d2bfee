//! Finding manifest files: files named on the command line are taken as they are;
//! directories are walked recursively for `*.yaml` and `*.yml`, sorted by name, skipping
//! hidden entries (`.git`, `.cache.yaml`) and the config file `dimctl.yaml`/`dimctl.yml`.
//! A file reached twice (named and inside a named directory) is read once.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, Severity};
use super::source::io_reason;

/// Names of the dimctl config file, which is not a manifest.
pub const CONFIG_NAMES: &[&str] = &["dimctl.yaml", "dimctl.yml"];

/// How deep a directory walk goes (guards against symlink loops too).
const MAX_WALK_DEPTH: usize = 32;

/// A manifest file found: where to read it and how to name it in diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    pub path: PathBuf,
    pub display: String,
}

/// Files to read, in order, and problems with the paths given.
pub fn discover(paths: &[PathBuf]) -> (Vec<ManifestFile>, Vec<Diagnostic>) {
    let default = [PathBuf::from(".")];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let mut walk = Walk::default();
    for root in paths {
        let shown = display(root);
        match std::fs::metadata(root) {
            Err(e) => walk
                .diags
                .push(Diagnostic::file(Severity::Error, &shown, io_reason(&e))),
            Ok(meta) if meta.is_dir() => {
                let before = walk.files.len();
                walk.dir(root, 0);
                if walk.files.len() == before && !walk.reached_known(root) {
                    walk.diags.push(
                        Diagnostic::file(
                            Severity::Error,
                            &shown,
                            "no manifest files (*.yaml, *.yml) in this directory",
                        )
                        .with_hint("name a directory that holds customer manifests"),
                    );
                }
            }
            Ok(_) => {
                if is_config(root) {
                    walk.diags.push(Diagnostic::file(
                        Severity::Warning,
                        &shown,
                        "this is the dimctl config file, not a manifest; skipped",
                    ));
                } else {
                    walk.add(root);
                }
            }
        }
    }
    (walk.files, walk.diags)
}

#[derive(Default)]
struct Walk {
    files: Vec<ManifestFile>,
    diags: Vec<Diagnostic>,
    seen: HashSet<PathBuf>,
    dirs_seen: HashSet<PathBuf>,
}

impl Walk {
    fn add(&mut self, path: &Path) {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if self.seen.insert(key) {
            self.files.push(ManifestFile {
                path: path.to_path_buf(),
                display: display(path),
            });
        }
    }

    /// Whether a directory walk found nothing new only because its files were already
    /// listed (e.g. `validate a.yaml .`), which is not "no manifests".
    fn reached_known(&self, dir: &Path) -> bool {
        let Ok(dir) = std::fs::canonicalize(dir) else {
            return false;
        };
        self.seen.iter().any(|f| f.starts_with(&dir))
    }

    fn dir(&mut self, dir: &Path, depth: usize) {
        if depth > MAX_WALK_DEPTH {
            return;
        }
        if let Ok(canon) = std::fs::canonicalize(dir)
            && !self.dirs_seen.insert(canon)
        {
            return; // a symlink loop or a directory named twice
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => {
                self.diags.push(Diagnostic::file(
                    Severity::Error,
                    &display(dir),
                    format!("cannot read directory: {}", io_reason(&e)),
                ));
                return;
            }
        };
        let mut names: Vec<(String, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .filter(|(name, _)| !name.starts_with('.'))
            .collect();
        names.sort();
        for (name, path) in names {
            // Follows symlinks. An entry that cannot be read (a broken link, no permission)
            // is an error: a manifest that vanished must stop the run, never be taken as
            // a customer to delete.
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) => {
                    let broken =
                        std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
                    let reason = if broken {
                        format!("a broken symbolic link ({})", io_reason(&e))
                    } else {
                        format!("cannot read it: {}", io_reason(&e))
                    };
                    self.diags.push(
                        Diagnostic::file(Severity::Error, &display(&path), reason).with_hint(
                            "fix or remove it: nothing is planned while an input cannot be read",
                        ),
                    );
                    continue;
                }
            };
            if meta.is_dir() {
                self.dir(&path, depth + 1);
            } else if is_manifest_name(&name) && !is_config(&path) {
                self.add(&path);
            }
        }
    }
}

fn is_manifest_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yaml") || lower.ends_with(".yml")
}

fn is_config(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| CONFIG_NAMES.contains(&n))
}

/// A path as shown in diagnostics: as given, without a leading `./`.
fn display(path: &Path) -> String {
    let text = path.display().to_string();
    match text.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch(root: &Path, rel: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, "x: 1\n").unwrap();
    }

    fn names(root: &Path, files: &[ManifestFile]) -> Vec<String> {
        files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    #[test]
    fn walks_sorted_skipping_hidden_config_and_other_extensions() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for f in [
            "b.yaml",
            "a.yml",
            "sub/c.yaml",
            "sub/deeper/d.YAML",
            ".hidden/e.yaml",
            ".f.yaml",
            "dimctl.yaml",
            "sub/dimctl.yml",
            "notes.txt",
            "z.json",
        ] {
            touch(r, f);
        }
        let (files, diags) = discover(&[r.to_path_buf()]);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            names(r, &files),
            ["a.yml", "b.yaml", "sub/c.yaml", "sub/deeper/d.YAML"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_broken_symlink_among_the_manifests_is_an_error_naming_it() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        touch(r, "a.yaml");
        std::os::unix::fs::symlink(r.join("gone.yaml"), r.join("b.yaml")).unwrap();
        let (files, diags) = discover(&[r.to_path_buf()]);
        assert_eq!(names(r, &files), ["a.yaml"]);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].is_error());
        let text = format!("{diags:?}");
        assert!(
            text.contains("b.yaml") && text.contains("broken symbolic link"),
            "{text}"
        );
    }

    #[test]
    fn files_named_twice_are_read_once_in_argument_order() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        touch(r, "a.yaml");
        touch(r, "b.yaml");
        let (files, diags) = discover(&[r.join("b.yaml"), r.to_path_buf(), r.join("b.yaml")]);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(names(r, &files), ["b.yaml", "a.yaml"]);
    }

    #[test]
    fn missing_paths_and_empty_directories_are_errors() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir(r.join("empty")).unwrap();
        touch(r, "empty/readme.txt");
        let (files, diags) = discover(&[r.join("nope"), r.join("empty")]);
        assert!(files.is_empty());
        assert_eq!(diags.len(), 2);
        assert_eq!(diags[0].message, "no such file or directory");
        assert!(diags[0].source.file.ends_with("nope"));
        assert!(diags[1].message.contains("no manifest files"));
    }

    #[test]
    fn named_files_need_no_yaml_extension() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "customer.txt");
        let (files, _) = discover(&[d.path().join("customer.txt")]);
        assert_eq!(files.len(), 1);
    }

    #[test]
    fn display_drops_dot_slash() {
        assert_eq!(display(Path::new("./a/b.yaml")), "a/b.yaml");
        assert_eq!(display(Path::new(".")), ".");
    }
}
