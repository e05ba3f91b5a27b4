//! Interleaved comparison of an outgoing request through flowtel's client layer and through
//! the same instrumentation written by hand with the OpenTelemetry API (the obvious
//! alternative: no tower layer for HTTP clients exists in OpenTelemetry's contrib crates).
//!
//! Run: `cargo bench -p flowtel-tower --bench client_ratio`. Each request is sent inside a
//! recorded parent span (a checkout flow span for flowtel, an OpenTelemetry span made current
//! for the hand-written side) to a tower service that answers 200 at once, so what is measured
//! is the instrumentation: a CLIENT span with `http.request.method`, `server.address`,
//! `server.port` and the status, `traceparent` (and for flowtel the flow's `baggage`) written
//! into the headers, and `http.client.request.duration` recorded. flowtel runs under the
//! subscriber `flowtel::init` builds; spans go to a processor that discards them, metrics to a
//! reader that never collects. Every round runs each variant for the same number of requests
//! back to back, in rotating order; time is the thread's CPU time; the ratio is taken within
//! each round and the median reported.

mod common;

use std::convert::Infallible;
use std::time::Instant;

use axum::body::Body;
use common::{Clock, median};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tower::{Service, ServiceExt};

/// The dependency: answers 200 without doing anything.
fn upstream() -> impl Service<
    http::Request<Body>,
    Response = http::Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<http::Response<Body>, Infallible>>,
> + Clone {
    tower::service_fn(|_req: http::Request<Body>| async {
        Ok::<_, Infallible>(http::Response::new(Body::empty()))
    })
}

fn request() -> http::Request<Body> {
    http::Request::post("http://payments:8080/authorize")
        .body(Body::empty())
        .unwrap()
}

/// Writes header values, as `opentelemetry-http`'s `HeaderInjector` does.
struct Headers<'a>(&'a mut http::HeaderMap);

impl Injector for Headers<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(k, v);
        }
    }
}

fn main() {
    let rt = common::runtime();

    // flowtel: the client layer under init's subscriber, inside a checkout flow span.
    let (telemetry, dispatch) = common::init(flowtel_testkit::bundled_conventions(), true);
    let client = tower::Layer::layer(&flowtel_tower::FlowClientLayer::new(&telemetry), upstream());
    let flowtel_run = |n: u64| -> f64 {
        tracing::dispatcher::with_default(&dispatch, || {
            let flow = flowtel_testkit::flow_span!("checkout");
            let _f = flow.enter();
            let clock = Clock::start();
            for _ in 0..n {
                let resp = rt.block_on(client.clone().oneshot(request())).unwrap();
                std::hint::black_box(resp);
            }
            clock.elapsed_ns() / n as f64
        })
    };

    // By hand with the OpenTelemetry API: the same span, header and histogram.
    let (tracer_provider, meter_provider) = common::providers();
    let tracer = tracer_provider.tracer("by-hand");
    let duration = meter_provider
        .meter("by-hand")
        .f64_histogram("http.client.request.duration")
        .with_unit("s")
        .build();
    let propagator = TraceContextPropagator::new();
    let service = upstream();
    let by_hand_run = |n: u64| -> f64 {
        let parent = tracer.start("checkout");
        let _current = Context::current_with_span(parent).attach();
        let clock = Clock::start();
        for _ in 0..n {
            let start = Instant::now();
            let mut req = request();
            let address = req.uri().host().map(str::to_owned).unwrap_or_default();
            let port = i64::from(req.uri().port_u16().unwrap_or(80));
            let span = tracer
                .span_builder("POST")
                .with_kind(SpanKind::Client)
                .with_attributes(vec![
                    KeyValue::new("http.request.method", "POST"),
                    KeyValue::new("server.address", address.clone()),
                    KeyValue::new("server.port", port),
                ])
                .start(&tracer);
            let cx = Context::current_with_span(span);
            propagator.inject_context(&cx, &mut Headers(req.headers_mut()));
            let resp = {
                let _in = cx.clone().attach();
                rt.block_on(service.clone().oneshot(req)).unwrap()
            };
            let status = i64::from(resp.status().as_u16());
            cx.span()
                .set_attribute(KeyValue::new("http.response.status_code", status));
            cx.span().end();
            duration.record(
                start.elapsed().as_secs_f64(),
                &[
                    KeyValue::new("http.request.method", "POST"),
                    KeyValue::new("server.address", address),
                    KeyValue::new("server.port", port),
                    KeyValue::new("http.response.status_code", status),
                ],
            );
            std::hint::black_box(resp);
        }
        clock.elapsed_ns() / n as f64
    };

    let service = upstream();
    let bare_run = |n: u64| -> f64 {
        let clock = Clock::start();
        for _ in 0..n {
            let resp = rt.block_on(service.clone().oneshot(request())).unwrap();
            std::hint::black_box(resp);
        }
        clock.elapsed_ns() / n as f64
    };

    let names = [
        "flowtel client layer (init's subscriber)",
        "by hand with the OpenTelemetry API",
        "uninstrumented service",
    ];
    let run = |k: usize, n: u64| match k {
        0 => flowtel_run(n),
        1 => by_hand_run(n),
        _ => bare_run(n),
    };
    let Some(times) = common::interleave(&names, run) else {
        return;
    };
    println!("| variant | median per request | median ratio to the hand-written instrumentation |");
    println!("|---|---|---|");
    for (k, name) in names.iter().enumerate() {
        let (r, lo, hi) = common::ratio(&times, k, 1);
        let mut t = times[k].clone();
        println!(
            "| {name} | {:.2} us | {r:.2}x (quartiles {lo:.2}-{hi:.2}) |",
            median(&mut t) / 1000.0,
        );
    }
}
