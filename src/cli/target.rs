//! Which tenant store a command talks to: the flags ([`TargetArgs`], only what the user
//! typed, shared by every command that reads or writes customers), the resolved
//! [`Target`] (built by [`super::settings`], never by hand) and [`Target::connect`] that
//! opens it. Must not: resolve settings or hold defaults that dimctl.yaml can override.
//!
//! Credentials come from the environment only (never flags, so they stay out of shell
//! history and `--help`): `DIMCTL_TOKEN`, or `DIMCTL_CLIENT_ID` + `DIMCTL_CLIENT_SECRET` +
//! `DIMCTL_REFRESH_TOKEN` for the OAuth refresh flow.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::api::Api;
use crate::api::auth::{Credentials, DEFAULT_TOKEN_URL, RefreshConfig};
use crate::api::http::{HttpApi, HttpConfig};

use super::CliError;

/// Where the customers live: the in-process sandbox, a URL, or a vendor region.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// Use the built-in sandbox instead of the real API, keeping its state in FILE
    /// (default `.dimctl/sandbox.json`, created with its directory when missing). Needs no
    /// credentials and no network.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = ".dimctl/sandbox.json", conflicts_with_all = ["api_url", "region"])]
    pub sandbox: Option<PathBuf>,

    /// The API's versioned base URL, e.g. https://api.uk.myreports.cloud/api/v1.0 (also
    /// `sandbox serve`'s URL). Else DIMCTL_API_URL, else `target.apiUrl` in dimctl.yaml.
    /// Credentials: DIMCTL_TOKEN, or DIMCTL_CLIENT_ID, DIMCTL_CLIENT_SECRET and
    /// DIMCTL_REFRESH_TOKEN for the OAuth refresh flow.
    #[arg(long, value_name = "URL", conflicts_with = "region")]
    pub api_url: Option<String>,

    /// A vendor region: au, eu, na or uk (https://api.REGION.myreports.cloud/api/v1.0).
    /// Else DIMCTL_REGION, else `target.region` in dimctl.yaml.
    #[arg(long, value_name = "REGION", value_parser = crate::config::REGIONS.to_vec())]
    pub region: Option<String>,

    /// Use the enterprise form of the API: requests go to {base}/accounts/ID/customers
    /// (default: the reseller form, {base}/customers). Else DIMCTL_ACCOUNT, else
    /// `target.account` in dimctl.yaml.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,

    /// Seconds one HTTP attempt may take, 1 to 3600: connect, headers and the whole body
    /// included (the token endpoint too); each operation, retries and waits included,
    /// ends within twice this. Redirects are never followed (a 3xx is an error).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,

    /// Most HTTP requests in flight at once, across all tasks: 1 to 1024. Default 16, or
    /// `maxInFlight` in dimctl.yaml.
    #[arg(long, value_name = "N")]
    pub max_in_flight: Option<u64>,

    /// A ceiling on HTTP requests per second, across all tasks: 0.1 to 10000. Default:
    /// none, or `maxRps` in dimctl.yaml.
    #[arg(long, value_name = "RPS")]
    pub max_rps: Option<f64>,

    /// Stop with an error when a customer listing passes N customers (a server that keeps
    /// returning new pages), so memory stays bounded.
    #[arg(long, value_name = "N", default_value_t = crate::api::paging::DEFAULT_MAX_CUSTOMERS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_customers: usize,

    /// The OAuth token endpoint for the refresh flow. Else DIMCTL_TOKEN_URL, else
    /// `target.tokenUrl` in dimctl.yaml, else https://login.xarios.cloud/connect/token.
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,

    /// A file holding the refresh token (read when DIMCTL_REFRESH_TOKEN is unset; written
    /// by `dimctl auth login`); a rotated refresh token is written back to it (mode 0600,
    /// atomically; a symbolic link is written through), after checking it can be, before
    /// the refresh is asked for. A file open to group or others is refused (run `chmod 600
    /// FILE`), as is anything but a regular file. Without it a rotation is only logged and
    /// the old token may stop working.
    #[arg(long, env = "DIMCTL_REFRESH_TOKEN_FILE", value_name = "FILE")]
    pub refresh_token_file: Option<PathBuf>,
}

/// The tenant store a run talks to, resolved from flags, environment and dimctl.yaml by
/// [`super::settings`].
#[derive(Debug, Clone)]
pub struct Target {
    /// The in-process sandbox's state file (the other target fields are then unused).
    pub sandbox: Option<PathBuf>,
    /// A base URL; wins over `region`.
    pub api_url: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    /// The OAuth token endpoint; None: [`DEFAULT_TOKEN_URL`].
    pub token_url: Option<String>,
    /// Seconds one HTTP attempt may take.
    pub timeout: u64,
    pub max_in_flight: usize,
    pub max_rps: Option<f64>,
    pub max_customers: usize,
    pub refresh_token_file: Option<PathBuf>,
    /// The environment variable holding the bearer token, instead of DIMCTL_TOKEN: a
    /// workspace's `tokenEnv` in dimctl.yaml (no flag).
    pub token_env: Option<String>,
}

