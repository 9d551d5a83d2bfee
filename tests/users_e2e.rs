//! Users and roles through `sandbox serve`, one test per point of the issue's "Done
//! means": a user created with roles (one activation e-mail), a PBX-imported user adopted
//! (no create, roles added with `add`), one role removed (one `remove`, the PBX role
//! untouched), no perpetual diff, the admin rule as a warning and as an error, a lost
//! create answer (one user), a delete in and outside the primary tenant, the import round
//! trip, and a create refused because the user exists turned into an adoption.

mod support;

use std::path::Path;

use dimctl::model::Kind;
use dimctl::sandbox::{Store, persist};
use serde_json::{Value, json};
use support::{SandboxServer, dimctl};

fn run(cwd: &Path, server: &SandboxServer, args: &[&str]) -> (Option<i32>, String, String) {
    let out = dimctl()
        .args(args)
        .args(["--api-url", &server.base_url])
        .current_dir(cwd)
        .env("DIMCTL_TOKEN", "users-e2e-token")
        .env_remove("DIMCTL_API_URL")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn validate(cwd: &Path, dir: &str) -> (Option<i32>, String) {
    let out = dimctl()
        .args(["validate", dir])
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn plan_json(cwd: &Path, server: &SandboxServer, dir: &str) -> Value {
    let (code, out, err) = run(cwd, server, &["plan", dir, "--format", "json"]);
    assert!(matches!(code, Some(0) | Some(2)), "{out}\n{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"))
}

fn apply(cwd: &Path, server: &SandboxServer, dir: &str) -> String {
    let (code, out, err) = run(
        cwd,
        server,
        &["apply", dir, "--auto-approve", "--accept-charges"],
    );
    assert_eq!(code, Some(0), "{out}\n{err}");
    format!("{out}\n{err}")
}

fn user_changes(plan: &Value) -> Vec<&Value> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "User")
        .collect()
}

fn writes(plan: &Value) -> Vec<&Value> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .collect()
}

fn stats(server: &SandboxServer) -> Value {
    let url = server.base_url.replace("/api/v1.0", "/_sandbox/stats");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::get(url)
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    })
}

/// The user's roles as Get User shows them now.
fn live_roles(server: &SandboxServer, customer: &str, user: &str) -> Option<Vec<String>> {
    let url = format!("{}/customers/{customer}/users/{user}", server.base_url);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .get(url)
            .bearer_auth("t")
            .send()
            .await
            .unwrap();
        if r.status() == 404 {
            return None;
        }
        let v: Value = r.json().await.unwrap();
        Some(
            v["data"]["roles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect(),
        )
    })
}

/// A state file with customers (id, reference) and users (id, tenant, email, roles,
/// imported from the PBX or created), before the server starts.
fn state(path: &Path, customers: &[(&str, &str)], users: &[(&str, &str, &str, &[&str], bool)]) {
    let mut s = Store::default();
    for (id, reference) in customers {
        let body = json!({"name": format!("{reference} Ltd"), "reference": reference});
        s.create(&body, true, &mut || id.to_string(), "t").unwrap();
    }
    for (id, tenant, email, roles, pbx) in users {
        if *pbx {
            s.import_pbx_user(tenant, email, "Imported", id.to_string())
                .unwrap();
        } else {
            let body = json!({"email": email, "displayName": "Someone", "roles": roles});
            s.create_in(
                Kind::User,
                Some(tenant),
                &body,
                true,
                &mut || id.to_string(),
                "t",
            )
            .unwrap();
        }
    }
    s.activation_emails = 0;
    persist::save(path, &s).unwrap();
}

fn doc(reference: &str, users: &str) -> String {
    format!(
        "apiVersion: dimctl/v1\nkind: Customer\nreference: {reference}\nname: {reference} Ltd\nusers:\n{users}"
    )
}

fn write(cwd: &Path, dir: &str, file: &str, text: &str) {
    let d = cwd.join(dir);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(file), text).unwrap();
}

