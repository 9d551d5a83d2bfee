//! The JSON documents dimctl writes (plan, apply result, drift report, validate
//! diagnostics): each carries `dimctl_version` and `generated_at`, uses snake_case keys,
//! matches its committed JSON Schema (checked by an independent validator, boon); a saved
//! plan of an older format version is refused by `apply --plan` and `show` with what to
//! do; `show` renders a saved plan with its age, target and commit.

mod support;

use std::path::Path;

use serde_json::Value;
use support::dimctl;

const DOCUMENTS: [(&str, &str); 4] = [
    ("--plan", "schema/plan.schema.json"),
    ("--apply", "schema/apply.schema.json"),
    ("--drift", "schema/drift.schema.json"),
    ("--validate", "schema/validate.schema.json"),
];

fn generated(flag: &str) -> String {
    let out = dimctl().args(["schema", flag]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "schema {flag}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn committed_document_schemas_match_the_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (flag, file) in DOCUMENTS {
        let committed = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(
            committed == generated(flag),
            "{file} differs from what the code generates; \
             run `cargo run -- schema {flag} > {file}` and commit it"
        );
    }
}

fn validator(flag: &str) -> (boon::Schemas, boon::SchemaIndex) {
    let schema: Value = serde_json::from_str(&generated(flag)).unwrap();
    let id = format!("urn:dimctl:{}", flag.trim_start_matches('-'));
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(&id, schema).unwrap();
    let index = compiler.compile(&id, &mut schemas).unwrap();
    (schemas, index)
}

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/customers")
}

/// Every key of every object, recursively, except inside the API's own values (a create
/// body, a patch value, field diffs), which keep the wire's camelCase.
fn keys_are_snake_case(v: &Value, at: &str) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                assert!(
                    !k.chars().any(|c| c.is_ascii_uppercase()),
                    "{at}/{k} is not snake_case"
                );
                if ![
                    "create", "value", "old", "new", "live", "desired", "sent", "found",
                ]
                .contains(&k.as_str())
                {
                    keys_are_snake_case(child, &format!("{at}/{k}"));
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| keys_are_snake_case(i, at)),
        _ => {}
    }
}

fn stamped(doc: &Value, what: &str) {
    assert_eq!(doc["dimctl_version"], env!("CARGO_PKG_VERSION"), "{what}");
    let at = doc["generated_at"].as_str().unwrap_or_default();
    assert!(at.parse::<jiff::Timestamp>().is_ok(), "{what}: {at:?}");
    keys_are_snake_case(doc, what);
}

#[test]
fn every_json_document_is_stamped_snake_case_and_valid_against_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = dimctl()
            .current_dir(dir.path())
            .env("GITHUB_SHA", "0123456789abcdef")
            .env("BRIGHTWAVE_KAZOO_API_KEY", "kazoo-key")
            .env("HARBOUR_3CX_PASSWORD", "3cx-password")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            serde_json::from_slice::<Value>(&out.stdout),
        )
    };
    let ex = examples();
    let ex = ex.to_str().unwrap();

    let (code, plan) = run(&[
        "plan",
        ex,
        "--sandbox",
        "s.json",
        "--format",
        "json",
        "--out",
        "plan.json",
    ]);
    assert_eq!(code, Some(0));
    let plan = plan.unwrap();
    stamped(&plan, "plan");
    assert_eq!(plan["format_version"], 2);
    assert_eq!(
        plan["revision"], "0123456789abcdef",
        "GITHUB_SHA is the revision"
    );
    let (schemas, index) = validator("--plan");
    schemas
        .validate(&plan, index)
        .unwrap_or_else(|e| panic!("plan: {e}"));

    let (code, applied) = run(&[
        "apply",
        "--plan",
        "plan.json",
        "--sandbox",
        "s.json",
        "--auto-approve",
        "--accept-charges",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0));
    let applied = applied.unwrap();
    stamped(&applied, "apply");
    let (schemas, index) = validator("--apply");
    schemas
        .validate(&applied, index)
        .unwrap_or_else(|e| panic!("apply: {e}"));

    // Some drift, so the report has something in it: a customer no manifest declares.
    let seed = dimctl()
        .current_dir(dir.path())
        .args(["sandbox", "seed", "--customers", "2", "--state", "s.json"])
        .output()
        .unwrap();
    assert_eq!(seed.status.code(), Some(0));
    let (code, drift) = run(&[
        "drift",
        ex,
        "--sandbox",
        "s.json",
        "--format",
        "json",
        "--revision",
        "feedbeef",
    ]);
    assert_eq!(code, Some(2));
    let drift = drift.unwrap();
    stamped(&drift, "drift");
    assert_eq!(
        drift["revision"], "feedbeef",
        "--revision wins over GITHUB_SHA"
    );
    let (schemas, index) = validator("--drift");
    schemas
        .validate(&drift, index)
        .unwrap_or_else(|e| panic!("drift: {e}"));

    let (code, validate) = run(&["validate", ex, "--format", "json"]);
    assert_eq!(code, Some(0));
    let validate = validate.unwrap();
    stamped(&validate, "validate");
    assert_eq!(validate["diagnostics"], Value::Array(vec![]));
    let (schemas, index) = validator("--validate");
    schemas
        .validate(&validate, index)
        .unwrap_or_else(|e| panic!("validate: {e}"));
}

