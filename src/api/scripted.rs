//! A scripted fault wrapper around any [`Api`], for tests: it forwards every request to
//! the wrapped store (usually the in-process sandbox) except where a scripted rule says
//! otherwise, and records what it was asked.
//!
//! Rules are per method and target (the id for get, patch and delete; the identity value
//! of the create body, e.g. a customer's reference, for create; the filter for list; `*`
//! for any) and are used up in order, one per request. A [`Fault`] can lose the answer
//! of a write that was or was not forwarded, refuse it with 402 or another status without
//! forwarding it, answer OK without forwarding it (or forward it without some fields),
//! or forward it only later, after more requests have been made (a late commit).
//!
//! It must not decide anything about the resources themselves: the wrapped store's rules
//! stay the rules. It records write bodies as sent, secret values included, in memory
//! only: it is test support and never prints or saves them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{Api, ApiError, Collection, CreateAnswer, PatchOperation, WriteOptions};
use crate::model::{Kind, LiveCustomer, LiveObject};

/// The request methods a rule can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    List,
    Get,
    Create,
    Patch,
    Delete,
}

impl Method {
    /// The HTTP verb, as the log and errors name it.
    pub fn verb(self) -> &'static str {
        match self {
            Method::List | Method::Get => "GET",
            Method::Create => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    fn log_word(self) -> &'static str {
        match self {
            Method::List => "LIST",
            other => other.verb(),
        }
    }
}

/// What happens to one request a rule matches.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Forward it, then lose the answer (the connection is reset): the write was made.
    CommitThenLose,
    /// Lose it before it is forwarded (the connection is reset): nothing was made.
    LoseWithoutCommit,
    /// Forward it, then time out waiting for the answer: the write was made.
    CommitThenTimeout,
    /// Time out before it is forwarded: nothing was made.
    TimeoutWithoutCommit,
    /// 402 Payment Required; not forwarded.
    Charges,
    /// This error status (404 as [`ApiError::NotFound`]); not forwarded.
    Status(u16),
    /// Answered OK but not forwarded: the server ignored the write. A create answers
    /// with a made-up id that no read will ever show.
    Ignore,
    /// Forwarded without these top-level fields (the server ignored them), answered as
    /// the wrapped store answers.
    IgnoreFields(Vec<String>),
    /// Not forwarded now and the answer is lost (the connection is reset); forwarded (the
    /// write commits late) just before the `after`-th request that follows it.
    LateCommit { after: usize },
}

/// A write held back by [`Fault::LateCommit`].
enum Held {
    Create {
        kind: Kind,
        parent_id: Option<String>,
        body: Map<String, Value>,
        opts: WriteOptions,
    },
    Patch {
        kind: Kind,
        parent_id: Option<String>,
        id: String,
        ops: Vec<PatchOperation>,
        opts: WriteOptions,
    },
    Delete {
        kind: Kind,
        parent_id: Option<String>,
        id: String,
    },
}

/// What the wrapper saw, and what is still scripted.
#[derive(Default)]
pub struct Record {
    /// One entry per request as it arrived: `LIST`, `LIST <filter>`, `GET <id>`,
    /// `POST <identity>`, `PATCH <id>`, `DELETE <id>`.
    pub log: Vec<String>,
    /// Every write body as sent to the wrapper (create bodies and patch operations as
    /// JSON; secrets included, to prove they were resolved there).
    pub bodies: Vec<String>,
    /// The options of every create and patch.
    pub write_opts: Vec<WriteOptions>,
    /// Writes being handled right now, and the most there ever were at once.
    pub in_flight: usize,
    pub max_in_flight: usize,
    rules: HashMap<(Method, String), VecDeque<Fault>>,
    always: HashMap<(Method, String), Fault>,
    held: Vec<(usize, Held)>,
    made_up_ids: u64,
}

type Hook = Arc<dyn Fn(Method) + Send + Sync>;

/// The wrapper: forwards to `inner` except where scripted.
pub struct Scripted {
    inner: Arc<dyn Api>,
    record: Mutex<Record>,
    before_write: Mutex<Option<Hook>>,
}

impl Scripted {
    /// Wrap `inner`; nothing is scripted yet.
    pub fn new(inner: Arc<dyn Api>) -> Scripted {
        Scripted {
            inner,
            record: Mutex::new(Record::default()),
            before_write: Mutex::new(None),
        }
    }

    /// The wrapped store, to arrange or inspect state without going through the script
    /// (and without being recorded).
    pub fn inner(&self) -> &Arc<dyn Api> {
        &self.inner
    }

