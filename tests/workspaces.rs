//! Several accounts in one repository (`workspaces:` in dimctl.yaml), end to end against
//! two `sandbox serve` instances, each accepting only its own bearer token: every customer
//! lands in its own account, tokens never cross, `--workspace` restricts (a misspelt name
//! gets a suggestion), reports have a section per workspace, the exit code is the worst of
//! them, a saved plan holds every workspace and apply checks each one's endpoint, and paths
//! under two different dimctl.yaml files are refused.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use support::{SandboxServer, dimctl};

const HEAD: &str = "apiVersion: dimctl/v1\nkind: Config\n";

fn customer(reference: &str, name: &str) -> String {
    format!(
        "apiVersion: dimctl/v1\nkind: Customer\nreference: {reference}\nname: {name}\ntimezone: Europe/London\ncountryCode: GB\n"
    )
}

struct Repo {
    dir: tempfile::TempDir,
    uk: SandboxServer,
    au: SandboxServer,
}

/// A repository with two workspaces, `uk` and `au`, each with one customer, each served by
/// its own sandbox that accepts only its own token.
fn repo() -> Repo {
    let dir = tempfile::tempdir().unwrap();
    let uk = SandboxServer::start(&dir.path().join("uk-state.json"), &["--token", "uk-secret"]);
    let au = SandboxServer::start(&dir.path().join("au-state.json"), &["--token", "au-secret"]);
    std::fs::create_dir_all(dir.path().join("uk")).unwrap();
    std::fs::create_dir_all(dir.path().join("au")).unwrap();
    std::fs::write(dir.path().join("uk/a.yaml"), customer("UK-1", "Uk One")).unwrap();
    std::fs::write(dir.path().join("au/a.yaml"), customer("AU-1", "Au One")).unwrap();
    std::fs::write(
        dir.path().join("dimctl.yaml"),
        format!(
            "{HEAD}parallelism: 2\nworkspaces:\n  uk:\n    target:\n      apiUrl: {}\n    manifests: [uk]\n    tokenEnv: TOKEN_UK\n  au:\n    target:\n      apiUrl: {}\n    manifests: [au]\n    tokenEnv: TOKEN_AU\n    parallelism: 3\n",
            uk.base_url, au.base_url
        ),
    )
    .unwrap();
    Repo { dir, uk, au }
}

