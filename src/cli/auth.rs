//! `dimctl auth login` and `dimctl auth refresh`. Login is the OAuth authorization-code
//! flow for a person, with PKCE (S256).
//! Prints the authorize URL, waits for the browser's redirect on a loopback address,
//! checks `state` (from the operating system's cryptographic generator, compared in
//! constant time), exchanges the code and the PKCE verifier at the token endpoint and
//! writes the refresh token to a 0600 file. A redirect whose state is missing or wrong
//! ends the login with an error, on the browser page and in the terminal. The token
//! itself is never printed. Refresh exchanges the stored refresh token once (the same
//! code every command uses, [`auth::refresh_once`]) and prints only non-secret facts.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::Digest as _;
use tokio::sync::mpsc;

use crate::api::auth::{self, DEFAULT_TOKEN_URL};

use super::{CliError, CliResult, exit};

/// The vendor's authorize endpoint.
pub const DEFAULT_AUTHORIZE_URL: &str = "https://login.xarios.cloud/connect/authorize";
/// The scopes the onboarding API needs.
pub const DEFAULT_SCOPE: &str = "openid offline_access onboarding";

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Sign in through a browser (OAuth authorization code with PKCE S256 and a random
    /// state) and store the refresh token in a file readable only by you; then use it
    /// with DIMCTL_REFRESH_TOKEN or --refresh-token-file. The client secret is read from
    /// DIMCTL_CLIENT_SECRET. A redirect with a missing or wrong state ends the login with
    /// exit 1.
    Login(LoginArgs),
    /// Exchange the refresh token at the token endpoint once, and save a rotated refresh
    /// token (to --refresh-token-file, checked before the endpoint is asked). Needs
    /// DIMCTL_CLIENT_ID, DIMCTL_CLIENT_SECRET, and DIMCTL_REFRESH_TOKEN or a
    /// --refresh-token-file holding it. Prints only non-secret facts: how long the access
    /// token is valid and whether the refresh token was rotated and where it was saved.
    /// Exit 0 refreshed, 1 any error.
    Refresh(RefreshArgs),
}

#[derive(Debug, clap::Args)]
pub struct RefreshArgs {
    /// The token endpoint.
    #[arg(long, env = "DIMCTL_TOKEN_URL", value_name = "URL", default_value = DEFAULT_TOKEN_URL)]
    pub token_url: String,
    /// The file holding the refresh token (read when DIMCTL_REFRESH_TOKEN is unset) and
    /// where a rotated one is written, mode 0600, atomically. It must be a regular file or
    /// missing (a symbolic link is written through) and not open to group or others
    /// (`chmod 600 FILE`).
    #[arg(long, env = "DIMCTL_REFRESH_TOKEN_FILE", value_name = "FILE")]
    pub refresh_token_file: Option<PathBuf>,
    /// Seconds the token request may take: 1 to 3600.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
}

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The OAuth client id from the reseller portal.
    #[arg(long, env = "DIMCTL_CLIENT_ID", value_name = "ID")]
    pub client_id: String,
    /// The authorize endpoint.
    #[arg(long, value_name = "URL", default_value = DEFAULT_AUTHORIZE_URL)]
    pub authorize_url: String,
    /// The token endpoint.
    #[arg(long, env = "DIMCTL_TOKEN_URL", value_name = "URL", default_value = DEFAULT_TOKEN_URL)]
    pub token_url: String,
    /// Where to wait for the browser's redirect (the vendor's documented redirect; port 0
    /// picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// The redirect URI registered for the client (default http://ADDR of --listen).
    #[arg(long, value_name = "URL")]
    pub redirect_uri: Option<String>,
    /// The scopes to ask for, separated by spaces.
    #[arg(long, value_name = "SCOPES", default_value = DEFAULT_SCOPE)]
    pub scope: String,
    /// Where to write the refresh token, mode 0600 (default
    /// $XDG_CONFIG_HOME/dimctl/refresh-token or ~/.config/dimctl/refresh-token). Checked
    /// before the browser is involved: it must be a regular file or missing (a symbolic
    /// link is written through) and not open to group or others (`chmod 600 FILE`).
    #[arg(long, env = "DIMCTL_REFRESH_TOKEN_FILE", value_name = "FILE")]
    pub refresh_token_file: Option<PathBuf>,
    /// Seconds to wait for the browser before giving up: 1 to 3600.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub wait: u64,
}

pub async fn run(cmd: Command) -> CliResult {
    match cmd {
        Command::Login(a) => login(a).await,
        Command::Refresh(a) => refresh(a).await,
    }
}

