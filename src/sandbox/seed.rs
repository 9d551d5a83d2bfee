//! `sandbox seed`: fill a store with realistic, varied customers for demos and
//! benchmarks (some without a reference, long descriptions, non-ASCII names, disabled
//! ones, trials, licensed features). Deterministic for a given seed.

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
}
