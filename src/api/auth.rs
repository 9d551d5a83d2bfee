//! Bearer tokens: a static `DIMCTL_TOKEN`, or the OAuth refresh flow (client id and
//! secret plus a refresh token, exchanged at the token URL). The access token is renewed
//! before it expires and once more when the API answers 401; a rotated refresh token is
//! written (mode 0600, atomically, beside the old one) where the user asked before it is
//! used, that file being checked writable before the refresh is asked for, and its
//! rotation is logged without the value. Every token and secret lives in a [`SecretString`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::ApiError;

/// The vendor's token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://login.xarios.cloud/connect/token";
/// Renew an access token this long before it expires.
const EARLY: Duration = Duration::from_secs(60);

/// What the client authenticates with.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// No token: the API will answer 401.
    None,
    /// A bearer token used as is (`DIMCTL_TOKEN`).
    Static(SecretString),
    /// The OAuth refresh flow.
    Refresh(RefreshConfig),
}

/// The refresh flow's inputs.
#[derive(Debug, Clone)]
pub struct RefreshConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    pub refresh_token: SecretString,
    pub token_url: String,
    /// Where a rotated refresh token is written (mode 0600).
    pub refresh_token_file: Option<PathBuf>,
}

/// A token endpoint's answer.
#[derive(Debug)]
pub struct TokenResponse {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct RawToken {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// The path part of a URL, for messages (never its query).
fn url_path(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!("{}{}", u.host_str().unwrap_or(""), u.path()),
        Err(_) => "token endpoint".into(),
    }
}

/// POST a form to a token endpoint (`grant_type=...`) and read the tokens. `client` is
/// [`super::transport::client`]: it follows no redirect and times out. The tokens received are
/// registered with [`crate::redact`] before anything else sees them.
pub async fn exchange(
    client: &reqwest::Client,
    token_url: &str,
    form: &[(&str, &str)],
) -> Result<TokenResponse, ApiError> {
    let path = url_path(token_url);
    let fail = |reason: String| ApiError::Transport {
        method: "POST".into(),
        path: path.clone(),
        reason,
    };
    let started = Instant::now();
    let resp = client
        .post(token_url)
        .form(form)
        .send()
        .await
        .map_err(|e| fail(super::transport::describe(&e)))?;
    let status = resp.status().as_u16();
    tracing::debug!(method = "POST", path = %path, status, latency_ms = started.elapsed().as_millis() as u64, "token request");
    if (300..400).contains(&status) {
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        return Err(super::transport::redirected(
            "POST",
            &path,
            status,
            location.as_deref(),
        ));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| fail(super::transport::describe(&e)))?;
    if !(200..300).contains(&status) {
        let code = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .map(|code| crate::redact::untrusted(&code))
            .unwrap_or_else(|| format!("status {status}"));
        return Err(ApiError::Unauthorized {
            method: "POST".into(),
            path,
            message: format!("the token endpoint refused the request ({code})"),
        });
    }
    let raw: RawToken = serde_json::from_slice(&body).map_err(|_| ApiError::Decode {
        method: "POST".into(),
        path: path.clone(),
        status,
        reason: "the token endpoint's answer has no access_token".into(),
    })?;
    if std::iter::once(&raw.access_token)
        .chain(&raw.refresh_token)
        .any(|t| crate::redact::too_short(t))
    {
        return Err(ApiError::Decode {
            method: "POST".into(),
            path,
            status,
            reason: format!(
                "the token endpoint's answer holds a token of fewer than {} characters, which cannot be kept out of output safely",
                crate::redact::MIN_LEN
            ),
        });
    }
    crate::redact::register(&raw.access_token);
    if let Some(r) = &raw.refresh_token {
        crate::redact::register(r);
    }
    Ok(TokenResponse {
        access_token: SecretString::from(raw.access_token),
        refresh_token: raw
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(SecretString::from),
        expires_in: raw.expires_in,
    })
}

/// Write a refresh token to `path`, mode 0600, atomically (a temporary file beside it,
/// renamed over it; a symbolic link is written through). An existing file open to group
/// or others, or a target that is not a regular file, is refused.
pub fn save_refresh_token(path: &Path, token: &SecretString) -> Result<(), ApiError> {
    let fail = |e: std::io::Error| {
        ApiError::Config(format!(
            "cannot write the refresh token file {}: {e}",
            path.display()
        ))
    };
    crate::fsutil::check_private(path).map_err(fail)?;
    crate::fsutil::write_atomic(path, token.expose_secret().as_bytes(), Some(0o600)).map_err(fail)
}

/// Check, before a token is asked for, that a refresh token can be saved at `path`: a
/// regular file (or none yet) not open to group or others, in a directory that takes a
/// new file. Nothing is changed.
pub fn check_token_file(path: &Path) -> Result<(), ApiError> {
    crate::fsutil::check_private(path)
        .and_then(|()| crate::fsutil::probe_writable(path))
        .map_err(|e| {
            ApiError::Config(format!(
                "the refresh token file {} cannot take a new token: {e}; nothing was asked of the token endpoint",
                path.display()
            ))
        })
}

/// Read a refresh token file: `None` when it does not exist; an error when it is not a
/// regular file or is open to group or others.
pub fn read_token_file(path: &Path) -> Result<Option<SecretString>, ApiError> {
    let fail = |e: std::io::Error| {
        ApiError::Config(format!(
            "cannot read the refresh token file {}: {e}",
            path.display()
        ))
    };
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(e)),
        Ok(_) => {}
    }
    crate::fsutil::check_target(path).map_err(fail)?;
    crate::fsutil::check_private(path).map_err(fail)?;
    let text = std::fs::read_to_string(path).map_err(fail)?;
    let token = text.trim();
    Ok((!token.is_empty()).then(|| SecretString::from(token.to_string())))
}

