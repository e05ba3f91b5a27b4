//! Interleaved comparison of a request through flowtel's server layer and through
//! `opentelemetry-instrumentation-tower` 0.19, reporting the median of per-round ratios.
//!
//! Run: `cargo bench -p flowtel-tower --bench server_ratio`. Criterion runs one function after
//! the other, so on a shared machine a load change between them shows up as a difference;
//! here every round runs each variant for the same number of requests back to back, and the
//! ratio is taken within the round. Variants: flowtel under the subscriber `flowtel::init`
//! builds (context activation on, `http.server.active_requests` recorded, the `info` level
//! filter, the log layer), the same in the fast mode (`context_activation(false)`), the same
//! without the active-requests signal (its cost), the OpenTelemetry contrib middleware, the
//! bare router, and flowtel's layer under a subscriber of the user's own without flowtel's
//! `TraceLayer` (the server span then built by `tracing-opentelemetry`). Every variant's spans
//! go to a processor that discards them, metrics to a reader that never collects.
//!
//! Time is the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so time the thread
//! spends preempted by other work on a loaded machine does not count, and the order of the variants rotates from round to round, so none always
//! runs first after a switch.

mod common;

use axum::Router;
use common::{Clock, median, providers, request, routes};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;

/// One variant: an app and the dispatch it runs under.
struct Variant {
    name: &'static str,
    app: Router,
    dispatch: tracing::Dispatch,
}

/// flowtel as `flowtel::init` builds it ([`common::init`]).
fn flowtel_variant(
    name: &'static str,
    registry: flowtel_conventions::Registry,
    activation: bool,
) -> (Variant, flowtel::Telemetry) {
    let (telemetry, dispatch) = common::init(registry, activation);
    let app = routes()
        .layer(flowtel_tower::FlowServerLayer::new(&telemetry))
        .with_state(());
    (
        Variant {
            name,
            app,
            dispatch,
        },
        telemetry,
    )
}

/// flowtel's layer under a subscriber of the user's own (the registry, `FlowLayer` and the
/// plain OpenTelemetry layer): the server span is then a `tracing` span that
/// `tracing-opentelemetry` builds.
fn own_subscriber_variant(registry: flowtel_conventions::Registry) -> Variant {
    let (tracer, meters) = providers();
    let meter = flowtel::Meter::new(std::sync::Arc::new(registry), meters.meter("flowtel"));
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(flowtel::FlowLayer::new(&meter))
            .with(flowtel::otel_layer::span_layer(tracer.tracer("flowtel"))),
    );
    let app = routes()
        .layer(flowtel_tower::FlowServerLayer::from_parts(
            &meter,
            flowtel::FlowPropagator::default(),
        ))
        .with_state(());
    Variant {
        name: "flowtel, own subscriber (tracing-opentelemetry builds the span)",
        app,
        dispatch,
    }
}

fn main() {
    let rt = common::runtime();

    let full = flowtel_testkit::bundled_conventions();
    let mut without_active = full.clone();
    without_active
        .metrics
        .shift_remove("http.server.active_requests");
    without_active
        .metrics
        .shift_remove("http.server.active_requests.limit");
    let (tracer, meters) = providers();
    opentelemetry::global::set_tracer_provider(tracer);
    opentelemetry::global::set_meter_provider(meters);
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let (default, _t1) = flowtel_variant("flowtel as init builds it (default)", full.clone(), true);
    let (fast, _t2) = flowtel_variant("flowtel fast mode (no activation)", full.clone(), false);
    let (no_active, _t3) =
        flowtel_variant("flowtel default, no active_requests", without_active, true);
    let variants = [
        default,
        fast,
        no_active,
        Variant {
            name: "opentelemetry-instrumentation-tower 0.19",
            app: routes()
                .layer(opentelemetry_instrumentation_tower::http::server::Layer::new())
                .with_state(()),
            dispatch: tracing::Dispatch::none(),
        },
        Variant {
            name: "uninstrumented router",
            app: routes().with_state(()),
            dispatch: tracing::Dispatch::none(),
        },
        own_subscriber_variant(full),
    ];
    let mut i = 0u64;
    let mut run = |v: &Variant, n: u64| -> f64 {
        tracing::dispatcher::with_default(&v.dispatch, || {
            let clock = Clock::start();
            for _ in 0..n {
                i += 1;
                let resp = rt.block_on(v.app.clone().oneshot(request(i))).unwrap();
                std::hint::black_box(resp);
            }
            clock.elapsed_ns() / n as f64
        })
    };
    let names: Vec<&str> = variants.iter().map(|v| v.name).collect();
    let Some(times) = common::interleave(&names, |k, n| run(&variants[k], n)) else {
        return;
    };
    let otel = 3;
    println!(
        "| variant | median per request | median ratio to opentelemetry-instrumentation-tower (per round) |"
    );
    println!("|---|---|---|");
    for (k, v) in variants.iter().enumerate() {
        let (r, lo, hi) = common::ratio(&times, k, otel);
        let mut t = times[k].clone();
        println!(
            "| {} | {:.2} us | {r:.2}x (quartiles {lo:.2}-{hi:.2}) |",
            v.name,
            median(&mut t) / 1000.0,
        );
    }
    let mut overhead: Vec<f64> = times[0]
        .iter()
        .zip(&times[2])
        .map(|(a, b)| a / b - 1.0)
        .collect();
    println!(
        "active_requests accounting: {:+.1}% of a default server request (median of rounds)",
        100.0 * median(&mut overhead)
    );
}
