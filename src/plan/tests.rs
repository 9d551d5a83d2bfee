//! Table-driven tests of every planner rule, on values (no HTTP).

use serde_json::{Value, json};

use super::*;
use crate::model::{CustomerManifest, LiveCustomer, Located, Source};

fn manifest(fields: Value) -> Located<CustomerManifest> {
    let mut doc = json!({"apiVersion": "dimctl/v1", "kind": "Customer"});
    if let (Value::Object(d), Value::Object(f)) = (&mut doc, fields) {
        d.extend(f);
    }
    let m: CustomerManifest = serde_json::from_value(doc).unwrap();
    Located::new(
        m,
        Source {
            file: "customers/test.yaml".into(),
            line: 1,
            column: 1,
        },
    )
}

fn live(v: Value) -> LiveCustomer {
    LiveCustomer::from_json(v).unwrap()
}

fn one(desired: Value, live_obj: Value, policy: &Policy) -> Change {
    let p = plan(&[manifest(desired)], &[live(live_obj)], policy);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
    p.changes.into_iter().next().unwrap()
}

fn paths(ops: &[crate::model::PatchOperation]) -> Vec<String> {
    ops.iter().map(|o| o.path().to_string()).collect()
}

fn op_json(ops: &[crate::model::PatchOperation]) -> Value {
    serde_json::to_value(ops).unwrap()
}

fn default() -> Policy {
    Policy::default()
}

// ---------- matching ----------

#[test]
fn matches_by_reference_else_creates() {
    let p = plan(
        &[
            manifest(json!({"reference": "A", "name": "Alpha"})),
            manifest(json!({"reference": "B", "name": "Beta"})),
        ],
        &[live(json!({"id": "1", "reference": "A", "name": "Alpha"}))],
        &default(),
    );
    let actions: Vec<_> = p
        .changes
        .iter()
        .map(|c| (c.key.to_string(), c.action))
        .collect();
    assert_eq!(
        actions,
        [
            ("A".to_string(), ActionKind::NoOp),
            ("B".to_string(), ActionKind::Create)
        ]
    );
    assert_eq!(p.changes[0].live_id.as_deref(), Some("1"));
}

#[test]
fn pinned_id_wins_over_reference() {
    // The pinned tenant has another reference: it is renamed, not created.
    let c = one(
        json!({"id": "7", "reference": "NEW"}),
        json!({"id": "7", "reference": "OLD"}),
        &default(),
    );
    assert_eq!(c.action, ActionKind::Update);
    assert_eq!(
        op_json(&c.operations),
        json!([{"op": "replace", "path": "/reference", "value": "NEW"}])
    );
}

#[test]
fn pinned_id_not_found_is_an_error_never_a_create() {
    let p = plan(
        &[manifest(json!({"id": "missing", "reference": "A"}))],
        &[live(json!({"id": "1", "reference": "A"}))],
        &default(),
    );
    assert!(p.changes.is_empty());
    assert_eq!(p.errors.len(), 1);
    assert!(
        p.errors[0].message.contains("missing"),
        "{}",
        p.errors[0].message
    );
    assert_eq!(p.summary.errors, 1);
    assert_eq!(p.summary.create, 0);
    assert!(!p.is_applicable());
}

#[test]
fn ambiguous_reference_names_both_live_ids_and_protects_them_from_prune() {
    let policy = Policy {
        prune: true,
        ..default()
    };
    let p = plan(
        &[manifest(json!({"reference": "DUP"}))],
        &[
            live(json!({"id": "x1", "reference": "DUP"})),
            live(json!({"id": "x2", "reference": " DUP "})),
        ],
        &policy,
    );
    assert_eq!(p.errors.len(), 1);
    let msg = &p.errors[0].message;
    assert!(msg.contains("x1") && msg.contains("x2"), "{msg}");
    assert!(p.changes.is_empty(), "ambiguous tenants must not be pruned");
    assert!(p.unmanaged.is_empty());
}

#[test]
fn references_match_byte_for_byte_and_a_look_alike_is_an_error_not_a_create() {
    let policy = Policy {
        prune: true,
        ..default()
    };
    // (manifest reference, live reference): decomposed against composed and back.
    for (wanted, there) in [
        ("CAFE\u{0301}-1", "CAF\u{00C9}-1"),
        ("CAF\u{00C9}-1", "CAFE\u{0301}-1"),
    ] {
        let p = plan(
            &[manifest(json!({"reference": wanted, "name": "Caf"}))],
            &[live(json!({"id": "c1", "reference": there, "name": "Caf"}))],
            &policy,
        );
        assert_eq!(p.errors.len(), 1, "{wanted:?}: {:?}", p.changes);
        let msg = &p.errors[0].message;
        assert!(msg.contains("live customer c1"), "{msg}");
        assert!(msg.contains("byte for byte"), "{msg}");
        assert!(
            msg.contains("<U+0301>") && msg.contains("<U+00C9>"),
            "{msg}"
        );
        assert!(
            !p.changes
                .iter()
                .any(|c| matches!(c.action, ActionKind::Create | ActionKind::Delete)),
            "no look-alike create, and the live tenant is not pruned: {:?}",
            p.changes
        );
        assert!(p.unmanaged.is_empty());
        assert!(!p.is_applicable());
    }
    // The same bytes match as ever; a different non-ASCII reference is a create.
    let c = one(
        json!({"reference": "CAF\u{00C9}-1", "name": "Caf"}),
        json!({"id": "c1", "reference": "CAF\u{00C9}-1", "name": "Caf"}),
        &default(),
    );
    assert_eq!(c.action, ActionKind::NoOp);
    let p = plan(
        &[manifest(
            json!({"reference": "CAF\u{00C8}-1", "name": "Caf"}),
        )],
        &[live(
            json!({"id": "c1", "reference": "CAF\u{00C9}-1", "name": "Caf"}),
        )],
        &default(),
    );
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.changes[0].action, ActionKind::Create);
}

