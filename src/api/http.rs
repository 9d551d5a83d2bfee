//! The HTTP client for the Dimensions API and `sandbox serve`.
//!
//! OWNER: API client work (issue 3). Envelope, paging (concurrent, speculative), retries
//! with backoff and Retry-After, rate and in-flight limits, auth (static token or OAuth
//! refresh), 402 handling, redaction in logs.
