//! Parenting across APIs: a span that a library starts through the OpenTelemetry API (as an
//! instrumented database driver does, from `Context::current()`) inside a `#[flowtel::step]`
//! is a child of the step, in the flow's trace, by default; with the documented fast mode
//! (`context_activation(false)`) it is not.
//!
//! Compiled against `tests/fixtures/shop/flowtel.yaml`.

use opentelemetry::trace::{Span as _, SpanId, Tracer as _, TracerProvider as _};

/// What an OpenTelemetry-instrumented library does: start its span from the current context.
fn library_query(provider: &opentelemetry_sdk::trace::SdkTracerProvider) {
    let tracer = provider.tracer("db-driver");
    let mut span = tracer.start("SELECT orders");
    span.end();
}

#[flowtel::flow("checkout")]
fn checkout(provider: &opentelemetry_sdk::trace::SdkTracerProvider) {
    cart_load(provider);
}

#[flowtel::step(flow = "checkout", name = "cart.load")]
fn cart_load(provider: &opentelemetry_sdk::trace::SdkTracerProvider) {
    library_query(provider);
}

fn run(activation: bool) -> (Vec<opentelemetry_sdk::trace::SpanData>, String) {
    let conventions = flowtel::conventions!();
    let (telemetry, dispatch) = flowtel::init(conventions)
        .service("gateway", "1.0.0")
        .in_memory()
        .context_activation(activation)
        .build()
        .expect("telemetry");
    tracing::dispatcher::with_default(&dispatch, || checkout(telemetry.tracer_provider()));
    telemetry.flush();
    (telemetry.finished_spans(), "SELECT orders".to_string())
}

#[test]
fn library_spans_are_children_of_the_step_by_default() {
    let (spans, query) = run(true);
    let by_name = |n: &str| {
        spans.iter().find(|s| s.name == n).unwrap_or_else(|| {
            panic!(
                "no span {n}: {:?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        })
    };
    let flow = by_name("checkout");
    let step = by_name("checkout cart.load");
    let lib = by_name(&query);
    assert_eq!(step.parent_span_id, flow.span_context.span_id());
    assert_eq!(lib.parent_span_id, step.span_context.span_id());
    assert_eq!(lib.span_context.trace_id(), flow.span_context.trace_id());
}

#[test]
fn the_fast_mode_leaves_library_spans_without_the_step_as_parent() {
    let (spans, query) = run(false);
    let lib = spans
        .iter()
        .find(|s| s.name == query)
        .expect("library span");
    let flow = spans
        .iter()
        .find(|s| s.name == "checkout")
        .expect("flow span");
    assert_eq!(lib.parent_span_id, SpanId::INVALID);
    assert_ne!(lib.span_context.trace_id(), flow.span_context.trace_id());
}
