//! Files dimctl writes are only ever regular files (issue 10, item 5): `plan --out`,
//! `import --out`, token files and the sandbox's state refuse a directory, a device, a
//! FIFO; a symbolic link is written through and kept; `-` is stdout; a token file open to
//! group or others is refused with the `chmod` to run; a rotated refresh token is saved
//! before it is used, and its file is checked before the refresh is asked for. `drift
//! --summary-file` (appended to, not replaced) is held to the same rules.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use support::dimctl;

const MANIFEST: &str = "apiVersion: dimctl/v1\nkind: Customer\nreference: A-1\nname: Alpha\n";

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), MANIFEST).unwrap();
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    dimctl()
        .current_dir(dir)
        .args(args)
        .env_remove("DIMCTL_TOKEN")
        .env_remove("DIMCTL_API_URL")
        .env_remove("DIMCTL_REGION")
        .env_remove("DIMCTL_REFRESH_TOKEN_FILE")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

#[cfg(unix)]
#[test]
fn plan_out_refuses_a_device_a_fifo_and_a_directory() {
    use std::os::unix::fs::FileTypeExt;
    let dir = repo();
    let out = run(
        dir.path(),
        &[
            "plan",
            "--sandbox",
            "s.json",
            "--out",
            "/dev/null",
            "a.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--out /dev/null: /dev/null is a character device, not a regular file"),
        "{err}"
    );
    assert!(err.contains("nothing was planned"), "{err}");
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    assert!(!dir.path().join("s.json").exists(), "nothing was done");

    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let out = run(
        dir.path(),
        &["plan", "--sandbox", "s.json", "--out", "pipe", "a.yaml"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("pipe is a FIFO (named pipe), not a regular file"),
        "{}",
        stderr(&out)
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );

    std::fs::create_dir(dir.path().join("plans")).unwrap();
    let out = run(
        dir.path(),
        &["plan", "--sandbox", "s.json", "--out", "plans", "a.yaml"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("plans is a directory, not a regular file"),
        "{}",
        stderr(&out)
    );
}

#[cfg(unix)]
#[test]
fn plan_out_writes_through_a_symlink_and_dash_is_stdout() {
    let dir = repo();
    let real = dir.path().join("real-plan.json");
    std::fs::write(&real, "old").unwrap();
    std::os::unix::fs::symlink(&real, dir.path().join("plan.json")).unwrap();
    let out = run(
        dir.path(),
        &[
            "plan",
            "--sandbox",
            "s.json",
            "--out",
            "plan.json",
            "a.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let link = std::fs::symlink_metadata(dir.path().join("plan.json")).unwrap();
    assert!(link.file_type().is_symlink(), "the link is kept");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&real).unwrap()).unwrap();
    assert!(written.get("changes").is_some(), "{written}");

    let out = run(
        dir.path(),
        &["plan", "--sandbox", "s.json", "--out", "-", "a.yaml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(plan.get("changes").is_some(), "{plan}");
    assert!(
        stderr(&out).contains("A-1"),
        "the text rendering goes to stderr"
    );
    assert!(!dir.path().join("-").exists());
}

#[cfg(unix)]
#[test]
fn import_checks_every_target_before_writing_and_dash_is_stdout() {
    let dir = repo();
    let out = run(
        dir.path(),
        &[
            "apply",
            "--sandbox",
            "s.json",
            "--auto-approve",
            "--accept-charges",
            "a.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    std::fs::create_dir(dir.path().join("imported")).unwrap();
    mkfifo(&dir.path().join("imported/customer.schema.json"));
    let out = run(
        dir.path(),
        &["import", "--sandbox", "s.json", "--out", "imported"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("customer.schema.json is a FIFO (named pipe), not a regular file"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("imported"))
            .unwrap()
            .count(),
        1
    );

    let out = run(dir.path(), &["import", "--sandbox", "s.json", "--out", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("reference: A-1"), "{text}");
    assert!(!dir.path().join("-").exists());
}

#[cfg(unix)]
#[test]
fn sandbox_state_must_be_a_regular_file() {
    let dir = repo();
    let out = run(dir.path(), &["plan", "--sandbox", "/dev/null", "a.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/dev/null is a character device"),
        "{}",
        stderr(&out)
    );
    mkfifo(&dir.path().join("state"));
    // Never opened: a FIFO with no writer would block a reader for ever.
    let out = run(dir.path(), &["plan", "--sandbox", "state", "a.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("state is a FIFO"), "{}", stderr(&out));
}

#[cfg(unix)]
#[test]
fn drift_summary_file_refuses_what_is_not_a_regular_file_before_anything_is_done() {
    use std::os::unix::fs::FileTypeExt;
    let dir = repo();
    mkfifo(&dir.path().join("pipe"));
    std::fs::create_dir(dir.path().join("summaries")).unwrap();
    std::fs::write(dir.path().join("summaries/keep"), "x").unwrap();
    std::os::unix::fs::symlink(dir.path().join("gone.md"), dir.path().join("dangling")).unwrap();
    std::os::unix::fs::symlink("/dev/null", dir.path().join("to-null")).unwrap();
    for (target, what) in [
        ("pipe", "pipe is a FIFO (named pipe), not a regular file"),
        ("summaries", "summaries is a directory, not a regular file"),
        (
            "/dev/null",
            "/dev/null is a character device, not a regular file",
        ),
        (
            "dangling",
            "dangling is a symbolic link to a file that does not exist",
        ),
        (
            "to-null",
            "to-null is a symbolic link to /dev/null (a character device)",
        ),
    ] {
        let out = run(
            dir.path(),
            &[
                "drift",
                "--sandbox",
                "s.json",
                "--summary-file",
                target,
                "a.yaml",
            ],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{target}: {err}");
        assert!(err.contains(&format!("--summary-file {target}: ")), "{err}");
        assert!(err.contains(what), "{target}: {err}");
        assert!(err.contains("nothing was checked"), "{err}");
        assert!(out.stdout.is_empty(), "no report for {target}");
        assert!(!dir.path().join("s.json").exists(), "nothing was done");
    }
    assert!(
        std::fs::symlink_metadata(dir.path().join("pipe"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("summaries/keep")).unwrap(),
        "x"
    );
    assert!(!dir.path().join("gone.md").exists());

    // A link to a regular file is written through (appended to) and kept, as `--out`.
    let real = dir.path().join("real-summary.md");
    std::fs::write(&real, "earlier step\n").unwrap();
    std::os::unix::fs::symlink(&real, dir.path().join("summary.md")).unwrap();
    let out = run(
        dir.path(),
        &[
            "drift",
            "--sandbox",
            "s.json",
            "--summary-file",
            "summary.md",
            "a.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let md = std::fs::read_to_string(&real).unwrap();
    assert!(md.starts_with("earlier step\n"), "{md}");
    assert!(md.contains("A-1"), "{md}");
    assert!(
        std::fs::symlink_metadata(dir.path().join("summary.md"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// A stand-in token endpoint (rotating the refresh token) and API on 127.0.0.1: counts
/// token requests and records the token file's content when the first API call arrives.
struct StandIn {
    url: String,
    token_requests: Arc<Mutex<u32>>,
    file_at_first_call: Arc<Mutex<Option<String>>>,
}

async fn stand_in(token_file: PathBuf) -> StandIn {
    use axum::routing::{get, post};
    let token_requests = Arc::new(Mutex::new(0u32));
    let file_at_first_call = Arc::new(Mutex::new(None));
    let (count, seen) = (token_requests.clone(), file_at_first_call.clone());
    let app = axum::Router::new()
        .route(
            "/connect/token",
            post(move || {
                let count = count.clone();
                async move {
                    *count.lock().unwrap() += 1;
                    axum::Json(serde_json::json!({
                        "access_token": "at-standin-1",
                        "refresh_token": "rt-rotated-2",
                        "expires_in": 3600
                    }))
                }
            }),
        )
        .route(
            "/api/v1.0/customers",
            get(move || {
                let seen = seen.clone();
                let file = token_file.clone();
                async move {
                    let mut s = seen.lock().unwrap();
                    if s.is_none() {
                        *s = Some(std::fs::read_to_string(&file).unwrap_or_default());
                    }
                    axum::Json(serde_json::json!({
                        "status": "success", "page_size": 1000, "page_index": 0, "data": []
                    }))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    StandIn {
        url: format!("http://{addr}"),
        token_requests,
        file_at_first_call,
    }
}

async fn plan_with_refresh(
    dir: &Path,
    s: &StandIn,
    file: &Path,
    env_token: Option<&str>,
) -> Output {
    let mut cmd = dimctl();
    cmd.current_dir(dir)
        .args(["plan", "a.yaml", "--api-url"])
        .arg(format!("{}/api/v1.0", s.url))
        .arg("--token-url")
        .arg(format!("{}/connect/token", s.url))
        .arg("--refresh-token-file")
        .arg(file)
        .env_remove("DIMCTL_TOKEN")
        .env_remove("DIMCTL_REFRESH_TOKEN")
        .env("DIMCTL_CLIENT_ID", "cid")
        .env("DIMCTL_CLIENT_SECRET", "client-secret-xyz");
    if let Some(t) = env_token {
        cmd.env("DIMCTL_REFRESH_TOKEN", t);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_refresh_token_is_saved_before_it_is_used() {
    use std::os::unix::fs::PermissionsExt;
    let dir = repo();
    let file = dir.path().join("refresh-token");
    std::fs::write(&file, "rt-old-1\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let s = stand_in(file.clone()).await;
    let out = plan_with_refresh(dir.path(), &s, &file, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(*s.token_requests.lock().unwrap(), 1);
    assert_eq!(
        s.file_at_first_call.lock().unwrap().as_deref(),
        Some("rt-rotated-2"),
        "the new refresh token was on disk before the access token was used"
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!stderr(&out).contains("rt-rotated-2"));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn an_open_or_unwritable_token_file_stops_before_the_refresh() {
    use std::os::unix::fs::PermissionsExt;
    let dir = repo();
    // Group- and world-readable: refused with the chmod, the endpoint never asked.
    let file = dir.path().join("refresh-token");
    std::fs::write(&file, "rt-old-1\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let s = stand_in(file.clone()).await;
    let out = plan_with_refresh(dir.path(), &s, &file, None).await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("mode 0644"), "{err}");
    assert!(
        err.contains(&format!("run `chmod 600 {}`", file.display())),
        "{err}"
    );
    assert!(!err.contains("rt-old-1"), "{err}");
    assert_eq!(*s.token_requests.lock().unwrap(), 0);

    // Where the new token cannot be written (its directory is a file; root cannot
    // write there either), the refresh is not asked for: the old token stays valid.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let out = plan_with_refresh(dir.path(), &s, &blocker.join("token"), Some("rt-env-1")).await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("cannot take a new token"), "{err}");
    assert!(
        err.contains("nothing was asked of the token endpoint"),
        "{err}"
    );
    assert_eq!(*s.token_requests.lock().unwrap(), 0);
}

#[cfg(unix)]
#[test]
fn login_refuses_an_open_token_file_before_the_browser() {
    // The login's own check refuses an open token file before the browser is involved.
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rt");
    std::fs::write(&file, "old").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = dimctl()
        .args([
            "auth",
            "login",
            "--client-id",
            "cid",
            "--listen",
            "127.0.0.1:0",
            "--refresh-token-file",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("mode 0640") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(!err.contains("Open this URL"), "{err}");
}
