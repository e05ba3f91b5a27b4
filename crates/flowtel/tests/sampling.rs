//! Flow-aware head sampling end to end in memory, with the bundled conventions (browse at 10%,
//! checkout at 100%): sampled-out traces are absent, kept ones whole and marked with their
//! threshold in `tracestate`, and RED metrics count every flow whatever the ratio.

mod common;

use std::collections::{HashMap, HashSet};

use common::{conventions, points};
use flowtel::FlowSampler;
use flowtel::sampling::ratio_of_threshold;
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// A flow span as `#[flowtel::flow]` opens it: the span's name is the flow, so the sampler
/// decides a root before the span is built.
fn flow(name: &'static str) -> tracing::Span {
    match name {
        "browse" => flowtel_testkit::flow_span!("browse"),
        "checkout" => flowtel_testkit::flow_span!("checkout"),
        _ => tracing::info_span!(
            target: "flowtel::flow",
            "flow",
            flowtel.kind = "flow",
            flow.name = name,
            otel.name = name,
            outcome = Empty,
            error.type = Empty,
        ),
    }
}

/// A server span as a `tracing` span, as the tower middleware opens it under a subscriber
/// without `TraceLayer`'s tracer (and the message consumer opens its span): the caller's
/// context, with the flow as a hint, is current while it is created.
fn server(parent: &Context, flow: &'static str) -> tracing::Span {
    let _opening = parent
        .with_value(flowtel::sampling::FlowHint(flow.into()))
        .attach();
    let span = tracing::info_span!(
        target: "flowtel::http",
        "HTTP request",
        otel.name = "GET /products",
        otel.kind = "server",
        flow.name = flow,
    );
    let _ = span.set_parent(parent.clone());
    span
}

fn step(name: &'static str) -> tracing::Span {
    tracing::info_span!(
        target: "flowtel::step",
        "step",
        flowtel.kind = "step",
        flow.step = name,
        flow.name = Empty,
        otel.name = name,
        outcome = Empty,
        error.type = Empty,
    )
}

#[test]
fn browse_is_sampled_checkout_kept_whole_and_metrics_count_everything() {
    let (telemetry, dispatch) = flowtel::init(conventions())
        .service("catalog", "1.0.0")
        .in_memory()
        .build()
        .expect("telemetry");
    let (browses, checkouts) = (3000usize, 300usize);
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..browses + checkouts {
            let browsing = i < browses;
            let f = flow(if browsing { "browse" } else { "checkout" });
            let _f = f.enter();
            {
                let s = step(if browsing {
                    "catalog.search"
                } else {
                    "cart.load"
                });
                let _s = s.enter();
                s.record("outcome", "ok");
            }
            f.record("outcome", "ok");
        }
    });
    let metrics = telemetry.finished_metrics().expect("metrics");
    telemetry.flush();
    let spans = telemetry.finished_spans();

    // Metrics are never sampled: every browse and checkout is counted.
    let requests = points(&metrics, "flow.requests");
    let count = |flow: &str| {
        requests
            .iter()
            .filter(|p| p.attrs.contains(&("flow.name".into(), flow.into())))
            .map(|p| p.value)
            .sum::<f64>()
    };
    assert_eq!(count("browse"), browses as f64);
    assert_eq!(count("checkout"), checkouts as f64);

    let mut by_trace: HashMap<TraceId, Vec<&opentelemetry_sdk::trace::SpanData>> = HashMap::new();
    for s in &spans {
        by_trace
            .entry(s.span_context.trace_id())
            .or_default()
            .push(s);
    }
    let roots = |name: &str| {
        spans
            .iter()
            .filter(|s| s.name == name && s.parent_span_id == SpanId::INVALID)
            .collect::<Vec<_>>()
    };
    // Every checkout trace, whole, marked 100%.
    let checkout = roots("checkout");
    assert_eq!(checkout.len(), checkouts);
    for root in &checkout {
        assert_eq!(root.span_context.trace_state().get("ot"), Some("th:0"));
        assert_eq!(
            by_trace[&root.span_context.trace_id()].len(),
            2,
            "flow and step"
        );
    }
    // About 10% of browse traces (binomial, 4.4 standard deviations: fails once in 10^5 runs).
    let browse = roots("browse");
    let (n, p) = (browses as f64, 0.1);
    let sd = (n * p * (1.0 - p)).sqrt();
    let kept = browse.len() as f64;
    assert!(
        (kept - n * p).abs() <= 4.4 * sd,
        "{kept} of {browses} browse traces kept"
    );
    for root in &browse {
        let th = root.span_context.trace_state().get("ot").unwrap();
        let ratio = ratio_of_threshold(th.strip_prefix("th:").unwrap()).unwrap();
        assert!((ratio - 0.1).abs() < 1e-12);
        let trace = &by_trace[&root.span_context.trace_id()];
        assert_eq!(trace.len(), 2, "kept browse traces are whole");
        // The step inherits the decision and the threshold.
        assert!(
            trace
                .iter()
                .all(|s| s.span_context.trace_state().get("ot") == Some(th))
        );
    }
    // No orphan: every exported span's trace has its root.
    let root_traces: HashSet<TraceId> = spans
        .iter()
        .filter(|s| s.parent_span_id == SpanId::INVALID)
        .map(|s| s.span_context.trace_id())
        .collect();
    assert!(
        spans
            .iter()
            .all(|s| root_traces.contains(&s.span_context.trace_id()))
    );
}

