//! No token, client secret or PBX secret reaches stdout, stderr or the logs, even at
//! `-vvv`: run the binary with known secret values (refresh flow forced to run, PBX
//! secrets sent on create) and search everything it printed, and what `sandbox serve`
//! printed, for them.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

const CLIENT_SECRET: &str = "cs-SECRET-a1b2c3d4";
const REFRESH_TOKEN: &str = "rt-SECRET-e5f6g7h8";
const STATIC_TOKEN: &str = "at-SECRET-i9j0k1l2";
const KAZOO_KEY: &str = "pbx-SECRET-m3n4o5p6";
const THREECX_PASSWORD: &str = "pbx-SECRET-q7r8s9t0";

/// `sandbox serve -vvv` with its stderr captured in `log`.
fn serve(state: &Path, log: &Path, extra: &[&str]) -> (Child, String) {
    let mut child = support::dimctl()
        .args([
            "-vvv",
            "sandbox",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--state",
        ])
        .arg(state)
        .args(extra)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    (child, base)
}

fn assert_clean(what: &str, text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "{what} leaks {s}:\n{text}");
    }
}

#[test]
fn no_secret_in_any_output_at_highest_verbosity() {
    let dir = tempfile::tempdir().unwrap();
    // The examples that carry PBX secrets (and one without), copied so the test owns them.
    let examples = dir.path().join("customers");
    std::fs::create_dir(&examples).unwrap();
    for name in [
        "brightwave-health-us.yaml",
        "harbour-dental-uk.yaml",
        "acme-telecom-uk.yaml",
    ] {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/customers")
            .join(name);
        std::fs::copy(src, examples.join(name)).unwrap();
    }
    let serve_log = dir.path().join("serve.log");
    let (mut server, base) = serve(
        &dir.path().join("s.json"),
        &serve_log,
        &["--token-lifetime-requests", "8"],
    );
    let token_url = base.replace("/api/v1.0", "/connect/token");
    let rt_file = dir.path().join("refresh-token");

    // The OAuth refresh flow, forced to refresh repeatedly, writing PBX secrets.
    let apply = support::dimctl()
        .args([
            "-vvv",
            "apply",
            "--auto-approve",
            "--accept-charges",
            "--api-url",
            &base,
        ])
        .args(["--token-url", &token_url, "--refresh-token-file"])
        .arg(&rt_file)
        .arg(&examples)
        .env_remove("RUST_LOG")
        .env_remove("DIMCTL_TOKEN")
        .env("DIMCTL_CLIENT_ID", "client-id")
        .env("DIMCTL_CLIENT_SECRET", CLIENT_SECRET)
        .env("DIMCTL_REFRESH_TOKEN", REFRESH_TOKEN)
        .env("BRIGHTWAVE_KAZOO_API_KEY", KAZOO_KEY)
        .env("HARBOUR_3CX_PASSWORD", THREECX_PASSWORD)
        .output()
        .unwrap();
    let rotated = std::fs::read_to_string(&rt_file).unwrap_or_default();
    assert!(
        rotated.starts_with("sbx-rt-"),
        "the refresh flow ran and rotated"
    );
    let secrets = [
        CLIENT_SECRET,
        REFRESH_TOKEN,
        KAZOO_KEY,
        THREECX_PASSWORD,
        rotated.as_str(),
        "sbx-at-",
    ];
    let out = String::from_utf8_lossy(&apply.stdout);
    let err = String::from_utf8_lossy(&apply.stderr);
    assert!(apply.status.success(), "apply failed:\n{out}\n{err}");
    assert!(err.contains("/customers"), "-vvv logs requests:\n{err}");
    assert!(
        err.contains("POST"),
        "the creates (with PBX secrets) were sent:\n{err}"
    );
    assert!(err.contains("refresh"), "the token was refreshed:\n{err}");
    assert_clean("apply stdout", &out, &secrets);
    assert_clean("apply stderr", &err, &secrets);

    // A static token, reading back what was written.
    let plan = support::dimctl()
        .args(["-vvv", "plan", "--api-url", &base])
        .arg(&examples)
        .env_remove("RUST_LOG")
        .env("DIMCTL_TOKEN", STATIC_TOKEN)
        .env("BRIGHTWAVE_KAZOO_API_KEY", KAZOO_KEY)
        .env("HARBOUR_3CX_PASSWORD", THREECX_PASSWORD)
        .output()
        .unwrap();
    let secrets = [STATIC_TOKEN, KAZOO_KEY, THREECX_PASSWORD];
    assert_clean(
        "plan stdout",
        &String::from_utf8_lossy(&plan.stdout),
        &secrets,
    );
    assert_clean(
        "plan stderr",
        &String::from_utf8_lossy(&plan.stderr),
        &secrets,
    );

    let _ = server.kill();
    let _ = server.wait();
    let log = std::fs::read_to_string(&serve_log).unwrap();
    assert_clean(
        "sandbox serve log",
        &log,
        &[
            CLIENT_SECRET,
            REFRESH_TOKEN,
            STATIC_TOKEN,
            KAZOO_KEY,
            THREECX_PASSWORD,
            "sbx-at-",
        ],
    );
}
