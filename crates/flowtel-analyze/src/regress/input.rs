//! One side of a regression check read from its inputs into latency distributions per flow
//! and per step: individual durations from spans, or bucket counts from histograms.
//!
//! Spans: a step sample is a span carrying `flow.step` (its flow from `flow.name`, which
//! flowtel's SDK writes on every span of a flow); a flow sample is a trace's root span (no
//! parent), its flow from `flow.name` or else from the conventions' `entry` routes matching its
//! `http.request.method` and `http.route` — the same assignment as trace assembly, without
//! holding whole traces, so a side of a million spans is a few megabytes of durations.
//!
//! OTLP JSON lines are read through [`flowtel_otlp::spanview`]'s borrowed span views: per span
//! only the times, the parent and the four attributes above are decoded, the rest (events,
//! other attributes' values) skipped unread, and nothing is allocated per span; a sample goes
//! into its group's vector through a lookup by `&str`. Every other input (documents, protobuf,
//! Prometheus text, metric requests in JSON lines) takes the batch path. Both give the same
//! [`SideData`]; the views check only the fields they read, so a line whose skipped parts are
//! well-formed JSON but not valid OTLP (an event of the wrong shape) is not reported by them.
//!
//! Metrics: explicit-bucket histograms of `flow.duration{flow.name}`,
//! `flow.step.duration{flow.name, flow.step}` and `http.server.request.duration` (of entry
//! routes only), from OTLP exports or Prometheus text (`flow_duration_seconds_bucket`, ...). A
//! cumulative series counts with its latest point, a delta series with the sum of its points;
//! series of one flow or step add up, and must share one bucket layout.

use std::collections::{BTreeMap, HashMap};

use foldhash::fast::RandomState;

use flowtel_conventions::rules::registry::UNREADABLE_INPUT;
use flowtel_conventions::rules::regress::INCOMPARABLE_INPUTS;
use flowtel_conventions::rules::telemetry::MALFORMED_TELEMETRY;
use flowtel_conventions::{Finding, Location, Registry, Severity};
use flowtel_otlp::{
    AnyValue, Batch, ErrorKind, InputPosition, InputSink, InstrumentKind, JsonRequest, KeyValue,
    KeyValueView, ReadOptions, Signal, SpanView, SpanViewSink, Temporality, ValueView,
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
#[derive(Debug, Clone, Default, PartialEq)]
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
    let mut key = String::new();
    write_entry_key(&mut key, method, route);
    key
}

/// [`entry_key`] into a reused buffer.
fn write_entry_key(out: &mut String, method: &str, route: &str) {
    out.clear();
    out.push_str(method);
    out.push(' ');
    for (i, seg) in route.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if seg.starts_with('{') || seg.starts_with(':') {
            out.push_str("{}");
        } else {
            out.push_str(seg);
        }
    }
}

/// One histogram series of one input: its group, buckets and the time of its latest point.
struct Series {
    group: GroupKey,
    metric: &'static str,
    buckets: Buckets,
    time: u64,
    file: String,
}

/// The samples of one flow or step while the side is read.
struct Samples {
    key: GroupKey,
    samples: Vec<f64>,
}

/// A flow's groups by index into [`SideSink::samples`]: the flow as a whole, and its steps.
#[derive(Default)]
struct FlowSlots {
    whole: Option<usize>,
    steps: HashMap<Box<str>, usize, RandomState>,
}

/// What regress reads from a span's attributes: per key, the first non-empty string value
/// (keys with `_` are the Prometheus-style spellings entry routes also accept).
#[derive(Default)]
struct Wanted<'a> {
    flow: Option<&'a str>,
    step: Option<&'a str>,
    method: Option<&'a str>,
    route: Option<&'a str>,
}

impl<'a> Wanted<'a> {
    /// Whether the span attribute `key` is one of them (the view path keeps only these).
    fn is_wanted(key: &str) -> bool {
        matches!(
            key,
            "flow.name"
                | "flow.step"
                | "http.request.method"
                | "http_request_method"
                | "http.route"
                | "http_route"
        )
    }