    /// Script the next requests of `method` on `target` (`*` for any): one fault per
    /// request, in order; requests after them are forwarded.
    pub fn script(&self, method: Method, target: &str, faults: impl IntoIterator<Item = Fault>) {
        self.record()
            .rules
            .entry((method, target.to_string()))
            .or_default()
            .extend(faults);
    }

    /// Script every request of `method` on `target` (`*` for any) with `fault`, once the
    /// one-off rules for it are used up.
    pub fn always(&self, method: Method, target: &str, fault: Fault) {
        self.record()
            .always
            .insert((method, target.to_string()), fault);
    }

    /// Call `hook` before each write is handled (e.g. to interrupt a run mid-way).
    pub fn before_write(&self, hook: impl Fn(Method) + Send + Sync + 'static) {
        *self.before_write.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(hook));
    }

    /// What was recorded so far (and the script).
    pub fn record(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The log of requests.
    pub fn log(&self) -> Vec<String> {
        self.record().log.clone()
    }

    /// The log of writes only (no `GET`, no `LIST`).
    pub fn writes(&self) -> Vec<String> {
        self.record()
            .log
            .iter()
            .filter(|l| !l.starts_with("GET") && !l.starts_with("LIST"))
            .cloned()
            .collect()
    }

    /// How many log entries are exactly `entry`.
    pub fn count(&self, entry: &str) -> usize {
        self.record().log.iter().filter(|l| *l == entry).count()
    }

    /// Log the request, count it against held writes, and take the fault scripted for it.
    /// Returns the fault and the writes whose late commit is due now.
    fn arrive(&self, method: Method, target: &str) -> (Option<Fault>, Vec<Held>) {
        let mut r = self.record();
        r.log.push(if target.is_empty() {
            method.log_word().to_string()
        } else {
            format!("{} {target}", method.log_word())
        });
        let mut due = Vec::new();
        let mut kept = Vec::new();
        for (left, held) in std::mem::take(&mut r.held) {
            if left <= 1 {
                due.push(held);
            } else {
                kept.push((left - 1, held));
            }
        }
        r.held = kept;
        let mut fault = None;
        for key in [(method, target.to_string()), (method, "*".to_string())] {
            if let Some(f) = r.rules.get_mut(&key).and_then(VecDeque::pop_front) {
                fault = Some(f);
                break;
            }
        }
        if fault.is_none() {
            fault = [(method, target.to_string()), (method, "*".to_string())]
                .iter()
                .find_map(|k| r.always.get(k).cloned());
        }
        (fault, due)
    }

    /// Forward writes whose late commit is due. Their answers go nowhere.
    async fn commit_late(&self, due: Vec<Held>) {
        for held in due {
            let _ = match held {
                Held::Create {
                    kind,
                    parent_id,
                    body,
                    opts,
                } => self
                    .inner
                    .create(Collection::new(kind, parent_id.as_deref()), &body, opts)
                    .await
                    .map(|_| ()),
                Held::Patch {
                    kind,
                    parent_id,
                    id,
                    ops,
                    opts,
                } => {
                    self.inner
                        .patch(Collection::new(kind, parent_id.as_deref()), &id, &ops, opts)
                        .await
                }
                Held::Delete {
                    kind,
                    parent_id,
                    id,
                } => {
                    self.inner
                        .delete(Collection::new(kind, parent_id.as_deref()), &id)
                        .await
                }
            };
        }
    }

    /// Start a write: the hook, the in-flight count, a few yields so concurrent writes
    /// overlap as they would on a network.
    async fn enter(&self, method: Method) {
        let hook = self
            .before_write
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(h) = hook {
            h(method);
        }
        {
            let mut r = self.record();
            r.in_flight += 1;
            r.max_in_flight = r.max_in_flight.max(r.in_flight);
        }
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
    }

    fn leave(&self) {
        let mut r = self.record();
        r.in_flight = r.in_flight.saturating_sub(1);
    }

    fn hold(&self, after: usize, held: Held) {
        self.record().held.push((after.max(1), held));
    }
}

/// The error a faulted request answers with.
fn error(method: Method, path: &str, fault: &Fault) -> ApiError {
    let (m, p) = (method.verb().to_string(), path.to_string());
    let lost = |reason: &str| {
        if method == Method::Create {
            ApiError::AmbiguousCreate {
                method: m.clone(),
                path: p.clone(),
                reason: reason.into(),
            }
        } else {
            ApiError::Transport {
                method: m.clone(),
                path: p.clone(),
                reason: reason.into(),
            }
        }
    };
    match fault {
        Fault::Charges => ApiError::ChargesRequired { method: m, path: p },
        Fault::Status(404) => ApiError::NotFound { method: m, path: p },
        Fault::Status(status) => ApiError::Status {
            method: m,
            path: p,
            status: *status,
            message: "scripted failure".into(),
        },
        Fault::CommitThenTimeout | Fault::TimeoutWithoutCommit => {
            lost("timed out waiting for the answer (scripted)")
        }
        _ => lost("connection reset (scripted)"),
    }
}

