//! What the reconciler needs of a tenant store, and the ways to reach one.
//!
//! [`Api`] is the one trait the planner's callers and the executor see. It speaks of
//! collections ([`Collection`]: a [`Kind`] under its parent's id) and is implemented once
//! for every kind by the HTTP client ([`http::HttpApi`], for the real service and `sandbox
//! serve`) and by the in-process sandbox ([`crate::sandbox::InProcess`]). The `*_customer`
//! methods are provided on top of the generic ones. Nothing outside this module knows about
//! URLs, envelopes, paging, retries or tokens. Tests wrap either implementation in
//! [`scripted::Scripted`] to make it misbehave on cue.
//!
//! This module must not decide anything about desired state: it lists, gets and writes.

pub mod account;
pub mod auth;
pub mod envelope;
pub mod error;
pub mod http;
pub mod limit;
pub mod paging;
pub mod retry;
pub mod scripted;
pub mod transport;
pub mod users;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::model::{Kind, LiveCustomer, LiveObject};

pub use error::ApiError;

/// Options of one write request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Send `accept-charges: true`, so a billable write is actioned instead of refused
    /// with 402. Never set by default.
    pub accept_charges: bool,
}

pub use crate::model::patch::{PatchOperation, patch_is_idempotent};

/// A collection on the wire: the resources of one kind under one parent (top-level kinds
/// have none). Its path comes from the registry (`KindDef::collection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collection<'a> {
    pub kind: Kind,
    /// The server id of the parent resource; `None` for a top-level kind.
    pub parent_id: Option<&'a str>,
}

impl Collection<'static> {
    /// The customers (`/customers`).
    pub const CUSTOMERS: Collection<'static> = Collection {
        kind: Kind::Customer,
        parent_id: None,
    };
}

impl<'a> Collection<'a> {
    /// The collection of `kind` under the parent with id `parent_id`.
    pub fn new(kind: Kind, parent_id: Option<&'a str>) -> Collection<'a> {
        Collection { kind, parent_id }
    }

    /// The collection's path under the API root, ids percent-encoded: `/customers`, or
    /// `/customers/{C}/pbxs` for a kind registered under Customer. An error when the
    /// parent id is missing, or given for a top-level kind.
    pub fn path(&self) -> Result<String, ApiError> {
        let def = self.kind.def();
        match (def.parent, self.parent_id) {
            (None, None) => Ok(format!("/{}", def.collection)),
            (Some(parent), Some(pid)) => {
                let pdef = parent.def();
                if pdef.parent.is_some() {
                    return Err(ApiError::Config(format!(
                        "a {} is nested two levels deep; the client knows one level of parents",
                        def.name
                    )));
                }
                Ok(format!(
                    "/{}/{}/{}",
                    pdef.collection,
                    path_segment(pid),
                    def.collection
                ))
            }
            (Some(parent), None) => Err(ApiError::Config(format!(
                "a {} lives under a {}: its parent's id is needed",
                def.name,
                parent.def().name
            ))),
            (None, Some(_)) => Err(ApiError::Config(format!(
                "a {} has no parent: it was asked for under one",
                def.name
            ))),
        }
    }

    /// One member's path: the collection's path and the percent-encoded id.
    pub fn item_path(&self, id: &str) -> Result<String, ApiError> {
        Ok(format!("{}/{}", self.path()?, path_segment(id)))
    }
}

/// Percent-encode an id for a path segment (unreserved characters are kept).
pub fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What a create's answer carried: the whole new resource, or only its id (then read it
/// back with [`Api::get`] to see the rest).
#[derive(Debug, Clone, PartialEq)]
pub enum CreateAnswer {
    /// The new resource with its id and more of its fields.
    Object(LiveObject),
    /// Only the new id.
    IdOnly(String),
}

/// A create answer's `data` without the secrets it may echo (the vendor's examples echo
/// a PBX profile's): a new customer's profiles lose theirs, a new profile loses its own.
/// Every implementation of [`Api::create`] passes its answer through here, so no echoed
/// secret reaches the executor, a plan or the output.
pub fn without_echoed_secrets(kind: Kind, mut data: Value) -> Value {
    use crate::model::catalogue::is_sensitive_pbx_key;
    match kind {
        Kind::Customer => {
            if let Some(Value::Array(profiles)) = data.get_mut("pbxConnectionProfiles") {
                for p in profiles.iter_mut().filter_map(Value::as_object_mut) {
                    p.retain(|k, _| !is_sensitive_pbx_key(k));
                }
            }
        }
        Kind::PbxConnection => {
            if let Some(m) = data.as_object_mut() {
                m.retain(|k, _| !is_sensitive_pbx_key(k));
            }
        }
        Kind::User => {}
    }
    data
}

impl CreateAnswer {
    /// Classify a create answer's `data` for `kind`: an object holding more than its id is
    /// [`CreateAnswer::Object`], an object holding only its id (or a bare id) is
    /// [`CreateAnswer::IdOnly`]; `None` when no usable id is there.
    pub fn from_json(kind: Kind, data: Value) -> Option<CreateAnswer> {
        match data {
            Value::String(id) if !id.is_empty() => Some(CreateAnswer::IdOnly(id)),
            Value::Object(m) if m.len() == 1 => {
                LiveObject::from_json(kind, Value::Object(m)).map(|o| CreateAnswer::IdOnly(o.id))
            }
            other => LiveObject::from_json(kind, other).map(CreateAnswer::Object),
        }
    }

