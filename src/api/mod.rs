//! What the reconciler needs of a tenant store, and the ways to reach one.
//!
//! [`Api`] is the one trait the planner's callers and the executor see. It is implemented
//! by the HTTP client ([`http::HttpApi`], for the real service and `sandbox serve`) and by
//! the in-process sandbox ([`crate::sandbox::InProcess`]). Nothing outside this module
//! knows about URLs, envelopes, paging, retries or tokens.
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

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::model::LiveCustomer;

pub use error::ApiError;

/// Options of one write request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Send `accept-charges: true`, so a billable write is actioned instead of refused
    /// with 402. Never set by default.
    pub accept_charges: bool,
}

pub use crate::model::patch::{PatchOperation, patch_is_idempotent};

/// A tenant store: the real Dimensions API, `sandbox serve`, or the in-process sandbox.
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

    /// Every customer, following the API's paging to the end. `filter` is the API's
    /// "contains" search on name and reference.
    async fn list_customers(&self, filter: Option<&str>) -> Result<Vec<LiveCustomer>, ApiError>;

    /// One customer by id; [`ApiError::NotFound`] when it does not exist (or is terminated).
    async fn get_customer(&self, id: &str) -> Result<LiveCustomer, ApiError>;

    /// Create a customer from its wire object (no `id`; secrets already resolved).
    /// Returns what the server answered (at least the new `id`).
    ///
    /// Never retried blindly: when the outcome is unknown (timeout, reset, 5xx after the
    /// request was sent) it returns [`ApiError::AmbiguousCreate`] and the caller must look
    /// the customer up by its key before trying again.
    async fn create_customer(
        &self,
        body: &Map<String, Value>,
        opts: WriteOptions,
    ) -> Result<LiveCustomer, ApiError>;

    /// Apply RFC 6902 operations to a customer. The API answers with no data: read the
    /// customer back to see the result.
    async fn patch_customer(
        &self,
        id: &str,
        ops: &[PatchOperation],
        opts: WriteOptions,
    ) -> Result<(), ApiError>;

    /// Terminate a customer (deactivate and flag for deletion). Cannot be undone.
    async fn delete_customer(&self, id: &str) -> Result<(), ApiError>;
}
