//! The sandbox's tenant store: one [`Collection`] per kind (resources keyed by id, in
//! creation order) and the generic operations on them (Get All with paging and filter,
//! Get, Create, Patch, Delete). What differs between kinds (server-generated fields,
//! inherited defaults, charges, trials, write-only secrets) is decided by the per-kind
//! rules in [`super::rules`], behind exhaustive `match kind`es; field types, lengths and
//! mutability come from the kind's field table.
//!
//! The store is plain data plus rules: no I/O, no clock (callers pass `now`), no HTTP.
//! [`super::persist`] loads and saves it; [`super::InProcess`] and the HTTP face call it.

use indexmap::IndexMap;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::model::Kind;
use crate::model::PatchOperation;
use crate::model::catalogue::Mutability;

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

/// The resources of one kind, by id, in creation order (the map keeps insertion order
/// and can be indexed by position, so a page is found without walking those before it).
/// Serialised as the bare map, so the state file's shape is `{"customers": {id: {...}}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Collection {
    items: IndexMap<String, Value>,
}

impl Collection {
    /// Number of resources.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// A stored resource by id, as stored (secrets included).
    pub fn get(&self, id: &str) -> Option<&Value> {
        self.items.get(id)
    }

    /// The stored resources, in creation order.
    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.items.values()
    }

    /// Ids and stored resources, in creation order.
    pub fn iter(&self) -> indexmap::map::Iter<'_, String, Value> {
        self.items.iter()
    }
}

impl<'a> IntoIterator for &'a Collection {
    type Item = (&'a String, &'a Value);
    type IntoIter = indexmap::map::Iter<'a, String, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
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
    /// Live customers.
    #[serde(default)]
    pub customers: Collection,
    /// Ids of terminated customers: never listed or gettable again.
    #[serde(default)]
    pub terminated: Vec<String>,
    /// Live PBX connection profiles (`/customers/{C}/pbxs`), secrets included.
    #[serde(default)]
    pub pbxs: Collection,
    /// How many times each PBX profile's collector was restarted (one per PATCH), by id.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub collector_restarts: std::collections::BTreeMap<String, u64>,
    /// Users of every customer (a user linked to several tenants is stored once).
    #[serde(default)]
    pub users: Collection,
    /// Activation e-mails sent so far (every user create, and `sendActivationEmail`).
    #[serde(default)]
    pub activation_emails: u64,
}

impl Store {
    /// The collection that holds resources of `kind` (every kind must have one: the
    /// half-wired-kind test, `tests/kinds_wired.rs`, checks it).
    pub fn collection(&self, kind: Kind) -> &Collection {
        match kind {
            Kind::Customer => &self.customers,
            Kind::PbxConnection => &self.pbxs,
            Kind::User => &self.users,
        }
    }

