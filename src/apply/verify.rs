//! Verify after write: compare what was sent with what the server returns when the
//! customer is read back. A PATCH answers with no data, so this is the only way to know
//! the server did not ignore or alter a value.
//!
//! Compared: the managed fields of a create body and the values of patch operations,
//! normalised as the planner normalises them. Not compared: secrets (write-only) and
//! fields or keys the server does not return (unverifiable, as the plan says).

use serde_json::{Map, Value};

use super::outcome::FieldMismatch;
use super::secrets::{op_value, secret_ref};
use crate::api::PatchOperation;
use crate::model::catalogue::is_sensitive_pbx_key;
use crate::model::live::{normalise_bool, normalise_integer};
use crate::model::{LiveCustomer, normalise};

/// What a write should have left behind at one path.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// The value at this JSON pointer.
    Value(String, Value),
    /// Nothing at this JSON pointer (after a remove).
    Absent(String),
}

/// Expectations of a create: every top-level field of its body except `id`.
pub fn from_create(body: &Map<String, Value>) -> Vec<Expectation> {
    body.iter()
        .filter(|(k, _)| k.as_str() != "id")
        .map(|(k, v)| Expectation::Value(format!("/{}", escape(k)), v.clone()))
        .collect()
}

/// Expectations of a PATCH: the value of each add/replace, absence after each remove.
pub fn from_ops(ops: &[PatchOperation]) -> Vec<Expectation> {
    let mut out = Vec::new();
    for op in ops {
        match op {
            PatchOperation::Remove(o) => out.push(Expectation::Absent(o.path.to_string())),
            PatchOperation::Add(_) | PatchOperation::Replace(_) => {
                let path = match op {
                    PatchOperation::Add(o) => o.path.to_string(),
                    PatchOperation::Replace(o) => o.path.to_string(),
                    _ => continue,
                };
                if let Some(v) = op_value(op) {
                    out.push(Expectation::Value(path, v.clone()));
                }
            }
            // move, copy and test carry nothing to verify by value.
            _ => {}
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn unescape(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

fn segments(path: &str) -> Vec<String> {
    path.split('/').skip(1).map(unescape).collect()
}

/// Compare the read-back customer with what was written; one mismatch per field.
pub fn verify(expected: &[Expectation], live: &LiveCustomer) -> Vec<FieldMismatch> {
    let mut out = Vec::new();
    for e in expected {
        match e {
            Expectation::Absent(path) => {
                if is_sensitive_path(path) {
                    continue;
                }
                let found = live_pointer(live, path);
                if let Some(found) = found.filter(|v| !v.is_null()) {
                    out.push(FieldMismatch {
                        path: path.clone(),
                        sent: Value::Null,
                        found: redact(&found),
                    });
                }
            }
            Expectation::Value(path, value) => verify_value(path, value, live, &mut out),
        }
    }
    out
}

fn is_sensitive_path(path: &str) -> bool {
    segments(path).iter().any(|s| is_sensitive_pbx_key(s))
}

fn live_pointer(live: &LiveCustomer, path: &str) -> Option<Value> {
    let segs = segments(path);
    let first = segs.first()?;
    let top = live.get(first.as_str())?;
    let mut cur = &top;
    for s in &segs[1..] {
        cur = match cur {
            Value::Object(m) => m.get(s.as_str())?,
            Value::Array(a) => a.get(s.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur.clone())
}

fn verify_value(path: &str, value: &Value, live: &LiveCustomer, out: &mut Vec<FieldMismatch>) {
    if secret_ref(value).is_some() || is_sensitive_path(path) {
        return;
    }
    let segs = segments(path);
    let Some(field) = segs.first() else { return };
    let Some(live_field) = live.get(field) else {
        // The server does not return this field: unverifiable, as the plan said.
        return;
    };
    if segs.len() == 1 {
        let want = normalise(field, value);
        let have = normalise(field, &live_field);
        compare(path, &want, &have, value, &live_field, out);
        return;
    }
    // A nested path (e.g. /features/agent, /pbxConnectionProfiles/-): find the live value
    // at the same place; "-" (append) means the last element.
    let mut cur = &live_field;
    for s in &segs[1..] {
        if let (Value::Array(a), "-") = (cur, s.as_str()) {
            // An append: some element must carry the value.
            if !a.iter().any(|el| matches(&loose(value), &loose(el))) {
                out.push(FieldMismatch {
                    path: path.to_string(),
                    sent: redact(value),
                    found: redact(cur),
                });
            }
            return;
        }
        let next = match cur {
            Value::Object(m) => m.get(s.as_str()),
            Value::Array(a) => s.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(v) if !v.is_null() => cur = v,
            _ => return, // not returned: unverifiable
        }
    }
    let want = loose(value);
    let have = loose(cur);
    compare(path, &want, &have, value, cur, out);
}

/// Normalisation for values below the top level: trimmed text, numbers and booleans
/// however spelled.
fn loose(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let b = normalise_bool(v);
            if b.is_boolean() {
                return b;
            }
            let n = normalise_integer(v);
            if n.is_number() {
                return n;
            }
            Value::String(s.trim().to_string())
        }
        Value::Number(_) => normalise_integer(v),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), loose(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(loose).collect()),
        other => other.clone(),
    }
}

/// Whether `have` carries `want`: objects compared on the keys sent that the server
/// returns (secrets skipped), arrays element by element, scalars by value.
fn matches(want: &Value, have: &Value) -> bool {
    if secret_ref(want).is_some() {
        return true;
    }
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w.iter().all(|(k, wv)| {
            is_sensitive_pbx_key(k)
                || match h.get(k) {
                    None | Some(Value::Null) => true,
                    Some(hv) => matches(&loose(wv), &loose(hv)),
                }
        }),
        (Value::Array(w), Value::Array(h)) => {
            w.len() == h.len() && w.iter().zip(h).all(|(a, b)| matches(a, b))
        }
        (w, h) => loose(w) == loose(h),
    }
}

fn compare(
    path: &str,
    want: &Value,
    have: &Value,
    sent: &Value,
    found: &Value,
    out: &mut Vec<FieldMismatch>,
) {
    if !matches(want, have) {
        out.push(FieldMismatch {
            path: path.to_string(),
            sent: redact(sent),
            found: redact(found),
        });
    }
}

/// A copy with the values of sensitive keys replaced by `(sensitive)`.
fn redact(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    if is_sensitive_pbx_key(k) {
                        (k.clone(), Value::String("(sensitive)".into()))
                    } else {
                        (k.clone(), redact(v))
                    }
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(v: Value) -> LiveCustomer {
        LiveCustomer::from_json(v).unwrap()
    }

    fn ops(v: Value) -> Vec<PatchOperation> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn equal_after_normalisation_is_not_a_mismatch() {
        let l = live(
            json!({"id": "1", "countryCode": "gb", "enabled": "true", "features": {"agent": "2"}}),
        );
        let e = from_ops(&ops(json!([
            {"op": "replace", "path": "/countryCode", "value": "GB"},
            {"op": "replace", "path": "/enabled", "value": true},
            {"op": "replace", "path": "/features/agent", "value": 2}
        ])));
        assert_eq!(verify(&e, &l), vec![]);
    }

    #[test]
    fn a_changed_value_is_reported_per_field() {
        let l = live(json!({"id": "1", "name": "Old", "description": "d"}));
        let Value::Object(body) = json!({"name": "New", "description": "d"}) else {
            panic!()
        };
        let m = verify(&from_create(&body), &l);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].path, "/name");
        assert_eq!(
            (m[0].sent.clone(), m[0].found.clone()),
            (json!("New"), json!("Old"))
        );
    }

    #[test]
    fn fields_not_returned_and_secrets_are_skipped() {
        let l = live(
            json!({"id": "1", "pbxConnectionProfiles": [{"name": "p", "_type": "K", "apiKey": "other"}]}),
        );
        let Value::Object(body) = json!({
            "timezone": "Europe/London",
            "pbxConnectionProfiles": [{"name": "p", "_type": "K", "hostRest": "https://x", "apiKey": {"fromEnv": "K"}}]
        }) else {
            panic!()
        };
        assert_eq!(verify(&from_create(&body), &l), vec![]);
    }

    #[test]
    fn remove_expects_absence() {
        let e = from_ops(&ops(json!([{"op": "remove", "path": "/description"}])));
        assert_eq!(verify(&e, &live(json!({"id": "1"}))), vec![]);
        let m = verify(&e, &live(json!({"id": "1", "description": "still"})));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn mismatch_values_never_carry_secrets() {
        let l = live(
            json!({"id": "1", "pbxConnectionProfiles": [{"name": "p", "apiKey": "leak"}, {"name": "q"}]}),
        );
        let Value::Object(body) =
            json!({"pbxConnectionProfiles": [{"name": "p", "apiKey": {"fromEnv": "K"}}]})
        else {
            panic!()
        };
        let m = verify(&from_create(&body), &l);
        assert_eq!(m.len(), 1);
        assert!(!serde_json::to_string(&m).unwrap().contains("leak"));
    }
}
