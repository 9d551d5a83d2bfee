//! The in-process sandbox: the store behind the [`Api`] trait, no HTTP. Saves the state
//! file after every write, so a later command sees what an earlier one did.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::api::{Api, ApiError, Collection, CreateAnswer, PatchOperation, WriteOptions};
use crate::model::{Kind, LiveObject};

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

    /// Open with the store-level faults that make sense without HTTP: commit-then-drop for
    /// POST and PATCH (surfacing as [`ApiError::AmbiguousCreate`] / [`ApiError::Transport`]
    /// after the write is committed), the trial permission and omitted fields.
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

fn live(kind: Kind, v: Value, method: &str, path: &str) -> Result<LiveObject, ApiError> {
    LiveObject::from_json(kind, v).ok_or_else(|| ApiError::Decode {
        method: method.into(),
        path: path.into(),
        status: 200,
        reason: format!("{} without an id", kind.def().label),
    })
}

#[async_trait]
impl Api for InProcess {
    fn endpoint(&self) -> String {
        format!("sandbox:{}", self.path.display())
    }

    async fn list(
        &self,
        c: Collection<'_>,
        filter: Option<&str>,
    ) -> Result<Vec<LiveObject>, ApiError> {
        let path = c.path()?;
        let store = self.lock();
        let mut out = Vec::with_capacity(store.collection(c.kind).len());
        for page in 0.. {
            let items = store
                .list_in(c.kind, c.parent_id, page, MAX_PAGE_SIZE, filter)
                .map_err(|e| to_api_error(e, "GET", &path))?;
            let short = items.len() < MAX_PAGE_SIZE;
            for v in items {
                out.push(live(c.kind, v, "GET", &path)?);
            }
            if short {
                break;
            }
        }
        Ok(out)
    }

    async fn get(&self, c: Collection<'_>, id: &str) -> Result<LiveObject, ApiError> {
        let path = c.item_path(id)?;
        let v = self
            .lock()
            .get_in(c.kind, c.parent_id, id)
            .map_err(|e| to_api_error(e, "GET", &path))?;
        live(c.kind, v, "GET", &path)
    }

    async fn create(
        &self,
        c: Collection<'_>,
        body: &Map<String, Value>,
        opts: WriteOptions,
    ) -> Result<CreateAnswer, ApiError> {
        let path = c.path()?;
        let mut store = self.lock();
        let v = store
            .create_in(
                c.kind,
                c.parent_id,
                &Value::Object(body.clone()),
                opts.accept_charges,
                &mut new_guid,
                &now_utc(),
            )
            .map_err(|e| to_api_error(e, "POST", &path))?;
        self.save(&store, "POST", &path)?;
        if self.faults.drop_after_post() {
            return Err(ApiError::AmbiguousCreate {
                method: "POST".into(),
                path,
                reason: "connection dropped before the answer (sandbox fault)".into(),
            });
        }
        Ok(CreateAnswer::Object(live(c.kind, v, "POST", &path)?))
    }

    async fn patch(
        &self,
        c: Collection<'_>,
        id: &str,
        ops: &[PatchOperation],
        opts: WriteOptions,
    ) -> Result<(), ApiError> {
        let path = c.item_path(id)?;
        let mut store = self.lock();
        store
            .patch_in(c.kind, c.parent_id, id, ops, opts.accept_charges)
            .map_err(|e| to_api_error(e, "PATCH", &path))?;
        self.save(&store, "PATCH", &path)?;
        if self.faults.drop_after_patch() {
            return Err(ApiError::Transport {
                method: "PATCH".into(),
                path,
                reason: "connection dropped before the answer (sandbox fault)".into(),
            });
        }
        Ok(())
    }

    async fn delete(&self, c: Collection<'_>, id: &str) -> Result<(), ApiError> {
        let path = c.item_path(id)?;
        let mut store = self.lock();
        store
            .delete_in(c.kind, c.parent_id, id)
            .map_err(|e| to_api_error(e, "DELETE", &path))?;
        self.save(&store, "DELETE", &path)
    }
}
