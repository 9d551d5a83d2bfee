//! Helpers for the apply end-to-end tests: plans made with the library against the
//! in-process sandbox, generated manifests, `sandbox serve` with a graceful stop, the
//! sandbox's admin stats, and one-tenant-per-reference checks on its state file.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use dimctl::api::Api;
use dimctl::model::{CustomerManifest, CustomerSpec, Located, Source};
use dimctl::plan::{Plan, Policy};
use dimctl::sandbox::InProcess;
use serde_json::Value;

/// The dimctl binary under test.
pub fn dimctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dimctl"))
}

/// A manifest value for the library planner.
pub fn manifest(reference: &str, name: &str, description: &str) -> Located<CustomerManifest> {
    let spec = CustomerSpec {
        name: Some(name.into()),
        description: Some(description.into()),
        reference: Some(reference.into()),
        enabled: Some(false),
        ..CustomerSpec::default()
    };
    Located::new(
        CustomerManifest::new(spec),
        Source {
            file: format!("{reference}.yaml"),
            line: 1,
            column: 1,
        },
    )
}

/// Plan `desired` against the in-process sandbox at `state`, with its endpoint filled in.
pub async fn plan_in_process(state: &Path, desired: &[Located<CustomerManifest>]) -> Plan {
    let api = InProcess::open(state).unwrap();
    let live = api.list_customers(None).await.unwrap();
    let mut plan = dimctl::plan::plan(desired, &live, &Policy::default());
    plan.endpoint = api.endpoint();
    plan
}

/// Save a plan as JSON in `dir`.
pub fn save_plan(dir: &Path, plan: &Plan) -> PathBuf {
    let path = dir.join("plan.json");
    std::fs::write(&path, serde_json::to_vec_pretty(plan).unwrap()).unwrap();
    path
}

/// Run the binary; stdin is empty (not a terminal).
pub fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = dimctl();
    cmd.args(args).stdin(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The `--format json` result document of a run.
pub fn result_doc(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        let (out, err) = text(o);
        panic!("stdout is not a JSON result ({e}):\n{out}\nstderr:\n{err}")
    })
}

