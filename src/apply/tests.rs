//! The executor's rules, one test each, against the in-process sandbox (the store's real
//! rules) wrapped in a scripted fault wrapper ([`crate::api::scripted`]) where a test
//! needs the server to misbehave.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::*;
use crate::api::scripted::{Fault, Method, Scripted};
use crate::api::{Api, WriteOptions};
use crate::model::{CustomerKey, LiveCustomer};
use crate::plan::{
    ActionKind, Annotation, AnnotationKind, Change, FORMAT_VERSION, Plan, PlanError,
};
use crate::sandbox::InProcess;
use crate::sandbox::faults::FaultConfig;

/// The in-process sandbox in a temporary directory, and the scripted wrapper around it
/// that the executor is given.
struct World {
    _dir: tempfile::TempDir,
    sandbox: Arc<InProcess>,
    api: Arc<Scripted>,
}

const CHARGES: WriteOptions = WriteOptions {
    accept_charges: true,
};

impl World {
    fn new() -> World {
        World::with_faults(FaultConfig::default())
    }

    fn with_faults(config: FaultConfig) -> World {
        let dir = tempfile::tempdir().unwrap();
        let sandbox =
            Arc::new(InProcess::with_faults(&dir.path().join("sandbox.json"), config).unwrap());
        let api = Arc::new(Scripted::new(sandbox.clone()));
        World {
            _dir: dir,
            sandbox,
            api,
        }
    }

    /// Add a customer behind the wrapper's back (not recorded); returns its id.
    async fn insert(&self, fields: Value) -> String {
        self.sandbox
            .create_customer(&obj(fields), CHARGES)
            .await
            .unwrap()
            .id
    }

    /// Change a customer behind the wrapper's back, as another writer would.
    async fn edit(&self, id: &str, ops: Value) {
        let ops: Vec<crate::api::PatchOperation> = serde_json::from_value(ops).unwrap();
        self.sandbox
            .patch_customer(id, &ops, CHARGES)
            .await
            .unwrap();
    }

    async fn live(&self, id: &str) -> LiveCustomer {
        self.sandbox.get_customer(id).await.unwrap()
    }

    async fn with_reference(&self, reference: &str) -> Vec<LiveCustomer> {
        self.sandbox
            .list_customers(None)
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.reference() == Some(reference))
            .collect()
    }

    async fn id_of(&self, reference: &str) -> String {
        let found = self.with_reference(reference).await;
        assert_eq!(found.len(), 1, "one tenant holds {reference}");
        found[0].id.clone()
    }

    async fn count_reference(&self, reference: &str) -> usize {
        self.with_reference(reference).await.len()
    }

    fn writes(&self) -> Vec<String> {
        self.api.writes()
    }

    fn plan(&self, changes: Vec<Change>) -> Plan {
        Plan::of_changes(self.api.endpoint(), changes)
    }
}

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

async fn update(w: &World, r: &str, ops: Value) -> Change {
    let id = w.id_of(r).await;
    let mut c = change(r, ActionKind::Update);
    c.fingerprint = Some(w.live(&id).await.fingerprint());
    c.live_id = Some(id);
    c.operations = serde_json::from_value(ops).unwrap();
    c
}

async fn delete(w: &World, r: &str) -> Change {
    let id = w.id_of(r).await;
    let mut c = change(r, ActionKind::Delete);
    c.fingerprint = Some(w.live(&id).await.fingerprint());
    c.live_id = Some(id);
    c
}

fn env(var: &str) -> Option<String> {
    match var {
        "ACME_KEY" => Some("sup3r-s3cret".to_string()),
        // Too short to be masked in output: refused.
        "SHORT_PW" => Some("p4w".to_string()),
        _ => None,
    }
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
    w: &World,
    p: &Plan,
    o: &ApplyOptions,
    interrupt: Interrupt,
) -> Result<ApplyReport, Refusal> {
    apply(
        p,
        w.api.clone(),
        o,
        Arc::new(env),
        Arc::new(Silent),
        interrupt,
    )
    .await
}

