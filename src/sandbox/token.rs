//! Auth as the real service does it: a bearer token on every API request, and a standard
//! OAuth token endpoint (`grant_type=authorization_code|refresh_token`, form-encoded) that
//! issues access tokens and rotates refresh tokens.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::faults::Faults;

/// Access-token lifetime the token endpoint announces (`expires_in`, seconds).
pub const EXPIRES_IN: u64 = 3600;

/// Tokens the sandbox issued, and how often each token has been used.
#[derive(Debug, Default)]
pub struct Tokens {
    issued: HashSet<String>,
    uses: HashMap<String, u64>,
}

fn random_token(prefix: &str) -> String {
    let mut s = String::from(prefix);
    for _ in 0..32 {
        s.push(fastrand::alphanumeric());
    }
    s
}

fn lock(tokens: &Mutex<Tokens>) -> MutexGuard<'_, Tokens> {
    match tokens.lock() {
        Ok(t) => t,
        Err(p) => p.into_inner(),
    }
}

/// Check the bearer token of an API request against the tokens issued and the token
/// faults; the error is the 401 message.
pub fn check(
    tokens: &Mutex<Tokens>,
    faults: &Faults,
    headers: &HeaderMap,
) -> Result<(), &'static str> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or("Authorization has been denied for this request.")?;
    let mut tokens = lock(tokens);
    if let Some(only) = &faults.config.token
        && token != only
        && !tokens.issued.contains(token)
    {
        return Err("The access token is invalid.");
    }
    let uses = tokens.uses.entry(token.to_string()).or_insert(0);
    if let Some(limit) = faults.config.token_lifetime_requests
        && *uses >= limit
    {
        return Err("The access token has expired.");
    }
    *uses += 1;
    Ok(())
}

fn oauth_error(code: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": code}))).into_response()
}

/// `POST /connect/token` with its form fields.
pub fn endpoint(tokens: &Mutex<Tokens>, form: &HashMap<String, String>) -> Response {
    let field = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    if field("client_id").is_none() {
        return oauth_error("invalid_client");
    }
    let grant_ok = match field("grant_type") {
        Some("refresh_token") => field("refresh_token").is_some(),
        Some("authorization_code") => field("code").is_some(),
        _ => return oauth_error("unsupported_grant_type"),
    };
    if !grant_ok {
        return oauth_error("invalid_grant");
    }
    let access = random_token("sbx-at-");
    let refresh = random_token("sbx-rt-");
    lock(tokens).issued.insert(access.clone());
    axum::Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": EXPIRES_IN,
        "refresh_token": refresh,
        "scope": "openid offline_access onboarding",
    }))
    .into_response()
}
