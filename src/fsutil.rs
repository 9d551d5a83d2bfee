//! Writing files so that a reader never sees half of one, and so that nothing but a
//! regular file is ever written: every file dimctl writes (plans, imported manifests, the
//! sandbox's state, a refresh token) goes through [`write_atomic`].
//!
//! The rules, in one place:
//! - a target that exists and is not a regular file (a directory, a device such as
//!   `/dev/null`, a FIFO, a socket) is refused, never replaced;
//! - a symbolic link is written through: the file it points to is replaced (atomically,
//!   beside itself) and the link stays; a link to nothing, or to something that is not a
//!   regular file, is refused;
//! - token files ([`check_private`]) must not be readable by group or others.
//!
//! `-` (stdout) is the callers' business: this module only writes files.

use std::io::{Error, ErrorKind, Write};
use std::path::{Path, PathBuf};

/// What kind of thing `meta` describes, in words for a message; `None` for a regular file.
fn not_regular(meta: &std::fs::Metadata) -> Option<&'static str> {
    let ft = meta.file_type();
    if ft.is_file() {
        return None;
    }
    if ft.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_char_device() {
            return Some("a character device");
        }
        if ft.is_block_device() {
            return Some("a block device");
        }
        if ft.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if ft.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

fn refused(path: &Path, what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!(
            "{} is {what}, not a regular file; dimctl writes only regular files and never replaces anything else: choose another path",
            path.display()
        ),
    )
}

/// Where a write to `path` lands, or why it may not: `path` itself when it does not exist
/// or is a regular file, the file a symbolic link points to when that is a regular file.
/// Anything else (directory, device, FIFO, socket, dangling link) is an error whose
/// message names the path and what it is.
pub fn check_target(path: &Path) -> std::io::Result<PathBuf> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(path.to_path_buf()),
        Err(e) => return Err(e),
    };
    if meta.file_type().is_symlink() {
        let real = std::fs::canonicalize(path).map_err(|_| {
            Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{} is a symbolic link to a file that does not exist; dimctl writes through a link only to an existing regular file: create the file it points to, or remove the link",
                    path.display()
                ),
            )
        })?;
        let target = std::fs::metadata(&real)?;
        if let Some(what) = not_regular(&target) {
            return Err(refused(
                path,
                &format!("a symbolic link to {} ({what})", real.display()),
            ));
        }
        return Ok(real);
    }
    match not_regular(&meta) {
        Some(what) => Err(refused(path, what)),
        None => Ok(path.to_path_buf()),
    }
}

/// Refuse a token file that exists and is readable or writable by group or others,
/// naming the `chmod` that fixes it. A missing file passes (it is created 0600).
pub fn check_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "{} holds a token but is open to group or others (mode {mode:04o}); run `chmod 600 {}` (and consider the token exposed)",
                    path.display(),
                    path.display()
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Check, without changing anything, that [`write_atomic`] to `path` would succeed as
/// far as can be known: the target is acceptable and its directory takes a new file
/// (one is created and removed again).
pub fn probe_writable(path: &Path) -> std::io::Result<()> {
    let real = check_target(path)?;
    let dir = parent_dir(&real);
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir)?;
    }
    let tmp = temp_name(&dir, &real);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(&tmp)?;
    std::fs::remove_file(&tmp)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn temp_name(dir: &Path, path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ))
}

/// Write `bytes` to `path` atomically: a temporary file in the same directory (created
/// with `mode` on Unix, default 0644), flushed to disk, then renamed over `path`, and the
/// directory synced. The directory is created when missing. On failure the temporary
/// file is removed and `path` is untouched. `path` must pass [`check_target`]: a symbolic
/// link is written through (its target replaced, the link kept).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    write_atomic_with(path, mode, |w| w.write_all(bytes))
}

/// [`write_atomic`] with the content streamed by `write` into the temporary file (through
/// a buffer), so a large file is never held whole in memory. `write` failing leaves `path`
/// untouched, as any other failure does.
pub fn write_atomic_with(
    path: &Path,
    mode: Option<u32>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let path = check_target(path)?;
    let dir = parent_dir(&path);
    std::fs::create_dir_all(&dir)?;
    let tmp = temp_name(&dir, &path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode.unwrap_or(0o644));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let result = (|| {
        let file = options.open(&tmp)?;
        let mut buffered = std::io::BufWriter::with_capacity(64 * 1024, file);
        write(&mut buffered)?;
        let file = buffered
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.json");
        write_atomic(&path, b"old", None).unwrap();
        write_atomic(&path, b"new", None).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_streamed_write_that_fails_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, "old").unwrap();
        let err = write_atomic_with(&path, None, |w| {
            w.write_all(&[b'x'; 100_000])?;
            Err(Error::other("renderer failed"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("renderer failed"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomic_with(&path, None, |w| {
            w.write_all(b"new ")?;
            w.write_all(b"content")
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new content");
    }

    #[test]
    fn a_directory_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("taken");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), b"x").unwrap();
        let err = write_atomic(&target, b"new", None).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
        assert!(target.join("keep").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn devices_fifos_and_sockets_are_refused() {
        let err = write_atomic(Path::new("/dev/null"), b"x", None).unwrap_err();
        assert!(err.to_string().contains("a character device"), "{err}");
        assert!(
            !std::fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_file()
        );

        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let err = write_atomic(&fifo, b"x", None).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        use std::os::unix::fs::FileTypeExt;
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );

        let sock = dir.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let err = probe_writable(&sock).unwrap_err();
        assert!(err.to_string().contains("a socket"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_written_through_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        std::fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new", Some(0o600)).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);

        // A link to nothing, or to a device, is refused.
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("missing"), &dangling).unwrap();
        let err = write_atomic(&dangling, b"x", None).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        assert!(!dir.path().join("missing").exists());
        let to_null = dir.path().join("null");
        std::os::unix::fs::symlink("/dev/null", &to_null).unwrap();
        let err = write_atomic(&to_null, b"x", None).unwrap_err();
        assert!(err.to_string().contains("character device"), "{err}");
        assert!(
            std::fs::symlink_metadata(&to_null)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[cfg(unix)]
    #[test]
    fn open_token_files_are_refused_with_the_chmod() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        assert!(check_private(&path).is_ok(), "a missing file passes");
        std::fs::write(&path, b"t").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = check_private(&path).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("mode 0644"), "{msg}");
        assert!(
            msg.contains(&format!("chmod 600 {}", path.display())),
            "{msg}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(check_private(&path).is_ok());
    }

    #[test]
    fn probing_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        probe_writable(&dir.path().join("token")).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