#[test]
fn a_new_customer_and_its_user_are_created_in_one_run_with_one_activation_and_no_perpetual_diff() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let server = SandboxServer::start(&cwd.join("state.json"), &[]);
    // customer.user is left out: it is implied, so no diff after the create adds it.
    write(
        cwd,
        "m",
        "acme.yaml",
        &doc(
            "ACME-1",
            "  - email: Admin@Acme.example\n    displayName: Acme Admin\n    roles: [admin.user, customer.settings]\n  - email: pbx.user@acme.example\n    displayName: PBX\n    roles: [customer.user, admin.user, customer.user.pbx]\n",
        ),
    );
    let plan = plan_json(cwd, &server, "m");
    let users = user_changes(&plan);
    assert_eq!(users.len(), 2);
    for u in &users {
        assert_eq!(u["action"], "create");
        // The customer's id is not known yet: handed over at apply time.
        assert!(u.get("parent_id").is_none(), "{u}");
        let text = u["annotations"].to_string();
        assert!(text.contains("sends an activation e-mail"), "{text}");
        assert!(text.contains("billable"), "{text}");
        // The PBX role is never sent.
        assert!(
            !u["create"].to_string().contains("customer.user.pbx"),
            "{u}"
        );
    }
    // Without --accept-charges nothing is written.
    let (code, _, err) = run(cwd, &server, &["apply", "m", "--auto-approve"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(stats(&server)["writes"], 0);

    let out = apply(cwd, &server, "m");
    // The result table names each row by its address: the customer, then its users.
    let rows: Vec<(&str, &str)> = out
        .lines()
        .skip_while(|l| !l.starts_with("ADDRESS "))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let mut cols = l.split_whitespace();
            (cols.next().unwrap(), cols.next().unwrap())
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("customer[ACME-1]", "created"),
            ("customer[ACME-1].user[Admin@Acme.example]", "created"),
            ("customer[ACME-1].user[pbx.user@acme.example]", "created"),
        ],
        "{out}"
    );
    let st = stats(&server);
    assert_eq!(st["users"], 2, "{st}");
    assert_eq!(st["activationEmails"], 2, "{st}");
    let again = plan_json(cwd, &server, "m");
    assert!(writes(&again).is_empty(), "{again}");
    let (code, _, _) = run(cwd, &server, &["plan", "m", "--detailed-exitcode"]);
    assert_eq!(code, Some(0));
}

#[test]
fn a_pbx_imported_user_is_adopted_with_add_operations_only() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    state(
        &cwd.join("state.json"),
        &[("c1", "ACME-1")],
        &[("u1", "c1", "jane@acme.example", &[], true)],
    );
    let server = SandboxServer::start(&cwd.join("state.json"), &[]);
    write(
        cwd,
        "m",
        "acme.yaml",
        &doc(
            "ACME-1",
            "  - email: JANE@acme.example\n    displayName: Imported\n    roles: [customer.user, admin.user]\n",
        ),
    );
    let plan = plan_json(cwd, &server, "m");
    let users = user_changes(&plan);
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["action"], "update");
    let ops = users[0]["operations"].as_array().unwrap();
    assert_eq!(
        ops,
        &vec![
            json!({"op": "add", "path": "/roles/-", "value": "customer.user"}),
            json!({"op": "add", "path": "/roles/-", "value": "admin.user"}),
        ]
    );
    apply(cwd, &server, "m");
    let st = stats(&server);
    assert_eq!(st["byMethod"]["POST"], 0, "no create: {st}");
    assert_eq!(st["activationEmails"], 0, "{st}");
    let roles = live_roles(&server, "c1", "u1").unwrap();
    assert_eq!(roles, ["customer.user.pbx", "customer.user", "admin.user"]);
    assert!(writes(&plan_json(cwd, &server, "m")).is_empty());
}

