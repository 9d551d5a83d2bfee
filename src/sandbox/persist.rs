//! Loading and saving the sandbox's state file. A save is atomic: the JSON is written to
//! a temporary file in the same directory, flushed to disk, then renamed over the old
//! file, so a killed process never leaves a half-written store.

use std::path::{Path, PathBuf};

use super::store::Store;

/// A state file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot read the sandbox state {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the sandbox state {path} is not valid JSON: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write the sandbox state {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Load a store; a missing file is an empty store with the default parent.
pub fn load(path: &Path) -> Result<Store, PersistError> {
    // Only a regular file (or a link to one) is read and later written over.
    crate::fsutil::check_target(path).map_err(|source| PersistError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    match std::fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Store::default()),
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| PersistError::Parse {
            path: path.to_path_buf(),
            source,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Store::default()),
        Err(source) => Err(PersistError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Serialise a store (done under the caller's lock; writing can happen outside it).
pub fn to_bytes(store: &Store) -> Vec<u8> {
    serde_json::to_vec_pretty(store).unwrap_or_default()
}

/// Save a store atomically, creating the directory when missing.
pub fn save(path: &Path, store: &Store) -> Result<(), PersistError> {
    write_atomic(path, &to_bytes(store), None)
}

/// Write bytes to `path` atomically (temp file in the same directory, fsync, rename),
/// optionally with Unix permissions `mode` set on the temp file before any byte lands.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), PersistError> {
    crate::fsutil::write_atomic(path, bytes, mode).map_err(|source| PersistError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_an_empty_store_and_save_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        let mut store = load(&path).unwrap();
        assert!(store.is_empty());
        store.omit_fields.push("timezone".into());
        save(&path, &store).unwrap();
        assert_eq!(load(&path).unwrap(), store);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(load(&path), Err(PersistError::Parse { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn mode_is_applied() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_atomic(&path, b"x", Some(0o600)).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
