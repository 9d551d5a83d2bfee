//! A resource as the API returns it (any kind: [`LiveObject`]; a customer:
//! [`LiveCustomer`]), and the normalisation that makes the server's spelling comparable
//! with a manifest's.
//!
//! The live object is kept as the JSON the API sent, because the API does not return
//! every field: a field that is absent cannot be compared, and the planner must be able
//! to tell "absent" from "equal".

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::catalogue::{Check, FieldKind};
use super::kind::Kind;

/// One live tenant: its id and every field the API returned, in wire spelling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveCustomer {
    pub id: String,
    /// All fields as returned (including `id`, `dateCreated`, ...).
    pub fields: Map<String, Value>,
}

/// One live resource of any kind, as the generic [`crate::api::Api`] returns it: its kind,
/// its server id and every field the API returned, in wire spelling.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveObject {
    pub kind: Kind,
    pub id: String,
    pub fields: Map<String, Value>,
}

impl LiveObject {
    /// Build from an API object; `None` when it has no usable id (the kind's `id_field`).
    pub fn from_json(kind: Kind, value: Value) -> Option<LiveObject> {
        let Value::Object(fields) = value else {
            return None;
        };
        let id = id_of(&fields, kind.def().id_field)?;
        Some(LiveObject { kind, id, fields })
    }
}

/// A usable server id: a non-empty string or a number.
fn id_of(fields: &Map<String, Value>, id_field: &str) -> Option<String> {
    match fields.get(id_field) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

impl From<LiveObject> for LiveCustomer {
    fn from(o: LiveObject) -> LiveCustomer {
        LiveCustomer {
            id: o.id,
            fields: o.fields,
        }
    }
}

impl LiveCustomer {
    /// Build from an API object; `None` when it has no usable `id`.
    pub fn from_json(value: Value) -> Option<LiveCustomer> {
        LiveObject::from_json(Kind::Customer, value).map(LiveCustomer::from)
    }

    /// The field as returned, if it was.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name).filter(|v| !v.is_null())
    }

    /// The reseller's reference, if the API returned a non-empty one.
    pub fn reference(&self) -> Option<&str> {
        match self.get("reference") {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.as_str()),
            _ => None,
        }
    }

    /// The name, if returned.
    pub fn name(&self) -> Option<&str> {
        self.get("name").and_then(Value::as_str)
    }

    /// A stable hash of the normalised object, so apply can tell whether the tenant
    /// changed since a plan was computed from it. Server-side volatile fields are not
    /// part of it.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut keys: Vec<&String> = self.fields.keys().collect();
        keys.sort();
        let mut normalised = Map::new();
        for k in keys {
            let v = &self.fields[k];
            if v.is_null() {
                continue;
            }
            normalised.insert(k.clone(), normalise(k, v));
        }
        let bytes = serde_json::to_vec(&canonical(&Value::Object(normalised))).unwrap_or_default();
        let digest = Sha256::digest(&bytes);
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        Fingerprint(format!("sha256:{hex}"))
    }
}

/// A short hash of a live object's normalised JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Fingerprint(pub String);

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Sort object keys recursively so equal objects serialise to equal bytes.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Normalise a top-level field's value (live or desired) so that the server's spelling
/// never causes a perpetual diff: country codes upper-case, timezone aliases resolved to
/// their canonical IANA name, numbers sent as strings read as numbers, booleans sent as
/// strings read as booleans, surrounding white space trimmed on text.
pub fn normalise(field: &str, value: &Value) -> Value {
    let Some(def) = crate::model::Kind::Customer.def().field(field) else {
        return value.clone();
    };
    match def.kind {
        FieldKind::Text => match value {
            Value::String(s) => {
                let s = s.trim();
                match def.check {
                    Check::CountryCode => Value::String(s.to_ascii_uppercase()),
                    Check::Timezone => Value::String(canonical_timezone(s)),
                    Check::None | Check::NonEmpty | Check::TrialDays => {
                        Value::String(s.to_string())
                    }
                }
            }
            Value::Number(n) => Value::String(n.to_string()),
            other => other.clone(),
        },
        FieldKind::Bool => normalise_bool(value),
        FieldKind::Integer => normalise_integer(value),
        FieldKind::Features => match value {
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, v) in m {
                    if !v.is_null() {
                        out.insert(k.clone(), normalise_integer(v));
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        },
        FieldKind::PbxProfiles | FieldKind::DateTime | FieldKind::Roles => value.clone(),
    }
}

/// `"true"`/`"false"` (any case) as booleans.
pub fn normalise_bool(value: &Value) -> Value {
    match value {
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Value::Bool(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Value::Bool(false),
        other => other.clone(),
    }
}

/// `"30"` as 30, `30.0` as 30.
pub fn normalise_integer(value: &Value) -> Value {
    match value {
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => value.clone(),
        },
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
            _ => value.clone(),
        },
        other => other.clone(),
    }
}