#[test]
fn two_manifests_claiming_one_tenant_is_an_error() {
    let p = plan(
        &[
            manifest(json!({"reference": "A"})),
            manifest(json!({"id": "1", "reference": "A2"})),
        ],
        &[live(json!({"id": "1", "reference": "A"}))],
        &default(),
    );
    assert_eq!(p.errors.len(), 1);
    assert!(p.errors[0].message.contains("already declared"));
}

// ---------- omitted vs default, and normalisation ----------

#[test]
fn omitted_fields_are_unmanaged_but_defaults_are_compared() {
    let live_obj = json!({"id": "1", "reference": "A", "enabled": true, "sendNewUserEmail": false});
    let cases = [
        (json!({"reference": "A"}), ActionKind::NoOp, vec![]),
        (
            json!({"reference": "A", "enabled": false}),
            ActionKind::Update,
            vec!["/enabled"],
        ),
        (
            json!({"reference": "A", "sendNewUserEmail": true}),
            ActionKind::Update,
            vec!["/sendNewUserEmail"],
        ),
        (
            json!({"reference": "A", "enabled": true}),
            ActionKind::NoOp,
            vec![],
        ),
    ];
    for (desired, action, want_paths) in cases {
        let c = one(desired.clone(), live_obj.clone(), &default());
        assert_eq!(c.action, action, "{desired}");
        assert_eq!(paths(&c.operations), want_paths, "{desired}");
    }
}

#[test]
fn server_spellings_never_cause_a_diff() {
    let cases = [
        (json!({"countryCode": "gb"}), json!({"countryCode": "GB"})),
        (json!({"countryCode": "GB"}), json!({"countryCode": " gb"})),
        (
            json!({"timezone": "US/Eastern"}),
            json!({"timezone": "America/New_York"}),
        ),
        (
            json!({"timezone": "America/New_York"}),
            json!({"timezone": "US/Eastern"}),
        ),
        (
            json!({"timezone": "Asia/Kolkata"}),
            json!({"timezone": "Asia/Calcutta"}),
        ),
        (
            json!({"timezone": "Europe/London"}),
            json!({"timezone": "europe/london"}),
        ),
        (json!({"trialDuration": 30}), json!({"trialDuration": "30"})),
        (json!({"enabled": true}), json!({"enabled": "true"})),
        (
            json!({"features": {"agent": 2}}),
            json!({"features": {"agent": "2", "device": 1}}),
        ),
        (json!({"name": "Acme"}), json!({"name": "Acme "})),
        (
            json!({"pbxConnectionProfiles": [{"_type": "KazooPbxConnectionProfile", "name": "main", "countryCode": "gb", "enabled": true}]}),
            json!({"pbxConnectionProfiles": [{"_type": "KazooPbxConnectionProfile", "name": "main", "countryCode": "GB", "enabled": "True"}]}),
        ),
    ];
    for (desired, live_fields) in cases {
        let mut d = desired.clone();
        d["reference"] = json!("A");
        let mut l = live_fields.clone();
        l["id"] = json!("1");
        l["reference"] = json!("A");
        let c = one(d, l, &default());
        assert_eq!(
            c.action,
            ActionKind::NoOp,
            "{desired} vs {live_fields}: {c:?}"
        );
        assert!(c.unverifiable.is_empty(), "{desired}");
    }
}

#[test]
fn a_different_zone_is_a_diff() {
    let c = one(
        json!({"reference": "A", "timezone": "Europe/Paris"}),
        json!({"id": "1", "reference": "A", "timezone": "Europe/London"}),
        &default(),
    );
    assert_eq!(
        op_json(&c.operations),
        json!([{"op": "replace", "path": "/timezone", "value": "Europe/Paris"}])
    );
    assert_eq!(c.diffs[0].old, Some(json!("Europe/London")));
}

// ---------- unverifiable ----------

#[test]
fn fields_live_does_not_carry_are_unverifiable() {
    let desired = json!({"reference": "A", "name": "N", "timezone": "Europe/London",
        "features": {"agent": 1}, "countryCode": "GB"});
    let live_obj = json!({"id": "1", "reference": "A", "name": "N", "features": {"device": 0}});
    let c = one(desired.clone(), live_obj.clone(), &default());
    assert_eq!(c.action, ActionKind::NoOp);
    assert!(c.operations.is_empty());
    assert_eq!(
        c.unverifiable,
        ["/timezone", "/countryCode", "/features/agent"]
    );
    let p = plan(
        &[manifest(desired.clone())],
        &[live(live_obj.clone())],
        &default(),
    );
    assert_eq!(p.summary.unverifiable_fields, 3);

    // --write-unverifiable writes them, as `add` (the live object does not carry them).
    let policy = Policy {
        write_unverifiable: true,
        ..default()
    };
    let c = one(desired, live_obj, &policy);
    assert_eq!(c.action, ActionKind::Update);
    assert_eq!(
        op_json(&c.operations),
        json!([
            {"op": "add", "path": "/timezone", "value": "Europe/London"},
            {"op": "add", "path": "/countryCode", "value": "GB"},
            {"op": "add", "path": "/features/agent", "value": 1},
        ])
    );
    assert_eq!(c.unverifiable.len(), 3, "still reported as unverifiable");
}

