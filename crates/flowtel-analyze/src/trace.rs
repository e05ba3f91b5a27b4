//! Trace assembly: spans from any number of OTLP inputs, gathered per trace, linked to their
//! parents, and each trace assigned to a flow.
//!
//! One trace's spans may be spread over files, batches and services; [`TraceSetBuilder`] takes
//! batches in any order (it is an [`InputSink`], and `flowtel live` feeds it received requests)
//! and [`TraceSetBuilder::finish`] groups them. A held [`Span`] is 88 bytes: the strings it
//! refers to (service, name, step, flow, peer, route) are interned once in [`Strings`].
//!
//! What cannot be used is counted and reported, never a crash: spans without trace or span id or
//! with an end before their start are skipped ([`rules::INVALID_SPAN`]), a span id seen twice in
//! a trace keeps its first span ([`rules::DUPLICATE_SPAN_ID`]), parent links that loop are cut
//! ([`rules::PARENT_CYCLE`]), spans beyond `max_trace_spans` in one trace are dropped
//! ([`rules::TRACE_TOO_LARGE`]). A span whose parent never arrived (an orphan) becomes a root of
//! its own and makes its trace partial; [`crate::completeness`] reports those.
//!
//! A trace's flow is the `flow.name` of its root span (or of its earliest span carrying one:
//! flowtel's middleware writes the flow it took from baggage), else the flow whose `entry`
//! routes match the trace's first server span (`POST /orders/{id}/pay`).

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use flowtel_conventions::rules::analysis as rules;
use flowtel_conventions::rules::registry::UNREADABLE_INPUT;
use flowtel_conventions::rules::telemetry::MALFORMED_TELEMETRY;
use flowtel_conventions::{EntryRoute, Finding, Location, Registry, Severity};
use flowtel_otlp::{
    AnyValue, Batch, Error as ReadError, ErrorKind, InputPosition, InputSink, JsonRequest,
    KeyValueView, ReadOptions, SpanId, SpanView, SpanViewSink, StatusCode, TraceId, ValueView,
};
use foldhash::fast::RandomState;
use serde::Serialize;

use crate::strings::{Strings, Sym};

/// Index of "no parent" in [`Span::parent`].
pub const NO_PARENT: u32 = u32::MAX;

/// Default of [`AssemblyOptions::max_trace_spans`].
pub const DEFAULT_MAX_TRACE_SPANS: u32 = 100_000;

/// `Span.kind`, in one byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Kind {
    /// Not set.
    #[default]
    Unspecified,
    /// In-process work.
    Internal,
    /// Handles a remote request.
    Server,
    /// Makes a remote request.
    Client,
    /// Sends a message.
    Producer,
    /// Receives a message.
    Consumer,
}

impl Kind {
    fn of(kind: flowtel_otlp::SpanKind) -> Self {
        use flowtel_otlp::SpanKind as K;
        match kind {
            K::Internal => Kind::Internal,
            K::Server => Kind::Server,
            K::Client => Kind::Client,
            K::Producer => Kind::Producer,
            K::Consumer => Kind::Consumer,
            _ => Kind::Unspecified,
        }
    }

    /// Whether the span calls out of its service (client or producer).
    pub fn is_outgoing(self) -> bool {
        matches!(self, Kind::Client | Kind::Producer)
    }
}

const FLAG_ERROR: u8 = 1;
const FLAG_LINKED_TO_PARENT: u8 = 2;
const FLAG_CLIENT_ERROR: u8 = 4;

/// One span as the analyses need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Its span id.
    pub span_id: SpanId,
    /// Its parent's span id, all zeros for a root.
    pub parent_id: SpanId,
    /// Start, Unix nanoseconds.
    pub start: u64,
    /// End, Unix nanoseconds (never before `start`).
    pub end: u64,
    /// Index of the parent in [`TraceSet::spans`], [`NO_PARENT`] for a root or an orphan.
    pub parent: u32,
    /// Index of its trace in [`TraceSet::traces`].
    pub trace: u32,
    /// `service.name` of its resource.
    pub service: Sym,
    /// Span name.
    pub name: Sym,
    /// `flow.step`, empty when absent.
    pub step: Sym,
    /// `flow.name`, empty when absent.
    pub flow: Sym,
    /// What the analyses call this span: `flow.step` when set; for a client or producer span
    /// `{name} → {callee}` (the service that answered, else the peer); else the span name.
    pub label: Sym,
    /// The peer an outgoing span calls: `peer.service`, else `server.address[:server.port]`,
    /// else `db.system.name`/`db.system`, else `messaging.system`; empty when none.
    pub peer: Sym,
    /// `http.route`, else `url.template`; empty when absent.
    pub route: Sym,
    /// `http.request.method`; empty when absent.
    pub method: Sym,
    /// `http.request.resend_count` (0 when absent).
    pub resend_count: u32,
    /// Span kind.
    pub kind: Kind,
    flags: u8,
}

impl Span {
    /// Duration in nanoseconds.
    pub fn duration(&self) -> u64 {
        self.end - self.start
    }

    /// Whether the span failed as its status says (semantic conventions): status `ERROR`, or
    /// status unset with an HTTP status >= 500. A client span answered with a 4xx is an error
    /// here; see [`Span::is_fault`] for the SLO's view.
    pub fn is_error(&self) -> bool {
        self.flags & FLAG_ERROR != 0
    }

    /// Whether the request was answered with a 4xx (`http.response.status_code` 400-499): the
    /// caller's mistake (a declined card, a wrong password, a missing item), not an outage.
    pub fn is_client_error(&self) -> bool {
        self.flags & FLAG_CLIENT_ERROR != 0
    }

    /// Whether the span failed by the availability SLO's classification (the conventions'
    /// `slo.availability`, as the SDK's middleware and the generated recording rules count
    /// it): a 5xx response, or a failure with no 4xx response (an exception, a timeout, a
    /// refused connection). A 4xx is a [client error](Span::is_client_error), not a fault.
    pub fn is_fault(&self) -> bool {
        self.flags & (FLAG_ERROR | FLAG_CLIENT_ERROR) == FLAG_ERROR
    }

    /// Whether the span carries a link to its own parent (follows-from: work the parent started
    /// and does not wait for).
    pub fn is_linked_to_parent(&self) -> bool {
        self.flags & FLAG_LINKED_TO_PARENT != 0
    }

    /// Whether the span has a parent in its trace.
    pub fn has_parent(&self) -> bool {
        self.parent != NO_PARENT
    }

    /// Whether the span names a parent that is not in its trace.
    pub fn is_orphan(&self) -> bool {
        self.parent == NO_PARENT && !self.parent_id.is_zero()
    }

    /// The step this span stands for: [`Span::label`].
    pub fn step_or_name(&self) -> Sym {
        self.label
    }
}

/// How a trace's flow was found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowSource {
    /// No flow: no `flow.name` and no matching entry route.
    #[default]
    None,
    /// `flow.name` on a span of the trace.
    Attribute,
    /// The conventions' `entry` routes matched the trace's first server span.
    Entry,
}

/// One assembled trace: a contiguous run of [`TraceSet::spans`], sorted by start time.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// Its trace id.
    pub trace_id: TraceId,
    /// Its spans' indices in [`TraceSet::spans`].
    pub spans: Range<u32>,
    /// Index of its main root: the earliest span without a parent id, else the earliest orphan.
    pub root: u32,
    /// Its flow, empty when none was found.
    pub flow: Sym,
    /// How the flow was found.
    pub flow_source: FlowSource,
    /// Spans whose parent never arrived.
    pub orphans: u32,
    /// Spans dropped because the trace was over `max_trace_spans`.
    pub dropped: u32,
    /// The keep probability its spans carry (`ot=th:` in `tracestate`, OpenTelemetry's
    /// probability sampling), `None` when they carry none (not sampled, or by an unknown ratio).
    pub sampling_ratio: Option<f64>,
}

