//! The HTTP client for the Dimensions API and `sandbox serve`: one request loop with
//! retries (backoff, `Retry-After`, never a blind POST retry), client-wide in-flight and
//! rate limits, bearer auth with refresh, `accept-charges` only when asked, and logs that
//! carry method, path, status and latency only (never a header, query or body).
//!
//! Nothing waits for ever: every attempt (connect, headers and the whole body, the token
//! endpoint's included) ends within `timeout`; every operation, retries, waits and a token
//! refresh included, ends within [`HttpConfig::deadline`] (twice `timeout`). Once a read
//! has had no answer at all within its deadline (or a request could not connect), the
//! client takes the server for dead and fails the rest of the run's requests at once
//! without sending them. Redirects are never followed: a 3xx is an error naming the
//! `Location`'s origin, so no body or header leaves for another origin.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::auth::{Credentials, TokenSource};
use super::envelope::{self, Origin};
use super::limit::Limiter;
use super::paging::{self, PAGE_SIZE, WINDOW};
use super::retry::{self, RetryPolicy};
pub use super::transport::{client, describe, redirected};
use super::{Api, ApiError, Collection, CreateAnswer, PatchOperation, WriteOptions};
use crate::model::{Kind, LiveCustomer, LiveObject};

/// The largest response body read (64 MiB): a longer one is an error, so memory stays
/// bounded whatever a server sends.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// How to reach the API.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The versioned base, e.g. `https://api.uk.myreports.cloud/api/v1.0`.
    pub base_url: String,
    /// The enterprise form: requests go to `{base}/accounts/{ID}/customers`.
    pub account: Option<String>,
    /// Per-attempt timeout (default 30 s): connect, headers and the whole body.
    pub timeout: Duration,
    /// Requests in flight at once, client-wide (default 16).
    pub max_in_flight: usize,
    /// Requests per second, client-wide (default: no ceiling).
    pub max_rps: Option<f64>,
    pub retry: RetryPolicy,
    /// A listing returning more customers than this stops with an error (default 1,000,000).
    pub max_customers: usize,
}

impl HttpConfig {
    pub fn new(base_url: impl Into<String>) -> HttpConfig {
        HttpConfig {
            base_url: base_url.into(),
            account: None,
            timeout: Duration::from_secs(30),
            max_in_flight: 16,
            max_rps: None,
            retry: RetryPolicy::default(),
            max_customers: paging::DEFAULT_MAX_CUSTOMERS,
        }
    }

    /// The total time one operation may take, retries, waits and a token refresh
    /// included: twice [`Self::timeout`].
    pub fn deadline(&self) -> Duration {
        self.timeout.saturating_mul(2)
    }

    /// The base URL of a vendor region.
    pub fn region_url(region: &str) -> String {
        format!("https://api.{region}.myreports.cloud/api/v1.0")
    }
}

/// The HTTP implementation of [`Api`].
#[derive(Debug)]
pub struct HttpApi {
    root: String,
    /// `root` without any user name or password, for messages.
    shown_root: String,
    client: reqwest::Client,
    auth: TokenSource,
    limiter: Limiter,
    timeout: Duration,
    deadline: Duration,
    retry: RetryPolicy,
    /// Set once an operation had no answer at all within its deadline, or could not
    /// connect: later operations fail at once, unsent.
    dead: AtomicBool,
    max_customers: usize,
}

/// A request's answer: status and body.
struct Answer {
    status: u16,
    body: bytes::Bytes,
}

