//! Renderings of a [`crate::plan::Plan`]: terminal text, pull-request markdown, JSON.
//! Pure: a plan in, a string out. Colour is decided by the caller.
//!
//! OWNER: planner work (issue 4).