impl Trace {
    /// Whether some span's parent never arrived.
    pub fn is_partial(&self) -> bool {
        self.orphans > 0 || self.dropped > 0
    }

    /// Number of spans held.
    pub fn len(&self) -> usize {
        (self.spans.end - self.spans.start) as usize
    }

    /// Whether the trace holds no span (never, for an assembled trace).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// How many traces this one stands for: 1 / [`Trace::sampling_ratio`], 1 when unsampled.
    pub fn weight(&self) -> f64 {
        match self.sampling_ratio {
            Some(r) if r > 0.0 => 1.0 / r,
            _ => 1.0,
        }
    }
}

/// Counts of what assembly read, kept and skipped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct AssemblyStats {
    /// Spans read from the inputs.
    pub spans_read: u64,
    /// Spans held after skipping.
    pub spans_held: u64,
    /// Traces assembled.
    pub traces: u64,
    /// Spans skipped for a missing trace id.
    pub missing_trace_id: u64,
    /// Spans skipped for a missing span id.
    pub missing_span_id: u64,
    /// Spans skipped for unset timestamps or an end before the start.
    pub bad_times: u64,
    /// Spans skipped because their span id was already in the trace.
    pub duplicate_span_ids: u64,
    /// Parent links cut to break a cycle.
    pub cycles_cut: u64,
    /// Spans dropped from traces over the size limit.
    pub over_limit: u64,
    /// Spans whose parent never arrived.
    pub orphans: u64,
    /// Reader errors (unreadable or malformed input).
    pub input_errors: u64,
    /// Traces whose spans carry a sampling probability below 1 (`ot=th:` in `tracestate`).
    pub sampled_traces: u64,
    /// The traces the input stands for: each sampled trace weighed by 1 / its probability.
    pub estimated_traces: f64,
}

/// Assembly limits.
#[derive(Clone, Copy, Debug)]
pub struct AssemblyOptions {
    /// Spans kept per trace; the rest are counted and dropped.
    pub max_trace_spans: u32,
}

impl Default for AssemblyOptions {
    fn default() -> Self {
        AssemblyOptions {
            max_trace_spans: DEFAULT_MAX_TRACE_SPANS,
        }
    }
}

/// Assembled traces with their spans and strings.
#[derive(Debug, Clone, Default)]
pub struct TraceSet {
    /// Every string the spans refer to.
    pub strings: Strings,
    /// Every span, grouped by trace, each trace's spans sorted by start time.
    pub spans: Vec<Span>,
    /// Every trace, in order of first appearance.
    pub traces: Vec<Trace>,
    /// What was read and skipped.
    pub stats: AssemblyStats,
    /// Input errors (fatal) and assembly findings (skipped spans, duplicates, cycles).
    pub findings: Vec<Finding>,
}

impl TraceSet {
    /// Reads every input (files, `-` for stdin, `http://` URLs) and assembles the traces.
    pub fn read(inputs: &[String], options: &ReadOptions, reg: &Registry) -> TraceSet {
        let mut builder = TraceSetBuilder::new(reg, AssemblyOptions::default());
        flowtel_otlp::read_inputs(inputs, options, &mut builder);
        builder.finish()
    }

    /// The text of a symbol.
    pub fn str(&self, sym: Sym) -> &str {
        self.strings.resolve(sym)
    }

    /// The spans of `trace`.
    pub fn spans_of(&self, trace: &Trace) -> &[Span] {
        &self.spans[trace.spans.start as usize..trace.spans.end as usize]
    }

    /// The flow of `trace`, `None` when it has none.
    pub fn flow_of(&self, trace: &Trace) -> Option<&str> {
        (!trace.flow.is_empty()).then(|| self.str(trace.flow))
    }

    /// The main root span of `trace`.
    pub fn root_of(&self, trace: &Trace) -> &Span {
        &self.spans[trace.root as usize]
    }

    /// Whether any input could not be read (the commands exit 2).
    pub fn has_input_errors(&self) -> bool {
        self.stats.input_errors > 0
    }

    /// What the input says about sampling, `None` when no trace was sampled.
    pub fn sampled_input(&self) -> Option<SampledInput> {
        self.sampled_among(self.traces.iter())
    }

    /// What `traces` (of this set; a flow's, say) say about sampling, `None` when none of them
    /// was sampled.
    pub fn sampled_among<'a>(
        &self,
        traces: impl Iterator<Item = &'a Trace>,
    ) -> Option<SampledInput> {
        let (mut n, mut sampled, mut estimated) = (0u64, 0u64, 0f64);
        for t in traces {
            let w = t.weight();
            n += 1;
            sampled += u64::from(w > 1.0);
            estimated += w;
        }
        (sampled > 0).then(|| SampledInput {
            traces: n,
            sampled_traces: sampled,
            estimated_traces: estimated.round() as u64,
        })
    }

    /// Bytes held per span: spans, traces and strings over the spans held.
    pub fn bytes_per_span(&self) -> f64 {
        let bytes = self.spans.capacity() * std::mem::size_of::<Span>()
            + self.traces.capacity() * std::mem::size_of::<Trace>()
            + self.strings.heap_bytes();
        bytes as f64 / (self.spans.len().max(1)) as f64
    }
}

/// A sampled input: how many traces carry a sampling probability below 1 and how many traces
/// they stand for. `flowtel map` and `critical-path` print it so nobody reads a 10% sample's
/// counts as the traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SampledInput {
    /// Traces read.
    pub traces: u64,
    /// Of them, sampled (`ot=th:` in `tracestate` with a probability below 1).
    pub sampled_traces: u64,
    /// The traces they stand for, each sampled trace weighed by 1 / its probability.
    pub estimated_traces: u64,
}

impl SampledInput {
    /// The sentence the human outputs print.
    pub fn note(&self) -> String {
        format!(
            "input was sampled: {} of {} traces carry a sampling probability below 1 (`ot=th` in tracestate); counts are weighed back to an estimated {} traces",
            self.sampled_traces, self.traces, self.estimated_traces
        )
    }
}

/// An `entry` route of a flow (parsed by the registry model) and the flow it starts.
#[derive(Debug, Clone)]
struct Entry {
    flow: String,
    route: EntryRoute,
}

impl Entry {
    fn new(flow: &str, route: &EntryRoute) -> Option<Entry> {
        route.route().is_some().then(|| Entry {
            flow: flow.to_string(),
            route: route.clone(),
        })
    }

    /// `path` is a raw path (a query is ignored) or a route template.
    fn matches(&self, method: &str, path: &str) -> bool {
        let path = path.split('?').next().unwrap_or("");
        self.route.matches(method, path)
    }
}

/// Whether the analysis reads the span attribute `key` (the others can be dropped before
/// assembly, as `flowtel live --analyze` does for the spans it holds).
pub fn is_analysed_attribute(key: &str) -> bool {
    matches!(
        key,
        "flow.name"
            | "flow.step"
            | "peer.service"
            | "server.address"
            | "server.port"
            | "db.system.name"
            | "db.system"
            | "messaging.system"
            | "http.route"
            | "url.template"
            | "http.request.method"
            | "http.request.resend_count"
            | "http.response.status_code"
    )
}

/// Where a held span goes when the spans are grouped by trace: its trace, its arrival, and
/// the sampling ratio its `tracestate` carries (a slot of [`SamplingRatios`], 0 for none).
#[derive(Clone, Copy, Debug)]
struct SpanKey {
    trace_id: TraceId,
    arrival: u32,
    ratio: u32,
}

/// The distinct sampling ratios spans carry (`ot=th:` in `tracestate`), numbered from 1, so a
/// span's key holds a slot rather than the float. The last `tracestate` seen is remembered:
/// spans of one process carry the same one.
#[derive(Debug, Default)]
struct SamplingRatios {
    values: Vec<f64>,
    last: Option<(String, u32)>,
}

