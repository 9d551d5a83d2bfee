//! The flags that say which tenant store a command talks to, shared by every command that
//! reads or writes customers. OWNER: API client work (issue 3) implements `connect`.

use std::path::PathBuf;

use crate::api::Api;

use super::CliError;

/// Where the customers live: the in-process sandbox, a URL, or a vendor region.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// Use the built-in sandbox instead of the real API, keeping its state in FILE
    /// (default `.dimctl/sandbox.json`). Needs no credentials and no network.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = ".dimctl/sandbox.json", conflicts_with_all = ["api_url", "region"])]
    pub sandbox: Option<PathBuf>,

    /// The API's versioned base URL, e.g. https://api.uk.myreports.cloud/api/v1.0
    #[arg(
        long,
        env = "DIMCTL_API_URL",
        value_name = "URL",
        conflicts_with = "region"
    )]
    pub api_url: Option<String>,

    /// A vendor region: au, eu, na or uk (https://api.REGION.myreports.cloud/api/v1.0).
    #[arg(long, value_name = "REGION", value_parser = ["au", "eu", "na", "uk"])]
    pub region: Option<String>,

    /// Send `accept-charges: true` so billable writes are actioned (never by default).
    #[arg(long)]
    pub accept_charges: bool,
}

impl TargetArgs {
    /// Open the tenant store these flags name.
    pub async fn connect(&self) -> Result<Box<dyn Api>, CliError> {
        if let Some(path) = &self.sandbox {
            let api = crate::sandbox::InProcess::open(path)?;
            return Ok(Box::new(api));
        }
        Err(CliError::usage(
            "no tenant store given: pass --sandbox [FILE] for the built-in simulator, or --api-url URL (or DIMCTL_API_URL) or --region au|eu|na|uk for the real API",
        ))
    }
}
