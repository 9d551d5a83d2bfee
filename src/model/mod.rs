//! The domain model: the resource registry ([`Kind`], [`KindDef`], [`Address`]), the
//! desired state a manifest holds ([`CustomerManifest`], [`CustomerSpec`]), the live state
//! the API returns ([`LiveCustomer`]), the field catalogue that says what the API can do
//! with each field, normalisation, and the patch operations a plan carries.
//!
//! This module does no I/O. It must not know about YAML, HTTP or the terminal.

pub mod catalogue;
pub mod customer;
pub mod kind;
pub mod live;
pub mod located;
pub mod patch;
pub mod schema;
pub mod user;

pub use catalogue::{
    CUSTOMER_FIELDS, Check, Effect, EffectClass, Field, FieldKind, Mutability, SideEffect, When,
};
pub use customer::{
    API_VERSION, CustomerKey, CustomerManifest, CustomerSpec, Ensure, Features, KIND_CUSTOMER,
    Lifecycle, PbxProfile, SecretRef,
};
pub use kind::{Address, AddressError, AddressKey, Kind, KindDef, KindEffect};
pub use live::{Fingerprint, LiveCustomer, LiveObject, normalise};
pub use located::{Located, Source};
pub use patch::PatchOperation;
pub use user::{LiveUsers, UserIgnorable, UserLifecycle, UserSpec, email_key};