    /// The new resource's server id.
    pub fn id(&self) -> &str {
        match self {
            CreateAnswer::Object(o) => &o.id,
            CreateAnswer::IdOnly(id) => id,
        }
    }

    /// What is known of the new resource: the answer's fields, or only its id.
    pub fn into_live(self, kind: Kind) -> LiveObject {
        match self {
            CreateAnswer::Object(o) => o,
            CreateAnswer::IdOnly(id) => {
                let mut fields = Map::new();
                fields.insert(kind.def().id_field.to_string(), Value::from(id.clone()));
                LiveObject { kind, id, fields }
            }
        }
    }
}

/// What the PBX instance check (`GET /pbxs?instanceId=X`) answered: the profile and the
/// tenant the instance is attached to, when it is attached anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbxInstance {
    /// The profile's id, when the answer carries it.
    pub profile_id: Option<String>,
    /// The tenant (customer) id it is attached to, when the answer carries it.
    pub tenant_id: Option<String>,
}

impl PbxInstance {
    /// Read the check's `data`: `Some` when `exists` is true (also as a string).
    pub fn from_json(data: &Value) -> Option<PbxInstance> {
        let exists = crate::model::live::normalise_bool(data.get("exists")?);
        if exists != Value::Bool(true) {
            return None;
        }
        let text = |k: &str| match data.get(k) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Some(PbxInstance {
            profile_id: text("id"),
            tenant_id: text("tenantId"),
        })
    }
}

/// A tenant store: the real Dimensions API, `sandbox serve`, or the in-process sandbox.
///
/// Implementors implement the generic methods (`list`, `get`, `create`, `patch`,
/// `delete`) once for every kind; the `*_customer` methods are provided on top of them.
#[async_trait]
pub trait Api: Send + Sync {
    /// A stable description of the endpoint (e.g. `https://api.uk.myreports.cloud/api/v1.0`
    /// or `sandbox:.dimctl/sandbox.json`): saved plans record it, and apply refuses a plan
    /// made against another endpoint.
    fn endpoint(&self) -> String;

    /// The tenant the credentials name, for a store whose customers do not say (see
    /// [`account`]): a JWT's tenant claim. `None` when the token says nothing (or there is
    /// none).
    async fn token_account(&self) -> Option<String> {
        None
    }

    /// The account this run reaches: the live customers' `parentTenantId`, else what the
    /// token says. A saved plan records it and `apply --plan` refuses another account.
    async fn account(&self, live: &[LiveCustomer]) -> Option<String> {
        match account::from_customers(live) {
            Some(a) => Some(a),
            None => self.token_account().await,
        }
    }

    /// Every resource of a collection, following the API's paging to the end. `filter` is
    /// the API's "contains" search (on name and reference for customers).
    async fn list(
        &self,
        collection: Collection<'_>,
        filter: Option<&str>,
    ) -> Result<Vec<LiveObject>, ApiError>;

