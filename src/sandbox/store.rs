//! The sandbox's tenant store: customers keyed by id, in creation order, with the API's
//! rules (server-generated fields, inherited defaults, create-only and read-only fields,
//! charges, trials, paging, filter, write-only PBX secrets).
//!
//! The store is plain data plus rules: no I/O, no clock (callers pass `now`), no HTTP.
//! [`super::persist`] loads and saves it; [`super::InProcess`] and the HTTP face call it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::Kind;
use crate::model::PatchOperation;
use crate::model::catalogue::{FieldKind, Mutability};

use super::rules::{self, SandboxError};

/// The page size of Get All when the request names none.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest page size the API accepts.
pub const MAX_PAGE_SIZE: usize = 1000;

/// The reseller (parent tenant) whose defaults new customers inherit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parent {
    pub tenant_id: String,
    pub timezone: String,
    pub country_code: String,
    pub features: Map<String, Value>,
    pub tenant_profile_type: String,
    /// Whether the reseller may create trials (`trialDuration > 0`).
    pub trial_permission: bool,
}

impl Default for Parent {
    fn default() -> Self {
        let mut features = Map::new();
        features.insert("agent".into(), Value::from(0));
        features.insert("device".into(), Value::from(0));
        Parent {
            tenant_id: "5a1d0c3e-0000-4000-8000-00000000d1a1".into(),
            timezone: "Europe/London".into(),
            country_code: "GB".into(),
            features,
            tenant_profile_type: "standard".into(),
            trial_permission: true,
        }
    }
}

/// Everything the state file holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    #[serde(default)]
    pub parent: Parent,
    /// Fields Get and Get All do not return (besides the write-only PBX secrets).
    #[serde(default)]
    pub omit_fields: Vec<String>,
    /// Live customers by id, in creation order (the map keeps insertion order).
    #[serde(default)]
    pub customers: Map<String, Value>,
    /// Ids of terminated customers: never listed or gettable again.
    #[serde(default)]
    pub terminated: Vec<String>,
}

impl Store {
    /// The collection that holds resources of `kind` (every kind must have one: the
    /// half-wired-kind test, `tests/kinds_wired.rs`, checks it).
    pub fn collection(&self, kind: Kind) -> &Map<String, Value> {
        match kind {
            Kind::Customer => &self.customers,
        }
    }

    /// Number of live customers.
    pub fn len(&self) -> usize {
        self.customers.len()
    }