    fn collection_mut(&mut self, kind: Kind) -> &mut Collection {
        match kind {
            Kind::Customer => &mut self.customers,
            Kind::PbxConnection => &mut self.pbxs,
            Kind::User => &mut self.users,
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

    /// 404 unless `parent_id` names a live resource of the kind's parent kind (and is
    /// absent for a top-level kind).
    fn check_parent(&self, kind: Kind, parent_id: Option<&str>) -> Result<(), SandboxError> {
        match (kind.def().parent, parent_id) {
            (None, None) => Ok(()),
            (Some(parent), Some(pid)) if self.collection(parent).get(pid).is_some() => Ok(()),
            _ => Err(SandboxError::NotFound),
        }
    }

    /// A stored resource of `kind` under `parent_id`, or 404.
    fn find(&self, kind: Kind, parent_id: Option<&str>, id: &str) -> Result<&Value, SandboxError> {
        self.collection(kind)
            .get(id)
            .filter(|v| rules::under_parent(kind, v, parent_id))
            .ok_or(SandboxError::NotFound)
    }

    /// Get All: one page of the resources of `kind` under `parent_id` that match `filter`
    /// (a case-insensitive "contains" on the kind's filter fields), in creation order.
    pub fn list_in(
        &self,
        kind: Kind,
        parent_id: Option<&str>,
        page_index: usize,
        page_size: usize,
        filter: Option<&str>,
    ) -> Result<Vec<Value>, SandboxError> {
        Ok(self
            .page_in(kind, parent_id, page_index, page_size, filter)?
            .iter()
            .map(Shown::to_value)
            .collect())
    }

    /// [`Store::list_in`] without copying: the page's resources as Get All shows them,
    /// borrowed from the store (serialise them with serde). Without a parent or filter the
    /// page is found by position, with no walk over the resources before it.
    pub fn page_in<'a>(
        &'a self,
        kind: Kind,
        parent_id: Option<&str>,
        page_index: usize,
        page_size: usize,
        filter: Option<&str>,
    ) -> Result<Vec<Shown<'a>>, SandboxError> {
        if page_size == 0 || page_size > MAX_PAGE_SIZE {
            return Err(SandboxError::bad_value(page_size));
        }
        self.check_parent(kind, parent_id)?;
        let needle = filter
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_lowercase);
        let items = &self.collection(kind).items;
        let shown = |c: &'a Value| -> Shown<'a> {
            Shown {
                store: self,
                kind,
                stored: c,
                listed: true,
            }
        };
        let skip = page_index.saturating_mul(page_size);
        let Some(n) = needle else {
            if kind.def().parent.is_none() && parent_id.is_none() {
                let end = skip.saturating_add(page_size).min(items.len());
                let page = items.get_range(skip.min(end)..end).unwrap_or_default();
                return Ok(page.values().map(shown).collect());
            }
            return Ok(items
                .values()
                .filter(|c| rules::under_parent(kind, c, parent_id))
                .skip(skip)
                .take(page_size)
                .map(shown)
                .collect());
        };
        let matches = |c: &Value| {
            rules::filter_fields(kind).iter().any(|k| {
                c.get(*k)
                    .and_then(Value::as_str)
                    .is_some_and(|s| contains_ignore_case(s, &n))
            })
        };
        Ok(items
            .values()
            .filter(|c| rules::under_parent(kind, c, parent_id))
            .filter(|c| matches(c))
            .skip(skip)
            .take(page_size)
            .map(shown)
            .collect())
    }

    /// Get: one resource as a read shows it.
    pub fn get_in(
        &self,
        kind: Kind,
        parent_id: Option<&str>,
        id: &str,
    ) -> Result<Value, SandboxError> {
        self.find(kind, parent_id, id).map(|c| self.render(kind, c))
    }

    /// Create: validate against the kind's field table, fill server fields and defaults
    /// (per-kind rules), store. Returns the stored resource as Create answers it.
    pub fn create_in(
        &mut self,
        kind: Kind,
        parent_id: Option<&str>,
        body: &Value,
        accept_charges: bool,
        new_id: &mut dyn FnMut() -> String,
        now: &str,
    ) -> Result<Value, SandboxError> {
        let Value::Object(input) = body else {
            return Err(SandboxError::bad_value(body));
        };
        self.check_parent(kind, parent_id)?;
        let def = kind.def();
        let mut object = Map::new();
        for (key, value) in input {
            // Liberal in what we accept: property names are matched case-insensitively
            // (as the vendor's `trialduration` example needs); unknown ones are ignored.
            let Some(field) = def.field_ignore_case(key) else {
                continue;
            };
            if field.mutability == Mutability::ReadOnly || value.is_null() {
                continue;
            }
            object.insert(field.name.to_string(), rules::coerce(field, value)?);
        }
        rules::admit_create(kind, &self.parent, &object)?;
        // A customer's create may carry its PBX profiles (the schema's array, or the
        // vendor example's single `pbxConnectionProfile` object): each becomes a profile.
        let embedded = match kind {
            Kind::Customer => embedded_profiles(input)?,
            Kind::PbxConnection | Kind::User => Vec::new(),
        };
        object.remove("pbxConnectionProfiles");
        rules::conflict(
            kind,
            self.collection(kind)
                .values()
                .filter(|v| rules::under_parent(kind, v, parent_id)),
            &object,
        )?;
        if rules::create_is_billable(kind) && !accept_charges {
            return Err(SandboxError::ChargesRequired(body.clone()));
        }
        let id = new_id();
        object.insert(def.id_field.to_string(), Value::from(id.clone()));
        let parent_obj = match (def.parent, parent_id) {
            (Some(p), Some(pid)) => self.collection(p).get(pid).cloned(),
            _ => None,
        };
        rules::fill_server_fields(
            kind,
            &self.parent,
            parent_obj.as_ref(),
            parent_id,
            &id,
            &mut object,
            now,
        );
        let stored = Value::Object(object);
        let shown = if rules::create_echoes_body(kind) {
            stored.clone()
        } else {
            self.render(kind, &stored)
        };
        self.collection_mut(kind).items.insert(id.clone(), stored);
        if kind == Kind::User {
            // Creating a user e-mails an activation link immediately.
            self.activation_emails += 1;
        }
        for p in embedded {
            if let Err(e) = self.create_in(Kind::PbxConnection, Some(&id), &p, true, new_id, now) {
                // All or nothing: the customer and the profiles made so far go again.
                self.pbxs
                    .items
                    .retain(|_, v| v.get("tenantId").and_then(Value::as_str) != Some(id.as_str()));
                self.collection_mut(kind).items.shift_remove(&id);
                return Err(e);
            }
        }
        Ok(shown)
    }

    /// Patch: RFC 6902 operations on the stored object, all or nothing.
    pub fn patch_in(
        &mut self,
        kind: Kind,
        parent_id: Option<&str>,
        id: &str,
        ops: &[PatchOperation],
        accept_charges: bool,
    ) -> Result<(), SandboxError> {
        let current = self.find(kind, parent_id, id)?;
        let mut ops = ops.to_vec();
        for op in &mut ops {
            rules::check_patch_path(kind, op)?;
        }
        let mut next = current.clone();
        json_patch::patch(&mut next, &ops).map_err(|e| rules::patch_error(&e))?;
        rules::after_patch(kind, current, &ops, &mut next);
        let Value::Object(obj) = &mut next else {
            return Err(SandboxError::bad_value(&next));
        };
        for field in kind.def().fields {
            if let Some(v) = obj.get(field.name).filter(|v| !v.is_null()) {
                let coerced = rules::coerce(field, v)?;
                obj.insert(field.name.to_string(), coerced);
            }
        }
        if rules::patch_is_billable(kind, current, &next) && !accept_charges {
            return Err(SandboxError::ChargesRequired(
                serde_json::to_value(&ops).unwrap_or(Value::Null),
            ));
        }
        if rules::patch_restarts_collector(kind) {
            *self.collector_restarts.entry(id.to_string()).or_default() += 1;
        }
        self.collection_mut(kind).items.insert(id.to_string(), next);
        Ok(())
    }

    /// Delete: the resource is no longer listed or gettable (a customer is terminated).
    pub fn delete_in(
        &mut self,
        kind: Kind,
        parent_id: Option<&str>,
        id: &str,
    ) -> Result<(), SandboxError> {
        let found = self.find(kind, parent_id, id)?;
        match kind {
            Kind::Customer => {
                self.collection_mut(kind).items.shift_remove(id);
                self.terminated.push(id.to_string());
                // A terminated tenant's PBX connections go with it.
                let gone: Vec<String> = self
                    .pbxs
                    .iter()
                    .filter(|(_, p)| p.get("tenantId").and_then(Value::as_str) == Some(id))
                    .map(|(k, _)| k.clone())
                    .collect();
                for p in gone {
                    self.pbxs.items.shift_remove(&p);
                }
            }
            Kind::PbxConnection => {
                self.pbxs.items.shift_remove(id);
            }
            Kind::User => {
                // In the user's primary tenant: deleted everywhere; elsewhere: unlinked.
                let primary = found.get("primaryTenant").and_then(Value::as_str);
                if primary.is_some() && primary == parent_id {
                    self.users.items.shift_remove(id);
                } else if let Some(Value::Array(tenants)) = self
                    .users
                    .items
                    .get_mut(id)
                    .and_then(|u| u.get_mut(rules::USER_TENANTS))
                {
                    tenants.retain(|t| t.as_str() != parent_id);
                }
            }
        }
        Ok(())
    }

    /// The PBX instance check (`GET /pbxs?instanceId=X`): the profile, across every
    /// customer, whose instance key (Kazoo `accountId`, 3CX `licenseKey`, Teams
    /// `microsoftTenantId`) is `instance_id`, as `{exists, instanceId, id, tenantId}`.
    pub fn pbx_instance(&self, instance_id: &str) -> Value {
        let wanted = instance_id.trim();
        let found = self.pbxs.iter().find(|(_, p)| {
            let key = p
                .get("_type")
                .and_then(Value::as_str)
                .and_then(crate::model::catalogue::pbx_instance_key);
            key.and_then(|k| p.get(k))
                .and_then(Value::as_str)
                .is_some_and(|v| !wanted.is_empty() && v.trim() == wanted)
        });
        match found {
            Some((id, p)) => serde_json::json!({
                "exists": true,
                "instanceId": instance_id,
                "id": id,
                "tenantId": p.get("tenantId").cloned().unwrap_or(Value::Null),
            }),
            None => serde_json::json!({"exists": false, "instanceId": instance_id}),
        }
    }

    /// `POST /customers/{C}/users/{U}/sendActivationEmail`: counted when `parent_id` is
    /// the user's primary tenant, refused with `TenantNotPrimary` elsewhere.
    pub fn send_activation_email(&mut self, parent_id: &str, id: &str) -> Result<(), SandboxError> {
        let user = self.find(Kind::User, Some(parent_id), id)?;
        if user.get("primaryTenant").and_then(Value::as_str) != Some(parent_id) {
            return Err(SandboxError::TenantNotPrimary);
        }
        self.activation_emails += 1;
        Ok(())
    }

    /// Link an existing user to another tenant (as a reseller-level or parent user is):
    /// the user is then listed there too, with `isParent` as given. For seeding and tests.
    pub fn link_user(&mut self, id: &str, tenant: &str) -> Result<(), SandboxError> {
        self.check_parent(Kind::User, Some(tenant))?;
        let user = self.users.items.get_mut(id).ok_or(SandboxError::NotFound)?;
        if let Some(Value::Array(t)) = user.get_mut(rules::USER_TENANTS)
            && !t.iter().any(|x| x.as_str() == Some(tenant))
        {
            t.push(Value::from(tenant));
        }
        Ok(())
    }

    /// Store a user as the PBX import does: no activation e-mail, only the PBX role.
    pub fn import_pbx_user(
        &mut self,
        tenant: &str,
        email: &str,
        display_name: &str,
        id: String,
    ) -> Result<Value, SandboxError> {
        self.check_parent(Kind::User, Some(tenant))?;
        let object = serde_json::json!({
            "id": id,
            "displayName": display_name,
            "email": email,
            "roles": [crate::model::catalogue::PBX_ROLE],
            "primaryTenant": tenant,
            "isParent": false,
            (rules::USER_TENANTS): [tenant],
        });
        let Value::Object(m) = &object else {
            return Err(SandboxError::bad_value(&object));
        };
        rules::conflict(
            Kind::User,
            self.users
                .values()
                .filter(|v| rules::under_parent(Kind::User, v, Some(tenant))),
            m,
        )?;
        self.users.items.insert(id, object.clone());
        Ok(self.render(Kind::User, &object))
    }

    /// Get All of customers (see [`Store::list_in`]).
    pub fn list(
        &self,
        page_index: usize,
        page_size: usize,
        filter: Option<&str>,
    ) -> Result<Vec<Value>, SandboxError> {
        self.list_in(Kind::Customer, None, page_index, page_size, filter)
    }

    /// Get Customer.
    pub fn get(&self, id: &str) -> Result<Value, SandboxError> {
        self.get_in(Kind::Customer, None, id)
    }

    /// Create Customer (see [`Store::create_in`]).
    pub fn create(
        &mut self,
        body: &Value,
        accept_charges: bool,
        new_id: &mut dyn FnMut() -> String,
        now: &str,
    ) -> Result<Value, SandboxError> {
        self.create_in(Kind::Customer, None, body, accept_charges, new_id, now)
    }

    /// Patch Customer.
    pub fn patch(
        &mut self,
        id: &str,
        ops: &[PatchOperation],
        accept_charges: bool,
    ) -> Result<(), SandboxError> {
        self.patch_in(Kind::Customer, None, id, ops, accept_charges)
    }

    /// Delete Customer: terminate.
    pub fn delete(&mut self, id: &str) -> Result<(), SandboxError> {
        self.delete_in(Kind::Customer, None, id)
    }

    /// What Get and Get All show of a stored resource: no write-only secrets (the per-kind
    /// rule), no omitted fields.
    fn render(&self, kind: Kind, stored: &Value) -> Value {
        Shown {
            store: self,
            kind,
            stored,
            listed: false,
        }
        .to_value()
    }

    /// Whether a read shows the stored field `key`: not an omitted field (the id always
    /// is), not one the per-kind rule hides, and in Get All not one only Get shows.
    fn shows(&self, kind: Kind, key: &str, listed: bool) -> bool {
        if key != kind.def().id_field && self.omit_fields.iter().any(|o| o == key) {
            return false;
        }
        rules::is_shown(kind, key) && (!listed || rules::is_listed(kind, key))
    }
}

