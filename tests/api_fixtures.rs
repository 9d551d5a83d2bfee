//! The vendor's documented example bodies (reconstructed from the reference pages as
//! fixtures) parsed verbatim: by the envelope functions, and by the HTTP client talking
//! to a stub that serves the fixtures byte for byte.

use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use dimctl::api::auth::Credentials;
use dimctl::api::envelope::{self, Origin};
use dimctl::api::http::{HttpApi, HttpConfig};
use dimctl::api::{Api, ApiError, WriteOptions};
use secrecy::SecretString;
use serde_json::{Value, json};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/api")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const OK: Origin<'static> = Origin {
    method: "GET",
    path: "/customers",
    status: 200,
};

#[test]
fn envelope_list_and_error_bodies_parse() {
    let one = envelope::data(OK, &fixture("get_customer.json")).unwrap();
    assert_eq!(one["reference"], "CUST-A-001");
    let page = envelope::list(OK, &fixture("get_all_customers.json")).unwrap();
    assert_eq!(page.len(), 4);
    assert_eq!(page[1]["reference"], "");
    assert_eq!(
        envelope::data(OK, &fixture("patch_success.json")).unwrap(),
        Value::Null
    );
    let created = envelope::data(OK, &fixture("create_customer_response.json")).unwrap();
    assert_eq!(created["id"], "f7e8a5c6-1b2d-4e0f-9a4b-5c6d7e8f9012");

    let err = |status, name| {
        envelope::error(
            Origin {
                status,
                method: "PATCH",
                path: "/customers/x",
            },
            &fixture(name),
        )
    };
    assert_eq!(
        err(400, "error_400_value.json").to_string(),
        "PATCH /customers/x: 400: The value 'abc' is not valid."
    );
    match err(400, "error_400_path.json") {
        ApiError::Status { message, .. } => assert!(message.contains("path segment 'colour'")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        err(404, "error_404.json"),
        ApiError::NotFound { .. }
    ));
    assert!(matches!(
        err(402, "error_402_echo.json"),
        ApiError::ChargesRequired { .. }
    ));
    assert!(matches!(
        err(502, "proxy_502.html"),
        ApiError::Decode { status: 502, .. }
    ));
}

#[test]
fn the_sandbox_accepts_the_vendors_sloppy_create_example() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = dimctl::sandbox::Store::default();
    let body: Value = serde_json::from_slice(&fixture("create_customer_request.json")).unwrap();
    let c = store
        .create(
            &body,
            true,
            &mut || "new-id".to_string(),
            "2026-01-01T00:00:00Z",
        )
        .unwrap();
    assert_eq!(
        c["trialDuration"], 0,
        "lower-case, string-typed trialduration read"
    );
    assert_eq!(c["reference"], "CUST-E-005");
    dimctl::sandbox::persist::save(&dir.path().join("s.json"), &store).unwrap();
}

fn raw(status: StatusCode, name: &'static str) -> axum::response::Response {
    (
        status,
        [("content-type", "application/json")],
        fixture(name),
    )
        .into_response()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_http_client_reads_the_fixtures_verbatim() {
    let app = axum::Router::new()
        .route(
            "/api/v1.0/customers",
            // The fixture is page 0; later pages are empty (only an empty page ends a list).
            get(
                |q: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                    match q.get("pageIndex").map(String::as_str) {
                        None | Some("0") => raw(StatusCode::OK, "get_all_customers.json"),
                        Some(_) => (
                            StatusCode::OK,
                            [("content-type", "application/json")],
                            r#"{"page_size": 1000, "data": [], "status": "success"}"#,
                        )
                            .into_response(),
                    }
                },
            )
            .post(|| async { raw(StatusCode::CREATED, "create_customer_response.json") }),
        )
        .route(
            "/api/v1.0/customers/b3a4c1e2-7d8f-4a6b-9c0d-1e2f3a4b5c6d",
            get(|| async { raw(StatusCode::OK, "get_customer.json") })
                .patch(|| async { raw(StatusCode::OK, "patch_success.json") }),
        )
        .route(
            "/api/v1.0/customers/missing",
            get(|| async { raw(StatusCode::NOT_FOUND, "error_404.json") }),
        )
        .route(
            "/api/v1.0/customers/proxy",
            get(|| async { (StatusCode::BAD_REQUEST, fixture("proxy_502.html")).into_response() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let api = HttpApi::new(
        HttpConfig::new(format!("http://{addr}/api/v1.0")),
        Credentials::Static(SecretString::from("t")),
    )
    .unwrap();
    let all = api.list_customers(None).await.unwrap();
    assert_eq!(all.len(), 4);
    let one = api
        .get_customer("b3a4c1e2-7d8f-4a6b-9c0d-1e2f3a4b5c6d")
        .await
        .unwrap();
    assert_eq!(one.name(), Some("Customer A"));
    let ops: Vec<dimctl::api::PatchOperation> =
        serde_json::from_value(json!([{"op": "replace", "path": "/enabled", "value": false}]))
            .unwrap();
    api.patch_customer(&one.id, &ops, WriteOptions::default())
        .await
        .unwrap();
    let created = api
        .create_customer(
            &serde_json::from_slice(&fixture("create_customer_request.json")).unwrap(),
            WriteOptions {
                accept_charges: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(created.id, "f7e8a5c6-1b2d-4e0f-9a4b-5c6d7e8f9012");
    assert!(
        !serde_json::to_string(&created.fields())
            .unwrap()
            .contains("EXAMPLE-API-KEY"),
        "echoed secret dropped"
    );
    assert!(matches!(
        api.get_customer("missing").await,
        Err(ApiError::NotFound { .. })
    ));
    let e = api.get_customer("proxy").await.unwrap_err();
    assert!(matches!(e, ApiError::Decode { status: 400, .. }), "{e:?}");
    assert!(e.to_string().contains("HTML"), "{e}");
}