impl SamplingRatios {
    /// Distinct ratios kept; a rarer one beyond them counts as no ratio (weight 1).
    const MAX: usize = 4096;

    fn slot_of(&mut self, trace_state: &str) -> u32 {
        if trace_state.is_empty() {
            return 0;
        }
        if let Some((state, slot)) = &self.last
            && state == trace_state
        {
            return *slot;
        }
        let slot = match flowtel_otlp::sampling::sampling_ratio(trace_state) {
            None => 0,
            Some(r) => match self.values.iter().position(|&v| v.to_bits() == r.to_bits()) {
                Some(i) => i as u32 + 1,
                None if self.values.len() < Self::MAX => {
                    self.values.push(r);
                    self.values.len() as u32
                }
                None => 0,
            },
        };
        self.last = Some((trace_state.to_string(), slot));
        slot
    }

    fn get(&self, slot: u32) -> Option<f64> {
        slot.checked_sub(1)
            .and_then(|i| self.values.get(i as usize).copied())
    }
}

/// Reorders `items` so that position `j` holds what was at `order[j]` (`order` a permutation
/// of the positions), in place by following the permutation's cycles; `order` is used up.
fn permute_in_place<T: Copy>(items: &mut [T], order: &mut [u32]) {
    const DONE: u32 = u32::MAX;
    for start in 0..items.len() {
        if order[start] == DONE {
            continue;
        }
        let held = items[start];
        let mut k = start;
        loop {
            let from = order[k] as usize;
            order[k] = DONE;
            if from == start {
                items[k] = held;
                break;
            }
            items[k] = items[from];
            k = from;
        }
    }
}

/// Builds a [`TraceSet`] from batches; an [`InputSink`] for [`flowtel_otlp::read_inputs`].
pub struct TraceSetBuilder {
    entries: Vec<Entry>,
    options: AssemblyOptions,
    strings: Strings,
    raw: Vec<Span>,
    keys: Vec<SpanKey>,
    ratios: SamplingRatios,
    stats: AssemblyStats,
    invalid_example: Option<Finding>,
    findings: Vec<Finding>,
}

impl TraceSetBuilder {
    /// A builder that assigns flows from `reg`'s `entry` routes.
    pub fn new(reg: &Registry, options: AssemblyOptions) -> Self {
        let entries = reg
            .flows
            .iter()
            .flat_map(|(name, flow)| flow.entry.iter().filter_map(|e| Entry::new(name, e)))
            .collect();
        TraceSetBuilder {
            entries,
            options,
            strings: Strings::default(),
            raw: Vec::new(),
            keys: Vec::new(),
            ratios: SamplingRatios::default(),
            stats: AssemblyStats::default(),
            invalid_example: None,
            findings: Vec::new(),
        }
    }

    /// An empty builder with the same flows' entry routes and options (for assembling many
    /// small sets, one per completed trace, without reading the conventions again).
    pub fn fresh(&self) -> TraceSetBuilder {
        TraceSetBuilder {
            entries: self.entries.clone(),
            options: self.options,
            strings: Strings::default(),
            raw: Vec::new(),
            keys: Vec::new(),
            ratios: SamplingRatios::default(),
            stats: AssemblyStats::default(),
            invalid_example: None,
            findings: Vec::new(),
        }
    }

    /// Spans held so far.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether no span is held yet.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Adds the spans of one batch.
    pub fn add_batch(&mut self, batch: &Batch) {
        let mut service = (usize::MAX, Sym::EMPTY);
        for located in batch.spans() {
            if service.0 != located.index.resource {
                let name = flowtel_otlp::attribute(&located.resource.attributes, "service.name")
                    .and_then(AnyValue::as_str)
                    .unwrap_or("unknown_service");
                service = (located.index.resource, self.strings.intern(name));
            }
            self.push(located.item, service.1, || {
                Location::new(
                    batch.origin.file.to_string(),
                    clamp_u32(batch.origin.line.unwrap_or(1)),
                    1,
                )
                .with_pointer(located.pointer())
            });
        }
    }

    /// Adds one span of `service` (for spans built in memory: tests, benchmarks, receivers).
    pub fn add_span(&mut self, service: &str, span: &flowtel_otlp::Span) {
        let service = self.strings.intern(service);
        self.push(span, service, || {
            Location::new(String::from("<memory>"), 1, 1)
        });
    }

    fn push(&mut self, s: &flowtel_otlp::Span, service: Sym, location: impl FnOnce() -> Location) {
        let linked = parent_is_linked(
            s.parent_span_id,
            s.trace_id,
            s.links.iter().map(|l| (l.trace_id, l.span_id)),
        );
        let input = SpanIn {
            trace_id: s.trace_id,
            span_id: s.span_id,
            parent_span_id: s.parent_span_id,
            start: s.start_time_unix_nano,
            end: s.end_time_unix_nano,
            name: &s.name,
            kind: Kind::of(s.kind),
            status: s.status.code,
            trace_state: &s.trace_state,
            linked,
        };
        let attrs = Analysed::from_attributes(
            s.attributes
                .iter()
                .map(|kv| (kv.key.as_str(), &kv.value as &dyn AttrValue)),
        );
        self.push_input(&input, &attrs, service, location);
    }

    /// Adds one span seen through [`flowtel_otlp::SpanView`] (the lean JSON path).
    fn push_view(&mut self, s: &SpanView<'_>, service: Sym, location: impl FnOnce() -> Location) {
        let linked = parent_is_linked(
            s.parent_span_id,
            s.trace_id,
            s.links.iter().map(|l| (l.trace_id, l.span_id)),
        );
        let input = SpanIn {
            trace_id: s.trace_id,
            span_id: s.span_id,
            parent_span_id: s.parent_span_id,
            start: s.start_time_unix_nano,
            end: s.end_time_unix_nano,
            name: s.name,
            kind: Kind::of(s.kind),
            status: s.status,
            trace_state: s.trace_state,
            linked,
        };
        let attrs = Analysed::from_attributes(
            s.attributes
                .iter()
                .map(|kv| (&*kv.key, &kv.value as &dyn AttrValue)),
        );
        self.push_input(&input, &attrs, service, location);
    }

    fn push_input(
        &mut self,
        s: &SpanIn<'_>,
        attrs: &Analysed<'_>,
        service: Sym,
        location: impl FnOnce() -> Location,
    ) {
        self.stats.spans_read += 1;
        let why = if s.trace_id.is_zero() {
            self.stats.missing_trace_id += 1;
            Some("has no trace id")
        } else if s.span_id.is_zero() {
            self.stats.missing_span_id += 1;
            Some("has no span id")
        } else if s.start == 0 || s.end == 0 || s.end < s.start {
            self.stats.bad_times += 1;
            Some("has unset timestamps or ends before it starts")
        } else {
            None
        };
        if let Some(why) = why {
            if self.invalid_example.is_none() {
                let location = location();
                let input = location.file.clone();
                self.invalid_example = Some(
                    Finding::new(
                        &rules::INVALID_SPAN,
                        format!("span `{}` {why}; skipped", s.name),
                    )
                    .at(location)
                    .subject("input", input),
                );
            }
            return;
        }
        let Ok(arrival) = u32::try_from(self.raw.len()) else {
            // Four billion spans held: count the rest as over the limit rather than wrap.
            self.stats.over_limit += 1;
            return;
        };
        let ratio = self.ratios.slot_of(s.trace_state);
        // Spans are grouped by trace in `finish`, by sorting these keys: a lookup per span in
        // a table of every trace seen would miss the cache on most spans of a large input.
        self.keys.push(SpanKey {
            trace_id: s.trace_id,
            arrival,
            ratio,
        });
        let span = self.compact(s, attrs, service);
        self.raw.push(span);
    }

