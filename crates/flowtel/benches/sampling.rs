//! Head sampling costs: the `FlowSampler` decision against the SDK's own ratio sampler, and a
//! dropped trace's spans against recorded ones.
//!
//! Run: `cargo bench -p flowtel --bench sampling`. `decision/*` calls `should_sample` directly:
//! at a root with `flow.name` among the attributes (the flow span, the server span), and below
//! a sampled local parent. `span/*` opens a flow span with one step span through `tracing`,
//! `tracing-opentelemetry` and an SDK tracer whose processor discards ended spans, sampled by
//! `FlowSampler` from the bundled conventions with `browse` set to ratio 0 (every trace
//! dropped) and `checkout` at 1 (every trace recorded); `traces_only` without flowtel's
//! `FlowLayer`, `with_red_metrics` with it (metrics are recorded whatever the sampling), both
//! wired as `flowtel::init` does (the sampler decides before the span is built);
//! `traces_only_sdk_decides` is the obvious alternative: the SDK's sampler alone, deciding once
//! `tracing-opentelemetry` has built the span; `span/registry_only` the floor, the same spans
//! through `tracing`'s registry with no layer. `decision/sdk_*` are the SDK's own samplers on
//! the same input; `decision/trace_state_copy` is what every sampler pays below a sampled
//! parent, the copy of the parent's `tracestate` the SDK takes by value; the `*_kept` variants
//! free their results outside the timing.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use flowtel::FlowSampler;
use flowtel::TraceLayer;
use flowtel::sampling::FlowIdGenerator;
use flowtel_testkit::otel::{DiscardSpans, meter_provider};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
    TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingResult, SdkTracerProvider, ShouldSample};
use tracing::field::Empty;
use tracing_subscriber::layer::SubscriberExt;

/// The bundled conventions with `browse` sampled at ratio 0 (every trace dropped).
fn conventions() -> flowtel_conventions::Registry {
    let mut reg = flowtel_testkit::bundled_conventions();
    reg.sampling.entry("browse".into()).or_default().ratio = Some(0.0);
    reg
}

fn decision(c: &mut Criterion) {
    let reg = conventions();
    let flow = FlowSampler::new(&reg);
    let ratio = Sampler::TraceIdRatioBased(0.1);
    let attrs = [
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("http.route", "/products/{id}"),
        KeyValue::new("flow.name", "browse"),
    ];
    let parent = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736u128),
        SpanId::from(0x00f0_67aa_0ba9_02b7u64),
        TraceFlags::SAMPLED,
        false,
        TraceState::from_key_value([("ot", "th:e6666666666666")]).unwrap(),
    ));
    let mut g = c.benchmark_group("decision");
    let mut id = 1u128;
    g.bench_function("flow_sampler_root", |b| {
        b.iter(|| {
            id = id.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(1);
            root_decision(&flow, id, &attrs)
        })
    });
    g.bench_function("sdk_trace_id_ratio_root", |b| {
        b.iter(|| {
            id = id.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(1);
            root_decision(&ratio, id, &attrs)
        })
    });
    let parent_based = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.1)));
    g.bench_function("sdk_parent_based_child", |b| {
        b.iter(|| child_decision(&parent_based, &parent, id))
    });
    g.bench_function("flow_sampler_child", |b| {
        b.iter(|| child_decision(&flow, &parent, id))
    });
    // The floor of any `ShouldSample` below a sampled parent: the SDK takes the child's
    // `TraceState` by value, so the parent's is copied (a list and two strings).
    let parent_state = parent.span().span_context().trace_state().clone();
    g.bench_function("trace_state_copy", |b| b.iter(|| parent_state.clone()));
    // The same three, the result freed outside the timing (as in a service, where the copy is
    // freed with the span after export, on the exporter's thread).
    g.bench_function("sdk_parent_based_child_kept", |b| {
        b.iter_with_large_drop(|| child_decision(&parent_based, &parent, id))
    });
    g.bench_function("flow_sampler_child_kept", |b| {
        b.iter_with_large_drop(|| child_decision(&flow, &parent, id))
    });
    g.bench_function("trace_state_copy_kept", |b| {
        b.iter_with_large_drop(|| parent_state.clone())
    });
    g.finish();
}