/// The value of the kind's first identity field in a create body.
fn identity_of(kind: Kind, body: &Map<String, Value>) -> String {
    kind.def()
        .identity
        .iter()
        .find_map(|f| body.get(*f).and_then(Value::as_str))
        .unwrap_or("")
        .to_string()
}

fn without_fields(body: &Map<String, Value>, fields: &[String]) -> Map<String, Value> {
    body.iter()
        .filter(|(k, _)| !fields.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn ops_without_fields(ops: &[PatchOperation], fields: &[String]) -> Vec<PatchOperation> {
    ops.iter()
        .filter(|op| {
            let path = op.path().as_str();
            let first = path.strip_prefix('/').unwrap_or(path);
            let first = first.split('/').next().unwrap_or("");
            !fields.iter().any(|f| f == first)
        })
        .cloned()
        .collect()
}

#[async_trait]
impl Api for Scripted {
    fn endpoint(&self) -> String {
        self.inner.endpoint()
    }

    async fn token_account(&self) -> Option<String> {
        self.inner.token_account().await
    }

    async fn account(&self, live: &[LiveCustomer]) -> Option<String> {
        self.inner.account(live).await
    }

    async fn list(
        &self,
        c: Collection<'_>,
        filter: Option<&str>,
    ) -> Result<Vec<LiveObject>, ApiError> {
        let (fault, due) = self.arrive(Method::List, filter.unwrap_or(""));
        self.commit_late(due).await;
        match fault {
            None | Some(Fault::IgnoreFields(_)) => self.inner.list(c, filter).await,
            Some(f) => Err(error(Method::List, &c.path()?, &f)),
        }
    }

    async fn get(&self, c: Collection<'_>, id: &str) -> Result<LiveObject, ApiError> {
        let (fault, due) = self.arrive(Method::Get, id);
        self.commit_late(due).await;
        match fault {
            None | Some(Fault::IgnoreFields(_)) => self.inner.get(c, id).await,
            Some(f) => Err(error(Method::Get, &c.item_path(id)?, &f)),
        }
    }

    async fn create(
        &self,
        c: Collection<'_>,
        body: &Map<String, Value>,
        opts: WriteOptions,
    ) -> Result<CreateAnswer, ApiError> {
        let method = Method::Create;
        self.enter(method).await;
        let (fault, due) = self.arrive(method, &identity_of(c.kind, body));
        {
            let mut r = self.record();
            r.bodies
                .push(serde_json::to_string(body).unwrap_or_default());
            r.write_opts.push(opts);
        }
        self.commit_late(due).await;
        let path = c.path()?;
        let result = match fault {
            None => self.inner.create(c, body, opts).await,
            Some(Fault::IgnoreFields(fields)) => {
                self.inner
                    .create(c, &without_fields(body, &fields), opts)
                    .await
            }
            Some(Fault::Ignore) => {
                let mut r = self.record();
                r.made_up_ids += 1;
                Ok(CreateAnswer::IdOnly(format!("ignored-{}", r.made_up_ids)))
            }
            Some(Fault::LateCommit { after }) => {
                self.hold(
                    after,
                    Held::Create {
                        kind: c.kind,
                        parent_id: c.parent_id.map(String::from),
                        body: body.clone(),
                        opts,
                    },
                );
                Err(error(method, &path, &Fault::LateCommit { after }))
            }
            Some(f @ (Fault::CommitThenLose | Fault::CommitThenTimeout)) => {
                let _ = self.inner.create(c, body, opts).await;
                Err(error(method, &path, &f))
            }
            Some(f) => Err(error(method, &path, &f)),
        };
        self.leave();
        result
    }

    async fn patch(
        &self,
        c: Collection<'_>,
        id: &str,
        ops: &[PatchOperation],
        opts: WriteOptions,
    ) -> Result<(), ApiError> {
        let method = Method::Patch;
        self.enter(method).await;
        let (fault, due) = self.arrive(method, id);
        {
            let mut r = self.record();
            r.bodies
                .push(serde_json::to_string(ops).unwrap_or_default());
            r.write_opts.push(opts);
        }
        self.commit_late(due).await;
        let path = c.item_path(id)?;
        let result = match fault {
            None => self.inner.patch(c, id, ops, opts).await,
            Some(Fault::IgnoreFields(fields)) => {
                self.inner
                    .patch(c, id, &ops_without_fields(ops, &fields), opts)
                    .await
            }
            Some(Fault::Ignore) => Ok(()),
            Some(Fault::LateCommit { after }) => {
                self.hold(
                    after,
                    Held::Patch {
                        kind: c.kind,
                        parent_id: c.parent_id.map(String::from),
                        id: id.to_string(),
                        ops: ops.to_vec(),
                        opts,
                    },
                );
                Err(error(method, &path, &Fault::LateCommit { after }))
            }
            Some(f @ (Fault::CommitThenLose | Fault::CommitThenTimeout)) => {
                let _ = self.inner.patch(c, id, ops, opts).await;
                Err(error(method, &path, &f))
            }
            Some(f) => Err(error(method, &path, &f)),
        };
        self.leave();
        result
    }

    async fn delete(&self, c: Collection<'_>, id: &str) -> Result<(), ApiError> {
        let method = Method::Delete;
        self.enter(method).await;
        let (fault, due) = self.arrive(method, id);
        self.commit_late(due).await;
        let path = c.item_path(id)?;
        let result = match fault {
            None | Some(Fault::IgnoreFields(_)) => self.inner.delete(c, id).await,
            Some(Fault::Ignore) => Ok(()),
            Some(Fault::LateCommit { after }) => {
                self.hold(
                    after,
                    Held::Delete {
                        kind: c.kind,
                        parent_id: c.parent_id.map(String::from),
                        id: id.to_string(),
                    },
                );
                Err(error(method, &path, &Fault::LateCommit { after }))
            }
            Some(f @ (Fault::CommitThenLose | Fault::CommitThenTimeout)) => {
                let _ = self.inner.delete(c, id).await;
                Err(error(method, &path, &f))
            }
            Some(f) => Err(error(method, &path, &f)),
        };
        self.leave();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::InProcess;
    use serde_json::json;

    fn body(reference: &str) -> Map<String, Value> {
        match json!({"reference": reference, "name": "N"}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    const CHARGES: WriteOptions = WriteOptions {
        accept_charges: true,
    };

    #[tokio::test]
    async fn rules_are_used_in_order_specific_first_then_always_then_forwarded() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox: Arc<dyn Api> = Arc::new(InProcess::open(&dir.path().join("s.json")).unwrap());
        let api = Scripted::new(sandbox.clone());
        let c = Collection::CUSTOMERS;
        api.script(Method::Create, "a", [Fault::Status(409)]);
        api.script(Method::Create, "*", [Fault::Charges]);
        api.always(Method::Create, "b", Fault::Status(503));
        // `a`: its own rule, then the `*` rule, then forwarded.
        let first = api.create(c, &body("a"), CHARGES).await.unwrap_err();
        assert_eq!(first.status(), Some(409));
        let second = api.create(c, &body("a"), CHARGES).await.unwrap_err();
        assert!(
            matches!(second, ApiError::ChargesRequired { .. }),
            "{second}"
        );
        let made = api.create(c, &body("a"), CHARGES).await.unwrap();
        // `b`: always refused.
        for _ in 0..2 {
            let e = api.create(c, &body("b"), CHARGES).await.unwrap_err();
            assert_eq!(e.status(), Some(503));
        }
        let live = sandbox.list(c, None).await.unwrap();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].id, made.id());
        assert_eq!(
            api.writes(),
            ["POST a", "POST a", "POST a", "POST b", "POST b"]
        );
    }

    #[tokio::test]
    async fn lost_answers_say_whether_the_write_was_made_only_through_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox: Arc<dyn Api> = Arc::new(InProcess::open(&dir.path().join("s.json")).unwrap());
        let api = Scripted::new(sandbox.clone());
        let c = Collection::CUSTOMERS;
        api.script(Method::Create, "made", [Fault::CommitThenTimeout]);
        api.script(Method::Create, "lost", [Fault::LoseWithoutCommit]);
        api.script(Method::Create, "late", [Fault::LateCommit { after: 2 }]);
        for r in ["made", "lost", "late"] {
            let e = api.create(c, &body(r), CHARGES).await.unwrap_err();
            assert!(e.is_ambiguous(), "{e}");
        }
        let references = |live: Vec<LiveObject>| -> Vec<String> {
            live.iter()
                .filter_map(|o| o.fields.get("reference").and_then(Value::as_str))
                .map(String::from)
                .collect()
        };
        // The first request after the late create does not commit it yet; the second does.
        assert_eq!(references(api.list(c, None).await.unwrap()), ["made"]);
        assert_eq!(
            references(api.list(c, None).await.unwrap()),
            ["made", "late"]
        );
    }
}
