//! `dimctl apply --plan FILE` end to end against the in-process sandbox: saved plans made
//! with the library planner, refusals, confirmation, charges, secrets, stale customers,
//! the JSON result and the exit codes.

mod apply_support;

use std::path::Path;

use apply_support::*;
use dimctl::api::{Api, WriteOptions};
use dimctl::sandbox::InProcess;
use serde_json::{Map, Value, json};

const CHARGES: WriteOptions = WriteOptions {
    accept_charges: true,
};

async fn seed(state: &Path, refs: &[&str]) {
    let api = InProcess::open(state).unwrap();
    for r in refs {
        let Value::Object(body) = json!({"name": format!("Old {r}"), "description": "old", "reference": r, "enabled": false})
        else {
            unreachable!()
        };
        api.create_customer(&body, CHARGES).await.unwrap();
    }
}

fn apply_plan(
    state: &Path,
    plan: &Path,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> std::process::Output {
    let mut args = vec![
        "apply",
        "--sandbox",
        state.to_str().unwrap(),
        "--plan",
        plan.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args, envs)
}

#[tokio::test]
async fn a_saved_plan_is_applied_and_a_converged_state_needs_no_write() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sb.json");
    seed(&state, &["a", "b", "c"]).await;
    let desired = vec![
        manifest("a", "New a", "new"),
        manifest("b", "Old b", "old"),
        manifest("c", "New c", "new"),
        manifest("d", "New d", "new"),
    ];
    let plan = plan_in_process(&state, &desired).await;
    let file = save_plan(dir.path(), &plan);
    let out = apply_plan(
        &state,
        &file,
        &["--auto-approve", "--accept-charges", "--format", "json"],
        &[],
    );
    let doc = result_doc(&out);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(status_of(&doc, "a"), "updated");
    assert_eq!(status_of(&doc, "b"), "unchanged");
    assert_eq!(status_of(&doc, "c"), "updated");
    assert_eq!(status_of(&doc, "d"), "created");
    assert_eq!(doc["counts"]["created"], 1);
    assert_eq!(
        references_in_state(&state)
            .values()
            .copied()
            .collect::<Vec<_>>(),
        vec![1, 1, 1, 1]
    );

    // Converged: a new plan has nothing to do and applying it writes nothing.
    let before = std::fs::read(&state).unwrap();
    let again = plan_in_process(&state, &desired).await;
    assert!(!again.has_changes(), "{again:#?}");
    let file = save_plan(dir.path(), &again);
    let out = apply_plan(&state, &file, &["--auto-approve"], &[]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(
        std::fs::read(&state).unwrap(),
        before,
        "the store was not written"
    );
}

#[tokio::test]
async fn a_customer_changed_since_the_plan_is_stale_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sb.json");
    seed(&state, &["a", "b"]).await;
    let plan = plan_in_process(
        &state,
        &[manifest("a", "New a", "new"), manifest("b", "New b", "new")],
    )
    .await;
    let file = save_plan(dir.path(), &plan);
    {
        // Someone edits `a` after the plan was made.
        let api = InProcess::open(&state).unwrap();
        let id = api
            .list_customers(Some("a"))
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.reference() == Some("a"))
            .unwrap()
            .id;
        let ops: Vec<dimctl::api::PatchOperation> = serde_json::from_value(
            json!([{"op": "replace", "path": "/name", "value": "Hand edit"}]),
        )
        .unwrap();
        api.patch_customer(&id, &ops, CHARGES).await.unwrap();
    }
    let out = apply_plan(&state, &file, &["--auto-approve", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    let doc = result_doc(&out);
    assert_eq!(status_of(&doc, "a"), "stale");
    assert_eq!(status_of(&doc, "b"), "updated");
    let api = InProcess::open(&state).unwrap();
    let names: Vec<String> = api
        .list_customers(None)
        .await
        .unwrap()
        .iter()
        .map(|c| c.name().unwrap().to_string())
        .collect();
    assert!(
        names.contains(&"Hand edit".to_string()),
        "a untouched: {names:?}"
    );
    assert!(names.contains(&"New b".to_string()));

    // The text table says what to do.
    let out = apply_plan(&state, &file, &["--auto-approve"], &[]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("stale") && stdout.contains("re-run plan"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_plan_for_another_endpoint_or_format_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sb.json");
    seed(&state, &["a"]).await;
    let mut plan = plan_in_process(&state, &[manifest("a", "New a", "new")]).await;
    plan.endpoint = "https://api.uk.myreports.cloud/api/v1.0".into();
    let file = save_plan(dir.path(), &plan);
    let before = std::fs::read(&state).unwrap();
    let out = apply_plan(&state, &file, &["--auto-approve"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("api.uk.myreports.cloud"),
        "{:?}",
        text(&out)
    );

    let mut raw: Value =
        serde_json::to_value(plan_in_process(&state, &[manifest("a", "New a", "new")]).await)
            .unwrap();
    raw["format_version"] = json!(99);
    std::fs::write(&file, raw.to_string()).unwrap();
    let out = apply_plan(&state, &file, &["--auto-approve"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("format version 99"),
        "{:?}",
        text(&out)
    );

    // A version-1 plan (no addresses) is refused with the way out: plan again.
    raw["format_version"] = json!(1);
    for c in raw["changes"].as_array_mut().unwrap() {
        let c = c.as_object_mut().unwrap();
        c.remove("address");
        c.remove("kind");
    }
    std::fs::write(&file, raw.to_string()).unwrap();
    let out = apply_plan(&state, &file, &["--auto-approve"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out).1;
    assert!(
        err.contains("format version 1") && err.contains("plan again"),
        "{err}"
    );

    std::fs::write(&file, "not json").unwrap();
    let out = apply_plan(&state, &file, &["--auto-approve"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(&state).unwrap(), before, "nothing written");
}

#[tokio::test]
async fn without_a_terminal_apply_requires_auto_approve() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sb.json");
    seed(&state, &["a"]).await;
    let plan = plan_in_process(&state, &[manifest("a", "New a", "new")]).await;
    let file = save_plan(dir.path(), &plan);
    let before = std::fs::read(&state).unwrap();
    let out = apply_plan(&state, &file, &[], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("--auto-approve"), "{:?}", text(&out));
    assert_eq!(std::fs::read(&state).unwrap(), before);
}

#[tokio::test]
async fn billable_actions_need_accept_charges() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sb.json");
    let plan = plan_in_process(
        &state,
        &[manifest("n1", "N1", "d"), manifest("n2", "N2", "d")],
    )
    .await;
    let file = save_plan(dir.path(), &plan);
    let out = apply_plan(&state, &file, &["--auto-approve"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("--accept-charges") && stderr.contains("n1") && stderr.contains("n2"),
        "{stderr}"
    );
    assert!(references_in_state(&state).is_empty());
}

#[tokio::test]
async fn secrets_come_from_the_environment_and_are_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sb.json");
    let mut plan = plan_in_process(&state, &[manifest("pbx", "Pbx", "d")]).await;
    let body: &mut Map<String, Value> = plan.changes[0].create.as_mut().unwrap();
    body.insert(
        "pbxConnectionProfiles".into(),
        json!([{"_type": "KazooPbxConnectionProfile", "name": "main", "hostRest": "https://k.example", "apiKey": {"fromEnv": "E2E_KAZOO_KEY"}}]),
    );
    let file = save_plan(dir.path(), &plan);

    let out = apply_plan(&state, &file, &["--auto-approve", "--accept-charges"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("E2E_KAZOO_KEY"), "{:?}", text(&out));
    assert!(
        references_in_state(&state).is_empty(),
        "nothing written without the secret"
    );

    let secret = "very-secret-kazoo-key-4711";
    for format in ["text", "json"] {
        let out = apply_plan(
            &state,
            &file,
            &[
                "--auto-approve",
                "--accept-charges",
                "--format",
                format,
                "-vvv",
            ],
            &[("E2E_KAZOO_KEY", secret)],
        );
        assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
        let (stdout, stderr) = text(&out);
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }
    assert_eq!(references_in_state(&state).get("pbx"), Some(&1));
}
