//! The CI recipes in `examples/ci/` (laid out as in a repository, `.github/workflows/` and
//! `.gitlab-ci.yml`, hidden so `dimctl plan examples/` never reads them) are parsed as YAML
//! and every script step that calls dimctl is run exactly as written (bash -eo pipefail, as
//! the runners do) in a copy of the examples repository, against `sandbox serve` on
//! 127.0.0.1: plan on the pull request, apply of that saved plan on merge, then the
//! scheduled drift job finds nothing; a plan gone stale fails the apply and flags it for the
//! re-plan comment; a validation failure still writes the comment. The recipes' shape is
//! checked too: installed from a release (never built from source), actions pinned by
//! commit hash, minimal permissions, read and write credentials apart.
//! (Schema and zizmor checks of the same files: `tests/ci_workflow_checks.rs`.)

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
    let out = try_script(script, dir, server, secrets);
    assert!(
        out.status.success(),
        "script failed ({:?}):\n{script}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn try_script(
    script: &str,
    dir: &Path,
    server: &SandboxServer,
    secrets: &[(String, String)],
) -> std::process::Output {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_dimctl")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
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
        .unwrap()
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
    let apply_scripts = github_scripts(&apply);
    assert_eq!(apply_scripts.len(), 1, "one dimctl step in apply");
    assert!(
        apply_scripts[0].contains("dimctl apply --plan plan.json"),
        "apply on merge applies the reviewed plan, never a new one: {}",
        apply_scripts[0]
    );

    assert!(
        github_scripts(&plan)
            .iter()
            .any(|s| s.contains("--base=$(git merge-base \"$PR_BASE_SHA\" HEAD)")),
        "the plan compares write-only PBX settings with the pull request's merge base"
    );
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

/// The workflow files: every GitHub workflow of the recipes, by name.
fn github_recipe(name: &str) -> Value {
    load(&root().join("examples/ci/.github/workflows").join(name))
}

/// The `run` script of the step called `name` in a GitHub workflow.
fn github_step(workflow: &Value, name: &str) -> String {
    for job in workflow["jobs"].as_object().expect("jobs").values() {
        for step in job["steps"].as_array().expect("steps") {
            if step["name"] == name {
                return step["run"].as_str().expect("a run step").to_string();
            }
        }
    }
    panic!("no step named {name}")
}

fn set_name(dir: &Path, file: &str, name: &str) {
    let path = dir.join("customers").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let text: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("name: ") {
                format!("name: {name}")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&path, text.join("\n") + "\n").unwrap();
}

#[test]
fn github_apply_of_a_stale_plan_fails_and_asks_for_a_replan() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = repo(dir.path());
    let server = SandboxServer::start(&dir.path().join("state.json"), &[]);
    let (plan, apply) = (
        github_recipe("dimctl-plan.yml"),
        github_recipe("dimctl-apply.yml"),
    );
    // The first pull request creates every customer.
    for script in github_scripts(&plan).iter().chain(&github_scripts(&apply)) {
        run_script(script, dir.path(), &server, &secrets);
    }
    // A second pull request renames one; its plan is reviewed ...
    set_name(dir.path(), "acme-telecom-uk.yaml", "Acme as reviewed");
    for script in github_scripts(&plan) {
        run_script(&script, dir.path(), &server, &secrets);
    }
    // ... then someone changes that customer in the portal before the merge.
    set_name(
        dir.path(),
        "acme-telecom-uk.yaml",
        "Acme changed in the portal",
    );
    run_script(
        "dimctl apply customers/ --auto-approve --accept-charges",
        dir.path(),
        &server,
        &secrets,
    );
    std::fs::write(dir.path().join("github_output"), "").unwrap();

    let out = try_script(
        &github_step(&apply, "Apply the reviewed plan"),
        dir.path(),
        &server,
        &secrets,
    );
    assert_eq!(out.status.code(), Some(1), "a stale plan fails the job");
    let output = std::fs::read_to_string(dir.path().join("github_output")).unwrap();
    assert!(output.contains("exitcode=1"), "{output}");
    assert!(
        output.contains("stale=customers changed in the account"),
        "the re-plan comment gets the reason: {output}"
    );
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("apply.json")).unwrap())
            .unwrap();
    assert_eq!(result["counts"]["stale"], 1, "{result}");
    // The comment step runs on failure and asks for a re-plan.
    let steps = apply["jobs"]["apply"]["steps"].as_array().unwrap();
    let ask = steps
        .iter()
        .find(|s| s["name"] == "Ask for a re-plan")
        .expect("a re-plan step");
    assert!(ask["if"].as_str().unwrap().contains("failure()"));
    assert!(ask["with"]["script"].as_str().unwrap().contains("re-plan"));
}