/// What one exchange of a refresh token gave.
#[derive(Debug)]
pub struct Refreshed {
    pub access_token: SecretString,
    /// Seconds the access token is valid for, when the endpoint said.
    pub expires_in: Option<u64>,
    /// The new refresh token, when the endpoint rotated it (already saved, if a file was
    /// given).
    pub rotated: Option<SecretString>,
    /// Where the rotated refresh token was saved.
    pub saved_to: Option<PathBuf>,
}

/// Exchange `refresh` for an access token at `cfg.token_url`. The refresh token file, if
/// any, is checked writable before the endpoint is asked (the server may rotate the
/// refresh token and invalidate the old one), and a rotated token is saved there before
/// this returns, so before it is used. The values are never logged.
pub async fn refresh_once(
    client: &reqwest::Client,
    cfg: &RefreshConfig,
    refresh: &SecretString,
) -> Result<Refreshed, ApiError> {
    if let Some(path) = &cfg.refresh_token_file {
        check_token_file(path)?;
    }
    let answer = exchange(
        client,
        &cfg.token_url,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose_secret()),
            ("client_id", &cfg.client_id),
            ("client_secret", cfg.client_secret.expose_secret()),
        ],
    )
    .await?;
    tracing::info!("access token refreshed");
    let mut out = Refreshed {
        access_token: answer.access_token,
        expires_in: answer.expires_in,
        rotated: None,
        saved_to: None,
    };
    if let Some(new) = answer.refresh_token
        && new.expose_secret() != refresh.expose_secret()
    {
        match &cfg.refresh_token_file {
            Some(path) => {
                save_refresh_token(path, &new).map_err(|e| {
                    ApiError::Config(format!(
                        "{e}; the token endpoint rotated the refresh token and the old one may no longer work: run `dimctl auth login` again"
                    ))
                })?;
                tracing::info!("refresh token rotated; saved to {}", path.display());
                out.saved_to = Some(path.clone());
            }
            None => tracing::warn!(
                "refresh token rotated; pass --refresh-token-file to keep the new one (the old one may stop working)"
            ),
        }
        out.rotated = Some(new);
    }
    Ok(out)
}

