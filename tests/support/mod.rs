//! Shared helpers for end-to-end tests: run the binary, start `sandbox serve` on
//! 127.0.0.1 port 0 and stop it when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The dimctl binary under test.
pub fn dimctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dimctl"))
}

/// A running `dimctl sandbox serve`, killed on drop.
pub struct SandboxServer {
    child: Child,
    /// The API base, e.g. `http://127.0.0.1:41234/api/v1.0`.
    pub base_url: String,
}

impl SandboxServer {
    /// Start `dimctl sandbox serve --listen 127.0.0.1:0 --state STATE EXTRA...` and wait
    /// for its first stdout line, `listening on http://127.0.0.1:PORT/api/v1.0`.
    pub fn start(state: &Path, extra: &[&str]) -> SandboxServer {
        let mut child = dimctl()
            .args(["sandbox", "serve", "--listen", "127.0.0.1:0", "--state"])
            .arg(state)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn dimctl sandbox serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let base_url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from sandbox serve: {line:?}"))
            .to_string();
        SandboxServer { child, base_url }
    }
}

impl Drop for SandboxServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