    /// One resource by id; [`ApiError::NotFound`] when it does not exist (or is
    /// terminated).
    async fn get(&self, collection: Collection<'_>, id: &str) -> Result<LiveObject, ApiError>;

    /// Create a resource from its wire object (no id; secrets already resolved), and say
    /// what the answer carried.
    ///
    /// Never retried blindly: when the outcome is unknown (timeout, reset, 5xx after the
    /// request was sent) it returns [`ApiError::AmbiguousCreate`] and the caller must look
    /// the resource up by its identity before trying again.
    async fn create(
        &self,
        collection: Collection<'_>,
        body: &Map<String, Value>,
        opts: WriteOptions,
    ) -> Result<CreateAnswer, ApiError>;

    /// Apply RFC 6902 operations to a resource. The API answers with no data: read the
    /// resource back to see the result.
    async fn patch(
        &self,
        collection: Collection<'_>,
        id: &str,
        ops: &[PatchOperation],
        opts: WriteOptions,
    ) -> Result<(), ApiError>;

    /// Delete a resource (for a customer: terminate, which cannot be undone).
    async fn delete(&self, collection: Collection<'_>, id: &str) -> Result<(), ApiError>;

    /// The PBX instance check: which tenant, if any, the PBX instance `instance_id` (Kazoo
    /// account id, 3CX licence key, Microsoft tenant id) is attached to.
    async fn pbx_instance(&self, instance_id: &str) -> Result<Option<PbxInstance>, ApiError> {
        let _ = instance_id;
        Err(ApiError::Config(
            "this API cannot answer the PBX instance check (GET /pbxs?instanceId=)".into(),
        ))
    }

    /// Every customer, following the API's paging to the end. `filter` is the API's
    /// "contains" search on name and reference.
    async fn list_customers(&self, filter: Option<&str>) -> Result<Vec<LiveCustomer>, ApiError> {
        let items = self.list(Collection::CUSTOMERS, filter).await?;
        Ok(items.into_iter().map(LiveCustomer::from).collect())
    }

    /// One customer by id; [`ApiError::NotFound`] when it does not exist (or is terminated).
    async fn get_customer(&self, id: &str) -> Result<LiveCustomer, ApiError> {
        Ok(self.get(Collection::CUSTOMERS, id).await?.into())
    }

    /// Create a customer from its wire object (no `id`; secrets already resolved).
    /// Returns what the server answered (at least the new `id`); see [`Api::create`].
    async fn create_customer(
        &self,
        body: &Map<String, Value>,
        opts: WriteOptions,
    ) -> Result<LiveCustomer, ApiError> {
        let answer = self.create(Collection::CUSTOMERS, body, opts).await?;
        Ok(answer.into_live(Kind::Customer).into())
    }

    /// Apply RFC 6902 operations to a customer. The API answers with no data: read the
    /// customer back to see the result.
    async fn patch_customer(
        &self,
        id: &str,
        ops: &[PatchOperation],
        opts: WriteOptions,
    ) -> Result<(), ApiError> {
        self.patch(Collection::CUSTOMERS, id, ops, opts).await
    }

    /// Terminate a customer (deactivate and flag for deletion). Cannot be undone.
    async fn delete_customer(&self, id: &str) -> Result<(), ApiError> {
        self.delete(Collection::CUSTOMERS, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_answers_lose_echoed_secrets_for_every_kind() {
        let profile =
            json!({"_type": "KazooPbxConnectionProfile", "name": "m", "apiKey": "k-secret"});
        let customer = without_echoed_secrets(
            Kind::Customer,
            json!({"id": "c1", "pbxConnectionProfiles": [profile.clone()]}),
        );
        assert_eq!(customer["pbxConnectionProfiles"][0].get("apiKey"), None);
        assert_eq!(customer["pbxConnectionProfiles"][0]["name"], "m");
        let pbx = without_echoed_secrets(Kind::PbxConnection, profile);
        assert_eq!(pbx.get("apiKey"), None);
        assert_eq!(pbx["_type"], "KazooPbxConnectionProfile");
        let user = json!({"id": "u1", "email": "a@b.example"});
        assert_eq!(without_echoed_secrets(Kind::User, user.clone()), user);
    }

    #[test]
    fn collection_paths_come_from_the_registry() {
        assert_eq!(Collection::CUSTOMERS.path().unwrap(), "/customers");
        assert_eq!(
            Collection::CUSTOMERS.item_path("a b/c").unwrap(),
            "/customers/a%20b%2Fc"
        );
        // A top-level kind asked for under a parent is refused, not sent somewhere odd.
        let wrong = Collection::new(Kind::Customer, Some("p"));
        assert!(matches!(wrong.path(), Err(ApiError::Config(m)) if m.contains("no parent")));
    }

    #[test]
    fn create_answers_say_what_they_carried() {
        let full = CreateAnswer::from_json(Kind::Customer, json!({"id": "c1", "name": "A"}));
        assert!(matches!(&full, Some(CreateAnswer::Object(o)) if o.fields["name"] == "A"));
        let id_only = CreateAnswer::from_json(Kind::Customer, json!({"id": "c2"})).unwrap();
        assert_eq!(id_only, CreateAnswer::IdOnly("c2".into()));
        assert_eq!(
            CreateAnswer::from_json(Kind::Customer, json!("c3")),
            Some(CreateAnswer::IdOnly("c3".into()))
        );
        assert_eq!(
            CreateAnswer::from_json(Kind::Customer, json!({"name": "A"})),
            None
        );
        assert_eq!(
            CreateAnswer::from_json(Kind::Customer, json!({"id": ""})),
            None
        );
        let live = id_only.into_live(Kind::Customer);
        assert_eq!((live.id.as_str(), live.fields.len()), ("c2", 1));
    }
}