#[derive(Debug, Default)]
struct Cached {
    access: Option<(SecretString, Option<Instant>)>,
    refresh: Option<SecretString>,
}

/// Hands out a valid bearer token, refreshing when needed. Shared by all tasks.
#[derive(Debug)]
pub struct TokenSource {
    creds: Credentials,
    client: reqwest::Client,
    cache: Mutex<Cached>,
}

impl TokenSource {
    pub fn new(creds: Credentials, client: reqwest::Client) -> TokenSource {
        let refresh = match &creds {
            Credentials::Refresh(r) => Some(r.refresh_token.clone()),
            _ => None,
        };
        TokenSource {
            creds,
            client,
            cache: Mutex::new(Cached {
                access: None,
                refresh,
            }),
        }
    }

    /// Whether a 401 can be answered by refreshing.
    pub fn can_refresh(&self) -> bool {
        matches!(self.creds, Credentials::Refresh(_))
    }

    /// The token to send, if any.
    pub async fn bearer(&self) -> Result<Option<SecretString>, ApiError> {
        let cfg = match &self.creds {
            Credentials::None => return Ok(None),
            Credentials::Static(t) => return Ok(Some(t.clone())),
            Credentials::Refresh(cfg) => cfg,
        };
        let mut cache = self.cache.lock().await;
        if let Some((token, expiry)) = &cache.access
            && expiry.is_none_or(|e| Instant::now() + EARLY < e)
        {
            return Ok(Some(token.clone()));
        }
        let refresh = cache
            .refresh
            .clone()
            .unwrap_or_else(|| cfg.refresh_token.clone());
        let answer = refresh_once(&self.client, cfg, &refresh).await?;
        if let Some(new) = answer.rotated {
            cache.refresh = Some(new);
        }
        let expiry = answer
            .expires_in
            .map(|s| Instant::now() + Duration::from_secs(s));
        cache.access = Some((answer.access_token.clone(), expiry));
        Ok(Some(answer.access_token))
    }

    /// Forget `used` (refused with 401) so the next [`Self::bearer`] refreshes; a token
    /// already replaced by another task is left alone.
    pub async fn invalidate(&self, used: &SecretString) {
        let mut cache = self.cache.lock().await;
        if cache
            .access
            .as_ref()
            .is_some_and(|(t, _)| t.expose_secret() == used.expose_secret())
        {
            cache.access = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token endpoint on 127.0.0.1 that answers every POST with `answer`.
    async fn token_endpoint(answer: serde_json::Value) -> String {
        let app = axum::Router::new().route(
            "/connect/token",
            axum::routing::post(move || {
                let answer = answer.clone();
                async move { axum::Json(answer) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/connect/token")
    }

    #[tokio::test]
    async fn a_token_too_short_to_mask_is_refused_not_used() {
        let client = reqwest::Client::new();
        for answer in [
            serde_json::json!({"access_token": "a1b", "expires_in": 60}),
            serde_json::json!({"access_token": "at-long-enough", "refresh_token": "r2"}),
        ] {
            let url = token_endpoint(answer.clone()).await;
            let err = exchange(&client, &url, &[("grant_type", "refresh_token")])
                .await
                .err()
                .unwrap_or_else(|| panic!("accepted {answer}"));
            let msg = err.to_string();
            assert!(
                msg.contains(
                    "a token of fewer than 4 characters, which cannot be kept out of output safely"
                ),
                "{msg}"
            );
            assert!(!msg.contains("a1b") && !msg.contains("\"r2\""), "{msg}");
        }
        let url = token_endpoint(serde_json::json!({"access_token": "at-long-enough"})).await;
        let ok = exchange(&client, &url, &[("grant_type", "refresh_token")]).await;
        assert!(ok.is_ok(), "{:?}", ok.err());
    }
}