/// The canonical IANA name for a zone or one of its aliases (`US/Eastern` →
/// `America/New_York`, `Asia/Calcutta` → `Asia/Kolkata`, `europe/london` →
/// `Europe/London`), or the input unchanged when the name is unknown.
///
/// `TimeZone::iana_name()` returns the alias itself (only its case is canonicalised), so
/// the zone is resolved and its *primary* name taken (jiff's ECMAScript rules: every link
/// resolves to one primary identifier). Two spellings of one zone thus normalise to the
/// same string.
pub fn canonical_timezone(name: &str) -> String {
    match jiff::tz::TimeZone::get(name) {
        Ok(tz) => match tz.primary_iana_name().or(tz.iana_name()) {
            Some(canon) => canon.to_string(),
            None => name.to_string(),
        },
        Err(_) => name.to_string(),
    }
}

/// Normalise one key of a PBX connection profile (live or desired) the way [`normalise`]
/// does top-level fields: country codes upper-case, booleans sent as strings read as
/// booleans, surrounding white space trimmed on text.
pub fn normalise_pbx_field(key: &str, value: &Value) -> Value {
    match value {
        Value::String(s) if key == "countryCode" => Value::String(s.trim().to_ascii_uppercase()),
        Value::String(s) => match normalise_bool(value) {
            Value::Bool(b) => Value::Bool(b),
            _ => Value::String(s.trim().to_string()),
        },
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalises_server_spellings() {
        let cases = [
            ("countryCode", json!("gb"), json!("GB")),
            ("countryCode", json!(" us "), json!("US")),
            ("enabled", json!("True"), json!(true)),
            ("enabled", json!(false), json!(false)),
            ("trialDuration", json!("30"), json!(30)),
            ("trialDuration", json!(30.0), json!(30)),
            (
                "features",
                json!({"agent": "2", "device": 0}),
                json!({"agent": 2, "device": 0}),
            ),
            ("name", json!(" Acme "), json!("Acme")),
            ("timezone", json!("US/Eastern"), json!("America/New_York")),
            (
                "timezone",
                json!("america/new_york"),
                json!("America/New_York"),
            ),
            ("timezone", json!("Asia/Calcutta"), json!("Asia/Kolkata")),
            ("timezone", json!("Europe/Kiev"), json!("Europe/Kyiv")),
            ("timezone", json!("Not/AZone"), json!("Not/AZone")),
        ];
        for (field, input, want) in cases {
            assert_eq!(normalise(field, &input), want, "{field}: {input}");
        }
    }

    #[test]
    fn live_requires_an_id() {
        assert!(LiveCustomer::from_json(json!({"name": "x"})).is_none());
        assert!(LiveCustomer::from_json(json!({"id": ""})).is_none());
        assert!(LiveCustomer::from_json(json!([])).is_none());
        assert_eq!(
            LiveCustomer::from_json(json!({"id": "a1"})).map(|c| c.id),
            Some("a1".to_string())
        );
    }

    #[test]
    fn fingerprint_ignores_key_order_and_spelling_but_not_values() {
        let a = LiveCustomer::from_json(json!({"id": "1", "name": "A", "countryCode": "gb"}));
        let b = LiveCustomer::from_json(json!({"countryCode": "GB", "name": "A", "id": "1"}));
        let c = LiveCustomer::from_json(json!({"countryCode": "GB", "name": "B", "id": "1"}));
        let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }
}
