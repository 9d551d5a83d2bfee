//! Secret references in a plan: `{"fromEnv": VAR}` objects in create bodies and patch
//! values, replaced by the environment variable's value only in the body handed to the
//! API, at write time.
//!
//! Resolved values never leave this module except inside that body: they are not
//! logged, not reported and never part of an error (errors name the variable only), and
//! each is registered with [`crate::redact`] as it is read.
//!
//! A reference is resolved only where the catalogue marks the key sensitive (a PBX
//! profile's `apiKey`, `password`, `clientSecret`), and never from a `DIMCTL_*` variable
//! (dimctl's own credentials): a hand-edited saved plan cannot make a customer's name of
//! the API token, nor send it to a PBX host.

use std::collections::BTreeSet;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::api::PatchOperation;
use crate::plan::{Change, Plan};

/// Where secret values come from: the process environment in the binary, a map in tests.
pub trait SecretSource: Send + Sync {
    /// The variable's value, if it is set.
    fn lookup(&self, var: &str) -> Option<SecretString>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl SecretSource for ProcessEnv {
    fn lookup(&self, var: &str) -> Option<SecretString> {
        std::env::var(var).ok().map(SecretString::from)
    }
}

impl<F> SecretSource for F
where
    F: Fn(&str) -> Option<String> + Send + Sync,
{
    fn lookup(&self, var: &str) -> Option<SecretString> {
        self(var).map(SecretString::from)
    }
}

/// A secret reference that cannot be resolved. Names the variable, never a value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SecretError {
    #[error(
        "environment variable {0} is not set (or empty); it holds a secret this plan must write"
    )]
    Missing(String),
    /// A reference where no secret belongs, or to a variable that may not be a source.
    #[error("{0}")]
    Misplaced(String),
    /// A value too short to be masked in output ([`crate::redact::MIN_LEN`]).
    #[error(transparent)]
    TooShort(#[from] crate::redact::TooShort),
}

/// Why `var` may not be the source of a manifest secret, if it may not.
pub fn refused_source(var: &str) -> Option<String> {
    crate::model::SecretRef::refused_source(var)
}

/// Whether a reference under `key` may be resolved: the key is a sensitive one.
fn resolvable_at(key: Option<&str>) -> bool {
    key.is_some_and(crate::model::catalogue::is_sensitive_pbx_key)
}

fn check_refs(value: &Value, key: Option<&str>, at: &str, out: &mut Vec<String>) {
    if let Some(var) = secret_ref(value) {
        let field = key.unwrap_or("(a value)");
        if !resolvable_at(key) {
            out.push(format!(
                "{at}: `{field}` is not a secret field; {{fromEnv: {var}}} is only resolved in apiKey, password or clientSecret"
            ));
        } else if let Some(why) = refused_source(var) {
            out.push(format!("{at}: `{field}`: {why}"));
        }
        return;
    }
    match value {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, v)| check_refs(v, Some(k.as_str()), at, out)),
        Value::Array(a) => a.iter().for_each(|v| check_refs(v, None, at, out)),
        _ => {}
    }
}

/// The key an operation's value is written under: the last segment of its path.
fn op_key(op: &PatchOperation) -> Option<String> {
    let path = match op {
        PatchOperation::Add(o) => o.path.to_string(),
        PatchOperation::Replace(o) => o.path.to_string(),
        PatchOperation::Test(o) => o.path.to_string(),
        _ => return None,
    };
    path.rsplit('/')
        .next()
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
}

/// Every secret reference of the plan's writes that apply will not resolve (in a field
/// that is not sensitive, or naming a refused variable), one line each naming the
/// customer, the field and the variable. Checked before any write.
pub fn misplaced_refs(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for c in plan.changes.iter().filter(|c| c.action.is_write()) {
        let at = c.key.to_string();
        if let Some(body) = &c.create {
            for (k, v) in body {
                check_refs(v, Some(k.as_str()), &at, &mut out);
            }
        }
        for op in &c.operations {
            if let Some(v) = op_value(op) {
                let key = op_key(op);
                let key = key
                    .as_deref()
                    .filter(|k| k.parse::<usize>().is_err() && *k != "-");
                check_refs(v, key, &at, &mut out);
            }
        }
    }
    out
}

