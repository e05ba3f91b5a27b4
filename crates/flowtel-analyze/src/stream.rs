//! Traces assembled as they arrive: what `flowtel live --analyze` runs on every received batch.
//!
//! A trace is open while its spans keep arriving and complete once no span of it arrived for
//! [`StreamOptions::trace_idle`] (like the Collector's tail sampler's `decision_wait`). A
//! completed trace is assembled with [`TraceSetBuilder`] (the same flow assignment, orphans,
//! duplicates and cycles as the offline commands), and its map and critical path are added to
//! [`FlowAggregates`]. Memory is bounded: at most [`StreamOptions::max_open_traces`] traces and
//! [`StreamOptions::max_open_spans`] spans are held; past either, the trace idle the longest is
//! analysed at once and counted as evicted, and spans past [`StreamOptions::max_trace_spans`] in
//! one trace are dropped and counted. A held span keeps only the attributes the analysis reads.
//!
//! Time is passed in (`now`), so the idle rule is tested without sleeping.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowtel_conventions::Registry;
use flowtel_otlp::{AnyValue, Batch, TraceId};
use foldhash::fast::RandomState;

use crate::aggregates::{FlowAggregates, StreamGauges};
use crate::trace::{AssemblyOptions, TraceSetBuilder, is_analysed_attribute};

/// Default of [`StreamOptions::trace_idle`].
pub const DEFAULT_TRACE_IDLE: Duration = Duration::from_secs(10);

/// Limits of a [`TraceStream`].
#[derive(Clone, Copy, Debug)]
pub struct StreamOptions {
    /// A trace is complete after this long without a new span.
    pub trace_idle: Duration,
    /// Traces held open at most; past it the one idle longest is analysed now (evicted).
    pub max_open_traces: usize,
    /// Spans held at most, over all open traces; past it traces are evicted likewise.
    pub max_open_spans: usize,
    /// Spans kept per trace; the rest are dropped and counted.
    pub max_trace_spans: u32,
    /// Series per exported metric; past it label sets fold into the overflow series.
    pub max_series: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            trace_idle: DEFAULT_TRACE_IDLE,
            max_open_traces: 50_000,
            max_open_spans: 500_000,
            max_trace_spans: 10_000,
            max_series: crate::aggregates::DEFAULT_MAX_SERIES,
        }
    }
}

/// What a [`TraceStream`] received and did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Spans received.
    pub spans: u64,
    /// Spans without a trace id, skipped.
    pub invalid: u64,
    /// Spans dropped because their trace was over `max_trace_spans`.
    pub dropped: u64,
    /// Traces completed and analysed (evicted ones included).
    pub completed: u64,
    /// Traces analysed before they were idle, to stay within the limits.
    pub evicted: u64,
}

/// Why a trace is completed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Why {
    /// Idle since the trace's last span, at this time.
    Idle(Instant),
    /// A memory limit forces it (an eviction).
    Limit,
    /// The run ends.
    Finish,
}

struct OpenTrace {
    spans: Vec<(Arc<str>, flowtel_otlp::Span)>,
    last_seen: Instant,
    /// The batch that last touched it: its entry in the idle queue.
    touch: u64,
}

/// Assembles traces from batches as they arrive and aggregates the completed ones.
pub struct TraceStream {
    options: StreamOptions,
    template: TraceSetBuilder,
    open: HashMap<TraceId, OpenTrace, RandomState>,
    /// `(trace, touch)` in the order traces were last touched; stale entries are skipped.
    idle_order: VecDeque<(TraceId, u64)>,
    held: usize,
    batches: u64,
    stats: StreamStats,
    aggregates: FlowAggregates,
}

impl TraceStream {
    /// A stream that assigns flows and buckets histograms from `reg`.
    pub fn new(reg: &Registry, options: StreamOptions) -> Self {
        TraceStream {
            options,
            template: TraceSetBuilder::new(
                reg,
                AssemblyOptions {
                    max_trace_spans: options.max_trace_spans,
                },
            ),
            open: HashMap::default(),
            idle_order: VecDeque::new(),
            held: 0,
            batches: 0,
            stats: StreamStats::default(),
            aggregates: FlowAggregates::new(reg, options.max_series),
        }
    }