#[test]
fn below_the_root_the_parent_decides_even_across_services() {
    let sampler = FlowSampler::new(&conventions());
    let checkout = [KeyValue::new("flow.name", "checkout")];
    let remote = |sampled: bool| {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let state = TraceState::from_key_value([("ot", "th:e6666666666666")]).unwrap();
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(7u128),
            SpanId::from(9u64),
            flags,
            true,
            state,
        ))
    };
    let decide = |cx: Option<&Context>, attrs: &[KeyValue]| {
        sampler.should_sample(
            cx,
            TraceId::from(7u128),
            "POST /payments/{order}",
            &SpanKind::Server,
            attrs,
            &[],
        )
    };
    // A checkout request whose caller dropped the trace stays dropped, and vice versa.
    assert_eq!(
        decide(Some(&remote(false)), &checkout).decision,
        SamplingDecision::Drop
    );
    let kept = decide(Some(&remote(true)), &checkout);
    assert_eq!(kept.decision, SamplingDecision::RecordAndSample);
    assert_eq!(kept.trace_state.get("ot"), Some("th:e6666666666666"));
    // At a root, the flow decides: checkout is always kept.
    for id in 1..200u128 {
        let r = sampler.should_sample(
            None,
            TraceId::from(id * 0x9e37_79b9_7f4a_7c15),
            "checkout",
            &SpanKind::Internal,
            &checkout,
            &[],
        );
        assert_eq!(r.decision, SamplingDecision::RecordAndSample);
    }
}

#[test]
fn a_dropped_request_is_never_built_and_sends_the_not_sampled_flag_downstream() {
    dropped_requests(true);
}

#[test]
fn the_same_in_fast_mode_without_context_activation() {
    dropped_requests(false);
}

