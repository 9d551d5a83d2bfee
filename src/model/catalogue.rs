//! The field catalogue: the field tables of every kind ([`CUSTOMER_FIELDS`] so far) and
//! the vocabulary they are written in: [`Mutability`], [`Check`], [`Effect`]. Each kind's
//! table is reached through its [`crate::model::KindDef`]; schema generation, the planner,
//! the renderers, import and the sandbox read it and keep no list of field names of their
//! own (rules that are not data sit behind an exhaustive `match` on the kind).
//!
//! Adding a field is one row here plus the field on the kind's spec type; the schema test
//! `every_writable_catalogue_field_is_a_property_and_vice_versa` (in `model::schema`) fails if the two disagree.

/// The shape of a field's value, used by normalisation and the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Bool,
    Integer,
    /// The licensed-features object (`agent`, `device`).
    Features,
    /// The array of PBX connection profiles.
    PbxProfiles,
    /// A server-generated timestamp.
    DateTime,
    /// A user's set of role keys (an array of strings on the wire).
    Roles,
}

/// What the API lets a client do with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// Set on create and changed by PATCH.
    Mutable,
    /// Set on create only; a PATCH of it is refused by the API. Carries why, for the
    /// plan's refusal and the "fixed for good" annotation.
    CreateOnly(&'static str),
    /// Set by the server; a manifest may not carry it.
    ReadOnly,
    /// Sent by the client but never returned (secrets, write-only settings): never
    /// compared, never shown.
    WriteOnly,
}

impl Mutability {
    /// Whether this is a create-only field.
    pub fn is_create_only(self) -> bool {
        matches!(self, Mutability::CreateOnly(_))
    }

    /// Why a create-only field cannot change after create.
    pub fn create_only_reason(self) -> Option<&'static str> {
        match self {
            Mutability::CreateOnly(why) => Some(why),
            _ => None,
        }
    }
}

/// A check beyond type and length that a field's value must pass (manifest and sandbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    None,
    /// A text that may not be empty (names, identities).
    NonEmpty,
    /// An IANA time zone name.
    Timezone,
    /// An ISO 3166 country code.
    CountryCode,
    /// Trial days, 0..=[`MAX_TRIAL_DAYS`].
    TrialDays,
}

/// When a field's side effect applies to the value being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Whenever the field is written.
    Written,
    /// When the value written is `true`.
    True,
    /// When the value written is a positive number.
    Positive,
    /// When a count inside the value is raised.
    Raised,
}

/// A field's side effect and when it applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effect {
    pub side_effect: SideEffect,
    pub when: When,
}

/// How a reviewer must treat an effect: the plan's annotation kinds come from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectClass {
    /// May incur charges.
    Billable,
    /// A consequence beyond the write itself (starts, restarts, e-mails).
    SideEffect,
    /// Cannot be undone.
    Destructive,
}

/// One row of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The wire (and YAML) spelling, camelCase.
    pub name: &'static str,
    pub kind: FieldKind,
    pub mutability: Mutability,
    /// The seed's description, shown in the schema and in `--help`-like output.
    pub description: &'static str,
    /// Maximum length in characters for text fields (seed 000).
    pub max_len: Option<usize>,
    /// Inherited from the parent tenant when the customer does not set it.
    pub inherited: bool,
    /// The API's default when a create omits the field.
    pub default: Option<&'static str>,
    /// A check beyond type and length.
    pub check: Check,
    /// A side effect that a plan must warn about when this field is written.
    pub effect: Option<Effect>,
}

/// A consequence of writing a field that a reviewer must see in a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideEffect {
    /// `enabled: true` starts the PBX connection and emails invitations to website users.
    StartsPbxAndEmailsUsers,
    /// A trial rolls into billing when it ends unless the customer is terminated.
    TrialRollsIntoBilling,
    /// Changing a PBX connection profile restarts its collector (risk of missed calls).
    RestartsPbxCollector,
    /// Raising a licensed feature count may incur charges.
    MayIncurCharges,
    /// Some tenant profiles (product types) cannot be changed once assigned, and
    /// different profiles carry different licensing fees.
    ProductTypeFixedAndPriced,
}