    fn compact(&mut self, s: &SpanIn<'_>, a: &Analysed<'_>, service: Sym) -> Span {
        let kind = s.kind;
        let peer = if !kind.is_outgoing() {
            Sym::EMPTY
        } else if !a.peer_service.is_empty() {
            self.strings.intern(a.peer_service)
        } else if !a.address.is_empty() {
            match a.port {
                Some(p) => self.strings.intern(&format!("{}:{p}", a.address)),
                None => self.strings.intern(a.address),
            }
        } else if !a.db.is_empty() {
            self.strings.intern(a.db)
        } else {
            self.strings.intern(a.messaging)
        };
        let error = s.status == StatusCode::Error
            || (s.status == StatusCode::Unset && a.http_status >= 500);
        Span {
            span_id: s.span_id,
            parent_id: s.parent_span_id.unwrap_or_default(),
            start: s.start,
            end: s.end,
            parent: NO_PARENT,
            trace: 0,
            service,
            name: self.strings.intern(s.name),
            step: self.strings.intern(a.step),
            flow: self.strings.intern(a.flow),
            label: Sym::EMPTY,
            peer,
            route: self.strings.intern(if a.route.is_empty() {
                a.template
            } else {
                a.route
            }),
            method: self.strings.intern(a.method),
            resend_count: a.resend,
            kind,
            flags: (if error { FLAG_ERROR } else { 0 })
                | (if s.linked { FLAG_LINKED_TO_PARENT } else { 0 })
                | (if (400..500).contains(&a.http_status) {
                    FLAG_CLIENT_ERROR
                } else {
                    0
                }),
        }
    }

    /// What undoing a failed request needs.
    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            spans: self.raw.len(),
            stats: self.stats,
            had_invalid_example: self.invalid_example.is_some(),
        }
    }

    /// Forgets every span added since `cp` (a request that failed to decode half-way counts
    /// as not read at all, as when it is decoded whole into a batch).
    fn rollback(&mut self, cp: Checkpoint) {
        self.raw.truncate(cp.spans);
        self.keys.truncate(cp.spans);
        self.stats = cp.stats;
        if !cp.had_invalid_example {
            self.invalid_example = None;
        }
    }

    /// Records a reader error as a fatal finding.
    pub fn add_error(&mut self, err: &ReadError) {
        self.stats.input_errors += 1;
        self.findings.push(error_finding(err));
    }

    /// Groups the spans into traces, links parents, assigns flows.
    pub fn finish(self) -> TraceSet {
        let TraceSetBuilder {
            entries,
            options,
            mut strings,
            raw,
            keys,
            ratios,
            mut stats,
            invalid_example,
            mut findings,
        } = self;
        let skipped = stats.missing_trace_id + stats.missing_span_id + stats.bad_times;
        if let Some(mut f) = invalid_example {
            if skipped > 1 {
                f.message = format!(
                    "{} ({} spans skipped in all: {} without trace id, {} without span id, {} with bad timestamps)",
                    f.message,
                    skipped,
                    stats.missing_trace_id,
                    stats.missing_span_id,
                    stats.bad_times
                );
            }
            findings.push(f.subject("count", skipped.to_string()));
        }

        // Group by trace: sort the keys by trace id then arrival, order the groups by their first
        // span's arrival (traces in order of first appearance), then move the spans into that
        // order in place, so no second copy of the spans is ever held.
        let mut keys = keys;
        keys.sort_unstable_by_key(|k| (u128::from_be_bytes(k.trace_id.0), k.arrival));
        // (first arrival, start, end) of each trace's run of keys.
        let mut groups: Vec<(u32, u32, u32)> = Vec::new();
        let mut at = 0usize;
        while at < keys.len() {
            let id = keys[at].trace_id;
            let end = keys[at..]
                .iter()
                .position(|k| k.trace_id != id)
                .map_or(keys.len(), |n| at + n);
            groups.push((keys[at].arrival, at as u32, end as u32));
            at = end;
        }
        groups.sort_unstable_by_key(|g| g.0);
        let n_traces = groups.len();
        let mut trace_ids: Vec<TraceId> = Vec::with_capacity(n_traces);
        let mut trace_ratio: Vec<Option<f64>> = Vec::with_capacity(n_traces);
        let mut starts: Vec<u32> = Vec::with_capacity(n_traces + 1);
        let mut order: Vec<u32> = Vec::with_capacity(keys.len());
        for &(_, a, b) in &groups {
            let run = &keys[a as usize..b as usize];
            trace_ids.push(run[0].trace_id);
            trace_ratio.push(
                run.iter()
                    .find(|k| k.ratio != 0)
                    .and_then(|k| ratios.get(k.ratio)),
            );
            starts.push(order.len() as u32);
            order.extend(run.iter().map(|k| k.arrival));
        }
        starts.push(order.len() as u32);
        drop(groups);
        drop(keys);
        let mut spans = raw;
        permute_in_place(&mut spans, &mut order);
        drop(order);
        // Spans kept so far; a trace's kept spans are compacted to the front of its run.
        let mut kept = 0usize;

        let mut traces = Vec::with_capacity(n_traces);
        let mut seen: HashSet<SpanId, RandomState> = HashSet::default();
        let mut by_id: HashMap<SpanId, u32, RandomState> = HashMap::default();
        let mut duplicate_example: Option<(TraceId, SpanId)> = None;
        let mut too_large: Vec<(TraceId, u32)> = Vec::new();
        let mut cycle_example: Option<TraceId> = None;
        let mut state: Vec<u8> = Vec::new();
        let mut labels: HashMap<(Sym, Sym), Sym, RandomState> = HashMap::default();
        for (t, trace_id) in trace_ids.iter().enumerate() {
            let first = kept;
            seen.clear();
            let mut dropped = 0u32;
            for i in starts[t] as usize..starts[t + 1] as usize {
                let s = spans[i];
                if !seen.insert(s.span_id) {
                    stats.duplicate_span_ids += 1;
                    duplicate_example.get_or_insert((*trace_id, s.span_id));
                    continue;
                }
                if (kept - first) as u64 >= u64::from(options.max_trace_spans) {
                    dropped += 1;
                    continue;
                }
                spans[kept] = Span {
                    trace: traces.len() as u32,
                    ..s
                };
                kept += 1;
            }
            if dropped > 0 {
                stats.over_limit += u64::from(dropped);
                too_large.push((*trace_id, dropped));
            }
            let slice = &mut spans[first..kept];
            slice.sort_unstable_by(|a, b| {
                a.start
                    .cmp(&b.start)
                    .then(b.end.cmp(&a.end))
                    .then(a.span_id.cmp(&b.span_id))
            });
            by_id.clear();
            for (i, s) in slice.iter().enumerate() {
                by_id.insert(s.span_id, (first + i) as u32);
            }
            let mut orphans = 0u32;
            for s in slice.iter_mut() {
                if s.parent_id.is_zero() {
                    continue;
                }
                match by_id.get(&s.parent_id) {
                    Some(&p) if s.parent_id != s.span_id => s.parent = p,
                    Some(_) => {
                        // Its own parent: the shortest cycle.
                        stats.cycles_cut += 1;
                        cycle_example.get_or_insert(*trace_id);
                    }
                    None => orphans += 1,
                }
            }
            let cut = cut_cycles(&mut spans[first..kept], first as u32, &mut state);
            if cut > 0 {
                stats.cycles_cut += u64::from(cut);
                cycle_example.get_or_insert(*trace_id);
            }
            stats.orphans += u64::from(orphans);
            label_spans(
                &mut spans[first..kept],
                first as u32,
                &mut strings,
                &mut labels,
            );
            let slice = &spans[first..kept];
            let root = slice
                .iter()
                .position(|s| s.parent_id.is_zero())
                .or_else(|| slice.iter().position(|s| !s.has_parent()))
                .unwrap_or(0);
            let (flow, flow_source) = assign_flow(slice, root, &entries, &mut strings);
            traces.push(Trace {
                trace_id: *trace_id,
                spans: first as u32..kept as u32,
                root: (first + root) as u32,
                flow,
                flow_source,
                orphans,
                dropped,
                sampling_ratio: trace_ratio[t],
            });
            let w = traces.last().map_or(1.0, Trace::weight);
            stats.estimated_traces += w;
            stats.sampled_traces += u64::from(w > 1.0);
        }
        spans.truncate(kept);
        stats.spans_held = spans.len() as u64;
        stats.traces = traces.len() as u64;

        if let Some((trace, span)) = duplicate_example {
            findings.push(
                Finding::new(
                    &rules::DUPLICATE_SPAN_ID,
                    format!(
                        "{} spans repeat a span id already seen in their trace (first: span {span} in trace {trace}); the first of each was kept",
                        stats.duplicate_span_ids
                    ),
                )
                .subject("trace_id", trace.to_string())
                .subject("span_id", span.to_string())
                .subject("count", stats.duplicate_span_ids.to_string())
                .help("a batch exported twice, or a broken span id generator: each span needs its own random id"),
            );
        }
        if let Some(trace) = cycle_example {
            findings.push(
                Finding::new(
                    &rules::PARENT_CYCLE,
                    format!(
                        "parent links form a cycle in {} place(s) (first in trace {trace}); each was cut at one span, which became a root",
                        stats.cycles_cut
                    ),
                )
                .subject("trace_id", trace.to_string())
                .subject("count", stats.cycles_cut.to_string()),
            );
        }
        for (trace, dropped) in too_large.iter().take(10) {
            findings.push(
                Finding::new(
                    &rules::TRACE_TOO_LARGE,
                    format!(
                        "trace {trace} has {} spans more than the {} kept per trace; they were skipped",
                        dropped, options.max_trace_spans
                    ),
                )
                .subject("trace_id", trace.to_string())
                .subject("count", dropped.to_string())
                .help("raise `--max-trace-spans`, or split the work into several traces"),
            );
        }
        spans.shrink_to_fit();
        TraceSet {
            strings,
            spans,
            traces,
            stats,
            findings,
        }
    }
}

