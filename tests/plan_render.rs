//! Snapshot tests of the three renderings of one plan that holds every kind of action and
//! annotation, and the markdown size limit.

mod plan_fixture;

use dimctl::plan::{ActionKind, AnnotationKind, plan};
use dimctl::render;
use serde_json::json;

#[test]
fn the_fixture_holds_every_kind() {
    let p = plan_fixture::every_kind();
    for kind in [
        ActionKind::Create,
        ActionKind::Update,
        ActionKind::Delete,
        ActionKind::NoOp,
        ActionKind::Refused,
    ] {
        assert!(p.changes.iter().any(|c| c.action == kind), "{kind:?}");
    }
    for kind in [
        AnnotationKind::Billable,
        AnnotationKind::SideEffect,
        AnnotationKind::CreateOnly,
        AnnotationKind::Destructive,
    ] {
        assert!(
            p.changes
                .iter()
                .any(|c| c.annotations.iter().any(|a| a.kind == kind)),
            "{kind:?}"
        );
    }
    assert_eq!(p.errors.len(), 2);
    assert!(!p.unsafe_reasons.is_empty());
    assert!(!p.unmanaged.is_empty());
    assert!(p.summary.unverifiable_fields > 0);
}

#[test]
fn text_rendering() {
    let out = render::text(&plan_fixture::every_kind(), false);
    assert!(!out.contains('\u{1b}'), "no colour unless asked");
    insta::assert_snapshot!("text", out);
}

#[test]
fn text_rendering_in_colour_only_when_asked() {
    let out = render::text(&plan_fixture::every_kind(), true);
    assert!(out.contains('\u{1b}'));
}

#[test]
fn markdown_rendering() {
    let out = render::markdown(&plan_fixture::every_kind());
    assert!(!out.contains("<b>&</b>"), "user values are escaped");
    insta::assert_snapshot!("markdown", out);
}

#[test]
fn json_rendering() {
    let out = render::json(&plan_fixture::every_kind());
    let back: dimctl::plan::Plan = serde_json::from_str(&out).unwrap();
    assert_eq!(
        back,
        plan_fixture::every_kind(),
        "the JSON plan round-trips"
    );
    insta::assert_snapshot!("json", out);
}

#[test]
fn no_rendering_holds_a_secret_value() {
    // The plan only ever holds the variable's name, and every rendering names it, so a
    // reviewer sees which secret goes where.
    let p = plan_fixture::every_kind();
    let text = render::text(&p, false);
    assert!(
        text.contains("/pbxConnectionProfiles/0/apiKey    = (sensitive, from $ACME_KAZOO_API_KEY)"),
        "{text}"
    );
    let md = render::markdown(&p);
    assert!(
        md.contains("<i>(sensitive, from $ACME&#95;KAZOO&#95;API&#95;KEY)</i>"),
        "{md}"
    );
    let json = render::json(&p);
    assert!(json.contains(r#""new": "(sensitive, from $ACME_KAZOO_API_KEY)""#));
}

#[test]
fn summary_line_when_nothing_changes() {
    let p = plan(
        &[plan_fixture::manifest(
            "a",
            json!({"reference": "A", "name": "A"}),
        )],
        &[plan_fixture::live(
            json!({"id": "1", "reference": "A", "name": "A"}),
        )],
        &Default::default(),
    );
    let out = render::text(&p, false);
    assert!(
        out.trim_end()
            .ends_with("No changes. The live customers match the manifests (0 unverifiable fields, 1 unchanged)."),
        "{out}"
    );
}

#[test]
fn markdown_stays_under_the_limit_for_a_huge_plan() {
    let desired: Vec<_> = (0..10_000)
        .map(|i| {
            plan_fixture::manifest(
                "many",
                json!({"reference": format!("REF-{i:05}"), "name": format!("Customer {i} with a longish name"),
                       "description": "x".repeat(150), "enabled": true, "trialDuration": 30}),
            )
        })
        .collect();
    let p = plan(&desired, &[], &plan_fixture::policy());
    assert_eq!(p.summary.create, 10_000);
    let out = render::markdown(&p);
    assert!(
        out.chars().count() < 60_000,
        "{} chars",
        out.chars().count()
    );
    assert!(
        out.contains("more customers not shown"),
        "says the tail was collapsed"
    );
    assert!(
        out.contains("| 10000 |"),
        "the summary table counts everything"
    );
}
