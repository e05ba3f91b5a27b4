//! One side of a regression check read from its inputs into latency distributions per flow
//! and per step: individual durations from spans, or bucket counts from histograms.
//!
//! Spans: a step sample is a span carrying `flow.step` (its flow from `flow.name`, which
//! flowtel's SDK writes on every span of a flow); a flow sample is a trace's root span (no
//! parent), its flow from `flow.name` or else from the conventions' `entry` routes matching its
//! `http.request.method` and `http.route` — the same assignment as trace assembly, without
//! holding whole traces, so a side of a million spans is a few megabytes of durations.
//!
//! Metrics: explicit-bucket histograms of `flow.duration{flow.name}`,
//! `flow.step.duration{flow.name, flow.step}` and `http.server.request.duration` (of entry
//! routes only), from OTLP exports or Prometheus text (`flow_duration_seconds_bucket`, ...). A
//! cumulative series counts with its latest point, a delta series with the sum of its points;
//! series of one flow or step add up, and must share one bucket layout.

use std::collections::{BTreeMap, HashMap};

use flowtel_conventions::rules::registry::UNREADABLE_INPUT;
use flowtel_conventions::rules::regress::INCOMPARABLE_INPUTS;
use flowtel_conventions::rules::telemetry::MALFORMED_TELEMETRY;
use flowtel_conventions::{Finding, Location, Registry, Severity};
use flowtel_otlp::{
    AnyValue, Batch, ErrorKind, InputPosition, InputSink, InstrumentKind, KeyValue, ReadOptions,
    Temporality,
};

use super::histogram::Buckets;

/// The metrics a side may carry, by OpenTelemetry name.
pub const FLOW_DURATION: &str = "flow.duration";
/// Step durations.
pub const STEP_DURATION: &str = "flow.step.duration";
/// HTTP server durations (flow level, entry routes only).
pub const HTTP_SERVER_DURATION: &str = "http.server.request.duration";

/// A flow (`step: None`) or one of its steps.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    /// Flow name.
    pub flow: String,
    /// Step name, `None` for the flow as a whole.
    pub step: Option<String>,
}

impl GroupKey {
    /// `checkout` or `checkout/payment.authorize`.
    pub fn subject(&self) -> String {
        match &self.step {
            Some(s) => format!("{}/{s}", self.flow),
            None => self.flow.clone(),
        }
    }
}

/// What one side holds for one flow or step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupData {
    /// Durations from spans, in seconds (sorted once the side is read).
    pub samples: Vec<f64>,
    /// Histograms by metric name.
    pub buckets: BTreeMap<String, Buckets>,
}

/// One side of the comparison.
#[derive(Debug, Clone, Default)]
pub struct SideData {
    /// The inputs as named on the command line.
    pub inputs: Vec<String>,
    /// Distributions per flow and step.
    pub groups: BTreeMap<GroupKey, GroupData>,
    /// Spans read.
    pub spans_read: u64,
    /// Spans that became a sample.
    pub spans_used: u64,
    /// Histogram points read from the three metrics.
    pub points_used: u64,
    /// Fatal problems: unreadable or malformed inputs, bucket layouts that do not add up.
    pub findings: Vec<Finding>,
}

impl SideData {
    /// Keeps only the flows named in `flows` (all when it is empty).
    pub fn retain_flows(&mut self, flows: &[String]) {
        if !flows.is_empty() {
            self.groups.retain(|k, _| flows.contains(&k.flow));
        }
    }

    /// Whether the side holds no distribution at all.
    pub fn is_empty(&self) -> bool {
        self.groups
            .values()
            .all(|g| g.samples.is_empty() && g.buckets.values().all(|b| b.total() == 0))
    }
}

/// Reads every input of one side.
pub fn read_side(inputs: &[String], options: &ReadOptions, reg: &Registry) -> SideData {
    let mut sink = SideSink::new(reg);
    flowtel_otlp::read_inputs(inputs, options, &mut sink);
    sink.finish(inputs)
}

/// An entry route, `METHOD /template`, with parameter names blanked.
fn entry_key(method: &str, route: &str) -> String {
    let route: Vec<&str> = route
        .split('/')
        .map(|seg| {
            if seg.starts_with('{') || seg.starts_with(':') {
                "{}"
            } else {
                seg
            }
        })
        .collect();
    format!("{method} {}", route.join("/"))
}

/// One histogram series of one input: its group, buckets and the time of its latest point.
struct Series {
    group: GroupKey,
    metric: &'static str,
    buckets: Buckets,
    time: u64,
    file: String,
}

/// Collects one side as batches arrive.
pub struct SideSink {
    entries: HashMap<String, String>,
    data: SideData,
    series: HashMap<String, Series>,
}

fn str_attr<'a>(attrs: &'a [KeyValue], keys: &[&str]) -> Option<&'a str> {
    attrs.iter().find_map(|kv| {
        if keys.contains(&kv.key.as_str()) {
            match &kv.value {
                AnyValue::String(s) if !s.is_empty() => Some(s.as_str()),
                _ => None,
            }
        } else {
            None
        }
    })
}

