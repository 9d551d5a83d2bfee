//! `dimctl.yaml` end to end: discovery by walking up, precedence (flag > environment >
//! file > default, with a note when the environment overrides the file), secrets named but
//! never shown, the file's manifest paths and safety thresholds reaching the planner, and
//! an invalid file stopping every command with file:line diagnostics; and the shell
//! completions and man page.

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use support::dimctl;

const HEAD: &str = "apiVersion: dimctl/v1\nkind: Config\n";

fn config_json(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Value, String) {
    let mut cmd = dimctl();
    cmd.current_dir(dir)
        .args(["config", "--format", "json"])
        .args(args)
        .env_remove("DIMCTL_API_URL")
        .env_remove("DIMCTL_REGION")
        .env_remove("DIMCTL_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

fn repo_with_config(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dimctl.yaml"), format!("{HEAD}{config}")).unwrap();
    std::fs::create_dir_all(dir.path().join("customers/nested")).unwrap();
    dir
}

#[test]
fn discovery_walks_up_and_precedence_is_flag_env_file_default() {
    let dir = repo_with_config(
        "target:\n  apiUrl: https://file.example/api/v1.0\nparallelism: 3\nsafety:\n  maxDeleteShare: 0.1\n",
    );
    let nested = dir.path().join("customers/nested");

    // From a subdirectory, the file at the root is found.
    let (cfg, stderr) = config_json(&nested, &[], &[]);
    assert!(
        cfg["file"].as_str().unwrap().ends_with("dimctl.yaml"),
        "{cfg}"
    );
    assert_eq!(cfg["apiUrl"]["value"], "https://file.example/api/v1.0");
    assert_eq!(cfg["apiUrl"]["origin"]["kind"], "file");
    assert_eq!(cfg["parallelism"]["value"], 3);
    assert_eq!(cfg["maxDeleteShare"]["value"], 0.1);
    assert_eq!(cfg["maxUpdateShare"]["value"], 0.3);
    assert_eq!(cfg["maxUpdateShare"]["origin"]["kind"], "default");
    assert!(!stderr.contains("note:"), "{stderr}");

    // The environment beats the file, and says so.
    let (cfg, stderr) = config_json(
        &nested,
        &[],
        &[("DIMCTL_API_URL", "https://env.example/api/v1.0")],
    );
    assert_eq!(cfg["apiUrl"]["value"], "https://env.example/api/v1.0");
    assert_eq!(
        cfg["apiUrl"]["origin"],
        json!({"kind": "env", "name": "DIMCTL_API_URL"})
    );
    assert!(
        stderr.contains("note: DIMCTL_API_URL overrides target.apiUrl from"),
        "{stderr}"
    );

    // A flag beats both, silently.
    let (cfg, stderr) = config_json(
        &nested,
        &[
            "--api-url",
            "https://flag.example/api/v1.0",
            "--parallelism",
            "5",
        ],
        &[("DIMCTL_API_URL", "https://env.example/api/v1.0")],
    );
    assert_eq!(cfg["apiUrl"]["value"], "https://flag.example/api/v1.0");
    assert_eq!(cfg["apiUrl"]["origin"]["kind"], "flag");
    assert_eq!(cfg["parallelism"]["value"], 5);
    assert!(!stderr.contains("note:"), "{stderr}");
}

#[test]
fn credentials_are_named_never_shown() {
    let dir = repo_with_config("");
    let secret = "tok-5f1d2c9e-never-print-me";
    for format in ["json", "text"] {
        let out = dimctl()
            .current_dir(dir.path())
            .args(["config", "--format", format])
            .env("DIMCTL_TOKEN", secret)
            .env("DIMCTL_CLIENT_SECRET", secret)
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{all}");
        assert!(all.contains("DIMCTL_TOKEN"), "{all}");
        assert!(all.contains("DIMCTL_CLIENT_SECRET"), "{all}");
        assert!(!all.contains(secret), "a credential was printed: {all}");
    }
}

fn customer(i: usize) -> (String, Value) {
    let id = format!("c{i:02}");
    (
        id.clone(),
        json!({
            "id": id, "name": format!("Customer {i}"), "reference": format!("REF-{i:02}"),
            "enabled": true, "dateCreated": "2026-01-05T10:00:00Z", "parentTenantId": "parent",
            "timezone": "Europe/London", "countryCode": "GB", "trialDuration": 0,
            "description": "original",
        }),
    )
}

fn manifest(i: usize, description: &str) -> String {
    format!(
        "apiVersion: dimctl/v1\nkind: Customer\nreference: REF-{i:02}\nname: Customer {i}\ndescription: {description}\n"
    )
}

fn plan(dir: &Path, args: &[&str]) -> Output {
    dimctl()
        .current_dir(dir)
        .args(["plan", "--sandbox", "state.json", "--format", "json"])
        .args(args)
        .env_remove("DIMCTL_API_URL")
        .output()
        .unwrap()
}

#[test]
fn the_files_manifest_paths_and_safety_thresholds_reach_the_planner() {
    // Manifests live in `tenants/`, which only the file names; `other/` holds a manifest
    // that would be an error if read.
    let dir = repo_with_config("manifests: [tenants]\nsafety:\n  maxUpdateShare: 0.1\n");
    let tenants = dir.path().join("tenants");
    std::fs::create_dir(&tenants).unwrap();
    std::fs::create_dir(dir.path().join("other")).unwrap();
    std::fs::write(dir.path().join("other/broken.yaml"), "not: a manifest\n").unwrap();
    let state: serde_json::Map<String, Value> = (0..10).map(customer).collect();
    std::fs::write(
        dir.path().join("state.json"),
        serde_json::to_vec(&json!({ "customers": state })).unwrap(),
    )
    .unwrap();
    // Two of ten customers change: 20 %, above the file's 10 % threshold.
    for i in 0..10 {
        let description = if i < 2 { "changed" } else { "original" };
        std::fs::write(
            tenants.join(format!("c{i:02}.yaml")),
            manifest(i, description),
        )
        .unwrap();
    }

    let out = plan(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["summary"]["update"], 2, "{p}");
    assert_eq!(p["summary"]["unchanged"], 8, "{p}");
    assert!(p.to_string().contains("threshold"), "{p}");

    // The flag beats the file: 50 % allows it.
    let out = plan(dir.path(), &["--max-update-share", "0.5"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn validate_reads_the_manifests_the_file_names() {
    let dir = repo_with_config("manifests: [tenants]\n");
    std::fs::create_dir(dir.path().join("tenants")).unwrap();
    std::fs::write(dir.path().join("tenants/a.yaml"), manifest(1, "ok")).unwrap();
    std::fs::create_dir(dir.path().join("other")).unwrap();
    std::fs::write(dir.path().join("other/broken.yaml"), "not: a manifest\n").unwrap();
    let out = dimctl()
        .current_dir(dir.path())
        .arg("validate")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("validated 1 document in 1 file"),
        "{stderr}"
    );
    // A path on the command line wins over the file.
    let out = dimctl()
        .current_dir(dir.path())
        .args(["validate", "other"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn an_invalid_config_file_stops_every_command_with_positions() {
    let dir = repo_with_config("target:\n  region: mars\nparalelism: 4\n");
    for args in [
        &["plan", "--sandbox", "s.json"][..],
        &["drift", "--sandbox", "s.json"],
        &["apply", "--sandbox", "s.json", "--auto-approve"],
        &["import", "--sandbox", "s.json"],
        &["config"],
        &["validate"],
    ] {
        let out = dimctl()
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("dimctl.yaml:4:11: error: target.region"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("dimctl.yaml:5:1: error: paralelism: unknown key"),
            "{stderr}"
        );
        assert!(stderr.contains("did you mean `parallelism`?"), "{stderr}");
        // Nothing was done: no sandbox state, no imported manifests.
        assert!(!dir.path().join("s.json").exists(), "{args:?}");
    }
}

#[test]
fn completions_and_man_page_name_every_command() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef dimctl"),
        ("fish", "complete -c dimctl"),
    ] {
        let out = dimctl().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(marker), "{shell}: {text}");
        for cmd in [
            "validate", "plan", "apply", "import", "drift", "schema", "sandbox",
        ] {
            assert!(text.contains(cmd), "{shell} completion lacks {cmd}");
        }
        assert!(
            text.contains("detailed-exitcode"),
            "{shell}: flags complete too"
        );
    }
    let out = dimctl().arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let roff = String::from_utf8(out.stdout).unwrap();
    assert!(
        roff.starts_with(".ie") || roff.contains(".TH dimctl"),
        "{roff}"
    );
    for cmd in ["validate", "plan", "apply", "drift", "import"] {
        assert!(roff.contains(cmd), "man page lacks {cmd}");
    }
    let out = dimctl().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unknown shell is a usage error (exit 1, as every error)"
    );
}
