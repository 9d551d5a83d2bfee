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