#[test]
fn a_missing_features_object_is_written_whole() {
    let policy = Policy {
        write_unverifiable: true,
        ..default()
    };
    let c = one(
        json!({"reference": "A", "features": {"agent": 2, "device": 0}}),
        json!({"id": "1", "reference": "A"}),
        &policy,
    );
    assert_eq!(
        op_json(&c.operations),
        json!([{"op": "add", "path": "/features", "value": {"agent": 2, "device": 0}}])
    );
    assert_eq!(c.unverifiable, ["/features/agent", "/features/device"]);
}

// ---------- create-only ----------

#[test]
fn each_create_only_field_that_differs_refuses_the_customer() {
    let cases = [
        ("syncAcdAgentWithPbx", json!(true), json!(false)),
        ("trialDuration", json!(30), json!(0)),
        ("tenantProfileType", json!("pro"), json!("basic")),
    ];
    for (field, desired_v, live_v) in cases {
        let c = one(
            json!({"reference": "A", "name": "New name", field: desired_v}),
            json!({"id": "1", "reference": "A", "name": "Old", field: live_v}),
            &default(),
        );
        assert_eq!(c.action, ActionKind::Refused, "{field}");
        assert!(
            c.operations.is_empty(),
            "{field}: a refused customer is not written"
        );
        assert_eq!(c.refusals.len(), 1);
        let r = &c.refusals[0];
        assert_eq!(r.field, field);
        assert_eq!(r.live, Some(live_v.clone()));
        assert_eq!(r.desired, Some(desired_v.clone()));
        let reason = crate::model::Kind::Customer
            .def()
            .field(field)
            .and_then(|f| f.mutability.create_only_reason())
            .unwrap();
        assert!(r.reason.contains(reason), "{field}: {}", r.reason);
        // The other difference is still shown.
        assert_eq!(c.diffs[0].path, "/name");

        let p = plan(
            &[manifest(json!({"reference": "A", field: desired_v}))],
            &[live(json!({"id": "1", "reference": "A", field: live_v}))],
            &default(),
        );
        assert_eq!(p.summary.refused, 1);
        assert!(!p.is_applicable());
        assert!(p.changes.iter().all(|c| c.action != ActionKind::Delete));
    }
}

#[test]
fn create_only_fields_equal_or_absent_live_are_not_refused() {
    for field in ["syncAcdAgentWithPbx", "trialDuration", "tenantProfileType"] {
        let v = match field {
            "syncAcdAgentWithPbx" => json!(true),
            "trialDuration" => json!(14),
            _ => json!("pro"),
        };
        let same = one(
            json!({"reference": "A", field: v}),
            json!({"id": "1", "reference": "A", field: v}),
            &default(),
        );
        assert_eq!(same.action, ActionKind::NoOp, "{field}");
        // Absent live: unverifiable, never refused, never PATCHed (even when writing
        // unverifiable fields: the API refuses a PATCH of a create-only field).
        let policy = Policy {
            write_unverifiable: true,
            ..default()
        };
        let absent = one(
            json!({"reference": "A", field: v}),
            json!({"id": "1", "reference": "A"}),
            &policy,
        );
        assert_eq!(absent.action, ActionKind::NoOp, "{field}");
        assert_eq!(absent.unverifiable, [format!("/{field}")]);
        assert!(absent.refusals.is_empty());
        assert!(absent.operations.is_empty());
    }
}

// ---------- sensitive ----------

#[test]
fn secrets_are_sent_on_create_as_references_and_shown_as_sensitive() {
    let p = plan(
        &[manifest(
            json!({"reference": "A", "pbxConnectionProfiles": [{
            "_type": "KazooPbxConnectionProfile", "name": "main",
            "hostRest": "https://kazoo.example/v2", "apiKey": {"fromEnv": "ACME_KEY"}}]}),
        )],
        &[],
        &default(),
    );
    let c = &p.changes[0];
    assert_eq!(c.action, ActionKind::Create);
    let body = Value::Object(c.create.clone().unwrap());
    assert_eq!(
        body["pbxConnectionProfiles"][0]["apiKey"],
        json!({"fromEnv": "ACME_KEY"})
    );
    let secret = c
        .diffs
        .iter()
        .find(|d| d.path == "/pbxConnectionProfiles/0/apiKey")
        .unwrap();
    assert!(secret.sensitive);
    assert_eq!(secret.new, Some(json!("(sensitive, from $ACME_KEY)")));
    assert!(secret.old.is_none());
}

#[test]
fn secrets_of_existing_profiles_are_never_diffed() {
    let c = one(
        json!({"reference": "A", "pbxConnectionProfiles": [{
            "_type": "ThreeCxConnectionProfile", "name": "3cx", "username": "u",
            "password": {"fromEnv": "PW"}}]}),
        json!({"id": "1", "reference": "A", "pbxConnectionProfiles": [{
            "_type": "ThreeCxConnectionProfile", "name": "3cx", "username": "u",
            "password": "whatever-the-server-says"}]}),
        &default(),
    );
    assert_eq!(c.action, ActionKind::NoOp);
    assert!(c.unverifiable.is_empty());
    assert!(c.diffs.is_empty());
}

// ---------- PBX profiles ----------

fn pbx(id: &str, name: &str, kind: &str) -> crate::model::LiveObject {
    crate::model::LiveObject::from_json(
        crate::model::Kind::PbxConnection,
        json!({"id": id, "name": name, "_type": kind, "tenantId": "1"}),
    )
    .unwrap()
}

fn ctx_with(pbxs: Vec<crate::model::LiveObject>) -> super::Context {
    let mut ctx = super::Context::default();
    ctx.pbxs.insert("1".into(), pbxs);
    ctx
}