    fn from_attributes(attrs: impl Iterator<Item = (&'a str, Option<&'a str>)>) -> Self {
        let mut w = Wanted::default();
        for (key, value) in attrs {
            let Some(value) = value.filter(|v| !v.is_empty()) else {
                continue;
            };
            let slot = match key {
                "flow.name" => &mut w.flow,
                "flow.step" => &mut w.step,
                "http.request.method" | "http_request_method" => &mut w.method,
                "http.route" | "http_route" => &mut w.route,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        w
    }
}

/// Collects one side as batches (or JSON lines' span views) arrive.
pub struct SideSink {
    entries: HashMap<String, String>,
    data: SideData,
    series: HashMap<String, Series>,
    /// Span samples per group, and the groups by flow and step.
    samples: Vec<Samples>,
    slots: HashMap<Box<str>, FlowSlots, RandomState>,
    /// Samples of the request being read, `(group, seconds)`, kept once it is read whole.
    pending: Vec<(usize, f64)>,
    /// Spans of the request being read.
    pending_read: u64,
    /// Buffer for entry-route keys.
    key_buf: String,
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
            samples: Vec::new(),
            slots: HashMap::default(),
            pending: Vec::new(),
            pending_read: 0,
            key_buf: String::new(),
        }
    }

    fn entry_flow(&self, attrs: &[KeyValue]) -> Option<&str> {
        let method = str_attr(attrs, &["http.request.method", "http_request_method"])?;
        let route = str_attr(attrs, &["http.route", "http_route"])?;
        self.entries
            .get(&entry_key(method, route))
            .map(String::as_str)
    }

    /// The index of the group of `flow` (and `step`), created on first use.
    fn group(&mut self, flow: &str, step: Option<&str>) -> usize {
        let next = self.samples.len();
        let slots = match self.slots.get_mut(flow) {
            Some(s) => s,
            None => self.slots.entry(flow.into()).or_default(),
        };
        let (index, created) = match step {
            None => match slots.whole {
                Some(i) => (i, false),
                None => {
                    slots.whole = Some(next);
                    (next, true)
                }
            },
            Some(step) => match slots.steps.get(step) {
                Some(&i) => (i, false),
                None => {
                    slots.steps.insert(step.into(), next);
                    (next, true)
                }
            },
        };
        if created {
            self.samples.push(Samples {
                key: GroupKey {
                    flow: flow.to_string(),
                    step: step.map(str::to_string),
                },
                samples: Vec::new(),
            });
        }
        index
    }

    /// One span, whichever decoder read it: a step sample, a flow sample (a root), both or
    /// neither, pending until its request is read whole.
    fn span(&mut self, start: u64, end: u64, root: bool, w: &Wanted<'_>) {
        self.pending_read += 1;
        if start == 0 || end < start {
            return;
        }
        let seconds = (end - start) as f64 * 1e-9;
        if let (Some(step), Some(flow)) = (w.step, w.flow) {
            let g = self.group(flow, Some(step));
            self.pending.push((g, seconds));
        }
        if root {
            let g = match w.flow {
                Some(flow) => Some(self.group(flow, None)),
                None => match (w.method, w.route) {
                    (Some(method), Some(route)) => {
                        write_entry_key(&mut self.key_buf, method, route);
                        match self.entries.get(self.key_buf.as_str()) {
                            Some(flow) => {
                                let flow = flow.clone();
                                Some(self.group(&flow, None))
                            }
                            None => None,
                        }
                    }
                    _ => None,
                },
            };
            if let Some(g) = g {
                self.pending.push((g, seconds));
            }
        }
    }

    /// Keeps the pending samples: their request was read whole.
    fn commit(&mut self) {
        self.data.spans_read += std::mem::take(&mut self.pending_read);
        self.data.spans_used += self.pending.len() as u64;
        for (g, seconds) in self.pending.drain(..) {
            self.samples[g].samples.push(seconds);
        }
    }

