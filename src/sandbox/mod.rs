//! The sandbox: a faithful simulator of the documented Dimensions customer API.
//!
//! OWNER: sandbox work (issue 3). One store applies the API's rules; the in-process
//! [`InProcess`] (implements [`crate::api::Api`]) and the HTTP face (`sandbox serve`) both
//! go through it.
