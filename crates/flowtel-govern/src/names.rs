//! Prometheus names of declared metrics and attributes, as the OpenTelemetry Prometheus
//! exporter writes them: the one translation in [`flowtel_conventions::prometheus`], named here
//! for the generators' use.

use flowtel_conventions::{Metric, prometheus};

/// The Prometheus name of a declared metric (`http.server.request.duration` ->
/// `http_server_request_duration_seconds`, a counter gains `_total`).
pub fn metric(name: &str, metric: &Metric) -> String {
    prometheus::metric_name(name, metric)
}

/// The Prometheus label of an attribute key (`flow.name` -> `flow_name`).
pub fn label(key: &str) -> String {
    prometheus::label_name(key)
}