#[test]
fn pbx_profiles_are_matched_by_name() {
    let desired = json!({"reference": "A", "pbxConnectionProfiles": [
        {"_type": "KazooPbxConnectionProfile", "name": "main", "hostRest": "https://new/v2",
         "accountId": "acc", "apiKey": {"fromEnv": "K", "version": 2}},
        {"_type": "TeamsConnectionProfile", "name": "teams", "microsoftTenantId": "t-1"},
    ]});
    let lives = [live(json!({"id": "1", "reference": "A"}))];
    let mut ctx = ctx_with(vec![
        pbx("p0", "other", "ThreeCxConnectionProfile"),
        pbx("p1", " main ", "KazooPbxConnectionProfile"),
    ]);
    let p = super::plan_with(&[manifest(desired.clone())], &lives, &ctx, &default());
    let by = |a: &str| p.changes.iter().find(|c| c.address == a).unwrap();
    assert_eq!(by("customer[A]").action, ActionKind::NoOp);
    let main = by("customer[A].pbx[main]");
    assert_eq!(main.action, ActionKind::NoOp);
    assert_eq!(main.live_id.as_deref(), Some("p1"));
    // Write-only settings without --base: listed, never diffed.
    assert_eq!(main.unverifiable, ["/hostRest", "/accountId", "/apiKey"]);
    let teams = by("customer[A].pbx[teams]");
    assert_eq!(teams.action, ActionKind::Create);
    assert_eq!(teams.parent_id.as_deref(), Some("1"));
    assert_eq!(
        Value::Object(teams.create.clone().unwrap()),
        json!({"_type": "TeamsConnectionProfile", "name": "teams", "microsoftTenantId": "t-1"})
    );
    assert_eq!(p.unmanaged_resources[0].address, "customer[A].pbx[other]");
    assert_eq!(p.summary.unmanaged, 1);

    // --write-unverifiable without a base: every write-only setting in one PATCH.
    let all = Policy {
        write_unverifiable: true,
        ..default()
    };
    let p = super::plan_with(&[manifest(desired.clone())], &lives, &ctx, &all);
    let main = p
        .changes
        .iter()
        .find(|c| c.address == "customer[A].pbx[main]")
        .unwrap();
    assert_eq!(main.action, ActionKind::Update);
    assert_eq!(
        paths(&main.operations),
        ["/hostRest", "/accountId", "/apiKey"]
    );

    // With a base where the host and the secret's version differ: one PATCH of both,
    // the secret sent as a bare reference, the host change and the restart flagged.
    let mut base = desired.clone();
    base["pbxConnectionProfiles"][0]["hostRest"] = json!("https://old/v2");
    base["pbxConnectionProfiles"][0]["apiKey"] = json!({"fromEnv": "K"});
    ctx.base = Some(super::Base {
        commit: "abc123".into(),
        customers: vec![manifest(base).value],
    });
    let p = super::plan_with(&[manifest(desired)], &lives, &ctx, &default());
    assert_eq!(p.base.as_deref(), Some("abc123"));
    let main = p
        .changes
        .iter()
        .find(|c| c.address == "customer[A].pbx[main]")
        .unwrap();
    assert_eq!(main.action, ActionKind::Update);
    assert!(main.unverifiable.is_empty());
    assert_eq!(
        op_json(&main.operations),
        json!([
            {"op": "add", "path": "/hostRest", "value": "https://new/v2"},
            {"op": "add", "path": "/apiKey", "value": {"fromEnv": "K"}},
        ])
    );
    let codes: Vec<_> = main
        .annotations
        .iter()
        .filter_map(|a| a.code.as_deref())
        .collect();
    assert!(codes.contains(&"secret-host-changes"), "{codes:?}");
    assert!(codes.contains(&"restarts-pbx-collector"), "{codes:?}");
    assert!(main.diffs.iter().any(|d| d.sensitive
        && d.path == "/apiKey"
        && d.new == Some(json!("(sensitive, from $K)"))));
}

#[test]
fn a_customer_get_carrying_profiles_is_never_patched_for_them() {
    // Even when a (non-documented) GET carries profiles, they are not the customer's to
    // write: without a listing of /pbxs nothing is planned for them.
    let c = one(
        json!({"reference": "A", "pbxConnectionProfiles": [
            {"_type": "TeamsConnectionProfile", "name": "teams"}]}),
        json!({"id": "1", "reference": "A", "pbxConnectionProfiles": []}),
        &default(),
    );
    assert_eq!(c.action, ActionKind::NoOp);
    assert!(c.operations.is_empty() && c.unverifiable.is_empty());
}

#[test]
fn a_changed_type_and_an_attached_instance_are_refused() {
    let desired = manifest(json!({"reference": "A", "pbxConnectionProfiles": [
        {"_type": "TeamsConnectionProfile", "name": "main"},
        {"_type": "KazooPbxConnectionProfile", "name": "new", "accountId": "taken"}]}));
    let lives = [
        live(json!({"id": "1", "reference": "A"})),
        live(json!({"id": "2", "reference": "B"})),
    ];
    let mut ctx = ctx_with(vec![pbx("p1", "main", "KazooPbxConnectionProfile")]);
    ctx.instances.insert(
        "taken".into(),
        Some(super::InstanceOwner {
            profile_id: Some("p9".into()),
            tenant_id: Some("2".into()),
        }),
    );
    let p = super::plan_with(&[desired], &lives, &ctx, &default());
    let refused: Vec<_> = p
        .changes
        .iter()
        .filter(|c| c.action == ActionKind::Refused)
        .collect();
    assert_eq!(refused.len(), 2, "{:?}", p.changes);
    assert!(refused[0].refusals[0].reason.contains("ensure: absent"));
    assert!(refused[1].refusals[0].reason.contains("our customer B"));
    assert!(!p.is_applicable());
}

