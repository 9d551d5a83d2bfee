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

/// One live tenant: its id and every field the API returned, in wire spelling, kept
/// compactly ([`Fields`]): a plan at 100,000 customers holds the whole listing at once.
#[derive(Clone, Serialize, Deserialize)]
#[serde(from = "WireCustomer", into = "WireCustomer")]
pub struct LiveCustomer {
    pub id: String,
    /// All fields as returned (including `id`, `dateCreated`, ...).
    fields: Fields,
    /// The first 16 bytes of [`LiveCustomer::fingerprint`]'s digest, computed once when
    /// the customer is read (a listing waits on the server anyway; the plan does not).
    digest: [u8; 16],
}

/// The serde shape of a [`LiveCustomer`] (what it was before it was compact).
#[derive(Serialize, Deserialize)]
struct WireCustomer {
    id: String,
    fields: Map<String, Value>,
}

impl From<WireCustomer> for LiveCustomer {
    fn from(w: WireCustomer) -> Self {
        LiveCustomer::new(w.id, &w.fields)
    }
}

impl From<LiveCustomer> for WireCustomer {
    fn from(c: LiveCustomer) -> Self {
        WireCustomer {
            fields: c.fields(),
            id: c.id,
        }
    }
}

impl std::fmt::Debug for LiveCustomer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCustomer")
            .field("id", &self.id)
            .field("fields", &self.fields())
            .finish()
    }
}

impl PartialEq for LiveCustomer {
    /// Equal ids and equal fields, in any order (as two JSON objects are equal).
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.fields() == other.fields()
    }
}

/// A JSON object kept as one string: each key, then its value, one after the other. A
/// string value is kept unescaped behind the tag `s` (so it can be borrowed as `&str`),
/// any other value as compact JSON behind the tag `j`. `bounds` holds where each key and
/// each value starts. About a quarter of the memory of a `serde_json::Map`, and one
/// allocation instead of one per key and string.
#[derive(Clone, Default, PartialEq, Eq)]
struct Fields {
    text: Box<str>,
    /// `[key0, value0, key1, value1, ...]` start offsets into `text`; a value ends where
    /// the next key starts (the last at the end of `text`).
    bounds: Box<[u32]>,
}

impl Fields {
    /// `None` when the object is too large to index with 32-bit offsets (4 GiB).
    fn from_map(map: &Map<String, Value>) -> Option<Fields> {
        let mut text = String::new();
        let mut bounds = Vec::with_capacity(map.len() * 2);
        for (k, v) in map {
            bounds.push(u32::try_from(text.len()).ok()?);
            text.push_str(k);
            bounds.push(u32::try_from(text.len()).ok()?);
            match v {
                Value::String(s) => {
                    text.push('s');
                    text.push_str(s);
                }
                other => {
                    text.push('j');
                    text.push_str(&other.to_string());
                }
            }
        }
        u32::try_from(text.len()).ok()?;
        Some(Fields {
            text: text.into_boxed_str(),
            bounds: bounds.into_boxed_slice(),
        })
    }

    fn len(&self) -> usize {
        self.bounds.len() / 2
    }

    /// Where the `j`th key or value starts (`text`'s end past the last).
    fn at(&self, j: usize) -> usize {
        self.bounds.get(j).map_or(self.text.len(), |&b| b as usize)
    }

    /// The `i`th (key, tagged value) pair.
    fn entry(&self, i: usize) -> (&str, &str) {
        let (k, v, end) = (self.at(2 * i), self.at(2 * i + 1), self.at(2 * i + 2));
        (
            self.text.get(k..v).unwrap_or_default(),
            self.text.get(v..end).unwrap_or_default(),
        )
    }

    fn iter(&self) -> impl Iterator<Item = (&str, Tagged<'_>)> {
        (0..self.len()).map(|i| {
            let (k, v) = self.entry(i);
            (k, Tagged::of(v))
        })
    }