async fn run(w: &World, p: &Plan) -> ApplyReport {
    run_with(w, p, &opts(), Interrupt::default()).await.unwrap()
}

fn status(r: &ApplyReport, reference: &str) -> Status {
    r.get(&key(reference)).unwrap().status
}

async fn seeded() -> World {
    let w = World::new();
    w.insert(json!({"reference": "u1", "name": "U1", "enabled": false}))
        .await;
    w.insert(json!({"reference": "u2", "name": "U2", "enabled": false}))
        .await;
    w.insert(json!({"reference": "gone", "name": "Gone"})).await;
    w
}

fn name_op(v: &str) -> Value {
    json!([{"op": "replace", "path": "/name", "value": v}])
}

#[tokio::test]
async fn creates_updates_and_deletes_last_with_charges_accepted() {
    let w = seeded().await;
    let p = w.plan(vec![
        delete(&w, "gone").await,
        create("n1", json!({"name": "N1"})),
        update(
            &w,
            "u1",
            json!([{"op": "replace", "path": "/enabled", "value": true}]),
        )
        .await,
        change("same", ActionKind::NoOp),
    ]);
    let r = run(&w, &p).await;
    assert_eq!(status(&r, "n1"), Status::Created);
    assert_eq!(status(&r, "u1"), Status::Updated);
    assert_eq!(status(&r, "gone"), Status::Deleted);
    assert_eq!(status(&r, "same"), Status::Unchanged);
    assert!(!r.has_problems());
    let writes = w.writes();
    assert!(writes.last().unwrap().starts_with("DELETE"), "{writes:?}");
    assert!(w.api.record().write_opts.iter().all(|o| o.accept_charges));
    let u1 = w.id_of("u1").await;
    assert_eq!(w.live(&u1).await.get("enabled"), Some(json!(true)));
    assert_eq!(w.count_reference("n1").await, 1);
    assert_eq!(w.count_reference("gone").await, 0);
}

#[tokio::test]
async fn a_plan_without_writes_sends_no_request() {
    let w = seeded().await;
    let r = run(&w, &w.plan(vec![change("u1", ActionKind::NoOp)])).await;
    assert_eq!(r.counts.unchanged, 1);
    assert!(w.api.log().is_empty(), "{:?}", w.api.log());
}

#[tokio::test]
async fn refuses_other_endpoint_other_format_and_inapplicable_plans_whole() {
    let w = seeded().await;
    let base = w.plan(vec![update(&w, "u1", name_op("X")).await]);
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
        let e = run_with(&w, &p, &opts(), Interrupt::default())
            .await
            .unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
    assert!(
        w.api.log().is_empty(),
        "no request at all: {:?}",
        w.api.log()
    );
}

#[tokio::test]
async fn billable_actions_need_accept_charges_and_are_listed() {
    let w = seeded().await;
    let mut up = update(
        &w,
        "u1",
        json!([{"op": "replace", "path": "/features/agent", "value": 3}]),
    )
    .await;
    up.annotations.push(Annotation {
        kind: AnnotationKind::Billable,
        field: Some("features".into()),
        message: "raising licensed features may incur charges".into(),
        code: None,
    });
    let p = w.plan(vec![create("n1", json!({"name": "N1"})), up]);
    let o = ApplyOptions {
        accept_charges: false,
        ..opts()
    };
    let e = run_with(&w, &p, &o, Interrupt::default())
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("--accept-charges"), "{text}");
    assert!(
        text.contains("create n1") && text.contains("update u1"),
        "{text}"
    );
    assert!(w.api.log().is_empty());
}

