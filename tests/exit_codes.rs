//! The exit-code contract, end to end: 0 ok / 1 every error, usage errors included /
//! 2 changes present / and a closed stdout ends quietly with the command's own code.

mod support;

use std::process::Stdio;

use support::dimctl;

fn examples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/customers")
}

#[test]
fn usage_errors_exit_1_and_help_and_version_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (&["plan", "--no-such-flag"][..], "unexpected argument"),
        (&["no-such-command"][..], "unrecognized subcommand"),
        (&["plan", "--format", "xml"][..], "invalid value 'xml'"),
        // No target at all: a usage error, not "changes present".
        (
            &["plan", "--detailed-exitcode"][..],
            "no tenant store given",
        ),
        (&["drift"][..], "no tenant store given"),
    ] {
        let out = dimctl()
            .current_dir(dir.path())
            .env_remove("DIMCTL_API_URL")
            .env_remove("DIMCTL_REGION")
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
    for args in [&["--help"][..], &["--version"], &["plan", "--help"]] {
        let out = dimctl().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn accept_charges_is_refused_where_nothing_is_written() {
    for cmd in ["plan", "drift", "import", "config"] {
        let out = dimctl()
            .args([cmd, "--sandbox", "x.json", "--accept-charges"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--accept-charges"),
            "{cmd}"
        );
    }
    let help = dimctl().args(["apply", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--accept-charges"));
}

/// `dimctl plan … | head -1`: the reader has gone; dimctl neither panics nor complains,
/// and exits with the code the plan would have had (2: changes, with --detailed-exitcode).
#[test]
fn a_closed_stdout_ends_quietly_with_the_commands_code() {
    let dir = tempfile::tempdir().unwrap();
    for (format, detailed, want) in [("text", true, 2), ("markdown", true, 2), ("json", false, 0)] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut cmd = dimctl();
        cmd.current_dir(dir.path())
            .arg("plan")
            .arg(examples())
            .args(["--sandbox", "s.json", "--format", format])
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped());
        if detailed {
            cmd.arg("--detailed-exitcode");
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(want), "{format}: {stderr}");
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        assert!(
            !stderr.to_ascii_lowercase().contains("broken pipe"),
            "{format}: {stderr}"
        );
        assert!(!stderr.contains("error:"), "{format}: {stderr}");
    }
}

/// A closed stderr (its reader went away) never panics (a panic exits 101): each command
/// still exits with its own code and writes its stdout in full.
#[test]
fn a_closed_stderr_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let ex = examples();
    let ex = ex.to_str().unwrap();
    let missing = dir.path().join("no-such-dir");
    for (args, want, stdout_has) in [
        // The summary goes to stderr after the JSON on stdout.
        (
            vec!["validate", ex, "--format", "json"],
            0,
            "\"diagnostics\"",
        ),
        // An error message goes to stderr.
        (vec!["validate", missing.to_str().unwrap()], 1, ""),
        // Logs at every level and "Saved the plan" go to stderr.
        (
            vec![
                "plan",
                ex,
                "--sandbox",
                "s.json",
                "--detailed-exitcode",
                "--out",
                "plan.json",
                "-vvv",
            ],
            2,
            "to create",
        ),
        // The saved plan's header and the progress go to stderr.
        (
            vec![
                "apply",
                "--plan",
                "plan.json",
                "--sandbox",
                "s.json",
                "--auto-approve",
                "--accept-charges",
            ],
            0,
            "created",
        ),
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = dimctl()
            .current_dir(dir.path())
            .env("BRIGHTWAVE_KAZOO_API_KEY", "kazoo-key")
            .env("HARBOUR_3CX_PASSWORD", "3cx-password")
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(writer))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(want), "{args:?}: {stdout}");
        assert!(stdout.contains(stdout_has), "{args:?}: {stdout}");
    }
}
