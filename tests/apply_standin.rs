//! Apply against small stand-ins of the API that misbehave where `sandbox serve` cannot:
//! a create committed after the client's timeout, one never committed, a `filter` search
//! that lags behind writes, pages capped below the size asked for, a page one item short
//! although more follow, a page without `data`, and a listing that never ends. Each test
//! asserts the final state (each reference exactly once), the POSTs sent and the exit code.

mod apply_support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apply_support::*;
use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

#[derive(Debug, Clone, Default)]
struct Behaviour {
    /// A POST commits (and answers) only after this long.
    post_delay: Duration,
    /// A POST never commits.
    post_never_commits: bool,
    /// A `filter` search shows a tenant only this long after it was committed.
    filter_lag: Duration,
    /// The largest page served, reported in `page_size`.
    page_cap: Option<usize>,
    /// This page comes back one item short (its last item is left out).
    short_page: Option<usize>,
    /// Pages are answered without `data`.
    no_data: bool,
    /// Every page is full of new customers, forever.
    endless: bool,
    /// A listing without `filter` shows a tenant only this long after it was created,
    /// and the values before a PATCH until this long after it.
    list_lag: Duration,
    /// PATCHes of the tenant with this reference are answered 200 and not made.
    ignore_patch_of: Option<String>,
}

#[derive(Debug, Default)]
struct World {
    b: Behaviour,
    tenants: Vec<(Value, Instant)>,
    posts: usize,
    next: u64,
    /// The values before the last PATCH of a tenant (by id), and when it was made.
    before_patch: HashMap<String, (Value, Instant)>,
    /// Requests served: listing pages, GETs of one tenant, PATCHes.
    pages: usize,
    gets: usize,
    patches: usize,
}

type Shared = Arc<Mutex<World>>;

fn ok(data: Option<Value>, status: StatusCode) -> Response {
    let body = match data {
        Some(d) => json!({"data": d, "status": "success", "timestamp": "t"}),
        None => json!({"status": "success", "timestamp": "t"}),
    };
    (status, axum::Json(body)).into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": 404, "message": "Not Found", "status": "error"})),
    )
        .into_response()
}

async fn list(State(w): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut w = w.lock().unwrap();
    w.pages += 1;
    let index: usize = q.get("pageIndex").and_then(|v| v.parse().ok()).unwrap_or(0);
    let asked: usize = q
        .get("pageSize")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let size = w.b.page_cap.map_or(asked, |c| c.min(asked));
    if w.b.no_data {
        return (
            StatusCode::OK,
            axum::Json(json!({"page_size": size, "status": "success"})),
        )
            .into_response();
    }
    if w.b.endless {
        let data: Vec<Value> = (0..size)
            .map(|k| json!({"id": format!("e{}", index * size + k), "reference": "x"}))
            .collect();
        return (
            StatusCode::OK,
            axum::Json(json!({"page_size": size, "data": data})),
        )
            .into_response();
    }
    let filter = q.get("filter").map(|f| f.to_lowercase());
    let now = Instant::now();
    let visible: Vec<&Value> = w
        .tenants
        .iter()
        .filter(|(t, at)| match &filter {
            None => now.duration_since(*at) >= w.b.list_lag,
            Some(f) => {
                now.duration_since(*at) >= w.b.filter_lag
                    && ["name", "reference"].iter().any(|k| {
                        t[*k]
                            .as_str()
                            .is_some_and(|s| s.to_lowercase().contains(f.as_str()))
                    })
            }
        })
        .map(|(t, _)| match (&filter, t["id"].as_str()) {
            (None, Some(id)) => match w.before_patch.get(id) {
                Some((old, at)) if now.duration_since(*at) < w.b.list_lag => old,
                _ => t,
            },
            _ => t,
        })
        .collect();
    let mut data: Vec<Value> = visible
        .into_iter()
        .skip(index * size)
        .take(size)
        .cloned()
        .collect();
    if w.b.short_page == Some(index) && data.len() == size {
        data.pop();
    }
    (
        StatusCode::OK,
        axum::Json(
            json!({"page_size": size, "page_index": index, "data": data, "status": "success"}),
        ),
    )
        .into_response()
}