// ---------- features ----------

#[test]
fn features_are_compared_per_key_and_raising_is_billable() {
    let cases = [
        // (desired, live, ops, billable)
        (
            json!({"agent": 3}),
            json!({"agent": 1, "device": 5}),
            json!([{"op": "replace", "path": "/features/agent", "value": 3}]),
            true,
        ),
        (
            json!({"agent": 0}),
            json!({"agent": 1}),
            json!([{"op": "replace", "path": "/features/agent", "value": 0}]),
            false,
        ),
        (
            json!({"device": 5}),
            json!({"agent": 1, "device": 5}),
            json!([]),
            false,
        ),
    ];
    for (want, have, ops, billable) in cases {
        let c = one(
            json!({"reference": "A", "features": want}),
            json!({"id": "1", "reference": "A", "features": have}),
            &default(),
        );
        assert_eq!(op_json(&c.operations), ops, "{want} vs {have}");
        let is_billable = c
            .annotations
            .iter()
            .any(|a| a.kind == AnnotationKind::Billable);
        assert_eq!(is_billable, billable, "{want} vs {have}");
    }
}

// ---------- annotations ----------

#[test]
fn enabling_warns_of_pbx_start_and_emails_but_disabling_does_not() {
    let cases = [(true, false, true), (false, true, false)];
    for (want, have, warned) in cases {
        let c = one(
            json!({"reference": "A", "enabled": want}),
            json!({"id": "1", "reference": "A", "enabled": have}),
            &default(),
        );
        let got = c
            .annotations
            .iter()
            .any(|a| a.code.as_deref() == Some("starts-pbx-and-emails-users"));
        assert_eq!(got, warned, "{have} -> {want}");
    }
}

#[test]
fn create_annotations_billing_trial_date_and_fixed_values() {
    let policy = Policy {
        today: Some(jiff::civil::date(2026, 11, 20)),
        ..default()
    };
    let p = plan(
        &[manifest(
            json!({"reference": "A", "enabled": true, "trialDuration": 30,
            "syncAcdAgentWithPbx": true, "tenantProfileType": "pro", "features": {"agent": 2}}),
        )],
        &[],
        &policy,
    );
    let a = &p.changes[0].annotations;
    let has = |kind: AnnotationKind, needle: &str| {
        a.iter()
            .any(|x| x.kind == kind && x.message.contains(needle))
    };
    assert!(has(AnnotationKind::Billable, "billable tenant"));
    assert!(has(
        AnnotationKind::Billable,
        "rolls into billing on 2026-12-20"
    ));
    assert!(has(AnnotationKind::SideEffect, "PBX connection"));
    assert!(has(
        AnnotationKind::CreateOnly,
        "syncAcdAgentWithPbx = true"
    ));
    assert!(has(AnnotationKind::CreateOnly, "trialDuration = 30"));
    assert!(has(
        AnnotationKind::CreateOnly,
        "tenantProfileType = \"pro\""
    ));
    assert!(a.iter().any(
        |x| x.field.as_deref() == Some("/features/agent") && x.kind == AnnotationKind::Billable
    ));

    // Without today, the trial still warns, without a date.
    let p = plan(
        &[manifest(json!({"reference": "A", "trialDuration": 7}))],
        &[],
        &default(),
    );
    assert!(p.changes[0].annotations.iter().any(|x| {
        x.message
            .contains("7-day trial rolls into billing when it ends")
    }));
}

// ---------- prune, ensure: absent, preventDestroy ----------

#[test]
fn undeclared_customers_are_unmanaged_unless_pruned() {
    let lives = [
        live(json!({"id": "1", "reference": "A"})),
        live(json!({"id": "2", "reference": "Z", "name": "Zed"})),
        live(json!({"id": "3"})),
    ];
    let desired = [manifest(json!({"reference": "A"}))];
    let p = plan(&desired, &lives, &default());
    let ids: Vec<_> = p.unmanaged.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["3", "2"]);
    assert_eq!(p.summary.unmanaged, 2);
    assert_eq!(p.summary.delete, 0);

    let p = plan(
        &desired,
        &lives,
        &Policy {
            prune: true,
            ..default()
        },
    );
    assert!(p.unmanaged.is_empty());
    let deletes: Vec<_> = p
        .changes
        .iter()
        .filter(|c| c.action == ActionKind::Delete)
        .map(|c| (c.live_id.clone().unwrap(), c.delete_reason))
        .collect();
    assert_eq!(
        deletes,
        [
            ("2".to_string(), Some(DeleteReason::Prune)),
            ("3".to_string(), Some(DeleteReason::Prune))
        ]
    );
    assert!(
        p.changes
            .iter()
            .filter(|c| c.action == ActionKind::Delete)
            .all(|c| {
                c.fingerprint.is_some()
                    && c.annotations
                        .iter()
                        .any(|a| a.kind == AnnotationKind::Destructive)
            })
    );
}

