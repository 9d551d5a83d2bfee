//! The JSON Schema of a manifest document, generated from the Rust types and finished
//! from the field catalogue (descriptions, lengths, patterns, no nulls, no unknown keys).
//!
//! `customer_schema()` is what `dimctl schema`
//! prints and what `schema/customer.schema.json` must equal. Field descriptions and
//! maximum lengths live in the catalogue, not in attributes: this file copies them in.

use serde_json::{Map, Value, json};

use super::Kind;
use super::catalogue::{self, Check, MAX_TRIAL_DAYS};

/// The schema's `$id`: an identifier, never fetched.
pub const SCHEMA_ID: &str = "https://dimctl.dev/schema/customer.schema.json";

/// Document keys that are not customer fields: the header, identity pin and lifecycle.
pub const DOCUMENT_KEYS: &[&str] = &["apiVersion", "kind", "id", "ensure", "lifecycle", "users"];

/// The shape of an e-mail address (one `@`, no spaces).
pub const EMAIL_PATTERN: &str = r"^[^@\s]+@[^@\s]+$";

/// An ISO 3166 alpha-2 or alpha-3 code (whether it exists is a semantic check).
pub const COUNTRY_CODE_PATTERN: &str = "^[A-Za-z]{2,3}$";
/// The shape of an IANA zone name (whether it exists is a semantic check).
pub const TIMEZONE_PATTERN: &str = r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$";

/// The manifest document schema (draft 2020-12).
pub fn customer_schema() -> Value {
    let mut schema = schemars::schema_for!(super::CustomerManifest).to_value();
    strip_nulls(&mut schema);
    close_objects(&mut schema);
    finish_from_catalogue(&mut schema);
    order_root(schema)
}

/// An omitted field is unmanaged; `null` is an error. schemars allows null for every
/// `Option`: take it out (`["string","null"]` → `"string"`, `anyOf [$ref, null]` → `$ref`).
/// Integer `format`s (`uint32`) are dropped: they are annotations other tools warn about.
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(obj) => {
            if let Some(Value::Array(types)) = obj.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    obj.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(any)) = obj.get("anyOf") {
                let not_null: Vec<&Value> = any
                    .iter()
                    .filter(|s| s.get("type") != Some(&json!("null")))
                    .collect();
                if not_null.len() == 1
                    && any.len() == 2
                    && let Some(Value::Object(inner)) = not_null.first().map(|s| (*s).clone())
                {
                    obj.remove("anyOf");
                    for (k, val) in inner {
                        obj.entry(k).or_insert(val);
                    }
                }
            }
            if obj
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| f.starts_with("uint") || f.starts_with("int"))
            {
                obj.remove("format");
            }
            obj.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// `additionalProperties: false` on every object with properties, so a misspelt key is an
