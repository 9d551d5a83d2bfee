//! End to end: `dimctl plan` against `sandbox serve` (HTTP) and the in-process sandbox.
//!
//! Plan a set of manifests (creates), apply them by hand through the sandbox's HTTP API,
//! plan again (no changes, exit 0 with --detailed-exitcode), change a field behind
//! dimctl's back (drift: exit 2, the drift shown).

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::{SandboxServer, dimctl};

const ACME: &str = "\
apiVersion: dimctl/v1
kind: Customer
reference: ACME-001
name: Acme Ltd
description: Acme's contact centre in Leeds
enabled: false
timezone: Europe/London
countryCode: GB
features:
  agent: 2
";

const BETA: &str = "\
apiVersion: dimctl/v1
kind: Customer
reference: BETA-002
name: Beta Co
countryCode: FR
";

fn write_manifests(dir: &Path) {
    let customers = dir.join("customers");
    std::fs::create_dir_all(&customers).unwrap();
    std::fs::write(customers.join("acme.yaml"), ACME).unwrap();
    std::fs::write(customers.join("beta.yaml"), BETA).unwrap();
}

fn run_plan(dir: &Path, base_url: &str, extra: &[&str]) -> std::process::Output {
    dimctl()
        .current_dir(dir)
        .args([
            "plan",
            "customers",
            "--api-url",
            base_url,
            "--detailed-exitcode",
        ])
        .args(extra)
        .env("NO_COLOR", "1")
        .env("DIMCTL_TOKEN", "e2e-token")
        .output()
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// POST each create of a JSON plan to the sandbox, as apply would (accepting charges).
async fn apply_creates(base_url: &str, plan: &Value) {
    let client = reqwest::Client::new();
    for c in plan["changes"].as_array().unwrap() {
        if c["action"] != "create" {
            continue;
        }
        let resp = client
            .post(format!("{base_url}/customers"))
            .bearer_auth("e2e-token")
            .header("accept-charges", "true")
            .json(&c["create"])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201, "{:?}", resp.text().await);
    }
}