impl HttpApi {
    pub fn new(config: HttpConfig, creds: Credentials) -> Result<HttpApi, ApiError> {
        let base = config.base_url.trim_end_matches('/').to_string();
        let parsed = reqwest::Url::parse(&base)
            .map_err(|e| ApiError::Config(format!("the API URL {base:?} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
            return Err(ApiError::Config(format!(
                "the API URL {base:?} must be http(s) without a query"
            )));
        }
        // The root as errors name it: never a user name or password from the URL.
        let shown = {
            let mut u = parsed.clone();
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.as_str().trim_end_matches('/').to_string()
        };
        let (root, shown_root) = match &config.account {
            Some(a) => (
                format!("{base}/accounts/{a}"),
                format!("{shown}/accounts/{a}"),
            ),
            None => (base, shown),
        };
        let client = client(config.timeout)?;
        let deadline = config.deadline();
        let mut retry = config.retry;
        retry.max_total = retry.max_total.min(deadline);
        Ok(HttpApi {
            root,
            shown_root,
            auth: TokenSource::new(creds, client.clone()),
            client,
            limiter: Limiter::new(config.max_in_flight, config.max_rps),
            timeout: config.timeout,
            deadline,
            retry,
            dead: AtomicBool::new(false),
            max_customers: config.max_customers,
        })
    }

    /// One logical request, retried as its method allows: POST is never re-sent after an
    /// ambiguous failure.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        opts: WriteOptions,
    ) -> Result<Answer, ApiError> {
        let never_blind = method == Method::POST;
        self.send_with(method, path, query, body, opts, never_blind)
            .await
    }

    /// One logical request within the operation deadline. With `never_blind`, a failure
    /// after the request may have reached the server (timeout, reset, 5xx) is returned as
    /// ambiguous, not re-sent: the caller must look before writing again.
    async fn send_with(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        opts: WriteOptions,
        never_blind: bool,
    ) -> Result<Answer, ApiError> {
        let m = method.as_str().to_string();
        if self.dead.load(Ordering::Relaxed) {
            return Err(ApiError::Transport {
                method: m,
                path: path.into(),
                reason: "not sent: the API stopped answering earlier in this run".into(),
            });
        }
        let secs = self.deadline.as_secs_f64();
        let attempt = self.attempts(&method, path, query, body, opts, never_blind);
        match tokio::time::timeout(self.deadline, attempt).await {
            Ok(Err(e)) => {
                if let ApiError::Transport { reason, .. } | ApiError::AmbiguousCreate { reason, .. } =
                    &e
                    && ((!never_blind && reason.starts_with("timed out"))
                        || reason.starts_with("could not connect"))
                {
                    self.dead.store(true, Ordering::Relaxed);
                }
                Err(e)
            }
            Ok(ok) => ok,
            Err(_) => {
                // A write with no answer may still be committed late: its look-ups must go
                // out (the executor stops further writes when they cannot settle it). A
                // read with no answer means the server has stopped answering.
                if !never_blind {
                    self.dead.store(true, Ordering::Relaxed);
                }
                tracing::debug!(method = %m, path, "no answer within the operation deadline");
                let reason =
                    format!("no answer within {secs:.0} s (twice --timeout, retries included)");
                Err(if never_blind {
                    ApiError::AmbiguousCreate {
                        method: m,
                        path: path.into(),
                        reason,
                    }
                } else {
                    ApiError::Transport {
                        method: m,
                        path: path.into(),
                        reason,
                    }
                })
            }
        }
    }

    /// The attempts of one logical request (see [`Self::send_with`]).
    async fn attempts(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        opts: WriteOptions,
        never_blind: bool,
    ) -> Result<Answer, ApiError> {
        let method = method.clone();
        let m = method.as_str().to_string();
        let started = Instant::now();
        let mut attempt = 0u32;
        // Refreshes after a 401 in this request: one, and a second only when the token
        // refused is not the one refused before (other tasks used the new one up).
        let mut refused: Vec<SecretString> = Vec::new();
        loop {
            attempt += 1;
            let permit = self.limiter.acquire().await;
            let token = self.auth.bearer().await?;
            let mut rb = self
                .client
                .request(method.clone(), format!("{}{path}", self.root))
                .timeout(self.timeout);
            if !query.is_empty() {
                rb = rb.query(query);
            }
            if let Some(t) = &token {
                rb = rb.bearer_auth(t.expose_secret());
            }
            if opts.accept_charges {
                rb = rb.header("accept-charges", "true");
            }
            if let Some(b) = body {
                rb = rb.json(b);
            }
            let t0 = Instant::now();
            let result = match rb.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| retry::parse_retry_after(v, jiff::Timestamp::now()));
                    let location = resp
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    read_capped(resp)
                        .await
                        .map(|b| b.map(|b| (status, retry_after, location, b)))
                }
                Err(e) => Err(e),
            };
            drop(permit);
            let latency_ms = t0.elapsed().as_millis() as u64;
            let (status, retry_after, location, bytes) = match result {
                Ok(Ok(ok)) => ok,
                Ok(Err(too_big)) => {
                    return Err(ApiError::Decode {
                        method: m,
                        path: path.into(),
                        status: too_big,
                        reason: format!(
                            "the response body is larger than {} MiB; refusing to read it",
                            MAX_BODY_BYTES / (1024 * 1024)
                        ),
                    });
                }
                Err(e) => {
                    let reason = describe(&e);
                    tracing::debug!(method = %m, path, attempt, latency_ms, "request failed: {reason}");
                    if never_blind && !e.is_connect() {
                        return Err(ApiError::AmbiguousCreate {
                            method: m,
                            path: path.into(),
                            reason,
                        });
                    }
                    match self.retry.next_delay(attempt, started.elapsed(), None) {
                        Some(d) => {
                            tracing::info!(method = %m, path, "retrying in {} ms after: {reason}", d.as_millis());
                            tokio::time::sleep(d).await;
                            continue;
                        }
                        None => {
                            // A network error names the URL tried: the host is the
                            // first thing to check.
                            return Err(ApiError::Transport {
                                method: m,
                                path: format!("{}{path}", self.shown_root),
                                reason,
                            });
                        }
                    }
                }
            };
            tracing::debug!(method = %m, path, status, latency_ms, "request");
            // Every answer tells the client-wide rate what the server admits.
            self.limiter.answered(t0, status, retry_after);
            if (300..400).contains(&status) {
                return Err(redirected(&m, path, status, location.as_deref()));
            }
            if (200..300).contains(&status) {
                return Ok(Answer {
                    status,
                    body: bytes,
                });
            }
            if status == 401
                && refused.len() < 2
                && self.auth.can_refresh()
                && let Some(t) = &token
                && !refused
                    .iter()
                    .any(|r| r.expose_secret() == t.expose_secret())
            {
                refused.push(t.clone());
                tracing::info!(method = %m, path, "401: refreshing the access token once");
                self.auth.invalidate(t).await;
                continue;
            }
            if never_blind && status >= 500 {
                return Err(ApiError::AmbiguousCreate {
                    method: m,
                    path: path.into(),
                    reason: format!("the server answered {status}"),
                });
            }
            // A read is safe to ask again after any 5xx; a write only after the statuses
            // that say it was not actioned (429, 502, 503, 504).
            let retryable = retry::is_transient(status) || (method == Method::GET && status == 500);
            if retryable
                && let Some(d) = self
                    .retry
                    .next_delay(attempt, started.elapsed(), retry_after)
            {
                tracing::info!(method = %m, path, status, "retrying in {} ms", d.as_millis());
                tokio::time::sleep(d).await;
                continue;
            }
            return Err(envelope::error(
                Origin {
                    method: &m,
                    path,
                    status,
                },
                &bytes,
            ));
        }
    }

    /// A 404 on the customers collection itself means the base URL is wrong, most often
    /// without its API version: say so, with the URL tried.
    fn collection_not_found(&self, e: ApiError) -> ApiError {
        match e {
            ApiError::NotFound { method, path } if path == "/customers" => ApiError::Status {
                method,
                path: format!("{}{path}", self.shown_root),
                status: 404,
                message: format!(
                    "Not Found: no customers collection at this URL; check the /api/v1.0 part of the base URL (it should look like https://api.uk.myreports.cloud/api/v1.0; given: {})",
                    self.shown_root
                ),
            },
            other => other,
        }
    }

    /// How a listing is paged: a filtered look-up one page at a time, a full listing two
    /// pages first and then [`WINDOW`] at once, bounded by `--max-customers`.
    fn paging(&self, filter: Option<&str>) -> paging::Paging {
        paging::Paging {
            first: if filter.is_some() { 1 } else { 2 },
            window: if filter.is_some() { 1 } else { WINDOW },
            max_items: self.max_customers,
        }
    }

    async fn page(
        &self,
        path: &str,
        index: usize,
        filter: Option<&str>,
    ) -> Result<paging::Page, ApiError> {
        let a = self.page_answer(path, index, filter).await?;
        parse_page(path, index, &a)
    }

    /// One page of customers, parsed and made compact on a blocking thread: the pages of
    /// a round are made in parallel while the next answers arrive (at 100,000 customers
    /// this work, not the server, was the listing's time).
    async fn customer_page(
        &self,
        path: &str,
        index: usize,
        filter: Option<&str>,
    ) -> Result<paging::Page<LiveCustomer>, ApiError> {
        let a = self.page_answer(path, index, filter).await?;
        let owned = path.to_string();
        let made = tokio::task::spawn_blocking(move || {
            let path = owned;
            let page = parse_page(&path, index, &a)?;
            let items = page
                .items
                .into_iter()
                .map(|v| LiveCustomer::from_json(v).ok_or_else(|| paging::without_id(&path, index)))
                .collect::<Result<Vec<_>, ApiError>>()?;
            Ok(paging::Page {
                items,
                page_size: page.page_size,
            })
        })
        .await;
        made.unwrap_or_else(|e| {
            Err(ApiError::Decode {
                method: "GET".into(),
                path: path.to_string(),
                status: 200,
                reason: format!("pageIndex {index} could not be read: {e}"),
            })
        })
    }

    /// The answer to `GET path?pageIndex=index&pageSize=1000[&filter=...]`.
    async fn page_answer(
        &self,
        path: &str,
        index: usize,
        filter: Option<&str>,
    ) -> Result<Answer, ApiError> {
        let mut query = vec![
            ("pageIndex", index.to_string()),
            ("pageSize", PAGE_SIZE.to_string()),
        ];
        if let Some(f) = filter {
            query.push(("filter", f.to_string()));
        }
        self.send(Method::GET, path, &query, None, WriteOptions::default())
            .await
    }
}

