//! The desired state of one customer, as a manifest document holds it.
//!
//! Every customer field is an `Option`: `None` means *unmanaged* (omitted from the
//! manifest, left as the server has it), which is different from a field set to its
//! default. Field names are the wire spelling (camelCase) in YAML, JSON and patches.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The header every manifest document carries: `apiVersion: dimctl/v1`.
pub const API_VERSION: &str = "dimctl/v1";
/// The only kind so far: `kind: Customer`.
pub const KIND_CUSTOMER: &str = "Customer";

/// A reference to a secret held outside git: `{fromEnv: VAR}`.
///
/// The value is read from the environment variable only when a write needs it (apply);
/// plans, renderings and logs only ever see the variable's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretRef {
    /// The environment variable that holds the secret, e.g. ACME_KAZOO_API_KEY.
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub from_env: String,
}

impl SecretRef {
    /// Why `var` may not be the source of a manifest secret, if it may not: dimctl's own
    /// variables (`DIMCTL_*`, which hold the API token and the OAuth client secret and
    /// refresh token) are never sent to a PBX host.
    pub fn refused_source(var: &str) -> Option<String> {
        var.to_ascii_uppercase().starts_with("DIMCTL_").then(|| {
            format!(
                "`{var}` is one of dimctl's own variables (DIMCTL_*, which hold the API credentials) and cannot be the source of a PBX secret: put the secret in a variable of its own, e.g. ACME_KAZOO_API_KEY"
            )
        })
    }
}

/// Licensed features. Each count is managed only when set; 0 disables the feature.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Features {
    /// Controls access to the ACD Agent Add-On role. 0 is disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<u32>,
    /// Controls access to the Real-Time Client device licence (e.g. the FireTV client). 0 is disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<u32>,
}

/// A PBX connection profile; `_type` selects the kind, as on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "_type")]
pub enum PbxProfile {
    /// A Kazoo PBX reached over its REST and websocket APIs.
    KazooPbxConnectionProfile(KazooProfile),
    /// A 3CX PBX.
    ThreeCxConnectionProfile(ThreeCxProfile),
    /// Microsoft Teams.
    TeamsConnectionProfile(TeamsProfile),
}

impl PbxProfile {
    /// The profile's name, which identifies it within its customer.
    pub fn name(&self) -> &str {
        match self {
            PbxProfile::KazooPbxConnectionProfile(p) => &p.name,
            PbxProfile::ThreeCxConnectionProfile(p) => &p.name,
            PbxProfile::TeamsConnectionProfile(p) => &p.name,
        }
    }

    /// The `_type` discriminator as on the wire.
    pub fn type_name(&self) -> &'static str {
        match self {
            PbxProfile::KazooPbxConnectionProfile(_) => "KazooPbxConnectionProfile",
            PbxProfile::ThreeCxConnectionProfile(_) => "ThreeCxConnectionProfile",
            PbxProfile::TeamsConnectionProfile(_) => "TeamsConnectionProfile",
        }
    }

    /// The secret references this profile holds, with the key they belong to.
    pub fn secrets(&self) -> Vec<(&'static str, &SecretRef)> {
        match self {
            PbxProfile::KazooPbxConnectionProfile(p) => {
                p.api_key.iter().map(|s| ("apiKey", s)).collect()
            }
            PbxProfile::ThreeCxConnectionProfile(p) => {
                p.password.iter().map(|s| ("password", s)).collect()
            }
            PbxProfile::TeamsConnectionProfile(_) => Vec::new(),
        }
    }
}

/// Kazoo connection details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KazooProfile {
    /// The profile's name; identifies it within the customer.
    pub name: String,
    /// Whether the connection is started. A disabled profile does not connect or import users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The PBX's country code (ISO 3166).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// The Kazoo REST API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_rest: Option<String>,
    /// The Kazoo websocket URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_websocket: Option<String>,
    /// The Kazoo account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The Kazoo API key: a secret, written as {fromEnv: VAR}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<SecretRef>,
    /// Monitor calls on all sub accounts. Must be set when the connection is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_sub_accounts: Option<bool>,
}

/// 3CX connection details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThreeCxProfile {
    /// The profile's name; identifies it within the customer.
    pub name: String,
    /// Whether the connection is started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The PBX's country code (ISO 3166).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// The 3CX licence key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_key: Option<String>,
    /// The 3CX user dimctl connects as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The 3CX password: a secret, written as {fromEnv: VAR}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
}