impl SideEffect {
    /// How a reviewer must treat it (the plan's annotation kind).
    pub fn class(self) -> EffectClass {
        match self {
            SideEffect::StartsPbxAndEmailsUsers | SideEffect::RestartsPbxCollector => {
                EffectClass::SideEffect
            }
            SideEffect::TrialRollsIntoBilling
            | SideEffect::MayIncurCharges
            | SideEffect::ProductTypeFixedAndPriced => EffectClass::Billable,
        }
    }

    /// A stable machine name, used in the JSON plan.
    pub fn code(self) -> &'static str {
        match self {
            SideEffect::StartsPbxAndEmailsUsers => "starts-pbx-and-emails-users",
            SideEffect::TrialRollsIntoBilling => "trial-rolls-into-billing",
            SideEffect::RestartsPbxCollector => "restarts-pbx-collector",
            SideEffect::MayIncurCharges => "may-incur-charges",
            SideEffect::ProductTypeFixedAndPriced => "product-type-fixed-and-priced",
        }
    }

    /// The sentence a reviewer reads.
    pub fn message(self) -> &'static str {
        match self {
            SideEffect::StartsPbxAndEmailsUsers => {
                "enabling a customer starts its PBX connection and emails an invitation to every website user"
            }
            SideEffect::TrialRollsIntoBilling => {
                "a trial rolls into normal billing when it ends unless the customer is terminated first"
            }
            SideEffect::RestartsPbxCollector => {
                "changing a PBX connection profile restarts its collector; calls during the restart may be missed"
            }
            SideEffect::MayIncurCharges => "raising licensed features may incur charges",
            SideEffect::ProductTypeFixedAndPriced => {
                "the tenant profile (product type) sets licensing fees and some cannot be changed once assigned"
            }
        }
    }
}

const CREATE_ONLY_SYNC: &str = "the API sets syncAcdAgentWithPbx only when a customer is created";
const CREATE_ONLY_TRIAL: &str =
    "the API sets trialDuration only when a customer is created; a trial ends only by termination";
const CREATE_ONLY_PROFILE: &str = "some tenant profiles cannot be changed once assigned; change the product type in the reseller portal";

