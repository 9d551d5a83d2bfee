//! The semantic stage: rules the schema cannot express. A time zone must exist in the
//! IANA database (jiff's bundled copy, so the host does not matter), a country code must
//! be a real ISO 3166 code, PBX profile names must be unique within a customer, and a
//! secret's environment variable should be set (a warning: only apply needs the value).
//! Every present customer should declare an administrator user ([`ADMIN_RULE`], a warning
//! that `requireAdmin: true` turns into an error), whether or not it has `users:`.
//! A `reference` must not be blank, and one not in Unicode NFC gets a warning naming the
//! code points (references are compared byte for byte, as the API does, and two that look
//! the same but differ in bytes are a trap); YAML's `.inf` and `.nan` are numbers, never text ([`non_finite_numbers`]).
//!
//! The environment is read through a closure so tests never touch the process env, and
//! only its presence is asked, never its value.

use serde_json::Value;

use super::check::{Seg, field_path};
use super::diagnostic::{Diagnostic, FileText, Severity, did_you_mean};
use super::yaml::{Node, Value as YamlValue};
use crate::model::Kind;
use crate::model::catalogue::{self, Check};

/// Whether an environment variable is set (and not empty).
pub type EnvIsSet<'a> = &'a (dyn Fn(&str) -> bool + Sync);

/// The administrator rule's message (a warning; an error with `requireAdmin: true`).
pub const ADMIN_RULE: &str = "no user holds both `customer.user` and `admin.user`: the portal's rule is that every customer account requires at least 1 admin user";