/// The OpenTelemetry name of a duration metric and the factor from its unit to seconds.
fn duration_metric(name: &str, unit: &str) -> Option<(&'static str, f64)> {
    let (base, prom_scale) = if let Some(b) = name.strip_suffix("_seconds") {
        (b, Some(1.0))
    } else if let Some(b) = name.strip_suffix("_milliseconds") {
        (b, Some(1e-3))
    } else {
        (name, None)
    };
    let metric = match base.replace('_', ".").as_str() {
        "flow.duration" => FLOW_DURATION,
        "flow.step.duration" => STEP_DURATION,
        "http.server.request.duration" => HTTP_SERVER_DURATION,
        _ => return None,
    };
    let scale = prom_scale.unwrap_or(match unit {
        "ms" => 1e-3,
        "us" => 1e-6,
        "ns" => 1e-9,
        _ => 1.0,
    });
    Some((metric, scale))
}

impl SideSink {
    /// An empty side for the conventions `reg` (its flows' entry routes assign root spans).
    pub fn new(reg: &Registry) -> Self {
        let mut entries = HashMap::new();
        for (name, flow) in &reg.flows {
            for e in &flow.entry {
                if let Ok((method, route)) = e.parsed() {
                    entries.insert(entry_key(method, route.as_str()), name.clone());
                }
            }
        }
        SideSink {
            entries,
            data: SideData::default(),
            series: HashMap::new(),
        }
    }

    fn entry_flow(&self, attrs: &[KeyValue]) -> Option<&str> {
        let method = str_attr(attrs, &["http.request.method", "http_request_method"])?;
        let route = str_attr(attrs, &["http.route", "http_route"])?;
        self.entries
            .get(&entry_key(method, route))
            .map(String::as_str)
    }

    fn push(&mut self, flow: &str, step: Option<&str>, seconds: f64) {
        let key = GroupKey {
            flow: flow.to_string(),
            step: step.map(str::to_string),
        };
        self.data
            .groups
            .entry(key)
            .or_default()
            .samples
            .push(seconds);
        self.data.spans_used += 1;
    }

    fn spans(&mut self, batch: &Batch) {
        for span in batch.spans() {
            let s = span.item;
            self.data.spans_read += 1;
            if s.start_time_unix_nano == 0 || s.end_time_unix_nano < s.start_time_unix_nano {
                continue;
            }
            let seconds = (s.end_time_unix_nano - s.start_time_unix_nano) as f64 * 1e-9;
            let flow = str_attr(&s.attributes, &["flow.name"]);
            if let (Some(step), Some(flow)) = (str_attr(&s.attributes, &["flow.step"]), flow) {
                self.push(flow, Some(step), seconds);
            }
            if s.parent_span_id.is_none() {
                let flow = flow
                    .map(str::to_string)
                    .or_else(|| self.entry_flow(&s.attributes).map(str::to_string));
                if let Some(flow) = flow {
                    self.push(&flow, None, seconds);
                }
            }
        }
    }