impl InputSink for TraceSetBuilder {
    fn batch(&mut self, _at: InputPosition<'_>, batch: &Batch) {
        self.add_batch(batch);
    }

    fn error(&mut self, err: &ReadError) {
        self.add_error(err);
    }

    /// JSON lines go straight into the compact spans: no owned [`flowtel_otlp::Span`] is built.
    fn json_request(
        &mut self,
        _at: InputPosition<'_>,
        request: &JsonRequest<'_>,
    ) -> flowtel_otlp::Result<()> {
        let cp = self.checkpoint();
        let mut sink = ViewSink {
            builder: self,
            request,
            block_start: cp.spans,
            service: None,
            pending: false,
        };
        request
            .decode_spans(&mut sink)
            .inspect_err(|_| self.rollback(cp))
    }
}

/// A span as assembly reads it, whichever decoder produced it.
struct SpanIn<'a> {
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: Option<SpanId>,
    start: u64,
    end: u64,
    name: &'a str,
    kind: Kind,
    status: StatusCode,
    trace_state: &'a str,
    /// Whether it links to its own parent (follows-from).
    linked: bool,
}

/// An attribute value of either decoder.
trait AttrValue {
    fn str_value(&self) -> Option<&str>;
    fn int_value(&self) -> Option<i64>;
}

impl AttrValue for AnyValue {
    fn str_value(&self) -> Option<&str> {
        self.as_str()
    }
    fn int_value(&self) -> Option<i64> {
        int_value(self)
    }
}

impl AttrValue for ValueView<'_> {
    fn str_value(&self) -> Option<&str> {
        self.as_str()
    }
    fn int_value(&self) -> Option<i64> {
        self.as_i64()
            .or_else(|| self.as_str().and_then(|s| s.parse().ok()))
    }
}

/// The attributes analysis reads from a span (see [`is_analysed_attribute`]).
#[derive(Default)]
struct Analysed<'a> {
    flow: &'a str,
    step: &'a str,
    peer_service: &'a str,
    address: &'a str,
    port: Option<i64>,
    db: &'a str,
    messaging: &'a str,
    route: &'a str,
    template: &'a str,
    method: &'a str,
    resend: u32,
    http_status: i64,
}

impl<'a> Analysed<'a> {
    fn from_attributes(attrs: impl Iterator<Item = (&'a str, &'a dyn AttrValue)>) -> Self {
        let mut a = Analysed::default();
        // Keep in step with `is_analysed_attribute`.
        for (key, v) in attrs {
            match key {
                "flow.name" => a.flow = v.str_value().unwrap_or(a.flow),
                "flow.step" => a.step = v.str_value().unwrap_or(a.step),
                "peer.service" => a.peer_service = v.str_value().unwrap_or(""),
                "server.address" => a.address = v.str_value().unwrap_or(""),
                "server.port" => a.port = v.int_value(),
                "db.system.name" => a.db = v.str_value().unwrap_or(a.db),
                "db.system" if a.db.is_empty() => a.db = v.str_value().unwrap_or(""),
                "messaging.system" => a.messaging = v.str_value().unwrap_or(""),
                "http.route" => a.route = v.str_value().unwrap_or(""),
                "url.template" => a.template = v.str_value().unwrap_or(""),
                "http.request.method" => a.method = v.str_value().unwrap_or(""),
                "http.request.resend_count" => {
                    a.resend = v
                        .int_value()
                        .map_or(0, |n| u32::try_from(n.max(0)).unwrap_or(u32::MAX))
                }
                "http.response.status_code" => a.http_status = v.int_value().unwrap_or(0),
                _ => {}
            }
        }
        a
    }
}

struct Checkpoint {
    spans: usize,
    stats: AssemblyStats,
    had_invalid_example: bool,
}

/// Feeds one JSON request's span views to the builder. A resource may come after the spans
/// of its block, so the block's spans take their service when the block ends.
struct ViewSink<'b, 'r> {
    builder: &'b mut TraceSetBuilder,
    request: &'r JsonRequest<'r>,
    /// The first span of the current resource block in `builder.raw`.
    block_start: usize,
    /// The block's `service.name`, once its resource was read.
    service: Option<Sym>,
    /// Whether spans of the block came before its resource.
    pending: bool,
}

impl SpanViewSink for ViewSink<'_, '_> {
    fn keep_attribute(&self, key: &str) -> bool {
        is_analysed_attribute(key)
    }

    fn resource(&mut self, _index: usize, attributes: &[KeyValueView<'_>]) {
        let name = attributes
            .iter()
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_str())
            .unwrap_or("unknown_service");
        self.service = Some(self.builder.strings.intern(name));
    }

    fn span(&mut self, span: &SpanView<'_>) {
        let request = self.request;
        self.pending |= self.service.is_none();
        self.builder
            .push_view(span, self.service.unwrap_or(Sym::EMPTY), || {
                Location::new(request.file.to_string(), clamp_u32(request.line), 1)
                    .with_pointer(span.pointer())
            });
    }

    fn end_resource(&mut self, _index: usize) {
        let service = match self.service.take() {
            Some(s) => s,
            None => self.builder.strings.intern("unknown_service"),
        };
        if std::mem::take(&mut self.pending) {
            // Spans read before their resource took the empty service: give them theirs.
            for s in &mut self.builder.raw[self.block_start..] {
                if s.service.is_empty() {
                    s.service = service;
                }
            }
        }
        self.block_start = self.builder.raw.len();
    }
}

