//! `dimctl import` end to end: the round trip (import then plan shows no change) on a
//! sandbox seeded with 300 varied customers, and never overwriting without --force.

mod support;

use std::path::Path;

use support::dimctl;

fn run(args: &[&str], cwd: &Path) -> std::process::Output {
    dimctl().args(args).current_dir(cwd).output().unwrap()
}

fn ok(out: &std::process::Output) -> String {
    let text = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    text
}

#[test]
fn import_then_plan_shows_no_change_on_300_varied_customers() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    ok(&run(
        &[
            "sandbox",
            "seed",
            "--customers",
            "300",
            "--state",
            "state.json",
            "--seed",
            "7",
        ],
        cwd,
    ));
    ok(&run(
        &["import", "--out", "customers", "--sandbox", "state.json"],
        cwd,
    ));

    let files: Vec<_> = std::fs::read_dir(cwd.join("customers"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    assert_eq!(files.len(), 300, "one manifest per customer");
    assert!(cwd.join("customers/customer.schema.json").is_file());
    // The seed holds customers without a reference: their manifests pin the id.
    let pinned = files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(cwd.join("customers").join(f))
                .unwrap()
                .lines()
                .any(|l| l.starts_with("id: "))
        })
        .count();
    assert!(pinned > 0, "some seeded customers have no reference");

    ok(&run(&["validate", "customers"], cwd));
    let plan = run(
        &[
            "plan",
            "customers",
            "--sandbox",
            "state.json",
            "--detailed-exitcode",
        ],
        cwd,
    );
    let text = ok(&plan);
    assert!(text.contains("No changes"), "{text}");
}

#[test]
fn never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    ok(&run(
        &[
            "sandbox",
            "seed",
            "--customers",
            "5",
            "--state",
            "state.json",
        ],
        cwd,
    ));
    ok(&run(
        &["import", "--out", "customers", "--sandbox", "state.json"],
        cwd,
    ));
    let first = std::fs::read_dir(cwd.join("customers"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "yaml"))
        .unwrap();
    std::fs::write(&first, "# edited by hand\n").unwrap();

    let again = run(
        &["import", "--out", "customers", "--sandbox", "state.json"],
        cwd,
    );
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("already exist") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&first).unwrap(),
        "# edited by hand\n",
        "nothing written"
    );

    ok(&run(
        &[
            "import",
            "--out",
            "customers",
            "--sandbox",
            "state.json",
            "--force",
        ],
        cwd,
    ));
    assert_ne!(
        std::fs::read_to_string(&first).unwrap(),
        "# edited by hand\n"
    );
}