/// A page's answer parsed: its items, or an error naming its `pageIndex`.
fn parse_page(path: &str, index: usize, a: &Answer) -> Result<paging::Page, ApiError> {
    envelope::page(
        Origin {
            method: "GET",
            path,
            status: a.status,
        },
        &a.body,
    )
    .map_err(|e| match e {
        ApiError::Decode {
            method,
            path,
            status,
            reason,
        } => ApiError::Decode {
            method,
            path,
            status,
            reason: format!("pageIndex {index}: {reason}"),
        },
        other => other,
    })
}

fn to_live(
    kind: Kind,
    v: Value,
    method: &str,
    path: &str,
    status: u16,
) -> Result<LiveObject, ApiError> {
    LiveObject::from_json(kind, v).ok_or_else(|| without_id(kind, method, path, status))
}

fn without_id(kind: Kind, method: &str, path: &str, status: u16) -> ApiError {
    ApiError::Decode {
        method: method.into(),
        path: path.into(),
        status,
        reason: format!("a {} without an id", kind.def().label),
    }
}

#[async_trait]
impl Api for HttpApi {
    fn endpoint(&self) -> String {
        crate::redact::url_for_display(&self.root)
    }

    async fn token_account(&self) -> Option<String> {
        let token = self.auth.bearer().await.ok().flatten()?;
        super::account::from_token(token.expose_secret())
    }

