//! The sandbox's HTTP face: the API under `/api/v1.0` (one pair of routes per registered
//! kind, from its collection path, all calling the generic store), the OAuth token
//! endpoint at `/connect/token`, and `/_sandbox/stats`. Every API request goes through [`gate`]
//! (count, latency, faults, auth) before a handler calls the shared store.
//!
//! A handler that must lose its answer (dropped connection, commit-then-drop) marks the
//! response with [`DropConnection`]; [`super::serve`] then closes the connection unanswered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{Query, RawPathParams, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde_json::{Value, json};

use super::faults::{Faults, Verdict};
use super::inprocess::{new_guid, now_utc};
use super::rules::SandboxError;
use super::store::{DEFAULT_PAGE_SIZE, Store};
use super::{token, wire};
use crate::model::Kind;

/// A response extension: close the connection instead of sending this response.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// Request counters for `/_sandbox/stats`.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub get: AtomicU64,
    pub post: AtomicU64,
    pub patch: AtomicU64,
    pub delete: AtomicU64,
    pub writes: AtomicU64,
    /// Requests answered 429 (past `--rate-limit`).
    pub throttled: AtomicU64,
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct Shared {
    pub store: Mutex<Store>,
    pub faults: Faults,
    pub stats: Stats,
    /// Set by every committed write; the saver clears it.
    pub dirty: AtomicBool,
    /// Writes committed so far (bumped after each commit).
    pub version: AtomicU64,
    /// Whether a saver runs: then a write is answered only once it is on disk.
    pub persisting: AtomicBool,
    /// Wakes the saver.
    pub save_wanted: tokio::sync::Notify,
    /// The last save: (writes it holds, whether it succeeded).
    pub saved: tokio::sync::watch::Sender<(u64, bool)>,
    /// Tokens issued by `/connect/token`, and how often each token was used.
    pub tokens: Mutex<token::Tokens>,
}

