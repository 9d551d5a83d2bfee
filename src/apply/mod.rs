//! The executor: interprets a [`crate::plan::Plan`] against an [`crate::api::Api`]. It
//! decides nothing the planner did not decide.
//!
//! OWNER: apply work (issue 5).
