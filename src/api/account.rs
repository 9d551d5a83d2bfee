//! Which reseller account a run talks to, so a saved plan can be bound to it: the
//! `parentTenantId` the live customers carry (every customer of a reseller carries the
//! reseller's tenant id), or, in an account with no customers yet, what the bearer token
//! says (a JWT's tenant claim, read without verifying it: it only names, never
//! authorises). Resellers of one region share one URL, so the URL alone does not say.
//!
//! This module reads tokens but never logs or returns one: only the claim's value.

use base64::Engine;
use serde_json::Value;

use crate::model::LiveCustomer;

/// JWT claims that name the tenant, in the order they are trusted.
const TENANT_CLAIMS: &[&str] = &[
    "parentTenantId",
    "tenantId",
    "tenant_id",
    "tid",
    "account",
    "sub",
];

/// The reseller tenant the live customers belong to: their `parentTenantId`s, sorted and
/// joined with `,` when (unexpectedly) several; `None` with no customer carrying one.
pub fn from_customers(live: &[LiveCustomer]) -> Option<String> {
    let mut ids: Vec<&str> = live
        .iter()
        .filter_map(|c| c.get_str("parentTenantId"))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    (!ids.is_empty()).then(|| ids.join(","))
}

/// The tenant a JWT names (see [`TENANT_CLAIMS`]); `None` for an opaque token.
pub fn from_token(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    TENANT_CLAIMS.iter().find_map(|k| match claims.get(*k)? {
        Value::String(s) if !s.trim().is_empty() => Some(crate::redact::untrusted(s.trim())),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(claims: Value) -> String {
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            b.encode(br#"{"alg":"RS256"}"#),
            b.encode(claims.to_string())
        )
    }

    #[test]
    fn the_tenant_claim_of_a_jwt() {
        assert_eq!(
            from_token(&jwt(json!({"sub": "u-1", "tenantId": "T-9"}))).as_deref(),
            Some("T-9")
        );
        assert_eq!(
            from_token(&jwt(json!({"sub": "u-1"}))).as_deref(),
            Some("u-1")
        );
        assert_eq!(from_token("opaque-token"), None);
        assert_eq!(from_token("a.!!!.c"), None);
    }

    #[test]
    fn the_parent_tenant_of_live_customers() {
        let c =
            |p: Value| LiveCustomer::from_json(json!({"id": "1", "parentTenantId": p})).unwrap();
        assert_eq!(from_customers(&[]), None);
        assert_eq!(
            from_customers(&[c(json!("R-1")), c(json!("R-1"))]).as_deref(),
            Some("R-1")
        );
        assert_eq!(
            from_customers(&[c(json!("R-2")), c(json!("R-1"))]).as_deref(),
            Some("R-1,R-2")
        );
    }
}
