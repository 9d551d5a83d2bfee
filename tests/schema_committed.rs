//! The committed schema is what the code generates, and an independent JSON Schema
//! 2020-12 implementation (boon) agrees with it about the examples.

mod support;

use std::path::Path;

use serde_json::Value;

fn generated() -> String {
    let out = support::dimctl().arg("schema").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn committed_schema_matches_the_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let committed = std::fs::read_to_string(root.join("schema/customer.schema.json")).unwrap();
    assert!(
        committed == generated(),
        "schema/customer.schema.json differs from what the code generates; \
         run `cargo run -- schema > schema/customer.schema.json` and commit it"
    );
}

#[test]
fn committed_config_schema_matches_the_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let committed = std::fs::read_to_string(root.join("schema/config.schema.json")).unwrap();
    let out = support::dimctl()
        .args(["schema", "--config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        committed.as_bytes() == out.stdout.as_slice(),
        "schema/config.schema.json differs from what the code generates; \
         run `cargo run -- schema --config > schema/config.schema.json` and commit it"
    );
    let v: Value = serde_json::from_str(&committed).unwrap();
    assert_eq!(v["additionalProperties"], false);
}

#[test]
fn schema_output_is_pretty_2020_12_json_ending_in_a_newline() {
    let text = generated();
    assert!(text.ends_with("}\n"));
    assert!(text.contains("\n  \""), "pretty-printed");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(v["additionalProperties"], false);
    assert_eq!(v["properties"]["name"]["maxLength"], 100);
    assert_eq!(v["properties"]["countryCode"]["maxLength"], 5);
}

fn boon_schema() -> (boon::Schemas, boon::SchemaIndex) {
    let schema: Value = serde_json::from_str(&generated()).unwrap();
    let id = schema["$id"].as_str().unwrap().to_string();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(&id, schema).unwrap();
    let index = compiler.compile(&id, &mut schemas).unwrap();
    (schemas, index)
}

/// Every document of every example, read by an independent YAML library (serde-saphyr).
fn example_documents() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/customers");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 6, "at least six examples");
    let mut docs = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../../schema/customer.schema.json\n"),
            "{} must start with the yaml-language-server schema line",
            p.display()
        );
        for doc in serde_saphyr::from_multiple::<Value>(&text).unwrap() {
            docs.push((p.display().to_string(), doc));
        }
    }
    docs
}

#[test]
fn an_independent_validator_accepts_the_examples() {
    let (schemas, index) = boon_schema();
    for (file, doc) in example_documents() {
        if let Err(e) = schemas.validate(&doc, index) {
            panic!("{file}: {e}");
        }
    }
}

#[test]
fn an_independent_validator_rejects_a_misspelt_field_a_literal_secret_and_a_null() {
    let (schemas, index) = boon_schema();
    let (_, good) = example_documents()
        .into_iter()
        .find(|(f, _)| f.ends_with("brightwave-health-us.yaml"))
        .unwrap();
    assert!(schemas.validate(&good, index).is_ok());

    let mut misspelt = good.clone();
    let cc = misspelt
        .as_object_mut()
        .unwrap()
        .remove("countryCode")
        .unwrap();
    misspelt["contryCode"] = cc;
    assert!(schemas.validate(&misspelt, index).is_err());

    let mut literal = good.clone();
    literal["pbxConnectionProfiles"][0]["apiKey"] = Value::from("not-a-reference");
    assert!(schemas.validate(&literal, index).is_err());

    let mut null = good.clone();
    null["name"] = Value::Null;
    assert!(schemas.validate(&null, index).is_err());

    let mut no_identity = good;
    no_identity.as_object_mut().unwrap().remove("reference");
    assert!(schemas.validate(&no_identity, index).is_err());
}
