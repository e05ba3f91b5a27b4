//! A request through flowtel's server layer vs `opentelemetry-instrumentation-tower` 0.19
//! (the OpenTelemetry contrib tower middleware, which supports OpenTelemetry 0.33 and axum
//! 0.8), doing the same: a server span and `http.server.request.duration` per request.
//!
//! Run: `cargo bench -p flowtel-tower --bench server`. flowtel runs under `flowtel::init`'s
//! subscriber; both sides' spans go to a processor that discards them and their metrics to an
//! in-memory reader, so spans and metrics are really built and aggregated but nothing is
//! exported. The
//! request goes through an axum `Router` in-process (`oneshot`), the route matched as
//! `/orders/{id}/pay` with a distinct id each time.

mod common;

use std::time::Duration;

use common::{providers, request, routes};
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("server_request");

    // flowtel as `flowtel::init` builds it: the server span through the OpenTelemetry API,
    // the request's tracing span standing for it, FlowLayer, LogLayer, enforcing meter.
    let (telemetry, dispatch) = common::init(flowtel_testkit::bundled_conventions(), true);
    let app = routes()
        .layer(flowtel_tower::FlowServerLayer::new(&telemetry))
        .with_state(());
    let mut i = 0u64;
    tracing::dispatcher::with_default(&dispatch, || {
        g.bench_function("flowtel", |b| {
            b.iter(|| {
                i += 1;
                rt.block_on(app.clone().oneshot(request(i))).unwrap()
            })
        });
    });

    // opentelemetry-instrumentation-tower: OpenTelemetry span and metric directly.
    let (tracer, meters) = providers();
    opentelemetry::global::set_tracer_provider(tracer.clone());
    opentelemetry::global::set_meter_provider(meters.clone());
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let app = routes()
        .layer(opentelemetry_instrumentation_tower::http::server::Layer::new())
        .with_state(());
    g.bench_function("opentelemetry_instrumentation_tower", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(app.clone().oneshot(request(i))).unwrap()
        })
    });

    // The bare router, for scale.
    let app = routes().with_state(());
    g.bench_function("uninstrumented", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(app.clone().oneshot(request(i))).unwrap()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