/// Cuts parent links that form cycles in one trace's spans (`base` is the index of the first);
/// returns how many were cut.
fn cut_cycles(spans: &mut [Span], base: u32, state: &mut Vec<u8>) -> u32 {
    const NEW: u8 = 0;
    const ACTIVE: u8 = 1;
    const DONE: u8 = 2;
    state.clear();
    state.resize(spans.len(), NEW);
    let mut cut = 0;
    for start in 0..spans.len() {
        if state[start] != NEW {
            continue;
        }
        // Walk up from `start`, marking the chain active; stop at a root or a finished span.
        let mut i = start;
        loop {
            state[i] = ACTIVE;
            let p = spans[i].parent;
            if p == NO_PARENT {
                break;
            }
            let pi = (p - base) as usize;
            match state[pi] {
                NEW => i = pi,
                ACTIVE => {
                    spans[i].parent = NO_PARENT;
                    cut += 1;
                    break;
                }
                _ => break,
            }
        }
        // Mark the chain done.
        let mut i = start;
        while state[i] == ACTIVE {
            state[i] = DONE;
            match spans[i].parent {
                NO_PARENT => break,
                p => i = (p - base) as usize,
            }
        }
    }
    cut
}

/// Sets [`Span::label`] of one trace's spans (`base` is the index of the first).
fn label_spans(
    spans: &mut [Span],
    base: u32,
    strings: &mut Strings,
    labels: &mut HashMap<(Sym, Sym), Sym, RandomState>,
) {
    let mut label = |name: Sym, target: Sym, strings: &mut Strings| {
        *labels.entry((name, target)).or_insert_with(|| {
            let text = format!("{} → {}", strings.resolve(name), strings.resolve(target));
            strings.intern(&text)
        })
    };
    for s in spans.iter_mut() {
        s.label = if !s.step.is_empty() {
            s.step
        } else if s.kind.is_outgoing() && !s.peer.is_empty() {
            label(s.name, s.peer, strings)
        } else {
            s.name
        };
    }
    // A call answered by another service is named after that service.
    for i in 0..spans.len() {
        let s = spans[i];
        if s.parent == NO_PARENT {
            continue;
        }
        let p = (s.parent - base) as usize;
        let parent = spans[p];
        if parent.kind.is_outgoing() && parent.step.is_empty() && parent.service != s.service {
            spans[p].label = label(parent.name, s.service, strings);
        }
    }
}

fn assign_flow(
    spans: &[Span],
    root: usize,
    entries: &[Entry],
    strings: &mut Strings,
) -> (Sym, FlowSource) {
    if let Some(r) = spans.get(root)
        && !r.flow.is_empty()
    {
        return (r.flow, FlowSource::Attribute);
    }
    if let Some(s) = spans.iter().find(|s| !s.flow.is_empty()) {
        return (s.flow, FlowSource::Attribute);
    }
    let server = spans
        .get(root)
        .filter(|r| r.kind == Kind::Server)
        .or_else(|| spans.iter().find(|s| s.kind == Kind::Server));
    if let Some(s) = server {
        let name = strings.resolve(s.name);
        let (method, path) = match (strings.resolve(s.method), strings.resolve(s.route)) {
            ("", _) | (_, "") => name.split_once(' ').unwrap_or(("", "")),
            (m, r) => (m, r),
        };
        if let Some(e) = entries.iter().find(|e| e.matches(method, path)) {
            let flow = e.flow.clone();
            return (strings.intern(&flow), FlowSource::Entry);
        }
    }
    (Sym::EMPTY, FlowSource::None)
}

fn int_value(v: &AnyValue) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn clamp_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The fatal finding for a reader error, at its file, line and column (or byte offset).
pub fn error_finding(err: &ReadError) -> Finding {
    let rule = if err.kind == ErrorKind::Io {
        &UNREADABLE_INPUT
    } else {
        &MALFORMED_TELEMETRY
    };
    let mut message = err.message.clone();
    if err.line.is_none()
        && let Some(off) = err.byte_offset
    {
        message = format!("{message} (at byte {off})");
    }
    let mut f = Finding::new(rule, message)
        .at(Location::new(
            err.file.to_string(),
            err.line.map_or(1, clamp_u32),
            err.column.map_or(1, clamp_u32),
        ))
        .severity(Severity::Fatal)
        .subject("input", err.file.to_string());
    if err.kind == ErrorKind::TooLarge {
        f = f.help("raise the limit with `--max-batch-bytes`, or export smaller batches");
    }
    f
}