fn run(dir: &Path, args: &[&str]) -> Output {
    let mut cmd: Command = dimctl();
    cmd.current_dir(dir)
        .args(args)
        .env("TOKEN_UK", "uk-secret")
        .env("TOKEN_AU", "au-secret")
        .env("NO_COLOR", "1");
    for v in [
        "DIMCTL_API_URL",
        "DIMCTL_REGION",
        "DIMCTL_ACCOUNT",
        "DIMCTL_TOKEN",
    ] {
        cmd.env_remove(v);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The body of `GET /customers` from a sandbox, read over plain HTTP/1.1.
fn customers(server: &SandboxServer, token: &str) -> String {
    use std::io::{Read, Write};
    let rest = server.base_url.strip_prefix("http://").expect("http URL");
    let (host, base) = rest.split_once('/').expect("a path");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET /{base}/customers HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

#[test]
fn each_workspace_lands_in_its_own_account() {
    let r = repo();
    let root = r.dir.path();

    // Plan: a section per workspace and one summary; changes -> 2 with detailed exit codes.
    let out = run(root, &["plan", "--detailed-exitcode", "--out", "plan.json"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    let au = stdout.find("=== workspace au: ").expect("au section");
    let uk = stdout.find("=== workspace uk: ").expect("uk section");
    let summary = stdout.find("=== 2 workspaces ===").expect("summary");
    assert!(au < uk && uk < summary, "{stdout}");
    assert!(
        stdout.contains("AU-1") && stdout.contains("UK-1"),
        "{stdout}"
    );
    assert!(!stdout.contains("secret") && !stderr.contains("secret"));

    // The saved plan holds both workspaces, each bound to its own endpoint.
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("plan.json")).unwrap()).unwrap();
    assert_eq!(
        saved["workspaces"]["uk"]["endpoint"],
        r.uk.base_url.as_str()
    );
    assert_eq!(
        saved["workspaces"]["au"]["endpoint"],
        r.au.base_url.as_str()
    );
    let uk_changes = saved["workspaces"]["uk"]["changes"].to_string();
    assert!(
        uk_changes.contains("UK-1") && !uk_changes.contains("AU-1"),
        "{uk_changes}"
    );

    // Apply the saved plan: each customer in its own account, and nowhere else.
    let out = run(
        root,
        &[
            "apply",
            "--plan",
            "plan.json",
            "--auto-approve",
            "--accept-charges",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("uk  Apply: 1 created"), "{stdout}");
    assert!(stdout.contains("au  Apply: 1 created"), "{stdout}");
    assert!(
        stderr.contains("apply[uk]: created") && stderr.contains("apply[au]: created"),
        "{stderr}"
    );
    let (uk_live, au_live) = (customers(&r.uk, "uk-secret"), customers(&r.au, "au-secret"));
    assert!(
        uk_live.contains("UK-1") && !uk_live.contains("AU-1"),
        "{uk_live}"
    );
    assert!(
        au_live.contains("AU-1") && !au_live.contains("UK-1"),
        "{au_live}"
    );

    // Nothing left to do: 0 with detailed exit codes, and drift finds nothing.
    let out = run(root, &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let out = run(root, &["drift", "--format", "markdown"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("## dimctl drift: 2 workspaces"), "{stdout}");
    assert_eq!(stdout.matches("## Workspace `").count(), 2, "{stdout}");

    // The JSON documents hold one entry per workspace.
    for args in [["plan", "--format", "json"], ["drift", "--format", "json"]] {
        let out = run(root, &args);
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let names: Vec<&String> = doc["workspaces"]
            .as_object()
            .expect("workspaces")
            .keys()
            .collect();
        assert_eq!(names, ["au", "uk"], "{doc}");
    }

    // Drift in one workspace only: the run exits 2 (the worst of 0 and 2).
    std::fs::write(root.join("au/a.yaml"), customer("AU-1", "Au Renamed")).unwrap();
    let out = run(root, &["drift"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("=== 2 workspaces ==="), "{stdout}");

    // --workspace restricts: only uk is planned, and it has nothing to do.
    let out = run(root, &["plan", "--detailed-exitcode", "--workspace", "uk"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("workspace au"), "{stdout}");

    // A path selects the workspace that holds it.
    let out = run(root, &["plan", "--detailed-exitcode", "au"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("=== workspace au") && !stdout.contains("workspace uk"),
        "{stdout}"
    );
}

#[test]
fn a_workspace_error_makes_the_run_fail_and_no_plan_is_saved() {
    let r = repo();
    let root = r.dir.path();
    // The au token is wrong: the au sandbox answers 401; uk is still planned and shown.
    let out = dimctl()
        .current_dir(root)
        .args(["plan", "--out", "plan.json"])
        .env("TOKEN_UK", "uk-secret")
        .env("TOKEN_AU", "uk-secret")
        .env_remove("DIMCTL_API_URL")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("error: workspace au:"), "{stderr}");
    assert!(stdout.contains("=== workspace uk"), "{stdout}");
    assert!(!root.join("plan.json").exists());
    assert!(!stderr.contains("uk-secret"), "{stderr}");

    // An unset tokenEnv names the variable.
    let out = dimctl()
        .current_dir(root)
        .args(["plan", "--workspace", "au"])
        .env("TOKEN_UK", "uk-secret")
        .env_remove("TOKEN_AU")
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TOKEN_AU is not set"), "{stderr}");
}

#[test]
fn unknown_workspaces_and_one_target_for_all_are_refused() {
    let r = repo();
    let root = r.dir.path();
    let out = run(root, &["plan", "--workspace", "ukk"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("did you mean `uk`?"), "{stderr}");

    // A target flag over several workspaces would mix accounts.
    let url = r.uk.base_url.clone();
    let out = run(root, &["plan", "--api-url", &url]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--api-url would send every workspace"),
        "{stderr}"
    );

    // A path in no workspace.
    std::fs::create_dir_all(root.join("eu")).unwrap();
    let out = run(root, &["plan", "eu"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is in no workspace"), "{stderr}");
}

#[test]
fn a_saved_plan_is_refused_whole_when_a_workspace_moved() {
    let r = repo();
    let root = r.dir.path();
    let out = run(root, &["plan", "--out", "plan.json"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    // Point au at the uk sandbox: its binding no longer matches; nothing is applied.
    let cfg = std::fs::read_to_string(root.join("dimctl.yaml")).unwrap();
    let moved = cfg.replacen(&r.au.base_url, &format!("{}/", r.uk.base_url), 1);
    std::fs::write(root.join("dimctl.yaml"), moved).unwrap();
    let out = run(
        root,
        &[
            "apply",
            "--plan",
            "plan.json",
            "--auto-approve",
            "--accept-charges",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("workspace au"), "{stderr}");
    for live in [customers(&r.uk, "uk-secret"), customers(&r.au, "au-secret")] {
        assert!(!live.contains("UK-1") && !live.contains("AU-1"), "{live}");
    }
}

#[test]
fn config_shows_each_workspace() {
    let r = repo();
    let out = run(r.dir.path(), &["config", "--format", "json"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let cfg: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        cfg["workspaces"]["au"]["apiUrl"]["value"],
        r.au.base_url.as_str()
    );
    assert_eq!(cfg["workspaces"]["au"]["parallelism"]["value"], 3);
    assert_eq!(cfg["workspaces"]["uk"]["parallelism"]["value"], 2);
    assert_eq!(cfg["workspaces"]["uk"]["tokenEnv"]["name"], "TOKEN_UK");
    assert_eq!(cfg["workspaces"]["uk"]["tokenEnv"]["set"], true);
    assert!(!stdout.contains("uk-secret"));
    let out = run(r.dir.path(), &["config"]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("[workspace au]") && stdout.contains("[workspace uk]"),
        "{stdout}"
    );
}

#[test]
fn validate_checks_every_workspace() {
    let r = repo();
    let root = r.dir.path();
    let out = run(root, &["validate"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    std::fs::write(
        root.join("au/a.yaml"),
        "apiVersion: dimctl/v1\nkind: Customer\nreference: AU-1\nnmae: x\n",
    )
    .unwrap();
    let out = run(root, &["validate"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("a.yaml:4"),
        "{stdout}\n{stderr}"
    );
}

#[test]
fn paths_under_two_configuration_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (sub, region) in [("uk", "uk"), ("au", "au")] {
        let d = dir.path().join(sub);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("dimctl.yaml"),
            format!("{HEAD}target:\n  region: {region}\n"),
        )
        .unwrap();
        std::fs::write(d.join("a.yaml"), customer(&format!("{sub}-1"), "One")).unwrap();
    }
    let out = run(dir.path(), &["plan", "uk", "au"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("uk/dimctl.yaml") && stderr.contains("au/dimctl.yaml"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
}

/// Validate `doc` against a committed schema (`schema/NAME.schema.json`) with an
/// independent JSON Schema 2020-12 implementation (boon).
fn valid_against(doc: &Value, name: &str) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("schema/{name}.schema.json"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let id = format!("urn:dimctl:{name}");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(&id, schema).unwrap();
    let index = compiler.compile(&id, &mut schemas).unwrap();
    schemas
        .validate(doc, index)
        .unwrap_or_else(|e| panic!("{name}: {e}\n{doc}"));
}

/// The wrapper of a run over several workspaces is stamped like a single document.
fn stamped(doc: &Value, revision: &str, what: &str) {
    assert_eq!(doc["format_version"], 2, "{what}: {doc}");
    assert_eq!(doc["dimctl_version"], env!("CARGO_PKG_VERSION"), "{what}");
    let at = doc["generated_at"].as_str().unwrap_or_default();
    assert!(at.parse::<jiff::Timestamp>().is_ok(), "{what}: {at:?}");
    assert_eq!(doc["revision"], revision, "{what}: {doc}");
    let names: Vec<&String> = doc["workspaces"].as_object().expect(what).keys().collect();
    assert_eq!(names, ["au", "uk"], "{what}: {doc}");
}

#[test]
fn workspace_documents_are_stamped_valid_and_shown() {
    let r = repo();
    let root = r.dir.path();
    let out = run(
        root,
        &[
            "plan",
            "--format",
            "json",
            "--out",
            "plan.json",
            "--revision",
            "c0ffee",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    stamped(&plan, "c0ffee", "plan");
    valid_against(&plan, "plan");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("plan.json")).unwrap()).unwrap();
    stamped(&saved, "c0ffee", "saved plan");

    // `show` renders the saved set: a section per workspace, each with its header.
    let show = |format: &str| {
        let out = run(root, &["show", "plan.json", "--format", format]);
        assert_eq!(out.status.code(), Some(0), "{format}: {:?}", text(&out));
        text(&out).0
    };
    let shown = show("text");
    let au = shown.find("== workspace au ==").expect("au section");
    let uk = shown.find("== workspace uk ==").expect("uk section");
    assert!(au < uk, "{shown}");
    assert_eq!(shown.matches("Plan made just now (").count(), 2, "{shown}");
    assert_eq!(shown.matches("from commit c0ffee").count(), 2, "{shown}");
    assert!(
        shown.contains(&format!("against {}", r.uk.base_url))
            && shown.contains(&format!("against {}", r.au.base_url)),
        "{shown}"
    );
    assert!(
        shown[au..uk].contains("AU-1") && shown[uk..].contains("UK-1"),
        "{shown}"
    );
    let md = show("markdown");
    assert!(
        md.contains("## Workspace `au`") && md.contains("## Workspace `uk`"),
        "{md}"
    );
    let json: Value = serde_json::from_str(&show("json")).unwrap();
    assert_eq!(json, saved, "show --format json is the saved set itself");

    let out = run(
        root,
        &[
            "apply",
            "--plan",
            "plan.json",
            "--auto-approve",
            "--accept-charges",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let applied: Value = serde_json::from_slice(&out.stdout).unwrap();
    stamped(&applied, "c0ffee", "apply");
    valid_against(&applied, "apply");

    let out = run(
        root,
        &["drift", "--format", "json", "--revision", "feedbeef"],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let drift: Value = serde_json::from_slice(&out.stdout).unwrap();
    stamped(&drift, "feedbeef", "drift");
    valid_against(&drift, "drift");
}
