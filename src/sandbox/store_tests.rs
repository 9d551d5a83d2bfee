use serde_json::json;

use super::*;

fn ids() -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        format!("id-{n}")
    }
}

fn create(store: &mut Store, body: Value) -> Result<Value, SandboxError> {
    store.create(&body, true, &mut ids_from(store), "2026-01-01T00:00:00Z")
}

/// Ids continue from the store's size so they stay unique in a test.
fn ids_from(store: &Store) -> impl FnMut() -> String + use<> {
    let mut n = store.len() * 10;
    move || {
        n += 1;
        format!("id-{n}")
    }
}

fn ops(v: Value) -> Vec<PatchOperation> {
    serde_json::from_value(v).unwrap()
}

#[test]
fn create_fills_server_fields_and_inherited_defaults() {
    let mut s = Store::default();
    let c = create(&mut s, json!({"name": "Acme", "trialduration": "0"})).unwrap();
    assert_eq!(c["id"], "id-1");
    assert_eq!(c["dateCreated"], "2026-01-01T00:00:00Z");
    assert_eq!(c["parentTenantId"], json!(s.parent.tenant_id));
    assert_eq!(c["timezone"], "Europe/London");
    assert_eq!(c["countryCode"], "GB");
    assert_eq!(c["features"], json!({"agent": 0, "device": 0}));
    assert_eq!(c["tenantProfileType"], "standard");
    assert_eq!(c["enabled"], false);
    assert_eq!(c["sendNewUserEmail"], true);
    assert_eq!(c["trialDuration"], 0);
}

#[test]
fn create_without_accept_charges_is_402_and_not_actioned() {
    let mut s = Store::default();
    let r = s.create(&json!({"name": "A"}), false, &mut ids(), "t");
    assert!(matches!(r, Err(SandboxError::ChargesRequired(_))));
    assert!(s.is_empty());
}

#[test]
fn trials_need_the_permission() {
    let mut s = Store::default();
    s.parent.trial_permission = false;
    let r = create(&mut s, json!({"name": "A", "trialDuration": 30}));
    assert_eq!(r.unwrap_err().status(), 400);
    assert!(create(&mut s, json!({"name": "A", "trialDuration": 0})).is_ok());
}

#[test]
fn wrong_types_and_lengths_are_400() {
    let mut s = Store::default();
    let cases = [
        (
            json!({"enabled": "maybe"}),
            "The value 'maybe' is not valid.",
        ),
        (json!({"trialDuration": -1}), "The value '-1' is not valid."),
        (
            json!({"timezone": "Mars/Base"}),
            "The value 'Mars/Base' is not valid.",
        ),
        (
            json!({"features": {"agent": "x"}}),
            "The value 'x' is not valid.",
        ),
    ];
    for (body, want) in cases {
        let err = create(&mut s, body.clone()).unwrap_err();
        assert_eq!(err, SandboxError::BadRequest(want.into()), "{body}");
    }
    let long = "x".repeat(101);
    assert_eq!(
        create(&mut s, json!({"name": long})).unwrap_err().status(),
        400
    );
}

#[test]
fn patch_rules() {
    let mut s = Store::default();
    let id = create(&mut s, json!({"name": "A", "features": {"agent": 2}})).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = [
        ("/trialDuration", "trialDuration"),
        ("/syncAcdAgentWithPbx", "syncAcdAgentWithPbx"),
        ("/tenantProfileType", "tenantProfileType"),
        ("/id", "id"),
        ("/dateCreated", "dateCreated"),
        ("/nope", "nope"),
    ];
    for (path, seg) in refused {
        let r = s.patch(
            &id,
            &ops(json!([{"op": "replace", "path": path, "value": 1}])),
            true,
        );
        assert_eq!(
            r.unwrap_err().message(),
            format!("The target location specified by path segment '{seg}' was not found.")
        );
    }
    s.patch(
        &id,
        &ops(json!([{"op": "replace", "path": "/enabled", "value": true}])),
        false,
    )
    .unwrap();
    assert_eq!(s.get(&id).unwrap()["enabled"], true);
    // lowering features is free, raising them is billable
    s.patch(
        &id,
        &ops(json!([{"op": "replace", "path": "/features/agent", "value": 1}])),
        false,
    )
    .unwrap();
    let raise = ops(json!([{"op": "replace", "path": "/features/agent", "value": 5}]));
    assert_eq!(s.patch(&id, &raise, false).unwrap_err().status(), 402);
    assert_eq!(s.get(&id).unwrap()["features"]["agent"], 1);
    s.patch(&id, &raise, true).unwrap();
    assert_eq!(s.get(&id).unwrap()["features"]["agent"], 5);
    // a bad value leaves the customer as it was
    let bad = ops(json!([
        {"op": "replace", "path": "/name", "value": "B"},
        {"op": "replace", "path": "/enabled", "value": "perhaps"}
    ]));
    assert_eq!(s.patch(&id, &bad, true).unwrap_err().status(), 400);
    assert_eq!(s.get(&id).unwrap()["name"], "A");
    assert_eq!(
        s.patch("missing", &raise, true),
        Err(SandboxError::NotFound)
    );
}