/// Every customer field of seed 000, in the seed's order.
pub const CUSTOMER_FIELDS: &[Field] = &[
    Field {
        name: "id",
        kind: FieldKind::Text,
        mutability: Mutability::ReadOnly,
        description: "The unique Customer identifier, generated by the server. In a manifest it pins an adopted tenant.",
        max_len: None,
        inherited: false,
        default: None,
        check: Check::None,
        effect: None,
    },
    Field {
        name: "name",
        kind: FieldKind::Text,
        mutability: Mutability::Mutable,
        description: "A short Customer name.",
        max_len: Some(100),
        inherited: false,
        default: None,
        check: Check::NonEmpty,
        effect: None,
    },
    Field {
        name: "description",
        kind: FieldKind::Text,
        mutability: Mutability::Mutable,
        description: "A longer descriptive name for the Customer.",
        max_len: Some(200),
        inherited: false,
        default: None,
        check: Check::None,
        effect: None,
    },
    Field {
        name: "reference",
        kind: FieldKind::Text,
        mutability: Mutability::Mutable,
        description: "The reseller's own Customer reference: the stable key dimctl matches tenants by. Printed on invoices and billing outputs.",
        max_len: Some(200),
        inherited: false,
        default: None,
        check: Check::NonEmpty,
        effect: None,
    },
    Field {
        name: "dateCreated",
        kind: FieldKind::DateTime,
        mutability: Mutability::ReadOnly,
        description: "The date and time the Customer was created.",
        max_len: None,
        inherited: false,
        default: None,
        check: Check::None,
        effect: None,
    },
    Field {
        name: "parentTenantId",
        kind: FieldKind::Text,
        mutability: Mutability::ReadOnly,
        description: "The id of the parent tenant, generated by the server.",
        max_len: None,
        inherited: false,
        default: None,
        check: Check::None,
        effect: None,
    },
    Field {
        name: "enabled",
        kind: FieldKind::Bool,
        mutability: Mutability::Mutable,
        description: "Whether this Customer is enabled. When a Customer is enabled the PBX connection is started and the email invitation is sent to each user with Website User access.",
        max_len: None,
        inherited: false,
        default: Some("false"),
        check: Check::None,
        effect: Some(Effect {
            side_effect: SideEffect::StartsPbxAndEmailsUsers,
            when: When::True,
        }),
    },
    Field {
        name: "timezone",
        kind: FieldKind::Text,
        mutability: Mutability::Mutable,
        description: "The default IANA timezone, e.g. Europe/London. Inherited from the parent tenant when absent.",
        max_len: Some(40),
        inherited: true,
        default: None,
        check: Check::Timezone,
        effect: None,
    },
    Field {
        name: "countryCode",
        kind: FieldKind::Text,
        mutability: Mutability::Mutable,
        description: "The default country code (ISO 3166), e.g. GB. Inherited from the parent tenant when absent.",
        max_len: Some(5),
        inherited: true,
        default: None,
        check: Check::CountryCode,
        effect: None,
    },
    Field {
        name: "features",
        kind: FieldKind::Features,
        mutability: Mutability::Mutable,
        description: "Licensed features. Inherited from the parent tenant when absent.",
        max_len: None,
        inherited: true,
        default: None,
        check: Check::None,
        effect: Some(Effect {
            side_effect: SideEffect::MayIncurCharges,
            when: When::Raised,
        }),
    },
    Field {
        name: "pbxConnectionProfiles",
        kind: FieldKind::PbxProfiles,
        mutability: Mutability::Mutable,
        description: "The PBX connection profiles. Secrets are write-only and written as {fromEnv: VAR}.",
        max_len: None,
        inherited: false,
        default: None,
        check: Check::None,
        effect: Some(Effect {
            side_effect: SideEffect::RestartsPbxCollector,
            when: When::Written,
        }),
    },
    Field {
        name: "syncAcdAgentWithPbx",
        kind: FieldKind::Bool,
        mutability: Mutability::CreateOnly(CREATE_ONLY_SYNC),
        description: "Whether users are automatically enabled for the ACD role when they are configured as an ACD agent on the PBX. Can only be set when the customer is created.",
        max_len: None,
        inherited: false,
        default: Some("false"),
        check: Check::None,
        effect: None,
    },
    Field {
        name: "sendNewUserEmail",
        kind: FieldKind::Bool,
        mutability: Mutability::Mutable,
        description: "Whether new users are sent welcome emails.",
        max_len: None,
        inherited: false,
        default: Some("true"),
        check: Check::None,
        effect: None,
    },
    Field {
        name: "sendConnectWelcomeEmail",
        kind: FieldKind::Bool,
        mutability: Mutability::Mutable,
        description: "Whether new Connect client users receive a welcome email.",
        max_len: None,
        inherited: false,
        default: Some("true"),
        check: Check::None,
        effect: None,
    },
    Field {
        name: "tenantProfileType",
        kind: FieldKind::Text,
        mutability: Mutability::CreateOnly(CREATE_ONLY_PROFILE),
        description: "The id of the Tenant Profile (product type) assigned to the customer. Inherited when absent. Depending on the profile, it may not be possible to change it once assigned.",
        max_len: None,
        inherited: true,
        default: None,
        check: Check::None,
        effect: Some(Effect {
            side_effect: SideEffect::ProductTypeFixedAndPriced,
            when: When::Written,
        }),
    },
    Field {
        name: "trialDuration",
        kind: FieldKind::Integer,
        mutability: Mutability::CreateOnly(CREATE_ONLY_TRIAL),
        description: "Days of trial (0 = not trialling). Can only be set when the customer is created. A trial rolls into normal billing unless the customer is terminated before it ends.",
        max_len: None,
        inherited: false,
        default: Some("0"),
        check: Check::TrialDays,
        effect: Some(Effect {
            side_effect: SideEffect::TrialRollsIntoBilling,
            when: When::Positive,
        }),
    },
];

const CREATE_ONLY_EMAIL: &str = "a user's e-mail is their identity and the API documents no way to change it; declare a new user and mark the old one `ensure: absent`";

