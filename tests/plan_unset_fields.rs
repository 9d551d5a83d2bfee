//! A field declared in git that a customer does not have yet is planned, not skipped:
//! against `sandbox serve`, a customer created without `description` (the API then leaves
//! the key out) gets one planned as soon as its manifest sets it, because the listing
//! shows `description` for other customers; `plan --detailed-exitcode` exits 2, and the
//! apply converges.

mod apply_support;

use apply_support::*;

fn write(dir: &std::path::Path, reference: &str, description: Option<&str>) {
    let d = description
        .map(|d| format!("description: {d}\n"))
        .unwrap_or_default();
    std::fs::write(
        dir.join(format!("{reference}.yaml")),
        format!("apiVersion: dimctl/v1\nkind: Customer\nreference: {reference}\nname: Customer {reference}\nenabled: false\n{d}"),
    )
    .unwrap();
}

#[test]
fn a_description_added_in_git_is_planned_and_applied() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("state.json"), &[]);
    let m = dir.path().join("m");
    std::fs::create_dir_all(&m).unwrap();
    write(&m, "WITH-1", Some("has one"));
    write(&m, "WITHOUT-1", None);
    let target = http_target(&serve);
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        a.insert(1, m.to_str().unwrap().into());
        a.extend(target.clone());
        a.push("--no-lock".into());
        a
    };
    let go = |a: Vec<String>| {
        let v: Vec<&str> = a.iter().map(String::as_str).collect();
        run(
            &v,
            &[
                TOKEN_ENV,
                ("DIMCTL_CACHE_DIR", dir.path().to_str().unwrap()),
            ],
        )
    };
    let o = go(args(&["apply", "--auto-approve", "--accept-charges"]));
    assert_eq!(o.status.code(), Some(0), "{}", tail(&o));
    write(&m, "WITHOUT-1", Some("added in git"));
    let mut plan = args(&["plan", "--detailed-exitcode"]);
    plan.retain(|a| a != "--no-lock");
    let o = go(plan.clone());
    assert_eq!(o.status.code(), Some(2), "{}", tail(&o));
    let (out, _) = text(&o);
    assert!(out.contains("1 to update"), "{out}");
    let o = go(args(&["apply", "--auto-approve", "--accept-charges"]));
    assert_eq!(o.status.code(), Some(0), "{}", tail(&o));
    let o = go(plan);
    assert_eq!(o.status.code(), Some(0), "{}", tail(&o));
    assert!(text(&o).0.contains("No changes"), "{}", tail(&o));
}
