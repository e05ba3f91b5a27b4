//! flowtel: the runtime SDK services depend on.
//!
//! Flow-aware span macros checked against the conventions at compile time, a `tracing` layer
//! that records the registry's RED metrics with enforced names, label allow-lists, cardinality
//! limits and PII redaction, and propagation of the flow across service boundaries.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;

/// The conventions registry as a service holds it at run time (shared, immutable).
pub type Conventions = Arc<flowtel_conventions::Registry>;

/// Items the macros expand to. Not a public API: may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use flowtel_conventions as conventions;
    pub use tracing;

    /// Builds the registry from files embedded by `flowtel::conventions!()`. The macro has
    /// already validated them at compile time, so this cannot fail for a program that built;
    /// should it ever, the service gets an empty registry (nothing recorded), never a panic.
    pub fn embedded(root: &str, files: &[(&str, &str)]) -> super::Conventions {
        let loaded = flowtel_conventions::load::load_embedded(root, files);
        std::sync::Arc::new(loaded.registry.unwrap_or_default())
    }
}