/// error (the document itself cannot use serde's `deny_unknown_fields` with `flatten`).
fn close_objects(v: &mut Value) {
    match v {
        Value::Object(obj) => {
            if obj.contains_key("properties") && !obj.contains_key("additionalProperties") {
                obj.insert("additionalProperties".into(), Value::Bool(false));
            }
            obj.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

fn finish_from_catalogue(schema: &mut Value) {
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        for field in Kind::Customer.def().fields {
            let Some(Value::Object(p)) = props.get_mut(field.name) else {
                continue;
            };
            p.insert("description".into(), json!(field.description));
            if let Some(max) = field.max_len {
                p.insert("maxLength".into(), json!(max));
            }
            match field.check {
                Check::NonEmpty => {
                    p.insert("minLength".into(), json!(1));
                }
                Check::CountryCode => {
                    p.insert("pattern".into(), json!(COUNTRY_CODE_PATTERN));
                }
                Check::Timezone => {
                    p.insert("pattern".into(), json!(TIMEZONE_PATTERN));
                }
                Check::TrialDays => {
                    p.insert("minimum".into(), json!(0));
                    p.insert("maximum".into(), json!(MAX_TRIAL_DAYS));
                }
                Check::None => {}
            }
        }
        if let Some(Value::Object(id)) = props.get_mut("id") {
            id.insert("minLength".into(), json!(1));
        }
    }
    // PBX profiles: country codes like the customer's.
    if let Some(Value::Array(branches)) = schema.pointer_mut("/$defs/PbxProfile/oneOf") {
        for b in branches {
            if let Some(Value::Object(cc)) = b.pointer_mut("/properties/countryCode") {
                cc.insert("pattern".into(), json!(COUNTRY_CODE_PATTERN));
            }
            if let Some(Value::Object(name)) = b.pointer_mut("/properties/name") {
                name.insert("minLength".into(), json!(1));
            }
        }
    }
    // Users: descriptions and lengths from the user field table; role keys as suggestions.
    if let Some(Value::Object(props)) = schema.pointer_mut("/$defs/UserSpec/properties") {
        for field in Kind::User.def().fields {
            let Some(Value::Object(p)) = props.get_mut(field.name) else {
                continue;
            };
            p.insert("description".into(), json!(field.description));
            if let Some(max) = field.max_len {
                p.insert("maxLength".into(), json!(max));
            }
            if field.check == Check::NonEmpty {
                p.insert("minLength".into(), json!(1));
            }
        }
        if let Some(Value::Object(email)) = props.get_mut("email") {
            email.insert("pattern".into(), json!(EMAIL_PATTERN));
        }
        if let Some(Value::Object(roles)) = props.get_mut("roles") {
            roles.insert("uniqueItems".into(), json!(true));
            if let Some(Value::Object(items)) = roles.get_mut("items") {
                items.insert("minLength".into(), json!(1));
                items.insert("examples".into(), json!(catalogue::KNOWN_ROLES));
            }
        }
    }
    if let Some(Value::Object(users)) = schema.pointer_mut("/properties/users") {
        users.insert(
            "description".into(),
            json!("The customer's users and their roles, identified by e-mail (case-insensitive). Omitted: users are not managed."),
        );
    }
    // ignoreChanges names real writable fields.
    if let Some(Value::Object(items)) =
        schema.pointer_mut("/$defs/Lifecycle/properties/ignoreChanges/items")
    {
        let names: Vec<&str> = Kind::Customer
            .def()
            .writable_fields()
            .map(|f| f.name)
            .collect();
        items.insert("enum".into(), json!(names));
    }
}

/// `$schema`, `$id`, title and description first; a document needs `reference` or `id`.
fn order_root(schema: Value) -> Value {
    let Value::Object(mut obj) = schema else {
        return schema;
    };
    let mut root = Map::new();
    root.insert(
        "$schema".into(),
        obj.remove("$schema")
            .unwrap_or(json!("https://json-schema.org/draft/2020-12/schema")),
    );
    root.insert("$id".into(), json!(SCHEMA_ID));
    obj.remove("title");
    root.insert("title".into(), json!("dimctl Customer manifest"));
    root.insert(
        "description".into(),
        json!(
            "One YAML document of `kind: Customer` (apiVersion dimctl/v1): the header, identity \
             and lifecycle, and the customer's fields at the top level beside them. An omitted \
             field is unmanaged (left as the server has it); null is not allowed. A document \
             needs `reference` or `id`."
        ),
    );
    obj.remove("description");
    for (k, v) in obj {
        root.insert(k, v);
    }
    root.insert(
        "anyOf".into(),
        json!([{"required": ["reference"]}, {"required": ["id"]}]),
    );
    // Keep $defs last for readability.
    if let Some(defs) = root.remove("$defs") {
        root.insert("$defs".into(), defs);
    }
    Value::Object(root)
}

/// The schema as `dimctl schema` prints it: pretty JSON ending in a newline.
pub fn customer_schema_text() -> String {
    let mut text =
        serde_json::to_string_pretty(&customer_schema()).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalogue::Mutability;
    use std::collections::BTreeSet;

    fn contains_null(v: &Value) -> bool {
        match v {
            Value::Object(o) => {
                o.get("type") == Some(&json!("null"))
                    || o.get("type")
                        .and_then(Value::as_array)
                        .is_some_and(|a| a.contains(&json!("null")))
                    || o.values().any(contains_null)
            }
            Value::Array(a) => a.iter().any(contains_null),
            _ => false,
        }
    }

    #[test]
    fn every_writable_catalogue_field_is_a_property_and_vice_versa() {
        let schema = customer_schema();
        let props: BTreeSet<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| !DOCUMENT_KEYS.contains(k))
            .collect();
        let writable: BTreeSet<&str> = Kind::Customer
            .def()
            .writable_fields()
            .map(|f| f.name)
            .collect();
        assert_eq!(props, writable);
        // And no read-only field other than the `id` pin is accepted.
        for f in Kind::Customer.def().fields {
            if f.mutability == Mutability::ReadOnly && f.name != "id" {
                assert!(schema["properties"].get(f.name).is_none(), "{}", f.name);
            }
        }
    }

    #[test]
    fn descriptions_and_lengths_come_from_the_catalogue() {
        let schema = customer_schema();
        for f in Kind::Customer.def().writable_fields() {
            let p = &schema["properties"][f.name];
            assert_eq!(p["description"], json!(f.description), "{}", f.name);
            match f.max_len {
                Some(n) => assert_eq!(p["maxLength"], json!(n), "{}", f.name),
                None => assert!(p.get("maxLength").is_none(), "{}", f.name),
            }
        }
        assert_eq!(
            schema["properties"]["trialDuration"]["maximum"],
            json!(MAX_TRIAL_DAYS)
        );
    }

    #[test]
    fn no_nulls_and_closed_objects() {
        let schema = customer_schema();
        assert!(!contains_null(&schema));
        assert_eq!(schema["additionalProperties"], json!(false));
        for def in ["Features", "Lifecycle", "SecretRef"] {
            assert_eq!(
                schema["$defs"][def]["additionalProperties"],
                json!(false),
                "{def}"
            );
        }
        for b in schema["$defs"]["PbxProfile"]["oneOf"].as_array().unwrap() {
            assert_eq!(b["additionalProperties"], json!(false));
        }
    }

    #[test]
    fn compiles_and_judges() {
        let schema = customer_schema();
        let v = jsonschema::draft202012::new(&schema).unwrap();
        let good = json!({"apiVersion": "dimctl/v1", "kind": "Customer", "reference": "A-1",
            "pbxConnectionProfiles": [{"_type": "KazooPbxConnectionProfile", "name": "k",
            "apiKey": {"fromEnv": "K"}}]});
        assert!(v.is_valid(&good));
        let cases = [
            json!({"apiVersion": "dimctl/v1", "kind": "Customer"}),
            json!({"apiVersion": "dimctl/v1", "kind": "Customer", "reference": "A", "name": null}),
            json!({"apiVersion": "dimctl/v1", "kind": "Customer", "reference": "A", "contryCode": "GB"}),
            json!({"apiVersion": "dimctl/v1", "kind": "Customer", "reference": "A", "trialDuration": 366}),
            json!({"apiVersion": "dimctl/v1", "kind": "Customer", "reference": "A",
                "pbxConnectionProfiles": [{"_type": "KazooPbxConnectionProfile", "name": "k", "apiKey": "literal"}]}),
            json!({"apiVersion": "dimctl/v1", "kind": "Customer", "reference": "A",
                "lifecycle": {"ignoreChanges": ["dateCreated"]}}),
        ];
        for c in cases {
            assert!(!v.is_valid(&c), "{c}");
        }
    }
}
