//! The reliability proof against `sandbox serve` with fault injection: for each fault,
//! apply the examples plus 200 generated customers (then change every one of them and
//! apply again, so PATCHes meet the fault too); afterwards a new plan shows zero changes
//! and the sandbox holds exactly one tenant per reference. Seeds are fixed so a failure
//! replays. Also: a converged state gets no write, and a saved plan skips a customer
//! changed since it was made.

mod apply_support;

use std::path::Path;
use std::process::Output;

use apply_support::*;

const GENERATED: usize = 200;
const SEED: &str = "20261122";

/// How the binary authenticates against the sandbox.
enum Auth {
    /// A static bearer token (the sandbox accepts any without `--token`).
    Static,
    /// The OAuth refresh flow against the sandbox's `/connect/token`.
    Refresh,
}

struct Target<'a> {
    serve: &'a Serve,
    auth: &'a Auth,
    secrets: &'a [String],
}

impl Target<'_> {
    fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(http_target(self.serve));
        let token_url = self.serve.token_url();
        let mut envs: Vec<(&str, &str)> = Vec::new();
        match self.auth {
            Auth::Static => envs.push(TOKEN_ENV),
            Auth::Refresh => {
                all.push("--token-url".into());
                all.push(token_url.clone());
                envs.push(("DIMCTL_CLIENT_ID", "e2e-client"));
                envs.push(("DIMCTL_CLIENT_SECRET", "e2e-client-secret"));
                // The sandbox's token endpoint accepts any refresh token and rotates it.
                envs.push(("DIMCTL_REFRESH_TOKEN", "e2e-initial-refresh-token"));
            }
        }
        for v in self.secrets {
            envs.push((v.as_str(), "e2e-dummy-secret"));
        }
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        run(&refs, &envs)
    }

    fn apply(&self, dir: &Path) -> Output {
        self.run(&[
            "apply",
            dir.to_str().unwrap(),
            "--auto-approve",
            "--accept-charges",
            // Every fault case updates every customer: far beyond the safety threshold.
            "--allow-unsafe",
            "--format",
            "json",
            // Info logs show the client's retries: evidence that a fault was met.
            "-v",
        ])
    }

    fn plan_is_empty(&self, dir: &Path) {
        let out = self.run(&["plan", dir.to_str().unwrap(), "--detailed-exitcode"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "a second plan must show zero changes: {:?}",
            text(&out)
        );
    }
}

fn assert_applied(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "apply failed: {:?}", text(out));
    let doc = result_doc(out);
    assert_eq!(doc["counts"]["failed"], 0, "{doc:#}");
}

/// The convergence check, made on a fault-free sandbox over the same saved state (the
/// faults are for apply; the check must not be subject to them): a new plan shows zero
/// changes.
fn check_converged(state: &Path, manifests: &Path, secrets: &[String]) {
    let clean = Serve::start(state, &[]);
    Target {
        serve: &clean,
        auth: &Auth::Static,
        secrets,
    }
    .plan_is_empty(manifests);
    clean.stop();
}

/// The matrix body: create under the fault, check; update everything under the fault,
/// check; then exactly one tenant per reference.
///
/// `evidence`: text that must appear in some apply's output, proving the fault was met.
fn converges_under(faults: &[&str], auth: Auth, evidence: &str) {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("customers");
    let state = dir.path().join("sandbox.json");
    let secrets = copy_examples(&manifests);
    let refs = write_generated(&manifests, GENERATED, 1, 0);
    seed_example_tenants(&state);

    let mut extra = vec!["--seed", SEED];
    extra.extend_from_slice(faults);
    if matches!(auth, Auth::Refresh) {
        extra.extend_from_slice(&["--token", "e2e-fixed-token"]);
    }
    let mut outputs = String::new();
    for revision in 0..2 {
        write_generated(&manifests, GENERATED, 1, revision);
        let serve = Serve::start(&state, &extra);
        let t = Target {
            serve: &serve,
            auth: &auth,
            secrets: &secrets,
        };
        // A create whose POST met a 5xx or a lost answer and that look-ups do not show is
        // `unknown` (never POSTed twice in one run): the next run finishes it, as do
        // deletes held back behind it. Nothing may fail outright.
        for attempt in 1..=6 {
            let out = t.apply(&manifests);
            let (stdout, stderr) = text(&out);
            outputs.push_str(&stdout);
            outputs.push_str(&stderr);
            if out.status.code() == Some(0) || attempt == 6 {
                assert_applied(&out);
                break;
            }
            let doc = result_doc(&out);
            assert_eq!(doc["counts"]["failed"], 0, "{doc:#}");
            assert!(
                doc["counts"]["unknown"].as_u64().unwrap_or(0) > 0,
                "exit 1 without an unknown outcome: {doc:#}"
            );
        }
        serve.stop();
        check_converged(&state, &manifests, &secrets);
    }

    assert!(
        !outputs.contains("e2e-dummy-secret"),
        "a secret value reached the output"
    );
    assert!(
        outputs.contains(evidence),
        "no sign of the fault ({evidence:?}) in the output"
    );
    let counts = references_in_state(&state);
    for r in &refs {
        assert_eq!(counts.get(r), Some(&1), "exactly one tenant for {r}");
    }
    let dupes: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(dupes.is_empty(), "duplicated references: {dupes:?}");
    assert_eq!(
        counts.get("OLDMILL-0058"),
        None,
        "the absent example was terminated"
    );
}

#[test]
fn converges_with_latency() {
    converges_under(&["--latency-ms", "5"], Auth::Static, "created");
}

#[test]
fn converges_through_a_429_storm_with_retry_after() {
    converges_under(&["--rate-limit", "50"], Auth::Static, "retrying in");
}

