//! Plan at scale: N manifests against N live customers through HTTP `sandbox serve`,
//! without added latency and with 50 ms per request. Prints wall time, peak RSS of the
//! `dimctl plan` process and the number of API requests it made; asserts nothing.
//!
//! Uses the release binary: `cargo build --release && cargo bench --bench plan`
//! (options after `--`: `--customers N` (default 10000), `--bin PATH` (default
//! target/release/dimctl), `--latencies 0,50`, `--compare OLD_BIN` to run another build
//! (e.g. an earlier release) side by side: both plan the same manifests against the same
//! server, alternately, `--rounds N` times each (default 3), and the medians and their
//! ratio are printed; with `--own-servers` each build plans against a `sandbox serve` of
//! its own, as each would be measured alone). Targets on the reference machine: under 1.5 s and 150 MB without
//! latency; requests = the paging floor (N / 1000 + 1 pages).
//!
//! The plan command reads its token from `DIMCTL_TOKEN` (any non-empty token is accepted by
//! `sandbox serve` started without `--token`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use serde_json::Value;

struct Options {
    customers: usize,
    bin: PathBuf,
    latencies: Vec<u64>,
    compare: Option<PathBuf>,
    rounds: usize,
    own_servers: bool,
}

fn options() -> Options {
    let mut o = Options {
        customers: 10_000,
        bin: Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/dimctl"),
        latencies: vec![0, 50],
        compare: None,
        rounds: 3,
        own_servers: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let next = args.get(i + 1).cloned().unwrap_or_default();
        if args[i] == "--own-servers" {
            o.own_servers = true;
            i += 1;
            continue;
        }
        match args[i].as_str() {
            "--customers" => o.customers = next.parse().unwrap_or(o.customers),
            "--bin" => o.bin = PathBuf::from(next),
            "--compare" => o.compare = Some(PathBuf::from(next)),
            "--rounds" => o.rounds = next.parse().unwrap_or(o.rounds).max(1),
            "--latencies" => {
                o.latencies = next
                    .split(',')
                    .filter_map(|s| s.trim().parse().ok())
                    .collect()
            }
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

struct Server {
    child: Child,
    base_url: String,
}

impl Server {
    fn start(bin: &Path, state: &Path, latency_ms: u64) -> Server {
        let mut child = Command::new(bin)
            .args(["sandbox", "serve", "--listen", "127.0.0.1:0", "--state"])
            .arg(state)
            .args(["--latency-ms", &latency_ms.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sandbox serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("listening line");
        let base_url = line
            .trim()
            .strip_prefix("listening on ")
            .expect("listening on URL")
            .to_string();
        Server { child, base_url }
    }

    fn admin(&self) -> String {
        self.base_url.trim_end_matches("/api/v1.0").to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get_json(rt: &tokio::runtime::Runtime, url: &str) -> Value {
    rt.block_on(async {
        reqwest::Client::new()
            .get(url)
            .bearer_auth("bench")
            .send()
            .await
            .expect("GET")
            .json::<Value>()
            .await
            .expect("JSON")
    })
}

/// Write the manifests of every live customer, read page by page (a page at a time is
/// held: the `dimctl plan` this process spawns would otherwise be charged its peak, since
/// a spawned child's peak RSS as `wait4` reports it includes the parent's at the spawn).
/// Returns how many.
fn write_all_manifests(rt: &tokio::runtime::Runtime, base: &str, dir: &Path) -> usize {
    let mut total = 0;
    for page in 0.. {
        let v = get_json(
            rt,
            &format!("{base}/customers?pageIndex={page}&pageSize=1000"),
        );
        let data = v["data"].as_array().cloned().unwrap_or_default();
        write_manifests(dir, &data, page * 10);
        total += data.len();
        if data.len() < 1000 {
            break;
        }
    }
    total
}

/// One manifest per live customer (pinned by id where it has no reference), 100 per file;
/// one in a hundred renamed so the plan has updates to show.
fn write_manifests(dir: &Path, live: &[Value], first_file: usize) {
    std::fs::create_dir_all(dir).expect("manifest dir");
    for (f, chunk) in live.chunks(100).enumerate() {
        let f = first_file + f;
        let mut yaml = String::new();
        for (i, c) in chunk.iter().enumerate() {
            yaml.push_str("---\napiVersion: dimctl/v1\nkind: Customer\n");
            match c["reference"].as_str().filter(|r| !r.trim().is_empty()) {
                Some(r) => yaml.push_str(&format!("reference: {}\n", Value::from(r))),
                None => yaml.push_str(&format!("id: {}\n", c["id"])),
            }
            if let Some(name) = c["name"].as_str() {
                let name = if (f * 100 + i).is_multiple_of(100) {
                    format!("{} (renamed)", name.chars().take(80).collect::<String>())
                } else {
                    name.to_string()
                };
                yaml.push_str(&format!("name: {}\n", Value::from(name)));
            }
            for key in ["enabled", "sendNewUserEmail"] {
                if let Some(b) = c[key].as_bool() {
                    yaml.push_str(&format!("{key}: {b}\n"));
                }
            }
            for key in ["countryCode", "timezone"] {
                if let Some(s) = c[key].as_str() {
                    yaml.push_str(&format!("{key}: {}\n", Value::from(s)));
                }
            }
            if let Some(agent) = c["features"]["agent"].as_u64() {
                yaml.push_str(&format!("features:\n  agent: {agent}\n"));
            }
        }
        let mut file = std::fs::File::create(dir.join(format!("customers-{f:04}.yaml")))
            .expect("manifest file");
        file.write_all(yaml.as_bytes()).expect("write manifest");
    }
}

/// Run the child to its end and return (exit code, peak RSS in KiB).
fn wait_with_peak_rss(child: Child) -> (i32, i64) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value, and `pid` is our own child, not yet
    // reaped (std's Child::wait is never called on it).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    std::mem::forget(child);
    if r < 0 {
        return (-1, 0);
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, usage.ru_maxrss)
}

fn main() {
    let o = options();
    if !o.bin.exists() {
        eprintln!(
            "{} not found: build it first with `cargo build --release` (or pass --bin PATH)",
            o.bin.display()
        );
        std::process::exit(1);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state.json");
    let status = Command::new(&o.bin)
        .args([
            "sandbox",
            "seed",
            "--customers",
            &o.customers.to_string(),
            "--seed",
            "1",
            "--state",
        ])
        .arg(&state)
        .status()
        .expect("sandbox seed");
    assert!(status.success(), "sandbox seed failed");
    let manifests = dir.path().join("customers");
    {
        let server = Server::start(&o.bin, &state, 0);
        let n = write_all_manifests(&rt, &server.base_url, &manifests);
        println!("plan bench: {n} manifests, {n} live customers");
    }
    let floor = o.customers / 1000 + 1;
    for latency in &o.latencies {
        let server = Server::start(&o.bin, &state, *latency);
        let Some(old) = &o.compare else {
            let r = run_plan(&rt, &server, &o.bin, &manifests, dir.path());
            r.print(&format!("latency {latency:>3} ms"), floor, o.customers);
            continue;
        };
        // Side by side: the same manifests and machine, runs alternating; the same server
        // unless each build is to use its own.
        let old_server = o.own_servers.then(|| {
            // Its own copy of the state: two servers never share one file.
            let copy = dir.path().join("state-compared.json");
            std::fs::copy(&state, &copy).expect("copy the sandbox state");
            Server::start(old, &copy, *latency)
        });
        let (mut new_runs, mut old_runs) = (Vec::new(), Vec::new());
        for round in 0..o.rounds {
            for (label, bin, runs, server) in [
                ("this build", &o.bin, &mut new_runs, &server),
                (
                    "compared  ",
                    old,
                    &mut old_runs,
                    old_server.as_ref().unwrap_or(&server),
                ),
            ] {
                let r = run_plan(&rt, server, bin, &manifests, dir.path());
                r.print(
                    &format!("latency {latency:>3} ms  round {}  {label}", round + 1),
                    floor,
                    o.customers,
                );
                runs.push(r);
            }
        }
        let median = |runs: &mut Vec<Run>, key: fn(&Run) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(key).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (nw, ow) = (
            median(&mut new_runs, |r| r.wall),
            median(&mut old_runs, |r| r.wall),
        );
        let (nm, om) = (
            median(&mut new_runs, |r| r.peak_mb),
            median(&mut old_runs, |r| r.peak_mb),
        );
        println!(
            "plan bench: latency {latency:>3} ms  medians of {} rounds: this build {nw:.3} s {nm:.1} MB; compared {ow:.3} s {om:.1} MB; wall ratio {:.2}, memory ratio {:.2}",
            o.rounds,
            nw / ow,
            nm / om,
        );
    }
}

/// One `dimctl plan` run's figures.
struct Run {
    wall: f64,
    peak_mb: f64,
    requests: u64,
    code: i32,
    stderr_tail: Vec<String>,
}

impl Run {
    fn print(&self, label: &str, floor: usize, customers: usize) {
        println!(
            "plan bench: {label}  wall {:>7.3} s  peak RSS {:>6.1} MB  requests {} (paging floor {floor}, {:.2}x; {:.4} per customer)  exit {}",
            self.wall,
            self.peak_mb,
            self.requests,
            self.requests as f64 / floor as f64,
            self.requests as f64 / customers.max(1) as f64,
            self.code,
        );
        if self.code != 0 {
            for line in &self.stderr_tail {
                println!("    stderr: {line}");
            }
        }
    }
}

/// Run `bin plan` on the manifests against the server; wall time, peak RSS and requests.
fn run_plan(
    rt: &tokio::runtime::Runtime,
    server: &Server,
    bin: &Path,
    manifests: &Path,
    scratch: &Path,
) -> Run {
    let before = get_json(rt, &format!("{}/_sandbox/stats", server.admin()));
    let stderr_path = scratch.join("plan.stderr");
    let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
    let start = Instant::now();
    let child = Command::new(bin)
        .arg("plan")
        .arg(manifests)
        .args(["--api-url", &server.base_url, "--format", "json"])
        .env("DIMCTL_TOKEN", "bench")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("dimctl plan");
    let (code, peak_kib) = wait_with_peak_rss(child);
    let wall = start.elapsed().as_secs_f64();
    let after = get_json(rt, &format!("{}/_sandbox/stats", server.admin()));
    let requests =
        after["requests"].as_u64().unwrap_or(0) - before["requests"].as_u64().unwrap_or(0);
    let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let mut tail: Vec<String> = err.lines().rev().take(10).map(str::to_string).collect();
    tail.reverse();
    Run {
        wall,
        peak_mb: peak_kib as f64 / 1024.0,
        requests,
        code,
        stderr_tail: tail,
    }
}
