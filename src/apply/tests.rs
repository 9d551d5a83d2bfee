//! The executor's rules, one test each, against the in-memory fake API.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::fake::{Fake, Fault};
use super::*;
use crate::model::CustomerKey;
use crate::plan::{
    ActionKind, Annotation, AnnotationKind, Change, FORMAT_VERSION, Plan, PlanError, PolicyRecord,
    Summary,
};

fn key(r: &str) -> CustomerKey {
    CustomerKey::Reference(r.into())
}

fn change(r: &str, action: ActionKind) -> Change {
    Change::new(key(r), action)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("object"),
    }
}

fn create(r: &str, mut body: Value) -> Change {
    body["reference"] = json!(r);
    let mut c = change(r, ActionKind::Create);
    c.create = Some(obj(body));
    c.annotations.push(Annotation {
        kind: AnnotationKind::Billable,
        field: None,
        message: "a new customer may be billed".into(),
        code: None,
    });
    c
}

fn update(fake: &Fake, r: &str, ops: Value) -> Change {
    let id = fake.id_of(r);
    let mut c = change(r, ActionKind::Update);
    c.fingerprint = Some(fake.live(&id).fingerprint());
    c.live_id = Some(id);
    c.operations = serde_json::from_value(ops).unwrap();
    c
}

fn delete(fake: &Fake, r: &str) -> Change {
    let id = fake.id_of(r);
    let mut c = change(r, ActionKind::Delete);
    c.fingerprint = Some(fake.live(&id).fingerprint());
    c.live_id = Some(id);
    c
}

fn plan(changes: Vec<Change>) -> Plan {
    Plan {
        account: None,
        format_version: FORMAT_VERSION,
        dimctl_version: crate::document::VERSION.to_string(),
        generated_at: String::new(),
        revision: None,
        endpoint: "fake".into(),
        policy: PolicyRecord::default(),
        summary: Summary::default(),
        unsafe_reasons: vec![],
        errors: vec![],
        changes,
        unmanaged: vec![],
        users: Default::default(),
    }
}

fn env(var: &str) -> Option<String> {
    (var == "ACME_KEY").then(|| "sup3r-s3cret".to_string())
}

fn opts() -> ApplyOptions {
    ApplyOptions {
        accept_charges: true,
        retry_pause: Duration::ZERO,
        lookup_backoff: vec![Duration::ZERO; 2],
        ..ApplyOptions::default()
    }
}

async fn run_with(
    fake: &Arc<Fake>,
    p: &Plan,
    o: &ApplyOptions,
    interrupt: Interrupt,
) -> Result<ApplyReport, Refusal> {
    apply(
        p,
        fake.clone(),
        o,
        Arc::new(env),
        Arc::new(Silent),
        interrupt,
    )
    .await
}

async fn run(fake: &Arc<Fake>, p: &Plan) -> ApplyReport {
    run_with(fake, p, &opts(), Interrupt::default())
        .await
        .unwrap()
}

fn status(r: &ApplyReport, reference: &str) -> Status {
    r.get(&key(reference)).unwrap().status
}

fn seeded() -> Arc<Fake> {
    let f = Fake::new();
    f.insert(json!({"reference": "u1", "name": "U1", "enabled": false}));
    f.insert(json!({"reference": "u2", "name": "U2", "enabled": false}));
    f.insert(json!({"reference": "gone", "name": "Gone"}));
    Arc::new(f)
}

#[tokio::test]
async fn creates_updates_and_deletes_last_with_charges_accepted() {
    let f = seeded();
    let p = plan(vec![
        delete(&f, "gone"),
        create("n1", json!({"name": "N1"})),
        update(
            &f,
            "u1",
            json!([{"op": "replace", "path": "/enabled", "value": true}]),
        ),
        change("same", ActionKind::NoOp),
    ]);
    let r = run(&f, &p).await;
    assert_eq!(status(&r, "n1"), Status::Created);
    assert_eq!(status(&r, "u1"), Status::Updated);
    assert_eq!(status(&r, "gone"), Status::Deleted);
    assert_eq!(status(&r, "same"), Status::Unchanged);
    assert!(!r.has_problems());
    let writes = f.writes();
    assert!(writes.last().unwrap().starts_with("DELETE"), "{writes:?}");
    assert!(f.s().write_opts.iter().all(|o| o.accept_charges));
    assert_eq!(f.live(&f.id_of("u1")).get("enabled"), Some(&json!(true)));
    assert_eq!(f.count_reference("n1"), 1);
}

