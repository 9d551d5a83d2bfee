//! Tests of the whole load: files in a temp dir → diagnostics and customers.

use std::path::{Path, PathBuf};

use super::*;

const HEADER: &str = "apiVersion: dimctl/v1\nkind: Customer\n";
/// An administrator user, so a document has no administrator-rule warning.
const ADMIN: &str = "users:\n  - {email: admin@a.example, displayName: Admin, roles: [customer.user, admin.user]}\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn load_dir(dir: &Path) -> Loaded {
    load_with(&[dir.to_path_buf()], &|_| true)
}

fn errors(l: &Loaded) -> Vec<&Diagnostic> {
    l.diagnostics.iter().filter(|d| d.is_error()).collect()
}

#[test]
fn a_valid_manifest_loads_with_its_position() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "acme.yaml",
        &format!(
            "# comment\n{HEADER}reference: ACME-0001\nname: Acme\ncountryCode: GB\ntimezone: Europe/London\nfeatures: {{agent: 2}}\n{ADMIN}"
        ),
    );
    let l = load_dir(d.path());
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!((l.files, l.documents, l.customers.len()), (1, 1, 1));
    let c = &l.customers[0];
    assert_eq!(c.source.line, 2);
    assert_eq!(c.value.spec.reference.as_deref(), Some("ACME-0001"));
    assert_eq!(c.value.spec.features.as_ref().unwrap().agent, Some(2));
    assert_eq!(
        l.summary(),
        "validated 1 document in 1 file: 0 errors, 0 warnings"
    );
}

#[test]
fn schema_errors_map_to_the_value_line_and_column() {
    let d = tempfile::tempdir().unwrap();
    let text = format!(
        "{HEADER}reference: R-1\nfeatures:\n  agent: -1\npbxConnectionProfiles:\n  - _type: TeamsConnectionProfile\n    name: t\n    microsoftTenantId: 42\n"
    );
    write(d.path(), "a.yaml", &text);
    let l = load_dir(d.path());
    let e = errors(&l);
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(e[0].field, "features.agent");
    assert_eq!((e[0].source.line, e[0].source.column), (5, 10));
    assert_eq!(e[1].field, "pbxConnectionProfiles[0].microsoftTenantId");
    assert_eq!((e[1].source.line, e[1].source.column), (9, 24));
    assert!(l.customers.is_empty());
}

#[test]
fn unknown_fields_get_hints_and_read_only_fields_their_own_message() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "a.yaml",
        &format!(
            "{HEADER}reference: R-1\ncountry_code: GB\nparentTenantId: p\nid: pinned-1\nfeatures:\n  agnet: 1\n"
        ),
    );
    let l = load_dir(d.path());
    let e = errors(&l);
    assert_eq!(e.len(), 3, "{e:?}");
    assert_eq!(e[0].field, "country_code");
    assert_eq!(e[0].hint.as_deref(), Some("did you mean `countryCode`?"));
    assert_eq!(e[1].field, "parentTenantId");
    assert_eq!(
        e[1].message,
        "`parentTenantId` is read-only: set by the server; remove it"
    );
    assert_eq!(e[2].field, "features.agnet");
    assert_eq!((e[2].source.line, e[2].source.column), (8, 3));
    assert_eq!(e[2].hint.as_deref(), Some("did you mean `agent`?"));
}

#[test]
fn duplicates_across_files_name_both() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.yaml", &format!("{HEADER}reference: ACME-1\n"));
    write(
        d.path(),
        "b.yaml",
        &format!(
            "{HEADER}reference: OTHER\n---\n{HEADER}reference: ACME-1\nid: x\n---\n{HEADER}id: x\n"
        ),
    );
    let l = load_dir(d.path());
    let e = errors(&l);
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e[0].source.file.ends_with("b.yaml"));
    assert_eq!(e[0].source.line, 7);
    assert_eq!(e[0].field, "reference");
    assert!(e[0].message.contains("a.yaml:3:12"), "{}", e[0].message);
    assert_eq!(e[1].field, "id");
    assert_eq!(e[1].source.line, 12);
    assert!(e[1].message.contains("b.yaml:8:5"), "{}", e[1].message);
}