#[tokio::test]
async fn a_402_is_reported_per_customer_naming_it() {
    let w = seeded().await;
    let id = w.id_of("u1").await;
    w.api.script(Method::Patch, &id, [Fault::Charges]);
    let p = w.plan(vec![
        update(&w, "u1", name_op("X")).await,
        update(&w, "u2", name_op("Y")).await,
    ]);
    let r = run(&w, &p).await;
    let o = r.get(&key("u1")).unwrap();
    assert_eq!(o.status, Status::Failed);
    let m = o.message.clone().unwrap();
    assert!(
        m.contains("u1") && m.contains("re-run with --accept-charges"),
        "{m}"
    );
    assert_eq!(status(&r, "u2"), Status::Updated);
    assert_eq!(w.live(&id).await.name(), Some("U1"), "not actioned");
}

#[tokio::test]
async fn the_sandboxs_own_402_is_reported_the_same_way() {
    // Without accept-charges on the wire, the store itself refuses raising features.
    let w = seeded().await;
    let mut up = update(
        &w,
        "u1",
        json!([{"op": "replace", "path": "/features/agent", "value": 3}]),
    )
    .await;
    up.annotations.clear();
    let o = ApplyOptions {
        accept_charges: false,
        ..opts()
    };
    let r = run_with(&w, &w.plan(vec![up]), &o, Interrupt::default())
        .await
        .unwrap();
    let out = r.get(&key("u1")).unwrap();
    assert_eq!(out.status, Status::Failed);
    assert!(
        out.message.as_deref().unwrap().contains("--accept-charges"),
        "{out:?}"
    );
}

#[tokio::test]
async fn secrets_are_resolved_at_write_time_and_never_reported() {
    let w = seeded().await;
    let p = w.plan(vec![create(
        "n1",
        json!({"name": "N1", "pbxConnectionProfiles": [{"_type": "KazooPbxConnectionProfile", "name": "k", "apiKey": {"fromEnv": "ACME_KEY"}}]}),
    )]);
    let r = run(&w, &p).await;
    assert_eq!(status(&r, "n1"), Status::Created, "{r:?}");
    assert!(w.api.record().bodies[0].contains("sup3r-s3cret"));
    let doc = serde_json::to_string(&r).unwrap() + &crate::render::apply::text(&r);
    assert!(!doc.contains("sup3r-s3cret"), "{doc}");
}

#[tokio::test]
async fn a_missing_secret_refuses_the_whole_plan_before_any_write() {
    let w = seeded().await;
    let p = w.plan(vec![
        create("n0", json!({"name": "N0"})),
        update(
            &w,
            "u1",
            json!([{"op": "add", "path": "/pbxConnectionProfiles", "value": [{"name": "k", "password": {"fromEnv": "MISSING_PW"}}]}]),
        )
        .await,
    ]);
    let e = run_with(&w, &p, &opts(), Interrupt::default())
        .await
        .unwrap_err();
    assert_eq!(e, Refusal::MissingSecrets(vec!["MISSING_PW".into()]));
    assert!(w.writes().is_empty());
}

#[tokio::test]
async fn a_secret_too_short_to_mask_refuses_the_whole_plan_before_any_write() {
    let w = seeded().await;
    let p = w.plan(vec![
        create("n0", json!({"name": "N0"})),
        update(
            &w,
            "u1",
            json!([{"op": "add", "path": "/pbxConnectionProfiles", "value": [{"name": "k", "password": {"fromEnv": "SHORT_PW"}}]}]),
        )
        .await,
    ]);
    let e = run_with(&w, &p, &opts(), Interrupt::default())
        .await
        .unwrap_err();
    assert_eq!(e, Refusal::ShortSecrets(vec!["SHORT_PW".into()]));
    let msg = e.to_string();
    assert!(msg.contains("shorter than 4 characters"), "{msg}");
    assert!(msg.contains("SHORT_PW") && !msg.contains("p4w"), "{msg}");
    assert!(w.writes().is_empty());
}

