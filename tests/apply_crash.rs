//! The crash test: `dimctl apply` killed with SIGKILL at seeded random points (after its
//! k-th progress line on stderr), then re-run; every round the store converges with no
//! duplicate and no lost change.

mod apply_support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use apply_support::*;

const ROUNDS: usize = 20;
const BASE: usize = 30;

#[test]
fn apply_killed_at_random_points_converges_without_duplicates_or_lost_changes() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("customers");
    let serve = Serve::start(&dir.path().join("sandbox.json"), &["--latency-ms", "2"]);
    let mut rng = fastrand::Rng::with_seed(20_261_122);
    let apply_args = |m: &std::path::Path| -> Vec<String> {
        let mut a: Vec<String> = [
            "apply",
            m.to_str().unwrap(),
            "--auto-approve",
            "--accept-charges",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(http_target(&serve));
        a
    };
    let mut total = BASE;
    for round in 0..ROUNDS {
        // New desired state: every description changes and two customers are added.
        total = BASE + 2 * round;
        write_generated(&manifests, total, 5, round as u32 + 1);
        let k = rng.usize(1..=total);

        let mut child = dimctl()
            .args(apply_args(&manifests))
            .env(TOKEN_ENV.0, TOKEN_ENV.1)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut seen = 0;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("apply: ") {
                seen += 1;
                if seen == k {
                    let _ = child.kill(); // SIGKILL
                    break;
                }
            }
        }
        let _ = child.wait();

        let out = run(
            &apply_args(&manifests)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            &[TOKEN_ENV],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round} (killed after line {k}): the re-run failed: {:?}",
            text(&out)
        );
        let mut plan_args = vec![
            "plan".to_string(),
            manifests.to_str().unwrap().to_string(),
            "--detailed-exitcode".into(),
        ];
        plan_args.extend(http_target(&serve));
        let out = run(
            &plan_args.iter().map(String::as_str).collect::<Vec<_>>(),
            &[TOKEN_ENV],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round}: changes lost: {:?}",
            text(&out)
        );
        let stats = serve.stats();
        assert_eq!(
            stats["customers"].as_u64(),
            Some(total as u64),
            "round {round}: duplicates? {stats}"
        );
    }
    let state = serve.stop();
    let counts = references_in_state(&state);
    assert_eq!(counts.len(), total);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
}