#[test]
fn ensure_absent_deletes_what_exists_and_is_a_no_op_otherwise() {
    let cases = [
        (
            json!({"reference": "A", "ensure": "absent"}),
            true,
            ActionKind::Delete,
        ),
        (
            json!({"reference": "B", "ensure": "absent"}),
            true,
            ActionKind::NoOp,
        ),
        (
            json!({"id": "1", "ensure": "absent"}),
            true,
            ActionKind::Delete,
        ),
        (
            json!({"id": "gone", "ensure": "absent"}),
            true,
            ActionKind::NoOp,
        ),
        (
            json!({"reference": "A", "ensure": "absent", "lifecycle": {"preventDestroy": true}}),
            false,
            ActionKind::Refused,
        ),
    ];
    for (desired, applicable, action) in cases {
        for allow_unsafe in [false, true] {
            let policy = Policy {
                allow_unsafe,
                ..default()
            };
            let p = plan(
                &[manifest(desired.clone())],
                &[live(json!({"id": "1", "reference": "A"}))],
                &policy,
            );
            assert!(p.errors.is_empty(), "{desired}");
            let c = p.changes.iter().find(|c| c.source.is_some()).unwrap();
            assert_eq!(c.action, action, "{desired}");
            assert_eq!(
                p.is_applicable(),
                applicable,
                "{desired} allow_unsafe={allow_unsafe}"
            );
            if action == ActionKind::Delete {
                assert_eq!(c.delete_reason, Some(DeleteReason::EnsureAbsent));
            }
            if action == ActionKind::Refused {
                assert_eq!(p.unsafe_reasons.len(), 1, "always unsafe");
                assert_eq!(c.refusals[0].field, "ensure");
            }
        }
    }
}

// ---------- safety thresholds ----------

#[test]
fn thresholds_make_large_plans_unsafe() {
    // (existing, updates, deletes, allow_unsafe, unsafe reasons)
    let cases = [
        (10, 3, 0, false, 0),
        (10, 4, 0, false, 1),
        (10, 0, 4, false, 1),
        (10, 4, 4, false, 2),
        (10, 4, 4, true, 0),
        (9, 9, 0, false, 0), // below min_existing_for_thresholds
        (20, 6, 6, false, 0),
        (20, 7, 0, false, 1),
    ];
    for (existing, updates, deletes, allow_unsafe, reasons) in cases {
        let lives: Vec<_> = (0..existing)
            .map(|i| {
                live(json!({"id": format!("{i}"), "reference": format!("R{i:03}"), "name": "old"}))
            })
            .collect();
        let mut desired: Vec<_> = (0..updates)
            .map(|i| manifest(json!({"reference": format!("R{i:03}"), "name": "new"})))
            .collect();
        desired.extend(
            (updates..updates + deletes)
                .map(|i| manifest(json!({"reference": format!("R{i:03}"), "ensure": "absent"}))),
        );
        let p = plan(
            &desired,
            &lives,
            &Policy {
                allow_unsafe,
                ..default()
            },
        );
        assert_eq!(p.summary.update, updates);
        assert_eq!(p.summary.delete, deletes);
        assert_eq!(
            p.unsafe_reasons.len(),
            reasons,
            "{existing} {updates} {deletes} {allow_unsafe}: {:?}",
            p.unsafe_reasons
        );
    }
}

// ---------- ignoreChanges ----------

#[test]
fn ignore_changes_skips_comparison_and_refusal() {
    let cases = [
        (
            json!({"reference": "A", "enabled": true, "lifecycle": {"ignoreChanges": ["enabled"]}}),
            json!({"id": "1", "reference": "A", "enabled": false}),
        ),
        (
            json!({"reference": "A", "features": {"agent": 9}, "lifecycle": {"ignoreChanges": ["features"]}}),
            json!({"id": "1", "reference": "A", "features": {"agent": 1}}),
        ),
        (
            json!({"reference": "A", "trialDuration": 30, "lifecycle": {"ignoreChanges": ["trialDuration"]}}),
            json!({"id": "1", "reference": "A", "trialDuration": 0}),
        ),
        (
            json!({"reference": "A", "timezone": "Europe/London", "lifecycle": {"ignoreChanges": ["timezone"]}}),
            json!({"id": "1", "reference": "A"}),
        ),
    ];
    for (desired, live_obj) in cases {
        let c = one(desired.clone(), live_obj, &default());
        assert_eq!(c.action, ActionKind::NoOp, "{desired}");
        assert!(c.unverifiable.is_empty(), "{desired}");
        assert!(c.refusals.is_empty(), "{desired}");
    }
}

// ---------- targets, fingerprints, ordering ----------

#[test]
fn targets_restrict_the_plan() {
    let lives = [
        live(json!({"id": "1", "reference": "A", "name": "x"})),
        live(json!({"id": "2", "reference": "B"})),
        live(json!({"id": "3", "reference": "C"})),
    ];
    let desired = [
        manifest(json!({"reference": "A", "name": "y"})),
        manifest(json!({"reference": "D"})),
    ];
    let policy = Policy {
        targets: vec!["A".into(), "id:3".into()],
        prune: true,
        ..default()
    };
    let p = plan(&desired, &lives, &policy);
    let got: Vec<_> = p
        .changes
        .iter()
        .map(|c| (c.key.to_string(), c.action))
        .collect();
    assert_eq!(
        got,
        [
            ("A".to_string(), ActionKind::Update),
            ("C".to_string(), ActionKind::Delete)
        ]
    );
    assert_eq!(p.policy.targets, ["A", "id:3"]);

    // The same selection by address; every change carries its address and kind.
    let by_address = Policy {
        targets: vec!["customer[A]".into(), "customer[id=3]".into()],
        prune: true,
        ..default()
    };
    let q = plan(&desired, &lives, &by_address);
    let got: Vec<_> = q
        .changes
        .iter()
        .map(|c| (c.address.as_str(), c.kind, c.action))
        .collect();
    assert_eq!(
        got,
        [
            (
                "customer[A]",
                crate::model::Kind::Customer,
                ActionKind::Update
            ),
            (
                "customer[C]",
                crate::model::Kind::Customer,
                ActionKind::Delete
            )
        ]
    );
    // An unknown address selects nothing (it is not read as a reference either).
    let none = Policy {
        targets: vec!["customer[Z]".into()],
        ..default()
    };
    assert!(plan(&desired, &lives, &none).changes.is_empty());
}

