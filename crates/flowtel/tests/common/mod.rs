//! Shared by the integration tests: the bundled conventions, loaded the way a service embeds
//! them, and readers of in-memory metrics.
#![allow(dead_code)]

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};

/// The bundled `conventions/` registry, embedded as `flowtel::conventions!()` would.
pub fn conventions() -> flowtel::Conventions {
    std::sync::Arc::new(flowtel_testkit::bundled_conventions())
}

/// One data point of a metric: its attributes and its value (sum, or histogram count).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub attrs: Vec<(String, String)>,
    pub value: f64,
}

fn attrs<'a>(it: impl Iterator<Item = &'a KeyValue>) -> Vec<(String, String)> {
    let mut v: Vec<_> = it
        .map(|kv| {
            let value = match &kv.value {
                Value::String(s) => s.as_str().to_owned(),
                other => other.to_string(),
            };
            (kv.key.as_str().to_owned(), value)
        })
        .collect();
    v.sort();
    v
}

/// Every point of metric `name`.
pub fn points(rm: &ResourceMetrics, name: &str) -> Vec<Point> {
    let mut out = Vec::new();
    for sm in rm.scope_metrics() {
        for m in sm.metrics().filter(|m| m.name() == name) {
            match m.data() {
                AggregatedMetrics::U64(MetricData::Sum(s)) => {
                    out.extend(s.data_points().map(|p| Point {
                        attrs: attrs(p.attributes()),
                        value: p.value() as f64,
                    }))
                }
                AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                    out.extend(h.data_points().map(|p| Point {
                        attrs: attrs(p.attributes()),
                        value: p.count() as f64,
                    }))
                }
                AggregatedMetrics::F64(MetricData::Sum(s)) => {
                    out.extend(s.data_points().map(|p| Point {
                        attrs: attrs(p.attributes()),
                        value: p.value(),
                    }))
                }
                _ => {}
            }
        }
    }
    out.sort_by(|a, b| a.attrs.cmp(&b.attrs));
    out
}

/// `[(k, v), ...]` as owned pairs, sorted.
pub fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<_> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}
