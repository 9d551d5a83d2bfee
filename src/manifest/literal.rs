//! Literal secrets in a manifest: a value written under a key that is, or looks like, a
//! secret key (`apiKey`, `password`, `clientSecret`, also misspelt as `apikey`,
//! `Password`, `client_secret`, `apiKye`), whether on the key's line, on the next line or
//! in a block scalar. Each such value is registered with [`crate::redact`] as soon as the
//! document is read, so no diagnostic, log or output can echo it; a misspelt key is an
//! error of its own telling the user to write `{fromEnv: VAR}` under the right name.
//!
//! This module never returns or formats a value: only paths and key names.

use serde_json::Value;

use super::check::Seg;
use crate::model::catalogue::PBX_SENSITIVE_KEYS;

/// Other spellings that name a secret whatever the field (registered, never accepted).
const SECRET_WORDS: &[&str] = &["secret", "token", "passwd", "pwd", "apisecret", "apitoken"];

fn normalise(key: &str) -> String {
    key.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The sensitive keys, normalised once.
fn canonical_keys() -> &'static [(String, &'static str)] {
    static KEYS: std::sync::OnceLock<Vec<(String, &'static str)>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        PBX_SENSITIVE_KEYS
            .iter()
            .map(|k| (normalise(k), *k))
            .collect()
    })
}

/// The sensitive key `key` is a spelling of (itself included), if any. Runs on every key
/// of every manifest, so each distinct key is judged once per thread ([`judged`]).
pub fn secret_key_like(key: &str) -> Option<&'static str> {
    judged(key).like
}

/// What [`judged`] remembers of one key.
#[derive(Debug, Clone, Copy)]
struct Judgement {
    /// The sensitive key it is a spelling of.
    like: Option<&'static str>,
    /// Whether a value under it is registered as a literal secret.
    looks_secret: bool,
}

/// The most keys [`judged`] remembers per thread: manifests repeat a few dozen keys, and
/// a file of made-up keys must not grow memory without bound.
const JUDGED_MAX: usize = 4096;

/// Judge `key` (an edit distance against every sensitive key, the costly part of reading
/// a document), remembering the answer for the keys seen before on this thread.
fn judged(key: &str) -> Judgement {
    thread_local! {
        static SEEN: std::cell::RefCell<std::collections::HashMap<String, Judgement>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    SEEN.with(|seen| {
        if let Some(j) = seen.borrow().get(key) {
            return *j;
        }
        let j = judge(key);
        let mut seen = seen.borrow_mut();
        if seen.len() < JUDGED_MAX {
            seen.insert(key.to_string(), j);
        }
        j
    })
}

/// [`judged`] without the memory: the edit distance is computed only where it can be 2
/// or less (it is at least the difference in length).
fn judge(key: &str) -> Judgement {
    let n = normalise(key);
    let like = canonical_keys()
        .iter()
        .find(|(canon, _)| {
            n == *canon
                || (n.len() >= 5
                    && n.len().abs_diff(canon.len()) <= 2
                    && strsim::damerau_levenshtein(&n, canon) <= 2)
        })
        .map(|(_, k)| *k);
    Judgement {
        like,
        looks_secret: like.is_some() || SECRET_WORDS.contains(&n.as_str()),
    }
}

fn looks_secret(key: &str) -> bool {
    judged(key).looks_secret
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Register with the redactor every scalar value under a key that looks like a secret,
/// anywhere in the document.
pub fn register_literals(json: &Value) {
    match json {
        Value::Object(m) => {
            for (k, v) in m {
                if looks_secret(k)
                    && let Some(text) = scalar_text(v)
                {
                    crate::redact::register(&text);
                }
                register_literals(v);
            }
        }
        Value::Array(a) => a.iter().for_each(register_literals),
        _ => {}
    }
}

/// Keys of PBX profiles that misspell a secret key (`apikey` for `apiKey`): the path of
/// each, its key as written and the key meant. Exact keys are the schema's business.
pub fn misspelt_secret_keys(json: &Value) -> Vec<(Vec<Seg>, String, &'static str)> {
    let mut out = Vec::new();
    let Some(Value::Array(profiles)) = json.get("pbxConnectionProfiles") else {
        return out;
    };
    for (i, p) in profiles.iter().enumerate() {
        let Some(m) = p.as_object() else { continue };
        for k in m.keys() {
            if let Some(canon) = secret_key_like(k)
                && k != canon
            {
                out.push((
                    vec![
                        Seg::Key("pbxConnectionProfiles".into()),
                        Seg::Index(i),
                        Seg::Key(k.clone()),
                    ],
                    k.clone(),
                    canon,
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn misspellings_of_secret_keys_are_found() {
        for k in [
            "apikey",
            "APIKEY",
            "api_key",
            "apiKye",
            "Password",
            "client_secret",
        ] {
            assert!(secret_key_like(k).is_some(), "{k}");
        }
        for k in ["name", "hostRest", "accountId", "username", "enabled"] {
            assert_eq!(secret_key_like(k), None, "{k}");
        }
        // Asked again (remembered now), the answers are the same.
        for k in [
            "apikey",
            "apiKye",
            "client_secret",
            "name",
            "enabled",
            "token",
        ] {
            assert_eq!(secret_key_like(k), judge(k).like, "{k}");
            assert_eq!(looks_secret(k), judge(k).looks_secret, "{k}");
        }
        assert!(looks_secret("token") && looks_secret("pwd") && !looks_secret("name"));
        let doc = json!({"pbxConnectionProfiles": [{"name": "p", "apikey": "x", "apiKey": {"fromEnv": "K"}}]});
        let found = misspelt_secret_keys(&doc);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1, "apikey");
        assert_eq!(found[0].2, "apiKey");
    }

    #[test]
    fn literal_values_under_secret_like_keys_are_registered() {
        register_literals(
            &json!({"pbxConnectionProfiles": [{"Password": "lit-SECRET-block\nline-two-SECRET\n"}]}),
        );
        assert_eq!(crate::redact::mask("a lit-SECRET-block b"), "a *** b");
        assert_eq!(crate::redact::mask("line-two-SECRET"), "***");
    }
}