fn commit(w: &mut World, mut body: Value) -> Value {
    w.next += 1;
    body["id"] = json!(format!("id-{:05}", w.next));
    body["dateCreated"] = json!(jiff::Timestamp::now().to_string());
    w.tenants.push((body.clone(), Instant::now()));
    body
}

async fn create(State(w): State<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    let (delay, never) = {
        let mut g = w.lock().unwrap();
        g.posts += 1;
        (g.b.post_delay, g.b.post_never_commits)
    };
    // The commit runs on its own task: a client that gave up does not cancel it.
    let task = tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        if never {
            return None;
        }
        Some(commit(&mut w.lock().unwrap(), body))
    });
    match task.await {
        Ok(Some(c)) => ok(Some(c), StatusCode::CREATED),
        _ => (StatusCode::GATEWAY_TIMEOUT, "").into_response(),
    }
}

async fn get_one(State(w): State<Shared>, UrlPath(id): UrlPath<String>) -> Response {
    let mut w = w.lock().unwrap();
    w.gets += 1;
    match w.tenants.iter().find(|(t, _)| t["id"] == id.as_str()) {
        Some((t, _)) => ok(Some(t.clone()), StatusCode::OK),
        None => not_found(),
    }
}

async fn patch(
    State(w): State<Shared>,
    UrlPath(id): UrlPath<String>,
    axum::Json(ops): axum::Json<json_patch::Patch>,
) -> Response {
    let mut g = w.lock().unwrap();
    let w = &mut *g;
    w.patches += 1;
    match w.tenants.iter_mut().find(|(t, _)| t["id"] == id.as_str()) {
        Some((t, _)) => {
            let before = t.clone();
            if w.b.ignore_patch_of.is_some()
                && t["reference"].as_str() == w.b.ignore_patch_of.as_deref()
            {
                return ok(None, StatusCode::OK);
            }
            match json_patch::patch(t, &ops) {
                Ok(()) => {
                    w.before_patch.insert(id, (before, Instant::now()));
                    ok(None, StatusCode::OK)
                }
                Err(_) => (StatusCode::BAD_REQUEST, "bad patch").into_response(),
            }
        }
        None => not_found(),
    }
}

async fn delete(State(w): State<Shared>, UrlPath(id): UrlPath<String>) -> Response {
    let mut w = w.lock().unwrap();
    let before = w.tenants.len();
    w.tenants.retain(|(t, _)| t["id"] != id.as_str());
    if w.tenants.len() < before {
        ok(None, StatusCode::OK)
    } else {
        not_found()
    }
}

/// Start the stand-in on 127.0.0.1:0; returns its API base URL.
async fn start(world: Shared) -> String {
    let app = Router::new()
        .route("/api/v1.0/customers", get(list).post(create))
        .route(
            "/api/v1.0/customers/{id}",
            get(get_one).patch(patch).delete(delete),
        )
        .with_state(world);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/api/v1.0")
}

fn world(b: Behaviour) -> Shared {
    Arc::new(Mutex::new(World {
        b,
        ..World::default()
    }))
}

/// Seed a tenant as an earlier apply would have left it.
fn seed(w: &Shared, reference: &str) {
    let mut g = w.lock().unwrap();
    commit(
        &mut g,
        json!({"reference": reference, "name": format!("Customer {reference}"), "enabled": false}),
    );
}

fn write_manifests(dir: &Path, refs: &[String], enabled: bool) {
    std::fs::create_dir_all(dir).unwrap();
    for r in refs {
        std::fs::write(
            dir.join(format!("{r}.yaml")),
            format!(
                "apiVersion: dimctl/v1\nkind: Customer\nreference: {r}\nname: Customer {r}\nenabled: {enabled}\n"
            ),
        )
        .unwrap();
    }
}

async fn dimctl_run(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&a, &[TOKEN_ENV])
    })
    .await
    .unwrap()
}