#[test]
fn a_validation_failure_still_writes_the_comment() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = repo(dir.path());
    let server = SandboxServer::start(&dir.path().join("state.json"), &[]);
    let path = dir.path().join("customers/acme-telecom-uk.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}notAField: 1\n")).unwrap();

    let github = github_step(&github_recipe("dimctl-plan.yml"), "Validate manifests");
    let pipeline = load(&root().join("examples/ci/.gitlab-ci.yml"));
    let gitlab = gitlab_scripts(&pipeline, "plan")[0].clone();
    for (script, comment) in [(github, "comment.md"), (gitlab, "note.md")] {
        let out = try_script(&script, dir.path(), &server, &secrets);
        assert_eq!(out.status.code(), Some(1), "{script}");
        let body = std::fs::read_to_string(dir.path().join(comment)).unwrap();
        assert!(body.starts_with("<!-- dimctl-plan -->"), "{body}");
        assert!(body.contains("do not validate"), "{body}");
        assert!(body.contains("acme-telecom-uk.yaml"), "{body}");
        assert!(body.contains("notAField"), "{body}");
    }
}

/// Every GitHub workflow file of the project: the recipes and the project's own.
fn github_workflow_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["examples/ci/.github/workflows", ".github/workflows"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    files
}

#[test]
fn actions_are_pinned_by_commit_hash_and_permissions_are_minimal() {
    for path in github_workflow_files()
        .into_iter()
        .chain([root().join("action.yml")])
    {
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let Some(uses) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses: ")
            else {
                continue;
            };
            let (action, rest) = uses
                .split_once('@')
                .unwrap_or_else(|| panic!("{}: {line}", path.display()));
            let hash: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
            assert!(
                hash.len() == 40 && hash.chars().all(|c| c.is_ascii_hexdigit()),
                "{}: {action} is not pinned by a commit hash: {line}",
                path.display()
            );
            assert!(
                rest.contains("# v"),
                "{}: say which tag the hash is: {line}",
                path.display()
            );
        }
        if path.ends_with("action.yml") {
            continue;
        }
        let workflow = load(&path);
        assert_eq!(
            workflow["permissions"],
            serde_json::json!({}),
            "{}: no permissions by default",
            path.display()
        );
        for (name, job) in workflow["jobs"].as_object().unwrap() {
            assert!(
                job["permissions"].is_object(),
                "{}: job {name} states its permissions",
                path.display()
            );
            let perms = job["permissions"].as_object().unwrap();
            assert!(
                !perms.values().any(|v| v == "write-all" || v == "read-all"),
                "{}: {name}",
                path.display()
            );
        }
    }
}

#[test]
fn recipes_install_a_release_and_keep_write_credentials_for_apply() {
    let gitlab_text = std::fs::read_to_string(root().join("examples/ci/.gitlab-ci.yml")).unwrap();
    let mut texts = vec![("gitlab".to_string(), gitlab_text.clone())];
    for name in ["dimctl-plan.yml", "dimctl-apply.yml", "dimctl-drift.yml"] {
        let path = root().join("examples/ci/.github/workflows").join(name);
        texts.push((name.to_string(), std::fs::read_to_string(path).unwrap()));
    }
    for (name, text) in &texts {
        for never in ["cargo install", "cargo build", "--revision", "rust:"] {
            assert!(!text.contains(never), "{name} uses {never}");
        }
        assert!(
            text.contains("dimctl==$DIMCTL_VERSION"),
            "{name} installs a pinned release"
        );
    }
    // GitHub: read-only token for plan and drift, the write token only in the protected
    // environment of the apply job.
    for name in ["dimctl-plan.yml", "dimctl-drift.yml"] {
        let wf = github_recipe(name);
        let job = wf["jobs"].as_object().unwrap().values().next().unwrap();
        assert_eq!(
            job["env"]["DIMCTL_TOKEN"],
            "${{ secrets.DIMCTL_READ_TOKEN }}"
        );
        assert!(job["environment"].is_null(), "{name}");
    }
    let apply = github_recipe("dimctl-apply.yml");
    assert_eq!(apply["jobs"]["apply"]["environment"], "dimctl-apply");
    assert_eq!(
        apply["jobs"]["apply"]["env"]["DIMCTL_TOKEN"],
        "${{ secrets.DIMCTL_WRITE_TOKEN }}"
    );
    // GitLab: the same split; settings valid where GitLab allows them.
    let pipeline = load(&root().join("examples/ci/.gitlab-ci.yml"));
    assert!(pipeline["default"]["variables"].is_null());
    assert_eq!(
        pipeline["plan"]["variables"]["DIMCTL_TOKEN"],
        "$DIMCTL_READ_TOKEN"
    );
    assert_eq!(
        pipeline["drift"]["variables"]["DIMCTL_TOKEN"],
        "$DIMCTL_READ_TOKEN"
    );
    assert_eq!(
        pipeline["apply"]["variables"]["DIMCTL_TOKEN"],
        "$DIMCTL_WRITE_TOKEN"
    );
    assert_eq!(pipeline["apply"]["environment"]["name"], "dimctl-apply");
    assert_eq!(pipeline["apply"]["resource_group"], "dimctl-apply");
    let apply_scripts = gitlab_scripts(&pipeline, "apply");
    assert!(apply_scripts[0].contains("dimctl apply --plan plan.json"));
    // The drift job updates the open issue before it would open a new one.
    let after = pipeline["drift"]["after_script"][0].as_str().unwrap();
    let (find, create) = (
        after.find("state=opened").unwrap(),
        after.find("-X POST").unwrap(),
    );
    assert!(find < create && after.contains("-X PUT"), "{after}");
}
