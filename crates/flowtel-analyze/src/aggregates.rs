//! Mergeable aggregates of analysed traces, as Prometheus metrics: what `flowtel live --analyze`
//! exports so that many instances behind a trace-id load balancer add up in Prometheus.
//!
//! Every aggregate is a counter or a histogram with fixed buckets, so summing the series of
//! several instances (`sum by (flow, service)`) gives exactly what one instance would report for
//! all their traces. The metric names and labels are declared in the bundled conventions (see
//! [`names`]) and derived by the OpenTelemetry-to-Prometheus translation, so `flowtel lint
//! telemetry http://.../metrics` lints flowtel's own output; a histogram's buckets are those the
//! conventions declare for it, else [`DEFAULT_BUCKETS`]. Sampled traces (`ot=th:` in
//! `tracestate`) count for the traces they stand for. Label values come from telemetry, so the
//! series per metric are capped ([`FlowAggregates::new`]): past the cap new label sets fold into
//! one series whose labels are all [`OVERFLOW`], and the folds are counted.
//!
//! This module owns the numbers and their text; assembling traces as they arrive is
//! [`crate::stream`], serving the text is `flowtel-live`'s.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use flowtel_conventions::{Instrument, Registry, prometheus};

use crate::completeness::NO_FLOW;
use crate::critical::{Segment, TracePath, Walker};
use crate::map::{Call, calls_of};
use crate::trace::TraceSet;

/// The declared (OpenTelemetry) names of the exported metrics.
pub mod names {
    /// Critical-path time per trace, by flow, service and step (histogram, seconds).
    pub const CRITICAL_PATH: &str = "flowtel.critical_path";
    /// Calls between services, by client, server and flow (counter).
    pub const REQUESTS: &str = "flowtel.service_graph.requests";
    /// Of them, failed (counter).
    pub const REQUESTS_FAILED: &str = "flowtel.service_graph.requests.failed";
    /// Of them, retries (counter).
    pub const REQUESTS_RETRIES: &str = "flowtel.service_graph.requests.retries";
    /// Client-side duration of the calls (histogram, seconds).
    pub const REQUEST_CLIENT: &str = "flowtel.service_graph.request.client";
    /// Server-side duration of the calls (histogram, seconds).
    pub const REQUEST_SERVER: &str = "flowtel.service_graph.request.server";
    /// Traces analysed, by flow (counter).
    pub const TRACES: &str = "flowtel.traces";
    /// Of them, partial: some span's parent never arrived (counter).
    pub const TRACES_PARTIAL: &str = "flowtel.traces.partial";
    /// Traces analysed before they were idle, to keep memory bounded (counter).
    pub const TRACES_EVICTED: &str = "flowtel.traces.evicted";
    /// Traces being assembled (gauge).
    pub const TRACES_OPEN: &str = "flowtel.traces.open";
    /// Label sets folded into the overflow series (counter).
    pub const SERIES_FOLDED: &str = "flowtel.series.folded";
}

/// Buckets of a histogram the conventions declare without buckets (seconds).
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The label value every label of a folded series takes.
pub const OVERFLOW: &str = "_overflow";

/// Default cap on the series of one metric.
pub const DEFAULT_MAX_SERIES: usize = 2000;

/// A fixed-bucket histogram with weighed observations.
#[derive(Clone, Debug, Default, PartialEq)]
struct Histogram {
    /// Per bound, observations at or below it and above the previous one; the last slot is +Inf.
    counts: Vec<f64>,
    sum: f64,
    count: f64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], value: f64, weight: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0.0; bounds.len() + 1];
        }
        let i = bounds.partition_point(|b| *b < value);
        self.counts[i] += weight;
        self.sum += value * weight;
        self.count += weight;
    }
}

/// Series of one metric by label values.
#[derive(Clone, Debug)]
struct Family<T> {
    name: &'static str,
    labels: &'static [&'static str],
    series: BTreeMap<Vec<Box<str>>, T>,
}

