//! flowtel's linters: exported telemetry ([`telemetry`]), Rust sources ([`source`]) and
//! Prometheus alerting rules ([`alerts`]) checked
//! against the conventions registry. Rules produce plain [`flowtel_conventions::Finding`]s; the
//! rule catalogue and the renderers live in `flowtel-conventions`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod alerts;
pub mod source;
pub mod telemetry;
