//! Rules over exported telemetry (OTLP, Prometheus): `FT01xx`.

use super::Rule;

/// Every telemetry rule, in id order.
pub static RULES: &[&Rule] = &[];