/// Semantic checks on one document (the header already known good).
pub fn semantic_diagnostics(
    doc: &Node,
    json: &Value,
    ft: &FileText<'_>,
    env_is_set: EnvIsSet<'_>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let at_fixed = |path: &[Seg], sev: Severity, msg: &'static str| -> Diagnostic {
        let names: Vec<String> = path
            .iter()
            .map(|s| match s {
                Seg::Key(k) => k.clone(),
                Seg::Index(i) => i.to_string(),
            })
            .collect();
        let node = doc.locate(&names).node;
        let width = if node.start.line == node.end.line {
            node.end.index.saturating_sub(node.start.index)
        } else {
            1
        };
        ft.at(sev, node.start, width, field_path(path), msg)
    };
    let at = |path: &[Seg], sev: Severity, msg: String| -> Diagnostic {
        let mut d = at_fixed(path, sev, "");
        d.message = msg.into();
        d
    };
    let key = |k: &str| Seg::Key(k.to_string());

    if let Some(Value::String(reference)) = json.get("reference") {
        if reference.trim().is_empty() {
            out.push(
                at(
                    &[key("reference")],
                    Severity::Error,
                    "`reference` is blank: it is the customer's stable key".into(),
                )
                .with_hint("give it a value such as `reference: ACME-0001`, or remove the line and pin the customer by `id`"),
            );
        } else if let Some((from, to)) = not_nfc(reference) {
            out.push(
                at(
                    &[key("reference")],
                    Severity::Warning,
                    format!(
                        "`reference` is not in Unicode NFC: {from} compose to {to}; the API compares references byte for byte, so it is not the reference of a customer that looks the same but was written composed"
                    ),
                )
                .with_hint(format!(
                    "write it composed (NFC): `{}`",
                    nfc(reference)
                )),
            );
        }
    }

    // The field table says which fields are time zones and country codes.
    for field in Kind::Customer.def().fields {
        let Some(Value::String(text)) = json.get(field.name) else {
            continue;
        };
        let path = [key(field.name)];
        match field.check {
            Check::Timezone => {
                if let Some(d) = timezone(text, || at(&path, Severity::Error, String::new())) {
                    out.push(d);
                }
            }
            Check::CountryCode => {
                if let Some(d) = country(text, || at(&path, Severity::Error, String::new())) {
                    out.push(d);
                }
            }
            Check::None | Check::NonEmpty | Check::TrialDays => {}
        }
    }

    for (path, written, meant) in super::literal::misspelt_secret_keys(json) {
        let d = at(
            &path,
            Severity::Error,
            format!("`{written}` looks like the secret `{meant}`: a secret's value must not be written in a manifest"),
        )
        .with_hint(format!(
            "secrets never sit in git: write `{meant}: {{fromEnv: VAR}}` and set VAR where apply runs"
        ));
        out.push(d);
    }

    let absent = json.get("ensure").and_then(Value::as_str) == Some("absent");
    // The administrator rule applies to every present customer, with or without `users:`.
    let mut has_admin = false;
    if let Some(Value::Array(users)) = json.get("users") {
        let line_of = |i: usize, k: &str| {
            doc.locate(&["users".to_string(), i.to_string(), k.to_string()])
                .node
                .start
                .line
        };
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (i, u) in users.iter().enumerate() {
            let with = |k: &str| vec![key("users"), Seg::Index(i), key(k)];
            if let Some(Value::String(email)) = u.get("email") {
                let k = crate::model::email_key(email);
                let line = line_of(i, "email");
                if let Some((_, first)) = seen.iter().find(|(e, _)| *e == k) {
                    out.push(
                        at(
                            &with("email"),
                            Severity::Error,
                            format!(
                                "duplicate user `{}`: line {line} repeats the user declared at line {first} (e-mails are compared case-insensitively)",
                                email.trim()
                            ),
                        )
                        .with_hint("a user's e-mail identifies them within the customer: keep one entry and merge their roles"),
                    );
                } else {
                    seen.push((k, line));
                }
            }
            let user_absent = u.get("ensure").and_then(Value::as_str) == Some("absent");
            if let Some(Value::Array(roles)) = u.get("roles") {
                let held = |r: &str| roles.iter().any(|x| x.as_str() == Some(r));
                if !user_absent && held(catalogue::ADMIN_ROLE) && held(catalogue::IMPLIED_ROLE) {
                    has_admin = true;
                }
                for (j, r) in roles.iter().enumerate() {
                    let Value::String(r) = r else { continue };
                    if catalogue::KNOWN_ROLES.contains(&r.as_str()) {
                        continue;
                    }
                    let path = vec![key("users"), Seg::Index(i), key("roles"), Seg::Index(j)];
                    let mut d = at(
                        &path,
                        Severity::Warning,
                        format!(
                            "unknown role `{r}`: not one of the roles the vendor documents (it may be new)"
                        ),
                    );
                    d = match did_you_mean(r, catalogue::KNOWN_ROLES.iter().copied()) {
                        Some(m) => d.with_hint(format!("did you mean `{m}`?")),
                        None => d.with_hint(format!(
                            "known roles: {}",
                            catalogue::KNOWN_ROLES.join(", ")
                        )),
                    };
                    out.push(d);
                }
            }
        }
    }
    if !absent && !has_admin {
        out.push(
            at_fixed(&[key("users")], Severity::Warning, ADMIN_RULE).with_hint(
                "give one user `roles: [customer.user, admin.user]` (in `users:`); `requireAdmin: true` in dimctl.yaml makes this an error",
            ),
        );
    }
    if let Some(Value::Array(profiles)) = json.get("pbxConnectionProfiles") {
        let mut names: Vec<(&str, usize)> = Vec::new();
        for (i, p) in profiles.iter().enumerate() {
            let base = vec![key("pbxConnectionProfiles"), Seg::Index(i)];
            let with = |k: &str| {
                let mut p = base.clone();
                p.push(key(k));
                p
            };
            if let Some(Value::String(cc)) = p.get("countryCode")
                && let Some(d) = country(cc, || {
                    at(&with("countryCode"), Severity::Error, String::new())
                })
            {
                out.push(d);
            }
            if let Some(Value::String(name)) = p.get("name") {
                let line = doc
                    .locate(&[
                        "pbxConnectionProfiles".to_string(),
                        i.to_string(),
                        "name".to_string(),
                    ])
                    .node
                    .start
                    .line;
                if let Some((_, first)) = names.iter().find(|(n, _)| n == name) {
                    out.push(
                        at(
                            &with("name"),
                            Severity::Error,
                            format!("duplicate PBX profile name `{name}` (first at line {first})"),
                        )
                        .with_hint("a profile's name identifies it within its customer; give each a different name"),
                    );
                } else {
                    names.push((name, line));
                }
            }
            if absent {
                continue;
            }
            for secret in catalogue::PBX_SENSITIVE_KEYS {
                if let Some(Value::String(var)) = p.get(*secret).and_then(|s| s.get("fromEnv"))
                    && let Some(why) = crate::model::SecretRef::refused_source(var)
                {
                    let mut path = with(secret);
                    path.push(key("fromEnv"));
                    let mut d = at(&path, Severity::Error, why).with_hint(format!(
                        "write `{secret}: {{fromEnv: VAR}}` with a variable that holds only this PBX secret"
                    ));
                    d.field = field_path(&with(secret));
                    out.push(d);
                    continue;
                }
                if let Some(Value::String(var)) = p.get(*secret).and_then(|s| s.get("fromEnv"))
                    && valid_shape(var, "fromEnv")
                    && !env_is_set(var)
                {
                    let mut path = with(secret);
                    path.push(key("fromEnv"));
                    let mut d = at(
                        &path,
                        Severity::Warning,
                        format!("environment variable `{var}` is not set"),
                    )
                    .with_hint(format!(
                        "validate and plan do not need it; apply refuses to write `{secret}` until `{var}` is set"
                    ));
                    d.field = field_path(&with(secret));
                    out.push(d);
                }
            }
        }
    }
    out
}

