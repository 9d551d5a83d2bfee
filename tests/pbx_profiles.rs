//! PBX connection profiles as their own resource, end to end through `sandbox serve` (which
//! models the documented `/customers/{C}/pbxs` endpoints): a profile added to a customer
//! without one; a write-only setting changed and a secret rotated with `plan --base REV`
//! (one PATCH of exactly that setting, one collector restart); a `_type` change refused; a
//! PBX instance attached elsewhere refused; a delete with `ensure: absent`, blocked by
//! `lifecycle.preventDestroy`; unmanaged profiles listed, never touched; the import round
//! trip; drift naming missing and unmanaged profiles.

mod support;

use std::path::Path;

use serde_json::Value;
use support::{SandboxServer, dimctl};

struct Env<'a> {
    cwd: &'a Path,
    server: &'a SandboxServer,
}

impl Env<'_> {
    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = dimctl()
            .args(args)
            .args(["--api-url", &self.server.base_url])
            .current_dir(self.cwd)
            .env("DIMCTL_TOKEN", "pbx-profiles-test-token")
            .env("ACME_KAZOO_KEY", "first-secret-value")
            .env("ACME_KAZOO_KEY_V2", "second-secret-value")
            .env_remove("DIMCTL_API_URL")
            .env_remove("GITHUB_SHA")
            .env_remove("CI_COMMIT_SHA")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn write(&self, file: &str, text: &str) {
        let p = self.cwd.join(file);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// The JSON plan of `args` (plan ... --format json).
    fn plan(&self, args: &[&str]) -> Value {
        let mut all = vec!["plan", "--format", "json"];
        all.extend_from_slice(args);
        let (code, out, err) = self.run(&all);
        assert!(matches!(code, Some(0) | Some(1)), "{out}\n{err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"))
    }

    fn apply(&self, args: &[&str]) -> String {
        let mut all = vec!["apply", "--auto-approve", "--accept-charges"];
        all.extend_from_slice(args);
        let (code, out, err) = self.run(&all);
        assert_eq!(code, Some(0), "{out}\n{err}");
        format!("{out}\n{err}")
    }

    /// `plan --detailed-exitcode` exits 0: nothing to do.
    fn converged(&self, args: &[&str]) {
        let mut all = vec!["plan", "--detailed-exitcode"];
        all.extend_from_slice(args);
        let (code, out, err) = self.run(&all);
        assert_eq!(code, Some(0), "not converged:\n{out}\n{err}");
    }

    fn git(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(self.cwd)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `GET /_sandbox/stats`, over a plain loopback socket.
    fn stats(&self) -> Value {
        use std::io::{Read, Write};
        let host = self
            .server
            .base_url
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
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"))
    }
}

fn writes(plan: &Value) -> Vec<&Value> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .collect()
}

fn acme(profiles: &str, extra: &str) -> String {
    format!(
        "apiVersion: dimctl/v1\nkind: Customer\nreference: ACME-1\nname: Acme\ncountryCode: GB\n{extra}{profiles}"
    )
}

const KAZOO: &str = "pbxConnectionProfiles:
  - _type: KazooPbxConnectionProfile
    name: main
    hostRest: https://rest.example.com
    hostWebsocket: wss://ws.example.com
    accountId: acct-1
    apiKey: {fromEnv: ACME_KAZOO_KEY}
";

