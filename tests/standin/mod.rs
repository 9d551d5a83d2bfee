//! A stand-in of the Dimensions API for the security tests, on 127.0.0.1 port 0, that
//! misbehaves the way real servers and proxies can: echoes what it received (the bearer
//! token, the body, the token form) in every error shape, redirects, stalls, drips bytes,
//! and keeps one customer list per token so two accounts can share one URL.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// How the stand-in answers API requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// A working API: one customer list per bearer token.
    Ok,
    /// 400 with the API's error body quoting everything received.
    Echo400,
    /// 402 whose body echoes the whole request.
    Echo402,
    /// 500 with a body echoing the request.
    Echo500,
    /// 200 with `status: error` and the request echoed.
    Echo200Error,
    /// 307 to this URL (another origin).
    Redirect(String),
    /// Accept and never answer.
    Stall,
    /// Answer reads as [`Mode::Ok`]; accept writes and never answer.
    StallWrites,
    /// Headers at once, then the body one byte a second.
    Drip,
}

#[derive(Default)]
pub struct Inner {
    pub mode: Option<Mode>,
    /// The token endpoint echoes the form it received in a 400.
    pub token_echo: bool,
    /// The echo modes apply to writes only; reads are answered as [`Mode::Ok`].
    pub echo_writes_only: bool,
    /// token -> (tenant, customers)
    pub accounts: HashMap<String, (String, Vec<Value>)>,
    /// Every request seen: "METHOD path".
    pub seen: Vec<String>,
    pub next_id: u64,
}

#[derive(Clone, Default)]
pub struct StandIn(pub Arc<Mutex<Inner>>);

impl StandIn {
    pub fn set_mode(&self, m: Mode) {
        self.0.lock().unwrap().mode = Some(m);
    }
    pub fn set_echo_writes_only(&self, on: bool) {
        self.0.lock().unwrap().echo_writes_only = on;
    }
    pub fn set_token_echo(&self, on: bool) {
        self.0.lock().unwrap().token_echo = on;
    }
    pub fn add_account(&self, token: &str, tenant: &str) {
        self.0
            .lock()
            .unwrap()
            .accounts
            .insert(token.into(), (tenant.into(), Vec::new()));
    }
    pub fn add_customer(&self, token: &str, reference: &str, name: &str) {
        let mut g = self.0.lock().unwrap();
        g.next_id += 1;
        let id = format!("c-{}", g.next_id);
        let (tenant, list) = g.accounts.get_mut(token).unwrap();
        let tenant = tenant.clone();
        list.push(
            json!({"id": id, "name": name, "reference": reference, "enabled": true,
            "parentTenantId": tenant, "dateCreated": "2026-01-01T00:00:00Z"}),
        );
    }
    pub fn customers(&self, token: &str) -> Vec<Value> {
        self.0.lock().unwrap().accounts[token].1.clone()
    }
    pub fn seen(&self) -> Vec<String> {
        self.0.lock().unwrap().seen.clone()
    }
}

/// Start the stand-in on a runtime of its own (a thread); returns its origin
/// (`http://127.0.0.1:PORT`). The runtime lives until the process ends.
pub fn start(s: StandIn) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().fallback(handle).with_state(s);
            axum::serve(listener, app).await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    format!("http://{addr}")
}

fn echo(headers: &HeaderMap, body: &Bytes) -> String {
    let auth: Vec<&str> = headers
        .get_all("authorization")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    format!("{} {}", auth.join(" "), String::from_utf8_lossy(body))
}

fn bearer(headers: &HeaderMap) -> String {
    headers
        .get_all("authorization")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_string()
}

async fn handle(
    State(s): State<StandIn>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    // One page of customers; every later page is empty (the end of the list).
    let page_index: usize = uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("pageIndex=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (mode, token_echo) = {
        let mut g = s.0.lock().unwrap();
        g.seen.push(format!("{method} {path}"));
        let mut mode = g.mode.clone().unwrap_or(Mode::Ok);
        if g.echo_writes_only && method == Method::GET {
            mode = Mode::Ok;
        }
        (mode, g.token_echo)
    };
    if path == "/connect/token" {
        let form = String::from_utf8_lossy(&body).to_string();
        if token_echo {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(
                    json!({"error": format!("invalid_grant: {form}"), "error_description": form}),
                ),
            )
                .into_response();
        }
        return axum::Json(json!({"access_token": "standin-access-token-0001", "token_type": "Bearer", "expires_in": 3600})).into_response();
    }
    let text = echo(&headers, &body);
    match mode {
        Mode::Echo400 => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"status": "error", "error": "Bad Request", "message": format!("The value '{text}' is not valid.")})),
        )
            .into_response(),
        Mode::Echo402 => (StatusCode::PAYMENT_REQUIRED, text).into_response(),
        Mode::Echo500 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"message": text, "detail": text})),
        )
            .into_response(),
        Mode::Echo200Error => axum::Json(json!({"status": "error", "message": text, "data": null})).into_response(),
        Mode::Redirect(to) => Response::builder()
            .status(StatusCode::TEMPORARY_REDIRECT)
            .header("location", to)
            .body(Body::empty())
            .unwrap(),
        Mode::Stall => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Mode::Drip => {
            let stream = futures_util::stream::unfold(0u32, |n| async move {
                if n > 3600 {
                    return None;
                }
                if n > 0 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Some((Ok::<_, std::io::Error>(Bytes::from_static(b" ")), n + 1))
            });
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .body(Body::from_stream(stream))
                .unwrap()
        }
        Mode::StallWrites if method != Method::GET => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Mode::Ok | Mode::StallWrites => working(&s, &method, &path, page_index, &headers, &body),
    }
}

fn working(
    s: &StandIn,
    method: &Method,
    path: &str,
    page_index: usize,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let token = bearer(headers);
    let mut g = s.0.lock().unwrap();
    g.next_id += 1;
    let next = g.next_id;
    let Some((tenant, list)) = g.accounts.get_mut(&token) else {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"status": "error", "message": "unknown token"})),
        )
            .into_response();
    };
    let rest = path.strip_prefix("/api/v1.0/customers").unwrap_or("?");
    match (method.as_str(), rest) {
        ("GET", "") => {
            let data = if page_index == 0 {
                list.clone()
            } else {
                Vec::new()
            };
            axum::Json(json!({"page_size": 100, "page_index": page_index, "data": data}))
                .into_response()
        }
        ("POST", "") => {
            let mut c: Value = serde_json::from_slice(body).unwrap_or(json!({}));
            c["id"] = json!(format!("c-{next}"));
            c["parentTenantId"] = json!(tenant.clone());
            if let Some(profiles) = c
                .get_mut("pbxConnectionProfiles")
                .and_then(Value::as_array_mut)
            {
                for p in profiles.iter_mut().filter_map(Value::as_object_mut) {
                    p.remove("apiKey");
                    p.remove("password");
                }
            }
            list.push(c.clone());
            (
                StatusCode::CREATED,
                axum::Json(json!({"status": "success", "data": c})),
            )
                .into_response()
        }
        ("GET", id) => match list
            .iter()
            .find(|c| format!("/{}", c["id"].as_str().unwrap_or("")) == id)
        {
            Some(c) => axum::Json(json!({"data": c})).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
