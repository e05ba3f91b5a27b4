//! Flow-aware head sampling: keep every trace of a precious flow, a share of a busy one.
//!
//! [`FlowSampler`] is the SDK's `ShouldSample`. At a trace's root it looks up the flow (the
//! span's `flow.name` attribute, which flow spans and the server middleware set from the
//! registry's entry routes, or else the `flow.name` in incoming W3C baggage) and keeps the trace
//! with the flow's `ratio` from the conventions (`sampling:` section, `defaults.sampling`).
//! Below the root it follows the parent's decision, local or remote, so a trace is kept or
//! dropped whole across services.
//!
//! The decision is OpenTelemetry's consistent probability sampling (the `TraceState`
//! probability-sampling specification): the randomness is the trace id's lowest 56 bits, the
//! flow's ratio a rejection threshold `T = (1 - ratio) * 2^56`, and a trace is kept when its
//! randomness is at least `T`. Every kept root carries `ot=th:<T in hex>` in its `tracestate`
//! (`th:0` for ratio 1), which children inherit and the propagator passes downstream, so
//! analysis weighs each sampled trace back by its adjusted count `1 / ratio`. Metrics are not
//! touched: RED metrics come from the `tracing` spans whether or not the trace is sampled.
//!
//! Errors and slow traces cannot be rescued by a head sampler; `flowtel sampling` writes the
//! OpenTelemetry Collector tail-sampling configuration for that.
//!
//! **Deciding before building.** The SDK asks the sampler only once `tracing-opentelemetry` has
//! built the span (its builder, attributes, ids), so a dropped span would cost nearly what a
//! recorded one does. [`crate::TraceLayer`], the layer `init` puts around the OpenTelemetry
//! layer, decides first: below a span whose trace is not sampled (the current OpenTelemetry
//! context carries its non-sampled span context, local or remote) the OpenTelemetry layer never
//! sees the span; at a root whose flow is known before the span exists (a `#[flowtel::flow]`
//! span, whose name is the flow, or a root for which the code opening it set a [`FlowHint`]) it
//! draws the trace id, makes the decision `FlowSampler` would make on it, and either drops the
//! trace right there or hands the id to [`FlowIdGenerator`] so the SDK builds the root with it
//! (and `FlowSampler`, still the authority for every built span, keeps it). A span of a
//! dropped trace stands for the trace's non-sampled context, which is current while it is
//! entered, so propagation ([`crate::otel_layer::otel_context`]) sends `traceparent` with the
//! sampled flag off and the next service drops the trace too, logs keep their trace ids, and
//! spans opened through the OpenTelemetry API below them are dropped by the parent-based
//! sampler. Metrics never pass through this decision: the [`crate::FlowLayer`] records every
//! span.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{
    Link, SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{
    IdGenerator, RandomIdGenerator, SamplingDecision, SamplingResult, ShouldSample,
};
use tracing::Metadata;

/// Randomness bits of a trace id (the lowest 56) and the threshold scale.
const RANDOM_BITS: u32 = 56;
const MAX_THRESHOLD: u64 = 1 << RANDOM_BITS;

/// One flow's (or the default) head-sampling policy, precomputed.
#[derive(Debug, Clone)]
struct Policy {
    /// Rejection threshold: keep when randomness >= threshold; `MAX_THRESHOLD` drops all.
    threshold: u64,
    /// `tracestate` of a kept root: `ot=th:...`.
    trace_state: TraceState,
}

impl Policy {
    fn new(ratio: f64) -> Policy {
        let threshold = threshold_of(ratio);
        let trace_state = if threshold >= MAX_THRESHOLD {
            TraceState::default()
        } else {
            TraceState::from_key_value([("ot", format!("th:{}", encode_threshold(threshold)))])
                .unwrap_or_default()
        };
        Policy {
            threshold,
            trace_state,
        }
    }

    /// Whether a root with this trace id is kept.
    fn keeps(&self, trace_id: TraceId) -> bool {
        let randomness = u128::from_be_bytes(trace_id.to_bytes()) as u64 & (MAX_THRESHOLD - 1);
        self.threshold < MAX_THRESHOLD && randomness >= self.threshold
    }

