//! One conformance suite, run against the in-process sandbox and against the HTTP client
//! talking to `sandbox serve` on 127.0.0.1 port 0. Every case builds its own target.

mod support;

use std::path::Path;

use clap::Parser;
use dimctl::api::auth::{Credentials, RefreshConfig};
use dimctl::api::http::{HttpApi, HttpConfig};
use dimctl::api::{Api, ApiError, PatchOperation, WriteOptions};
use dimctl::sandbox::InProcess;
use dimctl::sandbox::faults::FaultConfig;
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use support::SandboxServer;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    InProcess,
    Http,
}

#[derive(Parser)]
struct FaultFlags {
    #[command(flatten)]
    config: FaultConfig,
}

struct Target {
    api: Box<dyn Api>,
    server: Option<SandboxServer>,
    dir: tempfile::TempDir,
}

impl Target {
    async fn stats(&self) -> Value {
        let server = self.server.as_ref().expect("stats need sandbox serve");
        let url = server.base_url.replace("/api/v1.0", "/_sandbox/stats");
        reqwest::get(&url).await.unwrap().json().await.unwrap()
    }
}

fn seed(state: &Path, n: usize) {
    if n == 0 {
        return;
    }
    let status = support::dimctl()
        .args(["sandbox", "seed", "--customers", &n.to_string(), "--state"])
        .arg(state)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

fn target(kind: Kind, customers: usize, faults: &[&str]) -> Target {
    target_with(kind, customers, faults, |_| {
        Credentials::Static(SecretString::from("conformance-token"))
    })
}

fn target_with(
    kind: Kind,
    customers: usize,
    faults: &[&str],
    creds: impl FnOnce(&str) -> Credentials,
) -> Target {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sandbox.json");
    seed(&state, customers);
    match kind {
        Kind::InProcess => {
            let flags = FaultFlags::parse_from(std::iter::once("x").chain(faults.iter().copied()));
            let api = InProcess::with_faults(&state, flags.config).unwrap();
            Target {
                api: Box::new(api),
                server: None,
                dir,
            }
        }
        Kind::Http => {
            let server = SandboxServer::start(&state, faults);
            let token_url = server.base_url.replace("/api/v1.0", "/connect/token");
            let mut config = HttpConfig::new(server.base_url.clone());
            config.retry.base = std::time::Duration::from_millis(20);
            let api = HttpApi::new(config, creds(&token_url)).unwrap();
            Target {
                api: Box::new(api),
                server: Some(server),
                dir,
            }
        }
    }
}

const CHARGES: WriteOptions = WriteOptions {
    accept_charges: true,
};

fn body(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn ops(v: Value) -> Vec<PatchOperation> {
    serde_json::from_value(v).unwrap()
}

async fn paging_over_2500(kind: Kind) {
    let t = target(kind, 2500, &[]);
    let all = t.api.list_customers(None).await.unwrap();
    assert_eq!(all.len(), 2500);
    let mut ids: Vec<_> = all.iter().map(|c| c.id.clone()).collect();
    let again: Vec<_> = t
        .api
        .list_customers(None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, again, "stable order");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2500);
    // creation order: the seeder numbers its references
    let refs: Vec<_> = all
        .iter()
        .filter_map(|c| c.reference().map(str::to_string))
        .collect();
    let mut sorted = refs.clone();
    sorted.sort();
    assert_eq!(refs, sorted);
}

async fn filter_contains(kind: Kind) {
    let t = target(kind, 300, &[]);
    let hits = t.api.list_customers(Some("cust-00001")).await.unwrap();
    assert!(!hits.is_empty() && hits.len() < 300, "{}", hits.len());
    for c in &hits {
        let r = c.reference().unwrap_or("").to_lowercase();
        let n = c.name().unwrap_or("").to_lowercase();
        assert!(r.contains("cust-00001") || n.contains("cust-00001"));
    }
    let upper = t.api.list_customers(Some("CUST-00001")).await.unwrap();
    assert_eq!(hits, upper);
    let by_name = t.api.list_customers(Some("ACME")).await.unwrap();
    assert!(by_name.iter().all(|c| c.name().unwrap().contains("Acme")));
    assert!(
        t.api
            .list_customers(Some("no such thing"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn create_get_patch_delete(kind: Kind) {
    let t = target(kind, 3, &[]);
    let created = t
        .api
        .create_customer(
            &body(json!({"name": "Conformance Ltd", "reference": "CONF-1", "countryCode": "DE",
                "pbxConnectionProfiles": [{"_type": "KazooPbxConnectionProfile", "name": "main", "apiKey": "pbx-secret-value"}]})),
            CHARGES,
        )
        .await
        .unwrap();
    let id = created.id.clone();
    assert!(!created.fields().contains_key("apiKey"));
    let got = t.api.get_customer(&id).await.unwrap();
    assert_eq!(got.name(), Some("Conformance Ltd"));
    assert_eq!(got.get("countryCode"), Some(json!("DE")));
    assert_eq!(
        got.get("timezone"),
        Some(json!("Europe/London")),
        "inherited"
    );
    assert!(got.get("dateCreated").is_some() && got.get("parentTenantId").is_some());
    assert!(
        !serde_json::to_string(&got.fields())
            .unwrap()
            .contains("pbx-secret-value")
    );
    t.api
        .patch_customer(
            &id,
            &ops(json!([{"op": "replace", "path": "/enabled", "value": true},
                        {"op": "replace", "path": "/name", "value": "Renamed"}])),
            WriteOptions::default(),
        )
        .await
        .unwrap();
    let got = t.api.get_customer(&id).await.unwrap();
    assert_eq!(got.get("enabled"), Some(json!(true)));
    assert_eq!(got.name(), Some("Renamed"));
    let unknown = t
        .api
        .patch_customer(
            &id,
            &ops(json!([{"op": "replace", "path": "/colour", "value": 1}])),
            CHARGES,
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.status(), Some(400));
    t.api.delete_customer(&id).await.unwrap();
    assert!(matches!(
        t.api.get_customer(&id).await,
        Err(ApiError::NotFound { .. })
    ));
    assert!(matches!(
        t.api.delete_customer(&id).await,
        Err(ApiError::NotFound { .. })
    ));
    let all = t.api.list_customers(None).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|c| c.id != id));
}

async fn create_only_refusal(kind: Kind) {
    let t = target(kind, 1, &[]);
    let id = t.api.list_customers(None).await.unwrap()[0].id.clone();
    let before = t.api.get_customer(&id).await.unwrap();
    for field in ["trialDuration", "syncAcdAgentWithPbx", "tenantProfileType"] {
        let e = t
            .api
            .patch_customer(
                &id,
                &ops(json!([{"op": "replace", "path": format!("/{field}"), "value": 5}])),
                CHARGES,
            )
            .await
            .unwrap_err();
        match e {
            ApiError::Status {
                status: 400,
                message,
                ..
            } => assert_eq!(
                message,
                format!("The target location specified by path segment '{field}' was not found.")
            ),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(t.api.get_customer(&id).await.unwrap(), before);
}

async fn charges_need_the_header(kind: Kind) {
    let t = target(kind, 0, &[]);
    let e = t
        .api
        .create_customer(&body(json!({"name": "Billable"})), WriteOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::ChargesRequired { .. }), "{e:?}");
    assert!(e.to_string().contains("--accept-charges"));
    assert!(
        t.api.list_customers(None).await.unwrap().is_empty(),
        "not actioned"
    );
    let c = t
        .api
        .create_customer(&body(json!({"name": "Billable"})), CHARGES)
        .await
        .unwrap();
    let raise = ops(json!([{"op": "replace", "path": "/features/agent", "value": 9}]));
    let e = t
        .api
        .patch_customer(&c.id, &raise, WriteOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::ChargesRequired { .. }));
    t.api.patch_customer(&c.id, &raise, CHARGES).await.unwrap();
    assert_eq!(
        t.api.get_customer(&c.id).await.unwrap().get("features"),
        Some(json!({"agent": 9, "device": 0}))
    );
}

async fn commit_then_drop_is_ambiguous(kind: Kind) {
    let t = target(kind, 0, &["--commit-then-drop-post", "1.0"]);
    let e = t
        .api
        .create_customer(
            &body(json!({"name": "Lost answer", "reference": "LOST-1"})),
            CHARGES,
        )
        .await
        .unwrap_err();
    assert!(e.is_ambiguous(), "{e:?}");
    let found = t.api.list_customers(Some("LOST-1")).await.unwrap();
    assert_eq!(
        found.len(),
        1,
        "committed exactly once, never retried blindly"
    );
}

async fn trial_permission(kind: Kind) {
    let t = target(kind, 0, &["--no-trial-permission"]);
    let e = t
        .api
        .create_customer(
            &body(json!({"name": "Trial", "trialDuration": 30})),
            CHARGES,
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));
}

async fn omitted_fields(kind: Kind) {
    let t = target(kind, 2, &["--omit-fields", "timezone,features"]);
    for c in t.api.list_customers(None).await.unwrap() {
        assert!(c.get("timezone").is_none() && c.get("features").is_none());
        assert!(c.name().is_some());
    }
}

macro_rules! both {
    ($($case:ident),* $(,)?) => {
        mod in_process { $( #[tokio::test(flavor = "multi_thread")] async fn $case() { super::$case(super::Kind::InProcess).await } )* }
        mod http { $( #[tokio::test(flavor = "multi_thread")] async fn $case() { super::$case(super::Kind::Http).await } )* }
    };
}

both!(
    paging_over_2500,
    filter_contains,
    create_get_patch_delete,
    create_only_refusal,
    charges_need_the_header,
    commit_then_drop_is_ambiguous,
    trial_permission,
    omitted_fields,
);

// Transport-level cases: only the HTTP path has tokens, rate limits and connections.

#[tokio::test(flavor = "multi_thread")]
async fn http_401_without_a_token() {
    let t = target_with(Kind::Http, 1, &[], |_| Credentials::None);
    let e = t.api.list_customers(None).await.unwrap_err();
    assert!(matches!(e, ApiError::Unauthorized { .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_401_then_refresh_and_rotation_saved() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rt");
    let file2 = file.clone();
    let t = target_with(
        Kind::Http,
        5,
        &["--token", "only-this", "--token-lifetime-requests", "3"],
        move |token_url| {
            Credentials::Refresh(RefreshConfig {
                client_id: "cid".into(),
                client_secret: SecretString::from("client-secret"),
                refresh_token: SecretString::from("first-refresh"),
                token_url: token_url.into(),
                refresh_token_file: Some(file2),
            })
        },
    );
    let ids: Vec<_> = t
        .api
        .list_customers(None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    for id in ids.iter().chain(ids.iter()) {
        t.api.get_customer(id).await.unwrap();
    }
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.starts_with("sbx-rt-"), "rotated token saved");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // 14 successful requests with a 3-use token lifetime: some were refused with 401
    let stats = t.stats().await;
    assert!(stats["requests"].as_u64().unwrap() > 14, "{stats}");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_static_token_refused_after_its_lifetime() {
    // A listing is 2 requests (the page and the empty page that ends it).
    let t = target(Kind::Http, 1, &["--token-lifetime-requests", "2"]);
    let id = t.api.list_customers(None).await.unwrap()[0].id.clone();
    let e = t.api.get_customer(&id).await.unwrap_err();
    assert!(matches!(e, ApiError::Unauthorized { .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_429_retry_after_is_honoured() {
    let t = target(Kind::Http, 3, &["--rate-limit", "2"]);
    let all = t.api.list_customers(None).await.unwrap();
    for c in &all {
        t.api.get_customer(&c.id).await.unwrap();
    }
    let stats = t.stats().await;
    // 2 list pages + 3 gets succeeded; the rest were 429s that the client waited out
    assert!(stats["requests"].as_u64().unwrap() > 5, "{stats}");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_dropped_connections_are_retried_for_reads() {
    let t = target(Kind::Http, 50, &["--drop-rate", "0.3", "--seed", "7"]);
    let all = t.api.list_customers(None).await.unwrap();
    assert_eq!(all.len(), 50);
    for c in all.iter().take(10) {
        t.api.get_customer(&c.id).await.unwrap();
    }
    let stats = t.stats().await;
    assert!(stats["requests"].as_u64().unwrap() > 14, "{stats}");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_reads_are_asked_again_after_500_and_503() {
    // A third of all answers are 500 or 503 (not actioned): reads still succeed.
    let t = target(Kind::Http, 30, &["--error-rate", "0.33", "--seed", "11"]);
    let all = t.api.list_customers(None).await.unwrap();
    assert_eq!(all.len(), 30);
    for c in all.iter().take(15) {
        t.api.get_customer(&c.id).await.unwrap();
    }
    let stats = t.stats().await;
    assert!(
        stats["requests"].as_u64().unwrap() > 16,
        "some were refused: {stats}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn http_commit_then_drop_patch_is_retried_and_idempotent() {
    let t = target(
        Kind::Http,
        1,
        &["--commit-then-drop-patch", "0.5", "--seed", "3"],
    );
    let id = t.api.list_customers(None).await.unwrap()[0].id.clone();
    for i in 0..4 {
        let name = format!("Patched {i}");
        let _ = t
            .api
            .patch_customer(
                &id,
                &ops(json!([{"op": "replace", "path": "/name", "value": name}])),
                CHARGES,
            )
            .await;
        assert_eq!(
            t.api.get_customer(&id).await.unwrap().name(),
            Some(name.as_str())
        );
    }
    let _ = &t.dir;
}

#[tokio::test(flavor = "multi_thread")]
async fn http_a_patch_that_appends_is_never_resent_blindly() {
    // Every PATCH commits and then loses its answer. A replace may be re-sent; an operation
    // that is not idempotent (an array append, a remove) re-sent would do it twice (or fail
    // on the second try), so the client reports it as ambiguous after one send and leaves
    // the decision to the caller (the executor reads back). A customer's PBX profiles are
    // not patchable (they are their own resource), so a remove stands in for the append.
    let t = target(Kind::Http, 0, &["--commit-then-drop-patch", "1.0"]);
    let id = t
        .api
        .create_customer(
            &body(json!({"name": "Appends", "reference": "APPEND-1", "description": "once"})),
            CHARGES,
        )
        .await
        .unwrap()
        .id;
    let before = t.stats().await["requests"].as_u64().unwrap();
    let e = t
        .api
        .patch_customer(
            &id,
            &ops(json!([{"op": "remove", "path": "/description"}])),
            CHARGES,
        )
        .await
        .unwrap_err();
    assert!(e.is_ambiguous(), "{e:?}");
    let after = t.stats().await["requests"].as_u64().unwrap();
    assert_eq!(after - before, 1, "one PATCH, never a re-send");
    let live = t.api.get_customer(&id).await.unwrap();
    assert!(live.get("description").is_none(), "{live:?}");
    let _ = &t.dir;
}
