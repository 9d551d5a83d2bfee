//! `sandbox seed`: fill a store with realistic, varied customers for demos and
//! benchmarks (some without a reference, long descriptions, non-ASCII names, disabled
//! ones, trials, licensed features), optionally with users: some created with roles, some
//! as the PBX import leaves them (only `customer.user.pbx`). Deterministic for a given seed.

use serde_json::{Value, json};

use super::store::Store;

const FIRST: &[&str] = &[
    "Acme",
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Müller & Söhne",
    "Café Lumière",
    "Øresund",
    "Zürich Dental",
    "Señor Pizza",
    "Ōsaka Trading",
    "Kraków Logistics",
    "Blue Harbour",
    "Red Kite",
    "Summit",
    "Riverside",
    "Oakwood",
    "Ironbridge",
];
const SECOND: &[&str] = &[
    "Telecom",
    "Surgery",
    "Motors",
    "Solicitors",
    "Hotel",
    "Contact Centre",
    "Estates",
    "Veterinary",
    "Insurance",
    "Plumbing",
    "Academy",
    "GmbH",
    "Ltd",
    "& Co",
];
const ZONES: &[(&str, &str)] = &[
    ("Europe/London", "GB"),
    ("Europe/Berlin", "DE"),
    ("Europe/Paris", "FR"),
    ("America/New_York", "US"),
    ("Australia/Sydney", "AU"),
];

/// One realistic customer create body.
pub fn customer(rng: &mut fastrand::Rng, n: usize) -> Value {
    let name = format!(
        "{} {} {n}",
        FIRST[rng.usize(..FIRST.len())],
        SECOND[rng.usize(..SECOND.len())]
    );
    let mut body = json!({ "name": name, "enabled": rng.u8(..10) != 0 });
    if rng.u8(..8) != 0 {
        body["reference"] = json!(format!("CUST-{n:06}"));
    }
    match rng.u8(..4) {
        0 => {}
        1 => {
            body["description"] =
                json!("Long-standing customer with several sites. ".repeat(4)[..170].to_string())
        }
        _ => body["description"] = json!(format!("{name} head office")),
    }
    if rng.u8(..3) == 0 {
        let (tz, cc) = ZONES[rng.usize(..ZONES.len())];
        body["timezone"] = json!(tz);
        body["countryCode"] = json!(cc);
    }
    if rng.u8(..4) == 0 {
        body["features"] = json!({"agent": rng.u32(..20), "device": rng.u32(..5)});
    }
    if rng.u8(..20) == 0 {
        body["trialDuration"] = json!(30);
    }
    body
}

fn guid(rng: &mut fastrand::Rng) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        rng.u32(..),
        rng.u16(..),
        rng.u16(..0x1000),
        8 + rng.u8(..4),
        rng.u16(..0x1000),
        rng.u64(..1 << 48)
    )
}

/// Add `count` customers to `store`; returns how many were created.
pub fn seed(store: &mut Store, count: usize, seed: u64, now: &str) -> usize {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut ids = fastrand::Rng::with_seed(seed ^ 0x5eed);
    let start = store.len();
    let mut created = 0;
    for n in start..start + count {
        let mut body = customer(&mut rng, n);
        if !store.parent.trial_permission {
            body["trialDuration"] = json!(0);
        }
        if store
            .create(&body, true, &mut || guid(&mut ids), now)
            .is_ok()
        {
            created += 1;
        }
    }
    created
}

const USER_ROLES: &[&[&str]] = &[
    &["customer.user", "admin.user"],
    &["customer.user", "customer.user.supervisorl1"],
    &[
        "customer.user",
        "customer.settings",
        "customer.user.supervisorl2",
    ],
    &["customer.user"],
];

/// Add `per_customer` users to each of the last `customers` customers in `store` (the ones
/// a [`seed`] call just added): every third one as the PBX import leaves a user (only the
/// PBX role, no activation e-mail), the rest created with roles. Seeding sends no e-mail
/// (the activation counter is left as it was). Returns how many users were added.
pub fn seed_users(store: &mut Store, customers: usize, per_customer: usize, seed: u64) -> usize {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x05e5);
    let mut ids = fastrand::Rng::with_seed(seed ^ 0x1d5);
    let tenants: Vec<String> = store.customers.iter().map(|(id, _)| id.clone()).collect();
    let skip = tenants.len().saturating_sub(customers);
    let emails = store.activation_emails;
    let mut added = 0;
    for (c, tenant) in tenants.iter().enumerate().skip(skip) {
        for u in 0..per_customer {
            let email = format!("user{u}.c{c}@example.com");
            let name = format!("User {u} of customer {c}");
            let ok = if u % 3 == 2 {
                store
                    .import_pbx_user(tenant, &email, &name, guid(&mut ids))
                    .is_ok()
            } else {
                let roles = USER_ROLES[rng.usize(..USER_ROLES.len())];
                let body = json!({"email": email, "displayName": name, "roles": roles});
                store
                    .create_in(
                        crate::model::Kind::User,
                        Some(tenant),
                        &body,
                        true,
                        &mut || guid(&mut ids),
                        "",
                    )
                    .is_ok()
            };
            added += usize::from(ok);
        }
    }
    store.activation_emails = emails;
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_varied_valid_customers_deterministically() {
        let mut a = Store::default();
        assert_eq!(seed(&mut a, 300, 1, "t"), 300);
        let mut b = Store::default();
        seed(&mut b, 300, 1, "t");
        assert_eq!(a, b);
        let all = a.list(0, 1000, None).unwrap();
        assert!(all.iter().any(|c| c.get("reference").is_none()));
        assert!(all.iter().any(|c| c["enabled"] == false));
        assert!(all.iter().any(|c| c["trialDuration"] == 30));
        assert!(all.iter().any(|c| !c["name"].as_str().unwrap().is_ascii()));
    }

    #[test]
    fn seeds_users_some_pbx_imported() {
        let mut s = Store::default();
        seed(&mut s, 4, 1, "t");
        assert_eq!(seed_users(&mut s, 2, 3, 1), 6);
        assert_eq!(s.activation_emails, 0);
        let pbx_only = s
            .users
            .values()
            .filter(|u| u["roles"] == json!(["customer.user.pbx"]))
            .count();
        assert_eq!(pbx_only, 2);
        assert!(
            s.users
                .values()
                .filter(|u| u["roles"] != json!(["customer.user.pbx"]))
                .all(|u| u["roles"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("customer.user")))
        );
    }
}
