//! Validate benchmark: generate N manifest files (default 10,000) in a temp dir and time
//! `manifest::load()` over them in-process. Prints figures; asserts nothing.
//!
//! `cargo bench --bench validate` (release), or a quick check in debug:
//! `DIMCTL_BENCH_FILES=500 cargo run --bench validate` / `cargo bench --bench validate -- 500`.
//! Target on a 2-core machine: under 1 s and under 150 MB peak RSS for 10,000 files.

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let count = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .or_else(|| {
            std::env::var("DIMCTL_BENCH_FILES")
                .ok()
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    for i in 0..count {
        let sub = dir.path().join(format!("region-{:02}", i % 20));
        if i < 20 {
            std::fs::create_dir_all(&sub).expect("mkdir");
        }
        std::fs::write(sub.join(format!("customer-{i:05}.yaml")), manifest(i)).expect("write");
    }
    let generated = started.elapsed();

    let started = Instant::now();
    let loaded = dimctl::manifest::load(&[PathBuf::from(dir.path())]);
    let took = started.elapsed();
    let (errors, warnings) = loaded.counts();

    println!("validate: {count} files generated in {:.2?}", generated);
    println!(
        "validate: load() read {} files, {} documents, {} customers, {errors} errors, {warnings} warnings",
        loaded.files,
        loaded.documents,
        loaded.customers.len()
    );
    println!(
        "validate: wall time {:.3} s ({:.1} µs per file), threads {}",
        took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / count.max(1) as f64,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    match peak_rss_kib() {
        Some(kib) => println!("validate: peak RSS {:.1} MB", kib as f64 / 1024.0),
        None => println!("validate: peak RSS unknown (no /proc/self/status)"),
    }
    if errors > 0 {
        eprintln!("validate: unexpected errors in generated manifests:");
        eprint!(
            "{}",
            dimctl::manifest::render_text(&loaded.diagnostics[..errors.min(5)], false)
        );
    }
}

/// A realistic manifest; every fifth has a PBX profile, every seventh a trial.
fn manifest(i: usize) -> String {
    let (tz, cc) = match i % 3 {
        0 => ("Europe/London", "GB"),
        1 => ("America/New_York", "US"),
        _ => ("Australia/Sydney", "AU"),
    };
    let mut text = format!(
        "# yaml-language-server: $schema=../../schema/customer.schema.json\n\
         apiVersion: dimctl/v1\n\
         kind: Customer\n\
         reference: BENCH-{i:05}\n\
         name: Customer {i}\n\
         description: Generated customer number {i} for the validate benchmark\n\
         enabled: {}\n\
         timezone: {tz}\n\
         countryCode: {cc}\n\
         features:\n  agent: {}\n  device: {}\n",
        !i.is_multiple_of(4),
        i % 50,
        i % 5
    );
    if i.is_multiple_of(7) {
        text.push_str("trialDuration: 30\nsyncAcdAgentWithPbx: true\n");
    }
    if i.is_multiple_of(5) {
        text.push_str(&format!(
            "pbxConnectionProfiles:\n  - _type: KazooPbxConnectionProfile\n    name: kazoo-{i}\n    \
             enabled: true\n    hostRest: https://kazoo{i}.example.com:8443/v2\n    \
             apiKey: {{fromEnv: BENCH_KAZOO_KEY}}\n"
        ));
    }
    text
}

/// Peak resident set size (VmHWM) in KiB, from /proc/self/status.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
