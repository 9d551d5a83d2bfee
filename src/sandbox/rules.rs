//! The API's rules as the sandbox enforces them: per field, read from the kind's field
//! table (value types and lengths, which paths a PATCH may touch, defaults), and per kind,
//! behind exhaustive `match kind`es (where a resource's parent id is kept, what Get All
//! filters on, what a create is refused for or fills in, which changes are billable, what
//! of a write-only secret a read may show). Errors use the API's own message shapes.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::model::Kind;
use crate::model::PatchOperation;
use crate::model::catalogue::{self, Check, EffectClass, Field, FieldKind, Mutability};

use super::store::Parent;

/// Why the store refused a request; the HTTP face maps each to a status code.
#[derive(Debug, Clone, PartialEq)]
pub enum SandboxError {
    /// 400 with the API's message.
    BadRequest(String),
    /// 402: not actioned; carries the request, which the real API echoes back.
    ChargesRequired(Value),
    /// 404.
    NotFound,
    /// 409: the resource already exists (a user's e-mail in the customer). The status and
    /// message are inferred: the vendor's page for this error could not be read.
    Conflict(String),
    /// 400 with `"errorCode": "TenantNotPrimary"`: sendActivationEmail outside the user's
    /// primary tenant.
    TenantNotPrimary,
}

impl SandboxError {
    /// `The value '<x>' is not valid.`
    pub fn bad_value(x: impl std::fmt::Display) -> Self {
        SandboxError::BadRequest(format!("The value '{x}' is not valid."))
    }

    /// `The target location specified by path segment '<p>' was not found.`
    pub fn no_target(segment: &str) -> Self {
        SandboxError::BadRequest(format!(
            "The target location specified by path segment '{segment}' was not found."
        ))
    }

    /// The HTTP status the API answers with.
    pub fn status(&self) -> u16 {
        match self {
            SandboxError::BadRequest(_) => 400,
            SandboxError::ChargesRequired(_) => 402,
            SandboxError::NotFound => 404,
            SandboxError::Conflict(_) => 409,
            SandboxError::TenantNotPrimary => 400,
        }
    }

    /// The message of the error body.
    pub fn message(&self) -> String {
        match self {
            SandboxError::BadRequest(m) => m.clone(),
            SandboxError::ChargesRequired(_) => {
                "This request may incur charges. Resend it with the header 'accept-charges: true' to accept them.".into()
            }
            SandboxError::NotFound => "Not Found".into(),
            SandboxError::Conflict(m) => m.clone(),
            SandboxError::TenantNotPrimary => "This is not the primary tenant for this User.".into(),
        }
    }

    /// The `errorCode` of the error body, where the API sends one.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            SandboxError::TenantNotPrimary => Some("TenantNotPrimary"),
            _ => None,
        }
    }
}

/// A value shown in a message: strings without their quotes.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Check a value against its field's type and length, converting the spellings the API
/// tolerates (`"true"`, `"30"`) into the typed value it stores.
pub fn coerce(field: &Field, value: &Value) -> Result<Value, SandboxError> {
    let bad = || SandboxError::bad_value(shown(value));
    match field.kind {
        FieldKind::Text | FieldKind::DateTime => {
            let Value::String(s) = value else {
                return Err(bad());
            };
            if let Some(max) = field.max_len
                && s.chars().count() > max
            {
                return Err(SandboxError::BadRequest(format!(
                    "The field {} must be a string with a maximum length of {max}.",
                    field.name
                )));
            }
            let ok = match field.check {
                Check::Timezone => jiff::tz::TimeZone::get(s).is_ok(),
                Check::CountryCode => {
                    celes::Country::from_alpha2(s).is_ok() || celes::Country::from_alpha3(s).is_ok()
                }
                Check::None | Check::NonEmpty | Check::TrialDays => true,
            };
            if !ok {
                return Err(bad());
            }
            Ok(value.clone())
        }
        FieldKind::Bool => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(bad()),
        },
        FieldKind::Integer => count(value).map(Value::from).ok_or_else(bad),
        FieldKind::Features => {
            let Value::Object(m) = value else {
                return Err(bad());
            };
            let mut out = Map::new();
            for (k, v) in m {
                let n = count(v).ok_or_else(|| SandboxError::bad_value(shown(v)))?;
                out.insert(k.clone(), Value::from(n));
            }
            Ok(Value::Object(out))
        }
        FieldKind::PbxProfiles => {
            let Value::Array(items) = value else {
                return Err(bad());
            };
            for item in items {
                match item.get("_type").and_then(Value::as_str) {
                    Some(t) if catalogue::pbx_type(t).is_some() => {}
                    Some(other) => return Err(SandboxError::bad_value(other)),
                    None => return Err(SandboxError::bad_value(shown(item))),
                }
            }
            Ok(value.clone())
        }
        FieldKind::Roles => {
            let Value::Array(items) = value else {
                return Err(bad());
            };
            let mut out: Vec<Value> = Vec::new();
            for item in items {
                let Value::String(r) = item else {
                    return Err(SandboxError::bad_value(shown(item)));
                };
                if r.trim().is_empty() {
                    return Err(SandboxError::bad_value(r));
                }
                if !out.iter().any(|o| o == item) {
                    out.push(item.clone());
                }
            }
            Ok(Value::Array(out))
        }
    }
}

