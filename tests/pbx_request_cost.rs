//! The request cost of planning PBX profiles, measured against `sandbox serve`: a plan of
//! 1,000 existing customers with one profile each. Ignored by default (it builds 1,000
//! manifests and runs the debug binary); run it with
//! `cargo test --test pbx_request_cost -- --ignored --nocapture` to print the figure.
//!
//! The floor is the customer listing (1,000 customers fill one page of 1,000, and only an
//! empty page ends a listing: 2 requests) plus one profile listing per customer whose
//! document declares profiles: one request each (the vendor documents no paging for a
//! customer's profiles; a page that comes back full is paged like the rest). No instance
//! check is needed when every profile exists.

mod support;

use serde_json::{Value, json};
use support::{SandboxServer, dimctl};

const CUSTOMERS: usize = 1000;

fn stats(base_url: &str) -> Value {
    use std::io::{Read, Write};
    let host = base_url
        .trim_start_matches("http://")
        .trim_end_matches("/api/v1.0")
        .to_string();
    let mut s = std::net::TcpStream::connect(&host).unwrap();
    write!(
        s,
        "GET /_sandbox/stats HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap_or_default()).unwrap()
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture to print the figure"]
fn plan_of_1000_customers_with_one_profile_each() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = dimctl::sandbox::Store::default();
    let manifests = dir.path().join("m");
    std::fs::create_dir_all(&manifests).unwrap();
    let mut n = 0u64;
    let mut id = || {
        n += 1;
        format!("00000000-0000-4000-8000-{n:012}")
    };
    for i in 0..CUSTOMERS {
        let reference = format!("COST-{i:05}");
        let body = json!({"name": format!("Cost {i}"), "reference": reference,
            "pbxConnectionProfiles": [{"_type": "TeamsConnectionProfile", "name": "teams",
                "microsoftTenantId": format!("ms-{i}")}]});
        store
            .create(&body, true, &mut id, "2026-01-01T00:00:00Z")
            .unwrap();
        std::fs::write(
            manifests.join(format!("{reference}.yaml")),
            format!(
                "apiVersion: dimctl/v1\nkind: Customer\nreference: {reference}\nname: Cost {i}\n\
                 pbxConnectionProfiles:\n  - _type: TeamsConnectionProfile\n    name: teams\n    microsoftTenantId: ms-{i}\n"
            ),
        )
        .unwrap();
    }
    let state = dir.path().join("state.json");
    dimctl::sandbox::persist::save(&state, &store).unwrap();
    let server = SandboxServer::start(&state, &[]);
    let before = stats(&server.base_url)["requests"].as_u64().unwrap();
    let started = std::time::Instant::now();
    let out = dimctl()
        .args([
            "plan",
            "m",
            "--detailed-exitcode",
            "--api-url",
            &server.base_url,
        ])
        .current_dir(dir.path())
        .env("DIMCTL_TOKEN", "cost-test-token")
        .env_remove("DIMCTL_API_URL")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requests = stats(&server.base_url)["requests"].as_u64().unwrap() - before;
    let customer_pages = 2u64;
    let floor_listings = customer_pages + CUSTOMERS as u64;
    println!(
        "plan of {CUSTOMERS} customers with one PBX profile each (debug build): {requests} requests \
         in {:.2} s; floor {floor_listings} (customer pages + one profile listing per customer)",
        elapsed.as_secs_f64()
    );
    assert!(
        requests <= floor_listings,
        "{requests} requests, more than the floor {floor_listings}"
    );
}
