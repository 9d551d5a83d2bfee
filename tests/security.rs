//! Issue 10, one test per item: secret references narrow and visible, no redirects,
//! plans bound to the account, and everything ends. Each asserts the exit code and the
//! message. Stand-ins (`standin`) play the servers the sandbox cannot be.

mod standin;
mod support;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use standin::{Mode, StandIn};

const TOKEN_A: &str = "token-of-reseller-A-0001";
const TOKEN_B: &str = "token-of-reseller-B-0002";

fn manifest(dir: &Path, file: &str, body: &str) {
    std::fs::write(
        dir.join(file),
        format!("apiVersion: dimctl/v1\nkind: Customer\n{body}"),
    )
    .unwrap();
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Run dimctl against `base` with `token`, no credentials from the test's environment.
fn run(dir: &Path, base: &str, token: &str, args: &[&str]) -> Output {
    support::dimctl()
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DIMCTL_API_URL", format!("{base}/api/v1.0"))
        .env("DIMCTL_TOKEN", token)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_dimctl_variable_as_a_secret_source_is_a_validate_error() {
    let dir = tempfile::tempdir().unwrap();
    manifest(
        dir.path(),
        "a.yaml",
        "reference: A-1\nname: A\npbxConnectionProfiles:\n  - _type: KazooPbxConnectionProfile\n    name: k\n    hostRest: https://attacker.example.net/v2\n    apiKey: {fromEnv: DIMCTL_TOKEN}\n",
    );
    let out = support::dimctl()
        .current_dir(dir.path())
        .env("DIMCTL_TOKEN", "tok-SECRET-never-shown")
        .args(["validate", "."])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("a.yaml:9:")
            && stderr.contains("`DIMCTL_TOKEN` is one of dimctl's own variables"),
        "{stderr}"
    );
    assert!(!stderr.contains("tok-SECRET") && !stdout.contains("tok-SECRET"));
}

#[test]
fn literal_secrets_under_misspelt_keys_or_on_other_lines_are_errors_and_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    manifest(
        dir.path(),
        "a.yaml",
        "reference: A-1\nname: A\npbxConnectionProfiles:\n  - _type: KazooPbxConnectionProfile\n    name: k\n    apikey: lit-SECRET-misspelt\n",
    );
    manifest(
        dir.path(),
        "b.yaml",
        "reference: B-1\nname: B\npbxConnectionProfiles:\n  - _type: ThreeCxConnectionProfile\n    name: t\n    Password: |\n      lit-SECRET-block-scalar\n",
    );
    manifest(
        dir.path(),
        "c.yaml",
        "reference: C-1\nname: C\npbxConnectionProfiles:\n  - _type: KazooPbxConnectionProfile\n    name: k\n    apiKey:\n      lit-SECRET-next-line\n",
    );
    for format in ["text", "json"] {
        let out = support::dimctl()
            .current_dir(dir.path())
            .args(["validate", ".", "--format", format])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
        let all = format!("{stdout}{stderr}");
        assert!(
            !all.contains("lit-SECRET"),
            "a literal secret was echoed:\n{all}"
        );
        assert!(
            all.contains("`apikey` looks like the secret `apiKey`")
                && all.contains("`Password` looks like the secret `password`")
                && all.contains("fromEnv"),
            "{all}"
        );
    }
}

#[test]
fn a_saved_plan_never_resolves_a_reference_outside_a_secret_field() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    manifest(dir.path(), "a.yaml", "reference: A-1\nname: A\n");
    let out = support::dimctl()
        .current_dir(dir.path())
        .args(["plan", ".", "--sandbox"])
        .arg(&state)
        .args(["--out", "plan.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let plan = std::fs::read_to_string(dir.path().join("plan.json")).unwrap();
    let mut edited: serde_json::Value = serde_json::from_str(&plan).unwrap();
    edited["changes"][0]["create"]["name"] = serde_json::json!({"fromEnv": "DIMCTL_TOKEN"});
    std::fs::write(dir.path().join("plan.json"), edited.to_string()).unwrap();
    let out = support::dimctl()
        .current_dir(dir.path())
        .env("DIMCTL_TOKEN", "tok-SECRET-as-a-name")
        .args([
            "apply",
            "--plan",
            "plan.json",
            "--auto-approve",
            "--accept-charges",
            "--sandbox",
        ])
        .arg(&state)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("`name` is not a secret field") && stderr.contains("nothing was written"),
        "{stderr}"
    );
    let state_text = std::fs::read_to_string(&state).unwrap_or_default();
    assert!(!state_text.contains("tok-SECRET") && !stdout.contains("tok-SECRET"));
}

