//! Messaging: the PRODUCER and CONSUMER spans of work handed over through a message broker (a
//! Redis stream, a NATS subject, a Kafka topic), with the flow and the trace context carried in
//! the message itself.
//!
//! [`MessageSpan::send`] opens a PRODUCER span in the current flow and returns the fields to
//! store beside the payload (`traceparent`, `tracestate`, and `baggage` with `flow.name`);
//! [`MessageSpan::process`] opens the CONSUMER span from those fields as the producer's child,
//! so the consumer's work belongs to the caller's flow and trace, and trace analysis keeps it
//! off the critical path (asynchronous work). Attribute names follow the OpenTelemetry
//! messaging semantic conventions (`messaging.system`, `messaging.destination.name`,
//! `messaging.operation.type`); the span names are `send {destination}` and
//! `process {destination}`. What the broker does with the fields is the caller's: this module
//! neither connects nor serialises.
//!
//! ```no_run
//! # fn demo(telemetry: &flowtel::Telemetry) {
//! use flowtel::messaging::MessageSpan;
//! let sent = MessageSpan::send(telemetry.propagator(), "redis", "orders");
//! // XADD orders * <sent.fields...> order 1234   (inside `sent.span`)
//! let fields: Vec<(String, String)> = sent.fields.clone();
//! // ... in the consumer:
//! let span = MessageSpan::process(
//!     telemetry.propagator(),
//!     "redis",
//!     "orders",
//!     fields.iter().map(|(k, v)| (k.as_str(), v.as_str())),
//! );
//! let _entered = span.enter();
//! # }
//! ```

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::StringValue;
use opentelemetry::trace::TraceContextExt as _;
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::propagation::{FlowPropagator, flow_from_context};

/// The span of one messaging operation (`send` or `process`) and its span kind: the
/// OpenTelemetry messaging attributes, named `{operation} {destination}`, in `flow` (a span's
/// name and fields are a callsite's, so this is a macro, not a function).
macro_rules! message_span {
    ($operation:literal, $kind:literal, $system:expr, $destination:expr, $flow:expr) => {
        tracing::info_span!(
            target: "flowtel::messaging",
            concat!("message ", $operation),
            otel.name = format!(concat!($operation, " {}"), $destination),
            otel.kind = $kind,
            otel.status_code = Empty,
            messaging.system = $system,
            messaging.destination.name = $destination,
            messaging.operation.type = $operation,
            error.type = Empty,
            flow.name = $flow.as_ref().map(StringValue::as_str),
        )
    };
}

/// A PRODUCER span and the fields that carry its context in the message.
#[derive(Debug)]
pub struct MessageSpan {
    /// The span: enter it (or `instrument` the send with it) around the broker call.
    pub span: Span,
    /// `traceparent`, `tracestate` (when set) and `baggage`, lower case, to store in the
    /// message next to its payload.
    pub fields: Vec<(String, String)>,
}

impl MessageSpan {
    /// Opens the PRODUCER span `send {destination}` under the current span, in the current
    /// flow, and encodes its context for the message.
    pub fn send(propagator: &FlowPropagator, system: &str, destination: &str) -> MessageSpan {
        let flow = crate::layer::current_flow();
        let span = message_span!("send", "producer", system, destination, flow);
        let mut headers = HeaderMap::new();
        propagator.inject_headers(
            &crate::otel_layer::otel_context(&span),
            flow.as_ref(),
            &mut headers,
        );
        let fields = headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        MessageSpan { span, fields }
    }

    /// Opens the CONSUMER span `process {destination}` for a message whose fields are
    /// `fields` (those [`send`](MessageSpan::send) returned; others are ignored): its parent is
    /// the producer span, its flow the producer's. A message without context starts a trace of
    /// its own, outside any flow.
    pub fn process<'a>(
        propagator: &FlowPropagator,
        system: &str,
        destination: &str,
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Span {
        let mut headers = HeaderMap::new();
        for (k, v) in fields {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                headers.insert(k, v);
            }
        }
        let parent = propagator.extract_headers(&headers);
        let flow = flow_from_context(&parent);
        // The producer's decision (or the flow's, at a root) is taken before the span is built.
        let opening = match &flow {
            // Only a root needs the hint: below a caller, the caller's decision holds.
            Some(f) if !parent.span().span_context().is_valid() => {
                parent.with_value(crate::sampling::FlowHint(f.clone()))
            }
            _ => parent.clone(),
        }
        .attach();
        let span = message_span!("process", "consumer", system, destination, flow);
        drop(opening);
        let _ = span.set_parent(parent);
        span
    }

    /// Records that handling the message failed with `error_type` (on a span from
    /// [`send`](MessageSpan::send) or [`process`](MessageSpan::process)).
    pub fn fail(span: &Span, error_type: &str) {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", error_type);
    }
}