#[test]
fn converges_with_10_percent_500_and_503() {
    converges_under(&["--error-rate", "0.1"], Auth::Static, "outcome unknown");
}

#[test]
fn converges_with_dropped_connections() {
    converges_under(&["--drop-rate", "0.1"], Auth::Static, "connection closed");
}

#[test]
fn converges_with_commit_then_drop_on_post() {
    converges_under(
        &["--commit-then-drop-post", "0.2"],
        Auth::Static,
        "the answer was lost; found it created",
    );
}

#[test]
fn converges_with_commit_then_drop_on_patch() {
    converges_under(
        &["--commit-then-drop-patch", "0.2"],
        Auth::Static,
        // The client re-sends a PATCH whose connection dropped; the executor's own
        // read-back then verifies it.
        "connection closed",
    );
}

#[test]
fn converges_with_401_mid_run_and_token_refresh() {
    converges_under(
        &["--token-lifetime-requests", "40"],
        Auth::Refresh,
        "refresh token rotated",
    );
}

#[test]
fn a_second_apply_of_a_converged_state_sends_no_write() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("customers");
    write_generated(&manifests, 30, 2, 0);
    let serve = Serve::start(&dir.path().join("sandbox.json"), &[]);
    let t = Target {
        serve: &serve,
        auth: &Auth::Static,
        secrets: &[],
    };
    assert_applied(&t.apply(&manifests));
    let before = serve.stats();
    assert!(before["writes"].as_u64().unwrap() >= 30, "{before}");
    let out = t.apply(&manifests);
    assert_applied(&out);
    assert_eq!(result_doc(&out)["counts"]["unchanged"], 30);
    let after = serve.stats();
    assert_eq!(
        after["writes"], before["writes"],
        "no write: {before} -> {after}"
    );
    for m in ["POST", "PATCH", "DELETE"] {
        assert_eq!(after["byMethod"][m], before["byMethod"][m], "{m}");
    }
}

#[test]
fn a_saved_plan_skips_a_customer_changed_since_and_applies_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("customers");
    let refs = write_generated(&manifests, 10, 3, 0);
    let serve = Serve::start(&dir.path().join("sandbox.json"), &[]);
    let t = Target {
        serve: &serve,
        auth: &Auth::Static,
        secrets: &[],
    };
    assert_applied(&t.apply(&manifests));

    // A plan to change every description, saved.
    write_generated(&manifests, 10, 3, 1);
    let plan_file = dir.path().join("plan.json");
    let out = t.run(&[
        "plan",
        manifests.to_str().unwrap(),
        "--allow-unsafe",
        "--out",
        plan_file.to_str().unwrap(),
    ]);
    assert!(plan_file.exists(), "plan --out: {:?}", text(&out));

    // Someone else changes one of them in the meantime (revision 9 of just that one).
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    write_generated(&other, 10, 3, 9);
    for r in &refs[1..] {
        std::fs::remove_file(other.join(format!("{r}.yaml"))).unwrap();
    }
    assert_applied(&t.apply(&other));
    let writes_before = serve.stats()["writes"].as_u64().unwrap();

    let out = t.run(&[
        "apply",
        "--plan",
        plan_file.to_str().unwrap(),
        "--auto-approve",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    let doc = result_doc(&out);
    assert_eq!(status_of(&doc, &refs[0]), "stale");
    for r in &refs[1..] {
        assert_eq!(status_of(&doc, r), "updated");
    }
    let writes_after = serve.stats()["writes"].as_u64().unwrap();
    assert_eq!(
        writes_after - writes_before,
        9,
        "nine PATCHes, none for the stale one"
    );
    // The stale one still holds the other edit: planning `other` again shows no change.
    t.plan_is_empty(&other);
}

#[test]
fn an_interrupted_apply_exits_130_and_the_next_plan_shows_the_rest() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("customers");
    write_generated(&manifests, 40, 4, 0);
    // 40 PATCHes one at a time take over 2 s: the first read-backs (batched, made after
    // 1 s at the latest) are reported while most updates have not started.
    let serve = Serve::start(&dir.path().join("sandbox.json"), &["--latency-ms", "60"]);
    let t = Target {
        serve: &serve,
        auth: &Auth::Static,
        secrets: &[],
    };
    assert_applied(&t.apply(&manifests));
    write_generated(&manifests, 40, 4, 1);

    let mut args = vec![
        "apply".to_string(),
        manifests.to_str().unwrap().into(),
        "--auto-approve".into(),
        "--allow-unsafe".into(),
        "--parallelism".into(),
        "1".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(http_target(&serve));
    let mut child = dimctl()
        .args(&args)
        .env(TOKEN_ENV.0, TOKEN_ENV.1)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = 0;
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        if line.unwrap().starts_with("apply: updated") {
            seen += 1;
            if seen == 3 {
                std::process::Command::new("kill")
                    .args(["-INT", &child.id().to_string()])
                    .status()
                    .unwrap();
                break;
            }
        }
    }
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "stderr after the signal: {rest:?}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["interrupted"], true);
    let updated = doc["counts"]["updated"].as_u64().unwrap();
    let skipped = doc["counts"]["skipped"].as_u64().unwrap();
    assert!(updated >= 3 && skipped >= 1, "{doc:#}");
    assert_eq!(updated + skipped, 40, "nothing half-known: {doc:#}");

    // The next plan shows exactly the remaining work; applying it converges.
    let out = t.run(&[
        "plan",
        manifests.to_str().unwrap(),
        "--allow-unsafe",
        "--detailed-exitcode",
    ]);
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
    assert_applied(&t.apply(&manifests));
    t.plan_is_empty(&manifests);
}