    /// Adds the spans of a batch received at `now`, then analyses traces over the limits.
    pub fn add_batch(&mut self, batch: &Batch, now: Instant) {
        self.batches += 1;
        let touch = self.batches;
        let mut service: (usize, Arc<str>) = (usize::MAX, Arc::from(""));
        for located in batch.spans() {
            self.stats.spans += 1;
            let s = located.item;
            if s.trace_id.is_zero() {
                self.stats.invalid += 1;
                continue;
            }
            if service.0 != located.index.resource {
                let name = flowtel_otlp::attribute(&located.resource.attributes, "service.name")
                    .and_then(AnyValue::as_str)
                    .unwrap_or("unknown_service");
                service = (located.index.resource, Arc::from(name));
            }
            let open = self.open.entry(s.trace_id).or_insert_with(|| OpenTrace {
                spans: Vec::new(),
                last_seen: now,
                touch: 0,
            });
            if open.spans.len() >= self.options.max_trace_spans as usize {
                self.stats.dropped += 1;
                continue;
            }
            open.spans.push((Arc::clone(&service.1), trimmed(s)));
            open.last_seen = now;
            if open.touch != touch {
                open.touch = touch;
                self.idle_order.push_back((s.trace_id, touch));
            }
            self.held += 1;
        }
        while self.open.len() > self.options.max_open_traces
            || self.held > self.options.max_open_spans
        {
            if !self.complete_oldest(Why::Limit) {
                break;
            }
        }
    }

    /// Analyses the traces idle for [`StreamOptions::trace_idle`] at `now`; returns how many.
    pub fn sweep(&mut self, now: Instant) -> usize {
        let mut n = 0;
        while self.complete_oldest(Why::Idle(now)) {
            n += 1;
        }
        n
    }

    /// Analyses every open trace (the run is ending).
    pub fn finish(&mut self) {
        while self.complete_oldest(Why::Finish) {}
    }

    /// Completes the trace touched longest ago (when sweeping, only if it is idle); returns
    /// whether a trace was completed.
    fn complete_oldest(&mut self, why: Why) -> bool {
        while let Some(&(id, touch)) = self.idle_order.front() {
            let Some(open) = self.open.get(&id) else {
                self.idle_order.pop_front();
                continue;
            };
            if open.touch != touch {
                self.idle_order.pop_front();
                continue;
            }
            if let Why::Idle(now) = why
                && now.saturating_duration_since(open.last_seen) < self.options.trace_idle
            {
                return false;
            }
            self.idle_order.pop_front();
            let Some(open) = self.open.remove(&id) else {
                continue;
            };
            self.held -= open.spans.len();
            if why == Why::Limit {
                self.stats.evicted += 1;
            }
            self.analyse(open);
            return true;
        }
        false
    }

    fn analyse(&mut self, open: OpenTrace) {
        let mut builder = self.template.fresh();
        for (service, span) in &open.spans {
            builder.add_span(service, span);
        }
        let set = builder.finish();
        self.stats.completed += set.traces.len() as u64;
        self.aggregates.record(&set);
    }

    /// What was received and done so far.
    pub fn stats(&self) -> StreamStats {
        self.stats
    }

    /// Traces open now.
    pub fn open_traces(&self) -> usize {
        self.open.len()
    }

    /// Spans held now.
    pub fn held_spans(&self) -> usize {
        self.held
    }

    /// The aggregates of the completed traces.
    pub fn aggregates(&self) -> &FlowAggregates {
        &self.aggregates
    }

    /// The Prometheus text exposition of the aggregates and the stream's own gauges.
    pub fn exposition(&self) -> String {
        self.aggregates.exposition(StreamGauges {
            evicted: self.stats.evicted as f64,
            open: self.open.len() as f64,
        })
    }
}

