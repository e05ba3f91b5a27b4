//! flowtel's meter: metric instruments that can only record what the registry declares.
//!
//! [`Meter`] hands out instruments by registry name. An unknown name, or an instrument of
//! another kind than declared, yields an instrument that records nothing (counted as a
//! violation) instead of a metric the conventions do not know. Each instrument carries the
//! metric's unit, description and histogram buckets from the registry, and a
//! [`CardinalityLimiter`] that enforces its labels and limits before the SDK sees a value.
//! The tracing layer and the tower middleware record through the same instruments, and so does
//! the service's own code. The `flowtel.violations` counter is registered here.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use flowtel_conventions::model::Instrument;
use opentelemetry::metrics::{
    BoundCounter, BoundGauge, BoundHistogram, BoundUpDownCounter, ObservableCounter,
};
use opentelemetry::{Key, KeyValue};

use crate::Conventions;
use crate::limits::{AttributeCaps, CardinalityLimiter, LabelSpec};
use crate::saturation::{Level, LimitExport, Saturation, SaturationInner};
use crate::violations::{Rule, Violations};

/// Name of flowtel's own metric counting enforcement.
pub const VIOLATIONS_METRIC: &str = "flowtel.violations";

/// Hands out registry-checked instruments. Cheap to clone.
#[derive(Clone)]
pub struct Meter {
    inner: Arc<MeterInner>,
}

struct MeterInner {
    conventions: Conventions,
    otel: opentelemetry::metrics::Meter,
    violations: Arc<Violations>,
    caps: AttributeCaps,
    /// Personal data by shape, as the registry's `pii` section configures it.
    pii_shapes: Arc<flowtel_conventions::pii::Detector>,
    instruments: Mutex<HashMap<String, Arc<dyn Any + Send + Sync>>>,
    _violations_counter: Option<ObservableCounter<u64>>,
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meter")
            .field("registry", &self.inner.conventions.name)
            .finish_non_exhaustive()
    }
}

impl Meter {
    /// A meter enforcing `conventions` on top of an OpenTelemetry meter. Registers
    /// `flowtel.violations` whether or not the registry declares it.
    pub fn new(conventions: Conventions, otel: opentelemetry::metrics::Meter) -> Meter {
        Meter::with_violations(conventions, otel, Arc::new(Violations::new()))
    }

    /// Like [`Meter::new`], counting enforcement in `violations` (shared with exporters).
    pub fn with_violations(
        conventions: Conventions,
        otel: opentelemetry::metrics::Meter,
        violations: Arc<Violations>,
    ) -> Meter {
        let caps = AttributeCaps::from_registry(&conventions);
        let pii_shapes = Arc::new(flowtel_conventions::pii::Detector::for_registry(
            &conventions,
        ));
        // Always registered, declared or not, so that dropped data is never invisible; the
        // registry's declaration gives the unit and description when it has one.
        let (unit, brief) = match conventions.metrics.get(VIOLATIONS_METRIC) {
            Some(m) => (m.unit.clone(), m.brief.clone().unwrap_or_default()),
            None => (
                flowtel_conventions::recorded::get(VIOLATIONS_METRIC)
                    .map_or("{violation}", |m| m.unit)
                    .to_owned(),
                "Labels dropped, series folded and values redacted by flowtel's runtime \
                 enforcement."
                    .to_owned(),
            ),
        };
        let v = violations.clone();
        let violations_counter = Some(
            otel.u64_observable_counter(VIOLATIONS_METRIC)
                .with_unit(unit)
                .with_description(brief)
                .with_callback(move |observer| {
                    for (rule, n) in v.snapshot() {
                        observer.observe(n, &[KeyValue::new("rule", rule.id())]);
                    }
                })
                .build(),
        );
        Meter {
            inner: Arc::new(MeterInner {
                conventions,
                otel,
                violations,
                pii_shapes,
                caps,
                instruments: Mutex::new(HashMap::new()),
                _violations_counter: violations_counter,
            }),
        }
    }

    /// The registry this meter enforces.
    pub fn conventions(&self) -> &Conventions {
        &self.inner.conventions
    }

