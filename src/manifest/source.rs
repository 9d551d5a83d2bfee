//! Reading one manifest file into text: a size cap checked before reading (and again
//! while reading, in case the file grows), a UTF-8 byte-order mark accepted and dropped,
//! anything that is not UTF-8 refused with the position of the first bad byte.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use super::yaml::Pos;

/// The largest manifest file read (10 MiB). Bigger files are refused unread.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// Why a file could not be read as text.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadError {
    /// Where in the file, when the problem has a position (bad UTF-8).
    pub pos: Option<Pos>,
    pub message: String,
    pub hint: Option<String>,
}

impl ReadError {
    fn plain(message: impl Into<String>) -> Self {
        ReadError {
            pos: None,
            message: message.into(),
            hint: None,
        }
    }
}

/// A human reason for an I/O error.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::NotFound => "no such file or directory".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Read `path` as UTF-8 text, without a leading byte-order mark.
pub fn read_text(path: &Path) -> Result<String, ReadError> {
    let too_big = |size: u64| ReadError {
        pos: None,
        message: format!(
            "file is {size} bytes; a manifest file may be at most {MAX_FILE_BYTES} bytes (10 MiB)"
        ),
        hint: Some("split the customers over several files".into()),
    };
    let mut file = File::open(path)
        .map_err(|e| ReadError::plain(format!("cannot read: {}", io_reason(&e))))?;
    let size = file.metadata().map_or(0, |m| m.len());
    if size > MAX_FILE_BYTES {
        return Err(too_big(size));
    }
    // One allocation of the size the file says it has (it may still grow or shrink).
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    (&mut file)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::plain(format!("cannot read: {}", io_reason(&e))))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(ReadError {
            pos: None,
            message: "file is UTF-16; manifests must be UTF-8".into(),
            hint: Some("save the file as UTF-8".into()),
        });
    }
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    // The bytes read become the text itself: no second copy of every file.
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            let body = e.as_bytes();
            let good = &body[..e.utf8_error().valid_up_to()];
            // Valid by construction; count lines and characters up to the bad byte.
            let good = std::str::from_utf8(good).unwrap_or("");
            let line = good.matches('\n').count() + 1;
            let column = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            Err(ReadError {
                pos: Some(Pos {
                    line,
                    column,
                    index: good.chars().count(),
                }),
                message: "file is not valid UTF-8".into(),
                hint: Some("save the file as UTF-8".into()),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.yaml");
        std::fs::write(&p, b"\xEF\xBB\xBFname: A\n").unwrap();
        assert_eq!(read_text(&p).unwrap(), "name: A\n");
    }

    #[test]
    fn bad_utf8_has_a_position() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.yaml");
        std::fs::write(&p, b"name: A\nreference: \xFF\n").unwrap();
        let e = read_text(&p).unwrap_err();
        let pos = e.pos.unwrap();
        assert_eq!((pos.line, pos.column), (2, 12));
    }

    #[test]
    fn oversized_files_are_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.yaml");
        let f = File::create(&p).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        let e = read_text(&p).unwrap_err();
        assert!(
            e.message.contains("at most 10485760 bytes"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_read_failure_is_reported_not_panicked() {
        // Root can read mode-000 files, so exercise the read error with a directory.
        let dir = tempfile::tempdir().unwrap();
        let e = read_text(dir.path()).unwrap_err();
        assert!(e.message.starts_with("cannot read: "), "{}", e.message);
    }

    #[test]
    fn missing_file() {
        let e = read_text(Path::new("/definitely/not/here.yaml")).unwrap_err();
        assert_eq!(e.message, "cannot read: no such file or directory");
    }
}