#[test]
fn add_change_rotate_refuse_and_delete_a_profile() {
    let dir = tempfile::tempdir().unwrap();
    let server = SandboxServer::start(&dir.path().join("state.json"), &[]);
    let env = Env {
        cwd: dir.path(),
        server: &server,
    };
    env.git(&["init", "-q"]);

    // A customer without a profile, then a profile added in git: planned as its own create.
    env.write("m/acme.yaml", &acme("", ""));
    env.apply(&["m"]);
    env.write("m/acme.yaml", &acme(KAZOO, ""));
    let p = env.plan(&["m"]);
    let w = writes(&p);
    assert_eq!(w.len(), 1, "{p}");
    assert_eq!(w[0]["address"], "customer[ACME-1].pbx[main]");
    assert_eq!(w[0]["kind"], "PbxConnection");
    assert_eq!(w[0]["action"], "create");
    assert_eq!(w[0]["create"]["apiKey"]["fromEnv"], "ACME_KAZOO_KEY");
    assert_eq!(
        w[0]["source"]["line"], 7,
        "the profile's own line: {}",
        w[0]
    );
    assert!(!p.to_string().contains("first-secret-value"));
    let before = env.stats();
    env.apply(&["m"]);
    let after = env.stats();
    assert_eq!(
        after["byMethod"]["PATCH"], before["byMethod"]["PATCH"],
        "never a patch of the customer"
    );
    env.converged(&["m"]);
    // Without --base the write-only settings are listed once, not diffed.
    let (_, text, _) = env.run(&["plan", "m"]);
    let line: Vec<&str> = text.lines().filter(|l| l.contains("--base")).collect();
    assert_eq!(line.len(), 1, "{text}");
    assert!(
        line[0].contains("/hostRest") && line[0].contains("/apiKey"),
        "{text}"
    );
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "v1"]);
    // An unknown revision is a clear error, before anything is planned.
    let (code, _, err) = env.run(&["plan", "m", "--base", "no-such-rev"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("--base no-such-rev") && err.contains("git does not know"),
        "{err}"
    );

    // A write-only setting changed in git: with --base, one PATCH of exactly it.
    env.write(
        "m/acme.yaml",
        &acme(&KAZOO.replace("rest.example.com", "rest2.example.com"), ""),
    );
    let unverified = env.plan(&["m"]);
    assert!(
        writes(&unverified).is_empty(),
        "without --base: {unverified}"
    );
    env.git(&["commit", "-qam", "v2"]);
    let base = env.git(&["rev-parse", "HEAD~1"]);
    let (code, _, err) = env.run(&["plan", "m", "--base", "HEAD~1", "--out", "plan.json"]);
    assert_eq!(code, Some(0), "{err}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(
        saved["base"],
        base.as_str(),
        "the plan records the base commit"
    );
    let w = writes(&saved);
    assert_eq!(w.len(), 1, "{saved}");
    assert_eq!(w[0]["action"], "update");
    assert_eq!(
        w[0]["operations"],
        serde_json::json!([{"op": "add", "path": "/hostRest", "value": "https://rest2.example.com"}])
    );
    let messages = w[0]["annotations"].to_string();
    assert!(messages.contains("out of hours"), "{messages}");
    env.apply(&["--plan", "plan.json"]);
    let restarts = env.stats()["collectorRestarts"].clone();
    assert_eq!(
        restarts
            .as_object()
            .map(|m| m.values().cloned().collect::<Vec<_>>()),
        Some(vec![Value::from(1)]),
        "{restarts}"
    );
    env.converged(&["m", "--base", "HEAD"]);
    let state = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    assert!(state.contains("rest2.example.com"));

    // A secret rotated by its reference's version: one PATCH of the secret.
    env.write(
        "m/acme.yaml",
        &acme(
            &KAZOO
                .replace("rest.example.com", "rest2.example.com")
                .replace(
                    "{fromEnv: ACME_KAZOO_KEY}",
                    "{fromEnv: ACME_KAZOO_KEY_V2, version: 2}",
                ),
            "",
        ),
    );
    env.git(&["commit", "-qam", "v3"]);
    let p = env.plan(&["m", "--base", "HEAD~1"]);
    let w = writes(&p);
    assert_eq!(w.len(), 1, "{p}");
    assert_eq!(
        w[0]["operations"],
        serde_json::json!([{"op": "add", "path": "/apiKey", "value": {"fromEnv": "ACME_KAZOO_KEY_V2"}}])
    );
    assert!(!p.to_string().contains("second-secret-value"));
    let out = env.apply(&["m", "--base", "HEAD~1"]);
    assert!(!out.contains("second-secret-value"), "{out}");
    let state = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    assert!(
        state.contains("second-secret-value"),
        "the new secret was sent"
    );
    env.converged(&["m", "--base", "HEAD"]);

    // Another kind under the same name: refused, with the reason and the way out.
    env.write(
        "m/acme.yaml",
        &acme(
            "pbxConnectionProfiles:\n  - _type: TeamsConnectionProfile\n    name: main\n    microsoftTenantId: ms-1\n",
            "",
        ),
    );
    let (code, out, _) = env.run(&["plan", "m", "--format", "json"]);
    assert_eq!(code, Some(1), "a refused plan cannot be applied");
    let p: Value = serde_json::from_str(&out).unwrap();
    let refused = writes(&p);
    assert_eq!(refused[0]["action"], "refused", "{p}");
    let reason = refused[0]["refusals"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("new profile name") && reason.contains("ensure: absent"),
        "{reason}"
    );

    // preventDestroy blocks the delete; ensure: absent deletes it.
    let absent = KAZOO.replace("    name: main\n", "    name: main\n    ensure: absent\n");
    env.write(
        "m/acme.yaml",
        &acme(&absent, "lifecycle:\n  preventDestroy: true\n"),
    );
    let p = env.plan(&["m"]);
    assert_eq!(writes(&p)[0]["action"], "refused", "{p}");
    env.write("m/acme.yaml", &acme(&absent, ""));
    let p = env.plan(&["m"]);
    let w = writes(&p);
    assert_eq!(
        (w.len(), &w[0]["action"]),
        (1, &Value::from("delete")),
        "{p}"
    );
    assert!(
        w[0]["annotations"]
            .to_string()
            .contains("disconnects the PBX")
    );
    env.apply(&["m"]);
    env.converged(&["m"]);
    let state = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    assert!(!state.contains("acct-1"), "the profile is gone");
}