    async fn pbx_instance(
        &self,
        instance_id: &str,
    ) -> Result<Option<super::PbxInstance>, ApiError> {
        let path = "/pbxs";
        let a = self
            .send(
                Method::GET,
                path,
                &[("instanceId", instance_id.to_string())],
                None,
                WriteOptions::default(),
            )
            .await?;
        let o = Origin {
            method: "GET",
            path,
            status: a.status,
        };
        Ok(super::PbxInstance::from_json(&envelope::data(o, &a.body)?))
    }

    async fn list(
        &self,
        c: Collection<'_>,
        filter: Option<&str>,
    ) -> Result<Vec<LiveObject>, ApiError> {
        let path = c.path()?;
        // A filtered look-up finds a handful at most: one page, then one more to see it
        // end, never a speculative round of several.
        // The users' Get All documents no paging: one request, unless its page came back
        // full (then it is paged like the rest, so a capped page never hides users).
        let single = match c.kind {
            Kind::Customer => false,
            // A customer's PBX profiles are a handful, like its users: one request.
            Kind::PbxConnection | Kind::User => true,
        };
        if single {
            let first = self
                .page(&path, 0, filter)
                .await
                .map_err(|e| self.collection_not_found(e))?;
            let cap = first.page_size.unwrap_or(PAGE_SIZE).min(PAGE_SIZE);
            if first.items.len() < cap {
                return first
                    .items
                    .into_iter()
                    .map(|v| to_live(c.kind, v, "GET", &path, 200))
                    .collect();
            }
        }
        let bounds = self.paging(filter);
        paging::fetch_all_into(
            &path,
            bounds,
            |i| self.page(&path, i, filter),
            |v| to_live(c.kind, v, "GET", &path, 200),
        )
        .await
        .map_err(|e| self.collection_not_found(e))
    }

