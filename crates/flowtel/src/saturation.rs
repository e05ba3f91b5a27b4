//! Saturation signals: the level of a bounded resource (requests in flight, items queued,
//! connections in use) next to the capacity the conventions declare for it.
//!
//! A metric with `saturation: {limit: ...}` in the registry is a saturation signal.
//! [`Saturation`] is its typed handle: `inc`/`dec`/`add` for an `updown_counter`, `set` for a
//! `gauge`, [`Saturation::track`] for a guard that counts one unit while it lives. Values go
//! through the same enforcement as every other metric (declared labels only, cardinality
//! limits). The handle also exports the declared limit as the gauge `<name>.limit`, labelled by
//! the signal's `per` labels, so dashboards and alerts divide the level by the limit that the
//! conventions state, never by a number copied into a query. Misuse (an undeclared name, a
//! metric that is not a saturation signal, `set` on an up-down counter) records nothing and is
//! counted in `flowtel.violations`; nothing panics.

use std::sync::Arc;

use opentelemetry::metrics::ObservableGauge;
use opentelemetry::{Key, KeyValue};

use crate::meter::{Gauge, UpDownCounter};
use crate::violations::{Rule, Violations};

/// How the level is recorded.
#[derive(Debug)]
pub(crate) enum Level {
    /// `instrument: updown_counter`: changes are added.
    UpDown(UpDownCounter),
    /// `instrument: gauge`: the current value is set.
    Gauge(Gauge),
}

/// How the limit is exported.
pub(crate) enum LimitExport {
    /// No `per` labels: one observable series with the constant limit.
    Observed(#[allow(dead_code)] ObservableGauge<f64>),
    /// `per` labels: the limit is recorded for each resource the signal sees.
    PerResource { gauge: Gauge, per: Box<[Key]> },
}

impl std::fmt::Debug for LimitExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitExport::Observed(_) => f.write_str("Observed"),
            LimitExport::PerResource { per, .. } => {
                f.debug_struct("PerResource").field("per", per).finish()
            }
        }
    }
}

#[derive(Debug)]
pub(crate) struct SaturationInner {
    pub(crate) name: Box<str>,
    pub(crate) level: Level,
    pub(crate) limit: f64,
    pub(crate) limit_export: LimitExport,
    pub(crate) violations: Arc<Violations>,
}

/// Typed handle of a saturation signal declared in the conventions; cheap to clone.
///
/// ```no_run
/// # fn demo(telemetry: &flowtel::Telemetry) {
/// use opentelemetry::KeyValue;
/// let queue = telemetry.saturation(flowtel::saturation!("orders.queue.depth"));
/// let labels = [KeyValue::new("queue.name", "authorizations")];
/// queue.inc(&labels);      // an order was queued
/// queue.dec(&labels);      // and taken off the queue
/// let _busy = queue.track(&labels); // one unit while `_busy` lives
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Saturation(pub(crate) Option<Arc<SaturationInner>>);

impl Saturation {
    /// A handle that records nothing (for optional signals the conventions do not declare).
    pub fn disabled() -> Saturation {
        Saturation(None)
    }

    /// The declared limit (`None` when the handle records nothing).
    pub fn limit(&self) -> Option<f64> {
        self.0.as_ref().map(|s| s.limit)
    }

    /// Adds one to the level of the series `labels` (`updown_counter` signals).
    pub fn inc(&self, labels: &[KeyValue]) {
        self.add(1, labels);
    }

    /// Subtracts one from the level of the series `labels` (`updown_counter` signals).
    pub fn dec(&self, labels: &[KeyValue]) {
        self.add(-1, labels);
    }

    /// Adds `delta` (may be negative) to the level (`updown_counter` signals).
    pub fn add(&self, delta: i64, labels: &[KeyValue]) {
        let Some(s) = &self.0 else { return };
        match &s.level {
            Level::UpDown(c) => {
                c.add(delta, labels);
                s.export_limit(labels);
            }
            Level::Gauge(_) => s.misuse("add to", "gauge", "set"),
        }
    }

    /// Sets the current level of the series `labels` (`gauge` signals).
    pub fn set(&self, value: f64, labels: &[KeyValue]) {
        let Some(s) = &self.0 else { return };
        match &s.level {
            Level::Gauge(g) => {
                g.record(value, labels);
                s.export_limit(labels);
            }
            Level::UpDown(_) => s.misuse("set", "updown_counter", "inc/dec/add"),
        }
    }

    /// Like [`Saturation::track`], but the guard owns what it needs (no borrow of the labels
    /// or the handle), and the series is looked up once for both the increment and the
    /// decrement: for per-request accounting such as in-flight requests.
    #[must_use = "the unit is released when the guard is dropped"]
    pub fn hold(&self, labels: &[KeyValue]) -> Held {
        let Some(s) = &self.0 else {
            return Held(None);
        };
        match &s.level {
            Level::UpDown(c) => {
                let series = c.series(labels);
                if let Some(h) = &series {
                    h.add(1);
                }
                s.export_limit(labels);
                Held(series)
            }
            Level::Gauge(_) => {
                s.misuse("hold a unit of", "gauge", "set");
                Held(None)
            }
        }
    }

    /// Counts one unit in the series `labels` until the returned guard is dropped: a request
    /// in flight, a connection checked out (`updown_counter` signals).
    #[must_use = "the unit is released when the guard is dropped"]
    pub fn track<'a>(&'a self, labels: &'a [KeyValue]) -> Tracked<'a> {
        self.inc(labels);
        Tracked {
            signal: self,
            labels,
        }
    }
}

impl SaturationInner {
    fn export_limit(&self, labels: &[KeyValue]) {
        if let LimitExport::PerResource { gauge, per } = &self.limit_export {
            let mut picked = crate::meter::Labels::<{ crate::limits::MAX_LABELS }>::new();
            for kv in labels.iter().filter(|kv| per.contains(&kv.key)) {
                picked.push(kv.clone());
            }
            gauge.record(self.limit, picked.as_slice());
        }
    }

    fn misuse(&self, verb: &str, kind: &str, instead: &str) {
        self.violations.count(Rule::InstrumentMismatch, 1, || {
            format!(
                "cannot {verb} saturation signal `{}`: it is declared as a {kind}; use {instead}; nothing recorded",
                self.name
            )
        });
    }
}

/// One unit of a saturation signal, released on drop; see [`Saturation::hold`].
#[must_use = "the unit is released when the guard is dropped"]
pub struct Held(Option<opentelemetry::metrics::BoundUpDownCounter<i64>>);

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Held").field(&self.0.is_some()).finish()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(h) = &self.0 {
            h.add(-1);
        }
    }
}

/// One unit of a saturation signal, released on drop; see [`Saturation::track`].
#[derive(Debug)]
pub struct Tracked<'a> {
    signal: &'a Saturation,
    labels: &'a [KeyValue],
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        self.signal.dec(self.labels);
    }
}
