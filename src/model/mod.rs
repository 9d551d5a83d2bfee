//! The customer model: the desired state a manifest holds ([`CustomerManifest`],
//! [`CustomerSpec`]), the live state the API returns ([`LiveCustomer`]), the field
//! catalogue that says what the API can do with each field, and normalisation.
//!
//! This module does no I/O. It must not know about YAML, HTTP or the terminal.

pub mod catalogue;
pub mod customer;
pub mod live;
pub mod located;
pub mod schema;

pub use catalogue::{CUSTOMER_FIELDS, Field, FieldKind, Mutability, SideEffect};
pub use customer::{
    API_VERSION, CustomerKey, CustomerManifest, CustomerSpec, Ensure, Features, KIND_CUSTOMER,
    Lifecycle, PbxProfile, SecretRef,
};
pub use live::{Fingerprint, LiveCustomer, normalise};
pub use located::{Located, Source};