#[tokio::test]
async fn a_plan_without_writes_sends_no_request() {
    let f = seeded();
    let r = run(&f, &plan(vec![change("u1", ActionKind::NoOp)])).await;
    assert_eq!(r.counts.unchanged, 1);
    assert!(f.s().log.is_empty(), "{:?}", f.s().log);
}

#[tokio::test]
async fn refuses_other_endpoint_other_format_and_inapplicable_plans_whole() {
    let f = seeded();
    let base = plan(vec![update(
        &f,
        "u1",
        json!([{"op": "replace", "path": "/name", "value": "X"}]),
    )]);
    let mut other = base.clone();
    other.endpoint = "https://elsewhere/api/v1.0".into();
    let mut version = base.clone();
    version.format_version = FORMAT_VERSION + 1;
    let mut errors = base.clone();
    errors.errors.push(PlanError {
        key: key("x"),
        source: None,
        message: "ambiguous reference".into(),
    });
    let mut unsafe_plan = base.clone();
    unsafe_plan.unsafe_reasons.push("too many updates".into());
    let mut refused = base.clone();
    refused.changes.push(change("r", ActionKind::Refused));
    for (p, want) in [
        (other, "elsewhere"),
        (version, "format version"),
        (errors, "ambiguous reference"),
        (unsafe_plan, "too many updates"),
        (refused, "r: refused"),
    ] {
        let e = run_with(&f, &p, &opts(), Interrupt::default())
            .await
            .unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
    assert!(f.s().log.is_empty(), "no request at all: {:?}", f.s().log);
}

#[tokio::test]
async fn billable_actions_need_accept_charges_and_are_listed() {
    let f = seeded();
    let mut up = update(
        &f,
        "u1",
        json!([{"op": "replace", "path": "/features/agent", "value": 3}]),
    );
    up.annotations.push(Annotation {
        kind: AnnotationKind::Billable,
        field: Some("features".into()),
        message: "raising licensed features may incur charges".into(),
        code: None,
    });
    let p = plan(vec![create("n1", json!({"name": "N1"})), up]);
    let o = ApplyOptions {
        accept_charges: false,
        ..opts()
    };
    let e = run_with(&f, &p, &o, Interrupt::default())
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("--accept-charges"), "{text}");
    assert!(
        text.contains("create n1") && text.contains("update u1"),
        "{text}"
    );
    assert!(f.s().log.is_empty());
}

#[tokio::test]
async fn a_402_is_reported_per_customer_naming_it() {
    let f = seeded();
    let id = f.id_of("u1");
    f.s().patch_faults.insert(id, [Fault::Charges].into());
    let p = plan(vec![
        update(
            &f,
            "u1",
            json!([{"op": "replace", "path": "/name", "value": "X"}]),
        ),
        update(
            &f,
            "u2",
            json!([{"op": "replace", "path": "/name", "value": "Y"}]),
        ),
    ]);
    let r = run(&f, &p).await;
    let o = r.get(&key("u1")).unwrap();
    assert_eq!(o.status, Status::Failed);
    let m = o.message.clone().unwrap();
    assert!(
        m.contains("u1") && m.contains("re-run with --accept-charges"),
        "{m}"
    );
    assert_eq!(status(&r, "u2"), Status::Updated);
}

#[tokio::test]
async fn secrets_are_resolved_at_write_time_and_never_reported() {
    let f = seeded();
    let p = plan(vec![create(
        "n1",
        json!({"name": "N1", "pbxConnectionProfiles": [{"_type": "KazooPbxConnectionProfile", "name": "k", "apiKey": {"fromEnv": "ACME_KEY"}}]}),
    )]);
    let r = run(&f, &p).await;
    assert_eq!(status(&r, "n1"), Status::Created, "{r:?}");
    assert!(f.s().bodies[0].contains("sup3r-s3cret"));
    let doc = serde_json::to_string(&r).unwrap() + &r.render_table();
    assert!(!doc.contains("sup3r-s3cret"), "{doc}");
}

#[tokio::test]
async fn a_missing_secret_refuses_the_whole_plan_before_any_write() {
    let f = seeded();
    let p = plan(vec![
        create("n0", json!({"name": "N0"})),
        update(
            &f,
            "u1",
            json!([{"op": "add", "path": "/pbxConnectionProfiles", "value": [{"name": "k", "password": {"fromEnv": "MISSING_PW"}}]}]),
        ),
    ]);
    let e = run_with(&f, &p, &opts(), Interrupt::default())
        .await
        .unwrap_err();
    assert_eq!(e, Refusal::MissingSecrets(vec!["MISSING_PW".into()]));
    assert!(f.writes().is_empty());
}

