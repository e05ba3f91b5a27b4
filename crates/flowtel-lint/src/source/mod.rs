//! Lint of Rust sources: names used in `tracing`, OpenTelemetry and `metrics` calls.