    /// Drops the pending samples: their request failed half-way.
    fn rollback(&mut self) {
        self.pending_read = 0;
        self.pending.clear();
    }

    fn spans(&mut self, batch: &Batch) {
        for span in batch.spans() {
            let s = span.item;
            let w = Wanted::from_attributes(s.attributes.iter().map(|kv| {
                let value = match &kv.value {
                    AnyValue::String(v) => Some(v.as_str()),
                    _ => None,
                };
                (kv.key.as_str(), value)
            }));
            let root = s.parent_span_id.is_none();
            self.span(s.start_time_unix_nano, s.end_time_unix_nano, root, &w);
        }
        self.commit();
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
        for g in std::mem::take(&mut self.samples) {
            if !g.samples.is_empty() {
                self.data.groups.entry(g.key).or_default().samples = g.samples;
            }
        }
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

/// Feeds one JSON request's span views to the side; notes a request of another signal.
struct ViewSink<'s> {
    side: &'s mut SideSink,
    other: Option<Signal>,
}

impl SpanViewSink for ViewSink<'_> {
    fn keep_attribute(&self, key: &str) -> bool {
        Wanted::is_wanted(key)
    }

    fn resource(&mut self, _index: usize, _attributes: &[KeyValueView<'_>]) {}

    fn span(&mut self, s: &SpanView<'_>) {
        let w = Wanted::from_attributes(s.attributes.iter().map(|kv| {
            let value = match &kv.value {
                ValueView::Str(v) => Some(&**v),
                _ => None,
            };
            (&*kv.key, value)
        }));
        let root = s.parent_span_id.is_none();
        self.side
            .span(s.start_time_unix_nano, s.end_time_unix_nano, root, &w);
    }

    fn end_resource(&mut self, _index: usize) {}

    fn other_signal(&mut self, signal: Signal) {
        self.other = Some(signal);
    }
}

impl InputSink for SideSink {
    fn batch(&mut self, at: InputPosition<'_>, batch: &Batch) {
        self.spans(batch);
        self.metrics(at, batch);
    }

    /// Spans of JSON lines through the views; a request of metrics (or logs) through its batch,
    /// and so a request the views reject, so that its error is the batch decoder's.
    fn json_request(
        &mut self,
        at: InputPosition<'_>,
        request: &JsonRequest<'_>,
    ) -> flowtel_otlp::Result<()> {
        let mut views = ViewSink {
            side: self,
            other: None,
        };
        let decoded = request.decode_spans(&mut views);
        let other = views.other;
        if decoded.is_ok() {
            self.commit();
            if other.is_none() {
                return Ok(());
            }
        } else {
            self.rollback();
        }
        let batch = request.decode()?;
        self.batch(at, &batch);
        Ok(())
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
    use serde_json::{Value, json};

    fn attr(key: &str, value: Value) -> Value {
        json!({"key": key, "value": value})
    }

    fn s(v: &str) -> Value {
        json!({"stringValue": v})
    }

    /// OTLP JSON lines of `traces` traces (root and two steps, durations from a fixed
    /// generator) in lines of about 40 spans. Roots name their flow in every way regress
    /// reads: `flow.name` (after an empty one), entry routes with either key spelling and
    /// another parameter name, and not at all; spans carry events, attributes regress does
    /// not read, escapes; a few have no start or end before start.
    fn span_lines(traces: u64) -> String {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % 50_000_000 + 1_000
        };
        let mut out = String::new();
        let mut spans = Vec::new();
        for t in 0..traces {
            let trace = format!("{:032x}", t + 1);
            let root = format!("{:016x}", 3 * t + 1);
            let start = 1_700_000_000_000_000_000u64 + t * 1_000_000_000;
            let root_attrs = match t % 5 {
                0 => vec![
                    attr("flow.name", s("checkout")),
                    attr("http.route", s("/checkout")),
                ],
                1 => vec![
                    attr("http.request.method", s("POST")),
                    attr("http.route", s("/orders/:order/pay")),
                    attr("http.response.status_code", json!({"intValue": "200"})),
                ],
                2 => vec![
                    attr("http_route", s("/login")),
                    attr("http_request_method", s("POST")),
                ],
                3 => vec![
                    attr("flow.name", s("")),
                    attr("flow.name", json!({"intValue": 7})),
                    attr("flow.name", s("login")),
                ],
                _ => vec![
                    attr("http.request.method", s("GET")),
                    attr("http.route", s("/health")),
                ],
            };
            let end = if t % 37 == 5 {
                start - 1
            } else {
                start + next()
            };
            spans.push(
                json!({"traceId": trace, "spanId": root, "name": "POST \"/\"", "kind": 2,
                "startTimeUnixNano": if t % 41 == 3 { "0".to_string() } else { start.to_string() },
                "endTimeUnixNano": end.to_string(), "attributes": root_attrs}),
            );
            for (i, step) in ["cart.load", "payment.authorize"].into_iter().enumerate() {
                let flow = if t % 5 == 2 || t % 5 == 3 {
                    "login"
                } else {
                    "checkout"
                };
                spans.push(json!({"traceId": trace, "spanId": format!("{:016x}", 3 * t + 2 + i as u64),
                    "parentSpanId": root, "name": step, "kind": 1,
                    "startTimeUnixNano": start.to_string(), "endTimeUnixNano": (start + next()).to_string(),
                    "events": [{"name": "retry", "timeUnixNano": start.to_string(),
                        "attributes": [attr("attempt", json!({"intValue": 2}))]}],
                    "attributes": [attr("flow.name", s(flow)), attr("peer.service", s("payments")),
                        attr("tags", json!({"arrayValue": {"values": [s("a")]}})),
                        attr("flow.step", s(step))]}));
            }
            if spans.len() >= 40 || t + 1 == traces {
                let resource = json!({"attributes": [attr("service.name", s("gate\"way"))]});
                let scopes = json!([{"scope": {"name": "t"}, "spans": std::mem::take(&mut spans)}]);
                // The resource after its spans on every other line.
                let line = if t % 2 == 0 {
                    json!({"resourceSpans": [{"resource": resource, "scopeSpans": scopes}]})
                } else {
                    json!({"resourceSpans": [{"scopeSpans": scopes, "resource": resource}]})
                };
                out.push_str(&line.to_string());
                out.push('\n');
            }
        }
        out
    }

    /// A delta `flow.step.duration` histogram export of `checkout/cart.load` in milliseconds.
    const METRIC_LINE: &str = r#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"gateway"}}]},"scopeMetrics":[{"metrics":[{"name":"flow.step.duration","unit":"ms","histogram":{"aggregationTemporality":1,"dataPoints":[{"attributes":[{"key":"flow.name","value":{"stringValue":"checkout"}},{"key":"flow.step","value":{"stringValue":"cart.load"}}],"timeUnixNano":"1700000000000000000","count":"10","explicitBounds":[10,100],"bucketCounts":["2","5","3"]}]}}]}]}]}"#;

    /// Reads `text` as JSON lines through the batch path: every line decoded into a batch.
    fn through_batches(text: &str, name: &str) -> SideData {
        let reg = crate::testing::registry();
        let mut sink = SideSink::new(&reg);
        let reader = flowtel_otlp::JsonLinesReader::new(text.as_bytes(), name, 1 << 20);
        for (i, batch) in reader.enumerate() {
            match batch {
                Ok(batch) => {
                    let at = InputPosition {
                        input: 0,
                        name,
                        bytes: i as u64,
                    };
                    sink.batch(at, &batch);
                }
                Err(e) => sink.error(&e),
            }
        }
        sink.finish(&["side.jsonl".to_string()])
    }

    fn read_files(dir: &std::path::Path, files: &[(&str, &[u8])]) -> SideData {
        let mut inputs = Vec::new();
        for (name, bytes) in files {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            inputs.push(path.display().to_string());
        }
        let mut side = read_side(
            &inputs,
            &ReadOptions::default(),
            &crate::testing::registry(),
        );
        side.inputs = vec!["side.jsonl".to_string()];
        side
    }

    #[test]
    fn span_views_and_batches_give_the_same_side() {
        let dir = tempfile::tempdir().unwrap();
        let spans = span_lines(400);
        let mut text = spans.clone();
        text.push_str(METRIC_LINE);
        text.push_str("\n\n");
        // A line that fails half-way: its first span must not count.
        text.push_str(r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"6b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b178","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"flow.name","value":{"stringValue":"checkout"}}]},{"traceId":"zz"}]}]}]}"#);
        text.push('\n');
        // A metrics line with a bad bucket layout, located by its line.
        text.push_str(&METRIC_LINE.replace(
            r#""bucketCounts":["2","5","3"]"#,
            r#""bucketCounts":["2","5"]"#,
        ));
        text.push('\n');

        let lean = read_files(dir.path(), &[("side.jsonl", text.as_bytes())]);
        let path = dir.path().join("side.jsonl").display().to_string();
        let batches = through_batches(&text, &path);
        assert_eq!(lean, batches);

        // What the side holds: every way a root names its flow, the histogram, both errors.
        let group = |flow: &str, step: Option<&str>| {
            let key = GroupKey {
                flow: flow.to_string(),
                step: step.map(str::to_string),
            };
            lean.groups.get(&key).cloned().unwrap_or_default()
        };
        let checkout = group("checkout", None).samples;
        let login = group("login", None).samples;
        assert!(
            checkout.len() > 150 && login.len() > 150,
            "{} {}",
            checkout.len(),
            login.len()
        );
        assert!(
            checkout.windows(2).all(|w| w[0] <= w[1]),
            "samples are sorted"
        );
        assert_eq!(group("login", Some("cart.load")).samples.len(), 160);
        let cart = group("checkout", Some("cart.load"));
        assert_eq!(cart.samples.len(), 240);
        assert_eq!(cart.buckets[STEP_DURATION].bounds, [0.01, 0.1]);
        assert_eq!(lean.spans_read, 1200);
        assert_eq!(
            lean.spans_used as usize,
            lean.groups.values().map(|g| g.samples.len()).sum::<usize>()
        );
        assert_eq!(lean.points_used, 1);
        let lines = text.lines().count() as u32;
        let located: Vec<(String, u32)> = lean
            .findings
            .iter()
            .map(|f| {
                let l = f.location.as_ref().unwrap();
                (f.rule.name.to_string(), l.line)
            })
            .collect();
        assert_eq!(
            located,
            [
                ("malformed-telemetry".to_string(), lines - 1),
                ("malformed-telemetry".to_string(), lines)
            ],
            "{:?}",
            lean.findings
        );
        assert!(
            lean.findings[0].message.contains("zz"),
            "{}",
            lean.findings[0].message
        );

        // The same spans as one OTLP JSON document (the batch path), and as protobuf.
        let mut document = String::new();
        for line in spans.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            document.push_str(&serde_json::to_string_pretty(&v).unwrap());
            document.push('\n');
        }
        let doc_path = dir.path().join("doc.json");
        std::fs::write(&doc_path, &document).unwrap();
        let reader = flowtel_otlp::open(&doc_path.display().to_string()).unwrap();
        assert_eq!(reader.format(), flowtel_otlp::Format::OtlpJsonDocument);
        let valid = |extra: &[(&str, &[u8])]| {
            let mut files = vec![("metrics.jsonl", METRIC_LINE.as_bytes())];
            files.extend_from_slice(extra);
            read_files(dir.path(), &files)
        };
        let lean = valid(&[("spans.jsonl", spans.as_bytes())]);
        assert_eq!(lean.spans_read, 1200);
        assert!(lean.findings.is_empty(), "{:?}", lean.findings);
        assert_eq!(valid(&[("spans.json", document.as_bytes())]), lean);
        let proto = flowtel_testkit::proto::traces_json_lines_to_proto(spans.as_bytes());
        assert_eq!(valid(&[("traces.pb", &proto)]), lean);
    }

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
