//! Users at scale: a plan of C customers × U declared users each (default 1,000 × 5)
//! through HTTP `sandbox serve` limited to R requests per second (default 50; the sandbox
//! answers 429 beyond it and dimctl is given `--max-rps R`). Prints the requests made
//! against the floor (customer pages + 1 user listing per customer + 1 Get per declared
//! user that exists) and the achieved request rate against the limit (target: ≥ 90 %).
//! Asserts nothing.
//!
//! `cargo build --release && cargo bench --bench users` (options after `--`: `--customers
//! C`, `--users U`, `--rps R`, `--bin PATH` (default target/release/dimctl)). Each
//! customer is seeded with U − 1 users (every third as the PBX import leaves it), and its
//! manifest declares those and one new user, so one in U declared users needs no Get.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use serde_json::Value;

struct Options {
    customers: usize,
    users: usize,
    rps: f64,
    bin: PathBuf,
}

fn options() -> Options {
    let mut o = Options {
        customers: 1000,
        users: 5,
        rps: 50.0,
        bin: Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/dimctl"),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let next = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--customers" => o.customers = next.parse().unwrap_or(o.customers),
            "--users" => o.users = next.parse().unwrap_or(o.users).max(1),
            "--rps" => o.rps = next.parse().unwrap_or(o.rps),
            "--bin" => o.bin = PathBuf::from(next),
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
    fn start(bin: &Path, state: &Path, extra: &[String]) -> Server {
        let mut child = Command::new(bin)
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
        let base_url = line
            .trim()
            .strip_prefix("listening on ")
            .expect("listening on URL")
            .to_string();
        Server { child, base_url }
    }

    fn stats(&self, rt: &tokio::runtime::Runtime) -> Value {
        get_json(
            rt,
            &format!(
                "{}/_sandbox/stats",
                self.base_url.trim_end_matches("/api/v1.0")
            ),
        )
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
        .args(["sandbox", "seed", "--customers", &o.customers.to_string()])
        .args([
            "--users",
            &(o.users - 1).to_string(),
            "--seed",
            "1",
            "--state",
        ])
        .arg(&state)
        .status()
        .expect("sandbox seed");
    assert!(status.success(), "sandbox seed failed");

    // Manifests: every customer with its seeded users and one new one.
    let manifests = dir.path().join("customers");
    std::fs::create_dir_all(&manifests).expect("manifest dir");
    let mut existing = 0usize;
    {
        let server = Server::start(&o.bin, &state, &[]);
        let mut live = Vec::new();
        for page in 0.. {
            let v = get_json(
                &rt,
                &format!(
                    "{}/customers?pageIndex={page}&pageSize=1000",
                    server.base_url
                ),
            );
            let data = v["data"].as_array().cloned().unwrap_or_default();
            let n = data.len();
            live.extend(data);
            if n < 1000 {
                break;
            }
        }
        let mut yaml = String::new();
        for (n, c) in live.iter().enumerate() {
            let id = c["id"].as_str().unwrap_or_default();
            yaml.push_str("---\napiVersion: dimctl/v1\nkind: Customer\n");
            match c["reference"].as_str().filter(|r| !r.trim().is_empty()) {
                Some(r) => yaml.push_str(&format!("reference: {}\n", Value::from(r))),
                None => yaml.push_str(&format!("id: {}\n", Value::from(id))),
            }
            yaml.push_str("users:\n");
            let users = get_json(&rt, &format!("{}/customers/{id}/users", server.base_url));
            for u in users["data"].as_array().cloned().unwrap_or_default() {
                existing += 1;
                yaml.push_str(&format!(
                    "  - email: {}\n    displayName: {}\n    roles: [customer.user, admin.user]\n",
                    u["email"], u["displayName"]
                ));
            }
            yaml.push_str(&format!(
                "  - email: new.{n}@example.com\n    displayName: New {n}\n    roles: [customer.user]\n"
            ));
            if (n + 1) % 100 == 0 || n + 1 == live.len() {
                let mut f = std::fs::File::create(manifests.join(format!("c-{n:06}.yaml")))
                    .expect("manifest file");
                f.write_all(yaml.as_bytes()).expect("write manifest");
                yaml.clear();
            }
        }
        println!(
            "users bench: {} customers, {} declared users ({existing} existing)",
            live.len(),
            live.len() + existing
        );
    }

    let rps = o.rps.to_string();
    let server = Server::start(&o.bin, &state, &["--rate-limit".into(), rps.clone()]);
    let before = server.stats(&rt);
    let start = Instant::now();
    let out = Command::new(&o.bin)
        .arg("plan")
        .arg(&manifests)
        .args(["--api-url", &server.base_url, "--format", "json"])
        .args(["--max-rps", &rps])
        .env("DIMCTL_TOKEN", "bench")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("dimctl plan");
    let wall = start.elapsed().as_secs_f64();
    let after = server.stats(&rt);
    let n = |v: &Value| v["requests"].as_u64().unwrap_or(0);
    let requests = n(&after) - n(&before);
    let floor = o.customers / 1000 + 1 + o.customers + existing;
    let rate = requests as f64 / wall;
    println!(
        "users bench: limit {rps} rps  wall {wall:.1} s  requests {requests} (floor {floor}, {:+} over)  achieved {rate:.1} rps ({:.0} % of the limit)  exit {:?}",
        requests as i64 - floor as i64,
        100.0 * rate / o.rps,
        out.status.code()
    );
    if !matches!(out.status.code(), Some(0) | Some(2)) {
        let err = String::from_utf8_lossy(&out.stderr);
        for line in err.lines().rev().take(10).collect::<Vec<_>>().iter().rev() {
            println!("    stderr: {line}");
        }
    }
}
