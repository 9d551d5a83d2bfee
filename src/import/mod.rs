//! Import: turn live customers into manifests, so an existing account can be adopted into
//! git in one step. Pure: live values in, manifests and file names out; the CLI writes.
//!
//! The guarantee: planning the imported manifests against the same account shows no
//! change. So a manifest holds exactly the writable fields the API returned (an absent
//! field stays unmanaged), normalised, and pins `id` where a tenant has no reference.
//! Secrets are never returned by the API: each PBX secret becomes a `{fromEnv: VAR}`
//! placeholder that the user fills in their CI's secret store.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::model::Kind;
use crate::model::catalogue::{self, FieldKind, Mutability};
use crate::model::user::{live_email, live_roles};
use crate::model::{
    API_VERSION, CustomerManifest, KIND_CUSTOMER, LiveCustomer, LiveObject, LiveUsers, UserSpec,
    normalise,
};

/// One imported customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The file name (no directory), safe on every file system, unique within the import.
    pub file_name: String,
    pub manifest: CustomerManifest,
    /// Things the user should know (a PBX profile of an unknown kind left out, ...).
    pub notes: Vec<String>,
}

/// A live customer that could not be turned into a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub id: String,
    pub reason: String,
}

/// Convert every live customer. File names are unique (case-insensitively) in the result.
pub fn import_all(live: &[LiveCustomer]) -> (Vec<Imported>, Vec<Skipped>) {
    import_all_with(live, &HashMap::new(), &LiveUsers::default())
}

/// [`import_all`], each customer with the users read of it (see [`users_from_live`]).
pub fn import_all_with_users(
    live: &[LiveCustomer],
    users: &LiveUsers,
) -> (Vec<Imported>, Vec<Skipped>) {
    import_all_with(live, &HashMap::new(), users)
}

/// [`import_all`] with each customer's live PBX connection profiles (by customer id, from
/// `/customers/{C}/pbxs`), each written with its `name` and `_type` and a `{fromEnv}`
/// placeholder for its secret (the other settings cannot be read back), and the users
/// read of it.
pub fn import_all_with(
    live: &[LiveCustomer],
    pbxs: &HashMap<String, Vec<LiveObject>>,
    users: &LiveUsers,
) -> (Vec<Imported>, Vec<Skipped>) {
    // The configuration's names are reserved (case-insensitively, for macOS and Windows
    // checkouts): a customer file named so would be read as the repository configuration.
    let mut taken: HashSet<String> = crate::manifest::discover::CONFIG_NAMES
        .iter()
        .map(|n| n.to_lowercase())
        .collect();
    let mut imported = Vec::new();
    let mut skipped = Vec::new();
    for customer in live {
        let profiles = pbxs.get(&customer.id).filter(|p| !p.is_empty());
        let with_profiles = profiles.map(|ps| {
            let mut c = customer.clone();
            let items = ps.iter().map(|p| Value::Object(p.fields.clone())).collect();
            c.insert("pbxConnectionProfiles", Value::Array(items));
            c
        });
        match manifest_from_live(with_profiles.as_ref().unwrap_or(customer)) {
            Ok((mut manifest, notes)) => {
                if let Some(read) = users.of(&customer.id) {
                    let sync_acd = customer
                        .get("syncAcdAgentWithPbx")
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false);
                    let list = users_from_live(read, sync_acd);
                    if !list.is_empty() {
                        manifest.users = Some(list);
                    }
                }
                let stem = safe_stem(customer.reference().unwrap_or(&customer.id));
                let file_name = unique_name(&stem, &mut taken);
                let mut notes = notes;
                if crate::manifest::discover::CONFIG_NAMES.iter().any(|n| {
                    n.eq_ignore_ascii_case(&format!("{stem}.yaml"))
                        || n.eq_ignore_ascii_case(&format!("{stem}.yml"))
                }) {
                    notes.push(format!(
                        "written as {file_name}: {stem}.yaml is reserved for dimctl's configuration"
                    ));
                }
                imported.push(Imported {
                    file_name,
                    manifest,
                    notes,
                });
            }
            Err(reason) => skipped.push(Skipped {
                id: customer.id.clone(),
                reason,
            }),
        }
    }
    (imported, skipped)
}

/// A customer's users as a manifest declares them: every user but those inherited from a
/// parent tenant (`isParent`), sorted by e-mail, with their roles minus the PBX-managed
/// ones (`customer.user.pbx`, and `customer.user.acd` when `sync_acd`). A user whose roles
/// were not read gets none (roles unmanaged).
pub fn users_from_live(users: &[LiveObject], sync_acd: bool) -> Vec<UserSpec> {
    let mut out: Vec<UserSpec> = users
        .iter()
        .filter(|u| u.fields.get("isParent").and_then(Value::as_bool) != Some(true))
        .filter_map(|u| {
            let email = live_email(u)?.trim().to_string();
            let display_name = u
                .fields
                .get("displayName")
                .and_then(Value::as_str)
                .unwrap_or(&email)
                .to_string();
            let roles = live_roles(u).map(|rs| {
                let mut kept: Vec<String> = Vec::new();
                for r in rs {
                    if !catalogue::is_pbx_managed_role(&r, sync_acd) && !kept.contains(&r) {
                        kept.push(r);
                    }
                }
                kept
            });
            Some(UserSpec {
                email,
                display_name,
                roles,
                ensure: crate::model::Ensure::Present,
                lifecycle: None,
            })
        })
        .collect();
    out.sort_by_key(UserSpec::key);
    out
}