#[tokio::test]
async fn a_customer_changed_since_the_plan_is_stale_and_untouched() {
    let f = seeded();
    let p = plan(vec![
        update(
            &f,
            "u1",
            json!([{"op": "replace", "path": "/name", "value": "X"}]),
        ),
        update(
            &f,
            "u2",
            json!([{"op": "replace", "path": "/name", "value": "Y"}]),
        ),
    ]);
    let id1 = f.id_of("u1");
    f.s()
        .customers
        .get_mut(&id1)
        .unwrap()
        .insert("description".into(), json!("edited by hand"));
    let r = run(&f, &p).await;
    assert_eq!(status(&r, "u1"), Status::Stale);
    assert_eq!(status(&r, "u2"), Status::Updated);
    assert!(!f.writes().iter().any(|w| w == &format!("PATCH {id1}")));
    assert_eq!(f.live(&id1).name(), Some("U1"));
    assert!(r.has_problems());
}

#[tokio::test]
async fn a_customer_deleted_since_the_plan_is_stale() {
    let f = seeded();
    let p = plan(vec![update(
        &f,
        "u1",
        json!([{"op": "replace", "path": "/name", "value": "X"}]),
    )]);
    let id = f.id_of("u1");
    f.s().customers.remove(&id);
    let r = run(&f, &p).await;
    assert_eq!(status(&r, "u1"), Status::Stale);
}

#[tokio::test]
async fn the_stale_check_falls_back_to_a_get_when_listing_fails() {
    let f = seeded();
    let p = plan(vec![update(
        &f,
        "u1",
        json!([{"op": "replace", "path": "/name", "value": "X"}]),
    )]);
    f.s().list_fails = true;
    let r = run(&f, &p).await;
    assert_eq!(status(&r, "u1"), Status::Updated);
    let id = f.id_of("u1");
    assert!(f.s().log.contains(&format!("GET {id}")));
}

#[tokio::test]
async fn a_create_whose_reference_already_exists_is_not_posted_again() {
    let f = seeded();
    let p = plan(vec![create("u1", json!({"name": "U1"}))]);
    let r = run(&f, &p).await;
    let o = r.get(&key("u1")).unwrap();
    assert_eq!(o.status, Status::Created);
    assert!(o.message.clone().unwrap().contains("already existed"));
    assert!(f.writes().is_empty());
    assert_eq!(f.count_reference("u1"), 1);
}

#[tokio::test]
async fn an_unanswered_create_that_committed_is_found_not_repeated() {
    let f = seeded();
    f.s()
        .create_faults
        .insert("n1".into(), [Fault::CommitThenLose].into());
    let r = run(&f, &plan(vec![create("n1", json!({"name": "N1"}))])).await;
    assert_eq!(status(&r, "n1"), Status::Created);
    assert_eq!(f.count_reference("n1"), 1);
    assert_eq!(f.writes(), vec!["POST n1".to_string()]);
    assert!(
        f.s().log.contains(&"LIST n1".to_string()),
        "looked up by reference"
    );
}

#[tokio::test]
async fn an_unanswered_create_that_did_not_commit_is_unknown_and_never_posted_twice() {
    let f = seeded();
    f.s()
        .create_faults
        .insert("n1".into(), [Fault::LoseWithoutCommit; 10].into());
    let r = run(&f, &plan(vec![create("n1", json!({"name": "N1"}))])).await;
    let o = r.get(&key("n1")).unwrap();
    assert_eq!(o.status, Status::Unknown, "{r:?}");
    assert!(o.message.as_deref().unwrap().contains("Re-run"), "{o:?}");
    assert!(r.has_problems());
    assert_eq!(f.writes(), vec!["POST n1".to_string()], "one POST per run");
    assert_eq!(f.count_reference("n1"), 0);
    // 1 look-up before, then 1 + 2 backoff look-ups after the lost answer.
    let lookups = f.s().log.iter().filter(|l| *l == "LIST n1").count();
    assert_eq!(lookups, 4);
}

