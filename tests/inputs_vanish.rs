//! Inputs that vanish stop the run: a broken symlink among the manifests is an error
//! naming it and no plan (least of all a `--prune` one) is made; `import` never writes a
//! customer as `dimctl.yaml`, and such a file is never read as the configuration.

mod apply_support;

use std::path::Path;

use apply_support::*;

fn run_in(cwd: &Path, args: &[&str]) -> std::process::Output {
    dimctl()
        .args(args)
        .current_dir(cwd)
        .env("DIMCTL_CACHE_DIR", cwd.join(".cache"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn manifest(dir: &Path, reference: &str) {
    std::fs::write(
        dir.join(format!("{reference}.yaml")),
        format!("apiVersion: dimctl/v1\nkind: Customer\nreference: {reference}\nname: Customer {reference}\nenabled: false\n"),
    )
    .unwrap();
}

#[cfg(unix)]
#[test]
fn a_broken_symlink_stops_plan_and_apply_with_prune_and_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let m = cwd.join("customers");
    std::fs::create_dir_all(&m).unwrap();
    manifest(&m, "KEEP-1");
    manifest(&m, "KEEP-2");
    let o = run_in(
        cwd,
        &[
            "apply",
            "customers",
            "--sandbox",
            "state.json",
            "--auto-approve",
            "--accept-charges",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", tail(&o));
    // KEEP-2's manifest becomes a link to a file that is not there (a failed checkout).
    std::fs::remove_file(m.join("KEEP-2.yaml")).unwrap();
    std::os::unix::fs::symlink(cwd.join("elsewhere/KEEP-2.yaml"), m.join("KEEP-2.yaml")).unwrap();
    for cmd in ["plan", "apply"] {
        let o = run_in(
            cwd,
            &[
                cmd,
                "customers",
                "--prune",
                "--sandbox",
                "state.json",
                "--auto-approve",
                "--accept-charges",
            ][..if cmd == "plan" { 5 } else { 7 }],
        );
        assert_eq!(o.status.code(), Some(1), "{cmd}: {}", tail(&o));
        let (out, err) = text(&o);
        assert!(
            err.contains("KEEP-2.yaml") && err.contains("broken symbolic link"),
            "{err}"
        );
        assert!(
            !out.contains("will be deleted") && !out.contains("deleted"),
            "{out}"
        );
    }
    let refs = references_in_state(&cwd.join("state.json"));
    assert_eq!(refs.get("KEEP-2"), Some(&1), "nothing deleted: {refs:?}");
}

#[test]
fn import_never_writes_the_configuration_name_and_discovery_skips_a_customer_file() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let m = cwd.join("seed");
    std::fs::create_dir_all(&m).unwrap();
    manifest(&m, "dimctl");
    std::fs::rename(m.join("dimctl.yaml"), m.join("tenant.yaml")).unwrap();
    let o = run_in(
        cwd,
        &[
            "apply",
            "seed",
            "--sandbox",
            "state.json",
            "--auto-approve",
            "--accept-charges",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", tail(&o));
    let o = run_in(
        cwd,
        &["import", "--out", "customers", "--sandbox", "state.json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", tail(&o));
    assert!(!cwd.join("customers/dimctl.yaml").exists());
    assert!(cwd.join("customers/dimctl-2.yaml").exists());
    assert!(text(&o).1.contains("reserved"), "{}", tail(&o));
    // A customer manifest left as dimctl.yaml (an older import) is not the configuration:
    // commands run inside that directory still work.
    std::fs::copy(
        cwd.join("customers/dimctl-2.yaml"),
        cwd.join("customers/dimctl.yaml"),
    )
    .unwrap();
    std::fs::remove_file(cwd.join("customers/dimctl-2.yaml")).unwrap();
    manifest(&cwd.join("customers"), "OTHER-1");
    let o = run_in(&cwd.join("customers"), &["validate", "."]);
    assert_eq!(o.status.code(), Some(0), "{}", tail(&o));
}