/// A stored resource as a read shows it (Get, or Get All when `listed`), borrowed from
/// the store: it serialises the shown fields straight from the stored object, in stored
/// order, so a page of a thousand needs no copy of each.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a> {
    store: &'a Store,
    kind: Kind,
    stored: &'a Value,
    listed: bool,
}

impl Shown<'_> {
    /// The shown resource as an owned value.
    pub fn to_value(&self) -> Value {
        let Value::Object(obj) = self.stored else {
            return self.stored.clone();
        };
        let mut out = Map::new();
        for (k, v) in obj {
            if self.store.shows(self.kind, k, self.listed) {
                out.insert(k.clone(), rules::render_field(self.kind, k, v).into_owned());
            }
        }
        Value::Object(out)
    }
}

impl Serialize for Shown<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(obj) = self.stored else {
            return self.stored.serialize(serializer);
        };
        let mut map = serializer.serialize_map(None)?;
        for (k, v) in obj {
            if self.store.shows(self.kind, k, self.listed) {
                map.serialize_entry(k, &rules::render_field(self.kind, k, v))?;
            }
        }
        map.end()
    }
}

/// Whether `haystack` contains `needle_lower` (already lower-cased) ignoring case, as
/// `haystack.to_lowercase().contains(needle_lower)`, without allocating when both are
/// ASCII (the common case for names and references).
fn contains_ignore_case(haystack: &str, needle_lower: &str) -> bool {
    if haystack.is_ascii() && needle_lower.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle_lower.as_bytes());
        return n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    haystack.to_lowercase().contains(needle_lower)
}

/// The PBX profiles a customer's create body carries: `pbxConnectionProfiles` (an array,
/// the schema's spelling) or `pbxConnectionProfile` (one object, the vendor example's).
fn embedded_profiles(input: &Map<String, Value>) -> Result<Vec<Value>, SandboxError> {
    let mut out = Vec::new();
    for (k, v) in input {
        if k.eq_ignore_ascii_case("pbxConnectionProfiles") {
            match v {
                Value::Array(items) => out.extend(items.iter().cloned()),
                Value::Null => {}
                other => return Err(SandboxError::bad_value(other)),
            }
        } else if k.eq_ignore_ascii_case("pbxConnectionProfile") && v.is_object() {
            out.push(v.clone());
        }
    }
    for p in &out {
        match p.get("_type").and_then(Value::as_str) {
            Some(t) if crate::model::catalogue::pbx_type(t).is_some() => {}
            Some(t) => return Err(SandboxError::bad_value(t)),
            None => return Err(SandboxError::bad_value(p)),
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