#[test]
fn existing_customers_carry_their_fingerprint() {
    let l = live(json!({"id": "1", "reference": "A", "name": "x"}));
    let p = plan(
        &[
            manifest(json!({"reference": "A", "name": "y"})),
            manifest(json!({"reference": "N"})),
        ],
        std::slice::from_ref(&l),
        &default(),
    );
    assert_eq!(p.changes[0].fingerprint, Some(l.fingerprint()));
    assert_eq!(p.changes[1].action, ActionKind::Create);
    assert_eq!(p.changes[1].fingerprint, None);
}

#[test]
fn the_plan_is_deterministic_and_sorted() {
    let mut desired: Vec<_> = ["M", "B", "Z", "A"]
        .iter()
        .map(|r| manifest(json!({"reference": r, "name": "n"})))
        .collect();
    let mut lives: Vec<_> = ["Z", "A"]
        .iter()
        .enumerate()
        .map(|(i, r)| live(json!({"id": format!("{i}"), "reference": r, "name": "o"})))
        .collect();
    let a = plan(&desired, &lives, &default());
    desired.reverse();
    lives.reverse();
    let b = plan(&desired, &lives, &default());
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    let keys: Vec<_> = a.changes.iter().map(|c| c.key.to_string()).collect();
    assert_eq!(keys, ["A", "B", "M", "Z"]);
}

#[test]
fn summary_counts_every_kind() {
    let p = plan(
        &[
            manifest(json!({"reference": "C1"})),
            manifest(json!({"reference": "U1", "name": "new"})),
            manifest(json!({"reference": "D1", "ensure": "absent"})),
            manifest(json!({"reference": "R1", "trialDuration": 5})),
            manifest(json!({"reference": "N1", "timezone": "UTC"})),
        ],
        &[
            live(json!({"id": "u", "reference": "U1", "name": "old"})),
            live(json!({"id": "d", "reference": "D1"})),
            live(json!({"id": "r", "reference": "R1", "trialDuration": 0})),
            live(json!({"id": "n", "reference": "N1"})),
            live(json!({"id": "x", "reference": "X1"})),
        ],
        &default(),
    );
    assert_eq!(
        p.summary,
        Summary {
            create: 1,
            update: 1,
            delete: 1,
            refused: 1,
            unverifiable_fields: 1,
            pending: 0,
            unchanged: 1,
            unmanaged: 1,
            errors: 0,
        }
    );
    assert!(p.has_changes());
}

#[test]
fn creates_count_toward_safety_and_an_empty_listing_with_pinned_ids_is_unsafe() {
    // (existing, creates, max_create_share, allow_unsafe, unsafe reasons)
    let cases = [
        (10, 3, 0.3, false, 0),
        (10, 4, 0.3, false, 1),
        (10, 4, 0.3, true, 0),
        (10, 10, 1.0, false, 0),
        (9, 100, 0.3, false, 0), // below min_existing_for_thresholds
        (20, 7, 0.3, false, 1),
    ];
    for (existing, creates, max_create_share, allow_unsafe, reasons) in cases {
        let lives: Vec<_> = (0..existing)
            .map(|i| live(json!({"id": format!("{i}"), "reference": format!("R{i:03}")})))
            .collect();
        let desired: Vec<_> = (0..creates)
            .map(|i| manifest(json!({"reference": format!("N{i:03}"), "name": "new"})))
            .collect();
        let p = plan(
            &desired,
            &lives,
            &Policy {
                allow_unsafe,
                max_create_share,
                ..default()
            },
        );
        assert_eq!(p.summary.create, creates);
        assert_eq!(
            p.unsafe_reasons.len(),
            reasons,
            "{existing} {creates} {allow_unsafe}: {:?}",
            p.unsafe_reasons
        );
        if reasons == 1 {
            assert!(
                p.unsafe_reasons[0].contains("created anew"),
                "{:?}",
                p.unsafe_reasons
            );
        }
    }
    // The listing came back empty although a manifest pins a tenant id: unsafe, whatever
    // the flags say.
    let desired = vec![
        manifest(json!({"reference": "A", "id": "pinned-1", "name": "A"})),
        manifest(json!({"reference": "B", "name": "B"})),
    ];
    let p = plan(
        &desired,
        &[],
        &Policy {
            allow_unsafe: true,
            ..default()
        },
    );
    assert!(
        p.unsafe_reasons
            .iter()
            .any(|r| r.contains("listing is empty")),
        "{:?}",
        p.unsafe_reasons
    );
    assert!(!p.is_applicable());
}

#[test]
fn a_field_the_listing_shows_for_others_is_unset_not_unverifiable() {
    let lives = vec![
        live(json!({"id": "1", "reference": "A", "name": "A", "description": "has one"})),
        live(json!({"id": "2", "reference": "B", "name": "B"})),
    ];
    let desired = vec![
        manifest(json!({"reference": "A", "name": "A", "description": "has one"})),
        manifest(json!({"reference": "B", "name": "B", "description": "new"})),
    ];
    let p = plan(&desired, &lives, &default());
    let b = p.changes.iter().find(|c| c.key.to_string() == "B").unwrap();
    assert_eq!(b.action, ActionKind::Update, "{b:?}");
    assert!(b.unverifiable.is_empty());
    assert_eq!(
        serde_json::to_value(&b.operations).unwrap(),
        json!([{"op": "add", "path": "/description", "value": "new"}])
    );
    // Nobody carries it: unverifiable, nothing written, "No changes".
    let lives = vec![live(json!({"id": "2", "reference": "B", "name": "B"}))];
    let p = plan(&desired[1..], &lives, &default());
    assert_eq!(p.changes[0].action, ActionKind::NoOp);
    assert_eq!(p.changes[0].unverifiable, ["/description"]);
    assert_eq!(p.summary.pending, 0);
}