impl<T: Default> Family<T> {
    fn new(name: &'static str, labels: &'static [&'static str]) -> Self {
        Family {
            name,
            labels,
            series: BTreeMap::new(),
        }
    }

    /// The series of `values`, or the overflow series when the family is full.
    fn get(&mut self, values: &[&str], max: usize, folded: &mut u64) -> &mut T {
        let key: Vec<Box<str>> = values.iter().map(|v| Box::<str>::from(*v)).collect();
        if !self.series.contains_key(&key) && self.series.len() >= max {
            *folded += 1;
            let overflow = vec![Box::<str>::from(OVERFLOW); values.len()];
            return self.series.entry(overflow).or_default();
        }
        self.series.entry(key).or_default()
    }
}

/// Counters and histograms of analysed traces; see the module docs.
#[derive(Debug)]
pub struct FlowAggregates {
    max_series: usize,
    critical_bounds: Vec<f64>,
    client_bounds: Vec<f64>,
    server_bounds: Vec<f64>,
    critical: Family<Histogram>,
    requests: Family<f64>,
    failed: Family<f64>,
    retries: Family<f64>,
    client: Family<Histogram>,
    server: Family<Histogram>,
    traces: Family<f64>,
    partial: Family<f64>,
    folded: u64,
    walker: Walker,
    segments: Vec<Segment>,
    calls: Vec<Call>,
}

/// Counts the stream reports with the aggregates.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StreamGauges {
    /// Traces analysed before they were idle (counter).
    pub evicted: f64,
    /// Traces being assembled now.
    pub open: f64,
}

const FLOW_SERVICE_STEP: &[&str] = &["flow", "service", "step"];
const CLIENT_SERVER_FLOW: &[&str] = &["client", "server", "flow"];
const FLOW: &[&str] = &["flow"];

impl FlowAggregates {
    /// Empty aggregates with the buckets `reg` declares, at most `max_series` series per metric.
    pub fn new(reg: &Registry, max_series: usize) -> Self {
        let bounds = |name: &str| -> Vec<f64> {
            reg.metrics
                .get(name)
                .and_then(|m| m.buckets.clone())
                .unwrap_or_else(|| DEFAULT_BUCKETS.to_vec())
        };
        FlowAggregates {
            max_series: max_series.max(1),
            critical_bounds: bounds(names::CRITICAL_PATH),
            client_bounds: bounds(names::REQUEST_CLIENT),
            server_bounds: bounds(names::REQUEST_SERVER),
            critical: Family::new(names::CRITICAL_PATH, FLOW_SERVICE_STEP),
            requests: Family::new(names::REQUESTS, CLIENT_SERVER_FLOW),
            failed: Family::new(names::REQUESTS_FAILED, CLIENT_SERVER_FLOW),
            retries: Family::new(names::REQUESTS_RETRIES, CLIENT_SERVER_FLOW),
            client: Family::new(names::REQUEST_CLIENT, CLIENT_SERVER_FLOW),
            server: Family::new(names::REQUEST_SERVER, CLIENT_SERVER_FLOW),
            traces: Family::new(names::TRACES, FLOW),
            partial: Family::new(names::TRACES_PARTIAL, FLOW),
            folded: 0,
            walker: Walker::default(),
            segments: Vec::new(),
            calls: Vec::new(),
        }
    }

    /// Adds every trace of `set`: its count, its critical path per step and its calls.
    pub fn record(&mut self, set: &TraceSet) {
        let max = self.max_series;
        for trace in &set.traces {
            let w = trace.weight();
            let flow = set.flow_of(trace).unwrap_or(NO_FLOW);
            *self.traces.get(&[flow], max, &mut self.folded) += w;
            if trace.is_partial() {
                *self.partial.get(&[flow], max, &mut self.folded) += w;
            }
            self.walker.walk(set, trace, &mut self.segments);
            let path = TracePath {
                trace: 0,
                duration: 0,
                segments: std::mem::take(&mut self.segments),
            };
            for ((service, step), ns) in path.time_by_step(set) {
                self.critical
                    .get(
                        &[flow, set.str(service), set.str(step)],
                        max,
                        &mut self.folded,
                    )
                    .observe(&self.critical_bounds, ns as f64 / 1e9, w);
            }
            self.segments = path.segments;
            calls_of(set, trace, &mut self.calls);
            for c in &self.calls {
                let server = match set.str(c.server) {
                    "" => "unknown",
                    s => s,
                };
                let labels = [set.str(c.client), server, flow];
                *self.requests.get(&labels, max, &mut self.folded) += w;
                if c.failed {
                    *self.failed.get(&labels, max, &mut self.folded) += w;
                }
                if c.retry {
                    *self.retries.get(&labels, max, &mut self.folded) += w;
                }
                if let Some(ns) = c.client_ns {
                    self.client.get(&labels, max, &mut self.folded).observe(
                        &self.client_bounds,
                        ns as f64 / 1e9,
                        w,
                    );
                }
                if let Some(ns) = c.server_ns {
                    self.server.get(&labels, max, &mut self.folded).observe(
                        &self.server_bounds,
                        ns as f64 / 1e9,
                        w,
                    );
                }
            }
        }
    }

