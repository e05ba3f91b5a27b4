//! The registry prepared for telemetry lookups: attributes and metrics by name in fast hash
//! maps, naming patterns compiled once, and the Prometheus names of every declared metric.
//! Built once per lint run; the rules only read it.

use std::collections::HashMap;

use flowtel_conventions::Registry;
use flowtel_conventions::model::{Attribute, AttributeType, Flow, Instrument, Metric};
use flowtel_conventions::prometheus::{label_name, name_with};
use regex::Regex;

/// A `HashMap` with a fast, non-cryptographic hasher (keys come from the registry, not from
/// the input, so flooding is not a concern; input-derived keys are hashed to `u64` first).
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

pub(crate) fn fast_map<K, V>() -> FastMap<K, V> {
    HashMap::with_hasher(foldhash::fast::FixedState::with_seed(0x00f1_07e1))
}

/// What the rules need to know about one declared attribute.
pub(crate) struct AttrInfo<'r> {
    pub name: &'r str,
    pub attr: &'r Attribute,
    /// Index into the whole-input value tallies, when the attribute has `max_values`.
    pub tally: Option<usize>,
    /// Closed enum: the allowed values.
    pub closed_enum: bool,
}

/// What the rules need to know about one declared metric.
pub(crate) struct MetricInfo<'r> {
    pub name: &'r str,
    pub metric: &'r Metric,
    /// Index into the series tallies.
    pub series: usize,
    /// Effective cardinality limit.
    pub limit: u32,
    /// The name the OpenTelemetry-to-Prometheus translation gives it.
    pub prometheus: String,
}

/// How a Prometheus family name relates to a declared metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PromMatch {
    /// Exactly the translated name (a counter's family may be written with or without `_total`).
    Exact,
    /// The metric, but not under its translated name.
    Mistranslated,
}

/// The registry, indexed for the telemetry rules.
pub(crate) struct Index<'r> {
    pub reg: &'r Registry,
    pub attributes: FastMap<&'r str, AttrInfo<'r>>,
    /// Prometheus label names (`flow_name`) to declared attribute names.
    pub prom_labels: FastMap<String, &'r str>,
    pub metrics: FastMap<&'r str, MetricInfo<'r>>,
    /// Prometheus family names to declared metric names.
    pub prom_metrics: FastMap<String, (&'r str, PromMatch)>,
    pub metric_naming: Option<Regex>,
    pub span_naming: Option<Regex>,
    /// Number of attribute value tallies (attributes with `max_values`).
    pub value_tallies: usize,
    /// Personal data by shape, as the conventions' `pii` section configures it.
    pub pii: flowtel_conventions::pii::Detector,
}

impl<'r> Index<'r> {
    pub fn new(reg: &'r Registry) -> Self {
        let mut attributes = fast_map();
        let mut prom_labels = fast_map();
        let mut value_tallies = 0;
        for (name, attr) in &reg.attributes {
            let tally = attr.max_values.map(|_| {
                value_tallies += 1;
                value_tallies - 1
            });
            attributes.insert(
                name.as_str(),
                AttrInfo {
                    name,
                    attr,
                    tally,
                    closed_enum: attr.ty == AttributeType::Enum && !attr.open,
                },
            );
            prom_labels.insert(label_name(name), name.as_str());
        }
        let mut metrics = fast_map();
        let mut prom_metrics = fast_map();
        for (i, (name, metric)) in reg.metrics.iter().enumerate() {
            let counter = metric.instrument == Instrument::Counter;
            let prometheus = name_with(name, &metric.unit, counter);
            // Names the metric may be exposed under by mistake, least specific first so the
            // exact translation wins.
            let plain = label_name(name);
            prom_metrics.insert(plain.clone(), (name.as_str(), PromMatch::Mistranslated));
            prom_metrics.insert(
                format!("{plain}_total"),
                (name.as_str(), PromMatch::Mistranslated),
            );
            let no_total = name_with(name, &metric.unit, false);
            prom_metrics.insert(no_total.clone(), (name.as_str(), PromMatch::Mistranslated));
            if counter {
                // A counter's family is named without `_total` in OpenMetrics and with it in
                // 0.0.4; its samples always carry it (checked on the samples).
                prom_metrics.insert(no_total, (name.as_str(), PromMatch::Exact));
            }
            prom_metrics.insert(prometheus.clone(), (name.as_str(), PromMatch::Exact));
            metrics.insert(
                name.as_str(),
                MetricInfo {
                    name,
                    metric,
                    series: i,
                    limit: metric
                        .cardinality_limit
                        .unwrap_or(reg.defaults.cardinality_limit),
                    prometheus,
                },
            );
        }
        Index {
            reg,
            attributes,
            prom_labels,
            metrics,
            prom_metrics,
            metric_naming: Regex::new(&reg.naming.metric).ok(),
            span_naming: Regex::new(&reg.naming.span).ok(),
            value_tallies,
            pii: flowtel_conventions::pii::Detector::for_registry(reg),
        }
    }

    /// The declared attribute for an OTLP key.
    pub fn attribute(&self, key: &str) -> Option<&AttrInfo<'r>> {
        self.attributes.get(key)
    }

    /// The declared attribute for a Prometheus label name.
    pub fn prom_attribute(&self, label: &str) -> Option<&AttrInfo<'r>> {
        self.attributes
            .get(label)
            .or_else(|| self.attributes.get(*self.prom_labels.get(label)?))
    }

    /// The declared flow of a name.
    pub fn flow(&self, name: &str) -> Option<&'r Flow> {
        self.reg.flows.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        flowtel_conventions::check_str(
            "t.yaml",
            "schema: flowtel/v1\nname: t\nversion: 1.0.0\nattributes:\n  flow.name: {type: string, max_values: 5}\nmetrics:\n  flow.step.duration: {instrument: histogram, unit: s, labels: [flow.name]}\n  flow.requests: {instrument: counter, unit: '{request}', labels: [flow.name]}\n",
        )
        .registry
        .unwrap()
    }

    #[test]
    fn prometheus_names_resolve_to_declared_metrics() {
        let reg = registry();
        let ix = Index::new(&reg);
        let get = |n: &str| ix.prom_metrics.get(n).copied();
        assert_eq!(
            get("flow_step_duration_seconds"),
            Some(("flow.step.duration", PromMatch::Exact))
        );
        assert_eq!(
            get("flow_step_duration"),
            Some(("flow.step.duration", PromMatch::Mistranslated))
        );
        assert_eq!(
            get("flow_requests_total"),
            Some(("flow.requests", PromMatch::Exact))
        );
        assert_eq!(
            get("flow_requests"),
            Some(("flow.requests", PromMatch::Exact))
        );
        assert_eq!(get("nothing_here"), None);
        assert_eq!(
            ix.prom_attribute("flow_name").map(|a| a.name),
            Some("flow.name")
        );
        assert_eq!(
            ix.metrics["flow.requests"].prometheus,
            "flow_requests_total"
        );
    }
}
