//! Apply benchmarks against `sandbox serve`: print figures, assert nothing.
//!
//! `cargo bench --bench apply` (release) runs both with the sizes:
//! - updates: 1,000 updates with 50 ms added latency per request at the default
//!   parallelism; the floor is 1,000 × (PATCH + read-back) × 50 ms ÷ 8 = 12.5 s.
//! - creates: 500 creates against a sandbox limited to 50 requests/s (429 beyond).
//! - cost: requests per create (disabled and enabled customers) and per update, counted
//!   by the sandbox for one apply of 200 each, listings included: what the duplicate-proof
//!   create protocol costs (see the README, "Concurrency and failure guarantees").
//!
//! - throttled (`--only throttled`, or in `--only all`): 300 updates against a sandbox
//!   limited to 20 requests/s: the share of requests answered 429 and of the limit used.
//!
//! Options: `--updates N`, `--creates N`, `--throttled N`, `--customers N` (all sizes at
//! once), `--latency-ms N`, `--rate-limit RPS`, `--throttle-rate RPS`,
//! `--only updates|creates|cost|throttled|all`, `--cost N`. The binary is `target/release/dimctl` when it exists (else
//! `target/debug/dimctl`), or `DIMCTL_BIN`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

fn bin() -> PathBuf {
    if let Ok(b) = std::env::var("DIMCTL_BIN") {
        return PathBuf::from(b);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let release = root.join("release/dimctl");
    if release.exists() {
        release
    } else {
        root.join("debug/dimctl")
    }
}

struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(state: &Path, extra: &[String]) -> Serve {
        let mut child = Command::new(bin())
            .args(["sandbox", "serve", "--listen", "127.0.0.1:0", "--state"])
            .arg(state)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sandbox serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("listening line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .expect("listening on URL")
            .to_string();
        Serve { child, url }
    }

    fn addr(&self) -> String {
        let rest = self.url.trim_start_matches("http://");
        rest.split('/').next().unwrap_or(rest).to_string()
    }

    fn stats(&self) -> serde_json::Value {
        let mut s = TcpStream::connect(self.addr()).expect("connect");
        let _ = write!(
            s,
            "GET /_sandbox/stats HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr()
        );
        let mut buf = String::new();
        let _ = s.read_to_string(&mut buf);
        let body = buf.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        let start = body.find('{').unwrap_or(0);
        let end = body.rfind('}').map(|i| i + 1).unwrap_or(body.len());
        serde_json::from_str(&body[start..end]).unwrap_or(serde_json::Value::Null)
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_manifests(dir: &Path, n: usize, revision: u32) {
    write_manifests_enabled(dir, n, revision, false);
}

fn write_manifests_enabled(dir: &Path, n: usize, revision: u32, enabled: bool) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for i in 0..n {
        let yaml = format!(
            "apiVersion: dimctl/v1\nkind: Customer\nreference: bench-{i:05}\nname: Bench {i}\ndescription: bench customer {i} revision {revision}\nenabled: {enabled}\ncountryCode: GB\ntimezone: Europe/London\n"
        );
        std::fs::write(dir.join(format!("bench-{i:05}.yaml")), yaml).expect("write manifest");
    }
}

fn dimctl(args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .env("DIMCTL_TOKEN", "bench-token")
        .stdin(Stdio::null())
        .output()
        .expect("run dimctl")
}

fn plan_out(serve: &Serve, manifests: &Path, out: &Path) {
    let o = dimctl(&[
        "plan",
        manifests.to_str().unwrap_or_default(),
        "--api-url",
        &serve.url,
        "--allow-unsafe",
        "--out",
        out.to_str().unwrap_or_default(),
    ]);
    if !out.exists() {
        eprintln!("plan --out failed: {}", String::from_utf8_lossy(&o.stderr));
        std::process::exit(1);
    }
}

/// Apply a saved plan; returns (seconds, the JSON result, requests served).
fn timed_apply(serve: &Serve, plan: &Path) -> (f64, serde_json::Value, u64) {
    let before = serve.stats()["requests"].as_u64().unwrap_or(0);
    let start = Instant::now();
    let o = dimctl(&[
        "apply",
        "--plan",
        plan.to_str().unwrap_or_default(),
        "--api-url",
        &serve.url,
        "--auto-approve",
        "--accept-charges",
        "--format",
        "json",
    ]);
    let secs = start.elapsed().as_secs_f64();
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| {
        eprintln!("apply gave no JSON: {}", String::from_utf8_lossy(&o.stderr));
        serde_json::Value::Null
    });
    let after = serve.stats()["requests"].as_u64().unwrap_or(0);
    (secs, doc, after.saturating_sub(before))
}

/// `n` customers applied to a fresh sandbox (with `setup_flags`), which is then served
/// again with `serve_args`; the manifests renamed (one update each) and their plan saved.
/// Returns the temp dir (keep it alive), the server and the plan file.
fn updates_ready(
    n: usize,
    setup_flags: &[&str],
    serve_args: &[String],
) -> (tempfile::TempDir, Serve, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifests = dir.path().join("m");
    let state = dir.path().join("sandbox.json");
    write_manifests(&manifests, n, 0);
    let s = Serve::start(&state, &[]);
    let mut args = vec![
        "apply",
        manifests.to_str().unwrap_or_default(),
        "--api-url",
        &s.url,
        "--auto-approve",
        "--accept-charges",
    ];
    args.extend_from_slice(setup_flags);
    let o = dimctl(&args);
    if !o.status.success() {
        eprintln!("setup apply failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    s.stop();
    let s = Serve::start(&state, serve_args);
    write_manifests(&manifests, n, 1);
    let plan = dir.path().join("plan.json");
    plan_out(&s, &manifests, &plan);
    (dir, s, plan)
}

fn bench_updates(n: usize, latency_ms: u64) {
    let (_dir, s, plan) = updates_ready(n, &[], &["--latency-ms".into(), latency_ms.to_string()]);
    let (secs, doc, requests) = timed_apply(&s, &plan);
    let floor = n as f64 * latency_ms as f64 / 1000.0 / 8.0;
    println!("apply/updates: {n} updates, {latency_ms} ms latency, parallelism 8");
    println!("  wall time        {secs:.2} s");
    println!("  floor            {floor:.2} s  (n x PATCH x latency / 8)");
    println!("  ratio            {:.2}x  (target <= 1.2x)", secs / floor);
    println!(
        "  requests         {requests} ({:.2} per update = {:.2}x the floor of 1 PATCH; target <= {})",
        requests as f64 / n as f64,
        requests as f64 / n as f64,
        n + n / 50
    );
    println!(
        "  updated / failed {} / {}",
        doc["counts"]["updated"], doc["counts"]["failed"]
    );
}

/// Requests the sandbox received for one `apply DIR` (planning listing included).
fn requests_of_apply(s: &Serve, manifests: &Path) -> u64 {
    let before = s.stats()["requests"].as_u64().unwrap_or(0);
    let o = dimctl(&[
        "apply",
        manifests.to_str().unwrap_or_default(),
        "--api-url",
        &s.url,
        "--auto-approve",
        "--accept-charges",
        "--allow-unsafe",
        "--no-lock",
    ]);
    if !o.status.success() {
        eprintln!("apply failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    s.stats()["requests"]
        .as_u64()
        .unwrap_or(0)
        .saturating_sub(before)
}

/// Requests per create (disabled, enabled) and per update; returns the disabled figure.
fn bench_cost(n: usize) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let (off, on) = (dir.path().join("off"), dir.path().join("on"));
    let s = Serve::start(&dir.path().join("a.json"), &[]);
    write_manifests_enabled(&off, n, 0, false);
    let created = requests_of_apply(&s, &off);
    write_manifests_enabled(&off, n, 1, false);
    let updated = requests_of_apply(&s, &off);
    s.stop();
    let s = Serve::start(&dir.path().join("b.json"), &[]);
    write_manifests_enabled(&on, n, 0, true);
    let enabled = requests_of_apply(&s, &on);
    s.stop();
    let per = |r: u64| r as f64 / n as f64;
    println!("apply/cost: requests per customer for one apply of {n}, listings included");
    println!(
        "  per create       {:.2}  = {:.2}x the floor of 1 (the POST; the rest: batched look-up, confirmation and uniqueness listings)",
        per(created),
        per(created)
    );
    println!(
        "  per create, enabled {:.2}  = {:.2}x the floor of 2 (POST + PATCH enabled after confirmation; + a batched read-back)",
        per(enabled),
        per(enabled) / 2.0
    );
    println!(
        "  per update       {:.2}  = {:.2}x the floor of 1 (the PATCH; + a batched read-back)",
        per(updated),
        per(updated)
    );
    per(created)
}

fn bench_creates(n: usize, rate: u64, per_create: f64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifests = dir.path().join("m");
    let state = dir.path().join("sandbox.json");
    write_manifests(&manifests, n, 0);
    let s = Serve::start(&state, &["--rate-limit".into(), rate.to_string()]);
    let plan = dir.path().join("plan.json");
    plan_out(&s, &manifests, &plan);
    let throttled_before = s.stats()["throttled"].as_u64().unwrap_or(0);
    let (secs, doc, requests) = timed_apply(&s, &plan);
    let stats = s.stats();
    s.stop();
    let store = dimctl::sandbox::persist::load(&state).ok();
    let mut refs = std::collections::HashMap::new();
    if let Some(store) = &store {
        for c in store.customers.values() {
            if let Some(r) = c.get("reference").and_then(|v| v.as_str()) {
                *refs.entry(r.to_string()).or_insert(0usize) += 1;
            }
        }
    }
    let dupes: usize = refs.values().map(|c| c.saturating_sub(1)).sum();
    // Requests the sandbox let through (its counter also counts those it answered 429).
    let throttled = stats["throttled"].as_u64().unwrap_or(0) - throttled_before;
    let served = requests.saturating_sub(throttled);
    let _ = per_create;
    let achieved = served as f64 / secs;
    println!("apply/creates: {n} creates, sandbox limited to {rate} requests/s");
    println!("  wall time        {secs:.2} s (process start to exit)");
    println!(
        "  requests         {requests} received, {throttled} answered 429, {served} served ({:.2} per create = {:.2}x the floor of 1; target <= {})",
        served as f64 / n as f64,
        served as f64 / n as f64,
        n + n / 25
    );
    println!(
        "  achieved rate    {achieved:.1} served/s = {:.0} % of {rate}/s (target >= 90 %)",
        100.0 * achieved / rate as f64
    );
    println!("  creates/s        {:.1}", n as f64 / secs);
    println!(
        "  created / failed {} / {}",
        doc["counts"]["created"], doc["counts"]["failed"]
    );
    println!("  duplicates       {dupes}");
    println!("  sandbox stats    {stats}");
}

/// 300 updates against a sandbox limited to `rate` requests/s: the share answered 429 and
/// the share of the limit used.
fn bench_throttled(n: usize, rate: u64) {
    let (_dir, s, plan) = updates_ready(
        n,
        &["--allow-unsafe"],
        &["--rate-limit".into(), rate.to_string()],
    );
    let before = s.stats();
    let (secs, doc, requests) = timed_apply(&s, &plan);
    let after = s.stats();
    s.stop();
    let throttled =
        after["throttled"].as_u64().unwrap_or(0) - before["throttled"].as_u64().unwrap_or(0);
    let served = requests.saturating_sub(throttled);
    let patches = after["byMethod"]["PATCH"].as_u64().unwrap_or(0)
        - before["byMethod"]["PATCH"].as_u64().unwrap_or(0);
    println!("apply/throttled: {n} updates, sandbox limited to {rate} requests/s");
    println!("  wall time        {secs:.2} s");
    println!(
        "  requests         {requests} sent, {throttled} answered 429 ({:.1} %, target < 5 %), {patches} PATCHes",
        100.0 * throttled as f64 / requests.max(1) as f64
    );
    println!(
        "  limit used       {:.1} served/s = {:.0} % of {rate}/s (target >= 90 %)",
        served as f64 / secs,
        100.0 * served as f64 / secs / rate as f64
    );
    println!(
        "  per update       {:.2} requests served (floor 1.00: the PATCH)",
        served as f64 / n as f64
    );
    println!(
        "  updated / failed {} / {}",
        doc["counts"]["updated"], doc["counts"]["failed"]
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |name: &str, default: u64| -> u64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    // `--customers N` sets every run's size at once.
    let customers = opt("--customers", 0);
    let size = |name: &str, default: u64| {
        if customers > 0 {
            customers
        } else {
            opt(name, default)
        }
    };
    println!("dimctl binary: {}", bin().display());
    if only.as_deref() == Some("throttled") {
        bench_throttled(
            size("--throttled", 300) as usize,
            opt("--throttle-rate", 20),
        );
        return;
    }
    let per_create = bench_cost(size("--cost", 200) as usize);
    if only.as_deref() == Some("cost") {
        return;
    }
    if only.as_deref() != Some("creates") {
        bench_updates(size("--updates", 1000) as usize, opt("--latency-ms", 50));
    }
    if only.as_deref() == Some("all") {
        bench_throttled(
            size("--throttled", 300) as usize,
            opt("--throttle-rate", 20),
        );
    }
    if only.as_deref() != Some("updates") {
        bench_creates(
            size("--creates", 500) as usize,
            opt("--rate-limit", 50),
            per_create,
        );
    }
}