    /// The enforcement counters (also exported as `flowtel.violations`).
    pub fn violations(&self) -> &Arc<Violations> {
        &self.inner.violations
    }

    /// A `u64` counter for the registry metric `name` (declared `instrument: counter`).
    pub fn u64_counter(&self, name: &str) -> Counter<u64> {
        Counter(self.limiter(name, Instrument::Counter, |m, spec| {
            let c = m
                .u64_counter(spec.name.clone())
                .with_unit(spec.unit.clone());
            let c = c.with_description(spec.brief.clone()).build();
            Box::new(move |kv: &[KeyValue]| c.bind(kv))
        }))
    }

    /// An `f64` counter for the registry metric `name` (declared `instrument: counter`).
    pub fn f64_counter(&self, name: &str) -> Counter<f64> {
        Counter(self.limiter(name, Instrument::Counter, |m, spec| {
            let c = m
                .f64_counter(spec.name.clone())
                .with_unit(spec.unit.clone());
            let c = c.with_description(spec.brief.clone()).build();
            Box::new(move |kv: &[KeyValue]| c.bind(kv))
        }))
    }

    /// An `i64` up-down counter for `name` (declared `instrument: updown_counter`).
    pub fn i64_up_down_counter(&self, name: &str) -> UpDownCounter {
        UpDownCounter(self.limiter(name, Instrument::UpdownCounter, |m, spec| {
            let c = m
                .i64_up_down_counter(spec.name.clone())
                .with_unit(spec.unit.clone());
            let c = c.with_description(spec.brief.clone()).build();
            Box::new(move |kv: &[KeyValue]| c.bind(kv))
        }))
    }

    /// An `f64` gauge for `name` (declared `instrument: gauge`).
    pub fn f64_gauge(&self, name: &str) -> Gauge {
        Gauge(self.limiter(name, Instrument::Gauge, |m, spec| {
            let c = m.f64_gauge(spec.name.clone()).with_unit(spec.unit.clone());
            let c = c.with_description(spec.brief.clone()).build();
            Box::new(move |kv: &[KeyValue]| c.bind(kv))
        }))
    }

    /// An `f64` histogram for `name` (declared `instrument: histogram`), with the registry's
    /// buckets when it declares them.
    pub fn f64_histogram(&self, name: &str) -> Histogram {
        Histogram(self.limiter(name, Instrument::Histogram, |m, spec| {
            let mut b = m
                .f64_histogram(spec.name.clone())
                .with_unit(spec.unit.clone());
            b = b.with_description(spec.brief.clone());
            if let Some(buckets) = &spec.buckets {
                b = b.with_boundaries(buckets.clone());
            }
            let h = b.build();
            Box::new(move |kv: &[KeyValue]| h.bind(kv))
        }))
    }