    fn decide(&self, trace_id: TraceId) -> SamplingResult {
        if self.keeps(trace_id) {
            SamplingResult {
                decision: SamplingDecision::RecordAndSample,
                attributes: Vec::new(),
                trace_state: self.trace_state.clone(),
            }
        } else {
            SamplingResult {
                decision: SamplingDecision::Drop,
                attributes: Vec::new(),
                trace_state: TraceState::default(),
            }
        }
    }
}

/// The rejection threshold of a keep probability, per the OpenTelemetry specification:
/// `round((1 - ratio) * 2^56)`, clamped; not-a-number keeps everything.
pub fn threshold_of(ratio: f64) -> u64 {
    if ratio.is_nan() || ratio >= 1.0 {
        return 0;
    }
    if ratio <= 0.0 {
        return MAX_THRESHOLD;
    }
    // `2^56 - round(ratio * 2^56)`: the product fits a double's mantissa, `1 - ratio` does not.
    let keep = ((ratio * MAX_THRESHOLD as f64).round() as u64).max(1);
    let t = MAX_THRESHOLD - keep.min(MAX_THRESHOLD);
    // A positive ratio keeps something, however small.
    t.min(MAX_THRESHOLD - 1)
}

/// The `th` value of a threshold: 14 hex digits with trailing zeros removed (`0` for 0).
pub fn encode_threshold(threshold: u64) -> String {
    if threshold == 0 {
        return "0".into();
    }
    let s = format!("{threshold:014x}");
    s.trim_end_matches('0').to_owned()
}

/// The keep probability an `ot=th:` value encodes (`None` when it is not a valid threshold):
/// what an analysis divides by to weigh a sampled trace back to a count.
pub fn ratio_of_threshold(th: &str) -> Option<f64> {
    if th.is_empty() || th.len() > 14 || !th.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let padded = format!("{th:0<14}");
    let t = u64::from_str_radix(&padded, 16).ok()?;
    Some((MAX_THRESHOLD - t) as f64 / MAX_THRESHOLD as f64)
}

/// Flow-aware, parent-based head sampler configured from the conventions; see the module docs.
#[derive(Debug, Clone)]
pub struct FlowSampler {
    flows: HashMap<Box<str>, Policy, foldhash::fast::FixedState>,
    default: Policy,
}

impl FlowSampler {
    /// The sampler of `registry`: each declared flow at its effective ratio, other traces at
    /// `defaults.sampling.ratio`.
    pub fn new(registry: &flowtel_conventions::Registry) -> FlowSampler {
        FlowSampler {
            flows: registry
                .flows
                .keys()
                .map(|f| {
                    (
                        f.as_str().into(),
                        Policy::new(registry.sampling_of(f).ratio),
                    )
                })
                .collect(),
            default: Policy::new(registry.defaults.sampling.ratio),
        }
    }

    /// The policy of a declared flow (`None` for anything else).
    fn declared(&self, flow: &str) -> Option<&Policy> {
        self.flows.get(flow)
    }

    fn policy(&self, flow: Option<&str>) -> &Policy {
        flow.and_then(|f| self.flows.get(f))
            .unwrap_or(&self.default)
    }
}

impl ShouldSample for FlowSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        if let Some(cx) = parent_context.filter(|cx| cx.has_active_span()) {
            let parent = cx.span();
            let sc = parent.span_context();
            if sc.is_valid() {
                return if sc.is_sampled() {
                    SamplingResult {
                        decision: SamplingDecision::RecordAndSample,
                        attributes: Vec::new(),
                        trace_state: sc.trace_state().clone(),
                    }
                } else {
                    // Nothing is recorded: the tracestate would be thrown away with the span.
                    SamplingResult {
                        decision: SamplingDecision::Drop,
                        attributes: Vec::new(),
                        trace_state: TraceState::NONE,
                    }
                };
            }
        }
        let from_attributes = attributes.iter().find(|kv| kv.key.as_str() == "flow.name");
        let policy = match from_attributes.map(|kv| &kv.value) {
            Some(Value::String(s)) => self.policy(Some(s.as_str())),
            _ => match parent_context {
                Some(cx) => self.policy(cx.baggage().get("flow.name").map(|v| v.as_str())),
                None => &self.default,
            },
        };
        policy.decide(trace_id)
    }
}

