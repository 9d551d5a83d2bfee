//! The sandbox loses nothing it acknowledged: `sandbox serve` killed with SIGKILL in the
//! middle of an apply still holds every customer it answered 201 for (and no temporary
//! file), and two processes using one `--sandbox` state file serialise on its lock, so
//! neither loses the other's creates.

mod apply_support;

use std::process::Stdio;

use apply_support::*;

#[test]
fn kill_9_of_sandbox_serve_loses_no_answered_create() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let manifests = dir.path().join("m");
    write_generated(&manifests, 80, 31, 0);
    let serve = Serve::start(&state, &["--latency-ms", "5"]);
    let mut args: Vec<String> = vec!["apply".into(), manifests.to_str().unwrap().into()];
    args.extend(http_target(&serve));
    args.extend(
        [
            "--auto-approve",
            "--accept-charges",
            "--no-lock",
            "--format",
            "json",
            "--parallelism",
            "4",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let mut apply = dimctl()
        .args(&args)
        .env(TOKEN_ENV.0, TOKEN_ENV.1)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The progress lines (`apply: created REF (id ID)`) as they come: each is printed
    // after the server answered the create (and a confirmation listing showed it; those
    // are batched, so the first lines come once a batch is answered).
    let stderr = apply.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Kill the server (SIGKILL, no shutdown save) once some creates were answered and
    // reported, while others are still being sent.
    let mut lines = Vec::new();
    while !lines
        .iter()
        .any(|l: &String| l.starts_with("apply: created"))
    {
        match rx.recv_timeout(std::time::Duration::from_secs(120)) {
            Ok(l) => lines.push(l),
            Err(_) => panic!("the apply never reported a create: {lines:?}"),
        }
    }
    drop(serve);
    let _ = apply.kill();
    let _ = apply.wait();
    let _ = reader.join();
    lines.extend(rx.try_iter());
    let answered: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with("apply: created"))
        .filter_map(|l| {
            l.split_once("(id ")
                .and_then(|(_, rest)| rest.split(')').next())
                .map(String::from)
        })
        .collect();
    assert!(!answered.is_empty(), "{lines:?}");
    let store = dimctl::sandbox::persist::load(&state).unwrap();
    for id in &answered {
        assert!(
            store.customers.get(id).is_some(),
            "{id} was answered but is lost"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    // A save killed half-way may leave one; the next start removes it.
    if !leftovers.is_empty() {
        let again = Serve::start(&state, &[]);
        // Once it answers, it has started (and cleaned up) for good.
        assert!(again.stats()["customers"].as_u64().is_some());
        drop(again);
        assert!(
            !std::fs::read_dir(dir.path())
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().contains(".tmp-")),
            "temporary files left behind"
        );
    }
}

#[test]
fn two_processes_on_one_sandbox_state_file_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let ra = write_generated(&a, 25, 41, 0);
    let rb = write_generated(&b, 25, 42, 0);
    let spawn = |m: &std::path::Path| {
        dimctl()
            .args([
                "apply",
                m.to_str().unwrap(),
                "--sandbox",
                state.to_str().unwrap(),
            ])
            .args([
                "--auto-approve",
                "--accept-charges",
                "--no-lock",
                "--allow-unsafe",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Two different sets, and then the same set twice, at once.
    let outs: Vec<_> = [spawn(&a), spawn(&b)]
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outs {
        assert_eq!(o.status.code(), Some(0), "{}", tail(o));
    }
    let c = dir.path().join("c");
    let rc = write_generated(&c, 20, 43, 0);
    let outs: Vec<_> = [spawn(&c), spawn(&c)]
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let refs = references_in_state(&state);
    for r in ra.iter().chain(&rb).chain(&rc) {
        assert_eq!(
            refs.get(r),
            Some(&1),
            "{r}: {refs:?}\n{}",
            outs.iter().map(tail).collect::<Vec<_>>().join("\n")
        );
    }
    assert_eq!(refs.len(), 70);
}