#[test]
fn delete_terminates() {
    let mut s = Store::default();
    let id = create(&mut s, json!({"name": "A"})).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.delete(&id).unwrap();
    assert_eq!(s.get(&id), Err(SandboxError::NotFound));
    assert!(s.list(0, 10, None).unwrap().is_empty());
    assert_eq!(s.delete(&id), Err(SandboxError::NotFound));
    assert_eq!(s.terminated, vec![id]);
}

#[test]
fn paging_and_filter() {
    let mut s = Store::default();
    for i in 0..25 {
        let reference = if i % 5 == 0 {
            json!(null)
        } else {
            json!(format!("REF-{i}"))
        };
        create(
            &mut s,
            json!({"name": format!("Cust {i}"), "reference": reference}),
        )
        .unwrap();
    }
    let names = |v: Vec<Value>| -> Vec<String> {
        v.iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(s.list(0, 10, None).unwrap())[0], "Cust 0");
    assert_eq!(names(s.list(2, 10, None).unwrap()).len(), 5);
    assert_eq!(names(s.list(2, 10, None).unwrap())[0], "Cust 20");
    assert!(s.list(3, 10, None).unwrap().is_empty());
    assert_eq!(s.list(0, 1001, None).unwrap_err().status(), 400);
    assert_eq!(s.list(0, 0, None).unwrap_err().status(), 400);
    // contains, case-insensitive, on name and reference
    assert_eq!(
        names(s.list(0, 100, Some("ref-1")).unwrap()),
        [
            "Cust 1", "Cust 11", "Cust 12", "Cust 13", "Cust 14", "Cust 16", "Cust 17", "Cust 18",
            "Cust 19"
        ]
    );
    assert_eq!(names(s.list(0, 100, Some("CUST 2")).unwrap()).len(), 6);
}

#[test]
fn pbx_secrets_are_write_only_and_fields_can_be_omitted() {
    let mut s = Store::default();
    let c = create(
        &mut s,
        json!({"name": "A", "pbxConnectionProfiles": [{
            "_type": "KazooPbxConnectionProfile", "name": "main",
            "hostRest": "h", "apiKey": "SECRET-KEY-123"
        }]}),
    )
    .unwrap();
    let id = c["id"].as_str().unwrap().to_string();
    let shown = s.get(&id).unwrap();
    // The customer carries no profiles; the profile is its own resource.
    assert!(shown.get("pbxConnectionProfiles").is_none(), "{shown}");
    let listed = s
        .list_in(Kind::PbxConnection, Some(&id), 0, 10, None)
        .unwrap();
    let p = &listed[0];
    assert_eq!(p["name"], "main");
    assert_eq!(p["tenantId"], json!(id));
    assert!(p.get("apiKey").is_none() && p.get("hostRest").is_none());
    assert!(!c.to_string().contains("SECRET-KEY-123"));
    assert!(
        serde_json::to_string(&s.pbxs)
            .unwrap()
            .contains("SECRET-KEY-123")
    );
    // A bad profile in a customer's body leaves nothing behind.
    let before = (s.customers.len(), s.pbxs.len());
    let bad = create(
        &mut s,
        json!({"name": "B", "pbxConnectionProfiles": [
            {"_type": "TeamsConnectionProfile", "name": "ok"},
            {"_type": "TeamsConnectionProfile", "name": "bad", "countryCode": "NOT-A-COUNTRY"}
        ]}),
    );
    assert!(bad.is_err());
    assert_eq!((s.customers.len(), s.pbxs.len()), before);
    s.omit_fields = vec!["timezone".into(), "id".into()];
    let shown = s.get(&id).unwrap();
    assert!(shown.get("timezone").is_none());
    assert_eq!(shown["id"], json!(id));
}

