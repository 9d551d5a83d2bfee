//! The vendor's PBX connection-profile bodies (`tests/fixtures/vendor/pbx*`, copied from
//! `shared/vendor-examples`) as fixtures: the HTTP client parses them verbatim from a stub
//! that serves them byte for byte, and `sandbox serve` answers in the same shape (the same
//! keys: Get and Get All only `id`, `name`, `_type`, `tenantId`; Create echoes the body plus
//! `id`, `tenantId`, `countryCode`, `enabled`), takes the vendor's `"true"` string for
//! `/enabled`, answers the instance check across customers and counts collector restarts.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use dimctl::api::auth::Credentials;
use dimctl::api::http::{HttpApi, HttpConfig};
use dimctl::api::{Api, Collection, CreateAnswer, PatchOperation, WriteOptions};
use dimctl::model::Kind;
use secrecy::SecretString;
use serde_json::{Value, json};
use support::SandboxServer;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vendor")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

fn raw(status: StatusCode, name: &'static str) -> axum::response::Response {
    (
        status,
        [("content-type", "application/json")],
        fixture(name),
    )
        .into_response()
}

const ACCEPT: WriteOptions = WriteOptions {
    accept_charges: true,
};

#[tokio::test(flavor = "multi_thread")]
async fn the_http_client_reads_the_vendor_pbx_bodies_verbatim() {
    let app = axum::Router::new()
        .route(
            "/api/v1.0/customers/C1/pbxs",
            get(
                |q: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                    match q.get("pageIndex").map(String::as_str) {
                        None | Some("0") => raw(StatusCode::OK, "pbxs-get-all.response.json"),
                        Some(_) => (
                            StatusCode::OK,
                            [("content-type", "application/json")],
                            r#"{"page_size": 1000, "data": [], "status": "success"}"#,
                        )
                            .into_response(),
                    }
                },
            )
            .post(|| async { raw(StatusCode::CREATED, "pbxs-create-kazoo.response.json") }),
        )
        .route(
            "/api/v1.0/customers/C1/pbxs/P1",
            get(|| async { raw(StatusCode::OK, "pbxs-get.response.json") }).patch(|| async {
                (
                    StatusCode::OK,
                    [("content-type", "application/json")],
                    r#"{"status": "success", "timestamp": "2019-01-01T10:00:00Z"}"#,
                )
                    .into_response()
            }),
        )
        .route(
            "/api/v1.0/pbxs",
            get(
                |q: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                    match q.get("instanceId").map(String::as_str) {
                        Some("used") => raw(StatusCode::OK, "pbx-instance-exists.response.json"),
                        _ => raw(StatusCode::OK, "pbx-instance-free.response.json"),
                    }
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let api = HttpApi::new(
        HttpConfig::new(format!("http://{addr}/api/v1.0")),
        Credentials::Static(SecretString::from("t")),
    )
    .unwrap();
    let pbxs = Collection::new(Kind::PbxConnection, Some("C1"));

    let all = api.list(pbxs, None).await.unwrap();
    let names: Vec<_> = all.iter().map(|p| p.fields["name"].clone()).collect();
    assert_eq!(names, [json!("Pbx 1"), json!("Pbx 2")]);
    assert_eq!(all[0].id, "{PBX_ID_1}");
    assert_eq!(all[0].kind, Kind::PbxConnection);

    let one = api.get(pbxs, "P1").await.unwrap();
    assert_eq!(one.fields["tenantId"], "{CUSTOMER_TENANT_ID}");

    let Value::Object(body) = fixture_json("pbxs-create-kazoo.request.json") else {
        panic!("the create request is an object");
    };
    let created = api.create(pbxs, &body, ACCEPT).await.unwrap();
    let CreateAnswer::Object(created) = created else {
        panic!("the answer carries the whole profile: {created:?}");
    };
    assert_eq!(created.id, "{PBX_ID}");
    // The vendor's answer echoes the API key: the client keeps none of it.
    assert!(
        !created.fields.contains_key("apiKey"),
        "{:?}",
        created.fields
    );
    assert!(
        !format!("{created:?}").contains("ABCDEF"),
        "echoed secret dropped"
    );
    assert_eq!(created.fields["enabled"], false);

    let ops: Vec<PatchOperation> =
        serde_json::from_slice(&fixture("pbxs-patch-name.request.json")).unwrap();
    api.patch(pbxs, "P1", &ops, ACCEPT).await.unwrap();

    let used = api.pbx_instance("used").await.unwrap().expect("attached");
    assert_eq!(used.profile_id.as_deref(), Some("{PBX_ID}"));
    assert_eq!(used.tenant_id.as_deref(), Some("{CUSTOMER_TENANT_ID}"));
    assert_eq!(api.pbx_instance("free").await.unwrap(), None);
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = client
        .request(method, url)
        .bearer_auth("pbx-fixture-token")
        .header("accept-charges", "true");
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn sandbox_serve_answers_in_the_vendors_shape() {
    let dir = tempfile::tempdir().unwrap();
    let server = SandboxServer::start(&dir.path().join("state.json"), &[]);
    let base = server.base_url.clone();
    let root = base.trim_end_matches("/api/v1.0").to_string();
    let client = reqwest::Client::new();
    use reqwest::Method;

    // A customer created with one profile (the schema's array spelling) and one without.
    let (s, c) = call(
        &client,
        Method::POST,
        format!("{base}/customers"),
        Some(
            json!({"name": "Fixture A", "reference": "FIX-A", "countryCode": "US",
            "pbxConnectionProfiles": [{"_type": "TeamsConnectionProfile", "name": "teams",
                "microsoftTenantId": "ms-tenant-1"}]}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    let a = c["data"]["id"].as_str().unwrap().to_string();
    let (s, c) = call(
        &client,
        Method::POST,
        format!("{base}/customers"),
        Some(json!({"name": "Fixture B", "reference": "FIX-B", "countryCode": "US"})),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    let b = c["data"]["id"].as_str().unwrap().to_string();

    // A customer's GET carries no profiles.
    let (_, got) = call(&client, Method::GET, format!("{base}/customers/{a}"), None).await;
    assert!(got["data"].get("pbxConnectionProfiles").is_none(), "{got}");

    // Create: the vendor's request, answered with the vendor's keys.
    let (s, created) = call(
        &client,
        Method::POST,
        format!("{base}/customers/{b}/pbxs"),
        Some(fixture_json("pbxs-create-kazoo.request.json")),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let vendor = fixture_json("pbxs-create-kazoo.response.json");
    assert_eq!(keys(&created["data"]), keys(&vendor["data"]));
    assert_eq!(
        created["data"]["countryCode"], "US",
        "the customer's country"
    );
    assert_eq!(created["data"]["enabled"], false);
    assert_eq!(created["data"]["tenantId"], b.as_str());
    let p = created["data"]["id"].as_str().unwrap().to_string();

    // Get All and Get: only the four documented keys.
    let (_, all) = call(
        &client,
        Method::GET,
        format!("{base}/customers/{b}/pbxs"),
        None,
    )
    .await;
    let want = keys(&fixture_json("pbxs-get-all.response.json")["data"][0]);
    let items = all["data"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{all}");
    assert_eq!(keys(&items[0]), want);
    assert!(all.get("page_size").is_some());
    let (_, one) = call(
        &client,
        Method::GET,
        format!("{base}/customers/{b}/pbxs/{p}"),
        None,
    )
    .await;
    assert_eq!(
        keys(&one["data"]),
        keys(&fixture_json("pbxs-get.response.json")["data"])
    );
    assert!(
        !one.to_string().contains("ABCDEF"),
        "the secret is write-only"
    );
    // The profile created inside customer A's body is its own resource.
    let (_, a_pbxs) = call(
        &client,
        Method::GET,
        format!("{base}/customers/{a}/pbxs"),
        None,
    )
    .await;
    assert_eq!(a_pbxs["data"][0]["name"], "teams", "{a_pbxs}");

    // Patch: the vendor's "true" string for /enabled, and a rename; each restarts the
    // collector once. `_type` cannot be patched.
    for body in [
        "pbxs-patch-enable.request.json",
        "pbxs-patch-name.request.json",
    ] {
        let (s, r) = call(
            &client,
            Method::PATCH,
            format!("{base}/customers/{b}/pbxs/{p}"),
            Some(fixture_json(body)),
        )
        .await;
        assert_eq!(s, 200, "{body}: {r}");
        assert!(r.get("data").is_none_or(Value::is_null), "{r}");
    }
    let (s, _) = call(
        &client,
        Method::PATCH,
        format!("{base}/customers/{b}/pbxs/{p}"),
        Some(json!([{"op": "replace", "path": "/_type", "value": "TeamsConnectionProfile"}])),
    )
    .await;
    assert_eq!(s, 400);
    let (_, one) = call(
        &client,
        Method::GET,
        format!("{base}/customers/{b}/pbxs/{p}"),
        None,
    )
    .await;
    assert_eq!(one["data"]["name"], "My New Name");
    let stats: Value = client
        .get(format!("{root}/_sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["collectorRestarts"][&p], 2, "{stats}");

    // The instance check, across customers, in the vendor's shape.
    let (_, used) = call(
        &client,
        Method::GET,
        format!("{base}/pbxs?instanceId=12345"),
        None,
    )
    .await;
    assert_eq!(
        keys(&used["data"]),
        keys(&fixture_json("pbx-instance-exists.response.json")["data"])
    );
    assert_eq!(used["data"]["tenantId"], b.as_str());
    assert_eq!(used["data"]["id"], p.as_str());
    let (_, teams) = call(
        &client,
        Method::GET,
        format!("{base}/pbxs?instanceId=ms-tenant-1"),
        None,
    )
    .await;
    assert_eq!(teams["data"]["tenantId"], a.as_str());
    let (_, free) = call(
        &client,
        Method::GET,
        format!("{base}/pbxs?instanceId=nobody"),
        None,
    )
    .await;
    assert_eq!(
        keys(&free["data"]),
        keys(&fixture_json("pbx-instance-free.response.json")["data"])
    );
    assert_eq!(free["data"]["exists"], false);

    // Delete: gone from Get All, Get answers 404.
    let (s, _) = call(
        &client,
        Method::DELETE,
        format!("{base}/customers/{b}/pbxs/{p}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call(
        &client,
        Method::GET,
        format!("{base}/customers/{b}/pbxs/{p}"),
        None,
    )
    .await;
    assert_eq!(s, 404);
    // A profile under the wrong customer is not found.
    let (s, _) = call(
        &client,
        Method::GET,
        format!("{base}/customers/{a}/pbxs/{p}"),
        None,
    )
    .await;
    assert_eq!(s, 404);
}
