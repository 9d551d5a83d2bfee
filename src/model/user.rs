//! The desired state of one user of a customer, as the customer document's `users:` list
//! holds it: identity (`email`, compared case-insensitively), `displayName`, the set of
//! `roles`, `ensure` and `lifecycle`. Role vocabulary (implied, PBX-managed, known keys)
//! lives in the catalogue; matching and diffing live in the planner.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::customer::Ensure;

/// One user in a customer document's `users:` list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSpec {
    pub email: String,
    pub display_name: String,
    /// A set of role keys; omitted = roles not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// `present` (default) or `absent` (the user must be deleted, or unlinked).
    #[serde(default, skip_serializing_if = "is_present")]
    pub ensure: Ensure,
    /// Lifecycle rules: preventDestroy, ignoreChanges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<UserLifecycle>,
}

fn is_present(e: &Ensure) -> bool {
    *e == Ensure::Present
}

/// A user's lifecycle rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserLifecycle {
    /// Refuse any plan that would delete or unlink this user.
    #[serde(default)]
    pub prevent_destroy: bool,
    /// Fields whose live value is never compared or written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_changes: Vec<UserIgnorable>,
}

/// The user fields `ignoreChanges` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum UserIgnorable {
    DisplayName,
    Roles,
}

impl UserSpec {
    /// The identity key: the e-mail, trimmed and lower-cased.
    pub fn key(&self) -> String {
        email_key(&self.email)
    }

    /// Lifecycle rules, defaulted.
    pub fn lifecycle(&self) -> UserLifecycle {
        self.lifecycle.clone().unwrap_or_default()
    }

    /// Whether `ignoreChanges` names this field.
    pub fn ignores(&self, field: UserIgnorable) -> bool {
        self.lifecycle().ignore_changes.contains(&field)
    }
}

/// An e-mail as an identity: trimmed, compared case-insensitively.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// What was read of users: for each customer whose users were read (by its server id),
/// its users as Get All listed them, with the roles of those fetched one by one (Get
/// User) merged in. A customer missing here had its users not read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveUsers {
    pub by_customer: std::collections::HashMap<String, Vec<super::LiveObject>>,
}

impl LiveUsers {
    /// The users of the customer with this id, if they were read.
    pub fn of(&self, customer_id: &str) -> Option<&[super::LiveObject]> {
        self.by_customer.get(customer_id).map(Vec::as_slice)
    }
}

/// A live user's e-mail, if it has one.
pub fn live_email(u: &super::LiveObject) -> Option<&str> {
    u.fields.get("email").and_then(serde_json::Value::as_str)
}

/// A live user's roles, when the answer carried them (Get does, Get All does not).
pub fn live_roles(u: &super::LiveObject) -> Option<Vec<String>> {
    u.fields
        .get("roles")
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_string)
                .collect()
        })
}