/// The manifest for one live customer, and notes on anything left out.
pub fn manifest_from_live(live: &LiveCustomer) -> Result<(CustomerManifest, Vec<String>), String> {
    let mut doc = Map::new();
    let mut notes = Vec::new();
    doc.insert("apiVersion".into(), Value::from(API_VERSION));
    doc.insert("kind".into(), Value::from(KIND_CUSTOMER));
    if live.reference().is_none() {
        doc.insert("id".into(), Value::from(live.id.clone()));
    }
    for field in Kind::Customer.def().fields {
        if field.mutability == Mutability::ReadOnly {
            continue;
        }
        let Some(value) = live.get(field.name) else {
            continue;
        };
        let value = normalise(field.name, &value);
        let value = match field.kind {
            FieldKind::Text => match value {
                // An empty text is the API's way of saying "not set": leave it unmanaged.
                Value::String(s) if s.is_empty() => continue,
                v => v,
            },
            FieldKind::PbxProfiles => {
                match pbx_profiles(&value, live.reference().unwrap_or(&live.id), &mut notes) {
                    Some(v) => v,
                    None => continue,
                }
            }
            _ => value,
        };
        doc.insert(field.name.to_string(), value);
    }
    serde_json::from_value::<CustomerManifest>(Value::Object(doc))
        .map(|m| (m, notes))
        .map_err(|e| format!("the API's values do not fit a manifest: {e}"))
}

/// PBX profiles as the API returns them (id, name, `_type`, tenantId), with a `{fromEnv}`
/// placeholder for each secret the kind carries.
fn pbx_profiles(value: &Value, owner: &str, notes: &mut Vec<String>) -> Option<Value> {
    let Value::Array(items) = value else {
        notes.push("pbxConnectionProfiles is not a list; left unmanaged".into());
        return None;
    };
    let mut out = Vec::new();
    for item in items {
        let Value::Object(p) = item else { continue };
        let kind = p.get("_type").and_then(Value::as_str).unwrap_or("");
        let Some(name) = p.get("name").and_then(Value::as_str) else {
            notes.push(format!("a {kind} PBX profile without a name was left out"));
            continue;
        };
        let mut profile = Map::new();
        profile.insert("_type".into(), Value::from(kind));
        profile.insert("name".into(), Value::from(name));
        let secret = match catalogue::pbx_type(kind) {
            Some(t) => t.secret,
            None => {
                notes.push(format!(
                    "PBX profile {name:?} of unknown kind {kind:?} was left out; all profiles are left unmanaged"
                ));
                return None;
            }
        };
        for (key, v) in p {
            if matches!(key.as_str(), "_type" | "name" | "id" | "tenantId") || v.is_null() {
                continue;
            }
            if catalogue::is_sensitive_pbx_key(key) {
                continue;
            }
            profile.insert(key.clone(), v.clone());
        }
        if let Some((key, suffix)) = secret {
            let var = env_var_name(&[owner, name, suffix]);
            profile.insert(key.into(), serde_json::json!({ "fromEnv": var }));
        }
        out.push(Value::Object(profile));
    }
    Some(Value::Array(out))
}

/// `ACME-0001`, `Main PBX`, `API_KEY` → `ACME_0001_MAIN_PBX_API_KEY`.
pub fn env_var_name(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        for c in part.chars() {
            let c = if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            };
            if !(c == '_' && (out.is_empty() || out.ends_with('_'))) {
                out.push(c);
            }
        }
        if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    match out.chars().next() {
        Some(c) if c.is_ascii_digit() => format!("_{out}"),
        None => "DIMCTL_SECRET".into(),
        _ => out,
    }
}

/// A file-name stem from a reference or id: ASCII letters, digits, `.`, `_` and `-` kept,
/// everything else folded to `-`, at most 100 characters, never empty or hidden.
pub fn safe_stem(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
            c
        } else {
            '-'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    let trimmed: String = out
        .trim_matches(|c| c == '-' || c == '.')
        .chars()
        .take(100)
        .collect();
    if trimmed.is_empty() {
        "customer".into()
    } else {
        trimmed
    }
}

/// `stem.yaml`, or `stem-2.yaml`, ... when the name (compared case-insensitively, for
/// macOS and Windows checkouts) is taken.
fn unique_name(stem: &str, taken: &mut HashSet<String>) -> String {
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{stem}.yaml")
        } else {
            format!("{stem}-{n}.yaml")
        };
        if taken.insert(name.to_lowercase()) {
            return name;
        }
        n += 1;
    }
}

/// A manifest the YAML writer could not write.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct YamlWriteError(String);