#[test]
fn generic_operations_scope_by_parent_and_keep_the_state_shape() {
    let mut s = Store::default();
    let c = create(&mut s, json!({"name": "Acme", "reference": "A-1"})).unwrap();
    let id = c["id"].as_str().unwrap().to_string();
    // A customer has no parent: asked for under one, it is not there.
    let k = Kind::Customer;
    assert_eq!(s.get_in(k, Some(&id), &id), Err(SandboxError::NotFound));
    assert_eq!(
        s.list_in(k, Some("x"), 0, 10, None),
        Err(SandboxError::NotFound)
    );
    assert_eq!(s.delete_in(k, Some("x"), &id), Err(SandboxError::NotFound));
    assert_eq!(s.get_in(k, None, &id).unwrap()["reference"], "A-1");
    assert_eq!(s.collection(k).len(), 1);
    // The state file still holds customers as a map by id.
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["customers"][&id]["name"], "Acme");
}

/// A store with two customers (`c1`, `c2`) and a user `u1` created in `c1` with roles.
fn with_user(roles: Value) -> Store {
    let mut s = Store::default();
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("c{n}")
    };
    s.create(&json!({"name": "A"}), true, &mut next, "t")
        .unwrap();
    s.create(&json!({"name": "B"}), true, &mut next, "t")
        .unwrap();
    let body = json!({"email": "Jane@Acme.example", "displayName": "Jane", "roles": roles});
    s.create_in(
        Kind::User,
        Some("c1"),
        &body,
        true,
        &mut || "u1".into(),
        "t",
    )
    .unwrap();
    s
}

fn roles(s: &Store, tenant: &str) -> Value {
    s.get_in(Kind::User, Some(tenant), "u1").unwrap()["roles"].clone()
}

#[test]
fn user_create_adds_the_website_role_counts_an_email_and_refuses_a_duplicate() {
    let mut s = with_user(json!(["admin.user"]));
    assert_eq!(s.activation_emails, 1);
    assert_eq!(roles(&s, "c1"), json!(["admin.user", "customer.user"]));
    let shown = s.get_in(Kind::User, Some("c1"), "u1").unwrap();
    assert_eq!(shown["primaryTenant"], "c1");
    assert!(shown.get(rules::USER_TENANTS).is_none(), "{shown}");
    // Get All carries no roles.
    let listed = s.list_in(Kind::User, Some("c1"), 0, 100, None).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].get("roles").is_none());
    assert!(
        s.list_in(Kind::User, Some("c2"), 0, 100, None)
            .unwrap()
            .is_empty()
    );
    // The same e-mail in any case is refused in that customer, allowed in another.
    let dup = json!({"email": "jane@acme.EXAMPLE", "displayName": "J"});
    let err = s
        .create_in(Kind::User, Some("c1"), &dup, true, &mut || "u2".into(), "t")
        .unwrap_err();
    assert_eq!(err.status(), 409);
    assert_eq!(s.activation_emails, 1);
    s.create_in(Kind::User, Some("c2"), &dup, true, &mut || "u3".into(), "t")
        .unwrap();
    // Roles cost money: a create or an added role without accept-charges is refused.
    let r = s.create_in(
        Kind::User,
        Some("c2"),
        &json!({"email": "x@y.z", "displayName": "X"}),
        false,
        &mut || "u4".into(),
        "t",
    );
    assert!(matches!(r, Err(SandboxError::ChargesRequired(_))));
    let add = ops(json!([{"op": "add", "path": "/roles/-", "value": "customer.crm"}]));
    assert!(matches!(
        s.patch_in(Kind::User, Some("c1"), "u1", &add, false),
        Err(SandboxError::ChargesRequired(_))
    ));
}

#[test]
fn user_roles_patch_add_remove_and_replace_keeps_the_pbx_role() {
    let mut s = with_user(json!(["customer.user.pbx"]));
    let add = ops(json!([{"op": "add", "path": "/roles/-", "value": "admin.user"}]));
    s.patch_in(Kind::User, Some("c1"), "u1", &add, true)
        .unwrap();
    assert_eq!(
        roles(&s, "c1"),
        json!(["customer.user.pbx", "customer.user", "admin.user"])
    );
    let remove = ops(json!([{"op": "remove", "path": "/roles/2"}]));
    s.patch_in(Kind::User, Some("c1"), "u1", &remove, true)
        .unwrap();
    assert_eq!(
        roles(&s, "c1"),
        json!(["customer.user.pbx", "customer.user"])
    );
    let replace = ops(json!([{"op": "replace", "path": "/roles", "value": ["customer.settings"]}]));
    s.patch_in(Kind::User, Some("c1"), "u1", &replace, true)
        .unwrap();
    assert_eq!(
        roles(&s, "c1"),
        json!(["customer.settings", "customer.user.pbx"])
    );
    // Only the documented fields may be patched.
    let bad = ops(json!([{"op": "replace", "path": "/primaryTenant", "value": "c2"}]));
    assert!(
        s.patch_in(Kind::User, Some("c1"), "u1", &bad, true)
            .is_err()
    );
}

