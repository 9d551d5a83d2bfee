//! One plan that holds every kind of action and annotation, for the rendering tests.
#![allow(dead_code)]

use dimctl::model::{CustomerManifest, LiveCustomer, Located, Source};
use dimctl::plan::{Plan, Policy};
use serde_json::{Value, json};

pub fn manifest(file: &str, fields: Value) -> Located<CustomerManifest> {
    let mut doc = json!({"apiVersion": "dimctl/v1", "kind": "Customer"});
    if let (Value::Object(d), Value::Object(f)) = (&mut doc, fields) {
        d.extend(f);
    }
    let m: CustomerManifest = serde_json::from_value(doc).unwrap();
    Located::new(
        m,
        Source {
            file: format!("customers/{file}.yaml"),
            line: 1,
            column: 1,
        },
    )
}

pub fn live(v: Value) -> LiveCustomer {
    LiveCustomer::from_json(v).unwrap()
}

pub fn desired() -> Vec<Located<CustomerManifest>> {
    vec![
        manifest(
            "acme",
            json!({
                "reference": "ACME-001", "name": "Acme Ltd", "enabled": true,
                "description": "Acme's contact centre in Leeds",
                "timezone": "Europe/London", "countryCode": "GB",
                "trialDuration": 30, "syncAcdAgentWithPbx": true, "tenantProfileType": "pro",
                "features": {"agent": 5, "device": 2},
                "pbxConnectionProfiles": [{
                    "_type": "KazooPbxConnectionProfile", "name": "main",
                    "hostRest": "https://kazoo.acme.example/v2",
                    "accountId": "acc-1", "apiKey": {"fromEnv": "ACME_KAZOO_API_KEY"}
                }]
            }),
        ),
        manifest(
            "beta",
            json!({
                "reference": "BETA-002", "name": "Beta <b>&</b> | *Co*", "enabled": true,
                "description": "Beta's support desk, first line and escalations, open weekdays",
                "timezone": "Europe/Paris", "sendNewUserEmail": false,
                "features": {"agent": 4},
                "pbxConnectionProfiles": [
                    {"_type": "KazooPbxConnectionProfile", "name": "main",
                     "hostRest": "https://kazoo2.beta.example/v2", "apiKey": {"fromEnv": "BETA_KEY"}},
                    {"_type": "ThreeCxConnectionProfile", "name": "3cx", "username": "dimctl",
                     "password": {"fromEnv": "BETA_3CX_PASSWORD"}}
                ]
            }),
        ),
        manifest(
            "gamma",
            json!({"reference": "GAMMA-003", "ensure": "absent"}),
        ),
        manifest(
            "delta",
            json!({"reference": "DELTA-004", "name": "Delta", "trialDuration": 14}),
        ),
        manifest(
            "eps",
            json!({"reference": "EPS-005", "name": "Epsilon", "countryCode": "gb", "timezone": "US/Eastern"}),
        ),
        manifest(
            "keep",
            json!({"reference": "KEEP-006", "ensure": "absent", "lifecycle": {"preventDestroy": true}}),
        ),
        manifest("dup", json!({"reference": "DUP-008", "name": "Dup"})),
        manifest("pinned", json!({"id": "t-missing", "reference": "PIN-009"})),
    ]
}

pub fn live_customers() -> Vec<LiveCustomer> {
    vec![
        live(json!({
            "id": "t-beta", "reference": "BETA-002", "name": "Beta Co", "enabled": false,
            "description": "Beta's support desk, first line only, open weekdays",
            "features": {"agent": 2, "device": 0},
            "dateCreated": "2025-01-02T03:04:05Z"
        })),
        live(json!({"id": "t-gamma", "reference": "GAMMA-003", "name": "Gamma"})),
        live(
            json!({"id": "t-delta", "reference": "DELTA-004", "name": "Delta", "trialDuration": 0}),
        ),
        live(
            json!({"id": "t-eps", "reference": "EPS-005", "name": "Epsilon", "countryCode": "GB",
                    "timezone": "America/New_York"}),
        ),
        live(json!({"id": "t-keep", "reference": "KEEP-006", "name": "Keep"})),
        live(json!({"id": "t-dup1", "reference": "DUP-008"})),
        live(json!({"id": "t-dup2", "reference": "DUP-008"})),
        live(json!({"id": "t-other", "reference": "OTHER-010", "name": "Someone <else>"})),
    ]
}

pub fn policy() -> Policy {
    Policy {
        today: Some(jiff::civil::date(2026, 11, 20)),
        ..Policy::default()
    }
}

/// The plan with every kind of action (create, update, delete, no-op, refused), every
/// annotation kind, errors, unsafe reasons, unverifiable fields and an unmanaged customer.
pub fn every_kind() -> Plan {
    // Beta's live PBX profiles (as `/customers/t-beta/pbxs` lists them: id, name, _type,
    // tenantId) and the manifests at the --base revision, where its Kazoo host differed.
    let mut ctx = dimctl::plan::Context::default();
    let listed = |id: &str, name: &str, kind: &str| {
        dimctl::model::LiveObject::from_json(
            dimctl::model::Kind::PbxConnection,
            json!({"id": id, "name": name, "_type": kind, "tenantId": "t-beta"}),
        )
        .unwrap()
    };
    ctx.pbxs.insert(
        "t-beta".into(),
        vec![
            listed("p-main", "main", "KazooPbxConnectionProfile"),
            listed("p-old", "old-teams", "TeamsConnectionProfile"),
        ],
    );
    let mut base: Vec<CustomerManifest> = desired().into_iter().map(|m| m.value).collect();
    if let Some(profiles) = base
        .iter_mut()
        .find(|m| m.spec.reference.as_deref() == Some("BETA-002"))
        .and_then(|m| m.spec.pbx_connection_profiles.as_mut())
    {
        let mut v = serde_json::to_value(&profiles[0]).unwrap();
        v["hostRest"] = json!("https://kazoo.beta.example/v2");
        profiles[0] = serde_json::from_value(v).unwrap();
    }
    ctx.base = Some(dimctl::plan::Base {
        commit: "fedcba9876543210fedcba9876543210fedcba98".into(),
        customers: base,
    });
    let mut p = dimctl::plan::plan_with(&desired(), &live_customers(), &ctx, &policy());
    p.endpoint = "sandbox:.dimctl/sandbox.json".to_string();
    // Fixed, so snapshots do not change with the crate version or the clock.
    p.dimctl_version = "9.9.9-test".to_string();
    p.generated_at = "2026-11-23T12:00:00Z".to_string();
    p.revision = Some("0123456789abcdef0123456789abcdef01234567".to_string());
    p
}