    fn metrics(&mut self, at: InputPosition<'_>, batch: &Batch) {
        for m in batch.metrics() {
            let metric = m.item;
            if metric.kind != InstrumentKind::Histogram {
                continue;
            }
            let Some((name, scale)) = duration_metric(&metric.name, &metric.unit) else {
                continue;
            };
            let resource = fingerprint(&m.resource.attributes);
            for (i, p) in metric.points.iter().enumerate() {
                let attrs = &p.attributes;
                let flow = match name {
                    HTTP_SERVER_DURATION => self.entry_flow(attrs).map(str::to_string),
                    _ => str_attr(attrs, &["flow.name", "flow_name"]).map(str::to_string),
                };
                let Some(flow) = flow else { continue };
                let step = match name {
                    STEP_DURATION => match str_attr(attrs, &["flow.step", "flow_step"]) {
                        Some(s) => Some(s.to_string()),
                        None => continue,
                    },
                    _ => None,
                };
                if p.bucket_counts.len() != p.explicit_bounds.len() + 1
                    || p.explicit_bounds
                        .windows(2)
                        .any(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
                {
                    let pointer = m.point_pointer(i);
                    self.data.findings.push(
                        Finding::new(
                            &MALFORMED_TELEMETRY,
                            format!(
                                "histogram `{}` has {} bucket counts for {} bounds (or bounds not increasing)",
                                metric.name,
                                p.bucket_counts.len(),
                                p.explicit_bounds.len()
                            ),
                        )
                        .at(Location::new(
                            at.name,
                            batch.origin.line.map_or(1, |l| l as u32),
                            1,
                        )
                        .with_pointer(pointer))
                        .severity(Severity::Fatal),
                    );
                    continue;
                }
                self.data.points_used += 1;
                let buckets = Buckets {
                    bounds: p.explicit_bounds.iter().map(|b| b * scale).collect(),
                    counts: p.bucket_counts.clone(),
                };
                let group = GroupKey { flow, step };
                let key = format!(
                    "{}\u{1f}{resource}\u{1f}{name}\u{1f}{}",
                    at.input,
                    fingerprint(attrs)
                );
                match self.series.get_mut(&key) {
                    Some(s) if metric.temporality == Temporality::Delta => {
                        if s.buckets.add(&buckets).is_err() {
                            let f = layout_finding(&group, name, &s.buckets, &buckets, at.name);
                            self.data.findings.push(f);
                        }
                    }
                    Some(s) => {
                        if p.time_unix_nano >= s.time {
                            s.buckets = buckets;
                            s.time = p.time_unix_nano;
                        }
                    }
                    None => {
                        self.series.insert(
                            key,
                            Series {
                                group,
                                metric: name,
                                buckets,
                                time: p.time_unix_nano,
                                file: at.name.to_string(),
                            },
                        );
                    }
                }
            }
        }
    }

    /// Folds the histogram series into their groups and sorts the samples.
    pub fn finish(mut self, inputs: &[String]) -> SideData {
        let mut series: Vec<Series> = self.series.into_values().collect();
        series.sort_by(|a, b| (&a.group, a.metric, &a.file).cmp(&(&b.group, b.metric, &b.file)));
        for s in series {
            let g = self.data.groups.entry(s.group.clone()).or_default();
            match g.buckets.get_mut(s.metric) {
                Some(b) => {
                    if b.add(&s.buckets).is_err() {
                        let f = layout_finding(&s.group, s.metric, b, &s.buckets, &s.file);
                        self.data.findings.push(f);
                    }
                }
                None => {
                    g.buckets.insert(s.metric.to_string(), s.buckets);
                }
            }
        }
        for g in self.data.groups.values_mut() {
            g.samples.sort_unstable_by(f64::total_cmp);
        }
        self.data.inputs = inputs.to_vec();
        self.data
    }
}

fn fingerprint(attrs: &[KeyValue]) -> String {
    let mut parts: Vec<String> = attrs
        .iter()
        .map(|kv| format!("{}={:?}", kv.key, kv.value))
        .collect();
    parts.sort();
    parts.join(",")
}

fn fmt_bounds(b: &Buckets) -> String {
    let parts: Vec<String> = b.bounds.iter().map(|x| format!("{x}")).collect();
    format!("[{}]", parts.join(", "))
}

/// The fatal finding for two histograms of one flow or step with different buckets.
pub fn layout_finding(
    group: &GroupKey,
    metric: &str,
    expected: &Buckets,
    found: &Buckets,
    file: &str,
) -> Finding {
    Finding::new(
        &INCOMPARABLE_INPUTS,
        format!(
            "`{metric}` of {} has bucket bounds {} (seconds) in `{file}` but {} elsewhere: histograms with different layouts cannot be added or compared",
            group.subject(),
            fmt_bounds(found),
            fmt_bounds(expected)
        ),
    )
    .subject("flow", group.flow.clone())
    .subject("metric", metric)
    .help("compare exports of the same bucket layout (the conventions' `buckets` of the metric), or compare traces")
}

impl InputSink for SideSink {
    fn batch(&mut self, at: InputPosition<'_>, batch: &Batch) {
        self.spans(batch);
        self.metrics(at, batch);
    }

    fn error(&mut self, err: &flowtel_otlp::Error) {
        let rule = if err.kind == ErrorKind::Io {
            &UNREADABLE_INPUT
        } else {
            &MALFORMED_TELEMETRY
        };
        let to_u32 = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let mut message = err.message.clone();
        if err.line.is_none()
            && let Some(off) = err.byte_offset
        {
            message = format!("{message} (at byte {off})");
        }
        self.data.findings.push(
            Finding::new(rule, message)
                .at(Location::new(
                    err.file.to_string(),
                    err.line.map_or(1, to_u32),
                    err.column.map_or(1, to_u32),
                ))
                .severity(Severity::Fatal)
                .subject("input", err.file.to_string()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_from_otlp_and_prometheus() {
        assert_eq!(
            duration_metric("flow.duration", "s"),
            Some((FLOW_DURATION, 1.0))
        );
        assert_eq!(
            duration_metric("flow_step_duration_seconds", ""),
            Some((STEP_DURATION, 1.0))
        );
        assert_eq!(
            duration_metric("http.server.request.duration", "ms"),
            Some((HTTP_SERVER_DURATION, 1e-3))
        );
        assert_eq!(duration_metric("flow.requests", "{request}"), None);
    }

    #[test]
    fn entry_routes_ignore_parameter_names() {
        assert_eq!(
            entry_key("POST", "/orders/{id}/pay"),
            entry_key("POST", "/orders/:order/pay")
        );
    }
}