#[tokio::test]
async fn a_customer_changed_since_the_plan_is_stale_and_untouched() {
    let w = seeded().await;
    let p = w.plan(vec![
        update(&w, "u1", name_op("X")).await,
        update(&w, "u2", name_op("Y")).await,
    ]);
    let id1 = w.id_of("u1").await;
    w.edit(
        &id1,
        json!([{"op": "add", "path": "/description", "value": "edited by hand"}]),
    )
    .await;
    let r = run(&w, &p).await;
    assert_eq!(status(&r, "u1"), Status::Stale);
    assert_eq!(status(&r, "u2"), Status::Updated);
    assert!(!w.writes().iter().any(|x| x == &format!("PATCH {id1}")));
    assert_eq!(w.live(&id1).await.name(), Some("U1"));
    assert!(r.has_problems());
}

#[tokio::test]
async fn a_customer_deleted_since_the_plan_is_stale() {
    let w = seeded().await;
    let p = w.plan(vec![update(&w, "u1", name_op("X")).await]);
    let id = w.id_of("u1").await;
    w.sandbox.delete_customer(&id).await.unwrap();
    let r = run(&w, &p).await;
    assert_eq!(status(&r, "u1"), Status::Stale);
    assert!(w.writes().is_empty());
}

#[tokio::test]
async fn the_stale_check_falls_back_to_a_get_when_listing_fails() {
    let w = seeded().await;
    let p = w.plan(vec![update(&w, "u1", name_op("X")).await]);
    w.api.always(Method::List, "*", Fault::Status(503));
    let r = run(&w, &p).await;
    assert_eq!(status(&r, "u1"), Status::Updated);
    let id = w.id_of("u1").await;
    assert!(w.api.log().contains(&format!("GET {id}")));
    assert_eq!(w.live(&id).await.name(), Some("X"));
}

#[tokio::test]
async fn a_create_whose_reference_already_exists_is_not_posted_again() {
    let w = seeded().await;
    let p = w.plan(vec![create("u1", json!({"name": "U1"}))]);
    let r = run(&w, &p).await;
    let o = r.get(&key("u1")).unwrap();
    assert_eq!(o.status, Status::Created);
    assert!(o.message.clone().unwrap().contains("already existed"));
    assert!(w.writes().is_empty());
    assert_eq!(w.count_reference("u1").await, 1);
}

#[tokio::test]
async fn an_unanswered_create_that_committed_is_found_not_repeated() {
    let w = seeded().await;
    w.api.script(Method::Create, "n1", [Fault::CommitThenLose]);
    let r = run(&w, &w.plan(vec![create("n1", json!({"name": "N1"}))])).await;
    assert_eq!(status(&r, "n1"), Status::Created);
    assert_eq!(w.count_reference("n1").await, 1);
    assert_eq!(w.writes(), vec!["POST n1".to_string()]);
    assert!(w.api.count("LIST n1") >= 2, "looked up by reference");
}

#[tokio::test]
async fn an_unanswered_create_that_did_not_commit_is_unknown_and_never_posted_twice() {
    let w = seeded().await;
    w.api
        .script(Method::Create, "n1", vec![Fault::LoseWithoutCommit; 10]);
    let r = run(&w, &w.plan(vec![create("n1", json!({"name": "N1"}))])).await;
    let o = r.get(&key("n1")).unwrap();
    assert_eq!(o.status, Status::Unknown, "{r:?}");
    assert!(o.message.as_deref().unwrap().contains("Re-run"), "{o:?}");
    assert!(r.has_problems());
    assert_eq!(w.writes(), vec!["POST n1".to_string()], "one POST per run");
    assert_eq!(w.count_reference("n1").await, 0);
    // 1 look-up before, then 1 + 2 backoff look-ups after the lost answer.
    assert_eq!(w.api.count("LIST n1"), 4);
}

