//! Log export costs: a declared event written with `flowtel::event!` inside a flow's step
//! span and exported through flowtel's `LogLayer`, against the same `tracing` event exported
//! through the plain `opentelemetry-appender-tracing` bridge inside the same span; and an
//! event over its rate limit (a capped flood) against an exported one.
//!
//! Run: `cargo bench -p flowtel --bench logs`. Every stack has the same `tracing-opentelemetry`
//! layer (so records carry the span's trace and span ids) and an SDK logger provider whose
//! processor discards records, so the numbers are the cost on the emitting thread up to the
//! exporter's queue. The event is the shop's `payment.declined` (bundled conventions) with
//! three attributes and a message. `declared_event` raises its `rate_limit` so every record is
//! exported; `capped_flood` lowers it to 1 per second, so all but one a second are dropped and
//! counted.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use flowtel_testkit::otel::{DiscardLogs, tracer_provider};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use tracing_subscriber::layer::SubscriberExt;

fn conventions(rate_limit: u32) -> flowtel::Conventions {
    let mut reg = flowtel_testkit::bundled_conventions();
    reg.events
        .get_mut("payment.declined")
        .expect("the bundled conventions declare payment.declined")
        .rate_limit = Some(rate_limit);
    Arc::new(reg)
}

fn tracer_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    flowtel::otel_layer::span_layer(tracer_provider().tracer("bench"))
}

/// flowtel's stack as `init` builds it: flow layer, spans through `TraceLayer`, the log layer
/// over the bridge.
fn flowtel_dispatch(rate_limit: u32) -> tracing::Dispatch {
    let conventions = conventions(rate_limit);
    let violations = Arc::new(flowtel::Violations::new());
    let meter = flowtel::Meter::with_violations(
        conventions.clone(),
        SdkMeterProvider::builder().build().meter("bench"),
        violations.clone(),
    );
    let logs = SdkLoggerProvider::builder()
        .with_log_processor(flowtel::logs::FlowLogProcessor::new(DiscardLogs))
        .build();
    let log_layer = flowtel::LogLayer::new(
        &logs,
        &conventions,
        Arc::new(flowtel::redact::Redactor::from_registry(&conventions)),
        violations,
    );
    tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(flowtel::FlowLayer::new(&meter))
            .with(flowtel::TraceLayer::new(tracer_layer()))
            .with(log_layer),
    )
}

/// The plain bridge: spans, and `opentelemetry-appender-tracing` for events (with flowtel's
/// flow layer when `flow_layer`, to tell its share from the log layer's).
fn bridge_dispatch(flow_layer: bool) -> tracing::Dispatch {
    let logs = SdkLoggerProvider::builder()
        .with_log_processor(DiscardLogs)
        .build();
    let flow = flow_layer.then(|| {
        let meter = flowtel::Meter::new(
            conventions(100),
            SdkMeterProvider::builder().build().meter("bench"),
        );
        flowtel::FlowLayer::new(&meter)
    });
    tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(flow)
            .with(tracer_layer())
            .with(OpenTelemetryTracingBridge::new(&logs)),
    )
}

fn declared(order: &str) {
    flowtel::event!(
        "payment.declined",
        payment.decline_reason = "card_expired",
        payment.method = "card",
        order.id = order,
        "payment declined"
    );
}

fn plain(order: &str) {
    tracing::event!(
        name: "payment.declined",
        tracing::Level::WARN,
        payment.decline_reason = "card_expired",
        payment.method = "card",
        order.id = order,
        "payment declined"
    );
}

/// Runs `f` inside the checkout flow's `payment.authorize` step span (flowtel's macros, so the
/// flow layer knows the flow; the bridge stack sees the same spans as plain `tracing` spans).
fn in_step(f: impl FnOnce()) {
    flowtel::flow_span!("checkout", {
        flowtel::step_span!("payment.authorize", { f() })
    })
}

fn events(c: &mut Criterion) {
    let order = "order-4711";
    let mut g = c.benchmark_group("event_in_span");
    let bridge = bridge_dispatch(false);
    let bridge_flow = bridge_dispatch(true);
    let exported = flowtel_dispatch(u32::MAX);
    let capped = flowtel_dispatch(1);
    // Twice, alternating, so that load on a shared machine weighs on both sides alike.
    for round in ["", "_again"] {
        tracing::dispatcher::with_default(&bridge, || {
            in_step(|| {
                g.bench_function(format!("plain_bridge{round}"), |b| b.iter(|| plain(order)));
            });
        });
        tracing::dispatcher::with_default(&exported, || {
            in_step(|| {
                g.bench_function(format!("declared_event{round}"), |b| {
                    b.iter(|| declared(order))
                });
            });
        });
    }
    tracing::dispatcher::with_default(&bridge_flow, || {
        in_step(|| {
            g.bench_function("plain_bridge_with_flow_layer", |b| b.iter(|| plain(order)));
        });
    });
    tracing::dispatcher::with_default(&exported, || {
        in_step(|| {
            g.bench_function("declared_tracing_event", |b| b.iter(|| plain(order)));
        });
    });
    tracing::dispatcher::with_default(&capped, || {
        in_step(|| {
            g.bench_function("capped_flood", |b| b.iter(|| declared(order)));
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = events
}
criterion_main!(benches);