/// Every user field (`/customers/{C}/users`), as the vendor's reference lists them.
pub const USER_FIELDS: &[Field] = &[
    Field {
        name: "id",
        kind: FieldKind::Text,
        mutability: Mutability::ReadOnly,
        description: "The unique User identifier, generated by the server.",
        max_len: None,
        inherited: false,
        default: None,
        check: Check::None,
        effect: None,
    },
    Field {
        name: "email",
        kind: FieldKind::Text,
        mutability: Mutability::CreateOnly(CREATE_ONLY_EMAIL),
        description: "The user's e-mail address: their identity within the customer (compared case-insensitively). Creating a user e-mails an activation link to it immediately.",
        max_len: Some(200),
        inherited: false,
        default: None,
        check: Check::NonEmpty,
        effect: None,
    },
    Field {
        name: "displayName",
        kind: FieldKind::Text,
        mutability: Mutability::Mutable,
        description: "The name shown for the user.",
        max_len: Some(100),
        inherited: false,
        default: None,
        check: Check::NonEmpty,
        effect: None,
    },
    Field {
        name: "roles",
        kind: FieldKind::Roles,
        mutability: Mutability::Mutable,
        description: "The user's roles (a set of role keys). `customer.user` is implied; the PBX-synchronised `customer.user.pbx` is never touched. Roles are billed monthly.",
        max_len: None,
        inherited: false,
        default: None,
        check: Check::None,
        effect: Some(Effect {
            side_effect: SideEffect::MayIncurCharges,
            when: When::Raised,
        }),
    },
    Field {
        name: "primaryTenant",
        kind: FieldKind::Text,
        mutability: Mutability::ReadOnly,
        description: "The tenant the user belongs to first; deleting the user there deletes them everywhere.",
        max_len: None,
        inherited: false,
        default: None,
        check: Check::None,
        effect: None,
    },
    Field {
        name: "isParent",
        kind: FieldKind::Bool,
        mutability: Mutability::ReadOnly,
        description: "Set by the server (undocumented; a user inherited from a parent tenant).",
        max_len: None,
        inherited: false,
        default: None,
        check: Check::None,
        effect: None,
    },
];

/// The role every created user gets: the API adds it on create, so a manifest may omit it.
pub const IMPLIED_ROLE: &str = "customer.user";
/// The role of a user administrator.
pub const ADMIN_ROLE: &str = "admin.user";
/// The role synchronised from the PBX: never added, removed or reported by dimctl.
pub const PBX_ROLE: &str = "customer.user.pbx";
/// The ACD agent role: synchronised from the PBX when the customer has
/// `syncAcdAgentWithPbx`, and then never touched by dimctl.
pub const ACD_ROLE: &str = "customer.user.acd";

/// Every role key the vendor's pages name (the vendor adds roles over time: an unknown key
/// is a warning, not an error).
pub const KNOWN_ROLES: &[&str] = &[
    "customer.user",
    "admin.user",
    "customer.settings",
    "customer.user.supervisorl1",
    "customer.user.supervisorl2",
    "customer.user.supervisorl3",
    "customer.user.acd",
    "customer.user.crm",
    "customer.user.pbx",
    "customer.user.uc",
    "customer.user.uc.essential",
    "customer.user.uc.remote",
    "customer.billables.admin",
    "customer.device.admin",
    "customer.device.readonly",
    "customer.directories.manage",
];

/// Whether dimctl leaves `role` alone on a customer (`sync_acd`: its
/// `syncAcdAgentWithPbx`): the PBX role always, the ACD role when the PBX sets it.
pub fn is_pbx_managed_role(role: &str, sync_acd: bool) -> bool {
    role == PBX_ROLE || (sync_acd && role == ACD_ROLE)
}

/// Licensed feature keys inside `features`.
pub const FEATURE_KEYS: &[&str] = &["agent", "device"];

/// PBX profile keys that hold secrets: write-only, never diffed, never shown.
pub const PBX_SENSITIVE_KEYS: &[&str] = &["apiKey", "password", "clientSecret"];

/// One kind of PBX connection profile: its `_type` on the wire and the write-only secret
/// a manifest gives it as `{fromEnv: VAR}` (with the suffix import names the variable by).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PbxType {
    pub type_name: &'static str,
    /// The secret's key and the environment-variable suffix import proposes for it.
    pub secret: Option<(&'static str, &'static str)>,
}

/// Every PBX profile kind dimctl knows (the `_type` names of [`super::PbxProfile`]).
pub const PBX_TYPES: &[PbxType] = &[
    PbxType {
        type_name: "KazooPbxConnectionProfile",
        secret: Some(("apiKey", "API_KEY")),
    },
    PbxType {
        type_name: "ThreeCxConnectionProfile",
        secret: Some(("password", "PASSWORD")),
    },
    PbxType {
        type_name: "TeamsConnectionProfile",
        secret: None,
    },
];