#[test]
fn every_problem_is_reported_across_documents_and_files() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "1.yaml",
        &format!("{HEADER}reference: A\nname: 5\n"),
    );
    write(d.path(), "2.yaml", "reference: B\n");
    write(d.path(), "3.yaml", "");
    write(d.path(), "4.yaml", "a: [1\n");
    write(d.path(), "5.yaml", &format!("{HEADER}reference: C\n"));
    let l = load_dir(d.path());
    let files: Vec<String> = errors(&l)
        .iter()
        .map(|e| {
            Path::new(&e.source.file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(files, ["1.yaml", "2.yaml", "3.yaml", "4.yaml"]);
    assert_eq!(l.customers.len(), 1);
    assert_eq!(l.files, 5);
}

#[test]
fn warnings_do_not_block() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "a.yaml",
        &format!(
            "{HEADER}reference: A\npbxConnectionProfiles:\n  - _type: KazooPbxConnectionProfile\n    name: k\n    apiKey: {{fromEnv: NOT_SET_ANYWHERE}}\n{ADMIN}"
        ),
    );
    let l = load_with(&[d.path().to_path_buf()], &|_| false);
    assert!(!l.has_errors());
    assert_eq!(l.counts(), (0, 1));
    assert_eq!(l.customers.len(), 1);
}

#[test]
fn json_rendering_of_a_load() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "a.yaml",
        &format!("{HEADER}reference: A\nenabled: maybe\n{ADMIN}"),
    );
    let l = load_dir(d.path());
    let v: serde_json::Value = serde_json::from_str(&render_json(&l.diagnostics)).unwrap();
    assert_eq!(v[0]["line"], 4);
    assert_eq!(v[0]["column"], 10);
    assert_eq!(v[0]["field"], "enabled");
    assert_eq!(v[0]["severity"], "error");
}

#[test]
fn yaml_infinities_and_nan_are_type_errors_in_text_and_number_fields() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "a.yaml",
        &format!("{HEADER}reference: A-1\nname: .inf\ndescription: .NaN\ntrialDuration: -.inf\n"),
    );
    let l = load_dir(d.path());
    let errs = errors(&l);
    let fields: Vec<(&str, usize)> = errs
        .iter()
        .map(|e| (e.field.as_str(), e.source.line))
        .collect();
    assert_eq!(
        fields,
        [("name", 4), ("description", 5), ("trialDuration", 6)],
        "{errs:?}"
    );
    assert!(
        errs[0].message.contains("infinity (`.inf`)"),
        "{}",
        errs[0].message
    );
    assert!(
        errs[1].message.contains("not-a-number (`.nan`)"),
        "{}",
        errs[1].message
    );
    assert!(errs[0].hint.as_deref().unwrap_or("").contains("quote it"));
    assert!(l.customers.is_empty());

    // Quoted, they are text.
    write(
        d.path(),
        "a.yaml",
        &format!("{HEADER}reference: A-1\nname: '.inf'\n"),
    );
    let l = load_dir(d.path());
    assert!(errors(&l).is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.customers[0].value.spec.name.as_deref(), Some(".inf"));
}

#[test]
fn a_blank_reference_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "a.yaml",
        &format!("{HEADER}reference: \"   \"\nname: A\n"),
    );
    let l = load_dir(d.path());
    let errs = errors(&l);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].field, "reference");
    assert_eq!(errs[0].source.line, 3);
    assert!(
        errs[0].message.contains("`reference` is blank"),
        "{}",
        errs[0].message
    );
    assert!(l.customers.is_empty());
}

#[test]
fn references_are_compared_in_nfc_and_a_decomposed_one_is_named() {
    let d = tempfile::tempdir().unwrap();
    // "CAFÉ-1" composed (U+00C9) and decomposed (E + U+0301).
    write(
        d.path(),
        "a.yaml",
        &format!("{HEADER}reference: \"CAF\u{00C9}-1\"\nname: A\n{ADMIN}"),
    );
    write(
        d.path(),
        "b.yaml",
        &format!("{HEADER}reference: \"CAFE\u{0301}-1\"\nname: B\n{ADMIN}"),
    );
    let l = load_dir(d.path());
    let warning = l
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Warning)
        .expect("a warning for the decomposed reference");
    assert!(warning.source.file.ends_with("b.yaml"));
    assert!(
        warning.message.contains("U+0045 U+0301 compose to U+00C9"),
        "{}",
        warning.message
    );
    let errs = errors(&l);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].message.starts_with("duplicate reference"),
        "{}",
        errs[0].message
    );
}
