//! Cost of `#[flowtel::step]` against what a team writes by hand for the same telemetry:
//! `#[tracing::instrument(fields(flow.name, flow.step))]` plus an OpenTelemetry histogram
//! record of the duration with the same three labels.
//!
//! Run: `cargo bench -p flowtel-macros --bench step_overhead`. Both functions run under one
//! subscriber, `tracing_subscriber::registry()` with flowtel's runtime `FlowLayer`, and one
//! meter provider with a reader, so every record is aggregated for real: for the flowtel
//! function the layer records `flow.step.duration` when the span closes; for the hand-written
//! one the function records it itself (the layer sees its span too, as it would in a service).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Histogram, MeterProvider as _};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use tracing_subscriber::layer::SubscriberExt;

/// The work inside the step: small, so the benchmark measures the instrumentation.
fn work(x: u64) -> u64 {
    (0..16).fold(x, |acc, i| acc.wrapping_mul(31).wrapping_add(i))
}

#[flowtel::step(flow = "checkout", name = "cart.load")]
fn with_flowtel(x: u64) -> u64 {
    work(x)
}

#[tracing::instrument(skip(histogram), fields(flow.name = "checkout", flow.step = "cart.load"))]
fn by_hand(x: u64, histogram: &Histogram<f64>) -> u64 {
    let start = Instant::now();
    let r = work(x);
    histogram.record(
        start.elapsed().as_secs_f64(),
        &[
            KeyValue::new("flow.name", "checkout"),
            KeyValue::new("flow.step", "cart.load"),
            KeyValue::new("outcome", "ok"),
        ],
    );
    r
}

fn bench(c: &mut Criterion) {
    let reader = PeriodicReader::builder(InMemoryMetricExporter::default())
        .with_interval(Duration::from_secs(3600))
        .build();
    let provider = SdkMeterProvider::builder().with_reader(reader).build();
    let meter = flowtel::Meter::new(flowtel::conventions!(), provider.meter("flowtel"));
    let layer = flowtel::FlowLayer::new(&meter);
    let histogram = provider
        .meter("by-hand")
        .f64_histogram("flow.step.duration")
        .with_unit("s")
        .build();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        let mut g = c.benchmark_group("step");
        g.bench_function("flowtel::step", |b| b.iter(|| with_flowtel(black_box(7))));
        g.bench_function("instrument + histogram", |b| {
            b.iter(|| by_hand(black_box(7), &histogram))
        });
        g.finish();
    });
    drop(provider);
}

criterion_group!(benches, bench);
criterion_main!(benches);