/// Microsoft Teams connection details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamsProfile {
    /// The profile's name; identifies it within the customer.
    pub name: String,
    /// Whether the connection is started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The country code (ISO 3166).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// The Microsoft (Entra) tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microsoft_tenant_id: Option<String>,
}

/// The customer fields a manifest may manage. Descriptions, lengths and traits of each
/// field come from the catalogue ([`crate::model::catalogue`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Features>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pbx_connection_profiles: Option<Vec<PbxProfile>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_acd_agent_with_pbx: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_new_user_email: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_connect_welcome_email: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_profile_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_duration: Option<u32>,
}

impl CustomerSpec {
    /// The spec as a JSON object in wire spelling, holding only the managed fields.
    /// Secrets stay as `{"fromEnv": VAR}` references.
    pub fn to_wire(&self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            // A struct of options always serialises to an object.
            _ => serde_json::Map::new(),
        }
    }

    /// Every secret reference in the spec, with a JSON-pointer-like location.
    pub fn secrets(&self) -> Vec<(String, &SecretRef)> {
        let mut out = Vec::new();
        for (i, p) in self.pbx_connection_profiles.iter().flatten().enumerate() {
            for (key, s) in p.secrets() {
                out.push((format!("/pbxConnectionProfiles/{i}/{key}"), s));
            }
        }
        out
    }
}

/// Whether the tenant must exist (`present`, the default) or be terminated (`absent`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Ensure {
    #[default]
    Present,
    Absent,
}

/// Per-manifest lifecycle rules, as in Terraform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lifecycle {
    /// Refuse any plan that would terminate this tenant (from `--prune` or `ensure: absent`).
    #[serde(default)]
    pub prevent_destroy: bool,
    /// Fields whose live value is never compared or written (wire names, e.g. `enabled`
    /// or `features`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_changes: Vec<String>,
}

/// The manifest header's `apiVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ApiVersionTag {
    #[serde(rename = "dimctl/v1")]
    V1,
}

/// The manifest header's `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum KindTag {
    Customer,
}

/// One YAML document of `kind: Customer`: the header, identity and lifecycle, and the
/// customer's fields at the top level beside them (no `spec:` nesting).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerManifest {
    /// Always `dimctl/v1`.
    pub api_version: ApiVersionTag,
    /// Always `Customer`.
    pub kind: KindTag,
    /// Pins an adopted tenant by its server id. A manifest needs `reference`, `id`, or both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `present` (default) or `absent` (the tenant must be terminated).
    #[serde(default, skip_serializing_if = "is_present")]
    pub ensure: Ensure,
    /// Lifecycle rules: preventDestroy, ignoreChanges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    #[serde(flatten)]
    pub spec: CustomerSpec,
    /// The customer's users and their roles. Omitted: users are not managed (nor read by
    /// `plan`); a list, even an empty one: the users listed are managed and the others are
    /// reported as unmanaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<super::user::UserSpec>>,
}

fn is_present(e: &Ensure) -> bool {
    *e == Ensure::Present
}

impl CustomerManifest {
    /// A new manifest with the header filled in.
    pub fn new(spec: CustomerSpec) -> Self {
        CustomerManifest {
            api_version: ApiVersionTag::V1,
            kind: KindTag::Customer,
            id: None,
            ensure: Ensure::Present,
            lifecycle: None,
            users: None,
            spec,
        }
    }

    /// The key this manifest is matched by: its pinned id, else its reference.
    pub fn key(&self) -> CustomerKey {
        match (&self.id, &self.spec.reference) {
            (Some(id), _) => CustomerKey::Id(id.clone()),
            (None, Some(r)) => CustomerKey::Reference(r.clone()),
            (None, None) => CustomerKey::Id(String::new()),
        }
    }

    /// Lifecycle rules, defaulted.
    pub fn lifecycle(&self) -> Lifecycle {
        self.lifecycle.clone().unwrap_or_default()
    }
}

/// How a manifest names its tenant.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(tag = "by", content = "value", rename_all = "camelCase")]
pub enum CustomerKey {
    Reference(String),
    Id(String),
}

impl CustomerKey {
    /// The customer's address: `customer[REF]`, or `customer[id=ID]`.
    pub fn address(&self) -> crate::model::Address {
        use crate::model::{Address, Kind};
        match self {
            CustomerKey::Reference(r) => Address::named(Kind::Customer, r.trim()),
            CustomerKey::Id(id) => Address::by_id(Kind::Customer, id),
        }
    }
}

impl std::fmt::Display for CustomerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CustomerKey::Reference(r) => write!(f, "{r}"),
            CustomerKey::Id(id) => write!(f, "id:{id}"),
        }
    }
}