    /// The customers, each made compact ([`LiveCustomer`]) as its page arrives rather than
    /// after the whole listing (at 100,000 customers the JSON values would take several
    /// times the memory).
    async fn list_customers(&self, filter: Option<&str>) -> Result<Vec<LiveCustomer>, ApiError> {
        let c = Collection::CUSTOMERS;
        let path = c.path()?;
        let bounds = self.paging(filter);
        paging::fetch_all_into(&path, bounds, |i| self.customer_page(&path, i, filter), Ok)
            .await
            .map_err(|e| self.collection_not_found(e))
    }

    async fn get(&self, c: Collection<'_>, id: &str) -> Result<LiveObject, ApiError> {
        let path = c.item_path(id)?;
        let a = self
            .send(Method::GET, &path, &[], None, WriteOptions::default())
            .await?;
        let o = Origin {
            method: "GET",
            path: &path,
            status: a.status,
        };
        to_live(c.kind, envelope::data(o, &a.body)?, "GET", &path, a.status)
    }

    async fn create(
        &self,
        c: Collection<'_>,
        body: &Map<String, Value>,
        opts: WriteOptions,
    ) -> Result<CreateAnswer, ApiError> {
        let path = c.path()?;
        let a = self
            .send(
                Method::POST,
                &path,
                &[],
                Some(&Value::Object(body.clone())),
                opts,
            )
            .await?;
        let o = Origin {
            method: "POST",
            path: &path,
            status: a.status,
        };
        let data = super::without_echoed_secrets(c.kind, envelope::data(o, &a.body)?);
        CreateAnswer::from_json(c.kind, data)
            .ok_or_else(|| without_id(c.kind, "POST", &path, a.status))
    }

    async fn patch(
        &self,
        c: Collection<'_>,
        id: &str,
        ops: &[PatchOperation],
        opts: WriteOptions,
    ) -> Result<(), ApiError> {
        let path = c.item_path(id)?;
        let body = serde_json::to_value(ops).map_err(|e| ApiError::Config(e.to_string()))?;
        // An array append applied twice adds two elements: such a PATCH is never re-sent
        // blindly after a lost answer (the executor reads back and decides).
        let never_blind = !super::patch_is_idempotent(ops);
        self.send_with(Method::PATCH, &path, &[], Some(&body), opts, never_blind)
            .await?;
        Ok(())
    }

    async fn delete(&self, c: Collection<'_>, id: &str) -> Result<(), ApiError> {
        let path = c.item_path(id)?;
        self.send(Method::DELETE, &path, &[], None, WriteOptions::default())
            .await?;
        Ok(())
    }
}

/// Read a body up to [`MAX_BODY_BYTES`]; `Ok(Err(status))` when it is longer.
async fn read_capped(
    mut resp: reqwest::Response,
) -> Result<Result<bytes::Bytes, u16>, reqwest::Error> {
    let status = resp.status().as_u16();
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Ok(Err(status));
    }
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = resp.chunk().await? {
        if buf.len() + chunk.len() > MAX_BODY_BYTES {
            return Ok(Err(status));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Ok(buf.freeze()))
}
