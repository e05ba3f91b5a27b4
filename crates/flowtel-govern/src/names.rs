//! Prometheus names of declared metrics and attributes, as the OpenTelemetry Prometheus
//! exporter writes them. A thin door onto the one translation in `flowtel-conventions`, so the
//! generators ask in one place.

use flowtel_conventions::{Instrument, Metric};

/// The Prometheus name of a declared metric (`http.server.request.duration` ->
/// `http_server_request_duration_seconds`, a counter gains `_total`).
pub fn metric(name: &str, metric: &Metric) -> String {
    flowtel_conventions::units::prometheus_name(
        name,
        &metric.unit,
        metric.instrument == Instrument::Counter,
    )
}

/// The Prometheus label of an attribute key (`flow.name` -> `flow_name`).
pub fn label(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
