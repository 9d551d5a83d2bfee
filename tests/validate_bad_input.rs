//! `dimctl validate` on bad input: each case exits non-zero with a message that names
//! the file, the line and the field (where there is one), and never panics or hangs.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

const HEADER: &str = "apiVersion: dimctl/v1\nkind: Customer\n";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn validate(args: &[&Path], cwd: &Path) -> Run {
    let out: Output = support::dimctl()
        .arg("validate")
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Write one file into a fresh temp dir and validate it by its relative name.
fn one(name: &str, content: &[u8]) -> (tempfile::TempDir, Run) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), content).unwrap();
    let run = validate(&[Path::new(name)], dir.path());
    (dir, run)
}

fn assert_failed_at(run: &Run, location: &str, field: &str, words: &str) {
    assert_eq!(run.code, 1, "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with(location))
        .unwrap_or_else(|| panic!("no diagnostic at {location}:\n{}", run.stderr));
    assert!(line.contains(": error: "), "{line}");
    assert!(
        line.contains(&format!(" {field}: ")) || field.is_empty(),
        "{line}"
    );
    assert!(line.contains(words), "{line}");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn syntax_error() {
    let (_d, run) = one(
        "a.yaml",
        format!("{HEADER}reference: A\nname: [Acme\n").as_bytes(),
    );
    assert_failed_at(&run, "a.yaml:5:1:", "", "YAML syntax error");
}

#[test]
fn tabs_in_indentation() {
    let (_d, run) = one(
        "a.yaml",
        format!("{HEADER}reference: A\nfeatures:\n\tagent: 1\n").as_bytes(),
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("a.yaml:5:"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("= hint: YAML indentation must use spaces, not tabs"),
        "{}",
        run.stderr
    );
}

#[test]
fn utf8_bom_is_accepted_and_positions_stay_right() {
    let mut text = b"\xEF\xBB\xBF".to_vec();
    text.extend_from_slice(format!("{HEADER}reference: A\n").as_bytes());
    let (_d, run) = one("bom.yaml", &text);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let mut text = b"\xEF\xBB\xBF".to_vec();
    text.extend_from_slice(b"apiVersion: dimctl/v1\nkind: Customer\nreference: A\nname: 7\n");
    let (_d, run) = one("bom.yaml", &text);
    assert_failed_at(&run, "bom.yaml:4:7:", "name", "expected text");
}

#[test]
fn empty_file_and_file_with_no_documents() {
    for content in ["", "# just a comment\n", "---\n", "---\n...\n"] {
        let (_d, run) = one("empty.yaml", content.as_bytes());
        assert_eq!(run.code, 1, "{content:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("empty.yaml: error: no manifest documents in this file"),
            "{content:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn wrong_types() {
    let (_d, run) = one(
        "t.yaml",
        format!("{HEADER}reference: A\nenabled: \"yes\"\ntrialDuration: thirty\nfeatures: 3\n")
            .as_bytes(),
    );
    assert_failed_at(
        &run,
        "t.yaml:4:10:",
        "enabled",
        "expected true or false, found text",
    );
    assert_failed_at(
        &run,
        "t.yaml:5:16:",
        "trialDuration",
        "expected a whole number",
    );
    assert_failed_at(&run, "t.yaml:6:11:", "features", "expected a mapping");
}

#[test]
fn unknown_field_with_a_hint() {
    let (_d, run) = one(
        "u.yaml",
        format!("{HEADER}reference: A\ncontryCode: GB\n").as_bytes(),
    );
    assert_failed_at(
        &run,
        "u.yaml:4:1:",
        "contryCode",
        "unknown field `contryCode`",
    );
    assert!(
        run.stderr.contains("= hint: did you mean `countryCode`?"),
        "{}",
        run.stderr
    );
    // The rustc-style snippet: the line and a caret under the key.
    assert!(
        run.stderr.contains("4 | contryCode: GB\n  | ^^^^^^^^^^\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn read_only_fields_are_refused_by_name() {
    let (_d, run) = one(
        "r.yaml",
        format!("{HEADER}reference: A\ndateCreated: 2024-01-01T00:00:00Z\n").as_bytes(),
    );
    assert_failed_at(
        &run,
        "r.yaml:4:1:",
        "dateCreated",
        "read-only: set by the server; remove it",
    );
}

#[test]
fn over_long_strings() {
    let name = "N".repeat(101);
    let (_d, run) = one(
        "l.yaml",
        format!("{HEADER}reference: A\nname: {name}\ncountryCode: GBRUK\n").as_bytes(),
    );
    assert_failed_at(
        &run,
        "l.yaml:4:7:",
        "name",
        "101 characters long; the maximum is 100",
    );
    assert_failed_at(&run, "l.yaml:5:14:", "countryCode", "not a country code");
}

#[test]
fn duplicate_keys_name_both_lines() {
    let (_d, run) = one(
        "k.yaml",
        format!("{HEADER}reference: A\nname: One\nenabled: true\nname: Two\n").as_bytes(),
    );
    assert_failed_at(
        &run,
        "k.yaml:6:1:",
        "",
        "duplicate key `name` (first at line 4",
    );
}

#[test]
fn billion_laughs_is_refused() {
    let mut text =
        format!("{HEADER}reference: A\nx0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!(
            "x{i}: &x{i} [*x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}]\n"
        ));
    }
    let (_d, run) = one("lol.yaml", text.as_bytes());
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("lol.yaml:"), "{}", run.stderr);
    assert!(run.stderr.contains("billion laughs"), "{}", run.stderr);
}

#[test]
fn deep_nesting_is_refused() {
    let text = format!(
        "{HEADER}reference: A\nfeatures: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let (_d, run) = one("deep.yaml", text.as_bytes());
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("deep.yaml:4:"), "{}", run.stderr);
}

#[test]
fn a_50_mb_file_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let f = std::fs::File::create(dir.path().join("huge.yaml")).unwrap();
    f.set_len(50 * 1024 * 1024).unwrap();
    drop(f);
    let run = validate(&[Path::new("huge.yaml")], dir.path());
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("huge.yaml: error: file is 52428800 bytes; a manifest file may be at most 10485760 bytes (10 MiB)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_directory_with_no_manifests() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("customers")).unwrap();
    std::fs::write(dir.path().join("customers/README.md"), "nothing here").unwrap();
    let run = validate(&[Path::new("customers")], dir.path());
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("customers: error: no manifest files (*.yaml, *.yml) in this directory"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_path_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let run = validate(&[Path::new("nope/acme.yaml")], dir.path());
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("nope/acme.yaml: error: no such file or directory"),
        "{}",
        run.stderr
    );
}

#[cfg(unix)]
#[test]
fn an_unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p: PathBuf = dir.path().join("secret.yaml");
    std::fs::write(&p, format!("{HEADER}reference: A\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&p).is_ok() {
        eprintln!("skipped: this user can read a mode-000 file (root?)");
        return;
    }
    let run = validate(&[Path::new("secret.yaml")], dir.path());
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("secret.yaml: error: cannot read: permission denied"),
        "{}",
        run.stderr
    );
}

#[test]
fn not_utf8() {
    let (_d, run) = one("bin.yaml", b"apiVersion: dimctl/v1\nname: \xC3\x28\n");
    assert_failed_at(&run, "bin.yaml:2:7:", "", "not valid UTF-8");
}

#[test]
fn a_literal_secret_is_refused_and_never_echoed() {
    let text = format!(
        "{HEADER}reference: A\npbxConnectionProfiles:\n  - _type: KazooPbxConnectionProfile\n    name: k\n    apiKey: sup3r-s3cret-value\n"
    );
    let (_d, run) = one("s.yaml", text.as_bytes());
    assert_failed_at(
        &run,
        "s.yaml:7:13:",
        "pbxConnectionProfiles[0].apiKey",
        "is a secret",
    );
    assert!(
        run.stderr
            .contains("secrets never sit in git: write `apiKey: {fromEnv: VAR}`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("sup3r"), "{}", run.stderr);
}

#[test]
fn header_problems() {
    let text = format!(
        "kind: Customer\nreference: A\n---\napiVersion: dimctl/v2\nkind: Customer\nreference: B\n---\napiVersion: dimctl/v1\nkind: Tenant\n---\n{HEADER}name: No identity\n---\n- a list\n"
    );
    let (_d, run) = one("h.yaml", text.as_bytes());
    assert_failed_at(
        &run,
        "h.yaml:1:1:",
        "apiVersion",
        "missing `apiVersion: dimctl/v1`",
    );
    assert_failed_at(
        &run,
        "h.yaml:4:13:",
        "apiVersion",
        "unsupported apiVersion `dimctl/v2`",
    );
    assert_failed_at(&run, "h.yaml:9:7:", "kind", "unknown kind `Tenant`");
    assert_failed_at(&run, "h.yaml:11:1:", "", "needs `reference`");
    assert_failed_at(&run, "h.yaml:15:1:", "", "must be a mapping");
}

#[test]
fn semantic_errors() {
    let text = format!(
        "{HEADER}reference: A\ntimezone: Mars/Olympus_Mons\ncountryCode: XQ\ntrialDuration: 400\nlifecycle:\n  ignoreChanges: [dateCreated]\n"
    );
    let (_d, run) = one("sem.yaml", text.as_bytes());
    assert_failed_at(
        &run,
        "sem.yaml:4:11:",
        "timezone",
        "not a known IANA time zone",
    );
    assert_failed_at(
        &run,
        "sem.yaml:5:14:",
        "countryCode",
        "not an ISO 3166 country code",
    );
    assert_failed_at(&run, "sem.yaml:6:16:", "trialDuration", "at most 365");
    assert_failed_at(
        &run,
        "sem.yaml:8:19:",
        "lifecycle.ignoreChanges[0]",
        "`dateCreated` is not allowed here",
    );
}

#[test]
fn duplicate_references_across_files_name_both() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        format!("{HEADER}reference: ACME-1\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.yaml"),
        format!("{HEADER}name: B\nreference: ACME-1\n"),
    )
    .unwrap();
    let run = validate(&[], dir.path());
    assert_failed_at(
        &run,
        "b.yaml:4:12:",
        "reference",
        "duplicate reference `ACME-1`: first declared at a.yaml:3:12",
    );
}

#[test]
fn every_problem_is_reported_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        format!("{HEADER}reference: A\nname: 1\nenabled: 2\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("b.yml"), "reference: B\n").unwrap();
    let run = validate(&[Path::new(".")], dir.path());
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("a.yaml:4:7:"), "{}", run.stderr);
    assert!(run.stderr.contains("a.yaml:5:10:"), "{}", run.stderr);
    assert!(run.stderr.contains("b.yml:1:1:"), "{}", run.stderr);
    // a.yaml declares no administrator user: the portal's rule is a warning.
    assert!(
        run.stderr.contains("a.yaml:1:1: warning: users:"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .trim_end()
            .ends_with("validated 2 documents in 2 files: 3 errors, 1 warning"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    assert!(!run.stderr.contains('\x1b'), "no colour off a terminal");
}

#[test]
fn usage_error_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::dimctl()
        .args(["validate", "--format", "xml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'xml'"));
}
