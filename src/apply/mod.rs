//! The executor: interprets a [`crate::plan::Plan`] against an [`crate::api::Api`]. It
//! decides nothing the planner did not decide: it refuses a plan whole (wrong endpoint
//! or format, not applicable, charges not accepted, secrets missing), then carries out
//! each change with a stale check, idempotent creates, verify-after-write, bounded
//! concurrency and deletes last, and reports one [`Outcome`] per customer.
//!
//! It must not plan, print (beyond [`progress`] on stderr) or read the environment except
//! through a [`SecretSource`]. Secret values exist only in the bodies handed to the API.

mod batch;
mod child;
mod create;
pub mod executor;
pub mod lock;
pub mod order;
pub mod outcome;
pub mod preflight;
pub mod progress;
pub mod secrets;
mod user;
pub mod verify;

#[cfg(test)]
mod tests;

pub use create::survivor;
pub use executor::{
    ApplyOptions, Interrupt, RunError, apply, apply_listed, default_lookup_backoff, reference_key,
};
pub use outcome::{ApplyReport, Counts, FieldMismatch, Outcome, Status};
pub use preflight::{Refusal, billable_actions, preflight};
pub use progress::{Bar, Lines, Progress, Silent};
pub use secrets::{ProcessEnv, SecretSource};
