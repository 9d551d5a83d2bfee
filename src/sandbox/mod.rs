//! The sandbox: a faithful simulator of the documented Dimensions customer API, shipped
//! inside the binary so first runs, tests and benchmarks need no credentials or network.
//!
//! It owns one [`store::Store`] that applies the API's rules (read from the field
//! catalogue), its atomic state file ([`persist`]), fault injection ([`faults`]), the
//! in-process [`InProcess`] (implements [`crate::api::Api`]), the HTTP face
//! ([`server`], `sandbox serve`, with the OAuth token endpoint) and [`seed`].
//! It must not be used by the planner or executor except through the `Api` trait.

pub mod faults;
pub mod inprocess;
pub mod persist;
pub mod rules;
pub mod seed;
pub mod serve;
pub mod server;
pub mod store;
pub mod token;
pub mod wire;

pub use inprocess::InProcess;
pub use rules::SandboxError;
pub use store::Store;