/// The default refresh-token file.
pub fn default_token_file() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|h| h.join(".config")))?;
    Some(config.join("dimctl").join("refresh-token"))
}

/// The redirect's query: `code` and `state`, or `error`.
type Redirect = HashMap<String, String>;

/// `n` bytes from the operating system's cryptographic generator, base64url (no padding).
fn random_token(n: usize) -> Result<String, CliError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| {
        CliError::failure(format!("cannot read the system's random generator: {e}"))
    })?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

/// Equal strings, compared in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// What the browser's redirect says, once its state is checked.
#[derive(Debug)]
enum Verdict {
    /// The state matches and a code came: exchange it.
    Code(String),
    /// The state matches and the server refused the sign-in.
    Refused(String),
    /// The state is missing or wrong: a stale or forged redirect.
    Forged,
}

#[derive(Clone)]
struct Callback {
    tx: mpsc::Sender<Verdict>,
    state: std::sync::Arc<String>,
}

const FORGED: &str = "the redirect's state is missing or does not match this login (a stale or forged redirect); nothing was saved: run dimctl auth login again";

async fn callback(
    State(cb): State<Callback>,
    Query(q): Query<Redirect>,
) -> (StatusCode, Html<&'static str>) {
    if !q.contains_key("code") && !q.contains_key("error") {
        return (
            StatusCode::OK,
            Html("<p>dimctl: waiting for the sign-in redirect.</p>"),
        );
    }
    let state_ok = q.get("state").is_some_and(|s| same(s, &cb.state));
    let (verdict, page) = match (state_ok, q.get("error"), q.get("code")) {
        (false, _, _) => (
            Verdict::Forged,
            (
                StatusCode::BAD_REQUEST,
                Html(
                    "<p>dimctl: sign-in <b>rejected</b>: this redirect's state is missing or does not match the login in progress (a stale or forged redirect). Nothing was saved; run <code>dimctl auth login</code> again.</p>",
                ),
            ),
        ),
        (true, Some(err), _) => (
            Verdict::Refused(err.clone()),
            (
                StatusCode::OK,
                Html("<p>dimctl: the sign-in was refused; see the terminal.</p>"),
            ),
        ),
        (true, None, code) => (
            Verdict::Code(code.cloned().unwrap_or_default()),
            (
                StatusCode::OK,
                Html("<p>dimctl: sign-in received. You can close this window.</p>"),
            ),
        ),
    };
    let _ = cb.tx.send(verdict).await;
    page
}

