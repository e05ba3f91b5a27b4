//! flowtel: the runtime SDK services depend on.
//!
//! Flow-aware span macros checked against the conventions at compile time, a `tracing` layer
//! that records the registry's RED metrics with enforced names, label allow-lists, cardinality
//! limits and PII redaction, and propagation of the flow across service boundaries.
//!
//! ```no_run
//! # fn conventions() -> flowtel::Conventions { Default::default() }
//! let telemetry = flowtel::init(conventions())
//!     .service("checkout-gateway", env!("CARGO_PKG_VERSION"))
//!     .install()
//!     .expect("telemetry");
//! let orders = telemetry.meter().u64_counter("checkout.orders");
//! orders.add(1, &[opentelemetry::KeyValue::new("payment.method", "card")]);
//! ```
// The one exception: `TraceLayer::downcast_raw`, whose signature `tracing-subscriber` makes
// `unsafe` and which must forward to the layer it wraps.
#![deny(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;

pub mod error_kind;
pub mod export;
pub mod init;
pub mod layer;
pub mod limits;
pub mod logs;
pub mod messaging;
pub mod meter;
pub mod otel_layer;
mod outcome;
pub mod propagation;
pub mod redact;
pub mod sampling;
pub mod saturation;
pub mod scrape;
pub mod shutdown;
pub mod violations;

pub use error_kind::ErrorKind;
pub use init::{InitError, Telemetry, TelemetryBuilder, conventions_from_path, init};
pub use layer::{FlowLayer, current_flow};
pub use limits::{CardinalityLimiter, ValueCap};
pub use logs::{EventLimiter, LogLayer};
pub use meter::Meter;
pub use otel_layer::TraceLayer;
pub use propagation::FlowPropagator;
pub use redact::hash_pii;
pub use sampling::FlowSampler;
pub use saturation::{Held, Saturation, Tracked};
pub use violations::{Rule, Violations};

pub use flowtel_macros::{conventions, event, flow, flow_span, saturation, step, step_span};
pub use opentelemetry;

/// The conventions registry as a service holds it at run time (shared, immutable).
pub type Conventions = Arc<flowtel_conventions::Registry>;

/// Items the macros expand to. Not a public API: may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::error_kind::ErrorKind;
    pub use crate::outcome::{KindProbe, PlainProbe, Probe, TypeNameProbe, record_outcome};
    pub use crate::redact::hash_pii;
    pub use flowtel_conventions as conventions;
    pub use tracing;

    /// Builds the registry from files embedded by `flowtel::conventions!()`, with the loader
    /// the CLI and the macros use. The macro has already validated them at compile time, so
    /// this cannot fail for a program that built; should it ever, each problem is one line on
    /// stderr and the service gets what could be read (never a panic).
    pub fn embedded(root: &str, files: &[(&str, &str)]) -> super::Conventions {
        let loaded = flowtel_conventions::load::load_embedded(root, files);
        for f in &loaded.findings {
            if f.severity >= flowtel_conventions::Severity::Error {
                eprintln!("flowtel: embedded conventions: {}", f.message);
            }
        }
        std::sync::Arc::new(loaded.registry.unwrap_or_default())
    }
}