#[test]
fn a_pbx_profile_added_is_planned_never_silent() {
    let desired = vec![manifest(
        json!({"reference": "B", "name": "B", "pbxConnectionProfiles":
        [{"_type": "TeamsConnectionProfile", "name": "teams", "microsoftTenantId": "t"}]}),
    )];
    let lives = vec![live(json!({"id": "1", "reference": "B", "name": "B"}))];
    // The customer's profiles were listed and it has none: the profile is created.
    let p = super::plan_with(&desired, &lives, &ctx_with(vec![]), &default());
    let added: Vec<_> = p.changes.iter().filter(|c| c.action.is_write()).collect();
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].address, "customer[B].pbx[teams]");
    assert_eq!(added[0].action, ActionKind::Create);
    assert_eq!(crate::cli::plan::exit_code(&p, true), 2);
}

#[test]
fn a_field_only_the_last_live_customer_carries_is_shown() {
    // The listing is searched past customers that lack the field; a field returned as
    // null is returned all the same.
    for description in [json!("has one"), Value::Null] {
        let mut lives: Vec<LiveCustomer> = (0..5)
            .map(|i| live(json!({"id": format!("{i}"), "reference": format!("R{i}")})))
            .collect();
        lives.push(live(
            json!({"id": "9", "reference": "LAST", "description": description}),
        ));
        let p = plan(
            &[manifest(json!({"reference": "R0", "description": "new"}))],
            &lives,
            &default(),
        );
        let c = p
            .changes
            .iter()
            .find(|c| c.key.to_string() == "R0")
            .unwrap();
        assert!(c.unverifiable.is_empty(), "{c:?}");
        assert_eq!(paths(&c.operations), ["/description"]);
    }
}

// ---------- one matching per plan ----------

/// Manifests and live customers exercising every matching rule: a match, a create, an
/// id pin, an unknown pin, an ambiguity, a second claim and an NFC look-alike.
fn matching_fixture() -> (Vec<Located<CustomerManifest>>, Vec<LiveCustomer>) {
    let desired = vec![
        manifest(json!({"reference": "A", "name": "Alpha", "users": [
            {"email": "a@example.com", "displayName": "A", "roles": ["admin.user"]}]})),
        manifest(json!({"reference": "NEW"})),
        manifest(json!({"id": "3", "reference": "C-renamed"})),
        manifest(json!({"id": "404", "reference": "GONE"})),
        manifest(json!({"reference": "DUP"})),
        manifest(json!({"reference": " A "})),
        manifest(json!({"reference": "CAFE\u{301}-1"})),
    ];
    let lives = vec![
        live(json!({"id": "1", "reference": "A", "name": "Alpha"})),
        live(json!({"id": "3", "reference": "C"})),
        live(json!({"id": "4", "reference": "DUP"})),
        live(json!({"id": "5", "reference": "DUP"})),
        live(json!({"id": "6", "reference": "DUP"})),
        live(json!({"id": "7", "reference": "CAF\u{c9}-1"})),
        live(json!({"id": "8", "reference": "UNDECLARED"})),
    ];
    (desired, lives)
}

#[test]
fn a_shared_matching_plans_exactly_as_matching_inside_the_planner() {
    let (desired, lives) = matching_fixture();
    let policy = default();
    let users = crate::model::LiveUsers::default();
    let ctx = Context::default();
    let matched = Matching::new(&desired, &lives);
    assert_eq!(
        users::to_read_matched(&desired, &matched, &policy),
        users::to_read(&desired, &lives, &policy)
    );
    let shared = plan_matched(&desired, &lives, matched, &users, &ctx, &policy);
    let alone = plan_all(&desired, &lives, &users, &ctx, &policy);
    assert_eq!(
        serde_json::to_value(&shared).unwrap(),
        serde_json::to_value(&alone).unwrap()
    );
}

#[test]
fn every_matching_rule_holds_with_many_tenants_per_reference() {
    let (desired, lives) = matching_fixture();
    let p = plan(&desired, &lives, &default());
    let messages: Vec<&str> = p.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages.len(), 4, "{messages:#?}");
    let has = |needle: &str| messages.iter().any(|m| m.contains(needle));
    assert!(
        has("the pinned id 404 does not exist live"),
        "{messages:#?}"
    );
    assert!(
        has("live customers 4, 5, 6 all carry it"),
        "three tenants, in listing order: {messages:#?}"
    );
    assert!(
        has("live customer 1 is already declared by the manifest at customers/test.yaml:1:1"),
        "{messages:#?}"
    );
    assert!(
        has("CAFE<U+0301>-1") && has("7 (CAF<U+00C9>-1)"),
        "{messages:#?}"
    );
    // Matched, pinned, ambiguous and look-alike tenants are declared; only 8 is not.
    let unmanaged: Vec<&str> = p.unmanaged.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(unmanaged, ["8"]);
    let actions: Vec<(String, ActionKind)> = p
        .changes
        .iter()
        .map(|c| (c.key.to_string(), c.action))
        .collect();
    assert!(
        actions.contains(&("A".into(), ActionKind::NoOp)),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("NEW".into(), ActionKind::Create)),
        "{actions:?}"
    );
    assert!(
        actions
            .iter()
            .any(|(k, a)| k.contains('3') && *a == ActionKind::Update),
        "{actions:?}"
    );
}