#[test]
fn a_redirect_is_an_error_naming_the_origin_and_nothing_reaches_it() {
    let elsewhere = StandIn::default();
    let other = standin::start(elsewhere.clone());
    let s = StandIn::default();
    s.add_account(TOKEN_A, "R-A");
    s.set_mode(Mode::Redirect(format!("{other}/api/v1.0/customers")));
    let base = standin::start(s.clone());
    let dir = tempfile::tempdir().unwrap();
    manifest(dir.path(), "a.yaml", "reference: A-1\nname: A\n");
    let out = run(dir.path(), &base, TOKEN_A, &["plan", "."]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("307") && stderr.contains(&format!("redirected to {other}")),
        "{stderr}"
    );
    assert!(
        elsewhere.seen().is_empty(),
        "a request followed the redirect"
    );
}

#[test]
fn a_saved_plan_is_refused_by_another_account_on_the_same_url() {
    let s = StandIn::default();
    s.add_account(TOKEN_A, "R-A");
    s.add_account(TOKEN_B, "R-B");
    s.add_customer(TOKEN_A, "A-0", "A's first");
    s.add_customer(TOKEN_B, "B-0", "B's first");
    let base = standin::start(s.clone());
    let dir = tempfile::tempdir().unwrap();
    manifest(dir.path(), "a0.yaml", "reference: A-0\nname: A's first\n");
    manifest(dir.path(), "a1.yaml", "reference: A-1\nname: A's second\n");
    let out = run(
        dir.path(),
        &base,
        TOKEN_A,
        &["plan", ".", "--out", "plan.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(plan["account"], "R-A");

    let args = [
        "apply",
        "--plan",
        "plan.json",
        "--auto-approve",
        "--accept-charges",
    ];
    let out = run(dir.path(), &base, TOKEN_B, &args);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("made for account R-A") && stderr.contains("reach account R-B"),
        "{stderr}"
    );
    assert_eq!(s.customers(TOKEN_B).len(), 1, "nothing written to B");
    assert!(!s.seen().iter().any(|r| r.starts_with("POST")));

    // The account it was made for applies it.
    let out = run(dir.path(), &base, TOKEN_A, &args);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(s.customers(TOKEN_A).len(), 2);
}

/// A command against a server that never answers or drips bytes ends within the
/// documented bound (two operation deadlines of 2 x --timeout, plus start-up), with
/// exit 1 and a message saying what happened. The bound asserted is generous: the point
/// is that it ends, where before it waited for minutes.
fn ends_against(mode: Mode, args: &[&str], expect: &[&str]) {
    let s = StandIn::default();
    s.add_account(TOKEN_A, "R-A");
    s.set_mode(mode);
    let base = standin::start(s);
    let dir = tempfile::tempdir().unwrap();
    manifest(dir.path(), "a.yaml", "reference: A-1\nname: A\n");
    manifest(dir.path(), "b.yaml", "reference: B-1\nname: B\n");
    manifest(dir.path(), "c.yaml", "reference: C-1\nname: C\n");
    let started = Instant::now();
    let out = run(dir.path(), &base, TOKEN_A, args);
    let took = started.elapsed();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    for e in expect {
        assert!(
            stdout.contains(e) || stderr.contains(e),
            "no {e:?} in:\n{stdout}\n{stderr}"
        );
    }
}

#[test]
fn plan_against_a_stalling_server_ends() {
    ends_against(
        Mode::Stall,
        &["plan", ".", "--timeout", "1"],
        &["no answer within 2 s"],
    );
}

#[test]
fn plan_against_a_dripping_server_ends() {
    ends_against(
        Mode::Drip,
        &["plan", ".", "--timeout", "1"],
        &["GET /customers"],
    );
}

#[test]
fn apply_against_a_stalling_server_ends_and_names_the_customers_it_could_not_settle() {
    // A plan made while the server answered, applied when it no longer does.
    let s = StandIn::default();
    s.add_account(TOKEN_A, "R-A");
    let base = standin::start(s.clone());
    let dir = tempfile::tempdir().unwrap();
    for r in ["A-1", "B-1", "C-1"] {
        manifest(
            dir.path(),
            &format!("{r}.yaml"),
            &format!("reference: {r}\nname: {r}\n"),
        );
    }
    let out = run(
        dir.path(),
        &base,
        TOKEN_A,
        &["plan", ".", "--out", "plan.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    s.set_mode(Mode::Stall);
    let started = Instant::now();
    let out = run(
        dir.path(),
        &base,
        TOKEN_A,
        &[
            "apply",
            "--plan",
            "plan.json",
            "--auto-approve",
            "--accept-charges",
            "--timeout",
            "1",
        ],
    );
    let took = started.elapsed();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    // The first read finds no answer within the deadline; from then on nothing is sent,
    // and every customer is reported with why it was not created.
    assert!(stderr.contains("stopped answering"), "{stderr}");
    for r in ["A-1", "B-1", "C-1"] {
        assert!(stderr.contains(&format!("failed {r}: ")), "{r}:\n{stderr}");
        assert!(stdout.contains(r), "{r} missing from the report:\n{stdout}");
    }
    assert!(!s.seen().iter().any(|r| r.starts_with("POST")));
}

#[test]
fn apply_from_manifests_against_a_server_that_stalls_on_writes_reports_unknown_customers() {
    let s = StandIn::default();
    s.add_account(TOKEN_A, "R-A");
    let base = standin::start(s.clone());
    let dir = tempfile::tempdir().unwrap();
    for r in ["A-1", "B-1", "C-1"] {
        manifest(
            dir.path(),
            &format!("{r}.yaml"),
            &format!("reference: {r}\nname: {r}\n"),
        );
    }
    // Reads work; the stand-in stalls on every write.
    s.set_mode(Mode::StallWrites);
    let started = Instant::now();
    let out = run(
        dir.path(),
        &base,
        TOKEN_A,
        &[
            "apply",
            ".",
            "--auto-approve",
            "--accept-charges",
            "--timeout",
            "1",
            "--parallelism",
            "1",
        ],
    );
    let took = started.elapsed();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    for r in ["A-1", "B-1", "C-1"] {
        assert!(
            stdout.contains(r),
            "{r} missing from the report:\n{stdout}\n{stderr}"
        );
    }
    // The first create had no answer: its outcome is unknown, and the report says so.
    assert!(
        stderr.contains("outcome unknown") || stdout.contains("unknown"),
        "{stdout}\n{stderr}"
    );
    assert_eq!(s.seen().iter().filter(|r| r.starts_with("POST")).count(), 1);
}

/// A secret shorter than 4 characters cannot be masked without garbling the output and
/// telling the value by where the mask falls: it is refused where it is read (a PBX
/// secret's variable before any write, a credential variable before any request), naming
/// the variable and never the value.
#[test]
fn a_secret_too_short_to_mask_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    manifest(
        dir.path(),
        "a.yaml",
        concat!(
            "reference: SHORT-1\nname: Short\npbxConnectionProfiles:\n",
            "  - _type: KazooPbxConnectionProfile\n    name: pbx\n",
            "    hostRest: https://kazoo.example.com/v2\n",
            "    hostWebsocket: wss://kazoo.example.com\n",
            "    accountId: 3f2a9c1e8b7d4e60a1c2b3d4e5f60718\n",
            "    apiKey: {fromEnv: SHORT_PBX_KEY}\n",
        ),
    );
    let apply = |value: &str| {
        support::dimctl()
            .current_dir(dir.path())
            .env("SHORT_PBX_KEY", value)
            .args([
                "apply",
                "--sandbox",
                "s.json",
                "--auto-approve",
                "--accept-charges",
                "a.yaml",
            ])
            .output()
            .unwrap()
    };
    let out = apply("k#z");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("shorter than 4 characters, too short to be kept out of output safely"),
        "{stderr}"
    );
    assert!(stderr.contains("SHORT_PBX_KEY"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!stdout.contains("k#z") && !stderr.contains("k#z"));
    // Nothing was created: the same manifest still plans a create.
    let plan = support::dimctl()
        .current_dir(dir.path())
        .args(["plan", "--sandbox", "s.json", "--format", "json", "a.yaml"])
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["summary"]["create"], 1, "{plan:#}");
    // Four characters are enough.
    let out = apply("k#z!");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);

    // A bearer token that short is refused before any request is made.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let out = run(dir.path(), &base, "t#k", &["plan", "a.yaml"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "environment variable DIMCTL_TOKEN holds a secret of fewer than 4 characters, which cannot be kept out of output safely"
        ),
        "{stderr}"
    );
    assert!(!stdout.contains("t#k") && !stderr.contains("t#k"));
    // And a refresh token file holding so short a token, before the token endpoint is asked.
    let file = dir.path().join("refresh-token");
    std::fs::write(&file, "r#\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = support::dimctl()
        .current_dir(dir.path())
        .env_clear()
        .env("DIMCTL_CLIENT_ID", "client-id")
        .env("DIMCTL_CLIENT_SECRET", "client-secret-xyz")
        .args(["auth", "refresh", "--token-url"])
        .arg(format!("{base}/connect/token"))
        .arg("--refresh-token-file")
        .arg(&file)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the token file {} holds a secret of fewer than 4 characters",
            file.display()
        )),
        "{stderr}"
    );
    assert!(!stdout.contains("r#") && !stderr.contains("r#"));

    // So is a password that short in the API URL.
    let with_password = format!(
        "http://user:pw1@{}/api/v1.0",
        listener.local_addr().unwrap()
    );
    let out = run(
        dir.path(),
        &base,
        TOKEN_A,
        &["plan", "a.yaml", "--api-url", &with_password],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the password in the URL {base}/api/v1.0 holds a secret of fewer than 4 characters"
        )),
        "{stderr}"
    );
    assert!(!stdout.contains("pw1") && !stderr.contains("pw1"));
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "no connection was made"
    );
}
