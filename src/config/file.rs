//! The `dimctl.yaml` file's shape. Its JSON Schema is generated from these types
//! (`dimctl schema --config`), and the file is checked against it with the same
//! diagnostics as manifests.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::customer::ApiVersionTag;

/// The file's `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConfigKind {
    Config,
}

/// `dimctl.yaml`: the API target, manifest paths, safety and speed settings of a repo.
/// Holds no secrets: tokens come from the environment (DIMCTL_TOKEN, or DIMCTL_CLIENT_ID,
/// DIMCTL_CLIENT_SECRET and DIMCTL_REFRESH_TOKEN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigFile {
    /// Always `dimctl/v1`.
    pub api_version: ApiVersionTag,
    /// Always `Config`.
    pub kind: ConfigKind,
    /// The dimctl versions this repository works with, as a semver requirement, e.g.
    /// `">=0.2, <0.3"`. Any other dimctl refuses to run, naming both versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_version: Option<String>,
    /// Which API to talk to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetConfig>,
    /// Manifest files or directories, relative to this file. Default: this file's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Vec<String>>,
    /// Safety thresholds for plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety: Option<SafetyConfig>,
    /// Plan deletion of live customers that no manifest declares (like --prune).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    /// Creates and updates run at once during apply (like --parallelism): 1 to 256.
    /// Default 8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 256))]
    pub parallelism: Option<usize>,
    /// A ceiling on requests per second to the API (like --max-rps): 0.1 to 10000.
    /// Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.1, max = 10000.0))]
    pub max_rps: Option<f64>,
    /// A ceiling on requests in flight (like --max-in-flight): 1 to 1024. Default 16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1024))]
    pub max_in_flight: Option<usize>,
    /// Drift reports warn about trials ending within this many days: 0 to 365. Default 14.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 365))]
    pub trial_warning_days: Option<u32>,
    /// Make the administrator rule an error: every present customer must declare a user
    /// holding both `customer.user` and `admin.user`. Default false (a warning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_admin: Option<bool>,
    /// Several accounts in one repository: a map from a workspace name to its own target,
    /// manifests and credentials. A file with workspaces has no top-level `target` or
    /// `manifests`; its other top-level settings are defaults every workspace may override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspaces: Option<BTreeMap<WorkspaceName, WorkspaceConfig>>,
}

/// A workspace name: letters, digits, `-` and `_` (it appears in reports and `--workspace`).
pub type WorkspaceName = String;

/// One workspace: an account of its own, with its manifests and the variable holding its
/// bearer token. Settings left out are taken from the top level of the file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkspaceConfig {
    /// Which API and account this workspace's manifests are applied to.
    pub target: TargetConfig,
    /// Manifest files or directories, relative to this file.
    #[schemars(length(min = 1))]
    pub manifests: Vec<String>,
    /// The environment variable holding this workspace's bearer token (instead of
    /// DIMCTL_TOKEN), e.g. `DIMCTL_TOKEN_UK`. Default: the usual DIMCTL_* credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub token_env: Option<String>,
    /// Safety thresholds for this workspace (each unset key: the top level's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety: Option<SafetyConfig>,
    /// As the top-level `prune`, for this workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    /// As the top-level `parallelism`, for this workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 256))]
    pub parallelism: Option<usize>,
    /// As the top-level `maxRps`, for this workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.1, max = 10000.0))]
    pub max_rps: Option<f64>,
    /// As the top-level `maxInFlight`, for this workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1024))]
    pub max_in_flight: Option<usize>,
    /// As the top-level `trialWarningDays`, for this workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 365))]
    pub trial_warning_days: Option<u32>,
}

impl ConfigFile {
    /// The configuration one workspace runs under: its own target and manifests, its
    /// settings over the top level's, and no workspaces. None for an unknown name.
    pub fn for_workspace(&self, name: &str) -> Option<ConfigFile> {
        let ws = self.workspaces.as_ref()?.get(name)?;
        let top = self.safety.clone().unwrap_or_default();
        let own = ws.safety.clone().unwrap_or_default();
        let safety = SafetyConfig {
            max_update_share: own.max_update_share.or(top.max_update_share),
            max_delete_share: own.max_delete_share.or(top.max_delete_share),
            max_create_share: own.max_create_share.or(top.max_create_share),
            min_existing: own.min_existing.or(top.min_existing),
        };
        Some(ConfigFile {
            api_version: self.api_version,
            kind: self.kind,
            required_version: self.required_version.clone(),
            target: Some(ws.target.clone()),
            manifests: Some(ws.manifests.clone()),
            safety: Some(safety),
            prune: ws.prune.or(self.prune),
            parallelism: ws.parallelism.or(self.parallelism),
            max_rps: ws.max_rps.or(self.max_rps),
            max_in_flight: ws.max_in_flight.or(self.max_in_flight),
            trial_warning_days: ws.trial_warning_days.or(self.trial_warning_days),
            require_admin: self.require_admin,
            workspaces: None,
        })
    }

    /// The names of the declared workspaces, sorted (empty without workspaces).
    pub fn workspace_names(&self) -> Vec<String> {
        self.workspaces
            .as_ref()
            .map(|w| w.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A file with the header and nothing else.
    pub fn empty() -> Self {
        ConfigFile {
            api_version: ApiVersionTag::V1,
            kind: ConfigKind::Config,
            required_version: None,
            target: None,
            manifests: None,
            safety: None,
            prune: None,
            parallelism: None,
            max_rps: None,
            max_in_flight: None,
            trial_warning_days: None,
            require_admin: None,
            workspaces: None,
        }
    }
}

/// The API target: a vendor region or a URL, and the enterprise account prefix.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetConfig {
    /// A vendor region: au, eu, na or uk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(au|eu|na|uk)$"))]
    pub region: Option<String>,
    /// The API's versioned base URL, e.g. https://api.uk.myreports.cloud/api/v1.0
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://"))]
    pub api_url: Option<String>,
    /// The enterprise account id: requests go to {base}/accounts/{account}/customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The OAuth token endpoint for the refresh flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://"))]
    pub token_url: Option<String>,
}

/// Safety thresholds: a plan whose share of updates or deletes exceeds these (from
/// `minExisting` live customers up) is unsafe and refused without --allow-unsafe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SafetyConfig {
    /// Largest share of existing customers a plan may update (0 to 1). Default 0.3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub max_update_share: Option<f64>,
    /// Largest share of existing customers a plan may delete (0 to 1). Default 0.3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub max_delete_share: Option<f64>,
    /// Largest share of existing customers a plan may create anew (0 to 1). Default 0.3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub max_create_share: Option<f64>,
    /// The thresholds apply from this many existing customers up: 0 to 1000000.
    /// Default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 1_000_000))]
    pub min_existing: Option<usize>,
}

/// The config file's JSON Schema (draft 2020-12).
pub fn config_schema() -> serde_json::Value {
    schemars::schema_for!(ConfigFile).to_value()
}