    /// The value of the key `name`: keys are compared by length first, and only the
    /// value found is sliced (a listing of 100,000 is searched many times per customer).
    fn find(&self, name: &str) -> Option<Tagged<'_>> {
        (0..self.len()).find_map(|i| {
            let (k, v) = (self.at(2 * i), self.at(2 * i + 1));
            if v.checked_sub(k) != Some(name.len()) || self.text.get(k..v) != Some(name) {
                return None;
            }
            self.text.get(v..self.at(2 * i + 2)).map(Tagged::of)
        })
    }
}

/// One stored value: a string (borrowed) or compact JSON text.
#[derive(Clone, Copy)]
enum Tagged<'a> {
    Str(&'a str),
    Json(&'a str),
}

impl<'a> Tagged<'a> {
    fn of(tagged: &'a str) -> Tagged<'a> {
        match tagged.split_at_checked(1) {
            Some(("s", s)) => Tagged::Str(s),
            Some((_, j)) => Tagged::Json(j),
            None => Tagged::Json("null"),
        }
    }

    fn is_null(self) -> bool {
        matches!(self, Tagged::Json("null"))
    }

    /// The value (JSON text this module wrote itself, so it parses; `Null` otherwise).
    fn value(self) -> Value {
        match self {
            Tagged::Str(s) => Value::String(s.to_string()),
            Tagged::Json(j) => serde_json::from_str(j).unwrap_or(Value::Null),
        }
    }
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
pub(crate) fn id_of(fields: &Map<String, Value>, id_field: &str) -> Option<String> {
    match fields.get(id_field) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

impl From<LiveObject> for LiveCustomer {
    fn from(o: LiveObject) -> LiveCustomer {
        LiveCustomer::new(o.id, &o.fields)
    }
}

impl LiveCustomer {
    /// A live customer with `id` and the fields as returned. An object too large for the
    /// compact form (over 4 GiB) keeps only its id.
    pub fn new(id: String, fields: &Map<String, Value>) -> LiveCustomer {
        let fields = Fields::from_map(fields).unwrap_or_default();
        LiveCustomer {
            id,
            digest: digest(&fields),
            fields,
        }
    }

    /// Build from an API object; `None` when it has no usable `id`.
    pub fn from_json(value: Value) -> Option<LiveCustomer> {
        let Value::Object(fields) = value else {
            return None;
        };
        let id = id_of(&fields, Kind::Customer.def().id_field)?;
        Some(LiveCustomer::new(id, &fields))
    }

    /// The field as returned, if it was (and is not `null`).
    pub fn get(&self, name: &str) -> Option<Value> {
        self.fields
            .find(name)
            .filter(|v| !v.is_null())
            .map(Tagged::value)
    }

    /// The field, if it was returned as a string.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match self.fields.find(name)? {
            Tagged::Str(s) => Some(s),
            Tagged::Json(_) => None,
        }
    }

    /// Whether the API returned the field at all (even as `null`).
    pub fn has(&self, name: &str) -> bool {
        self.fields.find(name).is_some()
    }

    /// The names of the fields returned, in the order the API sent them.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(k, _)| k)
    }

    /// Every field as returned, as a JSON object (built anew on each call).
    pub fn fields(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.value()))
            .collect()
    }

    /// Set a field (replacing any value it had).
    pub fn insert(&mut self, name: &str, value: Value) {
        let mut all = self.fields();
        all.insert(name.to_string(), value);
        self.fields = Fields::from_map(&all).unwrap_or_default();
        self.digest = digest(&self.fields);
    }

    /// The reseller's reference, if the API returned a non-empty one.
    pub fn reference(&self) -> Option<&str> {
        self.get_str("reference").filter(|s| !s.trim().is_empty())
    }

    /// The name, if returned.
    pub fn name(&self) -> Option<&str> {
        self.get_str("name")
    }

    /// A stable hash of the normalised object, so apply can tell whether the tenant
    /// changed since a plan was computed from it: SHA-256 of the canonical JSON (keys
    /// sorted at every level, `null` fields left out, each value [`normalise`]d).
    pub fn fingerprint(&self) -> Fingerprint {
        let mut hex = String::with_capacity(7 + 32);
        hex.push_str("sha256:");
        for b in self.digest {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
        }
        Fingerprint(hex)
    }
}