/// The span with only what the analysis reads: its analysed attributes and its links to its own
/// trace; events and other attributes dropped.
fn trimmed(s: &flowtel_otlp::Span) -> flowtel_otlp::Span {
    flowtel_otlp::Span {
        trace_id: s.trace_id,
        span_id: s.span_id,
        parent_span_id: s.parent_span_id,
        trace_state: s.trace_state.clone(),
        name: s.name.clone(),
        kind: s.kind,
        start_time_unix_nano: s.start_time_unix_nano,
        end_time_unix_nano: s.end_time_unix_nano,
        attributes: s
            .attributes
            .iter()
            .filter(|kv| is_analysed_attribute(&kv.key))
            .cloned()
            .collect(),
        links: s
            .links
            .iter()
            .filter(|l| l.trace_id == s.trace_id)
            .cloned()
            .collect(),
        status: s.status.clone(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::synth::{batch, failed, span, with_attr};
    use crate::testing::registry;
    use flowtel_otlp::SpanKind as K;

    const MS: u64 = 1_000_000;

    /// Checkout trace `t`: gateway (100 ms) calls payments (60 ms of it) once, or twice when
    /// `retry` (the first failing).
    fn checkout(t: u128, retry: bool) -> Vec<(&'static str, flowtel_otlp::Span)> {
        let b = t as u64 * 100;
        let at = 1_000 * MS;
        let mut spans = vec![(
            "gateway",
            with_attr(
                span(t, b + 1, 0, "POST /checkout", K::Server, at, at + 100 * MS),
                "flow.name",
                "checkout",
            ),
        )];
        let mut call = |id: u64, start: u64, end: u64, fail: bool| {
            let c = span(
                t,
                b + id,
                b + 1,
                "POST",
                K::Client,
                at + start * MS,
                at + end * MS,
            );
            spans.push(("gateway", if fail { failed(c) } else { c }));
            let srv = with_attr(
                span(
                    t,
                    b + id + 1,
                    b + id,
                    "POST /pay",
                    K::Server,
                    at + start * MS + MS,
                    at + end * MS - MS,
                ),
                "flow.step",
                "payment.authorize",
            );
            spans.push(("payments", srv));
        };
        if retry {
            call(2, 10, 30, true);
            call(4, 30, 90, false);
        } else {
            call(2, 30, 90, false);
        }
        spans
    }

    /// The samples of an exposition: `name{labels}` -> value.
    fn samples(text: &str) -> BTreeMap<String, f64> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (k, v) = l.rsplit_once(' ').unwrap();
                (k.to_string(), v.parse::<f64>().unwrap())
            })
            .collect()
    }

    fn options() -> StreamOptions {
        StreamOptions {
            trace_idle: Duration::from_secs(10),
            ..Default::default()
        }
    }

    #[test]
    fn a_trace_is_analysed_once_idle_with_its_spans_from_several_batches() {
        let reg = registry();
        let mut stream = TraceStream::new(&reg, options());
        let t0 = Instant::now();
        let mut spans = checkout(1, false);
        let payments = spans.split_off(2);
        stream.add_batch(&batch(spans), t0);
        stream.add_batch(&batch(payments), t0 + Duration::from_secs(5));
        assert_eq!(
            stream.sweep(t0 + Duration::from_secs(12)),
            0,
            "idle for 7 s only"
        );
        assert_eq!(stream.open_traces(), 1);
        assert_eq!(stream.sweep(t0 + Duration::from_secs(15)), 1);
        assert_eq!((stream.open_traces(), stream.held_spans()), (0, 0));
        let s = samples(&stream.exposition());
        let key = |name: &str, labels: &str| format!("{name}{{{labels}}}");
        // The payments server span (31 ms to 89 ms) holds 58 ms of the critical path.
        let cp = "flow=\"checkout\",service=\"payments\",step=\"payment.authorize\"";
        assert_eq!(s[&key("flowtel_critical_path_seconds_count", cp)], 1.0);
        assert!((s[&key("flowtel_critical_path_seconds_sum", cp)] - 0.058).abs() < 1e-9);
        let edge = "client=\"gateway\",server=\"payments\",flow=\"checkout\"";
        assert_eq!(s[&key("flowtel_service_graph_requests_total", edge)], 1.0);
        assert!(!s.contains_key(&key("flowtel_service_graph_requests_failed_total", edge)));
        assert_eq!(
            s[&key("flowtel_service_graph_request_client_seconds_count", edge)],
            1.0
        );
        assert_eq!(
            s[&key(
                "flowtel_service_graph_request_server_seconds_bucket",
                &format!("{edge},le=\"0.1\"")
            )],
            1.0
        );
        assert_eq!(s[&key("flowtel_traces_total", "flow=\"checkout\"")], 1.0);
        assert_eq!(s["flowtel_traces_evicted_total"], 0.0);
        assert_eq!(stream.stats().completed, 1);
    }

    #[test]
    fn retries_and_failures_are_counted_per_edge() {
        let reg = registry();
        let mut stream = TraceStream::new(&reg, options());
        stream.add_batch(&batch(checkout(1, true)), Instant::now());
        stream.finish();
        let s = samples(&stream.exposition());
        let edge = "client=\"gateway\",server=\"payments\",flow=\"checkout\"";
        assert_eq!(
            s[&format!("flowtel_service_graph_requests_total{{{edge}}}")],
            2.0
        );
        assert_eq!(
            s[&format!("flowtel_service_graph_requests_failed_total{{{edge}}}")],
            1.0
        );
        assert_eq!(
            s[&format!("flowtel_service_graph_requests_retries_total{{{edge}}}")],
            1.0
        );
        assert_eq!(
            s["flowtel_traces_evicted_total"], 0.0,
            "finishing is no eviction"
        );
    }

    #[test]
    fn over_the_open_trace_limit_the_oldest_trace_is_evicted_and_counted() {
        let reg = registry();
        let mut stream = TraceStream::new(
            &reg,
            StreamOptions {
                max_open_traces: 2,
                ..options()
            },
        );
        let t0 = Instant::now();
        for t in 1..=5u128 {
            stream.add_batch(
                &batch(checkout(t, false)),
                t0 + Duration::from_millis(t as u64),
            );
            assert!(stream.open_traces() <= 2);
        }
        assert_eq!(stream.stats().evicted, 3);
        assert_eq!(stream.stats().completed, 3);
        let s = samples(&stream.exposition());
        assert_eq!(s["flowtel_traces_evicted_total"], 3.0);
        assert_eq!(s["flowtel_traces_open"], 2.0);
    }

    #[test]
    fn held_spans_and_spans_per_trace_are_bounded() {
        let reg = registry();
        let mut stream = TraceStream::new(
            &reg,
            StreamOptions {
                max_open_spans: 7,
                max_trace_spans: 4,
                ..options()
            },
        );
        let t0 = Instant::now();
        stream.add_batch(&batch(checkout(1, true)), t0); // 5 spans, 1 over the per-trace limit
        assert_eq!((stream.held_spans(), stream.stats().dropped), (4, 1));
        stream.add_batch(&batch(checkout(2, true)), t0); // 4 more: 8 > 7, trace 1 evicted
        assert_eq!(stream.held_spans(), 4);
        assert_eq!(stream.stats().evicted, 1);
    }

    #[test]
    fn sampled_traces_count_for_the_traces_they_stand_for() {
        let reg = registry();
        let mut stream = TraceStream::new(&reg, options());
        let mut spans = checkout(1, false);
        for (_, s) in &mut spans {
            s.trace_state = "ot=th:c".into(); // kept with probability 1/4
        }
        stream.add_batch(&batch(spans), Instant::now());
        stream.finish();
        let s = samples(&stream.exposition());
        assert_eq!(s["flowtel_traces_total{flow=\"checkout\"}"], 4.0);
        let edge = "client=\"gateway\",server=\"payments\",flow=\"checkout\"";
        assert_eq!(
            s[&format!("flowtel_service_graph_requests_total{{{edge}}}")],
            4.0
        );
    }

    #[test]
    fn label_sets_past_the_series_cap_fold_into_one_overflow_series() {
        let reg = registry();
        let mut stream = TraceStream::new(
            &reg,
            StreamOptions {
                max_series: 1,
                ..options()
            },
        );
        let spans = (1..=3u128)
            .map(|t| {
                let root = span(t, t as u64, 0, &format!("job{t}"), K::Internal, MS, 2 * MS);
                ("worker", with_attr(root, "flow.name", &format!("flow{t}")))
            })
            .collect();
        stream.add_batch(&batch(spans), Instant::now());
        stream.finish();
        let s = samples(&stream.exposition());
        assert_eq!(s["flowtel_traces_total{flow=\"flow1\"}"], 1.0);
        assert_eq!(s["flowtel_traces_total{flow=\"_overflow\"}"], 2.0);
        assert!(s["flowtel_series_folded_total"] >= 2.0);
    }

    #[test]
    fn two_streams_fed_half_the_traces_each_sum_to_one_stream_fed_all() {
        let reg = registry();
        let mut all = TraceStream::new(&reg, options());
        let mut halves = [
            TraceStream::new(&reg, options()),
            TraceStream::new(&reg, options()),
        ];
        let now = Instant::now();
        for t in 1..=40u128 {
            let spans = checkout(t, t % 3 == 0);
            all.add_batch(&batch(spans.clone()), now);
            halves[(t % 2) as usize].add_batch(&batch(spans), now);
        }
        all.finish();
        let mut summed: BTreeMap<String, f64> = BTreeMap::new();
        for h in &mut halves {
            h.finish();
            for (k, v) in samples(&h.exposition()) {
                *summed.entry(k).or_default() += v;
            }
        }
        let one = samples(&all.exposition());
        assert_eq!(
            one.keys().collect::<Vec<_>>(),
            summed.keys().collect::<Vec<_>>()
        );
        for (k, v) in &one {
            assert!((summed[k] - v).abs() < 1e-9, "{k}: {v} vs {}", summed[k]);
        }
    }
}
