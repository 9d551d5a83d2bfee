//! The generic `Api` over HTTP: collections by kind, and what a create's answer carried
//! (the whole object, or only the id). A stand-in on 127.0.0.1:0 answers creates as a
//! real server might: with the object, with only `{"id"}`, with a bare id string, or with
//! no id at all.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use dimctl::api::auth::Credentials;
use dimctl::api::http::{HttpApi, HttpConfig};
use dimctl::api::{Api, ApiError, Collection, CreateAnswer, WriteOptions};
use dimctl::model::Kind;
use secrecy::SecretString;
use serde_json::{Map, Value, json};

#[derive(Clone, Default)]
struct Script {
    /// The `data` each POST answers with, in turn.
    answers: Arc<Mutex<Vec<Value>>>,
    /// Every request seen: "METHOD path?query".
    seen: Arc<Mutex<Vec<String>>>,
}

async fn handle(State(s): State<Script>, method: axum::http::Method, uri: Uri) -> Response {
    s.seen.lock().unwrap().push(format!("{method} {uri}"));
    if method == axum::http::Method::POST {
        let data = s.answers.lock().unwrap().remove(0);
        return (
            StatusCode::CREATED,
            axum::Json(json!({"status": "success", "data": data})),
        )
            .into_response();
    }
    // One customer on page 0; every later page is empty (the end of the list).
    let index: usize = uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("pageIndex=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let data = if index == 0 {
        json!([{"id": "c1", "name": "Acme", "reference": "A-1"}])
    } else {
        json!([])
    };
    axum::Json(json!({"page_size": 1000, "page_index": index, "status": "success", "data": data}))
        .into_response()
}

async fn start(script: Script) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(handle).with_state(script);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/api/v1.0")
}

fn api(url: &str) -> HttpApi {
    HttpApi::new(
        HttpConfig::new(url),
        Credentials::Static(SecretString::from("t")),
    )
    .unwrap()
}

#[tokio::test]
async fn create_answers_say_whether_they_carried_the_object_or_only_the_id() {
    let script = Script::default();
    *script.answers.lock().unwrap() = vec![
        json!({"id": "n1", "name": "Acme", "reference": "A-1"}),
        json!({"id": "n2"}),
        json!("n3"),
        json!({"name": "no id"}),
        json!({"id": "n5"}),
    ];
    let url = start(script.clone()).await;
    let api = api(&url);
    let body: Map<String, Value> = json!({"name": "Acme"}).as_object().unwrap().clone();
    let opts = WriteOptions {
        accept_charges: true,
    };

    match api
        .create(Collection::CUSTOMERS, &body, opts)
        .await
        .unwrap()
    {
        CreateAnswer::Object(o) => {
            assert_eq!((o.kind, o.id.as_str()), (Kind::Customer, "n1"));
            assert_eq!(o.fields["reference"], "A-1");
        }
        other => panic!("expected the whole object, got {other:?}"),
    }
    assert_eq!(
        api.create(Collection::CUSTOMERS, &body, opts)
            .await
            .unwrap(),
        CreateAnswer::IdOnly("n2".into())
    );
    assert_eq!(
        api.create(Collection::CUSTOMERS, &body, opts)
            .await
            .unwrap(),
        CreateAnswer::IdOnly("n3".into())
    );
    let err = api
        .create(Collection::CUSTOMERS, &body, opts)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Decode { reason, .. } if reason.contains("without an id")),
        "{err:?}"
    );
    // The provided customer method on top: an id-only answer is a customer with its id.
    let c = api.create_customer(&body, opts).await.unwrap();
    assert_eq!(c.id, "n5");
    assert_eq!(c.fields().len(), 1);
}

#[tokio::test]
async fn collections_take_their_path_from_the_registry() {
    let script = Script::default();
    let url = start(script.clone()).await;
    let api = api(&url);
    let items = api.list(Collection::CUSTOMERS, Some("A")).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].id, "c1");
    let live = api.list_customers(None).await.unwrap();
    assert_eq!(live[0].reference(), Some("A-1"));
    let seen = script.seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .all(|r| r.starts_with("GET /api/v1.0/customers?pageIndex=")),
        "{seen:?}"
    );
    assert!(seen[0].contains("filter=A"), "{seen:?}");
    // A customer asked for under a parent is refused before anything is sent.
    let before = script.seen.lock().unwrap().len();
    let wrong = Collection::new(Kind::Customer, Some("p"));
    assert!(matches!(
        api.get(wrong, "c1").await,
        Err(ApiError::Config(_))
    ));
    assert_eq!(script.seen.lock().unwrap().len(), before);
}

/// A stand-in whose Get All serves `pages[pageIndex]` (empty past the end).
async fn start_pages(pages: Vec<Value>) -> String {
    let pages = Arc::new(pages);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(move |uri: Uri| {
        let pages = pages.clone();
        async move {
            let index: usize = uri
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("pageIndex=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let data = pages.get(index).cloned().unwrap_or(json!([]));
            axum::Json(json!({"page_size": 1000, "status": "success", "data": data}))
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/api/v1.0")
}

/// The customer listing is made compact page by page on blocking threads: the pages
/// still come back in order, and a page's lies are still errors naming it.
#[tokio::test]
async fn customer_pages_made_in_parallel_keep_order_and_name_a_lying_page() {
    let page = |from: usize, n: usize| -> Value {
        (from..from + n)
            .map(|i| json!({"id": format!("c{i}"), "reference": format!("R-{i}"), "name": "N"}))
            .collect()
    };
    let full: Vec<Value> = (0..7).map(|p| page(p * 1000, 1000)).collect();
    let url = start_pages(full).await;
    let live = api(&url).list_customers(None).await.unwrap();
    assert_eq!(live.len(), 7000);
    assert!(
        live.iter()
            .enumerate()
            .all(|(i, c)| c.id == format!("c{i}"))
    );
    assert_eq!(live[6999].reference(), Some("R-6999"));

    let no_id = vec![page(0, 1000), json!([{"name": "nameless"}])];
    let err = api(&start_pages(no_id).await)
        .list_customers(None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Decode { reason, .. } if reason.contains("pageIndex 1 holds a customer without an id")),
        "{err:?}"
    );

    let twice = vec![page(0, 1000), page(999, 1000)];
    let err = api(&start_pages(twice).await)
        .list_customers(None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Decode { reason, .. } if reason.contains("customer id c999 is listed on pageIndex 0 and again on pageIndex 1")),
        "{err:?}"
    );
}