#[test]
fn user_delete_follows_the_primary_tenant_rule_and_activation_needs_it() {
    let mut s = with_user(json!([]));
    s.link_user("u1", "c2").unwrap();
    assert_eq!(
        s.list_in(Kind::User, Some("c2"), 0, 100, None)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.send_activation_email("c2", "u1"),
        Err(SandboxError::TenantNotPrimary)
    );
    assert_eq!(
        SandboxError::TenantNotPrimary.error_code(),
        Some("TenantNotPrimary")
    );
    s.send_activation_email("c1", "u1").unwrap();
    assert_eq!(s.activation_emails, 2);
    // Outside the primary tenant: unlinked only.
    s.delete_in(Kind::User, Some("c2"), "u1").unwrap();
    assert!(s.get_in(Kind::User, Some("c2"), "u1").is_err());
    assert!(s.get_in(Kind::User, Some("c1"), "u1").is_ok());
    // In it: gone everywhere.
    s.link_user("u1", "c2").unwrap();
    s.delete_in(Kind::User, Some("c1"), "u1").unwrap();
    assert!(s.users.is_empty());
}

#[test]
fn a_page_found_by_position_is_the_page_a_walk_finds() {
    let mut s = Store::default();
    for i in 0..23 {
        create(&mut s, json!({"name": format!("Cust {i}")})).unwrap();
    }
    // Terminating one shifts every later position.
    let third = s.customers.iter().nth(2).unwrap().0.clone();
    s.delete(&third).unwrap();
    s.omit_fields = vec!["timezone".into()];
    let all: Vec<Value> = s
        .customers
        .values()
        .map(|c| s.render(Kind::Customer, c))
        .collect();
    assert_eq!(all.len(), 22);
    for size in [1, 5, 7, 22, 1000] {
        for index in [0, 1, 2, 3, 4, 21, 22, 23, usize::MAX] {
            let walked: Vec<Value> = all
                .iter()
                .skip(index.saturating_mul(size))
                .take(size)
                .cloned()
                .collect();
            let page = s.page_in(Kind::Customer, None, index, size, None).unwrap();
            let owned: Vec<Value> = page.iter().map(Shown::to_value).collect();
            assert_eq!(owned, walked, "page {index} of {size}");
            // Serialised straight from the store: the same JSON, key for key and in order.
            assert_eq!(
                serde_json::to_string(&page).unwrap(),
                serde_json::to_string(&walked).unwrap()
            );
            assert!(owned.iter().all(|c| c.get("timezone").is_none()));
        }
    }
}

#[test]
fn the_listed_user_page_serialises_as_its_values_do() {
    let s = with_user(json!(["customer.user", "admin.user"]));
    let page = s.page_in(Kind::User, Some("c1"), 0, 100, None).unwrap();
    assert_eq!(page.len(), 1);
    let text = serde_json::to_string(&page).unwrap();
    assert!(
        !text.contains("roles") && !text.contains(rules::USER_TENANTS),
        "{text}"
    );
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        value,
        json!(s.list_in(Kind::User, Some("c1"), 0, 100, None).unwrap())
    );
}

#[test]
fn the_filter_ignores_case_as_lowercasing_does() {
    for (hay, needle) in [
        ("Acme Ltd", "acme"),
        ("ACME-0001", "me-00"),
        ("Acme", "acmex"),
        ("Café Lumière", "lumi"),
        ("Café Lumière", "café"),
        ("\u{212A}elvin", "kelvin"), // KELVIN SIGN lowercases to ASCII `k`
        ("İstanbul", "i"),
        ("abc", ""),
        ("", "a"),
    ] {
        let needle = needle.to_lowercase();
        assert_eq!(
            contains_ignore_case(hay, &needle),
            hay.to_lowercase().contains(&needle),
            "{hay} / {needle}"
        );
    }
}
