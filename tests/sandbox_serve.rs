//! `sandbox serve` on the wire: the envelope, Location on create, the error bodies, 402
//! echo, stats, connections really dropped, the fault file, and a clean SIGTERM that
//! leaves the state saved.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::SandboxServer;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test(flavor = "multi_thread")]
async fn wire_format_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let s = SandboxServer::start(&dir.path().join("s.json"), &[]);
    let c = client();
    let url = format!("{}/customers", s.base_url);

    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], 401);
    assert_eq!(body["status"], "error");
    assert!(body["timestamp"].is_string() && body["message"].is_string());

    let create = json!({"name": "Wire", "reference": "W-1"});
    let r = c
        .post(&url)
        .bearer_auth("t")
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        create,
        "402 echoes the request"
    );

    let r = c
        .post(&url)
        .bearer_auth("t")
        .header("accept-charges", "true")
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    let id = body["data"]["id"].as_str().unwrap().to_string();
    assert!(location.ends_with(&format!("/api/v1.0/customers/{id}")));
    assert_eq!(body["status"], "success");

    let r = c
        .patch(&location)
        .bearer_auth("t")
        .json(&json!([{"op": "replace", "path": "/enabled", "value": true}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert!(body.get("data").is_none() && body["status"] == "success");

    let r = c
        .get(format!("{url}?pageIndex=0&pageSize=1&filter=w-1"))
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["page_size"].clone(), body["page_index"].clone()),
        (json!(1), json!(0))
    );
    assert_eq!(body["data"][0]["enabled"], true);

    let r = c
        .get(format!("{url}?pageSize=abc"))
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["message"],
        "The value 'abc' is not valid."
    );

    let r = c
        .get(format!("{url}/nope"))
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["message"], "Not Found");

    let stats: Value = c
        .get(s.base_url.replace("/api/v1.0", "/_sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"], 7);
    assert_eq!(
        stats["byMethod"],
        json!({"GET": 4, "POST": 2, "PATCH": 1, "DELETE": 0})
    );
    assert_eq!(stats["writes"], 2);
    assert_eq!(stats["customers"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn dropped_connections_get_no_answer_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let s = SandboxServer::start(&dir.path().join("s.json"), &["--drop-rate", "1"]);
    let e = client()
        .get(format!("{}/customers", s.base_url))
        .bearer_auth("t")
        .send()
        .await
        .unwrap_err();
    assert!(!e.is_status() && e.status().is_none(), "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn fault_file_and_trial_permission() {
    let dir = tempfile::tempdir().unwrap();
    let faults = dir.path().join("faults.yaml");
    std::fs::write(
        &faults,
        "noTrialPermission: true\nerrorRate: 1.0\nseed: 4\n",
    )
    .unwrap();
    let s = SandboxServer::start(
        &dir.path().join("s.json"),
        &["--faults", faults.to_str().unwrap(), "--error-rate", "0"],
    );
    let r = client()
        .post(format!("{}/customers", s.base_url))
        .bearer_auth("t")
        .header("accept-charges", "true")
        .json(&json!({"name": "Trial", "trialDuration": 14}))
        .send()
        .await
        .unwrap();
    // the flag (--error-rate 0) wins over the file; the file's noTrialPermission holds
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_saves_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let mut child = support::dimctl()
        .args(["sandbox", "serve", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let r = client()
        .post(format!("{base}/customers"))
        .bearer_auth("t")
        .header("accept-charges", "true")
        .json(&json!({"name": "Kept"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["customers"].as_object().unwrap().len(), 1);
}