/// Whether a span's parent is also one of its links in the same trace: a follows-from
/// relation written both ways, which puts the span off its parent's critical path.
fn parent_is_linked(
    parent: Option<SpanId>,
    trace: TraceId,
    mut links: impl Iterator<Item = (TraceId, SpanId)>,
) -> bool {
    parent.is_some_and(|p| links.any(|(t, s)| s == p && t == trace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permuting_in_place_puts_each_item_where_the_order_says() {
        let mut rng = crate::synth::Rng::new(11);
        for n in [0usize, 1, 2, 7, 100] {
            let mut order: Vec<u32> = (0..n as u32).collect();
            for i in (1..n).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                order.swap(i, j);
            }
            let items: Vec<u64> = (0..n as u64).map(|i| i * 10).collect();
            let want: Vec<u64> = order.iter().map(|&i| items[i as usize]).collect();
            let mut got = items.clone();
            permute_in_place(&mut got, &mut order.clone());
            assert_eq!(got, want, "n = {n}");
        }
    }

    #[test]
    fn sampling_ratios_are_numbered_once_and_unknown_states_have_none() {
        let mut r = SamplingRatios::default();
        let tenth = r.slot_of("ot=th:e6666666666666");
        assert_eq!(tenth, 1);
        assert_eq!(r.slot_of("vendor=x"), 0);
        assert_eq!(r.slot_of(""), 0);
        assert_eq!(r.slot_of("vendor=y,ot=th:e6666666666666"), tenth);
        assert_eq!(r.slot_of("ot=th:8"), 2);
        assert!((r.get(tenth).unwrap() - 0.1).abs() < 1e-9);
        assert_eq!(r.get(0), None);
        assert_eq!(r.get(99), None);
    }
    use crate::synth::{follows_from_parent, span, with_attr};
    use crate::testing::{assemble, registry};
    use flowtel_otlp::SpanKind as K;

    fn ms(n: u64) -> u64 {
        1_000_000_000 + n * 1_000_000
    }

    #[test]
    fn a_trace_spread_over_services_is_assembled_with_parents_and_its_flow() {
        // Spans arrive out of order, payments' before the gateway's.
        let set = assemble(vec![
            (
                "payments",
                with_attr(
                    span(1, 3, 2, "POST /payments/{order}", K::Server, ms(10), ms(40)),
                    "flow.name",
                    "checkout",
                ),
            ),
            ("gateway", span(1, 2, 1, "POST", K::Client, ms(5), ms(45))),
            (
                "gateway",
                with_attr(
                    span(1, 1, 0, "POST /checkout", K::Server, ms(0), ms(50)),
                    "flow.name",
                    "checkout",
                ),
            ),
            (
                "gateway",
                span(2, 9, 0, "GET /health", K::Server, ms(0), ms(1)),
            ),
        ]);
        assert_eq!(set.traces.len(), 2);
        let t = &set.traces[0];
        assert_eq!(set.flow_of(t), Some("checkout"));
        assert_eq!(t.flow_source, FlowSource::Attribute);
        assert!(!t.is_partial());
        let spans = set.spans_of(t);
        // Sorted by start; parents linked by index.
        let names: Vec<&str> = spans.iter().map(|s| set.str(s.name)).collect();
        assert_eq!(names, ["POST /checkout", "POST", "POST /payments/{order}"]);
        assert_eq!(set.root_of(t).span_id, SpanId(1u64.to_be_bytes()));
        assert_eq!(spans[1].parent, t.spans.start);
        assert_eq!(spans[2].parent, t.spans.start + 1);
        assert_eq!(set.str(spans[2].service), "payments");
        assert_eq!(set.flow_of(&set.traces[1]), None);
        assert_eq!(set.stats.spans_held, 4);
    }

    #[test]
    fn without_flow_name_the_entry_route_of_the_root_server_span_names_the_flow() {
        let root = with_attr(
            with_attr(
                span(1, 1, 0, "POST", K::Server, ms(0), ms(9)),
                "http.request.method",
                "POST",
            ),
            "http.route",
            "/orders/{id}/pay",
        );
        // A name-only server span (no route attribute) matches by its `METHOD /path` name.
        let by_name = span(2, 5, 0, "POST /orders/42/pay", K::Server, ms(0), ms(9));
        let other = span(3, 7, 0, "POST /unknown", K::Server, ms(0), ms(9));
        let set = assemble(vec![
            ("gateway", root),
            ("gateway", by_name),
            ("gateway", other),
        ]);
        assert_eq!(set.flow_of(&set.traces[0]), Some("checkout"));
        assert_eq!(set.traces[0].flow_source, FlowSource::Entry);
        assert_eq!(set.flow_of(&set.traces[1]), Some("checkout"));
        assert_eq!(set.flow_of(&set.traces[2]), None);
        assert_eq!(set.traces[2].flow_source, FlowSource::None);
    }

    #[test]
    fn the_flow_taken_from_baggage_on_a_downstream_span_assigns_the_trace() {
        let set = assemble(vec![
            ("gateway", span(1, 1, 0, "GET /x", K::Server, ms(0), ms(9))),
            (
                "payments",
                with_attr(
                    span(1, 2, 1, "work", K::Internal, ms(1), ms(2)),
                    "flow.name",
                    "login",
                ),
            ),
        ]);
        assert_eq!(set.flow_of(&set.traces[0]), Some("login"));
    }

    #[test]
    fn orphans_become_roots_and_make_the_trace_partial() {
        let set = assemble(vec![
            (
                "gateway",
                span(1, 1, 0, "POST /checkout", K::Server, ms(0), ms(50)),
            ),
            // Its parent (a gateway client span, 2) never arrived.
            (
                "payments",
                span(1, 3, 2, "POST /payments", K::Server, ms(10), ms(40)),
            ),
            (
                "payments",
                span(1, 4, 3, "authorize", K::Internal, ms(11), ms(39)),
            ),
        ]);
        let t = &set.traces[0];
        assert!(t.is_partial());
        assert_eq!(t.orphans, 1);
        assert_eq!(set.stats.orphans, 1);
        // The main root is the true root, not the orphan.
        assert_eq!(set.str(set.root_of(t).name), "POST /checkout");
        let spans = set.spans_of(t);
        assert!(spans[1].is_orphan() && !spans[1].has_parent());
        assert!(spans[2].has_parent());
    }

    #[test]
    fn invalid_spans_are_skipped_counted_and_reported_once() {
        let mut no_trace = span(1, 1, 0, "a", K::Server, ms(0), ms(1));
        no_trace.trace_id = TraceId::default();
        let no_span = span(1, 0, 0, "b", K::Server, ms(0), ms(1));
        let backwards = span(1, 3, 0, "c", K::Server, ms(5), ms(1));
        let unset = span(1, 4, 0, "d", K::Server, 0, 0);
        let good = span(1, 5, 0, "e", K::Server, ms(0), ms(1));
        let set = assemble(vec![
            ("s", no_trace),
            ("s", no_span),
            ("s", backwards),
            ("s", unset),
            ("s", good),
        ]);
        assert_eq!(set.stats.spans_read, 5);
        assert_eq!(set.stats.spans_held, 1);
        assert_eq!(
            (
                set.stats.missing_trace_id,
                set.stats.missing_span_id,
                set.stats.bad_times
            ),
            (1, 1, 2)
        );
        let f: Vec<_> = set
            .findings
            .iter()
            .filter(|f| f.rule.id == "FT0603")
            .collect();
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("span `a` has no trace id"),
            "{}",
            f[0].message
        );
        assert!(f[0].message.contains("4 spans skipped"), "{}", f[0].message);
    }

    #[test]
    fn a_duplicate_span_id_keeps_the_first_span_and_is_counted() {
        let set = assemble(vec![
            ("s", span(1, 1, 0, "first", K::Server, ms(0), ms(10))),
            ("s", span(1, 1, 0, "again", K::Server, ms(0), ms(20))),
            ("s", span(1, 2, 1, "child", K::Internal, ms(1), ms(2))),
        ]);
        assert_eq!(set.stats.duplicate_span_ids, 1);
        assert_eq!(set.spans.len(), 2);
        assert_eq!(set.str(set.spans[0].name), "first");
        assert!(set.findings.iter().any(|f| f.rule.id == "FT0604"));
    }

    #[test]
    fn parent_cycles_are_cut_and_reported() {
        let set = assemble(vec![
            ("s", span(1, 1, 3, "a", K::Internal, ms(0), ms(10))),
            ("s", span(1, 2, 1, "b", K::Internal, ms(1), ms(9))),
            ("s", span(1, 3, 2, "c", K::Internal, ms(2), ms(8))),
            ("s", span(1, 4, 4, "self", K::Internal, ms(2), ms(8))),
            ("s", span(1, 5, 3, "d", K::Internal, ms(3), ms(4))),
        ]);
        assert_eq!(set.stats.cycles_cut, 2);
        // Every span reaches a root by following parents.
        for (i, s) in set.spans.iter().enumerate() {
            let mut p = s.parent;
            let mut steps = 0;
            while p != NO_PARENT {
                p = set.spans[p as usize].parent;
                steps += 1;
                assert!(steps <= set.spans.len(), "span {i} loops");
            }
        }
        assert!(set.findings.iter().any(|f| f.rule.id == "FT0605"));
    }

    #[test]
    fn spans_over_the_per_trace_limit_are_dropped_and_reported() {
        let reg = registry();
        let mut b = TraceSetBuilder::new(&reg, AssemblyOptions { max_trace_spans: 3 });
        for i in 1..=5u64 {
            b.add_span("s", &span(7, i, 0, "x", K::Internal, ms(i), ms(i + 1)));
        }
        let set = b.finish();
        assert_eq!(set.spans.len(), 3);
        assert_eq!(set.traces[0].dropped, 2);
        assert!(set.traces[0].is_partial());
        assert_eq!(set.stats.over_limit, 2);
        assert!(set.findings.iter().any(|f| f.rule.id == "FT0606"));
    }

    #[test]
    fn a_trace_of_a_million_spans_keeps_the_default_limit_and_is_still_analysed() {
        // One trace, one chain a million spans deep: the first 100,000 (by arrival) are kept,
        // the rest counted and reported; the kept part is walked without deep recursion.
        let reg = registry();
        let mut b = TraceSetBuilder::new(&reg, AssemblyOptions::default());
        let mut s = span(9, 1, 0, "step", K::Internal, ms(0), ms(2_000_000));
        for i in 1..=1_000_000u64 {
            s.span_id = SpanId(i.to_be_bytes());
            s.parent_span_id = (i > 1).then(|| SpanId((i - 1).to_be_bytes()));
            s.start_time_unix_nano = ms(0) + i;
            s.end_time_unix_nano = ms(2_000_000) - i;
            b.add_span("deep", &s);
        }
        let set = b.finish();
        assert_eq!(set.spans.len(), DEFAULT_MAX_TRACE_SPANS as usize);
        assert_eq!(set.stats.over_limit, 900_000);
        assert_eq!(set.traces[0].dropped, 900_000);
        let f = set
            .findings
            .iter()
            .find(|f| f.rule.id == "FT0606")
            .expect("the trace is reported");
        assert!(f.message.contains("900000 spans more"), "{}", f.message);
        assert!(set.bytes_per_span() < 200.0, "{}", set.bytes_per_span());
        let paths = crate::critical::paths(&set);
        assert_eq!(paths.len(), 1);
        assert!(!paths[0].segments.is_empty());
    }

    #[test]
    fn outgoing_spans_name_their_peer_and_links_to_the_parent_mark_async_work() {
        let client = with_attr(
            with_attr(
                span(1, 2, 1, "SELECT", K::Client, ms(1), ms(2)),
                "db.system.name",
                "postgresql",
            ),
            "server.address",
            "db.internal",
        );
        let http = crate::synth::with_int(
            with_attr(
                span(1, 3, 1, "GET", K::Client, ms(1), ms(2)),
                "server.address",
                "10.0.0.1",
            ),
            "server.port",
            8080,
        );
        let consumer = follows_from_parent(span(1, 4, 1, "process", K::Consumer, ms(3), ms(4)));
        let set = assemble(vec![
            ("a", span(1, 1, 0, "root", K::Server, ms(0), ms(5))),
            ("a", client),
            ("a", http),
            ("b", consumer),
        ]);
        let peers: Vec<&str> = set.spans.iter().map(|s| set.str(s.peer)).collect();
        assert_eq!(peers, ["", "db.internal", "10.0.0.1:8080", ""]);
        assert!(set.spans[3].is_linked_to_parent());
        assert!(!set.spans[1].is_linked_to_parent());
    }

    #[test]
    fn a_held_span_is_compact() {
        assert!(
            std::mem::size_of::<Span>() <= 80,
            "{}",
            std::mem::size_of::<Span>()
        );
    }

    #[test]
    fn reads_files_and_reports_unreadable_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("t.jsonl");
        std::fs::write(
            &good,
            concat!(
                r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"gateway"}}]},"scopeSpans":[{"spans":["#,
                r#"{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"POST /checkout","kind":2,"startTimeUnixNano":"100","endTimeUnixNano":"200"}"#,
                "]}]}]}\n",
                r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"payments"}}]},"scopeSpans":[{"spans":["#,
                r#"{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","parentSpanId":"eee19b7ec3c1b174","name":"pay","kind":2,"startTimeUnixNano":"120","endTimeUnixNano":"150"}"#,
                "]}]}]}\n"
            ),
        )
        .unwrap();
        let missing = dir.path().join("missing.jsonl");
        let set = TraceSet::read(
            &[good.display().to_string(), missing.display().to_string()],
            &ReadOptions::default(),
            &registry(),
        );
        assert_eq!(set.traces.len(), 1);
        assert_eq!(set.flow_of(&set.traces[0]), Some("checkout"));
        assert_eq!(set.spans[1].parent, 0);
        assert!(set.has_input_errors());
        let fatal = set
            .findings
            .iter()
            .find(|f| f.severity == Severity::Fatal)
            .unwrap();
        assert!(
            fatal
                .location
                .as_ref()
                .unwrap()
                .file
                .ends_with("missing.jsonl")
        );
    }

    /// Assembles JSON lines through the batch path ([`TraceSetBuilder::add_batch`] of each
    /// decoded line) rather than the lean one [`TraceSet::read`] takes.
    fn through_batches(text: &str) -> TraceSet {
        let reg = registry();
        let mut b = TraceSetBuilder::new(&reg, AssemblyOptions::default());
        let reader = flowtel_otlp::JsonLinesReader::new(text.as_bytes(), "t.jsonl", 1 << 20);
        for batch in reader {
            match batch {
                Ok(batch) => b.add_batch(&batch),
                Err(e) => b.add_error(&e),
            }
        }
        b.finish()
    }

    fn through_views(text: &str) -> TraceSet {
        let reg = registry();
        let mut b = TraceSetBuilder::new(&reg, AssemblyOptions::default());
        let mut reader = flowtel_otlp::JsonLinesReader::new(text.as_bytes(), "t.jsonl", 1 << 20);
        while let Some(req) = reader.next_request() {
            let res = req.and_then(|req| {
                let at = InputPosition {
                    input: 0,
                    name: "t.jsonl",
                    bytes: req.offset,
                };
                b.json_request(at, &req)
            });
            if let Err(e) = res {
                b.add_error(&e);
            }
        }
        b.finish()
    }

    fn assert_same(a: &TraceSet, b: &TraceSet) {
        let text = |set: &TraceSet| -> Vec<String> {
            set.spans
                .iter()
                .map(|s| {
                    format!(
                        "{:?} {} {} {} {} {} {} {} {} {}",
                        Span {
                            service: Sym::EMPTY,
                            name: Sym::EMPTY,
                            step: Sym::EMPTY,
                            flow: Sym::EMPTY,
                            label: Sym::EMPTY,
                            peer: Sym::EMPTY,
                            route: Sym::EMPTY,
                            method: Sym::EMPTY,
                            ..*s
                        },
                        set.str(s.service),
                        set.str(s.name),
                        set.str(s.step),
                        set.str(s.flow),
                        set.str(s.label),
                        set.str(s.peer),
                        set.str(s.route),
                        set.str(s.method),
                        s.is_error(),
                    )
                })
                .collect()
        };
        assert_eq!(text(a), text(b));
        assert_eq!(a.stats, b.stats);
        assert_eq!(a.findings, b.findings);
        let flows = |set: &TraceSet| -> Vec<String> {
            set.traces
                .iter()
                .map(|t| {
                    format!(
                        "{:?} {:?}",
                        set.flow_of(t),
                        Trace {
                            flow: Sym::EMPTY,
                            ..t.clone()
                        }
                    )
                })
                .collect()
        };
        assert_eq!(flows(a), flows(b));
    }

    #[test]
    fn json_lines_assemble_the_same_through_span_views_as_through_batches() {
        let mut out = Vec::new();
        let shape = crate::synth::Shape::default();
        let n = crate::synth::write_json_lines(40, shape, 7, &mut out).unwrap();
        assert!(n > 1000, "{n}");
        let mut text = String::from_utf8(out).unwrap();
        // A resource after its spans, escapes, an invalid span, then a line that fails half-way
        // (its first span must not be kept) and a blank line.
        text.push_str(concat!(
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":["#,
            r#"{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"POST \u002fcheckout","kind":"SPAN_KIND_SERVER","startTimeUnixNano":"100","endTimeUnixNano":"200","attributes":[{"key":"http.route","value":{"stringValue":"/checkout"}},{"key":"other","value":{"arrayValue":{"values":[]}}}]},"#,
            r#"{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","parentSpanId":"eee19b7ec3c1b174","name":"pay","kind":3,"startTimeUnixNano":120,"endTimeUnixNano":"150","status":{"code":2},"attributes":[{"value":{"stringValue":"payments"},"key":"peer.service"},{"key":"server.port","value":{"intValue":"443"}}]},"#,
            r#"{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b176","name":"backwards","startTimeUnixNano":"300","endTimeUnixNano":"200"}"#,
            r#"]}],"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"gate\"way"}}]}},{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b177","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}"#,
            "\n\n",
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":["#,
            r#"{"traceId":"6b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b178","name":"kept?","startTimeUnixNano":"1","endTimeUnixNano":"2"},"#,
            r#"{"traceId":"zz"}]}]}]}"#,
            "\n",
        ));
        let lean = through_views(&text);
        let batches = through_batches(&text);
        assert_same(&lean, &batches);
        assert_eq!(lean.stats.input_errors, 1);
        assert_eq!(lean.stats.bad_times, 1);
        assert!(lean.spans.iter().all(|s| lean.str(s.name) != "kept?"));
        let gateway = lean.spans.iter().find(|s| s.start == 100).unwrap();
        assert_eq!(lean.str(gateway.name), "POST /checkout");
        assert_eq!(lean.str(gateway.service), "gate\"way");
        let unknown = lean.spans.iter().find(|s| s.start == 1).unwrap();
        assert_eq!(lean.str(unknown.service), "unknown_service");
        let via_read = {
            let dir = tempfile::tempdir().unwrap();
            let f = dir.path().join("t.jsonl");
            std::fs::write(&f, &text).unwrap();
            TraceSet::read(
                &[f.display().to_string()],
                &ReadOptions::default(),
                &registry(),
            )
        };
        assert_eq!(via_read.stats, lean.stats);
        assert_eq!(via_read.spans.len(), lean.spans.len());
    }
}
