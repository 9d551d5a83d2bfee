//! The pieces a change's patch is built from, shared by the customer diff ([`super::diff`])
//! and the PBX profile diff ([`super::pbx`]): the [`Delta`] one comparison collects, JSON
//! pointers, RFC 6902 `add`/`replace` operations and a desired value as a wire object.
//! It decides nothing about what differs.

use serde_json::Value;

use crate::model::PatchOperation;

use super::{Annotation, FieldDiff, Refusal};

/// What comparing one customer found.
#[derive(Debug, Default)]
pub(crate) struct Delta {
    pub ops: Vec<PatchOperation>,
    pub diffs: Vec<FieldDiff>,
    pub unverifiable: Vec<String>,
    pub refusals: Vec<Refusal>,
    pub annotations: Vec<Annotation>,
}

/// A JSON pointer from unescaped tokens.
pub(crate) fn pointer(tokens: &[&str]) -> String {
    json_patch::jsonptr::PointerBuf::from_tokens(tokens.iter().copied()).to_string()
}

/// An RFC 6902 `replace` (the live object carries the field).
pub(crate) fn replace(tokens: &[&str], value: Value) -> PatchOperation {
    PatchOperation::Replace(json_patch::ReplaceOperation {
        path: json_patch::jsonptr::PointerBuf::from_tokens(tokens.iter().copied()),
        value,
    })
}

/// An RFC 6902 `add` (writing a field the live object does not carry, or appending).
pub(crate) fn add(tokens: &[&str], value: Value) -> PatchOperation {
    PatchOperation::Add(json_patch::AddOperation {
        path: json_patch::jsonptr::PointerBuf::from_tokens(tokens.iter().copied()),
        value,
    })
}
