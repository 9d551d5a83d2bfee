//! The client's request rate adapts to 429s client-wide: against a stand-in on 127.0.0.1
//! that admits 20 requests per second (a fixed one-second window, as many gateways do) and
//! answers 429 with `Retry-After: 1` beyond, eight tasks reading at once all get their
//! answers, and only the first burst (the requests in flight when the first 429 came) and
//! a few probes above the limit are wasted: tasks backing off on their own would come back
//! together after each `Retry-After` and meet a 429 storm every second.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dimctl::api::Api;
use dimctl::api::auth::Credentials;
use dimctl::api::http::{HttpApi, HttpConfig};
use secrecy::SecretString;

#[derive(Default)]
struct Gate {
    window: Mutex<Option<(Instant, u32)>>,
    served: AtomicU64,
    throttled: AtomicU64,
}

const LIMIT: u32 = 20;

async fn customer(gate: Arc<Gate>) -> Response {
    let admitted = {
        let mut w = gate.window.lock().unwrap();
        let now = Instant::now();
        let (start, n) = match *w {
            Some((start, n)) if now.duration_since(start) < Duration::from_secs(1) => (start, n),
            _ => (now, 0),
        };
        *w = Some((start, n + u32::from(n < LIMIT)));
        n < LIMIT
    };
    if !admitted {
        gate.throttled.fetch_add(1, Ordering::SeqCst);
        let mut r = (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(serde_json::json!({"error": 429, "message": "Too many requests.", "status": "error"})),
        )
            .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    }
    gate.served.fetch_add(1, Ordering::SeqCst);
    axum::Json(serde_json::json!({"data": {"id": "c1", "name": "A"}, "status": "success"}))
        .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_slows_the_whole_client_so_few_requests_are_wasted() {
    let gate = Arc::new(Gate::default());
    let g = gate.clone();
    let app = axum::Router::new().route(
        "/api/v1.0/customers/c1",
        axum::routing::get(move || customer(g.clone())),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut config = HttpConfig::new(format!("http://{addr}/api/v1.0"));
    config.timeout = Duration::from_secs(20);
    let api = Arc::new(HttpApi::new(config, Credentials::Static(SecretString::from("t"))).unwrap());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..12 {
                api.get_customer("c1").await.map(|c| c.id)?;
            }
            Ok::<_, dimctl::api::ApiError>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let served = gate.served.load(Ordering::SeqCst);
    let throttled = gate.throttled.load(Ordering::SeqCst);
    assert_eq!(served, 96, "every read answered once");
    // The first burst (up to the 8 in flight) plus a few probes above the limit.
    assert!(
        throttled <= 16,
        "{throttled} of {} requests answered 429",
        served + throttled
    );
}