/// `s` in Unicode Normalization Form C.
pub fn nfc(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfc().collect()
}

/// When `s` is not in NFC, the code points that differ and what NFC makes of them, as
/// `U+0065 U+0301` and `U+00E9`.
fn not_nfc(s: &str) -> Option<(String, String)> {
    let composed = nfc(s);
    if composed == s {
        return None;
    }
    let a: Vec<char> = s.chars().collect();
    let b: Vec<char> = composed.chars().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let points = |cs: &[char]| {
        cs.iter()
            .map(|c| format!("U+{:04X}", *c as u32))
            .collect::<Vec<_>>()
            .join(" ")
    };
    Some((
        points(&a[prefix..a.len() - suffix]),
        points(&b[prefix..b.len() - suffix]),
    ))
}

/// YAML's `.inf`, `-.inf` and `.nan` (any case) are numbers that JSON cannot hold: an
/// error wherever they appear, text field or number field alike, returned with the
/// field paths they sit at (the schema's own complaint about them is then redundant).
pub fn non_finite_numbers(doc: &Node, ft: &FileText<'_>) -> (Vec<Diagnostic>, Vec<String>) {
    fn walk<'a>(node: &'a Node, path: &mut Vec<Seg>, found: &mut Vec<(Vec<Seg>, &'a Node)>) {
        match &node.value {
            YamlValue::Float(f) if !f.is_finite() => found.push((path.clone(), node)),
            YamlValue::Seq(items) => {
                for (i, n) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    walk(n, path, found);
                    path.pop();
                }
            }
            YamlValue::Map(entries) => {
                for e in entries {
                    path.push(Seg::Key(e.key.clone()));
                    walk(&e.value, path, found);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(doc, &mut Vec::new(), &mut found);
    let mut diags = Vec::new();
    let mut fields = Vec::new();
    for (path, node) in found {
        let field = field_path(&path);
        let width = node.end.index.saturating_sub(node.start.index).max(1);
        let what = match &node.value {
            YamlValue::Float(f) if f.is_nan() => "not-a-number (`.nan`)",
            _ => "infinity (`.inf`)",
        };
        diags.push(
            ft.error(
                node.start,
                width,
                field.clone(),
                format!("this YAML value is the number {what}, which is neither text nor a usable number"),
            )
            .with_hint("quote it if you mean the text, e.g. `'.inf'`; otherwise write a finite number"),
        );
        fields.push(field);
    }
    (diags, fields)
}

/// Whether a value already passed the schema's shape rules (so only then we judge it).
fn valid_shape(value: &str, what: &str) -> bool {
    let ok_chars = |extra: &str| {
        value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
    };
    match what {
        "timezone" => !value.is_empty() && value.chars().count() <= 40 && ok_chars("_+-/"),
        "country" => {
            (2..=3).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphabetic())
        }
        "fromEnv" => {
            !value.is_empty() && !value.starts_with(|c: char| c.is_ascii_digit()) && ok_chars("_")
        }
        _ => true,
    }
}

/// A time zone that is not in the IANA database, with the nearest name as a hint.
fn timezone(tz: &str, at: impl FnOnce() -> Diagnostic) -> Option<Diagnostic> {
    if !valid_shape(tz, "timezone") || jiff::tz::TimeZone::get(tz).is_ok() {
        return None;
    }
    let mut d = at();
    d.message = format!("`{tz}` is not a known IANA time zone").into();
    let names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_string())
        .collect();
    Some(match did_you_mean(tz, names.iter().map(String::as_str)) {
        Some(best) => d.with_hint(format!("did you mean `{best}`?")),
        None => {
            d.with_hint("use a name such as Europe/London, America/New_York or Australia/Sydney")
        }
    })
}

/// An error for a well-formed country code that is not an ISO 3166 code.
fn country(cc: &str, make: impl FnOnce() -> Diagnostic) -> Option<Diagnostic> {
    if !valid_shape(cc, "country") {
        return None; // the schema's pattern reported it
    }
    let known = match cc.len() {
        2 => celes::Country::from_alpha2(cc).is_ok(),
        _ => celes::Country::from_alpha3(cc).is_ok(),
    };
    if known {
        return None;
    }
    let mut d = make();
    d.message = format!("`{cc}` is not an ISO 3166 country code").into();
    let hint = if cc.eq_ignore_ascii_case("uk") {
        "the ISO 3166 code for the United Kingdom is GB".to_string()
    } else {
        "use an ISO 3166 code such as GB, US or AU".to_string()
    };
    Some(d.with_hint(hint))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::yaml;

    fn run(text: &str, env: &(dyn Fn(&str) -> bool + Sync)) -> Vec<Diagnostic> {
        // The administrator rule is tested on its own below; it would add to every count.
        all(text, env)
            .into_iter()
            .filter(|d| d.message != ADMIN_RULE)
            .collect()
    }

    fn all(text: &str, env: &(dyn Fn(&str) -> bool + Sync)) -> Vec<Diagnostic> {
        let doc = yaml::parse(text).documents.remove(0);
        let ft = FileText::new("f.yaml", text);
        semantic_diagnostics(&doc, &doc.to_json(), &ft, env)
    }

    #[test]
    fn the_admin_rule_applies_to_every_present_customer() {
        let admin = |text: &str| {
            all(text, &|_| true)
                .into_iter()
                .filter(|d| d.message == ADMIN_RULE)
                .collect::<Vec<_>>()
        };
        // A customer with no `users:` at all is warned, at its document, naming `users`.
        let d = admin("reference: A-1\nname: A\n");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].severity, Severity::Warning);
        assert_eq!(d[0].field, "users");
        // Users but no administrator (the admin is being removed): warned.
        let d = admin(
            "reference: A-1\nusers:\n  - {email: a@x.example, roles: [customer.user]}\n  - {email: b@x.example, ensure: absent, roles: [customer.user, admin.user]}\n",
        );
        assert_eq!(d.len(), 1, "{d:?}");
        // An administrator: nothing; a customer being deleted: nothing.
        assert!(
            admin("reference: A-1\nusers:\n  - {email: a@x.example, roles: [customer.user, admin.user]}\n")
                .is_empty()
        );
        assert!(admin("reference: A-1\nensure: absent\n").is_empty());
    }

    #[test]
    fn real_zones_and_countries_pass() {
        let d = run(
            "timezone: Europe/London\ncountryCode: gb\npbxConnectionProfiles:\n  - {name: a, countryCode: AUS}\n",
            &|_| true,
        );
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn unknown_zone_with_a_hint() {
        let d = run("timezone: Europe/Londn\n", &|_| true);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].source.line, d[0].source.column), (1, 11));
        assert_eq!(d[0].hint.as_deref(), Some("did you mean `Europe/London`?"));
    }

    #[test]
    fn uk_is_not_iso() {
        let d = run("countryCode: UK\n", &|_| true);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "countryCode");
        assert!(d[0].hint.as_deref().unwrap().contains("GB"));
    }

    #[test]
    fn duplicate_profile_names() {
        let d = run(
            "pbxConnectionProfiles:\n  - name: main\n  - name: main\n",
            &|_| true,
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].source.line, 3);
        assert_eq!(d[0].field, "pbxConnectionProfiles[1].name");
        assert!(d[0].message.contains("first at line 2"));
    }

    #[test]
    fn missing_env_is_a_warning_naming_the_variable() {
        let text = "pbxConnectionProfiles:\n  - name: k\n    apiKey: {fromEnv: ACME_KEY}\n";
        let d = run(text, &|v| v != "ACME_KEY");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].severity, Severity::Warning);
        assert_eq!(d[0].field, "pbxConnectionProfiles[0].apiKey");
        assert!(d[0].message.contains("ACME_KEY"));
        assert!(run(text, &|_| true).is_empty());
        let absent = format!("ensure: absent\n{text}");
        assert!(run(&absent, &|_| false).is_empty());
    }
}
