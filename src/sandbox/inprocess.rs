//! The in-process sandbox: the store behind the [`Api`] trait, no HTTP. Saves the state
//! file after every write, so a later command sees what an earlier one did.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::api::{Api, ApiError, PatchOperation, WriteOptions};
use crate::model::LiveCustomer;

use super::faults::{FaultConfig, Faults};
use super::persist;
use super::rules::SandboxError;
use super::store::{MAX_PAGE_SIZE, Store};

/// The sandbox store reached directly, as `--sandbox [FILE]` does.
#[derive(Debug)]
pub struct InProcess {
    path: PathBuf,
    store: Mutex<Store>,
    faults: Faults,
}

impl InProcess {
    /// Open (or create, empty) the state file at `path`.
    pub fn open(path: &Path) -> Result<InProcess, ApiError> {
        InProcess::with_faults(path, FaultConfig::default())
    }

    /// Open with the store-level faults that make sense without HTTP: commit-then-drop
    /// (surfacing as [`ApiError::AmbiguousCreate`] / [`ApiError::Transport`]), the trial
    /// permission and omitted fields.
    pub fn with_faults(path: &Path, config: FaultConfig) -> Result<InProcess, ApiError> {
        let mut store = persist::load(path).map_err(|e| ApiError::Config(e.to_string()))?;
        if config.no_trial_permission {
            store.parent.trial_permission = false;
        }
        if !config.omit_fields.is_empty() {
            store.omit_fields = config.omit_fields.clone();
        }
        if !path.exists() {
            persist::save(path, &store).map_err(|e| ApiError::Config(e.to_string()))?;
        }
        Ok(InProcess {
            path: path.to_path_buf(),
            store: Mutex::new(store),
            faults: Faults::new(config),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        match self.store.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn save(&self, store: &Store, method: &str, path: &str) -> Result<(), ApiError> {
        persist::save(&self.path, store).map_err(|e| ApiError::Transport {
            method: method.into(),
            path: path.into(),
            reason: e.to_string(),
        })
    }
}

/// A new GUID-like id.
pub fn new_guid() -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u16(..0x1000),
        8 + fastrand::u8(..4),
        fastrand::u16(..0x1000),
        fastrand::u64(..1 << 48)
    )
}

/// The current UTC time as the API writes it.
pub fn now_utc() -> String {
    jiff::Timestamp::now().to_string()
}

/// A store refusal as the client reports it.
pub fn to_api_error(e: SandboxError, method: &str, path: &str) -> ApiError {
    let (method, path) = (method.to_string(), path.to_string());
    match e {
        SandboxError::NotFound => ApiError::NotFound { method, path },
        SandboxError::ChargesRequired(_) => ApiError::ChargesRequired { method, path },
        SandboxError::BadRequest(message) => ApiError::Status {
            method,
            path,
            status: 400,
            message,
        },
    }
}

fn live(v: Value, method: &str, path: &str) -> Result<LiveCustomer, ApiError> {
    LiveCustomer::from_json(v).ok_or_else(|| ApiError::Decode {
        method: method.into(),
        path: path.into(),
        status: 200,
        reason: "customer without an id".into(),
    })
}

#[async_trait]
impl Api for InProcess {
    fn endpoint(&self) -> String {
        format!("sandbox:{}", self.path.display())
    }

    async fn list_customers(&self, filter: Option<&str>) -> Result<Vec<LiveCustomer>, ApiError> {
        let store = self.lock();
        let mut out = Vec::with_capacity(store.len());
        for page in 0.. {
            let items = store
                .list(page, MAX_PAGE_SIZE, filter)
                .map_err(|e| to_api_error(e, "GET", "/customers"))?;
            let short = items.len() < MAX_PAGE_SIZE;
            for v in items {
                out.push(live(v, "GET", "/customers")?);
            }
            if short {
                break;
            }
        }
        Ok(out)
    }

    async fn get_customer(&self, id: &str) -> Result<LiveCustomer, ApiError> {
        let path = format!("/customers/{id}");
        let v = self
            .lock()
            .get(id)
            .map_err(|e| to_api_error(e, "GET", &path))?;
        live(v, "GET", &path)
    }

    async fn create_customer(
        &self,
        body: &Map<String, Value>,
        opts: WriteOptions,
    ) -> Result<LiveCustomer, ApiError> {
        let path = "/customers";
        let mut store = self.lock();
        let v = store
            .create(
                &Value::Object(body.clone()),
                opts.accept_charges,
                &mut new_guid,
                &now_utc(),
            )
            .map_err(|e| to_api_error(e, "POST", path))?;
        self.save(&store, "POST", path)?;
        if self.faults.drop_after_post() {
            return Err(ApiError::AmbiguousCreate {
                method: "POST".into(),
                path: path.into(),
                reason: "connection dropped before the answer (sandbox fault)".into(),
            });
        }
        live(v, "POST", path)
    }

    async fn patch_customer(
        &self,
        id: &str,
        ops: &[PatchOperation],
        opts: WriteOptions,
    ) -> Result<(), ApiError> {
        let path = format!("/customers/{id}");
        let mut store = self.lock();
        store
            .patch(id, ops, opts.accept_charges)
            .map_err(|e| to_api_error(e, "PATCH", &path))?;
        self.save(&store, "PATCH", &path)
    }

    async fn delete_customer(&self, id: &str) -> Result<(), ApiError> {
        let path = format!("/customers/{id}");
        let mut store = self.lock();
        store
            .delete(id)
            .map_err(|e| to_api_error(e, "DELETE", &path))?;
        self.save(&store, "DELETE", &path)
    }
}
