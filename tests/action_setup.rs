//! The setup action (`action.yml` -> `scripts/setup-dimctl.sh`) against a stand-in release
//! server on 127.0.0.1: it installs an archive whose checksum matches `SHA256SUMS` and puts
//! it on PATH; a tampered archive, one missing from `SHA256SUMS`, a version that is not a
//! release and a runner with no binary all fail with a message and put nothing on PATH.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use sha2::{Digest, Sha256};

const ARCHIVE: &str = "dimctl-v9.9.9-x86_64-unknown-linux-gnu.tar.gz";

/// Serves `files` (URL path -> body) over HTTP/1.1 on 127.0.0.1, 404 for anything else.
fn serve(files: HashMap<String, Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let files = Arc::new(files);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
            let (status, body) = match files.get(&path) {
                Some(body) => ("200 OK", body.clone()),
                None => ("404 Not Found", b"not found".to_vec()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}/releases/download")
}

/// A release archive laid out as release.yml packs it, holding a stand-in `dimctl`.
fn archive(dir: &Path) -> Vec<u8> {
    let top = dir.join("pack/dimctl-v9.9.9-x86_64-unknown-linux-gnu");
    std::fs::create_dir_all(&top).unwrap();
    std::fs::write(top.join("dimctl"), "#!/bin/sh\necho 'dimctl 9.9.9'\n").unwrap();
    let status = Command::new("tar")
        .args(["-czf", ARCHIVE, "dimctl-v9.9.9-x86_64-unknown-linux-gnu"])
        .current_dir(dir.join("pack"))
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(dir.join("pack").join(ARCHIVE)).unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Run {
    out: Output,
    github_path: String,
    temp: PathBuf,
}

fn setup(dir: &Path, url: &str, version: &str, os: &str, arch: &str) -> Run {
    let temp = dir.join("runner-temp");
    std::fs::create_dir_all(&temp).unwrap();
    let github_path = dir.join("github_path");
    let _ = std::fs::remove_file(&github_path);
    let out = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/setup-dimctl.sh"))
        .env("VERSION", version)
        .env("DIMCTL_RELEASES_URL", url)
        .env("RUNNER_OS", os)
        .env("RUNNER_ARCH", arch)
        .env("RUNNER_TEMP", &temp)
        .env("GITHUB_PATH", &github_path)
        .env("GITHUB_OUTPUT", dir.join("github_output"))
        .output()
        .unwrap();
    Run {
        out,
        github_path: std::fs::read_to_string(&github_path).unwrap_or_default(),
        temp,
    }
}

fn stderr(run: &Run) -> String {
    String::from_utf8_lossy(&run.out.stderr).into_owned()
}

#[test]
fn installs_a_verified_archive_and_puts_it_on_path() {
    let dir = tempfile::tempdir().unwrap();
    let tgz = archive(dir.path());
    let sums = format!(
        "{}  {ARCHIVE}\n0000  dimctl-v9.9.9-aarch64-apple-darwin.tar.gz\n",
        sha256(&tgz)
    );
    let url = serve(HashMap::from([
        (format!("/releases/download/v9.9.9/{ARCHIVE}"), tgz),
        (
            "/releases/download/v9.9.9/SHA256SUMS".to_string(),
            sums.into_bytes(),
        ),
    ]));

    let run = setup(dir.path(), &url, "v9.9.9", "Linux", "X64");
    assert!(run.out.status.success(), "{}", stderr(&run));
    let bindir = run
        .temp
        .join("dimctl-9.9.9/dimctl-v9.9.9-x86_64-unknown-linux-gnu");
    assert_eq!(run.github_path.trim(), bindir.display().to_string());
    let stdout = String::from_utf8_lossy(&run.out.stdout);
    assert!(
        stdout.contains("dimctl 9.9.9"),
        "it ran the binary: {stdout}"
    );
    assert!(stdout.contains("verified against SHA256SUMS"), "{stdout}");
    let output = std::fs::read_to_string(dir.path().join("github_output")).unwrap();
    assert!(
        output.contains(&format!("path={}/dimctl", bindir.display())),
        "{output}"
    );
}

#[test]
fn a_tampered_or_unlisted_archive_is_never_put_on_path() {
    let dir = tempfile::tempdir().unwrap();
    let tgz = archive(dir.path());
    let mut tampered = tgz.clone();
    tampered.extend_from_slice(b"appended by an attacker");
    let good_sum = format!("{}  {ARCHIVE}\n", sha256(&tgz));
    let url = serve(HashMap::from([
        (format!("/releases/download/v9.9.9/{ARCHIVE}"), tampered),
        (
            "/releases/download/v9.9.9/SHA256SUMS".to_string(),
            good_sum.into_bytes(),
        ),
        (
            format!(
                "/releases/download/v8.8.8/{}",
                ARCHIVE.replace("9.9.9", "8.8.8")
            ),
            tgz,
        ),
        (
            "/releases/download/v8.8.8/SHA256SUMS".to_string(),
            b"0000  something-else.tar.gz\n".to_vec(),
        ),
    ]));

    let run = setup(dir.path(), &url, "9.9.9", "Linux", "X64");
    assert_eq!(run.out.status.code(), Some(1));
    assert!(
        stderr(&run).contains("checksum mismatch"),
        "{}",
        stderr(&run)
    );
    assert!(
        run.github_path.is_empty(),
        "nothing on PATH: {}",
        run.github_path
    );

    let run = setup(dir.path(), &url, "8.8.8", "Linux", "X64");
    assert_eq!(run.out.status.code(), Some(1));
    assert!(
        stderr(&run).contains("is not listed in"),
        "{}",
        stderr(&run)
    );
    assert!(run.github_path.is_empty());

    let run = setup(dir.path(), &url, "7.7.7", "Linux", "X64");
    assert_eq!(run.out.status.code(), Some(1));
    assert!(
        stderr(&run).contains("could not download"),
        "{}",
        stderr(&run)
    );
    assert!(run.github_path.is_empty());
}

#[test]
fn refuses_a_version_that_is_not_a_release_and_a_runner_without_a_binary() {
    let dir = tempfile::tempdir().unwrap();
    let url = serve(HashMap::new());
    let run = setup(dir.path(), &url, "latest", "Linux", "X64");
    assert_eq!(run.out.status.code(), Some(1));
    assert!(
        stderr(&run).contains("must be a release like 0.2.0"),
        "{}",
        stderr(&run)
    );

    let run = setup(dir.path(), &url, "9.9.9", "Linux", "ARM");
    assert_eq!(run.out.status.code(), Some(1));
    assert!(
        stderr(&run).contains("pipx install dimctl==9.9.9"),
        "{}",
        stderr(&run)
    );
    assert!(run.github_path.is_empty());
}