fn apply(url: &str, dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "apply",
        dir.to_str().unwrap(),
        "--api-url",
        url,
        "--auto-approve",
        "--accept-charges",
        "--no-lock",
        "--format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn count(w: &Shared, reference: &str) -> usize {
    let g = w.lock().unwrap();
    g.tenants
        .iter()
        .filter(|(t, _)| t["reference"] == reference)
        .count()
}

fn refs(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:03}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_committed_after_the_timeout_is_found_not_posted_again() {
    let w = world(Behaviour {
        post_delay: Duration::from_millis(1500),
        ..Behaviour::default()
    });
    let url = start(w.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let rs = refs("late", 3);
    write_manifests(dir.path(), &rs, true);
    let o = dimctl_run(apply(&url, dir.path(), &["--timeout", "1"])).await;
    assert_eq!(o.status.code(), Some(0), "{}", tail(&o));
    let doc = result_doc(&o);
    for r in &rs {
        assert_eq!(count(&w, r), 1, "{r}");
        assert_eq!(status_of(&doc, r), "created");
    }
    let g = w.lock().unwrap();
    assert_eq!(g.posts, 3, "one POST per customer");
    assert!(
        g.tenants.iter().all(|(t, _)| t["enabled"] == true),
        "enabled once confirmed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_never_committed_is_unknown_and_a_rerun_creates_it_once() {
    let w = world(Behaviour {
        post_delay: Duration::from_millis(1500),
        post_never_commits: true,
        ..Behaviour::default()
    });
    let url = start(w.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let rs = refs("lost", 2);
    write_manifests(dir.path(), &rs, true);
    let o = dimctl_run(apply(&url, dir.path(), &["--timeout", "1"])).await;
    assert_eq!(o.status.code(), Some(1), "{}", tail(&o));
    let doc = result_doc(&o);
    for r in &rs {
        assert_eq!(status_of(&doc, r), "unknown");
        assert_eq!(count(&w, r), 0);
    }
    assert!(text(&o).0.contains("Re-run"), "{}", tail(&o));
    assert_eq!(w.lock().unwrap().posts, 2, "never a second POST in one run");
    w.lock().unwrap().b = Behaviour::default();
    let o = dimctl_run(apply(&url, dir.path(), &[])).await;
    assert_eq!(o.status.code(), Some(0), "{}", tail(&o));
    for r in &rs {
        assert_eq!(count(&w, r), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_search_neither_duplicates_a_late_create_nor_enables_unconfirmed() {
    let w = world(Behaviour {
        post_delay: Duration::from_millis(1200),
        filter_lag: Duration::from_millis(1500),
        ..Behaviour::default()
    });
    let url = start(w.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let rs = refs("lag", 3);
    write_manifests(dir.path(), &rs, true);
    let o = dimctl_run(apply(&url, dir.path(), &["--timeout", "1"])).await;
    assert_eq!(o.status.code(), Some(0), "{}", tail(&o));
    for r in &rs {
        assert_eq!(count(&w, r), 1, "{r}");
    }
    assert_eq!(w.lock().unwrap().posts, 3);
    // Answered in time, but the search lags: confirmation waits for the tenant to show.
    w.lock().unwrap().b.post_delay = Duration::ZERO;
    let more = refs("lag2", 2);
    write_manifests(dir.path(), &more, true);
    let o = dimctl_run(apply(&url, dir.path(), &[])).await;
    assert_eq!(o.status.code(), Some(0), "{}", tail(&o));
    for r in rs.iter().chain(&more) {
        assert_eq!(count(&w, r), 1, "{r}");
    }
    assert_eq!(w.lock().unwrap().posts, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capped_and_short_pages_miss_no_customer() {
    let w = world(Behaviour {
        page_cap: Some(100),
        short_page: Some(1),
        ..Behaviour::default()
    });
    let rs = refs("paged", 250);
    for (i, r) in rs.iter().enumerate() {
        if i == 199 {
            // The item the short page leaves out: not managed.
            seed(&w, "unmanaged-199");
        }
        seed(&w, r);
    }
    let url = start(w.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), &rs, false);
    let o = dimctl_run(apply(&url, dir.path(), &[])).await;
    assert_eq!(o.status.code(), Some(0), "{}", tail(&o));
    assert_eq!(w.lock().unwrap().posts, 0, "nothing created again");
    for r in &rs {
        assert_eq!(count(&w, r), 1, "{r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_without_data_is_an_error_naming_the_page_not_an_empty_account() {
    let w = world(Behaviour {
        no_data: true,
        ..Behaviour::default()
    });
    let url = start(w.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), &refs("nodata", 3), false);
    let o = dimctl_run(apply(&url, dir.path(), &[])).await;
    assert_eq!(o.status.code(), Some(1), "{}", tail(&o));
    let (_, err) = text(&o);
    assert!(
        err.contains("pageIndex ") && err.contains("without `data`"),
        "{err}"
    );
    assert_eq!(w.lock().unwrap().posts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_that_never_ends_stops_at_max_customers() {
    let w = world(Behaviour {
        endless: true,
        page_cap: Some(100),
        ..Behaviour::default()
    });
    let url = start(w.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), &refs("endless", 1), false);
    let o = dimctl_run(apply(&url, dir.path(), &["--max-customers", "1000"])).await;
    assert_eq!(o.status.code(), Some(1), "{}", tail(&o));
    assert!(text(&o).1.contains("passed 1000 customers"), "{}", tail(&o));
    assert_eq!(w.lock().unwrap().posts, 0);
}

/// Seed `refs` as created long ago (older than any listing lag).
fn seed_old(w: &Shared, refs: &[String]) {
    let mut g = w.lock().unwrap();
    for r in refs {
        commit(
            &mut g,
            json!({"reference": r, "name": format!("Customer {r}"), "enabled": false}),
        );
    }
    let long_ago = Instant::now() - Duration::from_secs(3600);
    for (_, at) in g.tenants.iter_mut() {
        *at = long_ago;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_listing_is_read_again_by_get_and_a_write_that_did_not_take_fails() {
    let w = world(Behaviour {
        list_lag: Duration::from_secs(600),
        ignore_patch_of: Some("lagl-007".into()),
        ..Behaviour::default()
    });
    let url = start(w.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let rs = refs("lagl", 30);
    seed_old(&w, &rs);
    std::fs::create_dir_all(dir.path()).unwrap();
    for r in &rs {
        std::fs::write(
            dir.path().join(format!("{r}.yaml")),
            format!("apiVersion: dimctl/v1\nkind: Customer\nreference: {r}\nname: Renamed {r}\nenabled: false\n"),
        )
        .unwrap();
    }
    let o = dimctl_run(apply(&url, dir.path(), &["--allow-unsafe"])).await;
    // The one PATCH the server did not make is a failure, never "updated".
    assert_eq!(o.status.code(), Some(1), "{}", tail(&o));
    let doc = result_doc(&o);
    assert_eq!(doc["counts"]["updated"], 29, "{doc:#}");
    assert_eq!(doc["counts"]["failed"], 1, "{doc:#}");
    assert_eq!(status_of(&doc, "lagl-007"), "failed");
    let g = w.lock().unwrap();
    assert_eq!(g.patches, 30);
    // The listing still shows the old names: each read-back is asked again by GET, once.
    assert_eq!(g.gets, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_are_confirmed_and_verified_by_listings_not_one_get_each() {
    let w = world(Behaviour::default());
    let url = start(w.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let rs = refs("econ", 40);
    write_manifests(dir.path(), &rs, false);
    let o = dimctl_run(apply(&url, dir.path(), &["--allow-unsafe"])).await;
    assert_eq!(o.status.code(), Some(0), "{}", tail(&o));
    for r in &rs {
        assert_eq!(count(&w, r), 1, "{r}");
    }
    let g = w.lock().unwrap();
    assert_eq!(g.posts, 40);
    // Checked against the 201's data and the listings: no GET per customer, and a few
    // listings (plan, start of apply, look-ups, confirmation, uniqueness) of two pages.
    assert_eq!(g.gets, 0);
    assert!(g.pages <= 12, "{} listing pages", g.pages);
}
