//! Issue 10's "done means": every command (validate, plan, apply, apply --plan, import,
//! drift, config, auth refresh, and the OAuth refresh flow) at `-vvv` against a stand-in
//! that echoes secrets back in every error shape (a 400 message, a 402 echo, a 500 body, a
//! 200 with an error status, a token-endpoint error), and not one secret string appears in
//! stdout, stderr or any file written.

mod standin;
mod support;

use std::path::Path;
use std::process::Output;

use standin::{Mode, StandIn};

const TOKEN: &str = "at-SECRET-static-1111";
const CLIENT_SECRET: &str = "cs-SECRET-client-2222";
const REFRESH: &str = "rt-SECRET-refresh-3333";
const PBX_KEY: &str = "pbx-SECRET-kazoo-4444";
const URL_PASSWORD: &str = "url-SECRET-pass-5555";
const LITERAL: &str = "lit-SECRET-manifest-6666";
const SECRETS: &[&str] = &[
    TOKEN,
    CLIENT_SECRET,
    REFRESH,
    PBX_KEY,
    URL_PASSWORD,
    LITERAL,
];

struct Env<'a> {
    base: &'a str,
    creds: Creds,
    url_password: bool,
}

#[derive(Clone, Copy)]
enum Creds {
    Static,
    Refresh,
}

fn run(dir: &Path, env: &Env<'_>, args: &[&str]) -> Output {
    let mut cmd = support::dimctl();
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env("ACME_KEY", PBX_KEY)
        .arg("-vvv")
        .args(args);
    let base = if env.url_password {
        env.base
            .replace("http://", &format!("http://user:{URL_PASSWORD}@"))
    } else {
        env.base.to_string()
    };
    cmd.env("DIMCTL_API_URL", format!("{base}/api/v1.0"));
    match env.creds {
        Creds::Static => {
            cmd.env("DIMCTL_TOKEN", TOKEN);
        }
        Creds::Refresh => {
            cmd.env("DIMCTL_CLIENT_ID", "dimctl-test")
                .env("DIMCTL_CLIENT_SECRET", CLIENT_SECRET)
                .env("DIMCTL_REFRESH_TOKEN", REFRESH)
                .env("DIMCTL_TOKEN_URL", format!("{}/connect/token", env.base));
        }
    }
    cmd.output().unwrap()
}

fn assert_clean(what: &str, out: &Output) {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for s in SECRETS {
        assert!(!text.contains(s), "{what} leaks {s}:\n{text}");
    }
}

fn assert_files_clean(dir: &Path) {
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for s in SECRETS {
            assert!(!text.contains(s), "{} leaks {s}:\n{text}", entry.display());
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.ends_with("literal") {
            continue; // the test's own input
        }
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Every command that talks to the API, in the stand-in's current mode.
fn every_command(dir: &Path, env: &Env<'_>, tag: &str) {
    let runs: Vec<(String, Vec<String>)> = vec![
        (
            "plan".into(),
            vec![
                "plan".into(),
                "customers".into(),
                "--timeout".into(),
                "1".into(),
                "--out".into(),
                format!("out/plan-{tag}.json"),
                "--format".into(),
                "json".into(),
            ],
        ),
        (
            "plan (markdown)".into(),
            vec![
                "plan".into(),
                "customers".into(),
                "--timeout".into(),
                "1".into(),
                "--format".into(),
                "markdown".into(),
            ],
        ),
        (
            "apply".into(),
            vec![
                "apply".into(),
                "customers".into(),
                "--auto-approve".into(),
                "--accept-charges".into(),
                "--timeout".into(),
                "1".into(),
            ],
        ),
        (
            "apply --format json".into(),
            vec![
                "apply".into(),
                "customers".into(),
                "--auto-approve".into(),
                "--accept-charges".into(),
                "--timeout".into(),
                "1".into(),
                "--format".into(),
                "json".into(),
            ],
        ),
        (
            "apply --plan".into(),
            vec![
                "apply".into(),
                "--plan".into(),
                "saved-plan.json".into(),
                "--auto-approve".into(),
                "--accept-charges".into(),
                "--timeout".into(),
                "1".into(),
            ],
        ),
        (
            "import".into(),
            vec![
                "import".into(),
                "--out".into(),
                format!("out/import-{tag}"),
                "--timeout".into(),
                "1".into(),
            ],
        ),
        (
            "drift".into(),
            vec![
                "drift".into(),
                "customers".into(),
                "--timeout".into(),
                "1".into(),
                "--summary-file".into(),
                format!("out/drift-{tag}.txt"),
            ],
        ),
        (
            "drift (json)".into(),
            vec![
                "drift".into(),
                "customers".into(),
                "--timeout".into(),
                "1".into(),
                "--format".into(),
                "json".into(),
            ],
        ),
        ("config".into(), vec!["config".into()]),
        (
            "auth refresh".into(),
            vec![
                "auth".into(),
                "refresh".into(),
                "--timeout".into(),
                "1".into(),
            ],
        ),
    ];
    for (what, args) in runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(dir, env, &args);
        assert_clean(&format!("{what} [{tag}]"), &out);
        if tag == "token-endpoint" && what == "auth refresh" {
            // The endpoint refused, echoing the form (refresh token and client secret).
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(
                stderr.contains("refused the request (invalid_grant"),
                "{stderr}"
            );
        }
        if tag == "400-false" && what == "plan" {
            // The server's message is shown, masked: the echo did reach the output path.
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("The value 'Bearer ***"), "{stderr}");
        }
    }
}