    /// The typed handle of the saturation signal `name` (a metric with `saturation` in the
    /// registry); see [`Saturation`]. Asking for a name that is not a declared saturation
    /// signal yields a handle that records nothing, counted as a violation.
    pub fn saturation(&self, name: &str) -> Saturation {
        let inner = &self.inner;
        let Some(metric) = inner.conventions.metrics.get(name) else {
            inner.violations.count(Rule::UnknownMetric, 1, || {
                format!("saturation signal `{name}` is not declared in the conventions; nothing recorded")
            });
            return Saturation(None);
        };
        let Some(sat) = &metric.saturation else {
            inner.violations.count(Rule::InstrumentMismatch, 1, || {
                format!("metric `{name}` declares no `saturation` limit, so it is not a saturation signal; nothing recorded")
            });
            return Saturation(None);
        };
        let key = format!("saturation:{name}");
        if let Some(existing) = inner
            .instruments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            && let Ok(s) = existing.clone().downcast::<SaturationInner>()
        {
            return Saturation(Some(s));
        }
        let level = match metric.instrument {
            Instrument::UpdownCounter => Level::UpDown(self.i64_up_down_counter(name)),
            Instrument::Gauge => Level::Gauge(self.f64_gauge(name)),
            other => {
                inner.violations.count(Rule::InstrumentMismatch, 1, || {
                    format!(
                        "saturation signal `{name}` is declared as a {}, which has no level; nothing recorded",
                        other.as_str()
                    )
                });
                return Saturation(None);
            }
        };
        let limit_name = flowtel_conventions::Metric::limit_metric_name(name);
        let limit = sat.limit;
        let limit_export = if sat.per.is_empty() {
            let m = inner.conventions.metrics.get(&limit_name);
            LimitExport::Observed(
                inner
                    .otel
                    .f64_observable_gauge(limit_name)
                    .with_unit(metric.unit.clone())
                    .with_description(m.and_then(|m| m.brief.clone()).unwrap_or_default())
                    .with_callback(move |o| o.observe(limit, &[]))
                    .build(),
            )
        } else {
            LimitExport::PerResource {
                gauge: self.f64_gauge(&limit_name),
                per: sat.per.iter().map(|k| Key::from(k.clone())).collect(),
            }
        };
        let handle = Arc::new(SaturationInner {
            name: name.into(),
            level,
            limit,
            limit_export,
            violations: inner.violations.clone(),
        });
        inner
            .instruments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, handle.clone());
        Saturation(Some(handle))
    }

    fn limiter<H: Send + Sync + 'static>(
        &self,
        name: &str,
        kind: Instrument,
        build: impl FnOnce(&opentelemetry::metrics::Meter, &Spec) -> crate::limits::Binder<H>,
    ) -> Option<Arc<CardinalityLimiter<H>>> {
        let inner = &self.inner;
        let Some(metric) = inner.conventions.metrics.get(name) else {
            inner.violations.count(Rule::UnknownMetric, 1, || {
                format!("metric `{name}` is not declared in the conventions; nothing recorded")
            });
            return None;
        };
        if metric.instrument != kind {
            inner.violations.count(Rule::InstrumentMismatch, 1, || {
                format!(
                    "metric `{name}` is declared as a {} but was asked for as a {}; nothing \
                     recorded",
                    metric.instrument.as_str(),
                    kind.as_str()
                )
            });
            return None;
        }
        let mut instruments = inner
            .instruments
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = instruments.get(name) {
            // The same metric asked for with another value type is a distinct SDK instrument
            // that would double the series: refuse it.
            return match existing.clone().downcast::<CardinalityLimiter<H>>() {
                Ok(l) => Some(l),
                Err(_) => {
                    inner.violations.count(Rule::InstrumentMismatch, 1, || {
                        format!("metric `{name}` was already created with another value type")
                    });
                    None
                }
            };
        }
        let spec = Spec {
            name: name.to_owned(),
            unit: metric.unit.clone(),
            brief: metric.brief.clone().unwrap_or_default(),
            buckets: metric.buckets.clone(),
        };
        let registry = &inner.conventions;
        let is_pii = |l: &str| registry.attributes.get(l).is_some_and(|a| a.pii);
        let labels = metric
            .labels
            .iter()
            .filter(|l| !is_pii(l))
            .map(|l| LabelSpec {
                key: Key::from(l.clone()),
                cap: inner.caps.get(l),
            })
            .collect();
        let pii = registry
            .attributes
            .iter()
            .filter(|(_, a)| a.pii)
            .map(|(k, _)| Key::from(k.clone()))
            .collect();
        let limit = metric
            .cardinality_limit
            .unwrap_or(registry.defaults.cardinality_limit) as usize;
        let ip_addresses: Vec<Key> = metric
            .labels
            .iter()
            .filter(|l| {
                registry
                    .attributes
                    .get(l.as_str())
                    .is_some_and(|a| flowtel_conventions::pii::declares_network_address(l, a))
            })
            .map(|l| Key::from(l.clone()))
            .collect();
        let limiter = Arc::new(
            CardinalityLimiter::new(
                name,
                labels,
                pii,
                limit,
                inner.violations.clone(),
                build(&inner.otel, &spec),
            )
            .with_pii_shapes(inner.pii_shapes.clone(), &ip_addresses),
        );
        instruments.insert(name.to_owned(), limiter.clone());
        Some(limiter)
    }
}

/// What an SDK instrument is built from.
struct Spec {
    name: String,
    unit: String,
    brief: String,
    buckets: Option<Vec<f64>>,
}