/// A non-negative integer, also from a string of digits.
fn count(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A PATCH may only touch mutable fields: read-only, create-only and unknown fields are
/// not part of the API's patch document, so their paths are "not found".
pub fn check_patch_path(kind: Kind, op: &PatchOperation) -> Result<(), SandboxError> {
    let mut pointers = vec![op.path().as_str()];
    match op {
        PatchOperation::Move(m) => pointers.push(m.from.as_str()),
        PatchOperation::Copy(c) => pointers.push(c.from.as_str()),
        _ => {}
    }
    for pointer in pointers {
        let segment = pointer
            .strip_prefix('/')
            .unwrap_or(pointer)
            .split('/')
            .next()
            .unwrap_or("")
            .replace("~1", "/")
            .replace("~0", "~");
        match kind.def().field(&segment) {
            Some(f) if matches!(f.mutability, Mutability::Mutable | Mutability::WriteOnly) => {}
            _ => return Err(SandboxError::no_target(&segment)),
        }
    }
    Ok(())
}

/// A json-patch failure in the API's words.
pub fn patch_error(e: &json_patch::PatchError) -> SandboxError {
    match e.kind {
        json_patch::PatchErrorKind::TestFailed => {
            SandboxError::BadRequest(format!("The test operation at '{}' failed.", e.path))
        }
        _ => {
            let last = e.path.as_str().rsplit('/').next().unwrap_or("");
            SandboxError::no_target(last)
        }
    }
}

/// Whether a change of `features` raises any licensed count (billable).
pub fn raises_features(old: Option<&Value>, new: Option<&Value>) -> bool {
    let Some(Value::Object(new)) = new else {
        return false;
    };
    new.iter().any(|(k, v)| {
        let before = old
            .and_then(|o| o.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        v.as_u64().unwrap_or(0) > before
    })
}

/// The field of a stored resource that holds its parent's id(s) (`None`: a top-level
/// kind). A user may be linked to several tenants: theirs is an array of tenant ids.
pub fn parent_field(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Customer => None,
        Kind::PbxConnection => Some("tenantId"),
        Kind::User => Some(USER_TENANTS),
    }
}

/// The stored (never shown) list of tenants a user is linked to.
pub const USER_TENANTS: &str = "_tenants";

/// Whether a stored resource lives under the parent with id `parent_id`.
pub fn under_parent(kind: Kind, stored: &Value, parent_id: Option<&str>) -> bool {
    match (parent_field(kind), parent_id) {
        (None, None) => true,
        (Some(f), Some(pid)) => match stored.get(f) {
            Some(Value::String(s)) => s == pid,
            Some(Value::Array(ids)) => ids.iter().any(|i| i.as_str() == Some(pid)),
            _ => false,
        },
        _ => false,
    }
}

/// A create refused because the resource already exists under this parent: a user whose
/// e-mail (compared case-insensitively) the customer already has.
pub fn conflict<'a>(
    kind: Kind,
    siblings: impl Iterator<Item = &'a Value>,
    object: &Map<String, Value>,
) -> Result<(), SandboxError> {
    match kind {
        Kind::Customer | Kind::PbxConnection => Ok(()),
        Kind::User => {
            let email = object.get("email").and_then(Value::as_str).unwrap_or("");
            let taken = siblings.into_iter().any(|u| {
                u.get("email")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case(email.trim()))
            });
            if taken {
                return Err(SandboxError::Conflict(format!(
                    "A User with the email '{email}' already exists."
                )));
            }
            Ok(())
        }
    }
}

