//! `dimctl auth refresh` against a token endpoint stand-in on 127.0.0.1: a rotated refresh
//! token is saved (0600) before the command reports, only non-secret facts are printed,
//! and every error (nothing configured, a token file open to others, a refusing endpoint
//! that echoes the form it received) exits 1 with a message naming the fix and no secret.

mod support;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

const OLD: &str = "rt-SECRET-old-1111";
const NEW: &str = "rt-SECRET-new-2222";
const ACCESS: &str = "at-SECRET-access-3333";
const CLIENT_SECRET: &str = "cs-SECRET-client-4444";
const BAD: &str = "rt-SECRET-revoked-5555";
const SECRETS: &[&str] = &[OLD, NEW, ACCESS, CLIENT_SECRET, BAD];

/// The token endpoint: `OLD` is exchanged for `ACCESS` and rotated to `NEW`; anything
/// else is refused with an `error` that echoes the whole form. Counts the requests.
fn token_endpoint() -> (String, Arc<Mutex<usize>>) {
    let hits = Arc::new(Mutex::new(0usize));
    let state = hits.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new()
                .route("/connect/token", axum::routing::post(token))
                .with_state(state);
            axum::serve(listener, app).await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    (format!("http://{addr}/connect/token"), hits)
}

async fn token(
    State(hits): State<Arc<Mutex<usize>>>,
    Form(form): Form<HashMap<String, String>>,
) -> axum::response::Response {
    *hits.lock().unwrap() += 1;
    let ok = form.get("grant_type").map(String::as_str) == Some("refresh_token")
        && form.get("refresh_token").map(String::as_str) == Some(OLD)
        && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
    if ok {
        axum::Json(json!({"access_token": ACCESS, "refresh_token": NEW, "token_type": "Bearer", "expires_in": 3600})).into_response()
    } else {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": format!("invalid_grant: {form:?}")})),
        )
            .into_response()
    }
}

fn refresh(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = support::dimctl();
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .args(["-vvv", "auth", "refresh"])
        .args(args);
    cmd.output().unwrap()
}

fn texts(out: &Output) -> (String, String) {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    for s in SECRETS {
        assert!(
            !stdout.contains(s) && !stderr.contains(s),
            "{s} leaked:\n{stdout}\n{stderr}"
        );
    }
    (stdout, stderr)
}

fn token_file(dir: &Path, content: &str, mode: u32) -> std::path::PathBuf {
    let file = dir.join("refresh-token");
    std::fs::write(&file, content).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
    file
}

#[test]
fn a_rotated_refresh_token_is_saved_and_only_facts_are_printed() {
    let (url, hits) = token_endpoint();
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(dir.path(), &format!("{OLD}\n"), 0o600);
    let out = refresh(
        dir.path(),
        &[
            ("DIMCTL_CLIENT_ID", "dimctl-test"),
            ("DIMCTL_CLIENT_SECRET", CLIENT_SECRET),
            ("DIMCTL_TOKEN_URL", &url),
        ],
        &["--refresh-token-file", file.to_str().unwrap()],
    );
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        stdout,
        format!(
            "token refreshed; access token valid for 3600 s; refresh token rotated and saved to {}\n",
            file.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), NEW);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(*hits.lock().unwrap(), 1);

    // The same token from the environment, with nowhere to save a rotation: refreshed,
    // and the output says the new token was not kept.
    let out = refresh(
        dir.path(),
        &[
            ("DIMCTL_CLIENT_ID", "dimctl-test"),
            ("DIMCTL_CLIENT_SECRET", CLIENT_SECRET),
            ("DIMCTL_REFRESH_TOKEN", OLD),
        ],
        &["--token-url", &url],
    );
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("refresh token rotated but NOT saved"),
        "{stdout}"
    );
}

#[test]
fn nothing_configured_exits_1_naming_what_to_set() {
    let (url, hits) = token_endpoint();
    let dir = tempfile::tempdir().unwrap();
    let out = refresh(dir.path(), &[("DIMCTL_TOKEN_URL", &url)], &[]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for var in [
        "DIMCTL_CLIENT_ID",
        "DIMCTL_CLIENT_SECRET",
        "DIMCTL_REFRESH_TOKEN",
        "--refresh-token-file",
    ] {
        assert!(stderr.contains(var), "{var}: {stderr}");
    }
    assert!(stdout.is_empty(), "{stdout}");

    // A token file that does not exist: the message names it.
    let missing = dir.path().join("nope");
    let out = refresh(
        dir.path(),
        &[
            ("DIMCTL_CLIENT_ID", "dimctl-test"),
            ("DIMCTL_CLIENT_SECRET", CLIENT_SECRET),
            ("DIMCTL_TOKEN_URL", &url),
        ],
        &["--refresh-token-file", missing.to_str().unwrap()],
    );
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&missing.display().to_string()) && stderr.contains("dimctl auth login"),
        "{stderr}"
    );

    // A token file open to others is refused with the chmod to run.
    let file = token_file(dir.path(), OLD, 0o644);
    let out = refresh(
        dir.path(),
        &[
            ("DIMCTL_CLIENT_ID", "dimctl-test"),
            ("DIMCTL_CLIENT_SECRET", CLIENT_SECRET),
            ("DIMCTL_TOKEN_URL", &url),
        ],
        &["--refresh-token-file", file.to_str().unwrap()],
    );
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
    assert_eq!(*hits.lock().unwrap(), 0, "the endpoint was never asked");
}

#[test]
fn a_refusing_token_endpoint_exits_1_with_its_echo_masked() {
    let (url, hits) = token_endpoint();
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(dir.path(), BAD, 0o600);
    let out = refresh(
        dir.path(),
        &[
            ("DIMCTL_CLIENT_ID", "dimctl-test"),
            ("DIMCTL_CLIENT_SECRET", CLIENT_SECRET),
            ("DIMCTL_TOKEN_URL", &url),
        ],
        &["--refresh-token-file", file.to_str().unwrap()],
    );
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the token endpoint refused the request (invalid_grant"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(*hits.lock().unwrap(), 1, "the endpoint did see the request");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        BAD,
        "file untouched"
    );
}
