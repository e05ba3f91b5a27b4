//! Messaging spans end to end in memory: the CONSUMER span of a message continues the
//! PRODUCER's trace as its child and carries the producer's flow, from the fields stored in the
//! message alone.

mod common;

use common::conventions;
use flowtel::messaging::MessageSpan;
use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::trace::SpanData;

fn flow_of(s: &SpanData) -> Option<String> {
    s.attributes
        .iter()
        .find(|kv| kv.key.as_str() == "flow.name")
        .map(|kv| kv.value.to_string())
}

#[test]
fn the_consumer_span_continues_the_producer_trace_and_flow() {
    let (telemetry, dispatch) = flowtel::init(conventions())
        .service("shop", "1")
        .in_memory()
        .build()
        .unwrap();
    let fields = tracing::dispatcher::with_default(&dispatch, || {
        let root = tracing::info_span!(
            target: "flowtel::flow",
            "checkout",
            flowtel.kind = "flow",
            flow.name = "checkout",
            otel.name = "checkout",
        );
        let fields = root.in_scope(|| {
            let sent = MessageSpan::send(telemetry.propagator(), "redis", "orders");
            sent.fields
        });
        drop(root);
        // The consumer runs elsewhere, outside any span: only the message's fields link it.
        let span = MessageSpan::process(
            telemetry.propagator(),
            "redis",
            "orders",
            fields.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
        span.in_scope(|| {
            assert_eq!(
                flowtel::current_flow().as_ref().map(|f| f.as_str()),
                Some("checkout")
            );
        });
        drop(span);
        // A message without context: a trace of its own, in no flow.
        let orphan = MessageSpan::process(telemetry.propagator(), "redis", "orders", []);
        MessageSpan::fail(&orphan, "malformed");
        drop(orphan);
        fields
    });
    assert!(fields.iter().any(|(k, _)| k == "traceparent"), "{fields:?}");
    assert!(
        fields
            .iter()
            .any(|(k, v)| k == "baggage" && v.contains("flow.name=checkout")),
        "{fields:?}"
    );
    telemetry.flush();
    let spans = telemetry.finished_spans();
    let producer = spans.iter().find(|s| s.name == "send orders").unwrap();
    let consumers: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name == "process orders")
        .collect();
    assert_eq!(consumers.len(), 2);
    let consumer = consumers
        .iter()
        .find(|s| s.span_context.trace_id() == producer.span_context.trace_id())
        .expect("the consumer continues the producer's trace");
    assert_eq!(producer.span_kind, SpanKind::Producer);
    assert_eq!(consumer.span_kind, SpanKind::Consumer);
    assert_eq!(consumer.parent_span_id, producer.span_context.span_id());
    assert_eq!(flow_of(producer).as_deref(), Some("checkout"));
    assert_eq!(flow_of(consumer).as_deref(), Some("checkout"));
    let orphan = consumers
        .iter()
        .find(|s| s.span_context.trace_id() != producer.span_context.trace_id())
        .unwrap();
    assert_eq!(flow_of(orphan), None);
    assert!(
        orphan
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "error.type" && kv.value.to_string() == "malformed")
    );
}
