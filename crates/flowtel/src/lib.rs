//! flowtel: the runtime SDK services depend on.
//!
//! Flow-aware span macros checked against the conventions at compile time, a `tracing` layer
//! that records the registry's RED metrics with enforced names, label allow-lists, cardinality
//! limits and PII redaction, and propagation of the flow across service boundaries.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Items the macros expand to. Not a public API: may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use flowtel_conventions as conventions;
    pub use tracing;
}
