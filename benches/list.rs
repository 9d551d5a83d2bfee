//! List benchmark: `sandbox serve` (the release binary) seeded with 10,000 customers and
//! 50 ms of added latency per request, listed through `HttpApi`. Prints wall time and
//! request count; asserts nothing. The floor for sequential paging is 10 pages × 50 ms.
//!
//! `cargo bench --bench list`. Environment: `DIMCTL_BIN` (default target/release/dimctl,
//! else target/debug/dimctl), `LIST_BENCH_CUSTOMERS` (default 10000),
//! `LIST_BENCH_LATENCY_MS` (default 50).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use dimctl::api::Api;
use dimctl::api::auth::Credentials;
use dimctl::api::http::{HttpApi, HttpConfig};
use secrecy::SecretString;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("DIMCTL_BIN") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    let release = root.join("release/dimctl");
    if release.exists() {
        release
    } else {
        eprintln!("note: target/release/dimctl not found; using the debug binary");
        root.join("debug/dimctl")
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let customers = env_or("LIST_BENCH_CUSTOMERS", 10_000);
    let latency = env_or("LIST_BENCH_LATENCY_MS", 50);
    let bin = binary();
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("sandbox.json");
    let seeded = Command::new(&bin)
        .args([
            "sandbox",
            "seed",
            "--customers",
            &customers.to_string(),
            "--state",
        ])
        .arg(&state)
        .stdout(Stdio::null())
        .status()?;
    if !seeded.success() {
        return Err("sandbox seed failed".into());
    }
    let mut server = Command::new(&bin)
        .args([
            "sandbox",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--latency-ms",
            &latency.to_string(),
            "--state",
        ])
        .arg(&state)
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(server.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or("no listening line")?
        .to_string();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let api = HttpApi::new(
            HttpConfig::new(base.clone()),
            Credentials::Static(SecretString::from("bench")),
        )?;
        let started = Instant::now();
        let all = api.list_customers(None).await?;
        let wall = started.elapsed();
        let stats: serde_json::Value = reqwest::get(base.replace("/api/v1.0", "/_sandbox/stats"))
            .await?
            .json()
            .await?;
        Ok::<_, Box<dyn std::error::Error>>((
            all.len(),
            wall,
            stats["requests"].as_u64().unwrap_or(0),
        ))
    });
    let _ = server.kill();
    let _ = server.wait();
    let (n, wall, requests) = result?;
    let pages = (customers / 1000 + 1) as f64;
    println!(
        "list: {n} customers in {:.3} s with {requests} requests ({latency} ms latency each); sequential floor ≈ {:.2} s ({pages} pages)",
        wall.as_secs_f64(),
        pages * latency as f64 / 1000.0
    );
    Ok(())
}