#[tokio::test]
async fn a_create_that_commits_late_is_found_by_the_later_look_ups() {
    let w = seeded().await;
    // The POST's answer is lost and the tenant appears only before the second request
    // after it: the first look-up misses it, a backoff look-up finds it.
    w.api
        .script(Method::Create, "n1", [Fault::LateCommit { after: 2 }]);
    let r = run(&w, &w.plan(vec![create("n1", json!({"name": "N1"}))])).await;
    let o = r.get(&key("n1")).unwrap();
    assert_eq!(o.status, Status::Created, "{r:?}");
    assert!(
        o.message
            .as_deref()
            .unwrap_or("")
            .contains("found it created"),
        "{o:?}"
    );
    assert_eq!(
        w.writes(),
        vec!["POST n1".to_string()],
        "never posted twice"
    );
    assert_eq!(w.count_reference("n1").await, 1);
    // Before the POST, the look-up that missed, the one that found it, the confirmation.
    assert_eq!(w.api.count("LIST n1"), 4, "{:?}", w.api.log());
}

#[tokio::test]
async fn a_create_that_timed_out_stops_further_writes() {
    let w = seeded().await;
    // No answer at all: the API may be stalling on writes. Whichever create goes first
    // ends unknown and the others are not started.
    for r in ["n1", "n2", "n3"] {
        w.api
            .script(Method::Create, r, [Fault::TimeoutWithoutCommit]);
    }
    let p = w.plan(
        ["n1", "n2", "n3"]
            .iter()
            .map(|r| create(r, json!({"name": "N"})))
            .collect(),
    );
    let o = ApplyOptions {
        parallelism: 1,
        ..opts()
    };
    let r = run_with(&w, &p, &o, Interrupt::default()).await.unwrap();
    assert_eq!(w.writes().len(), 1, "{:?}", w.writes());
    assert_eq!(r.counts.unknown, 1, "{r:?}");
    assert_eq!(r.counts.skipped, 2, "{r:?}");
    let skipped = r
        .results
        .iter()
        .filter(|o| o.status == Status::Skipped)
        .all(|o| o.message.as_deref().unwrap_or("").contains("not started"));
    assert!(skipped, "{r:?}");
}

#[tokio::test]
async fn a_create_refused_with_400_is_not_retried() {
    let w = seeded().await;
    // The store's own rule: an unknown timezone is a 400.
    let p = w.plan(vec![create(
        "n1",
        json!({"name": "N1", "timezone": "Mars/Olympus_Mons"}),
    )]);
    let r = run(&w, &p).await;
    assert_eq!(status(&r, "n1"), Status::Failed, "{r:?}");
    assert_eq!(w.writes().len(), 1);
    assert_eq!(w.count_reference("n1").await, 0);
}

#[tokio::test]
async fn a_create_answered_but_ignored_is_not_confirmed() {
    let w = seeded().await;
    w.api.script(Method::Create, "n1", [Fault::Ignore]);
    let r = run(&w, &w.plan(vec![create("n1", json!({"name": "N1"}))])).await;
    let o = r.get(&key("n1")).unwrap();
    assert_eq!(o.status, Status::Failed, "{r:?}");
    assert!(
        o.message
            .as_deref()
            .unwrap()
            .contains("could not be confirmed"),
        "{o:?}"
    );
    assert_eq!(w.writes(), vec!["POST n1".to_string()], "not posted again");
    assert_eq!(w.count_reference("n1").await, 0);
}

#[tokio::test]
async fn an_unanswered_patch_is_verified_by_reading_back() {
    let w = seeded().await;
    let id1 = w.id_of("u1").await;
    let id2 = w.id_of("u2").await;
    w.api.script(Method::Patch, &id1, [Fault::CommitThenLose]);
    w.api
        .script(Method::Patch, &id2, [Fault::LoseWithoutCommit]);
    let p = w.plan(vec![
        update(&w, "u1", name_op("X")).await,
        update(&w, "u2", name_op("Y")).await,
    ]);
    let r = run(&w, &p).await;
    assert_eq!(status(&r, "u1"), Status::Updated);
    assert_eq!(status(&r, "u2"), Status::Updated);
    assert_eq!(w.api.count(&format!("PATCH {id1}")), 1);
    assert_eq!(w.api.count(&format!("PATCH {id2}")), 2);
    assert_eq!(w.live(&id1).await.name(), Some("X"));
    assert_eq!(w.live(&id2).await.name(), Some("Y"));
}