fn dropped_requests(activation: bool) {
    let (telemetry, dispatch) = flowtel::init(conventions())
        .service("gateway", "1.0.0")
        .context_activation(activation)
        .in_memory()
        .build()
        .expect("telemetry");
    let requests = 2000usize;
    let mut sent = Vec::new();
    tracing::dispatcher::with_default(&dispatch, || {
        for _ in 0..requests {
            // A request without a caller: the flow of its route decides.
            let root = server(&Context::new(), "browse");
            let _r = root.enter();
            let f = flow("browse");
            let _f = f.enter();
            let client = tracing::info_span!(
                target: "flowtel::http",
                "HTTP client request",
                otel.name = "GET",
                otel.kind = "client",
            );
            let cx = flowtel::otel_layer::otel_context(&client);
            let sc = cx.span().span_context().clone();
            assert!(sc.is_valid(), "every request sends a traceparent");
            // What a library using the OpenTelemetry API would see as its parent (in fast
            // mode only a dropped trace's context is made current).
            if activation || !sc.is_sampled() {
                let current = Context::current().span().span_context().clone();
                assert_eq!(current.trace_id(), sc.trace_id());
                assert_eq!(current.is_sampled(), sc.is_sampled());
            }
            sent.push(sc);
            f.record("outcome", "ok");
        }
        // A request whose caller dropped the trace is dropped whole, and one whose caller kept
        // it is kept, whatever its own flow's ratio.
        for sampled in [false, true] {
            let flags = if sampled {
                TraceFlags::SAMPLED
            } else {
                TraceFlags::default()
            };
            let caller = Context::new().with_remote_span_context(SpanContext::new(
                TraceId::from(0xabcdu128),
                SpanId::from(0x12u64),
                flags,
                true,
                TraceState::from_key_value([("ot", "th:e6666666666666")]).unwrap(),
            ));
            let root = server(&caller, "checkout");
            let _r = root.enter();
            let s = step("cart.load");
            let _s = s.enter();
            let cx = flowtel::otel_layer::otel_context(&s);
            assert_eq!(
                cx.span().span_context().trace_id(),
                TraceId::from(0xabcdu128)
            );
            assert_eq!(cx.span().span_context().is_sampled(), sampled);
        }
    });
    let metrics = telemetry.finished_metrics().expect("metrics");
    telemetry.flush();
    let spans = telemetry.finished_spans();

    let exported: HashSet<TraceId> = spans.iter().map(|s| s.span_context.trace_id()).collect();
    let kept: Vec<_> = sent.iter().filter(|sc| sc.is_sampled()).collect();
    // Sent sampled exactly when exported, and exported whole (server, flow, client).
    for sc in &sent {
        assert_eq!(exported.contains(&sc.trace_id()), sc.is_sampled());
    }
    for sc in &kept {
        let trace: Vec<_> = spans
            .iter()
            .filter(|s| s.span_context.trace_id() == sc.trace_id())
            .collect();
        assert_eq!(trace.len(), 3, "server, flow and client spans");
        let th = sc
            .trace_state()
            .get("ot")
            .expect("kept traces carry their threshold");
        assert_eq!(th, "th:e6666666666666");
    }
    // About 10% kept: the decision before the span is built is the sampler's, not a second draw
    // (binomial, 4.4 standard deviations).
    let (n, p) = (requests as f64, 0.1);
    let sd = (n * p * (1.0 - p)).sqrt();
    assert!(
        (kept.len() as f64 - n * p).abs() <= 4.4 * sd,
        "{} of {requests} kept",
        kept.len()
    );
    // The caller's decision wins: its kept checkout trace is exported, its dropped one is not.
    let caller_spans = spans
        .iter()
        .filter(|s| s.span_context.trace_id() == TraceId::from(0xabcdu128))
        .count();
    assert_eq!(
        caller_spans, 2,
        "the kept request's server and step spans only"
    );
    // Metrics are never sampled.
    let browse: f64 = points(&metrics, "flow.requests")
        .iter()
        .filter(|p| p.attrs.contains(&("flow.name".into(), "browse".into())))
        .map(|p| p.value)
        .sum();
    assert_eq!(browse, requests as f64);
}