impl Shared {
    pub fn new(store: Store, faults: Faults) -> Arc<Shared> {
        Arc::new(Shared {
            store: Mutex::new(store),
            faults,
            stats: Stats::default(),
            dirty: AtomicBool::new(false),
            version: AtomicU64::new(0),
            persisting: AtomicBool::new(false),
            save_wanted: tokio::sync::Notify::new(),
            saved: tokio::sync::watch::Sender::new((0, true)),
            tokens: Mutex::new(token::Tokens::default()),
        })
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        match self.store.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Count a committed write; returns its version.
    fn wrote(&self) -> u64 {
        self.stats.writes.fetch_add(1, Ordering::Relaxed);
        self.dirty.store(true, Ordering::Release);
        self.version.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Wait until write `version` is on disk (group commit: one save covers every write
    /// committed before it started). `Err` with a 500 answer when saving failed: the client
    /// must treat the write as unknown.
    async fn durable(&self, version: u64) -> Result<(), Response> {
        if !self.persisting.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut rx = self.saved.subscribe();
        self.save_wanted.notify_one();
        loop {
            let (held, ok) = *rx.borrow_and_update();
            if held >= version {
                return if ok {
                    Ok(())
                } else {
                    Err(wire::error(500, "The change could not be stored durably."))
                };
            }
            if rx.changed().await.is_err() {
                return Err(wire::error(500, "The sandbox is shutting down."));
            }
        }
    }
}

/// The whole application.
pub fn router(shared: Arc<Shared>) -> Router {
    let mut api = Router::new();
    for &kind in Kind::ALL {
        let (collection, item) = route_paths(kind);
        api = api
            .route(
                &collection,
                get(move |s, p, q| list(kind, s, p, q))
                    .post(move |s, p, h, b| create(kind, s, p, h, b)),
            )
            .route(
                &item,
                get(move |s, p| get_one(kind, s, p))
                    .patch(move |s, p, h, b| patch(kind, s, p, h, b))
                    .delete(move |s, p| delete(kind, s, p)),
            );
    }
    let api = api
        .route("/pbxs", get(pbx_instance))
        .route(
            "/customers/{parent_id}/users/{id}/sendActivationEmail",
            post(send_activation_email),
        )
        .fallback(|| async { wire::error(404, "Not Found") })
        .layer(middleware::from_fn_with_state(shared.clone(), gate));
    Router::new()
        .nest("/api/v1.0", api)
        .route(
            "/connect/token",
            post(
                |State(s): State<Arc<Shared>>, Form(form): Form<HashMap<String, String>>| async move {
                    token::endpoint(&s.tokens, &form)
                },
            ),
        )
        .route("/_sandbox/stats", get(stats))
        .with_state(shared)
}

/// The routes of a kind's collection and of one member, from the registry:
/// `/customers` and `/customers/{id}`; a kind under a parent gets
/// `/{parents}/{parent_id}/{collection}[/{id}]`.
fn route_paths(kind: Kind) -> (String, String) {
    let def = kind.def();
    let collection = match def.parent {
        None => format!("/{}", def.collection),
        Some(parent) => format!(
            "/{}/{{parent_id}}/{}",
            parent.def().collection,
            def.collection
        ),
    };
    let item = format!("{collection}/{{id}}");
    (collection, item)
}

/// The ids in a request's path: the parent's (if the kind has one) and the member's.
#[derive(Debug, Default)]
struct Ids {
    parent: Option<String>,
    id: String,
}

fn ids(p: &RawPathParams) -> Ids {
    let mut ids = Ids::default();
    for (k, v) in p {
        match k {
            "parent_id" => ids.parent = Some(v.to_string()),
            "id" => ids.id = v.to_string(),
            _ => {}
        }
    }
    ids
}

fn dropped() -> Response {
    let mut r = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    r.extensions_mut().insert(DropConnection);
    r
}

/// Count, delay, inject faults and check the bearer token before any API handler.
async fn gate(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    s.stats.requests.fetch_add(1, Ordering::Relaxed);
    let counter = match *req.method() {
        Method::GET => Some(&s.stats.get),
        Method::POST => Some(&s.stats.post),
        Method::PATCH => Some(&s.stats.patch),
        Method::DELETE => Some(&s.stats.delete),
        _ => None,
    };
    if let Some(c) = counter {
        c.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(d) = s.faults.latency() {
        tokio::time::sleep(d).await;
    }
    match s.faults.verdict() {
        Verdict::Proceed => {}
        Verdict::Drop => return dropped(),
        Verdict::Error(status) => return wire::error(status, "The service is unavailable."),
        Verdict::RateLimited(secs) => {
            s.stats.throttled.fetch_add(1, Ordering::Relaxed);
            let mut r = wire::error(429, "Too many requests.");
            if let Ok(v) = secs.to_string().parse() {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
    }
    if let Err(message) = token::check(&s.tokens, &s.faults, req.headers()) {
        return wire::error(401, message);
    }
    next.run(req).await
}

/// A numeric query parameter; the error is the API's 400.
fn query_number(
    q: &HashMap<String, String>,
    key: &str,
    default: usize,
) -> Result<usize, SandboxError> {
    let found = q.iter().find(|(k, _)| k.eq_ignore_ascii_case(key));
    match found {
        None => Ok(default),
        Some((_, v)) => v.trim().parse().map_err(|_| SandboxError::bad_value(v)),
    }
}

async fn list(
    kind: Kind,
    State(s): State<Arc<Shared>>,
    p: RawPathParams,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (index, size) = match (
        query_number(&q, "pageIndex", 0),
        query_number(&q, "pageSize", DEFAULT_PAGE_SIZE),
    ) {
        (Ok(i), Ok(s)) => (i, s),
        (Err(e), _) | (_, Err(e)) => return wire::refusal(&e),
    };
    let filter = q
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("filter"))
        .map(|(_, v)| v.as_str());
    let parent = ids(&p).parent;
    // Written while the store is locked: the page is serialised from the stored
    // resources themselves, never copied.
    let store = s.store();
    match store.page_in(kind, parent.as_deref(), index, size, filter) {
        Ok(items) => wire::list(size, index, &items),
        Err(e) => wire::refusal(&e),
    }
}

async fn get_one(kind: Kind, State(s): State<Arc<Shared>>, p: RawPathParams) -> Response {
    let Ids { parent, id } = ids(&p);
    match s.store().get_in(kind, parent.as_deref(), &id) {
        Ok(c) => wire::envelope(StatusCode::OK, Some(c)),
        Err(e) => wire::refusal(&e),
    }
}

fn accepts_charges(h: &HeaderMap) -> bool {
    h.get("accept-charges")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn json_body(body: &Bytes) -> Result<Value, Box<Response>> {
    serde_json::from_slice(body)
        .map_err(|_| Box::new(wire::error(400, "The request body is not valid JSON.")))
}

async fn create(
    kind: Kind,
    State(s): State<Arc<Shared>>,
    p: RawPathParams,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let parent = ids(&p).parent;
    let created = s.store().create_in(
        kind,
        parent.as_deref(),
        &body,
        accepts_charges(&headers),
        &mut new_guid,
        &now_utc(),
    );
    match created {
        Ok(c) => {
            if let Err(r) = s.durable(s.wrote()).await {
                return r;
            }
            if s.faults.drop_after_post() {
                return dropped();
            }
            let id = c
                .get(kind.def().id_field)
                .and_then(Value::as_str)
                .unwrap_or_default();
            let member = route_paths(kind)
                .1
                .replace("{id}", id)
                .replace("{parent_id}", parent.as_deref().unwrap_or_default());
            let location = match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
                Some(host) => format!("http://{host}/api/v1.0{member}"),
                None => format!("/api/v1.0{member}"),
            };
            let mut r = wire::envelope(StatusCode::CREATED, Some(c));
            if let Ok(v) = location.parse() {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Err(e) => wire::refusal(&e),
    }
}

async fn patch(
    kind: Kind,
    State(s): State<Arc<Shared>>,
    p: RawPathParams,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ops = match json_body(&body).map(serde_json::from_value::<Vec<json_patch::PatchOperation>>)
    {
        Ok(Ok(ops)) => ops,
        Ok(Err(_)) => {
            return wire::error(400, "The request body is not a valid JSON Patch document.");
        }
        Err(r) => return *r,
    };
    let Ids { parent, id } = ids(&p);
    let result = s.store().patch_in(
        kind,
        parent.as_deref(),
        &id,
        &ops,
        accepts_charges(&headers),
    );
    match result {
        Ok(()) => {
            if let Err(r) = s.durable(s.wrote()).await {
                return r;
            }
            if s.faults.drop_after_patch() {
                return dropped();
            }
            wire::envelope(StatusCode::OK, None)
        }
        Err(e) => wire::refusal(&e),
    }
}

async fn delete(kind: Kind, State(s): State<Arc<Shared>>, p: RawPathParams) -> Response {
    let Ids { parent, id } = ids(&p);
    let result = s.store().delete_in(kind, parent.as_deref(), &id);
    match result {
        Ok(()) => {
            if let Err(r) = s.durable(s.wrote()).await {
                return r;
            }
            wire::envelope(StatusCode::OK, None)
        }
        Err(e) => wire::refusal(&e),
    }
}

/// `GET /pbxs?instanceId=X`: whether a PBX instance is attached to a tenant anywhere.
async fn pbx_instance(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some((_, id)) = q.iter().find(|(k, _)| k.eq_ignore_ascii_case("instanceId")) else {
        return wire::error(400, "The value '' is not valid.");
    };
    let answer = s.store().pbx_instance(id);
    wire::envelope(StatusCode::OK, Some(answer))
}

/// `POST /customers/{C}/users/{U}/sendActivationEmail`: 204, or 400 `TenantNotPrimary`.
async fn send_activation_email(State(s): State<Arc<Shared>>, p: RawPathParams) -> Response {
    let Ids { parent, id } = ids(&p);
    let sent = s
        .store()
        .send_activation_email(parent.as_deref().unwrap_or_default(), &id);
    match sent {
        Ok(()) => {
            if let Err(r) = s.durable(s.wrote()).await {
                return r;
            }
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => wire::refusal(&e),
    }
}

async fn stats(State(s): State<Arc<Shared>>) -> Response {
    let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let st = &s.stats;
    let (customers, users, activation_emails, restarts) = {
        let store = s.store();
        (
            store.len(),
            store.users.len(),
            store.activation_emails,
            store.collector_restarts.clone(),
        )
    };
    axum::Json(json!({
        "requests": n(&st.requests),
        "byMethod": {"GET": n(&st.get), "POST": n(&st.post), "PATCH": n(&st.patch), "DELETE": n(&st.delete)},
        "writes": n(&st.writes),
        "throttled": n(&st.throttled),
        "customers": customers,
        "users": users,
        "activationEmails": activation_emails,
        "collectorRestarts": restarts,
    }))
    .into_response()
}
