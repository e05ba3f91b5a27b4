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

use std::collections::HashMap;

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{Link, SpanKind, TraceContextExt, TraceId, TraceState};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};

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

    fn decide(&self, trace_id: TraceId) -> SamplingResult {
        let randomness = u128::from_be_bytes(trace_id.to_bytes()) as u64 & (MAX_THRESHOLD - 1);
        if self.threshold < MAX_THRESHOLD && randomness >= self.threshold {
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
    flows: HashMap<Box<str>, Policy>,
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
                return SamplingResult {
                    decision: if sc.is_sampled() {
                        SamplingDecision::RecordAndSample
                    } else {
                        SamplingDecision::Drop
                    },
                    attributes: Vec::new(),
                    trace_state: sc.trace_state().clone(),
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
}
