//! The in-process sandbox: the store behind the [`Api`] trait, no HTTP. Every operation
//! holds an exclusive file lock on `STATE.lock` (beside the state file), re-reads the
//! state file when another process changed it, and saves it before returning from a
//! write, so two processes using one `--sandbox` state file serialise and neither loses
//! the other's writes.

use std::fs::File;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

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
    store: Mutex<Loaded>,
    faults: Faults,
}

/// The store as last read or written, and the state file's stamp then.
#[derive(Debug)]
struct Loaded {
    store: Store,
    stamp: Option<(SystemTime, u64, u64)>,
}

/// The store under both locks (this process's mutex and the cross-process file lock).
struct Locked<'a> {
    loaded: MutexGuard<'a, Loaded>,
    _file: File,
}

impl Deref for Locked<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.loaded.store
    }
}

impl DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.loaded.store
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let _ = self._file.unlock();
    }
}

/// What identifies one saved version of the state file: every save renames a new file
/// into place, so its inode changes too.
fn stamp(path: &Path) -> Option<(SystemTime, u64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Some((m.modified().ok()?, m.len(), ino))
}

/// The lock file beside a state file.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "sandbox.json".into());
    name.push(".lock");
    state.with_file_name(name)
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
        let overrides = (config.no_trial_permission, config.omit_fields.clone());
        let api = InProcess {
            path: path.to_path_buf(),
            store: Mutex::new(Loaded { store, stamp: None }),
            faults: Faults::new(config),
        };
        let mut locked = api.lock("GET", "/customers")?;
        // The file as it is under the lock, with this run's fault overrides.
        if overrides.0 {
            locked.parent.trial_permission = false;
        }
        if !overrides.1.is_empty() {
            locked.omit_fields = overrides.1;
        }
        persist::remove_stale_temps(path);
        if !path.exists() {
            api.save(&mut locked, "GET", "/customers")
                .map_err(|e| ApiError::Config(e.to_string()))?;
        }
        drop(locked);
        Ok(api)
    }

    /// Take the process mutex and the file lock; re-read the state file when another
    /// process changed it since this one last read or wrote it.
    fn lock(&self, method: &str, path: &str) -> Result<Locked<'_>, ApiError> {
        let mut loaded = match self.store.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let fail = |reason: String| ApiError::Transport {
            method: method.into(),
            path: path.into(),
            reason,
        };
        let lock = lock_path(&self.path);
        if let Some(dir) = lock.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(|e| {
                fail(format!(
                    "cannot open the sandbox lock {}: {e}",
                    lock.display()
                ))
            })?;
        file.lock()
            .map_err(|e| fail(format!("cannot lock {}: {e}", lock.display())))?;
        let now = stamp(&self.path);
        if now.is_some() && now != loaded.stamp {
            let mut store = persist::load(&self.path).map_err(|e| fail(e.to_string()))?;
            // Fault overrides of this run stay in force over what another process saved.
            if self.faults.config.no_trial_permission {
                store.parent.trial_permission = false;
            }
            if !self.faults.config.omit_fields.is_empty() {
                store.omit_fields = self.faults.config.omit_fields.clone();
            }
            loaded.store = store;
            loaded.stamp = now;
        }
        Ok(Locked {
            loaded,
            _file: file,
        })
    }

    fn save(&self, locked: &mut Locked<'_>, method: &str, path: &str) -> Result<(), ApiError> {
        persist::save(&self.path, &locked.loaded.store).map_err(|e| ApiError::Transport {
            method: method.into(),
            path: path.into(),
            reason: e.to_string(),
        })?;
        locked.loaded.stamp = stamp(&self.path);
        Ok(())
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
        other @ (SandboxError::BadRequest(_)
        | SandboxError::Conflict(_)
        | SandboxError::TenantNotPrimary) => ApiError::Status {
            method,
            path,
            status: other.status(),
            message: other.message(),
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

    async fn pbx_instance(
        &self,
        instance_id: &str,
    ) -> Result<Option<crate::api::PbxInstance>, ApiError> {
        let store = self.lock("GET", "/pbxs")?;
        Ok(crate::api::PbxInstance::from_json(
            &store.pbx_instance(instance_id),
        ))
    }

    async fn list(
        &self,
        c: Collection<'_>,
        filter: Option<&str>,
    ) -> Result<Vec<LiveObject>, ApiError> {
        let path = c.path()?;
        let store = self.lock("GET", &path)?;
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
            .lock("GET", &path)?
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
        let mut store = self.lock("POST", &path)?;
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
        self.save(&mut store, "POST", &path)?;
        drop(store);
        if self.faults.drop_after_post() {
            return Err(ApiError::AmbiguousCreate {
                method: "POST".into(),
                path,
                reason: "connection dropped before the answer (sandbox fault)".into(),
            });
        }
        let v = crate::api::without_echoed_secrets(c.kind, v);
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
        let mut store = self.lock("PATCH", &path)?;
        store
            .patch_in(c.kind, c.parent_id, id, ops, opts.accept_charges)
            .map_err(|e| to_api_error(e, "PATCH", &path))?;
        self.save(&mut store, "PATCH", &path)?;
        drop(store);
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
        let mut store = self.lock("DELETE", &path)?;
        store
            .delete_in(c.kind, c.parent_id, id)
            .map_err(|e| to_api_error(e, "DELETE", &path))?;
        self.save(&mut store, "DELETE", &path)
    }
}