/// What a resource keeps of a PATCH beyond json-patch: a `replace /roles` keeps the
/// PBX-synchronised role (the vendor documents it surviving).
pub fn after_patch(kind: Kind, current: &Value, ops: &[PatchOperation], next: &mut Value) {
    match kind {
        Kind::Customer | Kind::PbxConnection => {}
        Kind::User => {
            let replaced = ops
                .iter()
                .any(|o| matches!(o, PatchOperation::Replace(r) if r.path.as_str() == "/roles"));
            let had_pbx = roles_of(current).contains(&catalogue::PBX_ROLE);
            if replaced
                && had_pbx
                && let Some(Value::Array(roles)) = next.get_mut("roles")
                && !roles.iter().any(|r| r == catalogue::PBX_ROLE)
            {
                roles.push(Value::from(catalogue::PBX_ROLE));
            }
        }
    }
}

/// A stored user's roles.
fn roles_of(v: &Value) -> Vec<&str> {
    v.get("roles")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Whether Get All shows a field that Get shows: not a user's roles.
pub fn is_listed(kind: Kind, key: &str) -> bool {
    match kind {
        Kind::Customer | Kind::PbxConnection => true,
        Kind::User => key != "roles",
    }
}

/// The fields Get All's `filter` searches ("contains", case-insensitive).
pub fn filter_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Customer => &["name", "reference"],
        Kind::PbxConnection => &["name"],
        Kind::User => &["displayName", "email"],
    }
}

/// Whether creating a resource of `kind` needs `accept-charges` (its registered create
/// effects say it is billable).
pub fn create_is_billable(kind: Kind) -> bool {
    kind.def()
        .on_create
        .iter()
        .any(|e| e.class == EffectClass::Billable)
}

/// Refusals of a create beyond field checks: a trial needs the reseller's permission.
pub fn admit_create(
    kind: Kind,
    reseller: &Parent,
    object: &Map<String, Value>,
) -> Result<(), SandboxError> {
    match kind {
        Kind::Customer => {
            let trial = object
                .get("trialDuration")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if trial > 0 && !reseller.trial_permission {
                return Err(SandboxError::BadRequest(
                    "Trials are not available on this reseller account.".into(),
                ));
            }
            Ok(())
        }
        Kind::PbxConnection => match object.get("_type").and_then(Value::as_str) {
            Some(t) if catalogue::pbx_type(t).is_some() => Ok(()),
            Some(t) => Err(SandboxError::bad_value(t)),
            None => Err(SandboxError::BadRequest(
                "The _type field is required.".into(),
            )),
        },
        Kind::User => {
            let has = |k: &str| {
                object
                    .get(k)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.trim().is_empty())
            };
            for required in ["email", "displayName"] {
                if !has(required) {
                    return Err(SandboxError::BadRequest(format!(
                        "The {required} field is required."
                    )));
                }
            }
            Ok(())
        }
    }
}