#[tokio::test]
async fn a_value_the_server_ignored_is_reported_per_field() {
    let w = seeded().await;
    let id = w.id_of("u1").await;
    w.api.script(
        Method::Patch,
        &id,
        [Fault::IgnoreFields(vec!["name".into()])],
    );
    let p = w.plan(vec![
        update(
            &w,
            "u1",
            json!([
                {"op": "replace", "path": "/name", "value": "X"},
                {"op": "replace", "path": "/enabled", "value": true}
            ]),
        )
        .await,
    ]);
    let r = run(&w, &p).await;
    let o = r.get(&key("u1")).unwrap();
    assert_eq!(o.status, Status::Failed);
    assert_eq!(o.mismatches.len(), 1, "{o:?}");
    assert_eq!(o.mismatches[0].path, "/name");
    assert_eq!(
        (o.mismatches[0].sent.clone(), o.mismatches[0].found.clone()),
        (json!("X"), json!("U1"))
    );
    assert!(crate::render::apply::text(&r).contains("/name: sent \"X\", server has \"U1\""));
}

#[tokio::test]
async fn a_patch_answered_but_ignored_whole_fails_on_every_field() {
    let w = seeded().await;
    let id = w.id_of("u1").await;
    w.api.script(Method::Patch, &id, [Fault::Ignore]);
    let p = w.plan(vec![
        update(
            &w,
            "u1",
            json!([
                {"op": "replace", "path": "/name", "value": "X"},
                {"op": "replace", "path": "/enabled", "value": true}
            ]),
        )
        .await,
    ]);
    let r = run(&w, &p).await;
    let o = r.get(&key("u1")).unwrap();
    assert_eq!(o.status, Status::Failed);
    let paths: Vec<&str> = o.mismatches.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths, ["/name", "/enabled"], "{o:?}");
    assert_eq!(w.writes().len(), 1, "an OK answer is not asked again");
}

#[tokio::test]
async fn a_field_the_server_does_not_return_is_not_a_mismatch() {
    let w = World::with_faults(FaultConfig {
        omit_fields: vec!["description".into()],
        ..FaultConfig::default()
    });
    let r = run(
        &w,
        &w.plan(vec![create(
            "n1",
            json!({"name": "N1", "description": "d"}),
        )]),
    )
    .await;
    assert_eq!(status(&r, "n1"), Status::Created, "{r:?}");
    let id = w.id_of("n1").await;
    assert_eq!(w.live(&id).await.get("description"), None, "not returned");
}

#[tokio::test]
async fn one_failure_stops_no_other_but_holds_deletes_back() {
    let w = seeded().await;
    w.api.script(Method::Create, "bad", [Fault::Status(409)]);
    let p = w.plan(vec![
        create("bad", json!({"name": "Bad"})),
        create("good", json!({"name": "Good"})),
        update(&w, "u1", name_op("X")).await,
        delete(&w, "gone").await,
    ]);
    let r = run(&w, &p).await;
    assert_eq!(status(&r, "bad"), Status::Failed);
    assert_eq!(status(&r, "good"), Status::Created);
    assert_eq!(status(&r, "u1"), Status::Updated);
    assert_eq!(status(&r, "gone"), Status::Skipped);
    assert!(!w.writes().iter().any(|x| x.starts_with("DELETE")));
    assert_eq!(w.count_reference("gone").await, 1);
}

#[tokio::test]
async fn concurrency_is_bounded_by_parallelism() {
    let w = World::new();
    for i in 0..20 {
        w.insert(json!({"reference": format!("r{i}"), "name": "N"}))
            .await;
    }
    let mut changes = Vec::new();
    for i in 0..20 {
        changes.push(update(&w, &format!("r{i}"), name_op("M")).await);
    }
    let o = ApplyOptions {
        parallelism: 3,
        ..opts()
    };
    let r = run_with(&w, &w.plan(changes), &o, Interrupt::default())
        .await
        .unwrap();
    assert_eq!(r.counts.updated, 20);
    let max = w.api.record().max_in_flight;
    assert!((2..=3).contains(&max), "max in flight {max}");
}