/// The flow of the request about to open a root span, set in the OpenTelemetry context by the
/// code that knows it before the span exists (a message consumer from the message's baggage):
/// [`crate::TraceLayer`] decides the trace there without building the span.
#[derive(Debug, Clone)]
pub struct FlowHint(pub StringValue);

thread_local! {
    /// The trace id [`RootSampling`] drew for a kept root, for [`FlowIdGenerator`] to build it
    /// with.
    static RESERVED: Cell<Option<TraceId>> = const { Cell::new(None) };
}

/// The SDK's id generator, except that the trace id of a root [`crate::TraceLayer`] has already
/// decided to keep is the one it decided on (so `FlowSampler` makes the same decision).
///
/// [`FlowIdGenerator::seeded`] draws trace ids from fixed sequences instead of at random, one
/// per flow, so that a test or a demonstration samples the same traces of a flow in every run
/// however the requests of different flows interleave. Clones share their sequences.
#[derive(Debug, Default, Clone)]
pub struct FlowIdGenerator {
    random: RandomIdGenerator,
    seeded: Option<Arc<SeededIds>>,
}

impl FlowIdGenerator {
    /// Trace ids from fixed sequences seeded by `seed`: one per flow of `flows` (drawn at the
    /// roots [`crate::TraceLayer`] decides, whose flow is known) and one for every other root.
    /// Span ids stay random. Two processes given the same seed draw the same trace ids: for
    /// tests and reproducible examples only, never in production.
    pub fn seeded<F: AsRef<str>>(seed: u64, flows: impl IntoIterator<Item = F>) -> Self {
        let flows = flows
            .into_iter()
            .map(|f| {
                let f = f.as_ref();
                (f.into(), (fnv1a(f.as_bytes()), AtomicU64::new(0)))
            })
            .collect();
        FlowIdGenerator {
            random: RandomIdGenerator::default(),
            seeded: Some(Arc::new(SeededIds {
                seed,
                flows,
                other: AtomicU64::new(0),
            })),
        }
    }

    /// A new trace id for a root of `flow` (`None`: not known).
    fn draw(&self, flow: Option<&str>) -> TraceId {
        match &self.seeded {
            Some(s) => s.next(flow),
            None => self.random.new_trace_id(),
        }
    }
}

impl IdGenerator for FlowIdGenerator {
    fn new_trace_id(&self) -> TraceId {
        RESERVED.with(Cell::take).unwrap_or_else(|| self.draw(None))
    }

    fn new_span_id(&self) -> SpanId {
        self.random.new_span_id()
    }
}

/// The sequences of a seeded [`FlowIdGenerator`].
#[derive(Debug)]
struct SeededIds {
    seed: u64,
    /// Per declared flow: the stream number (a hash of the name) and the next index.
    flows: HashMap<Box<str>, (u64, AtomicU64), foldhash::fast::FixedState>,
    /// Roots of no known flow.
    other: AtomicU64,
}

impl SeededIds {
    fn next(&self, flow: Option<&str>) -> TraceId {
        let (stream, counter) = match flow.and_then(|f| self.flows.get(f)) {
            Some((stream, counter)) => (*stream, counter),
            None => (0, &self.other),
        };
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let hi = splitmix64(self.seed ^ splitmix64(stream ^ n.rotate_left(32)));
        let lo = splitmix64(hi ^ n);
        // All zeros is the invalid trace id.
        TraceId::from((u128::from(hi) << 64 | u128::from(lo)).max(1))
    }
}

/// SplitMix64's output function: a bijective 64-bit mixer.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a of `bytes`: a hash that is the same in every run and build.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The decision at a trace's root taken before its span is built, as [`FlowSampler`] would
/// take it: used by [`crate::TraceLayer`] (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct RootSampling {
    sampler: Arc<FlowSampler>,
    ids: FlowIdGenerator,
}