/// A monotonic counter of a registry metric; records nothing when the metric is unknown.
#[derive(Debug, Clone)]
pub struct Counter<T>(Option<Arc<CardinalityLimiter<BoundCounter<T>>>>);

impl<T> Counter<T> {
    /// Adds `value` to the series of `attrs` once enforced.
    pub fn add(&self, value: T, attrs: &[KeyValue]) {
        if let Some(l) = &self.0 {
            l.with_series(attrs, |h| h.add(value));
        }
    }

    /// The limiter, for inspection (`None` when the metric is unknown).
    pub fn limiter(&self) -> Option<&CardinalityLimiter<BoundCounter<T>>> {
        self.0.as_deref()
    }
}

/// An up-down counter of a registry metric.
#[derive(Debug, Clone)]
pub struct UpDownCounter(Option<Arc<CardinalityLimiter<BoundUpDownCounter<i64>>>>);

impl UpDownCounter {
    /// Adds `value` (may be negative) to the series of `attrs` once enforced.
    pub fn add(&self, value: i64, attrs: &[KeyValue]) {
        if let Some(l) = &self.0 {
            l.with_series(attrs, |h| h.add(value));
        }
    }

    /// The SDK handle of the series `attrs` belongs to once enforced, to record the same
    /// series again without looking it up (`None` when the metric is unknown).
    pub fn series(&self, attrs: &[KeyValue]) -> Option<BoundUpDownCounter<i64>> {
        self.0.as_ref().map(|l| l.with_series(attrs, |h| h.clone()))
    }
}

/// A gauge of a registry metric.
#[derive(Debug, Clone)]
pub struct Gauge(Option<Arc<CardinalityLimiter<BoundGauge<f64>>>>);

impl Gauge {
    /// Records the current `value` of the series of `attrs` once enforced.
    pub fn record(&self, value: f64, attrs: &[KeyValue]) {
        if let Some(l) = &self.0 {
            l.with_series(attrs, |h| h.record(value));
        }
    }
}

/// A histogram of a registry metric, with the registry's buckets.
#[derive(Debug, Clone)]
pub struct Histogram(Option<Arc<CardinalityLimiter<BoundHistogram<f64>>>>);

impl Histogram {
    /// Records `value` in the series of `attrs` once enforced.
    pub fn record(&self, value: f64, attrs: &[KeyValue]) {
        if let Some(l) = &self.0 {
            l.with_series(attrs, |h| h.record(value));
        }
    }

    /// The limiter, for inspection (`None` when the metric is unknown).
    pub fn limiter(&self) -> Option<&CardinalityLimiter<BoundHistogram<f64>>> {
        self.0.as_deref()
    }
}

/// A fixed-capacity label list built on the stack, so recording a metric from optional parts
/// allocates nothing (and, unlike an array of placeholders, initialises only what is pushed).
#[derive(Debug, Default)]
pub struct Labels<const N: usize> {
    kvs: smallvec::SmallVec<[KeyValue; N]>,
}

impl<const N: usize> Labels<N> {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `kv` (ignored when absent, or when the list is full).
    pub fn push(&mut self, kv: impl Into<Option<KeyValue>>) -> &mut Self {
        if let Some(kv) = kv.into()
            && self.kvs.len() < N
        {
            self.kvs.push(kv);
        }
        self
    }

    /// Replaces the last label (e.g. `outcome` by `error.type`).
    pub fn replace_last(&mut self, kv: KeyValue) -> &mut Self {
        if let Some(last) = self.kvs.last_mut() {
            *last = kv;
        }
        self
    }

    /// The labels pushed so far.
    pub fn as_slice(&self) -> &[KeyValue] {
        &self.kvs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_skip_absent_parts_and_never_overflow() {
        let mut l = Labels::<2>::new();
        l.push(None)
            .push(KeyValue::new("a", 1))
            .push(KeyValue::new("b", 2));
        l.push(KeyValue::new("c", 3));
        assert_eq!(
            l.as_slice(),
            &[KeyValue::new("a", 1), KeyValue::new("b", 2)]
        );
        l.replace_last(KeyValue::new("e", 5));
        assert_eq!(l.as_slice()[1], KeyValue::new("e", 5));
    }
}