async fn login(a: LoginArgs) -> CliResult {
    let file = a
        .refresh_token_file
        .clone()
        .or_else(default_token_file)
        .ok_or_else(|| {
            CliError::usage("cannot find a home directory: pass --refresh-token-file")
        })?;
    crate::config::limits::LOGIN_WAIT
        .check(a.wait as f64, &crate::config::Origin::Flag)
        .map_err(|e| CliError::failure(e.to_string()))?;
    // The token must be keepable before anyone signs in.
    auth::check_token_file(&file)?;
    let secret = super::target::secret_env("DIMCTL_CLIENT_SECRET")?
        .inspect(|s| crate::redact::register(s))
        .map(SecretString::from);
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .map_err(|e| CliError::failure(format!("cannot listen on {}: {e}", a.listen)))?;
    let bound = listener.local_addr()?;
    let redirect_uri = a
        .redirect_uri
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    let state = random_token(32)?;
    let verifier = random_token(32)?;
    let challenge = pkce_challenge(&verifier);
    let url = reqwest::Url::parse_with_params(
        &a.authorize_url,
        &[
            ("client_id", a.client_id.as_str()),
            ("response_type", "code"),
            ("state", state.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("redirect_uri", redirect_uri.as_str()),
            ("scope", a.scope.as_str()),
        ],
    )
    .map_err(|e| CliError::usage(format!("--authorize-url: {e}")))?;
    crate::errln!("Open this URL in a browser and sign in:\n\n  {url}\n");
    crate::errln!("Waiting for the redirect to {redirect_uri} ...");

    let (tx, mut rx) = mpsc::channel::<Verdict>(4);
    let app = axum::Router::new().fallback(callback).with_state(Callback {
        tx,
        state: std::sync::Arc::new(state),
    });
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let received = tokio::time::timeout(Duration::from_secs(a.wait), rx.recv()).await;
    server.abort();
    let code = match received {
        Ok(Some(Verdict::Code(code))) => code,
        Ok(Some(Verdict::Refused(err))) => {
            return Err(CliError::failure(format!(
                "sign-in refused: {}",
                err.chars().take(200).collect::<String>()
            )));
        }
        Ok(Some(Verdict::Forged)) => return Err(CliError::failure(FORGED)),
        Ok(None) => return Err(CliError::failure("the redirect listener stopped")),
        Err(_) => {
            return Err(CliError::failure(format!(
                "no sign-in redirect within {} seconds",
                a.wait
            )));
        }
    };
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("client_id", a.client_id.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    if let Some(s) = &secret {
        form.push(("client_secret", s.expose_secret()));
    }
    let client = crate::api::http::client(Duration::from_secs(30))?;
    let answer = auth::exchange(&client, &a.token_url, &form).await?;
    let Some(refresh) = answer.refresh_token else {
        return Err(CliError::failure(
            "the token endpoint returned no refresh token (is the offline_access scope allowed for this client?)",
        ));
    };
    auth::save_refresh_token(&file, &refresh)?;
    super::write_stdout(format!("refresh token saved to {}\n", file.display()).as_bytes())?;
    crate::errln!(
        "Use it with: DIMCTL_REFRESH_TOKEN=\"$(cat {})\" (plus DIMCTL_CLIENT_ID and DIMCTL_CLIENT_SECRET), or pass --refresh-token-file {} so rotations are kept",
        file.display(),
        file.display()
    );
    Ok(exit::OK)
}

/// The refresh flow's inputs from the environment and the flags; an error names every
/// variable still to set.
fn refresh_config(a: &RefreshArgs) -> Result<auth::RefreshConfig, CliError> {
    super::target::register_credential_env();
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let refresh = super::target::secret_env("DIMCTL_REFRESH_TOKEN")?;
    let token = match (refresh, &a.refresh_token_file) {
        (Some(t), _) => Some(SecretString::from(t)),
        (None, Some(file)) => super::target::token_file(file)?,
        (None, None) => None,
    };
    if let Some(t) = &token {
        crate::redact::register(t.expose_secret());
    }
    let (id, secret) = (
        env("DIMCTL_CLIENT_ID"),
        super::target::secret_env("DIMCTL_CLIENT_SECRET")?,
    );
    let mut missing = Vec::new();
    if id.is_none() {
        missing.push("DIMCTL_CLIENT_ID".to_string());
    }
    if secret.is_none() {
        missing.push("DIMCTL_CLIENT_SECRET".to_string());
    }
    if token.is_none() {
        missing.push(match &a.refresh_token_file {
            Some(f) => format!(
                "DIMCTL_REFRESH_TOKEN (or a refresh token in {}, which is missing or empty: run `dimctl auth login`)",
                f.display()
            ),
            None => "DIMCTL_REFRESH_TOKEN (or pass --refresh-token-file FILE written by `dimctl auth login`)".to_string(),
        });
    }
    match (id, secret, token) {
        (Some(client_id), Some(secret), Some(refresh_token)) => Ok(auth::RefreshConfig {
            client_id,
            client_secret: SecretString::from(secret),
            refresh_token,
            token_url: a.token_url.clone(),
            refresh_token_file: a.refresh_token_file.clone(),
        }),
        _ => Err(CliError::usage(format!(
            "auth refresh needs a refresh token and the client's credentials: set {}; nothing was asked of the token endpoint",
            missing.join(", ")
        ))),
    }
}

async fn refresh(a: RefreshArgs) -> CliResult {
    crate::config::limits::TIMEOUT
        .check(a.timeout as f64, &crate::config::Origin::Flag)
        .map_err(|e| CliError::failure(e.to_string()))?;
    let cfg = refresh_config(&a)?;
    let client = crate::api::http::client(Duration::from_secs(a.timeout))?;
    let done = auth::refresh_once(&client, &cfg, &cfg.refresh_token).await?;
    let valid = match done.expires_in {
        Some(s) => format!("access token valid for {s} s"),
        None => "the token endpoint did not say how long the access token is valid".into(),
    };
    let rotation = match (&done.rotated, &done.saved_to) {
        (None, _) => "refresh token unchanged".to_string(),
        (Some(_), Some(file)) => format!("refresh token rotated and saved to {}", file.display()),
        (Some(_), None) => "refresh token rotated but NOT saved (pass --refresh-token-file FILE to keep it; the old one may stop working)".to_string(),
    };
    super::write_stdout(format!("token refreshed; {valid}; {rotation}\n").as_bytes())?;
    Ok(exit::OK)
}