/// What a create fills in besides the id: server fields, the fields inherited from the
/// parent tenant and the field table's defaults.
pub fn fill_server_fields(
    kind: Kind,
    reseller: &Parent,
    parent: Option<&Value>,
    parent_id: Option<&str>,
    _id: &str,
    object: &mut Map<String, Value>,
    now: &str,
) {
    match kind {
        Kind::Customer => {
            object.insert("dateCreated".into(), Value::from(now));
            object.insert(
                "parentTenantId".into(),
                Value::from(reseller.tenant_id.clone()),
            );
            // The reseller's settings are spelled as the fields they fill.
            let inherited = serde_json::to_value(reseller).unwrap_or(Value::Null);
            for field in kind.def().fields.iter().filter(|f| f.inherited) {
                if let Some(v) = inherited.get(field.name)
                    && !object.contains_key(field.name)
                {
                    object.insert(field.name.to_string(), v.clone());
                }
            }
            fill_defaults(kind, object);
        }
        Kind::PbxConnection => {
            object.insert(
                "tenantId".into(),
                Value::from(parent_id.unwrap_or_default()),
            );
            // The country code defaults to the customer's.
            if !object.contains_key("countryCode") {
                let cc = parent
                    .and_then(|p| p.get("countryCode"))
                    .cloned()
                    .unwrap_or_else(|| Value::from(reseller.country_code.clone()));
                object.insert("countryCode".into(), cc);
            }
            fill_defaults(kind, object);
        }
        Kind::User => {
            let tenant = parent_id.unwrap_or_default();
            object.insert("primaryTenant".into(), Value::from(tenant));
            object.insert("isParent".into(), Value::Bool(false));
            object.insert(USER_TENANTS.into(), Value::from(vec![tenant]));
            // Creating a user always adds the website-user role.
            let roles = object
                .entry("roles")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(r) = roles
                && !r.iter().any(|x| x == catalogue::IMPLIED_ROLE)
            {
                r.push(Value::from(catalogue::IMPLIED_ROLE));
            }
        }
    }
}

/// Whether Create answers with everything stored (the vendor's Create PBX answer echoes
/// the body, secret included) rather than with what a read shows.
pub fn create_echoes_body(kind: Kind) -> bool {
    match kind {
        Kind::Customer => false,
        Kind::PbxConnection => true,
        Kind::User => false,
    }
}

/// Whether every PATCH restarts something the sandbox counts (a PBX profile's collector).
pub fn patch_restarts_collector(kind: Kind) -> bool {
    match kind {
        Kind::Customer | Kind::User => false,
        Kind::PbxConnection => true,
    }
}

/// The field table's defaults for what a create left out.
fn fill_defaults(kind: Kind, object: &mut Map<String, Value>) {
    for field in kind.def().fields {
        if let Some(default) = field.default
            && !object.contains_key(field.name)
        {
            let v = match field.kind {
                FieldKind::Bool => Value::Bool(default == "true"),
                FieldKind::Integer => default.parse::<i64>().map(Value::from).unwrap_or_default(),
                _ => Value::from(default),
            };
            object.insert(field.name.to_string(), v);
        }
    }
}

/// Whether a patch from `current` to `next` is billable (raises a licensed count).
pub fn patch_is_billable(kind: Kind, current: &Value, next: &Value) -> bool {
    match kind {
        Kind::Customer => raises_features(current.get("features"), next.get("features")),
        Kind::PbxConnection => false,
        Kind::User => {
            let before = roles_of(current);
            roles_of(next).iter().any(|r| !before.contains(r))
        }
    }
}

/// A stored field as a read shows it (which fields are shown at all: [`is_shown`]).
pub fn render_field<'a>(kind: Kind, _key: &str, value: &'a Value) -> Cow<'a, Value> {
    match kind {
        Kind::Customer => Cow::Borrowed(value),
        Kind::PbxConnection => Cow::Borrowed(value),
        Kind::User => Cow::Borrowed(value),
    }
}

/// Whether a stored field is shown by a read at all: a customer's GET carries no PBX
/// profiles (they are their own resource); a profile shows only `id`, `name`, `_type`
/// and `tenantId`, as the vendor documents; a user's tenant links are not shown.
pub fn is_shown(kind: Kind, key: &str) -> bool {
    match kind {
        Kind::Customer => key != "pbxConnectionProfiles",
        Kind::PbxConnection => ["id", "name", "_type", "tenantId"].contains(&key),
        Kind::User => key != USER_TENANTS,
    }
}