#[test]
fn removing_one_role_is_one_remove_and_the_pbx_role_stays() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    state(
        &cwd.join("state.json"),
        &[("c1", "ACME-1")],
        &[("u1", "c1", "jane@acme.example", &[], true)],
    );
    let server = SandboxServer::start(&cwd.join("state.json"), &[]);
    let with = |roles: &str| {
        doc(
            "ACME-1",
            &format!(
                "  - email: jane@acme.example\n    displayName: Imported\n    roles: [{roles}]\n"
            ),
        )
    };
    write(
        cwd,
        "before",
        "acme.yaml",
        &with("customer.user, admin.user, customer.settings"),
    );
    write(
        cwd,
        "after",
        "acme.yaml",
        &with("customer.user, admin.user"),
    );
    apply(cwd, &server, "before");
    assert_eq!(
        live_roles(&server, "c1", "u1").unwrap(),
        [
            "customer.user.pbx",
            "customer.user",
            "admin.user",
            "customer.settings"
        ]
    );
    let plan = plan_json(cwd, &server, "after");
    let users = user_changes(&plan);
    assert_eq!(users.len(), 1);
    assert_eq!(
        users[0]["operations"],
        json!([{"op": "remove", "path": "/roles/3"}])
    );
    // A removal is not billable: no --accept-charges needed.
    let (code, out, err) = run(
        cwd,
        &server,
        &["apply", "after", "--auto-approve", "--format", "json"],
    );
    assert_eq!(code, Some(0), "{out}\n{err}");
    // The JSON result carries the user's address (its key is the customer's).
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let results = doc["results"].as_array().unwrap();
    let user = results
        .iter()
        .find(|r| r["status"] == "updated")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        user["address"], "customer[ACME-1].user[jane@acme.example]",
        "{out}"
    );
    assert_eq!(user["key"]["value"], "ACME-1", "{out}");
    assert!(
        results.iter().all(|r| r["address"].is_string()),
        "every result has an address: {out}"
    );
    assert!(
        err.contains("apply: updated customer[ACME-1].user[jane@acme.example]"),
        "{err}"
    );
    assert_eq!(
        live_roles(&server, "c1", "u1").unwrap(),
        ["customer.user.pbx", "customer.user", "admin.user"]
    );
    assert!(writes(&plan_json(cwd, &server, "after")).is_empty());
}

#[test]
fn the_admin_rule_is_a_warning_and_with_require_admin_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let server = SandboxServer::start(&cwd.join("state.json"), &[]);
    write(
        cwd,
        "m",
        "acme.yaml",
        &doc(
            "ACME-1",
            "  - email: a@acme.example\n    displayName: A\n    roles: [customer.user]\n  - email: A@ACME.example\n    displayName: A again\n",
        ),
    );
    // A duplicate e-mail is an error naming both lines.
    let (code, err) = validate(cwd, "m");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("line 9 repeats the user declared at line 6"),
        "{err}"
    );

    write(
        cwd,
        "m",
        "acme.yaml",
        &doc(
            "ACME-1",
            "  - email: a@acme.example\n    displayName: A\n    roles: [customer.user, customer.setings]\n",
        ),
    );
    let (code, err) = validate(cwd, "m");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("every customer account requires at least 1 admin user"),
        "{err}"
    );
    assert!(err.contains("did you mean `customer.settings`"), "{err}");
    std::fs::write(
        cwd.join("m/dimctl.yaml"),
        "apiVersion: dimctl/v1\nkind: Config\nrequireAdmin: true\n",
    )
    .unwrap();
    let (code, err) = validate(cwd, "m");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("error"), "{err}");
    let (code, _, err) = run(cwd, &server, &["plan", "m"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        stats(&server)["requests"],
        0,
        "nothing is read when the manifests fail"
    );
}

#[test]
fn a_create_whose_answer_is_lost_makes_one_user() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    state(&cwd.join("state.json"), &[("c1", "ACME-1")], &[]);
    let server = SandboxServer::start(&cwd.join("state.json"), &["--commit-then-drop-post", "1"]);
    write(
        cwd,
        "m",
        "acme.yaml",
        &doc(
            "ACME-1",
            "  - email: new@acme.example\n    displayName: New\n    roles: [customer.user, admin.user]\n",
        ),
    );
    let out = apply(cwd, &server, "m");
    assert!(out.contains("found the user by e-mail"), "{out}");
    let st = stats(&server);
    assert_eq!(st["byMethod"]["POST"], 1, "never sent twice: {st}");
    assert_eq!(st["users"], 1, "{st}");
    assert!(writes(&plan_json(cwd, &server, "m")).is_empty());
}