#[tokio::test]
async fn a_create_refused_with_400_is_not_retried() {
    let f = seeded();
    f.s()
        .create_faults
        .insert("n1".into(), [Fault::Status(400)].into());
    let r = run(&f, &plan(vec![create("n1", json!({"name": "N1"}))])).await;
    assert_eq!(status(&r, "n1"), Status::Failed);
    assert_eq!(f.writes().len(), 1);
}

#[tokio::test]
async fn an_unanswered_patch_is_verified_by_reading_back() {
    let f = seeded();
    let id1 = f.id_of("u1");
    let id2 = f.id_of("u2");
    f.s()
        .patch_faults
        .insert(id1.clone(), [Fault::CommitThenLose].into());
    f.s()
        .patch_faults
        .insert(id2.clone(), [Fault::LoseWithoutCommit].into());
    let p = plan(vec![
        update(
            &f,
            "u1",
            json!([{"op": "replace", "path": "/name", "value": "X"}]),
        ),
        update(
            &f,
            "u2",
            json!([{"op": "replace", "path": "/name", "value": "Y"}]),
        ),
    ]);
    let r = run(&f, &p).await;
    assert_eq!(status(&r, "u1"), Status::Updated);
    assert_eq!(status(&r, "u2"), Status::Updated);
    let writes = f.writes();
    assert_eq!(
        writes
            .iter()
            .filter(|w| **w == format!("PATCH {id1}"))
            .count(),
        1
    );
    assert_eq!(
        writes
            .iter()
            .filter(|w| **w == format!("PATCH {id2}"))
            .count(),
        2
    );
    assert_eq!(f.live(&id2).name(), Some("Y"));
}

#[tokio::test]
async fn a_value_the_server_ignored_is_reported_per_field() {
    let f = seeded();
    f.s().ignore_fields.push("name".into());
    let p = plan(vec![update(
        &f,
        "u1",
        json!([
            {"op": "replace", "path": "/name", "value": "X"},
            {"op": "replace", "path": "/enabled", "value": true}
        ]),
    )]);
    let r = run(&f, &p).await;
    let o = r.get(&key("u1")).unwrap();
    assert_eq!(o.status, Status::Failed);
    assert_eq!(o.mismatches.len(), 1, "{o:?}");
    assert_eq!(o.mismatches[0].path, "/name");
    assert_eq!(
        (o.mismatches[0].sent.clone(), o.mismatches[0].found.clone()),
        (json!("X"), json!("U1"))
    );
    assert!(
        r.render_table()
            .contains("/name: sent \"X\", server has \"U1\"")
    );
}

#[tokio::test]
async fn a_field_the_server_does_not_return_is_not_a_mismatch() {
    let f = seeded();
    f.s().ignore_fields.push("description".into());
    let r = run(
        &f,
        &plan(vec![create(
            "n1",
            json!({"name": "N1", "description": "d"}),
        )]),
    )
    .await;
    assert_eq!(status(&r, "n1"), Status::Created);
}

#[tokio::test]
async fn one_failure_stops_no_other_but_holds_deletes_back() {
    let f = seeded();
    f.s()
        .create_faults
        .insert("bad".into(), [Fault::Status(400)].into());
    let p = plan(vec![
        create("bad", json!({"name": "Bad"})),
        create("good", json!({"name": "Good"})),
        update(
            &f,
            "u1",
            json!([{"op": "replace", "path": "/name", "value": "X"}]),
        ),
        delete(&f, "gone"),
    ]);
    let r = run(&f, &p).await;
    assert_eq!(status(&r, "bad"), Status::Failed);
    assert_eq!(status(&r, "good"), Status::Created);
    assert_eq!(status(&r, "u1"), Status::Updated);
    assert_eq!(status(&r, "gone"), Status::Skipped);
    assert!(!f.writes().iter().any(|w| w.starts_with("DELETE")));
}

#[tokio::test]
async fn concurrency_is_bounded_by_parallelism() {
    let f = Fake::new();
    for i in 0..20 {
        f.insert(json!({"reference": format!("r{i}"), "name": "N"}));
    }
    let f = Arc::new(f);
    let changes = (0..20)
        .map(|i| {
            update(
                &f,
                &format!("r{i}"),
                json!([{"op": "replace", "path": "/name", "value": "M"}]),
            )
        })
        .collect();
    let o = ApplyOptions {
        parallelism: 3,
        ..opts()
    };
    let r = run_with(&f, &plan(changes), &o, Interrupt::default())
        .await
        .unwrap();
    assert_eq!(r.counts.updated, 20);
    let max = f.s().max_in_flight;
    assert!((2..=3).contains(&max), "max in flight {max}");
}

