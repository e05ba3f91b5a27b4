//! `TraceLayer` under `flowtel::init`'s subscriber: a `tracing` span standing for a span built
//! through the OpenTelemetry API passes what is written in it to that span, spans of dropped
//! traces never reach the OpenTelemetry layer however they are used, and the level filter
//! keeps `RUST_LOG` semantics.

use std::sync::Arc;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::trace::SpanData;

fn init(
    registry: flowtel_conventions::Registry,
    filter: &str,
) -> (flowtel::Telemetry, tracing::Dispatch) {
    flowtel::init(Arc::new(registry))
        .service("orders", "1.0.0")
        .in_memory()
        .filter(filter)
        .build()
        .expect("telemetry")
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

#[test]
fn a_span_standing_for_a_built_one_passes_records_and_events_to_it() {
    let (telemetry, dispatch) = init(flowtel_testkit::bundled_conventions(), "info");
    tracing::dispatcher::with_default(&dispatch, || {
        let cx = flowtel::otel_layer::with_direct_tracer(|tracer| {
            let span = tracer
                .span_builder("process orders.created")
                .with_kind(SpanKind::Consumer)
                .start_with_context(tracer, &Context::new());
            Context::new().with_span(span)
        })
        .expect("init's subscriber lends its tracer");
        let span = flowtel::otel_layer::stand_for(&cx, || {
            tracing::info_span!("consume", messaging.batch.size = tracing::field::Empty)
        });
        span.in_scope(|| {
            tracing::info!(attempt = 2_u64, "redelivered");
            tracing::error!("poison message");
            let child = tracing::info_span!("order.store");
            child.in_scope(|| {});
        });
        // Recorded while not entered: found by a lookup.
        span.record("messaging.batch.size", 16_i64);
        // An explicit parent, as a task spawned with the captured span would use it.
        let audit = tracing::info_span!(parent: &span, "order.audit", otel.kind = "producer", audit.rows = 2_i64);
        drop(audit);
        drop(span);
        cx.span().end();
    });
    telemetry.flush();
    let spans = telemetry.finished_spans();
    assert_eq!(spans.len(), 3, "{spans:?}");
    let consumer = spans
        .iter()
        .find(|s| s.name == "process orders.created")
        .unwrap();
    let child = spans.iter().find(|s| s.name == "order.store").unwrap();
    assert_eq!(child.parent_span_id, consumer.span_context.span_id());
    let audit = spans.iter().find(|s| s.name == "order.audit").unwrap();
    assert_eq!(audit.parent_span_id, consumer.span_context.span_id());
    assert_eq!(
        audit.span_context.trace_id(),
        consumer.span_context.trace_id()
    );
    assert_eq!(audit.span_kind, SpanKind::Producer);
    assert_eq!(attribute(audit, "audit.rows"), Some(&Value::I64(2)));
    assert_eq!(
        attribute(consumer, "messaging.batch.size"),
        Some(&Value::I64(16))
    );
    let redelivered = consumer
        .events
        .iter()
        .find(|e| e.name == "redelivered")
        .unwrap();
    assert!(
        redelivered
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "attempt" && kv.value == Value::I64(2))
    );
    assert!(consumer.events.iter().any(|e| e.name == "poison message"));
    assert!(matches!(consumer.status, Status::Error { .. }));
}

#[test]
fn without_trace_layer_nothing_is_lent() {
    let plain = tracing::Dispatch::new(tracing_subscriber::registry());
    tracing::dispatcher::with_default(&plain, || {
        assert!(flowtel::otel_layer::with_direct_tracer(|_| ()).is_none());
    });
}

#[test]
fn spans_of_a_dropped_trace_never_reach_the_opentelemetry_layer() {
    let mut registry = flowtel_testkit::bundled_conventions();
    registry.sampling.entry("browse".into()).or_default().ratio = Some(0.0);
    let (telemetry, dispatch) = init(registry, "info");
    let library = telemetry.tracer_provider().tracer("http-client");
    tracing::dispatcher::with_default(&dispatch, || {
        let flow = flowtel_testkit::flow_span!("browse");
        // Opened with an explicit parent, entered later, recorded before and after entry,
        // closed out of order: all dropped with the trace.
        let explicit =
            tracing::info_span!(parent: &flow, "catalog.search", hits = tracing::field::Empty);
        explicit.record("hits", 3_i64);
        flow.in_scope(|| {
            let inner = tracing::info_span!("product.load");
            let _i = inner.enter();
            tracing::info!("loaded");
            let _db = library.start("SELECT products");
            assert!(!Context::current().span().span_context().is_sampled());
        });
        explicit.in_scope(|| explicit.record("hits", 4_i64));
        drop(flow);
        drop(explicit);
    });
    telemetry.flush();
    assert!(
        telemetry.finished_spans().is_empty(),
        "{:?}",
        telemetry.finished_spans()
    );
}

#[test]
fn the_level_filter_keeps_rust_log_semantics() {
    // Targets and levels only (a `Targets` filter) ...
    let (telemetry, dispatch) = init(flowtel_testkit::bundled_conventions(), "warn,orders=debug");
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::debug_span!(target: "orders::store", "kept").in_scope(|| {});
        tracing::info_span!(target: "payments", "filtered out").in_scope(|| {});
        tracing::warn_span!(target: "payments", "warn kept").in_scope(|| {});
    });
    telemetry.flush();
    let mut names: Vec<_> = telemetry
        .finished_spans()
        .into_iter()
        .map(|s| s.name)
        .collect();
    names.sort();
    assert_eq!(names, ["kept", "warn kept"]);

    // ... and a span directive (an `EnvFilter`): debug events inside `checkout` spans only.
    let (telemetry, dispatch) = init(
        flowtel_testkit::bundled_conventions(),
        "info,orders[checkout]=debug",
    );
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info_span!(target: "orders", "checkout").in_scope(|| {
            tracing::debug!(target: "orders", "inside");
        });
        tracing::info_span!(target: "orders", "browse").in_scope(|| {
            tracing::debug!(target: "orders", "outside");
        });
    });
    telemetry.flush();
    let spans = telemetry.finished_spans();
    let events = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .map(|s| {
                s.events
                    .iter()
                    .map(|e| e.name.to_string())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    assert_eq!(events("checkout"), ["inside"]);
    assert!(events("browse").is_empty());
}