#[test]
fn deleting_in_the_primary_tenant_deletes_and_elsewhere_unlinks() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let path = cwd.join("state.json");
    state(
        &path,
        &[("c1", "HOME-1"), ("c2", "OTHER-2")],
        &[
            ("u1", "c1", "shared@home.example", &["customer.user"], false),
            ("u2", "c1", "leaver@home.example", &["customer.user"], false),
        ],
    );
    let mut s = persist::load(&path).unwrap();
    s.link_user("u1", "c2").unwrap();
    persist::save(&path, &s).unwrap();
    let server = SandboxServer::start(&path, &[]);
    write(
        cwd,
        "m",
        "other.yaml",
        &doc(
            "OTHER-2",
            "  - email: shared@home.example\n    displayName: Someone\n    ensure: absent\n",
        ),
    );
    write(
        cwd,
        "m",
        "home.yaml",
        &doc(
            "HOME-1",
            "  - email: shared@home.example\n    displayName: Someone\n    roles: [customer.user, admin.user]\n    lifecycle: {ignoreChanges: [roles]}\n  - email: leaver@home.example\n    displayName: Someone\n    ensure: absent\n",
        ),
    );
    let plan = plan_json(cwd, &server, "m");
    let deletes: Vec<&Value> = user_changes(&plan)
        .into_iter()
        .filter(|c| c["action"] == "delete")
        .collect();
    assert_eq!(deletes.len(), 2, "{plan}");
    let by = |email: &str, customer: &str| {
        deletes
            .iter()
            .find(|c| {
                c["address"].as_str().unwrap().contains(email)
                    && c["address"].as_str().unwrap().contains(customer)
            })
            .unwrap()["annotations"]
            .to_string()
    };
    let leaver = by("leaver", "HOME-1");
    assert!(
        leaver.contains("from every tenant") && leaver.contains("destructive"),
        "{leaver}"
    );
    let unlink = by("shared", "OTHER-2");
    assert!(
        unlink.contains("unlinks") && unlink.contains("primary tenant is c1"),
        "{unlink}"
    );
    apply(cwd, &server, "m");
    assert!(live_roles(&server, "c1", "u2").is_none());
    assert!(live_roles(&server, "c2", "u1").is_none());
    assert!(
        live_roles(&server, "c1", "u1").is_some(),
        "still in its primary tenant"
    );
    assert!(writes(&plan_json(cwd, &server, "m")).is_empty());

    // preventDestroy refuses the delete.
    write(
        cwd,
        "p",
        "home.yaml",
        &doc(
            "HOME-1",
            "  - email: shared@home.example\n    displayName: Someone\n    ensure: absent\n    lifecycle: {preventDestroy: true}\n",
        ),
    );
    let (code, out, err) = run(cwd, &server, &["plan", "p", "--format", "json"]);
    assert_eq!(code, Some(1), "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(user_changes(&plan)[0]["action"], "refused", "{plan}");
    assert!(
        plan["unsafe_reasons"][0]
            .as_str()
            .unwrap()
            .contains("delete a user protected by lifecycle.preventDestroy"),
        "{plan}"
    );
}