/// The trace ids of the browse traces kept when `browses` browse flows and `checkouts`
/// checkout flows run in the order `browse_at` says, with trace ids seeded by `seed`.
fn kept_browse_traces(
    seed: u64,
    browses: usize,
    checkouts: usize,
    browse_at: impl Fn(usize) -> bool,
) -> HashSet<TraceId> {
    let (telemetry, dispatch) = flowtel::init(conventions())
        .service("catalog", "1.0.0")
        .trace_id_seed(seed)
        .in_memory()
        .build()
        .expect("telemetry");
    let (mut b, mut c) = (0, 0);
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0.. {
            let browsing = match (b < browses, c < checkouts) {
                (true, true) => browse_at(i),
                (browsing, more) if browsing || more => browsing,
                _ => break,
            };
            if browsing {
                b += 1;
            } else {
                c += 1;
            }
            let f = flow(if browsing { "browse" } else { "checkout" });
            let _f = f.enter();
            f.record("outcome", "ok");
        }
    });
    telemetry.flush();
    let spans = telemetry.finished_spans();
    assert_eq!(
        spans.iter().filter(|s| s.name == "checkout").count(),
        checkouts
    );
    spans
        .iter()
        .filter(|s| s.name == "browse")
        .map(|s| s.span_context.trace_id())
        .collect()
}

#[test]
fn a_seeded_run_keeps_the_same_browse_traces_however_flows_interleave() {
    let (browses, checkouts) = (400, 100);
    let first = kept_browse_traces(7, browses, checkouts, |i| i % 5 != 0);
    let checkout_first = kept_browse_traces(7, browses, checkouts, |_| false);
    let browse_first = kept_browse_traces(7, browses, checkouts, |_| true);
    assert!(
        !first.is_empty() && first.len() < browses / 4,
        "{}",
        first.len()
    );
    assert_eq!(first, checkout_first);
    assert_eq!(first, browse_first);
    // Another seed, other traces; no seed, random ones.
    let other = kept_browse_traces(8, browses, checkouts, |i| i % 5 != 0);
    assert!(other.is_disjoint(&first), "{other:?}");
    let (telemetry, dispatch) = flowtel::init(conventions())
        .service("catalog", "1.0.0")
        .in_memory()
        .build()
        .expect("telemetry");
    tracing::dispatcher::with_default(&dispatch, || {
        for _ in 0..browses {
            let f = flow("browse");
            let _f = f.enter();
        }
    });
    telemetry.flush();
    let random: HashSet<TraceId> = telemetry
        .finished_spans()
        .iter()
        .map(|s| s.span_context.trace_id())
        .collect();
    assert!(random.is_disjoint(&first));
}

#[test]
fn at_a_root_the_flow_comes_from_the_attributes_or_else_the_baggage() {
    use opentelemetry::baggage::BaggageExt;
    let sampler = FlowSampler::new(&conventions());
    // Randomness (the lowest 56 bits) at the top keeps at any ratio; at 0 only at ratio 1.
    let (high, low) = (TraceId::from((1u128 << 56) - 1), TraceId::from(1u128 << 64));
    let decide = |cx: &Context, id: TraceId, attrs: &[KeyValue]| {
        let r = sampler.should_sample(Some(cx), id, "GET /products", &SpanKind::Server, attrs, &[]);
        (r.decision, r.trace_state.header())
    };
    let keep = |th: &str| (SamplingDecision::RecordAndSample, format!("ot=th:{th}"));
    let drop = (SamplingDecision::Drop, String::new());
    let browsing = Context::new().with_baggage([KeyValue::new("flow.name", "browse")]);
    let checking_out = Context::new().with_baggage([KeyValue::new("flow.name", "checkout")]);
    // From the baggage the caller sent: browse at 10%, checkout whole.
    assert_eq!(decide(&browsing, high, &[]), keep("e6666666666666"));
    assert_eq!(decide(&browsing, low, &[]), drop);
    assert_eq!(decide(&checking_out, low, &[]), keep("0"));
    // The span's own `flow.name` (the entry route's flow) wins over the baggage.
    let checkout = [KeyValue::new("flow.name", "checkout")];
    assert_eq!(decide(&browsing, low, &checkout), keep("0"));
    // Neither: the registry's default ratio (1.0 in the bundled conventions).
    assert_eq!(decide(&Context::new(), low, &[]), keep("0"));
}