/// The status of `reference` in a result document.
pub fn status_of(doc: &Value, reference: &str) -> String {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"]["value"] == reference)
        .map(|r| r["status"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{reference} not in {doc:#}"))
}

/// Live customers (not terminated) per reference, from a sandbox state file.
pub fn references_in_state(state: &Path) -> BTreeMap<String, usize> {
    let store = dimctl::sandbox::persist::load(state).unwrap();
    let mut out = BTreeMap::new();
    for (id, c) in &store.customers {
        if store.terminated.contains(id) {
            continue;
        }
        if let Some(r) = c.get("reference").and_then(Value::as_str) {
            *out.entry(r.trim().to_string()).or_insert(0) += 1;
        }
    }
    out
}

/// Write `n` generated customer manifests (seeded, varied) into `dir`, one file each;
/// `revision` changes every description so a re-run has updates to make.
pub fn write_generated(dir: &Path, n: usize, seed: u64, revision: u32) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = fastrand::Rng::with_seed(seed);
    let countries = ["GB", "US", "AU", "DE", "FR", "IE"];
    let zones = [
        "Europe/London",
        "America/New_York",
        "Australia/Sydney",
        "Europe/Berlin",
        "Europe/Paris",
        "Europe/Dublin",
    ];
    let mut refs = Vec::new();
    for i in 0..n {
        let reference = format!("gen-{seed}-{i:04}");
        let k = rng.usize(..countries.len());
        let agent = rng.u32(0..4);
        let yaml = format!(
            "apiVersion: dimctl/v1\nkind: Customer\nreference: {reference}\nname: Generated {i} ({seed})\ndescription: generated customer {i}, revision {revision}\nenabled: {}\ncountryCode: {}\ntimezone: {}\nfeatures:\n  agent: {agent}\n  device: 0\n",
            rng.bool(),
            countries[k],
            zones[k],
        );
        std::fs::write(dir.join(format!("{reference}.yaml")), yaml).unwrap();
        refs.push(reference);
    }
    refs
}

/// Copy the repository's example manifests (if any) into `dir`; returns the env vars
/// their secret references name (each set to a dummy value by the caller).
pub fn copy_examples(dir: &Path) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/customers");
    let mut vars = Vec::new();
    let Ok(entries) = std::fs::read_dir(&src) else {
        return vars;
    };
    std::fs::create_dir_all(dir).unwrap();
    for e in entries.flatten() {
        let p = e.path();
        if matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")) {
            let text = std::fs::read_to_string(&p).unwrap();
            for line in text.lines() {
                if let Some((_, rest)) = line.split_once("fromEnv:") {
                    let var = rest
                        .trim()
                        .trim_matches(|c| c == '}' || c == '"' || c == '\'' || c == ' ');
                    if !var.is_empty() && !vars.contains(&var.to_string()) {
                        vars.push(var.to_string());
                    }
                }
            }
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    vars
}

/// The pinned id of the adopted tenant in `examples/customers/northwind-group.yaml`.
pub const NORTHWIND_US_ID: &str = "8d1f6c2e-5b7a-4e39-9c0d-2a6b4f1e7c55";

/// Seed a sandbox state file with the live tenants the examples expect: the adopted
/// Northwind US tenant (pinned by id, with values that differ from its manifest) and the
/// Old Mill Bakery (declared `ensure: absent`, so apply terminates it).
pub fn seed_example_tenants(state: &Path) {
    let mut store = dimctl::sandbox::Store::default();
    let mut pinned = Some(NORTHWIND_US_ID.to_string());
    let mut next = || {
        pinned
            .take()
            .unwrap_or_else(dimctl::sandbox::inprocess::new_guid)
    };
    let now = "2025-06-01T09:00:00Z";
    store
        .create(
            &serde_json::json!({"name": "Northwind Traders US (portal)", "reference": "NORTHWIND-0300", "enabled": false, "countryCode": "US", "timezone": "America/Los_Angeles"}),
            true,
            &mut next,
            now,
        )
        .unwrap();
    store
        .create(
            &serde_json::json!({"name": "Old Mill Bakery", "reference": "OLDMILL-0058", "enabled": true, "countryCode": "GB", "description": "Bakery chain", "pbxConnectionProfiles": []}),
            true,
            &mut next,
            now,
        )
        .unwrap();
    dimctl::sandbox::persist::save(state, &store).unwrap();
}

/// A running `dimctl sandbox serve`, stopped with SIGTERM (state saved) by [`Serve::stop`]
/// and killed on drop.
pub struct Serve {
    child: Child,
    pub base_url: String,
    pub state: PathBuf,
}

impl Serve {
    pub fn start(state: &Path, extra: &[&str]) -> Serve {
        let mut child = dimctl()
            .args(["sandbox", "serve", "--listen", "127.0.0.1:0", "--state"])
            .arg(state)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn dimctl sandbox serve");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let base_url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from sandbox serve: {line:?}"))
            .to_string();
        Serve {
            child,
            base_url,
            state: state.to_path_buf(),
        }
    }

    /// `host:port`.
    pub fn addr(&self) -> String {
        let rest = self.base_url.strip_prefix("http://").unwrap();
        rest.split('/').next().unwrap().to_string()
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("http://{}/connect/token", self.addr())
    }

    /// `GET /_sandbox/stats`.
    pub fn stats(&self) -> Value {
        let mut s = TcpStream::connect(self.addr()).unwrap();
        write!(
            s,
            "GET /_sandbox/stats HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr()
        )
        .unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).unwrap();
        let body = buf.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        // Tolerate a chunked body: the JSON object is between the first '{' and last '}'.
        let start = body.find('{').unwrap_or(0);
        let end = body.rfind('}').map(|i| i + 1).unwrap_or(body.len());
        serde_json::from_str(&body[start..end])
            .unwrap_or_else(|e| panic!("stats are not JSON ({e}): {buf}"))
    }

    /// Stop with SIGTERM and wait: the state file then holds the final store.
    pub fn stop(mut self) -> PathBuf {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        self.state.clone()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The target flags and environment for a run against `sandbox serve` with a static token.
pub fn http_target(s: &Serve) -> Vec<String> {
    vec!["--api-url".into(), s.base_url.clone()]
}

pub const TOKEN_ENV: (&str, &str) = ("DIMCTL_TOKEN", "e2e-test-token");

/// The last lines of a run's stdout and stderr, for failure messages.
pub fn tail(o: &Output) -> String {
    let (out, err) = text(o);
    let last = |s: &str| {
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(25)..].join("\n")
    };
    format!(
        "exit {:?}\n--- stdout (tail)\n{}\n--- stderr (tail)\n{}",
        o.status.code(),
        last(&out),
        last(&err)
    )
}