#[tokio::test]
async fn an_interrupt_stops_new_work_and_is_reported() {
    let interrupt = Interrupt::default();
    let w = World::new();
    for i in 0..5 {
        w.insert(json!({"reference": format!("r{i}"), "name": "N"}))
            .await;
    }
    w.insert(json!({"reference": "gone"})).await;
    let on_patch = interrupt.clone();
    w.api.before_write(move |m| {
        if m == Method::Patch {
            on_patch.trigger();
        }
    });
    let mut changes = Vec::new();
    for i in 0..5 {
        changes.push(update(&w, &format!("r{i}"), name_op("M")).await);
    }
    changes.push(delete(&w, "gone").await);
    let o = ApplyOptions {
        parallelism: 1,
        ..opts()
    };
    let r = run_with(&w, &w.plan(changes), &o, interrupt).await.unwrap();
    assert!(r.interrupted);
    assert_eq!(r.counts.updated, 1, "the request in flight finished: {r:?}");
    assert_eq!(r.counts.skipped, 5);
    assert_eq!(w.writes().len(), 1);
}

#[tokio::test]
async fn an_idempotent_patch_that_keeps_getting_lost_is_bounded_and_fails() {
    let w = seeded().await;
    let id = w.id_of("u1").await;
    w.api
        .script(Method::Patch, &id, vec![Fault::LoseWithoutCommit; 10]);
    let p = w.plan(vec![update(&w, "u1", name_op("X")).await]);
    let r = run(&w, &p).await;
    let o = r.get(&key("u1")).unwrap();
    assert_eq!(o.status, Status::Failed);
    assert_eq!(
        o.mismatches.len(),
        1,
        "the read-back shows the old name: {o:?}"
    );
    assert_eq!(w.writes().len(), 5);
}

#[tokio::test]
async fn a_lost_array_append_is_not_resent() {
    let w = seeded().await;
    let id = w.id_of("u1").await;
    // A customer's PBX profiles are not patchable (their own resource): a remove is the
    // customer's operation that is not safe to send twice.
    w.edit(
        &id,
        json!([{"op": "add", "path": "/description", "value": "once"}]),
    )
    .await;
    w.api.script(Method::Patch, &id, [Fault::LoseWithoutCommit]);
    let p = w.plan(vec![
        update(&w, "u1", json!([{"op": "remove", "path": "/description"}])).await,
    ]);
    let r = run(&w, &p).await;
    assert_eq!(status(&r, "u1"), Status::Unknown, "its outcome is unknown");
    assert!(r.has_problems());
    assert_eq!(w.writes().len(), 1);
}

