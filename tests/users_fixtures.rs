//! The vendor's user bodies (`users-*` in the shared vendor examples, copied to
//! `tests/fixtures/api/users_*.json`): the HTTP client parses them served byte for byte by
//! a stand-in, and the sandbox answers the same requests in the same shape.

use std::collections::BTreeSet;
use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use dimctl::api::auth::Credentials;
use dimctl::api::http::{HttpApi, HttpConfig};
use dimctl::api::{Api, ApiError, Collection, CreateAnswer, PatchOperation, WriteOptions};
use dimctl::model::Kind;
use dimctl::sandbox::Store;
use dimctl::sandbox::faults::{FaultConfig, Faults};
use dimctl::sandbox::server::{Shared, router};
use secrecy::SecretString;
use serde_json::{Map, Value, json};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/api")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

fn raw(status: StatusCode, name: &'static str) -> axum::response::Response {
    (
        status,
        [("content-type", "application/json")],
        fixture(name),
    )
        .into_response()
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/api/v1.0")
}

fn client(base: String) -> HttpApi {
    HttpApi::new(
        HttpConfig::new(base),
        Credentials::Static(SecretString::from("t")),
    )
    .unwrap()
}

const CHARGES: WriteOptions = WriteOptions {
    accept_charges: true,
};

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_http_client_reads_the_vendors_user_bodies() {
    let app = axum::Router::new()
        .route(
            "/api/v1.0/customers/C/users",
            get(
                |q: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                    match q.get("pageIndex").map(String::as_str) {
                        None | Some("0") => raw(StatusCode::OK, "users_get_all.json"),
                        Some(_) => (
                            StatusCode::OK,
                            [("content-type", "application/json")],
                            r#"{"page_size": 2, "data": [], "status": "success"}"#,
                        )
                            .into_response(),
                    }
                },
            )
            .post(|| async { raw(StatusCode::CREATED, "users_create.json") }),
        )
        .route(
            "/api/v1.0/customers/C/users/U1",
            get(|| async { raw(StatusCode::OK, "users_get.json") }),
        )
        .route(
            "/api/v1.0/customers/C/users/U1/sendActivationEmail",
            post(|| async { raw(StatusCode::BAD_REQUEST, "users_activation_not_primary.json") }),
        )
        .route(
            "/api/v1.0/customers/C2/users/U1",
            get(|| async { raw(StatusCode::BAD_REQUEST, "users_activation_not_primary.json") }),
        );
    let api = client(serve(app).await);
    let users = Collection::new(Kind::User, Some("C"));
    let all = api.list(users, None).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].fields["email"], "user1@example.com");
    assert!(all.iter().all(|u| u.fields.get("roles").is_none()));
    let one = api.get(users, "U1").await.unwrap();
    assert_eq!(
        one.fields["roles"],
        json!(["customer.user", "customer.user.supervisorl3"])
    );
    let body: Map<String, Value> =
        serde_json::from_value(json_fixture("users_create_request.json")).unwrap();
    match api.create(users, &body, CHARGES).await.unwrap() {
        CreateAnswer::Object(o) => {
            assert_eq!(o.id, "{USER_ID}");
            assert_eq!(o.fields["primaryTenant"], "{CUSTOMER_TENANT_ID}");
        }
        other => panic!("{other:?}"),
    }
    // The one errorCode seen anywhere: its message reaches the caller.
    let e = api
        .get(Collection::new(Kind::User, Some("C2")), "U1")
        .await
        .unwrap_err();
    match e {
        ApiError::Status {
            status, message, ..
        } => {
            assert_eq!(status, 400);
            assert!(message.contains("not the primary tenant"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_answers_user_requests_in_the_vendors_shape() {
    let mut store = Store::default();
    let c = store
        .create(&json!({"name": "Acme"}), true, &mut || "C".into(), "t")
        .unwrap();
    assert_eq!(c["id"], "C");
    let shared = Shared::new(store, Faults::new(FaultConfig::default()));
    let base = serve(router(shared.clone())).await;
    let api = client(base.clone());
    let users = Collection::new(Kind::User, Some("C"));

    let body: Map<String, Value> =
        serde_json::from_value(json_fixture("users_create_request.json")).unwrap();
    // Roles are billable: without accept-charges the create is not actioned.
    assert!(matches!(
        api.create(users, &body, WriteOptions::default()).await,
        Err(ApiError::ChargesRequired { .. })
    ));
    let created = api
        .create(users, &body, CHARGES)
        .await
        .unwrap()
        .into_live(Kind::User);
    let vendor_create = json_fixture("users_create.json");
    let created_json = Value::Object(created.fields.clone());
    assert!(
        keys(&vendor_create["data"]).is_subset(&keys(&created_json)),
        "{created_json}"
    );
    assert_eq!(created.fields["primaryTenant"], "C");

    let listed = api.list(users, None).await.unwrap();
    let vendor_all = json_fixture("users_get_all.json");
    assert_eq!(
        keys(&vendor_all["data"][0]),
        keys(&Value::Object(listed[0].fields.clone()))
    );
    let got = api.get(users, &created.id).await.unwrap();
    assert_eq!(
        keys(&json_fixture("users_get.json")["data"]),
        keys(&Value::Object(got.fields.clone()))
    );

    // A second create for the same e-mail (any case) is refused, with the API's error
    // body; the status (409) is inferred.
    let mut again = body.clone();
    again.insert("email".into(), json!("NEW.user@example.com"));
    match api.create(users, &again, CHARGES).await {
        Err(ApiError::Status {
            status, message, ..
        }) => {
            assert_eq!(status, 409);
            assert!(message.contains("already exists"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    // The vendor's patch bodies are accepted.
    let add: Vec<PatchOperation> =
        serde_json::from_value(json_fixture("users_patch_add_role_request.json")).unwrap();
    let rename: Vec<PatchOperation> =
        serde_json::from_value(json_fixture("users_patch_rename_request.json")).unwrap();
    api.patch(users, &created.id, &add, CHARGES).await.unwrap();
    api.patch(users, &created.id, &rename, CHARGES)
        .await
        .unwrap();
    let got = api.get(users, &created.id).await.unwrap();
    assert_eq!(got.fields["displayName"], "My New Name");
    assert_eq!(got.fields["roles"].as_array().unwrap().len(), 4, "{got:?}");

    // sendActivationEmail: 204 in the primary tenant, TenantNotPrimary elsewhere, with the
    // vendor's body shape.
    {
        let mut s = shared.store();
        s.create(&json!({"name": "Other"}), true, &mut || "C2".into(), "t")
            .unwrap();
        s.link_user(&created.id, "C2").unwrap();
    }
    let http = reqwest::Client::new();
    let send = |tenant: &str| {
        http.post(format!(
            "{base}/customers/{tenant}/users/{}/sendActivationEmail",
            created.id
        ))
        .bearer_auth("t")
        .send()
    };
    assert_eq!(send("C").await.unwrap().status(), 204);
    let refused = send("C2").await.unwrap();
    assert_eq!(refused.status(), 400);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(
        keys(&refused),
        keys(&json_fixture("users_activation_not_primary.json"))
    );
    assert_eq!(refused["errorCode"], "TenantNotPrimary");
    let stats: Value = http
        .get(base.replace("/api/v1.0", "/_sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["activationEmails"], 2, "{stats}");
    assert_eq!(stats["users"], 1, "{stats}");
}
