//! The CI recipes in `examples/ci/` (laid out as in a repository, `.github/workflows/` and
//! `.gitlab-ci.yml`, hidden so `dimctl plan examples/` never reads them) are parsed as YAML and every script step that calls
//! dimctl is run exactly as written (bash -eo pipefail, as the runners do) in a copy of
//! the examples repository, against `sandbox serve` on 127.0.0.1: plan on the pull
//! request, apply on merge, then the scheduled drift job finds nothing.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::SandboxServer;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

/// The dimctl scripts of one GitHub workflow, in step order.
fn github_scripts(workflow: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for job in workflow["jobs"].as_object().expect("jobs").values() {
        for step in job["steps"].as_array().expect("steps") {
            if let Some(run) = step["run"].as_str() {
                out.push(run.to_string());
            }
        }
    }
    out.into_iter().filter(|s| calls_dimctl(s)).collect()
}

/// The dimctl scripts of one GitLab job.
fn gitlab_scripts(pipeline: &Value, job: &str) -> Vec<String> {
    pipeline[job]["script"]
        .as_array()
        .unwrap_or_else(|| panic!("job {job} has a script"))
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .filter(|s| calls_dimctl(s))
        .collect()
}

/// A script that runs a dimctl command (not the install step).
fn calls_dimctl(script: &str) -> bool {
    script.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("dimctl ") && !l.starts_with("cargo install")
    })
}

/// A repository laid out like a user's: customers/ and dimctl.yaml from the examples.
fn repo(dir: &Path) -> Vec<(String, String)> {
    let customers = dir.join("customers");
    std::fs::create_dir_all(&customers).unwrap();
    let mut secrets = Vec::new();
    for entry in std::fs::read_dir(root().join("examples/customers")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            if let Some(rest) = line.split("fromEnv:").nth(1) {
                let var = rest.trim().trim_end_matches('}').trim().to_string();
                secrets.push((var, "test-secret-value".to_string()));
            }
        }
        std::fs::copy(&path, customers.join(path.file_name().unwrap())).unwrap();
    }
    std::fs::copy(root().join("examples/dimctl.yaml"), dir.join("dimctl.yaml")).unwrap();
    secrets
}

fn run_script(script: &str, dir: &Path, server: &SandboxServer, secrets: &[(String, String)]) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_dimctl")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("DIMCTL_API_URL", &server.base_url)
        .env("DIMCTL_TOKEN", "ci-recipe-test-token")
        .env("GITHUB_OUTPUT", dir.join("github_output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("step_summary.md"))
        .envs(secrets.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "script failed ({:?}):\n{script}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn github_workflows_run_against_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = repo(dir.path());
    let server = SandboxServer::start(&dir.path().join("state.json"), &[]);
    let wf = |name: &str| load(&root().join("examples/ci/.github/workflows").join(name));

    let (plan, apply, drift) = (
        wf("dimctl-plan.yml"),
        wf("dimctl-apply.yml"),
        wf("dimctl-drift.yml"),
    );
    assert_eq!(apply["concurrency"]["group"], "dimctl-apply");
    assert_eq!(apply["concurrency"]["cancel-in-progress"], false);
    assert!(plan["on"]["pull_request"].is_object());
    assert!(drift["on"]["schedule"].is_array());

    for script in github_scripts(&plan) {
        run_script(&script, dir.path(), &server, &secrets);
    }
    let comment = std::fs::read_to_string(dir.path().join("comment.md")).unwrap();
    assert!(comment.starts_with("<!-- dimctl-plan -->"), "{comment}");
    assert!(
        comment.contains("to create"),
        "the empty sandbox needs every example created"
    );
    let output = std::fs::read_to_string(dir.path().join("github_output")).unwrap();
    assert!(output.contains("exitcode=2"), "{output}");

    for script in github_scripts(&apply) {
        run_script(&script, dir.path(), &server, &secrets);
    }
    for script in github_scripts(&drift) {
        run_script(&script, dir.path(), &server, &secrets);
    }
    let output = std::fs::read_to_string(dir.path().join("github_output")).unwrap();
    assert!(
        output.trim_end().ends_with("exitcode=0"),
        "no drift after apply: {output}"
    );
    let secret_seen = std::fs::read_to_string(dir.path().join("apply.json")).unwrap();
    assert!(!secret_seen.contains("test-secret-value"));
}

#[test]
fn gitlab_pipeline_runs_against_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = repo(dir.path());
    let server = SandboxServer::start(&dir.path().join("state.json"), &[]);
    let pipeline = load(&root().join("examples/ci/.gitlab-ci.yml"));
    assert_eq!(pipeline["apply"]["resource_group"], "dimctl-apply");
    for job in ["plan", "apply", "drift"] {
        let scripts = gitlab_scripts(&pipeline, job);
        assert!(!scripts.is_empty(), "job {job} runs dimctl");
        for script in scripts {
            run_script(&script, dir.path(), &server, &secrets);
        }
    }
    let note = std::fs::read_to_string(dir.path().join("note.md")).unwrap();
    assert!(note.contains("to create"), "{note}");
}
