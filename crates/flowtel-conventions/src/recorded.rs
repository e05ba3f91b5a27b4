//! The metrics flowtel's SDK records by itself, and which of them a registry lacks.
//!
//! Flow and step spans (`#[flowtel::flow]`, `#[flowtel::step]`) record the flow RED metrics, the
//! server middleware records `http.server.request.duration`, and the runtime counts its own
//! enforcement in `flowtel.violations`. The SDK records a metric only when the registry declares
//! it, so a registry that declares flows but not these metrics records nothing for them.
//! [`missing`] says which, so that `flowtel check` warns (rule `FT0030`) and `flowtel::init`
//! announces it once at start-up, both from this one list.

use crate::load::Registry;
use crate::model::Instrument;

/// A metric the SDK records, with the declaration a registry needs for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedMetric {
    /// Metric name.
    pub name: &'static str,
    /// Instrument the SDK creates.
    pub instrument: Instrument,
    /// Unit the SDK expects.
    pub unit: &'static str,
    /// Labels the SDK writes (each must be a declared attribute).
    pub labels: &'static [&'static str],
    /// What records it.
    pub recorded_by: &'static str,
}

impl RecordedMetric {
    /// The one-line YAML declaration to add under `metrics:`.
    pub fn declaration(&self) -> String {
        format!(
            "{}: {{instrument: {}, unit: '{}', labels: [{}]}}",
            self.name,
            self.instrument.as_str(),
            self.unit,
            self.labels.join(", ")
        )
    }
}

/// Every metric the SDK records by itself, in the order a registry usually declares them.
pub const METRICS: &[RecordedMetric] = &[
    RecordedMetric {
        name: "flow.requests",
        instrument: Instrument::Counter,
        unit: "{request}",
        labels: &["flow.name", "outcome"],
        recorded_by: "every flow span",
    },
    RecordedMetric {
        name: "flow.errors",
        instrument: Instrument::Counter,
        unit: "{error}",
        labels: &["flow.name", "error.type"],
        recorded_by: "every flow span that ends in an error",
    },
    RecordedMetric {
        name: "flow.duration",
        instrument: Instrument::Histogram,
        unit: "s",
        labels: &["flow.name", "outcome"],
        recorded_by: "every flow span",
    },
    RecordedMetric {
        name: "flow.step.duration",
        instrument: Instrument::Histogram,
        unit: "s",
        labels: &["flow.name", "flow.step", "outcome"],
        recorded_by: "every step span",
    },
    RecordedMetric {
        name: "flow.step.errors",
        instrument: Instrument::Counter,
        unit: "{error}",
        labels: &["flow.name", "flow.step", "error.type"],
        recorded_by: "every step span that ends in an error",
    },
    RecordedMetric {
        name: "http.server.request.duration",
        instrument: Instrument::Histogram,
        unit: "s",
        labels: &[
            "http.request.method",
            "url.scheme",
            "http.route",
            "http.response.status_code",
            "error.type",
            "flow.name",
        ],
        recorded_by: "the server middleware (flowtel-tower)",
    },
    RecordedMetric {
        name: "flowtel.violations",
        instrument: Instrument::Counter,
        unit: "{violation}",
        labels: &["rule"],
        recorded_by: "the runtime's enforcement (dropped labels, folded series)",
    },
];

/// The declaration of a metric the SDK records, by name.
pub fn get(name: &str) -> Option<&'static RecordedMetric> {
    METRICS.iter().find(|m| m.name == name)
}

/// The metrics the SDK records that `reg` does not declare (or declares as another
/// instrument), when the registry declares flows; none otherwise (a registry without flows is
/// usually a shared layer that services import).
pub fn missing(reg: &Registry) -> Vec<&'static RecordedMetric> {
    if reg.flows.is_empty() {
        return Vec::new();
    }
    METRICS
        .iter()
        .filter(|m| {
            reg.metrics
                .get(m.name)
                .is_none_or(|d| d.instrument != m.instrument)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_without_red_metrics_misses_all_of_them() {
        let loaded = crate::load::load_str(
            std::path::Path::new("x.yaml"),
            "schema: flowtel/v1\nname: x\nversion: 1.0.0\nflows:\n  signup: {owner: t}\n",
        );
        let reg = loaded.registry.unwrap();
        assert_eq!(missing(&reg).len(), METRICS.len());
        assert_eq!(
            get("flow.requests").unwrap().declaration(),
            "flow.requests: {instrument: counter, unit: '{request}', labels: [flow.name, outcome]}"
        );
    }

    #[test]
    fn the_bundled_conventions_declare_every_recorded_metric() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
        let reg = crate::check(&root).registry.unwrap();
        assert!(missing(&reg).is_empty(), "{:?}", missing(&reg));
        for m in METRICS {
            let d = &reg.metrics[m.name];
            assert_eq!(d.unit, m.unit, "{}", m.name);
            assert_eq!(
                d.labels.iter().map(String::as_str).collect::<Vec<_>>(),
                m.labels,
                "{}",
                m.name
            );
        }
    }
}
