//! What the server benchmarks share: the app's route, a request to it, `flowtel::init`'s setup,
//! and SDK providers that build spans and aggregate metrics but export nothing
//! (`flowtel-testkit`).

#![allow(dead_code)] // each benchmark uses the part it needs

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// A tracer provider whose processor discards ended spans, and a meter provider with an
/// in-memory reader that does not collect during the run.
pub fn providers() -> (SdkTracerProvider, SdkMeterProvider) {
    (
        flowtel_testkit::otel::tracer_provider(),
        flowtel_testkit::otel::meter_provider(),
    )
}

/// The app's routes. Every variant is served with `.with_state(())`, as `axum::serve` does
/// (`into_make_service`), so handlers become routes and layers are applied once, not per
/// request.
pub fn routes() -> Router {
    Router::new().route("/orders/{id}/pay", post(|| async { "paid" }))
}

/// The `i`th request: a distinct order id, a sampled parent in `traceparent`.
pub fn request(i: u64) -> http::Request<Body> {
    http::Request::post(format!("/orders/{i}/pay"))
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .body(Body::empty())
        .unwrap()
}

/// flowtel as `flowtel::init` builds it (its subscriber: `TraceLayer` around the OpenTelemetry
/// layer, `FlowLayer`, `LogLayer`, the `info` level filter), exporting nowhere: spans to a
/// processor that discards them, metrics to a reader that never collects.
pub fn init(
    registry: flowtel_conventions::Registry,
    activation: bool,
) -> (flowtel::Telemetry, tracing::Dispatch) {
    flowtel::init(Arc::new(registry))
        .service("bench", "0")
        .no_push()
        .filter("info")
        .context_activation(activation)
        .span_processor(flowtel_testkit::otel::DiscardSpans)
        .metric_reader(flowtel_testkit::otel::idle_reader())
        .build()
        .expect("telemetry")
}

/// Measures the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so time the thread
/// spends preempted by other work on a loaded machine does not count.
pub struct Clock(Duration);

fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

impl Clock {
    /// Starts measuring.
    pub fn start() -> Clock {
        Clock(thread_cpu())
    }

    /// CPU nanoseconds of this thread since the start.
    pub fn elapsed_ns(&self) -> f64 {
        (thread_cpu() - self.0).as_nanos() as f64
    }
}

/// The median of `v` (sorted in place).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