/// The PBX profile kind with this `_type`, if dimctl knows it.
pub fn pbx_type(type_name: &str) -> Option<&'static PbxType> {
    PBX_TYPES.iter().find(|t| t.type_name == type_name)
}

/// The maximum trial length dimctl accepts (days).
pub const MAX_TRIAL_DAYS: u32 = 365;

impl Field {
    /// Whether the effect applies to writing `value` over `old` (none on create).
    pub fn effect_applies(
        &self,
        old: Option<&serde_json::Value>,
        value: &serde_json::Value,
    ) -> Option<SideEffect> {
        let effect = self.effect?;
        let n = |v: &serde_json::Value| crate::model::normalise(self.name, v);
        let applies = match effect.when {
            When::Written => true,
            When::True => n(value) == serde_json::Value::Bool(true),
            When::Positive => n(value).as_i64().is_some_and(|d| d > 0),
            When::Raised => old.is_none_or(|o| n(o) != n(value)),
        };
        applies.then_some(effect.side_effect)
    }
}

/// Whether a key inside a PBX profile is a secret.
pub fn is_sensitive_pbx_key(key: &str) -> bool {
    PBX_SENSITIVE_KEYS.contains(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbx_types_match_the_profile_model() {
        let samples = [
            serde_json::json!({"_type": "KazooPbxConnectionProfile", "name": "k", "apiKey": {"fromEnv": "K"}}),
            serde_json::json!({"_type": "ThreeCxConnectionProfile", "name": "t", "password": {"fromEnv": "P"}}),
            serde_json::json!({"_type": "TeamsConnectionProfile", "name": "m"}),
        ];
        assert_eq!(samples.len(), PBX_TYPES.len());
        for sample in samples {
            let p: super::super::PbxProfile = serde_json::from_value(sample).unwrap();
            let t = pbx_type(p.type_name()).expect("every profile kind is in PBX_TYPES");
            let keys: Vec<&str> = p.secrets().iter().map(|(k, _)| *k).collect();
            assert_eq!(
                keys,
                t.secret.map(|(k, _)| k).into_iter().collect::<Vec<_>>()
            );
            assert!(keys.iter().all(|k| is_sensitive_pbx_key(k)));
        }
        assert_eq!(pbx_type("SipProfile"), None);
    }

    #[test]
    fn create_only_fields_are_the_documented_three() {
        let mut names: Vec<_> = CUSTOMER_FIELDS
            .iter()
            .filter(|f| f.mutability.is_create_only())
            .map(|f| f.name)
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["syncAcdAgentWithPbx", "tenantProfileType", "trialDuration"]
        );
        for f in CUSTOMER_FIELDS
            .iter()
            .filter(|f| f.mutability.is_create_only())
        {
            let why = f.mutability.create_only_reason().unwrap_or_default();
            assert!(why.len() > 20, "{} needs a reason", f.name);
        }
    }

    #[test]
    fn read_only_fields_are_server_generated() {
        let names: Vec<_> = CUSTOMER_FIELDS
            .iter()
            .filter(|f| f.mutability == Mutability::ReadOnly)
            .map(|f| f.name)
            .collect();
        assert_eq!(names, ["id", "dateCreated", "parentTenantId"]);
    }

    #[test]
    fn max_lengths_follow_the_seed() {
        let len = |n| {
            crate::model::Kind::Customer
                .def()
                .field(n)
                .and_then(|f| f.max_len)
        };
        assert_eq!(len("name"), Some(100));
        assert_eq!(len("description"), Some(200));
        assert_eq!(len("reference"), Some(200));
        assert_eq!(len("timezone"), Some(40));
        assert_eq!(len("countryCode"), Some(5));
    }

    #[test]
    fn inherited_fields() {
        let names: Vec<_> = CUSTOMER_FIELDS
            .iter()
            .filter(|f| f.inherited)
            .map(|f| f.name)
            .collect();
        assert_eq!(
            names,
            ["timezone", "countryCode", "features", "tenantProfileType"]
        );
    }
}