impl RootSampling {
    /// Roots decided as `sampler` does, their trace ids drawn from `ids` (a clone of the
    /// tracer provider's [`FlowIdGenerator`], so a seeded generator's sequences are shared).
    pub(crate) fn new(sampler: Arc<FlowSampler>, ids: FlowIdGenerator) -> RootSampling {
        RootSampling { sampler, ids }
    }

    /// The decision at a root whose flow is known now: `None` when it is not (the SDK decides
    /// when it builds the span), `Some(None)` when the trace is kept (its id reserved for the
    /// SDK), `Some(Some(cx))` when it is dropped, with the non-sampled context that stands for
    /// the root.
    pub(crate) fn decide(&self, meta: &Metadata<'_>) -> Option<Option<Context>> {
        let (threshold, trace_id) = Context::map_current(|cx| {
            cx.get::<FlowHint>().map(|h| {
                let flow = Some(h.0.as_str());
                (self.sampler.policy(flow).threshold, self.ids.draw(flow))
            })
        })
        .or_else(|| {
            (meta.target() == "flowtel::flow")
                .then(|| {
                    self.sampler
                        .declared(meta.name())
                        .map(|p| (p.threshold, self.ids.draw(Some(meta.name()))))
                })
                .flatten()
        })?;
        let policy = Policy {
            threshold,
            trace_state: TraceState::NONE,
        };
        // At most one reservation is pending: a kept root's, until the SDK builds it.
        let kept = policy.keeps(trace_id);
        RESERVED.with(|r| r.set(kept.then_some(trace_id)));
        if kept {
            return Some(None);
        }
        // The dropped root's span id only names it as the parent in what it propagates: taken
        // from the trace id's random bits rather than drawn.
        let span_id = SpanId::from((u128::from_be_bytes(trace_id.to_bytes()) as u64) | 1);
        let sc = SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::default(),
            false,
            TraceState::NONE,
        );
        Some(Some(Context::map_current(|cx| {
            cx.with_remote_span_context(sc)
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_follow_the_specification_examples() {
        // Examples from OpenTelemetry's TraceState probability-sampling specification.
        assert_eq!(encode_threshold(threshold_of(1.0)), "0");
        assert_eq!(encode_threshold(threshold_of(0.5)), "8");
        assert_eq!(encode_threshold(threshold_of(0.25)), "c");
        assert_eq!(encode_threshold(threshold_of(0.1)), "e6666666666666");
        assert_eq!(encode_threshold(threshold_of(0.01)), "fd70a3d70a3d71");
        assert_eq!(threshold_of(0.0), MAX_THRESHOLD);
        assert_eq!(threshold_of(f64::NAN), 0);
        for r in [1.0, 0.5, 0.25, 0.1, 0.01] {
            let back = ratio_of_threshold(&encode_threshold(threshold_of(r))).unwrap();
            assert!((back - r).abs() < 1e-12, "{r} -> {back}");
        }
        assert_eq!(ratio_of_threshold("xyz"), None);
    }

    #[test]
    fn seeded_trace_ids_are_one_sequence_per_flow() {
        let ids = FlowIdGenerator::seeded(42, ["browse", "checkout"]);
        let again = FlowIdGenerator::seeded(42, ["browse", "checkout"]);
        let browse: Vec<TraceId> = (0..100).map(|_| ids.draw(Some("browse"))).collect();
        // Draws of other flows in between change nothing.
        let mut interleaved = Vec::new();
        for _ in 0..100 {
            again.draw(Some("checkout"));
            again.draw(None);
            interleaved.push(again.draw(Some("browse")));
        }
        assert_eq!(browse, interleaved);
        let distinct: std::collections::HashSet<_> = browse.iter().collect();
        assert_eq!(distinct.len(), 100);
        assert!(browse.iter().all(|t| *t != TraceId::INVALID));
        assert_ne!(ids.draw(Some("checkout")), ids.draw(Some("browse")));
        // The randomness (lowest 56 bits) is spread: about a tenth is kept at 10%.
        let policy = Policy::new(0.1);
        let ids = FlowIdGenerator::seeded(1, ["browse"]);
        let kept = (0..10_000)
            .filter(|_| policy.keeps(ids.draw(Some("browse"))))
            .count();
        assert!((850..1150).contains(&kept), "{kept}");
    }
}
