//! The client layer: propagation into outgoing requests and `http.client.request.duration`.
//!
//! For each outgoing request it opens a client span, writes W3C `traceparent` and `baggage`
//! (with the current flow as `flow.name`, within the W3C limits) into the headers, and records
//! the duration with `server.address`, the status and `error.type` as the [`Classify`]
//! implementation says. Which flow is current is the `FlowLayer`'s knowledge
//! ([`flowtel::current_flow`]). A request that carries a [`ResendCount`] above zero is a
//! retry: its span gets `http.request.resend_count` and the dependency's
//! `flow.dependency.retries` counter goes up by one (see [`crate::retry`]).

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use flowtel::meter::{Counter, Histogram, Labels};
use flowtel::propagation::FlowPropagator;
use flowtel::{Meter, Telemetry};
use http::{Request, Response};
use opentelemetry::{KeyValue, StringValue};
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::classify::{Classify, ClientErrors, method_label};
use crate::future::{Done, ResponseFuture};
use crate::retry::ResendCount;

/// Name of the client duration metric.
pub const CLIENT_DURATION: &str = "http.client.request.duration";
/// Name of the counter of resent requests per dependency.
pub const CLIENT_RETRIES: &str = "flow.dependency.retries";

struct Shared {
    duration: Histogram,
    /// `flow.dependency.retries`, when the conventions declare it.
    retries: Option<Counter<u64>>,
    propagator: FlowPropagator,
}

/// Tower layer instrumenting an HTTP client; see the module docs.
#[derive(Clone)]
pub struct FlowClientLayer<C = ClientErrors> {
    shared: Arc<Shared>,
    classifier: C,
}

impl std::fmt::Debug for FlowClientLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowClientLayer").finish_non_exhaustive()
    }
}

impl FlowClientLayer {
    /// A layer recording through `telemetry`'s meter and propagator.
    pub fn new(telemetry: &Telemetry) -> Self {
        Self::from_parts(telemetry.meter(), telemetry.propagator().clone())
    }

    /// A layer from a meter and a propagator.
    pub fn from_parts(meter: &Meter, propagator: FlowPropagator) -> Self {
        FlowClientLayer {
            shared: Arc::new(Shared {
                duration: meter.f64_histogram(CLIENT_DURATION),
                retries: meter
                    .conventions()
                    .metrics
                    .contains_key(CLIENT_RETRIES)
                    .then(|| meter.u64_counter(CLIENT_RETRIES)),
                propagator,
            }),
            classifier: ClientErrors,
        }
    }
}

impl<C> FlowClientLayer<C> {
    /// The same layer deciding failures with `classifier`.
    pub fn with_classifier<D: Classify>(self, classifier: D) -> FlowClientLayer<D> {
        FlowClientLayer {
            shared: self.shared,
            classifier,
        }
    }
}

impl<S, C: Clone> tower::Layer<S> for FlowClientLayer<C> {
    type Service = FlowClient<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        FlowClient {
            inner,
            shared: self.shared.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

/// The service [`FlowClientLayer`] wraps around an HTTP client.
#[derive(Clone)]
pub struct FlowClient<S, C = ClientErrors> {
    inner: S,
    shared: Arc<Shared>,
    classifier: C,
}

impl<S: std::fmt::Debug, C> std::fmt::Debug for FlowClient<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowClient")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, C, ReqB, ResB> tower::Service<Request<ReqB>> for FlowClient<S, C>
where
    S: tower::Service<Request<ReqB>, Response = Response<ResB>>,
    S::Error: std::fmt::Display + 'static,
    C: Classify,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqB>) -> Self::Future {
        let start = Instant::now();
        let method = method_label(req.method());
        let address: Option<String> = req.uri().host().map(str::to_owned);
        let port = req
            .uri()
            .port_u16()
            .or_else(|| match req.uri().scheme_str() {
                Some("https") => Some(443),
                Some("http") => Some(80),
                _ => None,
            });
        let flow = flowtel::current_flow();
        let span = tracing::info_span!(
            target: "flowtel::http",
            "HTTP client request",
            otel.name = method,
            otel.kind = "client",
            otel.status_code = Empty,
            http.request.method = method,
            server.address = address.as_deref(),
            server.port = port.map(i64::from),
            http.response.status_code = Empty,
            error.type = Empty,
            flow.name = flow.as_ref().map(StringValue::as_str),
        );
        let resend = req.extensions().get::<ResendCount>().map_or(0, |r| r.0);
        if resend > 0 {
            span.set_attribute("http.request.resend_count", i64::from(resend));
            if let Some(retries) = &self.shared.retries {
                let mut attrs = Labels::<4>::new();
                attrs.push(address.clone().map(|a| KeyValue::new("server.address", a)));
                attrs.push(port.map(|p| KeyValue::new("server.port", i64::from(p))));
                attrs.push(KeyValue::new("http.request.method", method));
                attrs.push(flow.clone().map(|f| KeyValue::new("flow.name", f)));
                retries.add(1, attrs.as_slice());
            }
        }
        let cx = flowtel::sampling::otel_context(&span);
        self.shared
            .propagator
            .inject_headers(&cx, flow.as_ref(), req.headers_mut());
        let future = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        let mut labels = Labels::<6>::new();
        labels.push(KeyValue::new("http.request.method", method));
        labels.push(address.map(|a| KeyValue::new("server.address", a)));
        labels.push(port.map(|p| KeyValue::new("server.port", i64::from(p))));
        ResponseFuture::new(
            future,
            span,
            Done {
                start,
                duration: self.shared.duration.clone(),
                labels,
                flow,
                classifier: self.classifier.clone(),
                active: None,
            },
        )
    }
}

/// Response future of [`FlowClient`].
pub type ClientFuture<F, C> = ResponseFuture<F, C>;
