//! Fails when a resource kind is half wired. For every [`Kind`] it checks: a section in
//! the committed schema (`schema/customer.schema.json`) with the kind's identity fields; a
//! sandbox collection; a create, update and delete round trip through `sandbox serve`
//! that then plans nothing; and an import whose manifests then plan nothing.
//!
//! A new kind must add an arm to [`example`] (the compiler asks for it) and pass the rest.

mod support;

use std::path::Path;

use dimctl::model::Kind;
use serde_json::Value;
use support::{SandboxServer, dimctl};

/// A manifest that creates one resource of `kind`, one that changes it, and one that
/// removes it (files named by the kind's label).
fn example(kind: Kind) -> [String; 3] {
    match kind {
        Kind::Customer => {
            let doc = |name: &str, extra: &str| {
                format!(
                    "apiVersion: dimctl/v1\nkind: Customer\nreference: WIRED-1\nname: {name}\n{extra}"
                )
            };
            [
                doc("Wired Ltd", "countryCode: GB\n"),
                doc("Wired Renamed Ltd", "countryCode: GB\n"),
                doc("Wired Renamed Ltd", "ensure: absent\n"),
            ]
        }
        Kind::User => {
            let doc = |user: &str| {
                format!(
                    "apiVersion: dimctl/v1\nkind: Customer\nreference: WIRED-U\nname: Wired Users Ltd\nusers:\n{user}"
                )
            };
            [
                doc(
                    "  - email: wired.admin@example.com\n    displayName: Wired Admin\n    roles: [customer.user, admin.user]\n",
                ),
                doc(
                    "  - email: Wired.Admin@example.com\n    displayName: Wired Administrator\n    roles: [customer.user, admin.user, customer.settings]\n",
                ),
                doc(
                    "  - email: wired.admin@example.com\n    displayName: Wired Administrator\n    ensure: absent\n",
                ),
            ]
        }
    }
}

fn run(cwd: &Path, server: &SandboxServer, args: &[&str]) -> (Option<i32>, String) {
    let out = dimctl()
        .args(args)
        .args(["--api-url", &server.base_url])
        .current_dir(cwd)
        .env("DIMCTL_TOKEN", "kinds-wired-test-token")
        .env_remove("DIMCTL_API_URL")
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn plan_json(cwd: &Path, server: &SandboxServer, dir: &str) -> Value {
    let (code, text) = run(cwd, server, &["plan", dir, "--format", "json"]);
    assert!(matches!(code, Some(0) | Some(2)), "{text}");
    let start = text.find('{').unwrap_or(0);
    let mut de = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
    de.next()
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("{text}"))
}

fn apply(cwd: &Path, server: &SandboxServer, dir: &str) {
    let (code, text) = run(
        cwd,
        server,
        &["apply", dir, "--auto-approve", "--accept-charges"],
    );
    assert_eq!(code, Some(0), "{text}");
}

fn writes_of(plan: &Value, kind: Kind) -> Vec<(String, String)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind.to_string() && c["action"] != "no-op")
        .map(|c| {
            (
                c["address"].as_str().unwrap_or("").to_string(),
                c["action"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn every_kind_has_a_committed_schema_section() {
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/customer.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for kind in Kind::ALL {
        let def = kind.def();
        let section = committed
            .pointer(def.schema_pointer)
            .unwrap_or_else(|| panic!("{kind}: no schema section at {:?}", def.schema_pointer));
        for id in def.identity {
            assert!(
                section.pointer(&format!("/properties/{id}")).is_some(),
                "{kind}: identity {id} is not in its schema section"
            );
        }
    }
}

#[test]
fn every_kind_has_a_sandbox_collection() {
    let store = dimctl::sandbox::Store::default();
    for kind in Kind::ALL {
        assert!(store.collection(*kind).is_empty(), "{kind}");
    }
}

#[test]
fn every_kind_round_trips_through_sandbox_serve_and_imports_back() {
    for kind in Kind::ALL {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path();
        let server = SandboxServer::start(&cwd.join("state.json"), &[]);
        let label = kind.label();
        let [create, update, delete] = example(*kind);
        let stage = |name: &str, text: &str| {
            let d = cwd.join(name);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(format!("{label}.yaml")), text).unwrap();
        };
        stage("create", &create);
        stage("update", &update);
        stage("delete", &delete);

        let p = plan_json(cwd, &server, "create");
        let w = writes_of(&p, *kind);
        assert!(
            w.iter()
                // A child's address starts with its parent's: `customer[R].user[E]`.
                .any(|(a, act)| act == "create"
                    && (a.starts_with(&format!("{label}[")) || a.contains(&format!(".{label}[")))),
            "{kind}: {w:?}"
        );
        apply(cwd, &server, "create");
        assert!(writes_of(&plan_json(cwd, &server, "create"), *kind).is_empty());

        // Import what is live; the imported manifests plan nothing.
        let (code, text) = run(cwd, &server, &["import", "--out", "imported"]);
        assert_eq!(code, Some(0), "{text}");
        let imported = plan_json(cwd, &server, "imported");
        assert!(
            writes_of(&imported, *kind).is_empty(),
            "{kind}: import round trip: {imported}"
        );

        let w = writes_of(&plan_json(cwd, &server, "update"), *kind);
        assert!(
            w.iter().all(|(_, a)| a == "update") && !w.is_empty(),
            "{kind}: {w:?}"
        );
        apply(cwd, &server, "update");
        assert!(writes_of(&plan_json(cwd, &server, "update"), *kind).is_empty());

        let w = writes_of(&plan_json(cwd, &server, "delete"), *kind);
        assert!(
            w.iter().all(|(_, a)| a == "delete") && !w.is_empty(),
            "{kind}: {w:?}"
        );
        apply(cwd, &server, "delete");
        assert!(writes_of(&plan_json(cwd, &server, "delete"), *kind).is_empty());
    }
}
