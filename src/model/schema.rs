//! The JSON Schema of a manifest document, generated from the Rust types and finished
//! from the field catalogue (descriptions, lengths, patterns, no nulls, no unknown keys).
//!
//! OWNER: manifest/validate work (issue 2). `customer_schema()` is what `dimctl schema`
//! prints and what `schema/customer.schema.json` must equal.

use serde_json::Value;

/// The manifest document schema (draft 2020-12).
pub fn customer_schema() -> Value {
    let schema = schemars::schema_for!(super::CustomerManifest);
    schema.to_value()
}