/// Register the credential variables' values with the redactor, so they are masked in
/// everything the process writes, whichever command runs.
pub fn register_credential_env() {
    for name in [
        "DIMCTL_TOKEN",
        "DIMCTL_CLIENT_SECRET",
        "DIMCTL_REFRESH_TOKEN",
    ] {
        if let Some(v) = env_nonempty(name) {
            crate::redact::register(&v);
        }
    }
    for name in ["DIMCTL_API_URL", "DIMCTL_TOKEN_URL"] {
        if let Some(v) = env_nonempty(name) {
            crate::redact::register_url(&v);
        }
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A credential variable's value, refused when it is too short to be masked in output
/// ([`crate::redact::too_short`]); the message names the variable, never the value.
/// The refresh token saved in `file`, refused when it is too short to be masked.
pub(crate) fn token_file(file: &std::path::Path) -> Result<Option<SecretString>, CliError> {
    match crate::api::auth::read_token_file(file)? {
        Some(t) if crate::redact::too_short(t.expose_secret()) => Err(CliError::failure(
            crate::redact::TooShort(format!("the token file {}", file.display())).to_string(),
        )),
        other => Ok(other),
    }
}

pub(crate) fn secret_env(name: &str) -> Result<Option<String>, CliError> {
    match env_nonempty(name) {
        Some(v) if crate::redact::too_short(&v) => Err(CliError::failure(
            crate::redact::TooShort(format!("environment variable {name}")).to_string(),
        )),
        other => Ok(other),
    }
}

impl Target {
    /// Credentials from the environment.
    pub fn credentials(&self) -> Result<Credentials, CliError> {
        if let Some(var) = &self.token_env {
            return match secret_env(var)? {
                Some(t) => Ok(Credentials::Static(SecretString::from(t))),
                None => Err(CliError::failure(format!(
                    "{var} is not set: it holds this workspace's bearer token (`tokenEnv` in dimctl.yaml)"
                ))),
            };
        }
        if let Some(t) = secret_env("DIMCTL_TOKEN")? {
            return Ok(Credentials::Static(SecretString::from(t)));
        }
        // The refresh token: DIMCTL_REFRESH_TOKEN, else the --refresh-token-file that
        // `dimctl auth login` (or an earlier rotation) wrote.
        register_credential_env();
        let refresh = match (
            secret_env("DIMCTL_REFRESH_TOKEN")?,
            &self.refresh_token_file,
        ) {
            (Some(t), _) => Some(SecretString::from(t)),
            (None, Some(file)) => token_file(file)?,
            (None, None) => None,
        };
        if let Some(t) = &refresh {
            crate::redact::register(t.expose_secret());
        }
        let id = env_nonempty("DIMCTL_CLIENT_ID");
        let secret = secret_env("DIMCTL_CLIENT_SECRET")?;
        match (id, secret, refresh) {
            (None, None, None) => Ok(Credentials::None),
            (Some(client_id), Some(secret), Some(refresh)) => {
                Ok(Credentials::Refresh(RefreshConfig {
                    client_id,
                    client_secret: SecretString::from(secret),
                    refresh_token: refresh,
                    token_url: self
                        .token_url
                        .clone()
                        .unwrap_or_else(|| DEFAULT_TOKEN_URL.to_string()),
                    refresh_token_file: self.refresh_token_file.clone(),
                }))
            }
            _ => Err(CliError::usage(
                "the OAuth refresh flow needs all of DIMCTL_CLIENT_ID, DIMCTL_CLIENT_SECRET and DIMCTL_REFRESH_TOKEN (or a --refresh-token-file holding it), or set DIMCTL_TOKEN",
            )),
        }
    }

    /// Open the tenant store.
    pub async fn connect(&self) -> Result<Box<dyn Api>, CliError> {
        if let Some(path) = &self.sandbox {
            let api = crate::sandbox::InProcess::open(path)?;
            return Ok(Box::new(api));
        }
        let base = match (&self.api_url, &self.region) {
            (Some(url), _) => url.clone(),
            (None, Some(region)) => HttpConfig::region_url(region),
            (None, None) => {
                return Err(CliError::usage(
                    "no tenant store given: pass --sandbox [FILE] for the built-in simulator, or --api-url URL (or DIMCTL_API_URL) or --region au|eu|na|uk for the real API",
                ));
            }
        };
        let mut config = HttpConfig::new(base);
        config.account = self.account.clone();
        config.timeout = Duration::from_secs(self.timeout.max(1));
        config.max_in_flight = self.max_in_flight;
        config.max_rps = self.max_rps;
        config.max_customers = self.max_customers;
        let creds = self.credentials()?;
        if matches!(creds, Credentials::None) {
            tracing::warn!(
                "no credentials: set DIMCTL_TOKEN, or DIMCTL_CLIENT_ID, DIMCTL_CLIENT_SECRET and DIMCTL_REFRESH_TOKEN"
            );
        }
        Ok(Box::new(HttpApi::new(config, creds)?))
    }
}
