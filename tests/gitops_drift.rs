//! `dimctl drift` end to end against the in-process sandbox: drifted, missing, unmanaged,
//! a trial ending in 3 days, the markdown summary file, and the exit codes.

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::dimctl;

fn manifest(reference: &str, name: &str, extra: &str) -> String {
    format!("apiVersion: dimctl/v1\nkind: Customer\nreference: {reference}\nname: {name}\n{extra}")
}

fn customer(id: &str, reference: &str, name: &str, extra: Value) -> (String, Value) {
    let mut c = json!({
        "id": id, "name": name, "reference": reference, "enabled": true,
        "dateCreated": "2026-01-05T10:00:00Z", "parentTenantId": "parent",
        "timezone": "Europe/London", "countryCode": "GB", "trialDuration": 0,
    });
    if let (Value::Object(c), Value::Object(extra)) = (&mut c, extra) {
        c.extend(extra);
    }
    (id.to_string(), c)
}

fn write_state(path: &Path, customers: Vec<(String, Value)>) {
    let map: serde_json::Map<String, Value> = customers.into_iter().collect();
    let state = json!({ "customers": map });
    std::fs::write(path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
}

fn days_ago(n: i64) -> String {
    let now = jiff::Timestamp::now();
    now.checked_sub(jiff::SignedDuration::from_hours(24 * n))
        .unwrap()
        .to_string()
}

#[test]
fn reports_every_kind_of_drift_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let customers = dir.path().join("customers");
    std::fs::create_dir(&customers).unwrap();
    std::fs::write(
        customers.join("in-sync.yaml"),
        manifest("SYNC-1", "In Sync Ltd", ""),
    )
    .unwrap();
    std::fs::write(
        customers.join("drifted.yaml"),
        manifest("DRIFT-1", "Git Name Ltd", ""),
    )
    .unwrap();
    std::fs::write(
        customers.join("missing.yaml"),
        manifest("MISS-1", "Missing Ltd", ""),
    )
    .unwrap();
    std::fs::write(
        customers.join("trial.yaml"),
        manifest("TRIAL-1", "Trialling Ltd", "trialDuration: 30\n"),
    )
    .unwrap();
    let state = dir.path().join("state.json");
    write_state(
        &state,
        vec![
            customer("a1", "SYNC-1", "In Sync Ltd", json!({})),
            customer("a2", "DRIFT-1", "Changed In The Portal", json!({})),
            customer(
                "a3",
                "TRIAL-1",
                "Trialling Ltd",
                json!({"trialDuration": 30, "dateCreated": days_ago(27)}),
            ),
            customer("a4", "ROGUE-1", "Clicked Into The Portal", json!({})),
        ],
    );
    let summary = dir.path().join("summary.md");

    let out = dimctl()
        .args(["drift"])
        .arg(&customers)
        .arg("--sandbox")
        .arg(&state)
        .args(["--format", "json", "--summary-file"])
        .arg(&summary)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["format_version"], 2);
    let drifted = report["drifted"].as_array().unwrap();
    assert_eq!(drifted.len(), 1, "{report:#}");
    assert_eq!(drifted[0]["key"]["value"], "DRIFT-1");
    assert_eq!(drifted[0]["fields"][0]["path"], "/name");
    assert_eq!(report["missing"][0]["key"]["value"], "MISS-1");
    assert_eq!(report["unmanaged"][0]["reference"], "ROGUE-1");
    let trials = report["trials_ending"].as_array().unwrap();
    assert_eq!(trials.len(), 1);
    assert_eq!(trials[0]["reference"], "TRIAL-1");
    assert_eq!(trials[0]["days_left"], 3);
    assert_eq!(
        report["summary"]["in_sync"], 2,
        "SYNC-1 and TRIAL-1 match git"
    );

    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("trial **TRIAL-1**"), "{md}");
    assert!(md.contains("in 3 days"), "{md}");
    assert!(md.contains("DRIFT-1"));
    assert!(md.contains("ROGUE-1"));
}

#[test]
fn in_sync_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.yaml"),
        manifest("SYNC-1", "In Sync Ltd", ""),
    )
    .unwrap();
    let state = dir.path().join("state.json");
    write_state(
        &state,
        vec![customer("a1", "SYNC-1", "In Sync Ltd", json!({}))],
    );
    let out = dimctl()
        .arg("drift")
        .arg(dir.path().join("c.yaml"))
        .arg("--sandbox")
        .arg(&state)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("No drift"), "{stdout}");
}