#[tokio::test]
async fn an_interrupt_stops_new_work_and_is_reported() {
    let interrupt = Interrupt::default();
    let mut fake = Fake::new();
    fake.interrupt_on_patch = Some(interrupt.clone());
    for i in 0..5 {
        fake.insert(json!({"reference": format!("r{i}"), "name": "N"}));
    }
    fake.insert(json!({"reference": "gone"}));
    let f = Arc::new(fake);
    let mut changes: Vec<Change> = (0..5)
        .map(|i| {
            update(
                &f,
                &format!("r{i}"),
                json!([{"op": "replace", "path": "/name", "value": "M"}]),
            )
        })
        .collect();
    changes.push(delete(&f, "gone"));
    let o = ApplyOptions {
        parallelism: 1,
        ..opts()
    };
    let r = run_with(&f, &plan(changes), &o, interrupt).await.unwrap();
    assert!(r.interrupted);
    assert_eq!(r.counts.updated, 1, "the request in flight finished: {r:?}");
    assert_eq!(r.counts.skipped, 5);
    assert_eq!(f.writes().len(), 1);
}

#[tokio::test]
async fn an_idempotent_patch_that_keeps_getting_lost_is_bounded_and_fails() {
    let f = seeded();
    let id = f.id_of("u1");
    f.s()
        .patch_faults
        .insert(id.clone(), [Fault::LoseWithoutCommit; 10].into());
    let p = plan(vec![update(
        &f,
        "u1",
        json!([{"op": "replace", "path": "/name", "value": "X"}]),
    )]);
    let r = run(&f, &p).await;
    let o = r.get(&key("u1")).unwrap();
    assert_eq!(o.status, Status::Failed);
    assert_eq!(
        o.mismatches.len(),
        1,
        "the read-back shows the old name: {o:?}"
    );
    assert_eq!(f.writes().len(), 5);
}

#[tokio::test]
async fn a_lost_array_append_is_not_resent() {
    let f = seeded();
    let id = f.id_of("u1");
    f.s()
        .customers
        .get_mut(&id)
        .unwrap()
        .insert("pbxConnectionProfiles".into(), json!([]));
    f.s()
        .patch_faults
        .insert(id.clone(), [Fault::LoseWithoutCommit].into());
    let p = plan(vec![update(
        &f,
        "u1",
        json!([{"op": "add", "path": "/pbxConnectionProfiles/-", "value": {"name": "p", "_type": "TeamsConnectionProfile"}}]),
    )]);
    let r = run(&f, &p).await;
    assert_eq!(status(&r, "u1"), Status::Unknown, "its outcome is unknown");
    assert!(r.has_problems());
    assert_eq!(f.writes().len(), 1);
}

#[tokio::test]
async fn a_delete_answered_500_and_not_actioned_is_asked_again() {
    let f = seeded();
    let id = f.id_of("gone");
    f.s()
        .delete_faults
        .insert(id.clone(), [Fault::Status(500), Fault::Status(503)].into());
    let r = run(&f, &plan(vec![delete(&f, "gone")])).await;
    assert_eq!(status(&r, "gone"), Status::Deleted, "{r:?}");
    assert_eq!(f.count_reference("gone"), 0);
    assert_eq!(
        f.writes().len(),
        3,
        "two refused DELETEs, then one that took"
    );
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_is_verified_not_repeated() {
    let f = seeded();
    let id = f.id_of("gone");
    f.s()
        .delete_faults
        .insert(id.clone(), [Fault::CommitThenLose].into());
    let r = run(&f, &plan(vec![delete(&f, "gone")])).await;
    assert_eq!(status(&r, "gone"), Status::Deleted, "{r:?}");
    assert_eq!(f.writes().len(), 1, "gone on read-back: no second DELETE");
}

#[tokio::test]
async fn a_delete_that_keeps_failing_is_bounded() {
    let f = seeded();
    let id = f.id_of("gone");
    f.s()
        .delete_faults
        .insert(id.clone(), [Fault::Status(500); 10].into());
    let r = run(&f, &plan(vec![delete(&f, "gone")])).await;
    assert_eq!(status(&r, "gone"), Status::Failed);
    assert_eq!(f.count_reference("gone"), 1);
    assert_eq!(f.writes().len(), 5);
}