    /// Whether the store holds no live customer.
    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }

    /// Get All: one page of customers whose name or reference contains `filter`
    /// (case-insensitive), in creation order.
    pub fn list(
        &self,
        page_index: usize,
        page_size: usize,
        filter: Option<&str>,
    ) -> Result<Vec<Value>, SandboxError> {
        if page_size == 0 || page_size > MAX_PAGE_SIZE {
            return Err(SandboxError::bad_value(page_size));
        }
        let needle = filter
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_lowercase);
        let matches = |c: &Value| match &needle {
            None => true,
            Some(n) => ["name", "reference"].iter().any(|k| {
                c.get(*k)
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.to_lowercase().contains(n.as_str()))
            }),
        };
        let skip = page_index.saturating_mul(page_size);
        Ok(self
            .customers
            .values()
            .filter(|c| matches(c))
            .skip(skip)
            .take(page_size)
            .map(|c| self.render(c))
            .collect())
    }

    /// Get Customer.
    pub fn get(&self, id: &str) -> Result<Value, SandboxError> {
        self.customers
            .get(id)
            .map(|c| self.render(c))
            .ok_or(SandboxError::NotFound)
    }

    /// Create Customer: validate, fill server fields and inherited defaults, store.
    /// Returns the stored customer as Get shows it.
    pub fn create(
        &mut self,
        body: &Value,
        accept_charges: bool,
        new_id: &mut dyn FnMut() -> String,
        now: &str,
    ) -> Result<Value, SandboxError> {
        let Value::Object(input) = body else {
            return Err(SandboxError::bad_value(body));
        };
        let mut customer = Map::new();
        for (key, value) in input {
            // Liberal in what we accept: property names are matched case-insensitively
            // (as the vendor's `trialduration` example needs); unknown ones are ignored.
            let Some(field) = Kind::Customer.def().field_ignore_case(key) else {
                continue;
            };
            if field.mutability == Mutability::ReadOnly || value.is_null() {
                continue;
            }
            customer.insert(field.name.to_string(), rules::coerce(field, value)?);
        }
        let trial = customer
            .get("trialDuration")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if trial > 0 && !self.parent.trial_permission {
            return Err(SandboxError::BadRequest(
                "Trials are not available on this reseller account.".into(),
            ));
        }
        if !accept_charges {
            return Err(SandboxError::ChargesRequired(body.clone()));
        }
        let id = new_id();
        customer.insert("id".into(), Value::from(id.clone()));
        customer.insert("dateCreated".into(), Value::from(now));
        customer.insert(
            "parentTenantId".into(),
            Value::from(self.parent.tenant_id.clone()),
        );
        self.fill_defaults(&mut customer);
        if let Some(Value::Array(profiles)) = customer.get_mut("pbxConnectionProfiles") {
            for p in profiles.iter_mut().filter_map(Value::as_object_mut) {
                if !p.contains_key("id") {
                    p.insert("id".into(), Value::from(new_id()));
                }
                p.insert("tenantId".into(), Value::from(id.clone()));
            }
        }
        let stored = Value::Object(customer);
        let shown = self.render(&stored);
        self.customers.insert(id, stored);
        Ok(shown)
    }

    /// Patch Customer: RFC 6902 operations on the stored object, all or nothing.
    pub fn patch(
        &mut self,
        id: &str,
        ops: &[PatchOperation],
        accept_charges: bool,
    ) -> Result<(), SandboxError> {
        let Some(current) = self.customers.get(id) else {
            return Err(SandboxError::NotFound);
        };
        let mut ops = ops.to_vec();
        for op in &mut ops {
            rules::check_patch_path(op)?;
        }
        let mut next = current.clone();
        json_patch::patch(&mut next, &ops).map_err(|e| rules::patch_error(&e))?;
        let Value::Object(obj) = &mut next else {
            return Err(SandboxError::bad_value(&next));
        };
        for field in Kind::Customer.def().fields {
            if let Some(v) = obj.get(field.name).filter(|v| !v.is_null()) {
                let coerced = rules::coerce(field, v)?;
                obj.insert(field.name.to_string(), coerced);
            }
        }
        if rules::raises_features(current.get("features"), obj.get("features")) && !accept_charges {
            return Err(SandboxError::ChargesRequired(
                serde_json::to_value(&ops).unwrap_or(Value::Null),
            ));
        }
        self.customers.insert(id.to_string(), next);
        Ok(())
    }

    /// Delete Customer: terminate; the tenant is no longer listed or gettable.
    pub fn delete(&mut self, id: &str) -> Result<(), SandboxError> {
        match self.customers.shift_remove(id) {
            Some(_) => {
                self.terminated.push(id.to_string());
                Ok(())
            }
            None => Err(SandboxError::NotFound),
        }
    }

    /// Fill the inherited fields and the API's defaults a create left out.
    fn fill_defaults(&self, c: &mut Map<String, Value>) {
        let p = &self.parent;
        c.entry("timezone")
            .or_insert_with(|| Value::from(p.timezone.clone()));
        c.entry("countryCode")
            .or_insert_with(|| Value::from(p.country_code.clone()));
        c.entry("features")
            .or_insert_with(|| Value::Object(p.features.clone()));
        c.entry("tenantProfileType")
            .or_insert_with(|| Value::from(p.tenant_profile_type.clone()));
        for field in Kind::Customer.def().fields {
            if let Some(default) = field.default
                && !c.contains_key(field.name)
            {
                let v = match field.kind {
                    FieldKind::Bool => Value::Bool(default == "true"),
                    FieldKind::Integer => {
                        default.parse::<i64>().map(Value::from).unwrap_or_default()
                    }
                    _ => Value::from(default),
                };
                c.insert(field.name.to_string(), v);
            }
        }
    }

    /// What Get and Get All show of a stored customer: no PBX secrets (profiles show only
    /// `id`, `name`, `_type`, `tenantId`, as the vendor's examples do), no omitted fields.
    fn render(&self, stored: &Value) -> Value {
        let Value::Object(obj) = stored else {
            return stored.clone();
        };
        let mut out = Map::new();
        for (k, v) in obj {
            if k != "id" && self.omit_fields.iter().any(|o| o == k) {
                continue;
            }
            if k == "pbxConnectionProfiles" {
                out.insert(k.clone(), rules::render_profiles(v));
            } else {
                out.insert(k.clone(), v.clone());
            }
        }
        Value::Object(out)
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