#[test]
fn no_secret_leaves_the_process_whatever_the_server_echoes() {
    let s = StandIn::default();
    s.add_account(TOKEN, "R-1");
    s.add_account("standin-access-token-0001", "R-1");
    s.add_customer(TOKEN, "LIVE-1", "Live One");
    let base = standin::start(s.clone());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("customers")).unwrap();
    std::fs::create_dir_all(d.join("out")).unwrap();
    std::fs::create_dir_all(d.join("literal")).unwrap();
    std::fs::write(
        d.join("customers/acme.yaml"),
        "apiVersion: dimctl/v1\nkind: Customer\nreference: ACME-1\nname: Acme\npbxConnectionProfiles:\n  - _type: KazooPbxConnectionProfile\n    name: k\n    hostRest: https://kazoo.acme.example/v2\n    apiKey: {fromEnv: ACME_KEY}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("literal/bad.yaml"),
        format!("apiVersion: dimctl/v1\nkind: Customer\nreference: BAD-1\nname: Bad\npbxConnectionProfiles:\n  - _type: KazooPbxConnectionProfile\n    name: k\n    api_key: {LITERAL}\n  - _type: ThreeCxConnectionProfile\n    name: t\n    password: >\n      {LITERAL}\n"),
    )
    .unwrap();
    let env = Env {
        base: &base,
        creds: Creds::Static,
        url_password: false,
    };

    // validate, with literal secrets in the manifest (it must fail, and not echo them).
    let out = run(d, &env, &["validate", "literal"]);
    assert_eq!(out.status.code(), Some(1));
    assert_clean("validate", &out);
    let out = run(d, &env, &["validate", "literal", "--format", "json"]);
    assert_clean("validate --format json", &out);

    // A plan saved while the server behaves, for apply --plan.
    let out = run(d, &env, &["plan", "customers", "--out", "saved-plan.json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_clean("plan (ok)", &out);

    for writes_only in [false, true] {
        s.set_echo_writes_only(writes_only);
        for (tag, mode) in [
            ("400", Mode::Echo400),
            ("402", Mode::Echo402),
            ("500", Mode::Echo500),
            ("200-error", Mode::Echo200Error),
        ] {
            s.set_mode(mode);
            every_command(d, &env, &format!("{tag}-{writes_only}"));
        }
    }
    // The writes that echoed did carry the PBX key: the test would catch a leak.
    assert!(
        s.seen()
            .iter()
            .any(|r| r.starts_with("POST /api/v1.0/customers"))
    );

    // The OAuth refresh flow against a token endpoint that echoes the form it received.
    s.set_mode(Mode::Ok);
    s.set_token_echo(true);
    let refresh = Env {
        base: &base,
        creds: Creds::Refresh,
        url_password: false,
    };
    every_command(d, &refresh, "token-endpoint");
    assert!(s.seen().iter().any(|r| r == "POST /connect/token"));

    // A password in the API URL: never printed, never in a plan.
    s.set_token_echo(false);
    let with_password = Env {
        base: &base,
        creds: Creds::Static,
        url_password: true,
    };
    every_command(d, &with_password, "url-password");

    assert_files_clean(d);
}