/// The YAML text of one manifest, with the schema modeline first.
pub fn to_yaml(manifest: &CustomerManifest, schema_path: &str) -> Result<String, YamlWriteError> {
    let body = serde_saphyr::to_string(manifest).map_err(|e| YamlWriteError(e.to_string()))?;
    let profiles = if manifest
        .spec
        .pbx_connection_profiles
        .as_ref()
        .is_some_and(|p| !p.is_empty())
    {
        "# PBX connection profiles: the API returns only each profile's name and _type. Its other\n\
         # settings (hosts, account id or licence key, enabled, countryCode, monitorSubAccounts)\n\
         # cannot be read back and must be filled in here; secrets are {fromEnv: VAR} placeholders.\n"
    } else {
        ""
    };
    Ok(format!(
        "# yaml-language-server: $schema={schema_path}\n# Imported by dimctl import.\n{profiles}{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(v: Value) -> LiveCustomer {
        LiveCustomer::from_json(v).expect("live customer")
    }

    #[test]
    fn keeps_only_returned_writable_fields_normalised() {
        let c = live(json!({
            "id": "t-1", "name": "Acme", "reference": "ACME-1", "countryCode": "gb",
            "enabled": "true", "dateCreated": "2026-01-01T00:00:00Z", "parentTenantId": "p",
            "trialDuration": "0", "description": ""
        }));
        let (m, notes) = manifest_from_live(&c).expect("imports");
        assert!(notes.is_empty());
        assert_eq!(m.id, None, "a referenced tenant is matched by reference");
        assert_eq!(m.spec.reference.as_deref(), Some("ACME-1"));
        assert_eq!(m.spec.country_code.as_deref(), Some("GB"));
        assert_eq!(m.spec.enabled, Some(true));
        assert_eq!(m.spec.trial_duration, Some(0));
        assert_eq!(m.spec.description, None, "empty text stays unmanaged");
        assert_eq!(m.spec.timezone, None, "not returned, so unmanaged");
    }

    #[test]
    fn pins_id_without_reference() {
        let (m, _) = manifest_from_live(&live(
            json!({"id": "t-9", "name": "No Ref", "reference": "  "}),
        ))
        .expect("imports");
        assert_eq!(m.id.as_deref(), Some("t-9"));
    }

    #[test]
    fn pbx_secrets_become_placeholders() {
        let c = live(
            json!({"id": "t", "reference": "ACME-1", "pbxConnectionProfiles": [
                {"id": "p1", "_type": "KazooPbxConnectionProfile", "name": "Main PBX", "tenantId": "t"}
            ]}),
        );
        let (m, _) = manifest_from_live(&c).expect("imports");
        let secrets = m.spec.secrets();
        assert_eq!(secrets.len(), 1);
        assert_eq!(secrets[0].1.from_env, "ACME_1_MAIN_PBX_API_KEY");
    }

    #[test]
    fn file_names_are_safe_and_unique() {
        let cases = [
            ("ACME-0001", "ACME-0001"),
            ("a/b\\c", "a-b-c"),
            ("../../etc/passwd", "etc-passwd"),
            ("Café Münster", "Caf-M-nster"),
            ("...", "customer"),
            ("", "customer"),
        ];
        for (input, want) in cases {
            assert_eq!(safe_stem(input), want, "{input:?}");
        }
        let mut taken = HashSet::new();
        assert_eq!(unique_name("a", &mut taken), "a.yaml");
        assert_eq!(unique_name("A", &mut taken), "A-2.yaml");
        assert_eq!(unique_name("a", &mut taken), "a-3.yaml");
        let dimctl = live(json!({"id": "1", "reference": "dimctl", "name": "D"}));
        let upper = live(json!({"id": "2", "reference": "DIMCTL", "name": "U"}));
        let (imported, _) = import_all(&[dimctl, upper]);
        let names: Vec<&str> = imported.iter().map(|i| i.file_name.as_str()).collect();
        assert_eq!(names, ["dimctl-2.yaml", "DIMCTL-3.yaml"]);
        assert!(
            imported[0].notes.iter().any(|n| n.contains("reserved")),
            "{:?}",
            imported[0].notes
        );
    }

    #[test]
    fn env_var_names() {
        assert_eq!(
            env_var_name(&["acme-1", "Main PBX", "API_KEY"]),
            "ACME_1_MAIN_PBX_API_KEY"
        );
        assert_eq!(env_var_name(&["9lives", "x"]), "_9LIVES_X");
        assert_eq!(env_var_name(&["--", ""]), "DIMCTL_SECRET");
    }

    #[test]
    fn yaml_round_trips_through_serde() {
        let (m, _) = manifest_from_live(&live(json!({
            "id": "t", "name": "Zürich Ärzte AG", "reference": "CH-1",
            "features": {"agent": 2, "device": 0}
        })))
        .expect("imports");
        let text = to_yaml(&m, "customer.schema.json").expect("yaml");
        assert!(text.starts_with("# yaml-language-server: $schema=customer.schema.json\n"));
        assert!(text.contains("Zürich Ärzte AG"));
        let back: CustomerManifest = serde_saphyr::from_str(&text).expect("parses back");
        assert_eq!(back, m);
    }
}