#[test]
fn a_pbx_instance_attached_elsewhere_is_refused_and_unmanaged_profiles_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let server = SandboxServer::start(&dir.path().join("state.json"), &[]);
    let env = Env {
        cwd: dir.path(),
        server: &server,
    };
    // BETA is created with the profile in its create body (one request for both).
    let beta = "apiVersion: dimctl/v1\nkind: Customer\nreference: BETA-1\nname: Beta\n\
                pbxConnectionProfiles:\n  - _type: KazooPbxConnectionProfile\n    name: beta-kazoo\n    accountId: shared-acct\n";
    env.write("b/beta.yaml", beta);
    let p = env.plan(&["b"]);
    let w = writes(&p);
    assert_eq!(w.len(), 1, "{p}");
    assert_eq!(w[0]["kind"], "Customer");
    assert_eq!(
        w[0]["create"]["pbxConnectionProfiles"][0]["name"],
        "beta-kazoo"
    );
    env.apply(&["b"]);
    env.converged(&["b"]);

    // ACME (live) and GAMMA (new) each declare a profile on the same Kazoo account.
    env.write("m/acme.yaml", &acme("", ""));
    env.apply(&["m"]);
    let taken = "pbxConnectionProfiles:\n  - _type: KazooPbxConnectionProfile\n    name: stolen\n    accountId: shared-acct\n";
    env.write("m/acme.yaml", &acme(taken, ""));
    env.write(
        "m/gamma.yaml",
        &format!("apiVersion: dimctl/v1\nkind: Customer\nreference: GAMMA-1\nname: Gamma\n{taken}"),
    );
    env.write("m/beta.yaml", beta);
    let (code, out, _) = env.run(&["plan", "m", "--format", "json"]);
    assert_eq!(code, Some(1), "{out}");
    let p: Value = serde_json::from_str(&out).unwrap();
    let refused: Vec<&Value> = writes(&p)
        .into_iter()
        .filter(|c| c["action"] == "refused")
        .collect();
    assert_eq!(refused.len(), 2, "{p}");
    for c in refused {
        let reason = c["refusals"][0]["reason"].as_str().unwrap();
        assert!(
            reason.contains("our customer BETA-1") && reason.contains("shared-acct"),
            "{reason}"
        );
    }

    // A live profile BETA's manifest does not declare: listed as unmanaged, not deleted.
    std::fs::remove_file(dir.path().join("m/gamma.yaml")).unwrap();
    env.write("m/acme.yaml", &acme("", ""));
    env.write(
        "m/beta.yaml",
        "apiVersion: dimctl/v1\nkind: Customer\nreference: BETA-1\nname: Beta\npbxConnectionProfiles: []\n",
    );
    let p = env.plan(&["m"]);
    assert!(writes(&p).is_empty(), "{p}");
    assert_eq!(
        p["unmanaged_resources"][0]["address"],
        "customer[BETA-1].pbx[beta-kazoo]"
    );
    // With --prune it is deleted.
    let p = env.plan(&["m", "--prune"]);
    let w = writes(&p);
    assert_eq!(w.len(), 1, "{p}");
    assert_eq!(
        (&w[0]["action"], &w[0]["delete_reason"]),
        (&Value::from("delete"), &Value::from("prune"))
    );

    // Drift reads every customer's profiles: the undeclared one is unmanaged there too.
    env.write(
        "m/beta.yaml",
        beta.split("pbxConnectionProfiles").next().unwrap(),
    );
    let (code, out, err) = env.run(&["drift", "m", "--format", "json"]);
    assert_eq!(code, Some(2), "{out}\n{err}");
    let d: Value = serde_json::from_str(&out).unwrap();
    assert!(
        d["unmanaged"]
            .to_string()
            .contains("customer[BETA-1].pbx[beta-kazoo]"),
        "{d}"
    );

    // Declared as another kind, and a profile declared but missing: both reported.
    env.write(
        "m/beta.yaml",
        "apiVersion: dimctl/v1\nkind: Customer\nreference: BETA-1\nname: Beta\n\
         pbxConnectionProfiles:\n  - _type: TeamsConnectionProfile\n    name: beta-kazoo\n\
         \x20 - _type: TeamsConnectionProfile\n    name: missing-teams\n",
    );
    let (code, out, err) = env.run(&["drift", "m", "--format", "json"]);
    assert_eq!(code, Some(2), "{out}\n{err}");
    let d: Value = serde_json::from_str(&out).unwrap();
    let drifted = d["drifted"].to_string();
    assert!(
        drifted.contains("customer[BETA-1].pbx[beta-kazoo]") && drifted.contains("_type"),
        "{d}"
    );
    assert!(
        d["missing"]
            .to_string()
            .contains("customer[BETA-1].pbx[missing-teams]"),
        "{d}"
    );
}

#[test]
fn import_writes_profiles_back_and_plans_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = SandboxServer::start(&dir.path().join("state.json"), &[]);
    let env = Env {
        cwd: dir.path(),
        server: &server,
    };
    env.write("m/acme.yaml", &acme(KAZOO, ""));
    env.apply(&["m"]);
    // Outside a git work tree, --base says so.
    let (code, _, err) = env.run(&["plan", "m", "--base", "HEAD"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not inside a git work tree"), "{err}");
    let (code, out, err) = env.run(&["import", "--out", "imported"]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    let text = std::fs::read_to_string(dir.path().join("imported/ACME-1.yaml")).unwrap();
    assert!(text.contains("name: main"), "{text}");
    assert!(text.contains("_type: KazooPbxConnectionProfile"), "{text}");
    assert!(text.contains("fromEnv"), "{text}");
    assert!(text.contains("cannot be read back"), "{text}");
    assert!(!text.contains("first-secret-value"));
    env.converged(&["imported"]);
    let p = env.plan(&["imported"]);
    assert!(writes(&p).is_empty(), "{p}");
}
