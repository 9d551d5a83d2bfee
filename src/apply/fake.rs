//! An in-memory [`Api`] for the executor's unit tests, with scripted faults: unanswered
//! creates that did or did not commit, 402s, error statuses, ignored fields.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::Interrupt;
use crate::api::{Api, ApiError, Collection, CreateAnswer, PatchOperation, WriteOptions};
use crate::model::{Kind, LiveCustomer, LiveObject};

fn only_customers(c: Collection<'_>) -> Result<(), ApiError> {
    match (c.kind, c.parent_id) {
        (Kind::Customer, None) => Ok(()),
        _ => Err(ApiError::Config("the fake API knows customers only".into())),
    }
}

fn live_object(c: LiveCustomer) -> LiveObject {
    LiveObject {
        kind: Kind::Customer,
        id: c.id,
        fields: c.fields,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Carry the write out, then lose the answer.
    CommitThenLose,
    /// Lose the request: nothing happens, the caller cannot tell.
    LoseWithoutCommit,
    /// 402 Payment Required, not actioned.
    Charges,
    /// This status, not actioned.
    Status(u16),
}

#[derive(Default)]
pub struct State {
    pub customers: BTreeMap<String, Map<String, Value>>,
    pub next_id: u64,
    /// One entry per request: "LIST", "LIST ref", "GET id", "POST ref", "PATCH id", "DELETE id".
    pub log: Vec<String>,
    /// Every write body as sent (to prove secrets were resolved there).
    pub bodies: Vec<String>,
    pub write_opts: Vec<WriteOptions>,
    pub create_faults: HashMap<String, VecDeque<Fault>>,
    pub patch_faults: HashMap<String, VecDeque<Fault>>,
    pub delete_faults: HashMap<String, VecDeque<Fault>>,
    /// Writes to these fields are silently ignored by the "server".
    pub ignore_fields: Vec<String>,
    pub list_fails: bool,
    pub in_flight: usize,
    pub max_in_flight: usize,
}

pub struct Fake {
    pub state: Mutex<State>,
    /// Triggered on the first PATCH (to test interruption mid-run).
    pub interrupt_on_patch: Option<Interrupt>,
}

fn err(method: &str, path: &str, status: u16) -> ApiError {
    ApiError::Status {
        method: method.into(),
        path: path.into(),
        status,
        message: "fake failure".into(),
    }
}

impl Fake {
    pub fn new() -> Self {
        Fake {
            state: Mutex::new(State::default()),
            interrupt_on_patch: None,
        }
    }

    pub fn s(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// Add a customer; returns its id.
    pub fn insert(&self, fields: Value) -> String {
        let mut s = self.s();
        s.next_id += 1;
        let id = format!("c{}", s.next_id);
        let Value::Object(mut m) = fields else {
            panic!("object")
        };
        m.insert("id".into(), Value::String(id.clone()));
        s.customers.insert(id.clone(), m);
        id
    }

    pub fn live(&self, id: &str) -> LiveCustomer {
        LiveCustomer::from_json(Value::Object(self.s().customers[id].clone())).unwrap()
    }

    pub fn id_of(&self, reference: &str) -> String {
        let s = self.s();
        s.customers
            .iter()
            .find(|(_, c)| c.get("reference").and_then(Value::as_str) == Some(reference))
            .map(|(id, _)| id.clone())
            .unwrap()
    }

    pub fn count_reference(&self, reference: &str) -> usize {
        self.s()
            .customers
            .values()
            .filter(|c| c.get("reference").and_then(Value::as_str) == Some(reference))
            .count()
    }

    pub fn writes(&self) -> Vec<String> {
        self.s()
            .log
            .iter()
            .filter(|l| !l.starts_with("GET") && !l.starts_with("LIST"))
            .cloned()
            .collect()
    }

    async fn enter(&self) {
        {
            let mut s = self.s();
            s.in_flight += 1;
            s.max_in_flight = s.max_in_flight.max(s.in_flight);
        }
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
    }

    fn leave(&self) {
        self.s().in_flight -= 1;
    }

    fn next_fault(map: &mut HashMap<String, VecDeque<Fault>>, key: &str) -> Option<Fault> {
        map.get_mut(key).and_then(VecDeque::pop_front)
    }
}

fn lost(method: &str, path: &str) -> ApiError {
    if method == "POST" {
        ApiError::AmbiguousCreate {
            method: method.into(),
            path: path.into(),
            reason: "connection reset".into(),
        }
    } else {
        ApiError::Transport {
            method: method.into(),
            path: path.into(),
            reason: "connection reset".into(),
        }
    }
}

#[async_trait]
impl Api for Fake {
    fn endpoint(&self) -> String {
        "fake".into()
    }

    // The fake knows customers only: the generic methods call its customer methods.
    async fn list(
        &self,
        c: Collection<'_>,
        filter: Option<&str>,
    ) -> Result<Vec<LiveObject>, ApiError> {
        only_customers(c)?;
        let items = self.list_customers(filter).await?;
        Ok(items.into_iter().map(live_object).collect())
    }

    async fn get(&self, c: Collection<'_>, id: &str) -> Result<LiveObject, ApiError> {
        only_customers(c)?;
        self.get_customer(id).await.map(live_object)
    }

    async fn create(
        &self,
        c: Collection<'_>,
        body: &Map<String, Value>,
        opts: WriteOptions,
    ) -> Result<CreateAnswer, ApiError> {
        only_customers(c)?;
        let created = self.create_customer(body, opts).await?;
        Ok(CreateAnswer::Object(live_object(created)))
    }

    async fn patch(
        &self,
        c: Collection<'_>,
        id: &str,
        ops: &[PatchOperation],
        opts: WriteOptions,
    ) -> Result<(), ApiError> {
        only_customers(c)?;
        self.patch_customer(id, ops, opts).await
    }

    async fn delete(&self, c: Collection<'_>, id: &str) -> Result<(), ApiError> {
        only_customers(c)?;
        self.delete_customer(id).await
    }

    async fn list_customers(&self, filter: Option<&str>) -> Result<Vec<LiveCustomer>, ApiError> {
        let mut s = self.s();
        s.log.push(match filter {
            Some(f) => format!("LIST {f}"),
            None => "LIST".into(),
        });
        if s.list_fails {
            return Err(err("GET", "/customers", 503));
        }
        Ok(s.customers
            .values()
            .filter(|c| match filter {
                None => true,
                Some(f) => ["name", "reference"].iter().any(|k| {
                    c.get(*k)
                        .and_then(Value::as_str)
                        .is_some_and(|v| v.contains(f))
                }),
            })
            .filter_map(|c| LiveCustomer::from_json(Value::Object(c.clone())))
            .collect())
    }

    async fn get_customer(&self, id: &str) -> Result<LiveCustomer, ApiError> {
        let mut s = self.s();
        s.log.push(format!("GET {id}"));
        s.customers
            .get(id)
            .and_then(|c| LiveCustomer::from_json(Value::Object(c.clone())))
            .ok_or(ApiError::NotFound {
                method: "GET".into(),
                path: format!("/customers/{id}"),
            })
    }

    async fn create_customer(
        &self,
        body: &Map<String, Value>,
        opts: WriteOptions,
    ) -> Result<LiveCustomer, ApiError> {
        self.enter().await;
        let reference = body
            .get("reference")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let fault = {
            let mut s = self.s();
            s.log.push(format!("POST {reference}"));
            s.bodies.push(serde_json::to_string(body).unwrap());
            s.write_opts.push(opts);
            Fake::next_fault(&mut s.create_faults, &reference)
        };
        let result = match fault {
            Some(Fault::Charges) => Err(ApiError::ChargesRequired {
                method: "POST".into(),
                path: "/customers".into(),
            }),
            Some(Fault::Status(code)) => Err(err("POST", "/customers", code)),
            Some(Fault::LoseWithoutCommit) => Err(lost("POST", "/customers")),
            other => {
                let mut fields = body.clone();
                let ignore = self.s().ignore_fields.clone();
                for f in ignore {
                    fields.remove(&f);
                }
                let id = self.insert(Value::Object(fields));
                if other == Some(Fault::CommitThenLose) {
                    Err(lost("POST", "/customers"))
                } else {
                    Ok(self.live(&id))
                }
            }
        };
        self.leave();
        result
    }

    async fn patch_customer(
        &self,
        id: &str,
        ops: &[PatchOperation],
        opts: WriteOptions,
    ) -> Result<(), ApiError> {
        if let Some(i) = &self.interrupt_on_patch {
            i.trigger();
        }
        self.enter().await;
        let path = format!("/customers/{id}");
        let fault = {
            let mut s = self.s();
            s.log.push(format!("PATCH {id}"));
            s.bodies.push(serde_json::to_string(ops).unwrap());
            s.write_opts.push(opts);
            Fake::next_fault(&mut s.patch_faults, id)
        };
        let result = match fault {
            Some(Fault::Charges) => Err(ApiError::ChargesRequired {
                method: "PATCH".into(),
                path,
            }),
            Some(Fault::Status(code)) => Err(err("PATCH", &path, code)),
            Some(Fault::LoseWithoutCommit) => Err(lost("PATCH", &path)),
            other => {
                let mut s = self.s();
                let ignore = s.ignore_fields.clone();
                let kept: Vec<PatchOperation> = ops
                    .iter()
                    .filter(|op| {
                        let p = serde_json::to_value(op).unwrap()["path"]
                            .as_str()
                            .unwrap()
                            .to_string();
                        !ignore.iter().any(|f| p == format!("/{f}"))
                    })
                    .cloned()
                    .collect();
                match s.customers.get_mut(id) {
                    None => Err(ApiError::NotFound {
                        method: "PATCH".into(),
                        path,
                    }),
                    Some(c) => {
                        let mut doc = Value::Object(c.clone());
                        match json_patch::patch(&mut doc, &kept) {
                            Ok(()) => {
                                if let Value::Object(m) = doc {
                                    *c = m;
                                }
                                if other == Some(Fault::CommitThenLose) {
                                    Err(lost("PATCH", &path))
                                } else {
                                    Ok(())
                                }
                            }
                            Err(_) => Err(err("PATCH", &path, 400)),
                        }
                    }
                }
            }
        };
        self.leave();
        result
    }

    async fn delete_customer(&self, id: &str) -> Result<(), ApiError> {
        self.enter().await;
        let path = format!("/customers/{id}");
        let (removed, fault) = {
            let mut s = self.s();
            s.log.push(format!("DELETE {id}"));
            let fault = s.delete_faults.get_mut(id).and_then(VecDeque::pop_front);
            match fault {
                Some(Fault::Status(_) | Fault::LoseWithoutCommit | Fault::Charges) => (None, fault),
                _ => (s.customers.remove(id), fault),
            }
        };
        self.leave();
        match fault {
            Some(Fault::Status(code)) => return Err(err("DELETE", &path, code)),
            Some(Fault::LoseWithoutCommit) | Some(Fault::CommitThenLose) => {
                return Err(lost("DELETE", &path));
            }
            _ => {}
        }
        match removed {
            Some(_) => Ok(()),
            None => Err(ApiError::NotFound {
                method: "DELETE".into(),
                path: format!("/customers/{id}"),
            }),
        }
    }
}
