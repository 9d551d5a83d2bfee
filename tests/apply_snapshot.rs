//! `apply --plan --auto-approve` against `sandbox serve`: the listing made to check the
//! plan's account is the run's snapshot for the stale check (no second listing before the
//! writes), and the stale check still holds with it. With a confirmation prompt between
//! them the executor lists afresh (not tested here: it needs a terminal).

mod apply_support;

use apply_support::*;

fn get_count(serve: &Serve) -> u64 {
    serve.stats()["byMethod"]["GET"].as_u64().unwrap_or(0)
}

#[test]
fn a_saved_plan_applied_without_a_prompt_lists_the_customers_once_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("customers");
    let refs = write_generated(&manifests, 10, 5, 0);
    let serve = Serve::start(&dir.path().join("sandbox.json"), &[]);
    let target = http_target(&serve);
    let with_target = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(target.iter().map(String::as_str));
        run(&all, &[TOKEN_ENV])
    };
    let dir_arg = manifests.to_str().unwrap();
    let out = with_target(&[
        "apply",
        dir_arg,
        "--auto-approve",
        "--accept-charges",
        "--allow-unsafe",
    ]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));

    write_generated(&manifests, 10, 5, 1);
    let plan_file = dir.path().join("plan.json");
    let plan_arg = plan_file.to_str().unwrap();
    let out = with_target(&["plan", dir_arg, "--allow-unsafe", "--out", plan_arg]);
    assert!(plan_file.exists(), "plan --out: {:?}", text(&out));
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan_file).unwrap()).unwrap();
    assert!(
        plan["account"].is_string(),
        "the sandbox's plan names its account: {plan}"
    );

    // One of the ten is changed by someone else after the plan.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    write_generated(&other, 10, 5, 9);
    for r in &refs[1..] {
        std::fs::remove_file(other.join(format!("{r}.yaml"))).unwrap();
    }
    let out = with_target(&[
        "apply",
        other.to_str().unwrap(),
        "--auto-approve",
        "--accept-charges",
    ]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));

    let gets = get_count(&serve);
    let out = with_target(&[
        "apply",
        "--plan",
        plan_arg,
        "--auto-approve",
        "--accept-charges",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "one is stale: {:?}", text(&out));
    let doc = result_doc(&out);
    assert_eq!(status_of(&doc, &refs[0]), "stale", "{doc}");
    for r in &refs[1..] {
        assert_eq!(status_of(&doc, r), "updated", "{doc}");
    }
    // The account check's listing (a page and the empty page that ends it), then one
    // batched read-back listing of the nine updates: no second listing for the snapshot.
    let listed = get_count(&serve) - gets;
    assert_eq!(listed, 4, "GETs of the apply");
}
