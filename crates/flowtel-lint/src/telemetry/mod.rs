//! Lint of exported telemetry (OTLP, Prometheus) against the conventions.
