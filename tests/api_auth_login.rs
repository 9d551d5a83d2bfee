//! `dimctl auth login` end to end against `sandbox serve`'s token endpoint; the test
//! plays the browser by following the redirect with the code and the state.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use support::SandboxServer;

/// Start `auth login` and read stderr up to the authorize URL; returns the URL's query.
fn start_login(server: &SandboxServer, file: &std::path::Path) -> (Child, HashMap<String, String>) {
    let token_url = server.base_url.replace("/api/v1.0", "/connect/token");
    let mut child = support::dimctl()
        .args([
            "auth",
            "login",
            "--client-id",
            "cid",
            "--listen",
            "127.0.0.1:0",
            "--wait",
            "60",
        ])
        .args(["--token-url", &token_url, "--refresh-token-file"])
        .arg(file)
        .env("DIMCTL_CLIENT_SECRET", "login-client-secret-xyz")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let url = loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no authorize URL printed"
        );
        if let Some(pos) = line.find("https://login.xarios.cloud/connect/authorize?") {
            break reqwest::Url::parse(line[pos..].trim()).unwrap();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    (child, q)
}

#[tokio::test(flavor = "multi_thread")]
async fn login_exchanges_the_code_and_stores_the_refresh_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = SandboxServer::start(&dir.path().join("s.json"), &[]);
    let file = dir.path().join("cfg/refresh-token");
    let (child, q) = start_login(&server, &file);
    assert_eq!(q["client_id"], "cid");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "openid offline_access onboarding");
    assert!(q["redirect_uri"].starts_with("http://127.0.0.1:"));
    // the browser: a favicon request first, then the redirect
    let _ = reqwest::get(format!("{}/favicon.ico", q["redirect_uri"])).await;
    let page = reqwest::get(format!(
        "{}/?code=the-code&state={}",
        q["redirect_uri"], q["state"]
    ))
    .await
    .unwrap();
    assert!(page.status().is_success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = std::fs::read_to_string(&file).unwrap();
    assert!(token.starts_with("sbx-rt-"));
    assert!(stdout.contains("refresh token saved to"), "{stdout}");
    assert!(!stdout.contains(&token));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn login_refuses_a_redirect_with_the_wrong_state() {
    let dir = tempfile::tempdir().unwrap();
    let server = SandboxServer::start(&dir.path().join("s.json"), &[]);
    let file = dir.path().join("rt");
    let (child, q) = start_login(&server, &file);
    let _ = reqwest::get(format!("{}/?code=c&state=forged", q["redirect_uri"])).await;
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!file.exists());
}

/// Start `auth login` against a token endpoint at `token_url`.
/// Returns the child, the authorize URL's query and the rest of its stderr (when it ends).
fn start_login_at(
    token_url: &str,
    file: &std::path::Path,
) -> (
    Child,
    HashMap<String, String>,
    std::thread::JoinHandle<String>,
) {
    let mut child = support::dimctl()
        .args([
            "auth",
            "login",
            "--client-id",
            "cid",
            "--listen",
            "127.0.0.1:0",
        ])
        .args([
            "--wait",
            "60",
            "--token-url",
            token_url,
            "--refresh-token-file",
        ])
        .arg(file)
        .env_remove("DIMCTL_CLIENT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let url = loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no authorize URL printed"
        );
        if let Some(pos) = line.find("https://login.xarios.cloud/connect/authorize?") {
            break reqwest::Url::parse(line[pos..].trim()).unwrap();
        }
    };
    let rest = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    (child, q, rest)
}

#[tokio::test(flavor = "current_thread")]
async fn login_uses_pkce_s256_and_a_strong_state() {
    use base64::Engine as _;
    use sha2::Digest as _;
    // A token endpoint that records the form it receives.
    let forms: std::sync::Arc<std::sync::Mutex<Vec<HashMap<String, String>>>> = Default::default();
    let seen = forms.clone();
    let app = axum::Router::new().route(
        "/connect/token",
        axum::routing::post(move |axum::Form(f): axum::Form<HashMap<String, String>>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(f);
                axum::Json(
                    serde_json::json!({"access_token": "at-from-pkce", "refresh_token": "rt-from-pkce"}),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rt");
    let (child, q, rest) = start_login_at(&format!("http://{addr}/connect/token"), &file);
    assert_eq!(q["code_challenge_method"], "S256");
    // 32 random bytes, base64url: 43 characters of the URL-safe alphabet.
    let url_safe = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    assert_eq!(q["state"].len(), 43, "{}", q["state"]);
    assert!(url_safe(&q["state"]));
    assert_eq!(q["code_challenge"].len(), 43);
    let page = reqwest::get(format!(
        "{}/?code=the-code&state={}",
        q["redirect_uri"], q["state"]
    ))
    .await
    .unwrap();
    assert!(page.text().await.unwrap().contains("sign-in received"));
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", rest.join().unwrap());
    let forms = forms.lock().unwrap();
    let form = &forms[0];
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], "the-code");
    let verifier = &form["code_verifier"];
    assert!(verifier.len() >= 43 && url_safe(verifier), "{verifier}");
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    assert_eq!(
        challenge, q["code_challenge"],
        "S256(verifier) is the challenge"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "rt-from-pkce");
}

#[tokio::test(flavor = "current_thread")]
async fn a_forged_or_missing_state_is_an_error_on_the_page_and_in_the_terminal() {
    for query in ["code=c&state=forged", "code=c"] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rt");
        // Nothing listens on port 9: a token request would fail differently.
        let (child, q, rest) = start_login_at("http://127.0.0.1:9/connect/token", &file);
        let page = reqwest::get(format!("{}/?{query}", q["redirect_uri"]))
            .await
            .unwrap();
        assert_eq!(page.status().as_u16(), 400, "{query}");
        let body = page.text().await.unwrap();
        assert!(body.contains("rejected"), "{body}");
        assert!(!body.contains("sign-in received"), "{body}");
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{query}");
        let err = rest.join().unwrap();
        assert!(
            err.contains("the redirect's state is missing or does not match this login"),
            "{err}"
        );
        assert!(!file.exists());
    }
}
