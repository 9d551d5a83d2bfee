//! dimctl: a declarative GitOps reconciler for the customer tenants a reseller keeps on
//! the Dimensions call-analytics platform.
//!
//! Data flows one way: [`manifest`] reads YAML into desired state; [`api`] reads live
//! state (from the real service or the [`sandbox`]); [`plan`] compares them into a
//! [`plan::Plan`] (pure); [`render`] prints it; [`apply`] executes it. [`model`] holds the
//! types and the field catalogue that every other module reads. [`cli`] is the thin shell.
//! [`document`] says what every JSON document carries (version, time, commit) and its schema.
//! [`redact`] masks every secret the process knows in everything it writes.

pub mod api;
pub mod apply;
pub mod cli;
pub mod config;
pub mod document;
pub mod drift;
pub mod fsutil;
pub mod import;
pub mod manifest;
pub mod memory;
pub mod model;
pub mod plan;
pub mod redact;
pub mod render;
pub mod sandbox;
