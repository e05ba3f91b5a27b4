//! The client layer: propagation into outgoing requests and `http.client.request.duration`.
//!
//! For each outgoing request it opens a client span (through the OpenTelemetry API under
//! `flowtel::init`'s subscriber, as the server layer does, current while the inner service
//! runs; a `tracing` span otherwise), writes W3C `traceparent` and `baggage` (with the current
//! flow as `flow.name`, within the W3C limits) into the headers, and records the duration with
//! `server.address`, the status and `error.type` as the [`Classify`] implementation says. Which
//! flow is current is the `FlowLayer`'s knowledge ([`flowtel::current_flow`]). A request that
//! carries a [`ResendCount`] above zero is a retry: its span gets `http.request.resend_count`
//! and the dependency's `flow.dependency.retries` counter goes up by one (see
//! [`crate::retry`]).

use std::time::Instant;

use flowtel::Meter;
use flowtel::meter::{Counter, Histogram, Labels};
use flowtel::propagation::FlowPropagator;
use http::Request;
use opentelemetry::trace::{SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{KeyValue, StringValue};
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::classify::{Classify, ClientErrors, method_label};
use crate::future::{Done, ResponseFuture};
use crate::layer::{Client, HttpLayer, HttpService, Inner, Parts, Side};
use crate::retry::ResendCount;

/// Name of the client duration metric.
pub const CLIENT_DURATION: &str = "http.client.request.duration";
/// Name of the counter of resent requests per dependency.
pub const CLIENT_RETRIES: &str = "flow.dependency.retries";

/// The client layer's recording state, shared by the services it makes (opaque).
pub struct ClientShared {
    duration: Histogram,
    /// `flow.dependency.retries`, when the conventions declare it.
    retries: Option<Counter<u64>>,
    propagator: FlowPropagator,
}

/// Tower layer instrumenting an HTTP client; see the module docs.
pub type FlowClientLayer<C = ClientErrors> = HttpLayer<Client, C>;

/// The service [`FlowClientLayer`] wraps around an HTTP client.
pub type FlowClient<S, C = ClientErrors> = HttpService<S, Client, C>;

impl Side for Client {
    type Shared = ClientShared;
    type Classifier = ClientErrors;
    type PerService = ();
    const LAYER: &'static str = "FlowClientLayer";
    const SERVICE: &'static str = "FlowClient";

    fn shared(meter: &Meter, propagator: FlowPropagator) -> Self::Shared {
        ClientShared {
            duration: meter.f64_histogram(CLIENT_DURATION),
            retries: meter
                .conventions()
                .metrics
                .contains_key(CLIENT_RETRIES)
                .then(|| meter.u64_counter(CLIENT_RETRIES)),
            propagator,
        }
    }

    fn call<S: Inner<ReqB>, C: Classify, ReqB>(
        parts: Parts<'_, Self, C>,
        inner: &mut S,
        mut req: Request<ReqB>,
    ) -> ResponseFuture<S::Future, C> {
        let Parts {
            shared, classifier, ..
        } = parts;
        let start = Instant::now();
        let method = method_label(req.method());
        // One copy of the host, shared by the span and both metrics.
        let address: Option<StringValue> = req
            .uri()
            .host()
            .map(|h| StringValue::from(std::sync::Arc::<str>::from(h)));
        let port = req
            .uri()
            .port_u16()
            .or_else(|| match req.uri().scheme_str() {
                Some("https") => Some(443),
                Some("http") => Some(80),
                _ => None,
            });
        let flow = flowtel::current_flow();
        let resend = req.extensions().get::<ResendCount>().map_or(0, |r| r.0);
        // Built through the OpenTelemetry API when flowtel's `TraceLayer` lends its tracer,
        // below the current span's context (a step's, even in the fast mode).
        let parent = flowtel::otel_layer::current_context();
        let built = flowtel::otel_layer::with_direct_tracer(|tracer| {
            let mut attributes = Vec::with_capacity(5);
            attributes.push(KeyValue::new("http.request.method", method));
            if let Some(a) = &address {
                attributes.push(KeyValue::new("server.address", a.clone()));
            }
            if let Some(p) = port {
                attributes.push(KeyValue::new("server.port", i64::from(p)));
            }
            if let Some(f) = &flow {
                attributes.push(KeyValue::new("flow.name", f.clone()));
            }
            if resend > 0 {
                attributes.push(KeyValue::new(
                    "http.request.resend_count",
                    i64::from(resend),
                ));
            }
            let span = tracer
                .span_builder(method)
                .with_kind(SpanKind::Client)
                .with_attributes(attributes)
                .start_with_context(tracer, &parent);
            parent.with_span(span)
        });
        // A span built through the API needs no `tracing` span: nothing of the application runs
        // inside a client call, and the response future makes the span current while it polls
        // the inner service (`ResponseFuture` attaches it when its `tracing` span is disabled).
        let span = match &built {
            Some(_) => tracing::Span::none(),
            None => {
                let span = tracing::info_span!(
                    target: "flowtel::http",
                    "HTTP client request",
                    otel.name = method,
                    otel.kind = "client",
                    otel.status_code = Empty,
                    http.request.method = method,
                    server.address = address.as_ref().map(StringValue::as_str),
                    server.port = port.map(i64::from),
                    http.response.status_code = Empty,
                    error.type = Empty,
                    flow.name = flow.as_ref().map(StringValue::as_str),
                );
                if resend > 0 {
                    span.set_attribute("http.request.resend_count", i64::from(resend));
                }
                span
            }
        };
        if resend > 0
            && let Some(retries) = &shared.retries
        {
            let mut attrs = Labels::<4>::new();
            attrs.push(address.clone().map(|a| KeyValue::new("server.address", a)));
            attrs.push(port.map(|p| KeyValue::new("server.port", i64::from(p))));
            attrs.push(KeyValue::new("http.request.method", method));
            attrs.push(flow.clone().map(|f| KeyValue::new("flow.name", f)));
            retries.add(1, attrs.as_slice());
        }
        let cx = match &built {
            Some(cx) => cx.clone(),
            None => flowtel::otel_layer::otel_context(&span),
        };
        shared
            .propagator
            .inject_headers(&cx, flow.as_ref(), req.headers_mut());
        let future = {
            let _entered = span.enter();
            let _current = built.as_ref().map(|cx| cx.clone().attach());
            inner.call(req)
        };
        let mut labels = Labels::<6>::new();
        labels.push(KeyValue::new("http.request.method", method));
        labels.push(address.map(|a| KeyValue::new("server.address", a)));
        labels.push(port.map(|p| KeyValue::new("server.port", i64::from(p))));
        let done = Done::new(start, &shared.duration, labels, (flow, None), classifier);
        ResponseFuture::new(future, span, done).with_otel(built)
    }
}

/// Response future of [`FlowClient`].
pub type ClientFuture<F, C> = ResponseFuture<F, C>;
