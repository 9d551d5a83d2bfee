//! `dimctl validate` on good input: the shipped examples, warnings, the JSON format.

mod support;

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_examples_are_valid_with_a_warning_for_unset_secrets() {
    let out = support::dimctl()
        .args(["validate", "examples/"])
        .current_dir(root())
        .env_remove("BRIGHTWAVE_KAZOO_API_KEY")
        .env_remove("HARBOUR_3CX_PASSWORD")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("examples/customers/brightwave-health-us.yaml:27:23: warning: pbxConnectionProfiles[0].apiKey: environment variable `BRIGHTWAVE_KAZOO_API_KEY` is not set"),
        "{stderr}"
    );
    assert!(stderr.contains(": 0 errors, 2 warnings"), "{stderr}");
}

#[test]
fn a_set_variable_silences_the_warning_and_its_value_is_never_shown() {
    let out = support::dimctl()
        .args(["validate", "examples/customers/brightwave-health-us.yaml"])
        .current_dir(root())
        .env("BRIGHTWAVE_KAZOO_API_KEY", "kz-very-secret-9f8e7d")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("0 errors, 0 warnings"), "{stderr}");
    assert!(!stderr.contains("kz-very-secret"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("kz-very-secret"));
}

#[test]
fn json_format_prints_a_document_with_the_diagnostics_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        // With its administrator user, so the one diagnostic is the misspelt key.
        "apiVersion: dimctl/v1\nkind: Customer\nreference: A\ncontryCode: GB\nusers:\n  - {email: admin@a.example, displayName: Admin, roles: [customer.user, admin.user]}\n",
    )
    .unwrap();
    let out = support::dimctl()
        .args(["validate", "--format", "json", "a.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format_version"], 2);
    assert_eq!(v["dimctl_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        v["generated_at"]
            .as_str()
            .is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok()),
        "{v}"
    );
    assert_eq!(
        v["diagnostics"],
        serde_json::json!([{
            "file": "a.yaml", "line": 4, "column": 1, "field": "contryCode",
            "severity": "error", "message": "unknown field `contryCode`",
            "hint": "did you mean `countryCode`?"
        }])
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("validated 1 document in 1 file: 1 error, 0 warnings"),
        "{stderr}"
    );
}

#[test]
fn json_format_on_valid_input_has_no_diagnostics() {
    let out = support::dimctl()
        .args([
            "validate",
            "--format",
            "json",
            "examples/customers/acme-telecom-uk.yaml",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["diagnostics"], serde_json::json!([]), "{v}");
}

#[test]
fn the_config_file_and_hidden_directories_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // A valid configuration file: not read as a manifest (an invalid one is an error of
    // its own, see tests/gitops_config.rs).
    std::fs::write(
        p.join("dimctl.yaml"),
        "apiVersion: dimctl/v1\nkind: Config\n",
    )
    .unwrap();
    std::fs::create_dir(p.join(".git")).unwrap();
    std::fs::write(p.join(".git/x.yaml"), "broken: [\n").unwrap();
    std::fs::write(
        p.join("c.yaml"),
        "apiVersion: dimctl/v1\nkind: Customer\nreference: C\n",
    )
    .unwrap();
    let out = support::dimctl()
        .arg("validate")
        .current_dir(p)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("validated 1 document in 1 file"),
        "{stderr}"
    );
}
