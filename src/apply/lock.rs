//! The local run lock: one `apply` at a time per endpoint (and account) on this machine.
//! A file lock (the operating system's, released when the process ends, however it ends)
//! on `<cache>/dimctl/locks/<endpoint>.lock`, where `<cache>` is `$DIMCTL_CACHE_DIR`, else
//! `$XDG_CACHE_HOME`, else `~/.cache`. A run that finds it held says so and waits up to
//! `--lock-timeout`. It serialises runs on one machine only: CI applies must be serialised
//! by the CI system as well (see the README, "Concurrency and failure guarantees").

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct RunLock {
    file: File,
    pub path: PathBuf,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another dimctl apply against this endpoint still holds {path} after {waited:?}; wait for it to finish, raise --lock-timeout, or pass --no-lock if applies are serialised elsewhere"
    )]
    Timeout { path: PathBuf, waited: Duration },
    #[error(
        "cannot use the lock file {path}: {source} (set DIMCTL_CACHE_DIR to a writable directory, or pass --no-lock)"
    )]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The cache directory: `$DIMCTL_CACHE_DIR`, else `$XDG_CACHE_HOME/dimctl`, else
/// `~/.cache/dimctl`, else (no HOME, as in some CI containers) `dimctl` in the system's
/// temporary directory. `None` only when not even that can be named.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("DIMCTL_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("dimctl")))
        .or_else(|| var("HOME").map(|h| h.join(".cache").join("dimctl")))
        .or_else(|| Some(std::env::temp_dir().join("dimctl")))
}

/// The lock file of an endpoint: a readable part of it plus a hash of all of it.
pub fn lock_path(dir: &Path, endpoint: &str) -> PathBuf {
    let readable: String = endpoint
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .trim_matches('_')
        .chars()
        .take(80)
        .collect();
    // FNV-1a, 64 bits: stable across runs and versions (std's hasher is not).
    let hash = endpoint.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    dir.join("locks")
        .join(format!("{readable}-{hash:016x}.lock"))
}

/// Take the lock of `endpoint` in `dir`, waiting up to `timeout`; `on_wait` is called once
/// with the lock's path when it is held by another process.
pub async fn acquire(
    dir: &Path,
    endpoint: &str,
    timeout: Duration,
    on_wait: impl FnOnce(&Path),
) -> Result<RunLock, LockError> {
    let path = lock_path(dir, endpoint);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io)?;
    let started = Instant::now();
    let mut on_wait = Some(on_wait);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {
                if let Some(f) = on_wait.take() {
                    f(&path);
                }
                if started.elapsed() >= timeout {
                    return Err(LockError::Timeout {
                        path,
                        waited: timeout,
                    });
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
    }
    // For whoever looks at the file: which process holds it (advisory only).
    let _ = file.set_len(0);
    let _ = writeln!(file, "pid {} {endpoint}", std::process::id());
    Ok(RunLock { file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_per_endpoint_stable_and_safe() {
        let d = Path::new("/c");
        let a = lock_path(d, "http://127.0.0.1:1/api/v1.0/accounts/A");
        let b = lock_path(d, "http://127.0.0.1:1/api/v1.0/accounts/B");
        assert_ne!(a, b);
        assert_eq!(a, lock_path(d, "http://127.0.0.1:1/api/v1.0/accounts/A"));
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("http___127_0_0_1_1_api_v1_0_accounts_A-"),
            "{name}"
        );
        assert!(!name.contains('/'));
    }

    #[tokio::test]
    async fn a_second_holder_waits_then_times_out_and_gets_it_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), "e", Duration::ZERO, |_| {})
            .await
            .unwrap();
        let mut waited = None;
        let e = acquire(dir.path(), "e", Duration::from_millis(150), |p| {
            waited = Some(p.to_path_buf())
        })
        .await
        .unwrap_err();
        assert!(matches!(e, LockError::Timeout { .. }), "{e}");
        assert_eq!(waited.as_deref(), Some(first.path.as_path()));
        // Another endpoint is not blocked.
        acquire(dir.path(), "other", Duration::ZERO, |_| {})
            .await
            .unwrap();
        drop(first);
        acquire(dir.path(), "e", Duration::ZERO, |_| panic!("must not wait"))
            .await
            .unwrap();
    }
}