    /// Label sets folded into the overflow series so far.
    pub fn folded(&self) -> u64 {
        self.folded
    }

    /// The Prometheus text exposition (format 0.0.4) of the aggregates and `gauges`.
    pub fn exposition(&self, gauges: StreamGauges) -> String {
        let mut out = String::new();
        histogram(
            &mut out,
            &self.critical,
            &self.critical_bounds,
            "Critical-path time of a trace spent in each step, by flow, service and step.",
        );
        counter(
            &mut out,
            &self.requests,
            "Calls between services (sampled traces weighed back), by client, server and flow.",
        );
        counter(
            &mut out,
            &self.failed,
            "Calls between services that failed.",
        );
        counter(
            &mut out,
            &self.retries,
            "Calls between services that repeat an earlier call of the same parent (or carry http.request.resend_count > 0).",
        );
        histogram(
            &mut out,
            &self.client,
            &self.client_bounds,
            "Client-side duration of calls between services.",
        );
        histogram(
            &mut out,
            &self.server,
            &self.server_bounds,
            "Server-side duration of calls between services.",
        );
        counter(&mut out, &self.traces, "Traces analysed, by flow.");
        counter(
            &mut out,
            &self.partial,
            "Traces analysed in which some span's parent never arrived, by flow.",
        );
        single(
            &mut out,
            names::TRACES_EVICTED,
            Instrument::Counter,
            "{trace}",
            "Traces analysed before they were idle, to keep memory bounded.",
            gauges.evicted,
        );
        single(
            &mut out,
            names::TRACES_OPEN,
            Instrument::Gauge,
            "{trace}",
            "Traces being assembled.",
            gauges.open,
        );
        single(
            &mut out,
            names::SERIES_FOLDED,
            Instrument::Counter,
            "{series}",
            "Label sets folded into the overflow series (all labels `_overflow`).",
            self.folded as f64,
        );
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn labels(out: &mut String, names: &[&str], values: &[Box<str>], extra: Option<(&str, &str)>) {
    out.push('{');
    let mut first = true;
    let pairs = names
        .iter()
        .copied()
        .zip(values.iter().map(|v| &**v))
        .chain(extra);
    for (n, v) in pairs {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(n);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
}

fn number(x: f64) -> String {
    if x.is_infinite() {
        if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{x}")
    }
}

fn counter(out: &mut String, family: &Family<f64>, help: &str) {
    let name = prometheus::name(family.name, "", Instrument::Counter);
    header(out, &name, "counter", help);
    for (values, v) in &family.series {
        out.push_str(&name);
        labels(out, family.labels, values, None);
        let _ = writeln!(out, " {}", number(*v));
    }
}

fn histogram(out: &mut String, family: &Family<Histogram>, bounds: &[f64], help: &str) {
    let name = prometheus::name(family.name, "s", Instrument::Histogram);
    header(out, &name, "histogram", help);
    for (values, h) in &family.series {
        let mut cumulative = 0.0;
        for (i, c) in h.counts.iter().enumerate() {
            cumulative += c;
            let le = bounds
                .get(i)
                .map_or_else(|| "+Inf".to_string(), |b| number(*b));
            let _ = write!(out, "{name}_bucket");
            labels(out, family.labels, values, Some(("le", &le)));
            let _ = writeln!(out, " {}", number(cumulative));
        }
        let _ = write!(out, "{name}_sum");
        labels(out, family.labels, values, None);
        let _ = writeln!(out, " {}", number(h.sum));
        let _ = write!(out, "{name}_count");
        labels(out, family.labels, values, None);
        let _ = writeln!(out, " {}", number(h.count));
    }
}

fn single(out: &mut String, name: &str, instrument: Instrument, unit: &str, help: &str, v: f64) {
    let name = prometheus::name(name, unit, instrument);
    let kind = if instrument == Instrument::Counter {
        "counter"
    } else {
        "gauge"
    };
    header(out, &name, kind, help);
    let _ = writeln!(out, "{name} {}", number(v));
}
