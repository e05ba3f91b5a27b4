//! Flow analysis of exported traces and metrics.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod regress;