/// The fingerprint's digest of `fields`, the canonical JSON written straight into the
/// hasher.
fn digest(fields: &Fields) -> [u8; 16] {
    let mut entries: Vec<(&str, Tagged<'_>)> =
        fields.iter().filter(|(_, v)| !v.is_null()).collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = Hasher(Sha256::new());
    h.put(b"{");
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            h.put(b",");
        }
        h.json(&Value::String((*k).to_string()));
        h.put(b":");
        let value = match v {
            Tagged::Str(s) => normalise(k, &Value::String((*s).to_string())),
            Tagged::Json(_) => normalise(k, &v.value()),
        };
        h.canonical(&value);
    }
    h.put(b"}");
    let mut out = [0; 16];
    out.copy_from_slice(&h.0.finalize()[..16]);
    out
}

/// A SHA-256 fed the canonical JSON of a value: the bytes `serde_json::to_vec` writes for
/// the value with its keys sorted at every level.
struct Hasher(Sha256);

impl Hasher {
    fn put(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn json(&mut self, v: &Value) {
        let _ = serde_json::to_writer(&mut *self, v);
    }

    fn canonical(&mut self, v: &Value) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                self.put(b"{");
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        self.put(b",");
                    }
                    let _ = serde_json::to_writer(&mut *self, k);
                    self.put(b":");
                    self.canonical(&m[k]);
                }
                self.put(b"}");
            }
            Value::Array(a) => {
                self.put(b"[");
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        self.put(b",");
                    }
                    self.canonical(x);
                }
                self.put(b"]");
            }
            other => self.json(other),
        }
    }
}

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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

    /// The fingerprint as first written (a canonical copy serialised, then hashed): the
    /// streaming one must give the same value, so saved plans stay valid across versions.
    fn fingerprint_by_copy(fields: &Map<String, Value>) -> String {
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

        let mut keys: Vec<&String> = fields.keys().collect();
        keys.sort();
        let mut normalised = Map::new();
        for k in keys {
            let v = &fields[k];
            if v.is_null() {
                continue;
            }
            normalised.insert(k.clone(), normalise(k, v));
        }
        let bytes = serde_json::to_vec(&canonical(&Value::Object(normalised))).unwrap();
        let digest = Sha256::digest(&bytes);
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }

    #[test]
    fn streamed_fingerprint_equals_the_canonical_copy() {
        let cases = [
            json!({"id": "1"}),
            json!({"id": "1", "name": " Ä \"q\" ", "countryCode": "gb", "n": null,
                   "features": {"device": "2", "agent": 1, "z": null},
                   "list": [{"b": 1, "a": [true, null, "x\u{1}"]}], "trialDuration": 30.0,
                   "timezone": "US/Eastern", "enabled": "True", "big": 12345678901234567890u64,
                   "f": 1.5, "e": "", "k\"ey": "v"}),
        ];
        for v in cases {
            let c = LiveCustomer::from_json(v.clone()).unwrap();
            assert_eq!(
                c.fingerprint().0,
                fingerprint_by_copy(v.as_object().unwrap()),
                "{v}"
            );
        }
    }

    #[test]
    fn compact_fields_read_back_as_sent() {
        let v = json!({"id": "7", "name": "A \"b\" ü", "enabled": true, "n": null,
                       "features": {"agent": 2}, "reference": "  ", "count": 3});
        let c = LiveCustomer::from_json(v.clone()).unwrap();
        assert_eq!(Value::Object(c.fields()), v);
        assert_eq!(c.get("name"), Some(json!("A \"b\" ü")));
        assert_eq!(c.get_str("name"), Some("A \"b\" ü"));
        assert_eq!(c.get("features"), Some(json!({"agent": 2})));
        assert_eq!(c.get("n"), None);
        assert!(c.has("n") && !c.has("missing"));
        assert_eq!(c.get_str("enabled"), None);
        assert_eq!(c.reference(), None);
        assert_eq!(
            c.keys().collect::<Vec<_>>(),
            [
                "id",
                "name",
                "enabled",
                "n",
                "features",
                "reference",
                "count"
            ]
        );
        let mut d = c.clone();
        d.insert("count", json!(4));
        assert_eq!(d.get("count"), Some(json!(4)));
        assert_ne!(c, d);
        let round: LiveCustomer =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(round, c);
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