/// A sampler's decision for a root server span of trace `id` with `attrs`.
fn root_decision(sampler: &dyn ShouldSample, id: u128, attrs: &[KeyValue]) -> SamplingResult {
    sampler.should_sample(
        None,
        TraceId::from(id),
        "GET /products/{id}",
        &SpanKind::Server,
        attrs,
        &[],
    )
}

/// A sampler's decision for an internal `step` span of trace `id` below `parent`.
fn child_decision(sampler: &dyn ShouldSample, parent: &Context, id: u128) -> SamplingResult {
    sampler.should_sample(
        Some(parent),
        TraceId::from(id),
        "step",
        &SpanKind::Internal,
        &[],
        &[],
    )
}

/// The subscriber `flowtel::init` builds, without export: with `presample`, the
/// OpenTelemetry layer inside `TraceLayer`, which decides before the span is built; without,
/// the plain OpenTelemetry layer, the SDK deciding once `tracing-opentelemetry` has built the
/// span.
fn dispatch(with_metrics: bool, presample: bool) -> tracing::Dispatch {
    let reg = conventions();
    let sampler = Arc::new(FlowSampler::new(&reg));
    let ids = FlowIdGenerator::default();
    let tracer = SdkTracerProvider::builder()
        .with_sampler(sampler.as_ref().clone())
        .with_id_generator(ids.clone())
        .with_span_processor(DiscardSpans)
        .build()
        .tracer("bench");
    macro_rules! otel {
        () => {
            flowtel::otel_layer::span_layer(tracer.clone())
        };
    }
    let (flowtel, plain) = if presample {
        let layer = TraceLayer::new(otel!())
            .lending(tracer.clone(), true)
            .sampled_by(sampler, ids);
        (Some(layer), None)
    } else {
        (None, Some(otel!()))
    };
    let meters = meter_provider();
    let flow = with_metrics.then(|| {
        let meter = flowtel::Meter::new(Arc::new(reg), meters.meter("bench"));
        flowtel::FlowLayer::new(&meter)
    });
    tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(flow)
            .with(flowtel)
            .with(plain),
    )
}

fn flow_with_step(flow: &'static str, step: &'static str) {
    // As `#[flowtel::flow]` opens it: the span's name is the flow.
    let f = if flow == "browse" {
        flowtel_testkit::flow_span!("browse")
    } else {
        flowtel_testkit::flow_span!("checkout")
    };
    let _f = f.enter();
    let s = tracing::info_span!(
        target: "flowtel::step",
        "step",
        flowtel.kind = "step",
        flow.step = step,
        flow.name = Empty,
        otel.name = step,
        outcome = Empty,
        error.type = Empty,
    );
    let _s = s.enter();
    s.record("outcome", "ok");
    f.record("outcome", "ok");
}

fn spans(c: &mut Criterion) {
    for (label, with_metrics, presample) in [
        ("traces_only", false, true),
        ("with_red_metrics", true, true),
        ("traces_only_sdk_decides", false, false),
    ] {
        let d = dispatch(with_metrics, presample);
        let mut g = c.benchmark_group(format!("span/{label}"));
        // Two rounds, the variants alternating, so that a change of load on the machine shows
        // as a difference between rounds rather than as a ratio.
        tracing::dispatcher::with_default(&d, || {
            for round in ["", "_round2"] {
                g.bench_function(format!("recorded_checkout{round}"), |b| {
                    b.iter(|| flow_with_step("checkout", "cart.load"))
                });
                g.bench_function(format!("dropped_browse{round}"), |b| {
                    b.iter(|| flow_with_step("browse", "catalog.search"))
                });
            }
        });
        g.finish();
    }
    // The floor of any span through `tracing`: the registry alone, no layer at all.
    let bare = tracing::Dispatch::new(tracing_subscriber::registry());
    let mut g = c.benchmark_group("span/registry_only");
    tracing::dispatcher::with_default(&bare, || {
        g.bench_function("flow_with_step", |b| {
            b.iter(|| flow_with_step("browse", "catalog.search"))
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = decision, spans
}
criterion_main!(benches);
