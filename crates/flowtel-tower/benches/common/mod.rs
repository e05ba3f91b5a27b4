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

/// A current-thread runtime to drive requests with.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs each of `names`' variants (`run(k, n)`: `n` requests through variant `k`, returning
/// the thread CPU nanoseconds per request) in interleaved rounds of 2,000 requests, the order
/// rotating from round to round, after a warm-up round; `ROUNDS` rounds (default 21). Returns
/// the per-round times by variant, or `None` when `ONLY=<index>` asked for one variant alone
/// (for profiling; its time is printed).
pub fn interleave(names: &[&str], mut run: impl FnMut(usize, u64) -> f64) -> Option<Vec<Vec<f64>>> {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(21);
    let per_round: u64 = 2000;
    if let Some(k) = std::env::var("ONLY")
        .ok()
        .and_then(|k| k.parse::<usize>().ok())
    {
        let ns = run(k, per_round * rounds as u64);
        println!("{}: {:.2} us per request", names[k], ns / 1000.0);
        return None;
    }
    for k in 0..names.len() {
        run(k, per_round);
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for round in 0..rounds {
        for j in 0..names.len() {
            let k = (round + j) % names.len();
            times[k].push(run(k, per_round));
        }
    }
    println!("{rounds} interleaved rounds of {per_round} requests per variant (thread CPU time)");
    Some(times)
}

/// The median ratio of each round's time of `k` to the same round's time of `base`, with the
/// quartiles.
pub fn ratio(times: &[Vec<f64>], k: usize, base: usize) -> (f64, f64, f64) {
    let mut ratios: Vec<f64> = times[k]
        .iter()
        .zip(&times[base])
        .map(|(a, b)| a / b)
        .collect();
    let m = median(&mut ratios);
    (m, ratios[ratios.len() / 4], ratios[3 * ratios.len() / 4])
}