#[test]
fn import_writes_users_and_plans_nothing_after() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let path = cwd.join("state.json");
    let out = dimctl()
        .args([
            "sandbox",
            "seed",
            "--customers",
            "6",
            "--users",
            "3",
            "--state",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let server = SandboxServer::start(&path, &[]);
    let (code, out, err) = run(cwd, &server, &["import", "--out", "imported"]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    let texts: Vec<String> = std::fs::read_dir(cwd.join("imported"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let all = texts.join("\n");
    assert!(all.contains("users:"), "{all}");
    assert!(
        !all.contains("customer.user.pbx"),
        "PBX-managed roles are not written"
    );
    let plan = plan_json(cwd, &server, "imported");
    assert!(writes(&plan).is_empty(), "{plan}");
    assert_eq!(plan["summary"]["unmanaged"], 0, "{plan}");
    // Drift reads them too: nothing drifted.
    let (code, out, err) = run(cwd, &server, &["drift", "imported"]);
    assert_eq!(code, Some(0), "{out}\n{err}");
}

#[test]
fn a_create_refused_because_the_user_exists_adopts_them_in_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    state(&cwd.join("state.json"), &[("c1", "ACME-1")], &[]);
    let server = SandboxServer::start(&cwd.join("state.json"), &[]);
    write(
        cwd,
        "m",
        "acme.yaml",
        &doc(
            "ACME-1",
            "  - email: late@acme.example\n    displayName: Late\n    roles: [customer.user, admin.user]\n",
        ),
    );
    let (code, out, err) = run(cwd, &server, &["plan", "m", "--out", "plan.json"]);
    assert!(matches!(code, Some(0) | Some(2)), "{out}\n{err}");
    // Someone (or the PBX import) adds the user before apply runs.
    let url = format!("{}/customers/c1/users", server.base_url);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(url)
            .bearer_auth("t")
            .header("accept-charges", "true")
            .json(&json!({"email": "LATE@acme.example", "displayName": "Late", "roles": ["customer.settings"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    });
    let (code, out, err) = run(
        cwd,
        &server,
        &[
            "apply",
            "--plan",
            "plan.json",
            "--auto-approve",
            "--accept-charges",
        ],
    );
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(format!("{out}{err}").contains("adopted"), "{out}\n{err}");
    let st = stats(&server);
    assert_eq!(st["users"], 1, "{st}");
    // The adoption added the declared roles; a role someone else granted is removed only
    // by a plan a reviewer sees (the create they approved removed nothing).
    let after = plan_json(cwd, &server, "m");
    let w = writes(&after);
    assert_eq!(w.len(), 1, "{after}");
    assert_eq!(
        w[0]["operations"],
        json!([{"op": "remove", "path": "/roles/0"}])
    );
    assert_eq!(w[0]["diffs"][0]["old"], "customer.settings");
}

#[test]
fn drift_reads_every_customers_users_and_reports_those_of_a_customer_without_users_as_unmanaged() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    state(
        &cwd.join("state.json"),
        &[("c1", "ACME-1"), ("c2", "BETA-1"), ("c3", "GAMMA-1")],
        &[
            (
                "u1",
                "c1",
                "admin@acme.example",
                &["customer.user", "admin.user"],
                false,
            ),
            ("u2", "c1", "other@acme.example", &["customer.user"], false),
            ("u3", "c2", "pbx@beta.example", &[], true),
            (
                "u4",
                "c2",
                "boss@beta.example",
                &["customer.user", "admin.user"],
                false,
            ),
            (
                "u5",
                "c3",
                "someone@gamma.example",
                &["customer.user"],
                false,
            ),
        ],
    );
    let server = SandboxServer::start(&cwd.join("state.json"), &[]);
    write(
        cwd,
        "m",
        "acme.yaml",
        &doc(
            "ACME-1",
            "  - email: admin@acme.example\n    displayName: Someone\n    roles: [customer.user, admin.user]\n",
        ),
    );
    // BETA-1's document declares no `users:`: plan does not read its users.
    write(
        cwd,
        "m",
        "beta.yaml",
        "apiVersion: dimctl/v1\nkind: Customer\nreference: BETA-1\nname: BETA-1 Ltd\n",
    );
    let plan = plan_json(cwd, &server, "m");
    let plan_unmanaged: Vec<&str> = plan["users"]["unmanaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        plan_unmanaged,
        ["customer[ACME-1].user[other@acme.example]"]
    );
    assert!(writes(&plan).is_empty(), "{plan}");

    // Drift reads them all: BETA-1's users are unmanaged, as a customer in no manifest is.
    let (code, out, err) = run(cwd, &server, &["drift", "m", "--format", "json"]);
    assert_eq!(code, Some(2), "{out}\n{err}");
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let mut unmanaged: Vec<String> = report["unmanaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| match u["address"].as_str() {
            Some(a) => a.to_string(),
            None => format!("customer {}", u["reference"].as_str().unwrap()),
        })
        .collect();
    unmanaged.sort();
    assert_eq!(
        unmanaged,
        [
            "customer GAMMA-1",
            "customer[ACME-1].user[other@acme.example]",
            "customer[BETA-1].user[boss@beta.example]",
            "customer[BETA-1].user[pbx@beta.example]",
        ],
        "{out}"
    );
    assert!(report["drifted"].as_array().unwrap().is_empty(), "{out}");
    assert_eq!(report["summary"]["unmanaged"], 4, "{out}");
    // Nothing was written, by plan or drift.
    assert_eq!(
        live_roles(&server, "c2", "u3").unwrap(),
        ["customer.user.pbx"]
    );
    let (_, text, _) = run(cwd, &server, &["drift", "m"]);
    assert!(
        text.contains("customer[BETA-1].user[pbx@beta.example]"),
        "{text}"
    );
}