/// Rename the first customer carrying `reference` behind dimctl's back.
async fn drift_name(base_url: &str, reference: &str, name: &str) {
    let client = reqwest::Client::new();
    let list: Value = client
        .get(format!("{base_url}/customers?pageIndex=0&pageSize=1000"))
        .bearer_auth("e2e-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["reference"] == reference)
        .and_then(|c| c["id"].as_str())
        .unwrap()
        .to_string();
    let resp = client
        .patch(format!("{base_url}/customers/{id}"))
        .bearer_auth("e2e-token")
        .header("accept-charges", "true")
        .json(&json!([{"op": "replace", "path": "/name", "value": name}]))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
}

#[test]
fn plan_apply_by_hand_plan_again_then_drift() {
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path());
    let server = SandboxServer::start(&dir.path().join("state.json"), &[]);

    // 1. Empty sandbox: two creates, exit 2.
    let out = run_plan(dir.path(), &server.base_url, &["--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["summary"]["create"], 2);

    // 2. Apply by hand, then plan again: nothing to do, exit 0.
    let rt = runtime();
    rt.block_on(apply_creates(&server.base_url, &plan));
    let out = run_plan(dir.path(), &server.base_url, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("No changes."), "{stdout}");

    // 3. Drift: a field changed in the sandbox is shown, exit 2.
    rt.block_on(drift_name(&server.base_url, "BETA-002", "Beta Renamed"));
    let out = run_plan(dir.path(), &server.base_url, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("~ BETA-002"), "{stdout}");
    assert!(
        stdout.contains("\"Beta Renamed\" → \"Beta Co\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("Plan: 0 to create, 1 to update, 0 to delete"),
        "{stdout}"
    );
}

#[test]
fn plan_in_process_sandbox_from_a_temp_dir_writes_the_plan_file() {
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path());
    let out = dimctl()
        .current_dir(dir.path())
        .args(["plan", "customers", "--sandbox", "--out", "plan.json"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("+ ACME-001"), "{stdout}");
    assert!(
        stdout.contains("Plan: 2 to create, 0 to update, 0 to delete"),
        "{stdout}"
    );
    assert!(!stdout.contains('\u{1b}'), "no colour off a terminal");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(saved["format_version"], 2);
    for c in saved["changes"].as_array().unwrap() {
        assert_eq!(c["kind"], "Customer");
        let reference = c["key"]["value"].as_str().unwrap();
        assert_eq!(c["address"], format!("customer[{reference}]"));
    }
    assert_eq!(saved["summary"]["create"], 2);
}

fn plan_examples_in_a_fresh_dir(extra: &[&str]) -> (Option<i32>, String, String) {
    // `cargo run -- plan examples/ --sandbox` from a fresh clone: an empty sandbox.
    let dir = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let out = dimctl()
        .current_dir(dir.path())
        .arg("plan")
        .arg(&examples)
        .args(["--sandbox", "--detailed-exitcode"])
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_first_run_plans_the_examples_as_creates() {
    let (code, stdout, stderr) = plan_examples_in_a_fresh_dir(&[]);
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("Plan: "), "{stdout}");
    assert!(!stdout.contains("Plan: 0 to create"), "{stdout}");
}

#[test]
fn the_examples_plan_as_creates_except_the_adopted_tenant() {
    let (code, stdout, stderr) = plan_examples_in_a_fresh_dir(&["--format", "json"]);
    let plan: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let creates = plan["summary"]["create"].as_u64().unwrap();
    assert!(creates >= 5, "{stdout}");
    for c in plan["changes"].as_array().unwrap() {
        assert!(
            c["action"] == "create" || c["action"] == "no-op",
            "an empty sandbox has nothing to update or delete: {c}"
        );
    }
    // The only errors are pinned ids, which an empty sandbox cannot hold.
    for e in plan["errors"].as_array().into_iter().flatten() {
        assert_eq!(e["key"]["by"], "id", "{e}");
    }
    let expected = if plan["errors"].as_array().is_some_and(|e| !e.is_empty()) {
        1
    } else {
        2
    };
    assert_eq!(code, Some(expected), "{stderr}");
}

#[test]
fn invalid_manifests_fail_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let customers = dir.path().join("customers");
    std::fs::create_dir_all(&customers).unwrap();
    std::fs::write(
        customers.join("bad.yaml"),
        "apiVersion: dimctl/v1\nkind: Customer\nreference: X\nenabled: maybe\n",
    )
    .unwrap();
    let server = SandboxServer::start(&dir.path().join("state.json"), &[]);
    let out = run_plan(dir.path(), &server.base_url, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yaml"));
    assert!(out.stdout.is_empty(), "no plan is printed");
    let stats: Value = runtime().block_on(async {
        reqwest::get(format!(
            "{}/_sandbox/stats",
            server.base_url.trim_end_matches("/api/v1.0")
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
    });
    assert_eq!(
        stats["requests"], 0,
        "no request before the manifests are valid"
    );
}

#[test]
fn markdown_for_a_pull_request_from_the_in_process_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path());
    let out = dimctl()
        .current_dir(dir.path())
        .args([
            "plan",
            "customers",
            "--sandbox",
            "--detailed-exitcode",
            "--format",
            "markdown",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("| create | update |"), "{stdout}");
    assert!(stdout.contains("<details><summary>"), "{stdout}");
    assert!(stdout.contains("**Plan: 2 to create"), "{stdout}");
}

#[test]
fn targets_restrict_the_command() {
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path());
    let out = dimctl()
        .current_dir(dir.path())
        .args([
            "plan",
            "customers",
            "--sandbox",
            "--target",
            "BETA-002",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["summary"]["create"], 1);
    assert_eq!(plan["changes"][0]["key"]["value"], "BETA-002");
    assert_eq!(plan["policy"]["targets"], json!(["BETA-002"]));
}
