//! Issue 11, item 7: `requiredVersion` in dimctl.yaml, `man --dir`, errors that name the
//! URL tried, and a 404 on the customers collection that points at `/api/v1.0`.

mod support;

use support::{SandboxServer, dimctl};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repo_with(required: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dimctl.yaml"),
        format!(
            "apiVersion: dimctl/v1\nkind: Config\nrequiredVersion: \"{required}\"\nmanifests: [customers]\n"
        ),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("customers")).unwrap();
    std::fs::write(
        dir.path().join("customers/a.yaml"),
        "apiVersion: dimctl/v1\nkind: Customer\nreference: A\nname: A\n",
    )
    .unwrap();
    dir
}

#[test]
fn a_required_version_that_does_not_match_refuses_to_run_naming_both() {
    let dir = repo_with(">=0.3, <0.4");
    for args in [
        &["plan", "--sandbox", "s.json"][..],
        &["validate"],
        &[
            "apply",
            "--sandbox",
            "s.json",
            "--auto-approve",
            "--accept-charges",
        ],
    ] {
        let out = dimctl()
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("dimctl.yaml:3:18: error: requiredVersion"),
            "{stderr}"
        );
        assert!(stderr.contains("requires dimctl >=0.3, <0.4"), "{stderr}");
        assert!(
            stderr.contains(&format!("this is dimctl {VERSION}")),
            "{stderr}"
        );
    }
    assert!(!dir.path().join("s.json").exists(), "nothing was done");

    let dir = repo_with(&format!("={VERSION}"));
    let out = dimctl()
        .current_dir(dir.path())
        .args(["plan", "--sandbox", "s.json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dir = repo_with("two-ish");
    let out = dimctl()
        .current_dir(dir.path())
        .arg("validate")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("`two-ish` is not a version requirement"),
        "{stderr}"
    );
}

#[test]
fn man_dir_writes_one_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("man/man1");
    let out = dimctl()
        .arg("man")
        .arg("--dir")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for page in [
        "dimctl.1",
        "dimctl-plan.1",
        "dimctl-apply.1",
        "dimctl-show.1",
        "dimctl-drift.1",
        "dimctl-sandbox.1",
        "dimctl-sandbox-serve.1",
        "dimctl-auth-login.1",
    ] {
        let roff =
            std::fs::read_to_string(out_dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(roff.contains(".TH"), "{page}");
    }
    let plan = std::fs::read_to_string(out_dir.join("dimctl-plan.1")).unwrap();
    assert!(
        plan.contains("detailed\\-exitcode"),
        "the plan page has plan's flags"
    );
    // Without --dir: the main page on stdout, as before.
    let out = dimctl().arg("man").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("dimctl\\-plan(1)"));
}

#[test]
fn a_network_error_names_the_url_tried() {
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = repo_with(">=0");
    let url = format!("http://127.0.0.1:{port}/api/v1.0");
    let out = dimctl()
        .current_dir(dir.path())
        .args(["plan", "--api-url", &url, "--timeout", "2"])
        .env("DIMCTL_TOKEN", "test-token")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("GET {url}/customers: could not connect")),
        "{stderr}"
    );
}

#[test]
fn a_404_on_the_customers_collection_points_at_the_api_version() {
    let state = tempfile::tempdir().unwrap();
    let server = SandboxServer::start(&state.path().join("s.json"), &[]);
    let without_version = server.base_url.trim_end_matches("/api/v1.0").to_string();
    assert_ne!(without_version, server.base_url);
    let dir = repo_with(">=0");
    let out = dimctl()
        .current_dir(dir.path())
        .args(["plan", "--api-url", &without_version])
        .env("DIMCTL_TOKEN", "test-token")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("GET {without_version}/customers: 404")),
        "{stderr}"
    );
    assert!(
        stderr.contains("check the /api/v1.0 part of the base URL"),
        "{stderr}"
    );
}