/// The variable named by a `{"fromEnv": VAR}` object (exactly that one key).
pub fn secret_ref(value: &Value) -> Option<&str> {
    match value {
        Value::Object(m) if m.len() == 1 => m.get("fromEnv").and_then(Value::as_str),
        _ => None,
    }
}

fn collect(value: &Value, out: &mut BTreeSet<String>) {
    if let Some(var) = secret_ref(value) {
        out.insert(var.to_string());
        return;
    }
    match value {
        Value::Object(m) => m.values().for_each(|v| collect(v, out)),
        Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

/// Every variable a change's writes need.
pub fn change_vars(change: &Change) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if !change.action.is_write() {
        return out;
    }
    if let Some(body) = &change.create {
        body.values().for_each(|v| collect(v, &mut out));
    }
    for op in &change.operations {
        if let Some(v) = op_value(op) {
            collect(v, &mut out);
        }
    }
    out
}

/// The variables of the whole plan whose values are too short to be kept out of output
/// ([`crate::redact::too_short`]), sorted. Checked before any write, with
/// [`missing_vars`].
pub fn short_vars(plan: &Plan, env: &dyn SecretSource) -> Vec<String> {
    let mut all = BTreeSet::new();
    for c in &plan.changes {
        all.extend(change_vars(c));
    }
    all.into_iter()
        .filter(|v| {
            env.lookup(v)
                .is_some_and(|s| crate::redact::too_short(s.expose_secret()))
        })
        .collect()
}

/// The variables of the whole plan that are missing or empty, sorted. Checked before
/// any write so that a plan never stops half-way for want of a secret.
pub fn missing_vars(plan: &Plan, env: &dyn SecretSource) -> Vec<String> {
    let mut all = BTreeSet::new();
    for c in &plan.changes {
        all.extend(change_vars(c));
    }
    all.into_iter()
        .filter(|v| match env.lookup(v) {
            Some(s) => s.expose_secret().is_empty(),
            None => true,
        })
        .collect()
}

fn resolve_value(
    value: &Value,
    key: Option<&str>,
    env: &dyn SecretSource,
) -> Result<Value, SecretError> {
    if let Some(var) = secret_ref(value) {
        if !resolvable_at(key) {
            return Err(SecretError::Misplaced(format!(
                "`{}` is not a secret field: {{fromEnv: {var}}} is not resolved there",
                key.unwrap_or("(a value)")
            )));
        }
        if let Some(why) = refused_source(var) {
            return Err(SecretError::Misplaced(why));
        }
        return match env.lookup(var) {
            Some(s) if crate::redact::too_short(s.expose_secret()) => {
                Err(crate::redact::TooShort(format!("environment variable {var}")).into())
            }
            Some(s) if !s.expose_secret().is_empty() => {
                crate::redact::register(s.expose_secret());
                Ok(Value::String(s.expose_secret().to_string()))
            }
            _ => Err(SecretError::Missing(var.to_string())),
        };
    }
    Ok(match value {
        Value::Object(m) => Value::Object(resolve_map(m, env)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| resolve_value(v, None, env))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// A create body with every reference replaced by its value.
pub fn resolve_map(
    body: &Map<String, Value>,
    env: &dyn SecretSource,
) -> Result<Map<String, Value>, SecretError> {
    body.iter()
        .map(|(k, v)| Ok((k.clone(), resolve_value(v, Some(k.as_str()), env)?)))
        .collect()
}

/// Patch operations with every reference in their values replaced.
pub fn resolve_ops(
    ops: &[PatchOperation],
    env: &dyn SecretSource,
) -> Result<Vec<PatchOperation>, SecretError> {
    ops.iter()
        .map(|op| {
            let mut op = op.clone();
            let key = op_key(&op);
            let key = key
                .as_deref()
                .filter(|k| k.parse::<usize>().is_err() && *k != "-");
            if let Some(v) = op_value_mut(&mut op) {
                *v = resolve_value(v, key, env)?;
            }
            Ok(op)
        })
        .collect()
}

/// The value an operation carries (add, replace, test), if any.
pub fn op_value(op: &PatchOperation) -> Option<&Value> {
    match op {
        PatchOperation::Add(o) => Some(&o.value),
        PatchOperation::Replace(o) => Some(&o.value),
        PatchOperation::Test(o) => Some(&o.value),
        _ => None,
    }
}

fn op_value_mut(op: &mut PatchOperation) -> Option<&mut Value> {
    match op {
        PatchOperation::Add(o) => Some(&mut o.value),
        PatchOperation::Replace(o) => Some(&mut o.value),
        PatchOperation::Test(o) => Some(&mut o.value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(var: &str) -> Option<String> {
        match var {
            "KEY" => Some("s3cr3t".into()),
            "EMPTY" => Some(String::new()),
            "SHORT" => Some("p4w".into()),
            _ => None,
        }
    }

    #[test]
    fn resolves_nested_references_and_leaves_the_rest() {
        let body = json!({"name": "A", "pbxConnectionProfiles": [{"name": "p", "apiKey": {"fromEnv": "KEY"}}]});
        let Value::Object(body) = body else { panic!() };
        let out = resolve_map(&body, &env).unwrap();
        assert_eq!(out["pbxConnectionProfiles"][0]["apiKey"], json!("s3cr3t"));
        assert_eq!(out["name"], json!("A"));
    }

    #[test]
    fn missing_and_empty_variables_are_errors_naming_the_variable() {
        for var in ["NOPE", "EMPTY"] {
            let Value::Object(body) = json!({"apiKey": {"fromEnv": var}}) else {
                panic!()
            };
            let err = resolve_map(&body, &env).unwrap_err();
            assert_eq!(err, SecretError::Missing(var.into()));
            assert!(err.to_string().contains(var));
        }
    }

    #[test]
    fn a_value_too_short_to_mask_is_refused_naming_the_variable_only() {
        let Value::Object(body) = json!({"password": {"fromEnv": "SHORT"}}) else {
            panic!()
        };
        let err = resolve_map(&body, &env).unwrap_err();
        assert_eq!(
            err,
            SecretError::TooShort(crate::redact::TooShort("environment variable SHORT".into()))
        );
        let msg = err.to_string();
        assert!(
            msg.contains("environment variable SHORT holds a secret of fewer than 4 characters"),
            "{msg}"
        );
        assert!(msg.contains("cannot be kept out of output safely"), "{msg}");
        assert!(!msg.contains("p4w"), "{msg}");
    }

    #[test]
    fn references_resolve_only_in_sensitive_fields_and_never_from_dimctl_vars() {
        let Value::Object(body) = json!({"name": {"fromEnv": "KEY"}}) else {
            panic!()
        };
        let err = resolve_map(&body, &env).unwrap_err();
        assert!(
            err.to_string().contains("`name` is not a secret field"),
            "{err}"
        );
        let Value::Object(body) =
            json!({"pbxConnectionProfiles": [{"apiKey": {"fromEnv": "DIMCTL_TOKEN"}}]})
        else {
            panic!()
        };
        let err = resolve_map(&body, &|_: &str| Some("tok-value".to_string())).unwrap_err();
        assert!(err.to_string().contains("DIMCTL_TOKEN"), "{err}");
        assert!(!err.to_string().contains("tok-value"));
    }

    #[test]
    fn an_object_with_more_keys_is_not_a_reference() {
        assert_eq!(secret_ref(&json!({"fromEnv": "A", "b": 1})), None);
        assert_eq!(secret_ref(&json!({"fromEnv": "A"})), Some("A"));
    }
}
