//! A step span through flowtel vs a function instrumented with `autometrics` 3.0.
//!
//! Run: `cargo bench -p flowtel --bench step`. flowtel's step is the span the
//! `#[flowtel::step]` macro writes, closed with `outcome` recorded: `FlowLayer` records
//! `flow.step.duration` through the enforcing meter, and (in the full variant)
//! `tracing-opentelemetry` builds the OpenTelemetry span, ended into a discarding processor.
//! autometrics 3.0 (prometheus-client backend; its OpenTelemetry backend is pinned to
//! OpenTelemetry 0.30) records a call counter and a duration histogram per call, no span.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use autometrics::autometrics;
use criterion::{Criterion, criterion_group, criterion_main};
use flowtel_testkit::otel::{meter_provider, tracer_provider};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use tracing::field::Empty;
use tracing_subscriber::layer::SubscriberExt;

/// The span `#[flowtel::step("payment.authorize")]` writes inside flow `checkout`.
fn step_flowtel(x: u64) -> u64 {
    let span = tracing::info_span!(
        target: "flowtel::step",
        "checkout payment.authorize",
        flowtel.kind = "step",
        flow.step = "payment.authorize",
        flow.name = "checkout",
        otel.name = "checkout payment.authorize",
        code.function = "step_flowtel",
        code.namespace = module_path!(),
        outcome = Empty,
        error.type = Empty,
    );
    let _entered = span.enter();
    let r = black_box(x).wrapping_mul(31);
    span.record("outcome", "ok");
    r
}

#[autometrics]
fn step_autometrics(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

fn bench(c: &mut Criterion) {
    let meters = meter_provider();
    let meter = flowtel::Meter::new(
        Arc::new(flowtel_testkit::bundled_conventions()),
        meters.meter("flowtel"),
    );
    let tracer = tracer_provider();

    let mut g = c.benchmark_group("step");
    let full = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(flowtel::FlowLayer::new(&meter))
            .with(
                flowtel::otel_layer::span_layer(tracer.tracer("flowtel"))
                    .with_context_activation(false),
            ),
    );
    let mut i = 0u64;
    tracing::dispatcher::with_default(&full, || {
        g.bench_function("flowtel_span_and_metrics", |b| {
            b.iter(|| {
                i += 1;
                step_flowtel(i)
            })
        });
    });
    let metrics_only = tracing::Dispatch::new(
        tracing_subscriber::registry().with(flowtel::FlowLayer::new(&meter)),
    );
    tracing::dispatcher::with_default(&metrics_only, || {
        g.bench_function("flowtel_metrics_only", |b| {
            b.iter(|| {
                i += 1;
                step_flowtel(i)
            })
        });
    });
    g.bench_function("autometrics", |b| {
        b.iter(|| {
            i += 1;
            step_autometrics(i)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