/// The validate document with something in it: an error with a position and a hint, and
/// a problem with a whole file (no line, no column) both match the committed schema, and
/// the schema is no rubber stamp (a diagnostic missing a key or with an unknown one fails).
#[test]
fn validate_diagnostics_match_their_schema() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: dimctl/v1\nkind: Customer\nreference: B-1\nname: Bad\ncontryCode: GB\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("empty.yaml"), "").unwrap();
    let out = dimctl()
        .current_dir(dir.path())
        .args(["validate", "bad.yaml", "empty.yaml", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    stamped(&doc, "validate");
    let diags = doc["diagnostics"].as_array().unwrap();
    assert!(
        diags
            .iter()
            .any(|d| d["file"] == "bad.yaml" && d["line"] == 5 && d["column"].is_u64()),
        "{doc:#}"
    );
    assert!(
        diags
            .iter()
            .any(|d| d["line"].is_null() && d["column"].is_null()),
        "a diagnostic about a whole file: {doc:#}"
    );
    let (schemas, index) = validator("--validate");
    schemas
        .validate(&doc, index)
        .unwrap_or_else(|e| panic!("validate: {e}"));

    let mut missing = doc.clone();
    missing["diagnostics"][0]
        .as_object_mut()
        .unwrap()
        .remove("hint");
    assert!(schemas.validate(&missing, index).is_err());
    let mut unknown = doc.clone();
    unknown["diagnostics"][0]["extra"] = Value::from(1);
    assert!(schemas.validate(&unknown, index).is_err());
    let mut severity = doc;
    severity["diagnostics"][0]["severity"] = Value::from("fatal");
    assert!(schemas.validate(&severity, index).is_err());
}

#[test]
fn show_renders_a_saved_plan_with_its_age_target_and_commit() {
    let dir = tempfile::tempdir().unwrap();
    let out = dimctl()
        .current_dir(dir.path())
        .arg("plan")
        .arg(examples())
        .args([
            "--sandbox",
            "s.json",
            "--out",
            "plan.json",
            "--revision",
            "c0ffee",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let show = |format: &str| {
        let out = dimctl()
            .current_dir(dir.path())
            .args(["show", "plan.json", "--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{format}");
        String::from_utf8(out.stdout).unwrap()
    };
    let text = show("text");
    assert!(text.starts_with("Plan made just now ("), "{text}");
    assert!(text.contains("from commit c0ffee"), "{text}");
    assert!(text.contains("against sandbox:"), "{text}");
    assert!(text.contains("to create"), "{text}");
    let md = show("markdown");
    assert!(md.contains("commit <code>c0ffee</code>"), "{md}");
    let json: Value = serde_json::from_str(&show("json")).unwrap();
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(json, saved, "show --format json is the plan itself");
}

#[test]
fn a_version_1_plan_is_refused_with_plan_again() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = r#"{"format_version": 1, "endpoint": "sandbox:x", "policy": {"prune": false, "allow_unsafe": false, "write_unverifiable": false}, "summary": {"create": 0, "update": 0, "delete": 0, "refused": 0, "unverifiable_fields": 0, "unchanged": 0, "unmanaged": 0, "errors": 0}, "changes": []}"#;
    std::fs::write(dir.path().join("old.json"), v1).unwrap();
    for args in [
        &["show", "old.json"][..],
        &[
            "apply",
            "--plan",
            "old.json",
            "--sandbox",
            "s.json",
            "--auto-approve",
        ],
    ] {
        let out = dimctl()
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("format version 1"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("plan again with `dimctl plan --out old.json`"),
            "{args:?}: {stderr}"
        );
    }
    assert!(!dir.path().join("s.json").exists(), "nothing was written");
}

/// Paths in a plan (and so in every report) are relative to the repository's top level,
/// however the manifests were named (absolute, as dimctl.yaml resolves them, or from a
/// subdirectory).
#[test]
fn manifest_paths_in_a_plan_are_relative_to_the_repository() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir(repo.path().join(".git")).unwrap();
    std::fs::create_dir_all(repo.path().join("team/customers")).unwrap();
    std::fs::write(
        repo.path().join("team/customers/a.yaml"),
        "apiVersion: dimctl/v1\nkind: Customer\nreference: A\nname: A\n",
    )
    .unwrap();
    let absolute = repo.path().join("team/customers");
    for (cwd, path) in [
        (repo.path().to_path_buf(), absolute.clone()),
        (
            repo.path().join("team"),
            std::path::PathBuf::from("customers"),
        ),
    ] {
        let out = dimctl()
            .current_dir(&cwd)
            .arg("plan")
            .arg(&path)
            .args(["--sandbox"])
            .arg(repo.path().join("s.json"))
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            plan["changes"][0]["source"]["file"],
            "team/customers/a.yaml",
            "from {}: {plan:#}",
            cwd.display()
        );
    }
}
