//! Inputs checked at the door (issue 10, item 7): numeric flags and their dimctl.yaml
//! twins are range-checked before anything is done, exit 1 with the flag (or key and
//! file) and the range; no panic, no hang. And the manifest rules: `.inf`/`.nan` where
//! text belongs, a blank reference.

mod support;

use std::path::Path;
use std::process::Output;

use support::dimctl;

const MANIFEST: &str = "apiVersion: dimctl/v1\nkind: Customer\nreference: A-1\nname: Alpha\n";

fn repo(config: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), MANIFEST).unwrap();
    if let Some(c) = config {
        std::fs::write(
            dir.path().join("dimctl.yaml"),
            format!("apiVersion: dimctl/v1\nkind: Config\n{c}"),
        )
        .unwrap();
    }
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    dimctl()
        .current_dir(dir)
        .args(args)
        .env_remove("DIMCTL_TOKEN")
        .env_remove("DIMCTL_API_URL")
        .env_remove("DIMCTL_REGION")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn out_of_range_flags_exit_1_naming_the_flag_and_the_range() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["plan", "--max-rps", "1e-300"],
            "--max-rps 1e-300 is out of range: use 0.1 to 10000 requests per second",
        ),
        (
            &["plan", "--max-rps", "0.0000001"],
            "--max-rps 1e-7 is out of range: use 0.1 to 10000 requests per second",
        ),
        (
            &["plan", "--max-rps", "NaN"],
            "--max-rps NaN is out of range",
        ),
        (
            &["plan", "--max-rps", "inf"],
            "--max-rps inf is out of range",
        ),
        (
            &["plan", "--timeout", "0"],
            "--timeout 0 is out of range: use 1 to 3600 seconds",
        ),
        (
            &["plan", "--max-in-flight", "0"],
            "--max-in-flight 0 is out of range: use 1 to 1024",
        ),
        (
            &["plan", "--max-update-share", "1.5"],
            "--max-update-share 1.5 is out of range: use 0 to 1",
        ),
        (
            &["plan", "--max-delete-share=-0.1"],
            "--max-delete-share -0.1 is out of range",
        ),
        (
            &["apply", "--auto-approve", "--parallelism", "0"],
            "--parallelism 0 is out of range: use 1 to 256",
        ),
        (
            &["apply", "--auto-approve", "--parallelism", "100000"],
            "--parallelism 100000 is out of range",
        ),
        (
            &["drift", "--trial-warning-days", "400"],
            "--trial-warning-days 400 is out of range: use 0 to 365 days",
        ),
    ];
    for (args, want) in cases {
        let dir = repo(None);
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--sandbox", "s.json", "a.yaml"]);
        let out = run(dir.path(), &all);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(err.contains("nothing was done"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            !dir.path().join("s.json").exists(),
            "{args:?}: the sandbox was not opened"
        );
    }
    let out = dimctl()
        .args(["auth", "login", "--client-id", "c", "--wait", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--wait 0 is out of range: use 1 to 3600 seconds"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_smallest_allowed_rate_is_accepted() {
    let dir = repo(None);
    let out = run(
        dir.path(),
        &["plan", "--sandbox", "s.json", "--max-rps", "0.1", "a.yaml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn out_of_range_dimctl_yaml_values_exit_1_naming_file_line_and_key() {
    for (config, at, want) in [
        (
            "maxRps: 0.0000001\n",
            "dimctl.yaml:3:9",
            "maxRps: 1e-7 is less than the minimum of 0.1",
        ),
        (
            "maxRps: 1e9\n",
            "dimctl.yaml:3:9",
            "is greater than the maximum of 10000",
        ),
        (
            "parallelism: 0\n",
            "dimctl.yaml:3:14",
            "parallelism: 0 is less than the minimum of 1",
        ),
        (
            "safety:\n  maxDeleteShare: 2\n",
            "dimctl.yaml:4:19",
            "greater than the maximum of 1",
        ),
        ("maxRps: .inf\n", "dimctl.yaml:3:9", "the number infinity"),
    ] {
        let dir = repo(Some(config));
        let out = run(dir.path(), &["plan", "--sandbox", "s.json", "a.yaml"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{config}: {err}");
        assert!(err.contains(&format!("{at}: error: ")), "{config}: {err}");
        assert!(err.contains(want), "{config}: {err}");
        assert!(!dir.path().join("s.json").exists());
    }
}

#[test]
fn validate_refuses_inf_for_text_and_a_blank_reference() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "apiVersion: dimctl/v1\nkind: Customer\nreference: A-1\nname: .inf\n---\napiVersion: dimctl/v1\nkind: Customer\nreference: \"  \"\nname: B\n",
    )
    .unwrap();
    let out = run(dir.path(), &["validate", "a.yaml"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("a.yaml:4:7: error: name: this YAML value is the number infinity"),
        "{err}"
    );
    assert!(
        err.contains("a.yaml:8:12: error: reference: `reference` is blank"),
        "{err}"
    );
}