#[tokio::test]
async fn a_delete_answered_500_and_not_actioned_is_asked_again() {
    let w = seeded().await;
    let id = w.id_of("gone").await;
    w.api.script(
        Method::Delete,
        &id,
        [Fault::Status(500), Fault::Status(503)],
    );
    let r = run(&w, &w.plan(vec![delete(&w, "gone").await])).await;
    assert_eq!(status(&r, "gone"), Status::Deleted, "{r:?}");
    assert_eq!(w.count_reference("gone").await, 0);
    assert_eq!(
        w.writes().len(),
        3,
        "two refused DELETEs, then one that took"
    );
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_is_verified_not_repeated() {
    let w = seeded().await;
    let id = w.id_of("gone").await;
    w.api.script(Method::Delete, &id, [Fault::CommitThenLose]);
    let r = run(&w, &w.plan(vec![delete(&w, "gone").await])).await;
    assert_eq!(status(&r, "gone"), Status::Deleted, "{r:?}");
    assert_eq!(w.writes().len(), 1, "gone on read-back: no second DELETE");
    assert_eq!(w.count_reference("gone").await, 0);
}

#[tokio::test]
async fn a_delete_that_keeps_failing_is_bounded() {
    let w = seeded().await;
    let id = w.id_of("gone").await;
    w.api
        .script(Method::Delete, &id, vec![Fault::Status(500); 10]);
    let r = run(&w, &w.plan(vec![delete(&w, "gone").await])).await;
    assert_eq!(status(&r, "gone"), Status::Failed);
    assert_eq!(w.count_reference("gone").await, 1);
    assert_eq!(w.writes().len(), 5);
}

#[tokio::test]
async fn a_uniqueness_check_that_cannot_list_is_a_run_error_and_holds_deletes_back() {
    let w = seeded().await;
    // Every full listing fails: the start-of-run snapshot (the stale check falls back to
    // a GET) and the uniqueness check after the creates. Look-ups by reference work.
    w.api.always(Method::List, "", Fault::Status(503));
    let p = w.plan(vec![
        create("n1", json!({"name": "N1"})),
        delete(&w, "gone").await,
    ]);
    let r = run(&w, &p).await;
    assert_eq!(status(&r, "n1"), Status::Created, "{r:?}");
    assert_eq!(status(&r, "gone"), Status::Skipped, "{r:?}");
    assert_eq!(r.errors.len(), 1, "{r:?}");
    let want = RunError::UniquenessUnchecked(crate::api::ApiError::Status {
        method: "GET".into(),
        path: "/customers".into(),
        status: 503,
        message: "scripted failure".into(),
    });
    assert_eq!(r.errors[0], want.to_string());
    assert!(r.errors[0].contains("run `dimctl plan` to check"));
    assert_eq!(w.count_reference("gone").await, 1);
}

/// A user change under customer `r` (created with `roles`).
fn user_create(r: &str, email: &str, roles: &[&str]) -> Change {
    let mut c = change(r, ActionKind::Create);
    c.kind = crate::model::Kind::User;
    c.address = format!("customer[{r}].user[{email}]");
    c.create = Some(obj(
        json!({"email": email, "displayName": "U", "roles": roles}),
    ));
    c.annotations.push(Annotation {
        kind: AnnotationKind::Billable,
        field: None,
        message: "roles are billed".into(),
        code: None,
    });
    c
}

#[tokio::test]
async fn a_user_of_a_customer_created_in_the_same_run_gets_its_new_id() {
    let w = World::new();
    let p = w.plan(vec![
        user_create("n1", "jane@n1.example", &["admin.user"]),
        create("n1", json!({"name": "N1"})),
    ]);
    let r = run(&w, &p).await;
    assert_eq!(r.counts.created, 2, "{:?}", r.results);
    let id = w.id_of("n1").await;
    let users = w
        .sandbox
        .list(
            crate::api::Collection::new(crate::model::Kind::User, Some(&id)),
            None,
        )
        .await
        .unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].fields["primaryTenant"], json!(id));
    // The customer was written first, then the user (under its new id, as above).
    assert_eq!(w.writes(), ["POST n1", "POST jane@n1.example"]);
}

#[tokio::test]
async fn a_user_whose_customer_failed_is_held_back_and_one_without_a_parent_fails() {
    let w = World::new();
    // The customer's create is refused (no name is fine, a bad country code is not).
    let p = w.plan(vec![
        create("bad", json!({"name": "B", "countryCode": "XX"})),
        user_create("bad", "jane@bad.example", &[]),
    ]);
    let r = run(&w, &p).await;
    assert!(
        r.results.iter().any(|o| o.status == Status::Skipped
            && o.message
                .as_deref()
                .is_some_and(|m| m.contains("held back"))),
        "{:?}",
        r.results
    );
    // A user change whose customer is neither known nor created in the run never writes.
    let w = World::new();
    let r = run(
        &w,
        &w.plan(vec![user_create("ghost", "a@ghost.example", &[])]),
    )
    .await;
    assert_eq!(r.counts.failed, 1, "{:?}", r.results);
    assert!(w.writes().is_empty(), "{:?}", w.writes());
}
