//! The response future both layers return: it polls the inner service's future inside the
//! request's span and, when the response (or error) is ready, records the outcome on the span
//! and the request's duration in the layer's histogram, once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use flowtel::Held;
use flowtel::meter::{Histogram, Labels};
use http::Response;
use opentelemetry::{KeyValue, StringValue};
use pin_project_lite::pin_project;
use tracing::Span;

use crate::classify::{Classify, outcome, record_on_otel_span, record_on_span};
use opentelemetry::trace::TraceContextExt as _;

/// What a request records when its answer is ready.
pub(crate) struct Done<C> {
    /// When the request started.
    pub start: Instant,
    /// The layer's duration histogram.
    pub duration: Histogram,
    /// The labels known before the answer (method, route or address, ...); the status,
    /// `error.type` and `flow.name` follow them.
    pub labels: Labels<6>,
    /// The request's flow.
    pub flow: Option<StringValue>,
    /// Decides what counts as an error.
    pub classifier: C,
    /// An in-flight count held until the answer (or until the future is dropped).
    pub active: Option<Held>,
}

impl<C: Classify> Done<C> {
    /// What a request of a layer whose instruments are `duration` records when it is done.
    pub(crate) fn new(
        start: Instant,
        duration: &Histogram,
        labels: Labels<6>,
        (flow, active): (Option<StringValue>, Option<Held>),
        classifier: &C,
    ) -> Self {
        Done {
            start,
            duration: duration.clone(),
            labels,
            flow,
            classifier: classifier.clone(),
            active,
        }
    }

    fn finish(
        mut self,
        span: &Span,
        otel: Option<&opentelemetry::Context>,
        status: Option<u16>,
        error_type: Option<std::borrow::Cow<'static, str>>,
    ) {
        let seconds = self.start.elapsed().as_secs_f64();
        match otel {
            Some(cx) => {
                let span = cx.span();
                record_on_otel_span(&span, status, error_type.as_deref());
                span.end();
            }
            None => record_on_span(span, status, error_type.as_deref()),
        }
        self.labels
            .push(status.map(|s| KeyValue::new("http.response.status_code", i64::from(s))));
        self.labels
            .push(error_type.map(|e| KeyValue::new("error.type", e)));
        self.labels
            .push(self.flow.take().map(|f| KeyValue::new("flow.name", f)));
        self.duration.record(seconds, self.labels.as_slice());
        drop(self.active);
    }
}

pin_project! {
    /// Response future of [`FlowServer`](crate::FlowServer) and
    /// [`FlowClient`](crate::FlowClient): records when the response is ready.
    pub struct ResponseFuture<F, C> {
        #[pin]
        inner: F,
        span: Span,
        // The span `span` stands for, when the layer built it through the OpenTelemetry API.
        otel: Option<opentelemetry::Context>,
        done: Option<Done<C>>,
    }
}

impl<F, C> ResponseFuture<F, C> {
    /// Wraps `inner`, polled inside `span`, recording `done` when it is ready.
    pub(crate) fn new(inner: F, span: Span, done: Done<C>) -> Self {
        ResponseFuture {
            inner,
            span,
            otel: None,
            done: Some(done),
        }
    }

    /// The OpenTelemetry span `span` stands for (built by the layer), recorded and ended when
    /// the response is ready.
    pub(crate) fn with_otel(mut self, otel: Option<opentelemetry::Context>) -> Self {
        self.otel = otel;
        self
    }
}

impl<F, C, ResB, E> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<Response<ResB>, E>>,
    E: std::fmt::Display + 'static,
    C: Classify,
{
    type Output = Result<Response<ResB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _entered = this.span.enter();
            // Entering makes the built span current, unless a filter disabled `span`.
            let _current = match this.otel {
                Some(otel) if this.span.is_disabled() => Some(otel.clone().attach()),
                _ => None,
            };
            ready!(this.inner.poll(cx))
        };
        if let Some(done) = this.done.take() {
            let (status, error_type) = outcome(&done.classifier, &result);
            done.finish(this.span, this.otel.as_ref(), status, error_type);
        }
        Poll::Ready(result)
    }
}
