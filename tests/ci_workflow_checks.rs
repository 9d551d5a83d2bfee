//! Every GitHub workflow (`examples/ci/.github/workflows/`, `.github/workflows/`), the GitLab
//! recipe and the setup action (`action.yml`) validate against the SchemaStore schemas
//! bundled with `check-jsonschema`, and `zizmor --offline` finds nothing of high severity.
//! Each check is first shown to fail on a known-bad file, so a broken tool cannot pass.
//!
//! The tools come from PyPI: `.ci/run` installs pinned versions into `target/ci-venv/` and
//! runs the same checks as a step of its own. Where they are not installed (a laptop), this
//! test prints a note and passes; set `DIMCTL_CI_TOOLS=DIR` to use tools from another
//! directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The tool's path: `$DIMCTL_CI_TOOLS/NAME`, `target/ci-venv/bin/NAME`, else on PATH.
fn tool(name: &str) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("DIMCTL_CI_TOOLS") {
        candidates.push(PathBuf::from(dir).join(name));
    }
    candidates.push(root().join("target/ci-venv/bin").join(name));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join(name)));
    }
    candidates.into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn run(cmd: &mut Command) -> Output {
    cmd.current_dir(root()).output().unwrap()
}

fn shown(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn files_in(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Every file to check, with the SchemaStore schema it must satisfy.
fn checked_files() -> Vec<(PathBuf, &'static str)> {
    let mut files = Vec::new();
    for dir in ["examples/ci/.github/workflows", ".github/workflows"] {
        for f in files_in(dir) {
            files.push((f, "vendor.github-workflows"));
        }
    }
    files.push((
        root().join("examples/ci/.gitlab-ci.yml"),
        "vendor.gitlab-ci",
    ));
    files.push((root().join("action.yml"), "vendor.github-actions"));
    assert!(files.len() >= 6, "{files:?}");
    files
}

fn check_schema(tool: &Path, schema: &str, file: &Path) -> Output {
    run(Command::new(tool)
        .args(["--builtin-schema", schema])
        .arg(file))
}

fn zizmor(tool: &Path, paths: &[PathBuf]) -> Output {
    run(Command::new(tool)
        .args(["--offline", "--min-severity", "high", "--no-progress"])
        .args(paths))
}

#[test]
fn workflows_and_action_validate_against_schemastore() {
    let Some(tool) = tool("check-jsonschema") else {
        eprintln!(
            "note: check-jsonschema is not installed; skipped (.ci/run installs it into target/ci-venv)"
        );
        return;
    };
    // The check can fail: GitLab rejects `variables:` under `default:`.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join(".gitlab-ci.yml");
    std::fs::write(
        &bad,
        "default:\n  image: python:3.13-slim\n  variables:\n    NO_COLOR: \"1\"\njob:\n  script: [\"true\"]\n",
    )
    .unwrap();
    let out = check_schema(&tool, "vendor.gitlab-ci", &bad);
    assert!(
        !out.status.success(),
        "a known-bad file passed: {}",
        shown(&out)
    );
    assert!(shown(&out).contains("variables"), "{}", shown(&out));

    for (file, schema) in checked_files() {
        let out = check_schema(&tool, schema, &file);
        assert!(
            out.status.success(),
            "{} does not validate against {schema}: {}",
            file.display(),
            shown(&out)
        );
    }
}

#[test]
fn zizmor_finds_nothing_high() {
    let Some(tool) = tool("zizmor") else {
        eprintln!(
            "note: zizmor is not installed; skipped (.ci/run installs it into target/ci-venv)"
        );
        return;
    };
    // The check can fail: an unpinned action and a template injection are high findings.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "name: bad\non: pull_request_target\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    permissions: {}\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n      - run: echo \"${{ github.event.pull_request.title }}\"\n",
    )
    .unwrap();
    let out = zizmor(&tool, &[bad]);
    assert!(
        !out.status.success(),
        "a known-bad workflow passed: {}",
        shown(&out)
    );
    assert!(
        shown(&out).contains("unpinned-uses") && shown(&out).contains("template-injection"),
        "{}",
        shown(&out)
    );

    let paths: Vec<PathBuf> = checked_files()
        .into_iter()
        .filter(|(_, schema)| *schema != "vendor.gitlab-ci")
        .map(|(f, _)| f)
        .collect();
    let out = zizmor(&tool, &paths);
    assert!(
        out.status.success(),
        "zizmor reports high findings: {}",
        shown(&out)
    );
}
