//! The JSON plan's operations, applied by an RFC 6902 implementation (`json-patch`) to the
//! live objects, give the desired managed fields: planning again finds nothing to do.

mod plan_fixture;

use dimctl::model::{LiveCustomer, normalise};
use dimctl::plan::{ActionKind, Plan, Policy, plan};
use serde_json::Value;

/// Apply every update of `p` (read back from its JSON form) to the live customers.
fn apply_updates(p: &Plan, live: &[LiveCustomer]) -> Vec<LiveCustomer> {
    let p: Plan = serde_json::from_str(&dimctl::render::json(p)).unwrap();
    live.iter()
        .map(|l| {
            let mut doc = Value::Object(l.fields());
            for c in p
                .changes
                .iter()
                .filter(|c| c.live_id.as_deref() == Some(&l.id))
            {
                if c.action == ActionKind::Update {
                    json_patch::patch(&mut doc, &c.operations).unwrap();
                }
            }
            LiveCustomer::from_json(doc).unwrap()
        })
        .collect()
}

#[test]
fn patched_live_objects_hold_the_desired_fields() {
    let desired = plan_fixture::desired();
    let live = plan_fixture::live_customers();
    let policy = Policy {
        write_unverifiable: true,
        ..plan_fixture::policy()
    };
    let before = plan(&desired, &live, &policy);
    assert!(before.summary.update >= 1);
    let patched = apply_updates(&before, &live);

    // Field by field: every managed field of an updated customer now equals the manifest.
    for c in before
        .changes
        .iter()
        .filter(|c| c.action == ActionKind::Update)
    {
        let m = desired
            .iter()
            .find(|m| Some(m.source.clone()) == c.source)
            .unwrap();
        let l = patched
            .iter()
            .find(|l| Some(&l.id) == c.live_id.as_ref())
            .unwrap();
        for (field, want) in m.value.spec.to_wire() {
            if field == "pbxConnectionProfiles" {
                continue;
            }
            let have = l
                .get(&field)
                .unwrap_or_else(|| panic!("{field} missing after patch"));
            match field.as_str() {
                // Profiles are their own resources (`/customers/{C}/pbxs`), never a
                // patch of the customer: tests/pbx_profiles.rs covers them.
                "pbxConnectionProfiles" => {}
                "features" => {
                    for (k, v) in want.as_object().unwrap() {
                        assert_eq!(&have[k], v, "features/{k}");
                    }
                }
                _ => assert_eq!(
                    normalise(&field, &have),
                    normalise(&field, &want),
                    "{field}"
                ),
            }
        }
    }

    // And planning again against the patched objects finds no update.
    let after = plan(&desired, &patched, &policy);
    assert_eq!(after.summary.update, 0, "{:#?}", after.changes);
    assert_eq!(after.summary.unverifiable_fields, 0);
}

#[test]
fn without_write_unverifiable_only_verifiable_fields_are_patched() {
    let desired = plan_fixture::desired();
    let live = plan_fixture::live_customers();
    let before = plan(&desired, &live, &plan_fixture::policy());
    let patched = apply_updates(&before, &live);
    let after = plan(&desired, &patched, &plan_fixture::policy());
    assert_eq!(after.summary.update, 0, "{:#?}", after.changes);
    // What the API does not return stays unverifiable, and was not written.
    assert_eq!(
        after.summary.unverifiable_fields,
        before.summary.unverifiable_fields
    );
}
