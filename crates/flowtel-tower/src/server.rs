//! The server layer: one span and one `http.server.request.duration` per request.
//!
//! For each request it extracts W3C `traceparent` and `baggage`, reads `http.route` from the
//! router's route template (axum's `MatchedPath`; an unmatched request gets no route, never the
//! raw path), decides the flow (the registry's `entry` routes first, else the `flow.name` of the
//! incoming baggage), and opens the server span `{method} {route}` with the HTTP
//! semantic-convention attributes. When the response (or error) arrives it records the status,
//! `error.type` as the [`Classify`] implementation says, and the duration histogram through
//! flowtel's enforcing meter. Apply it with `Router::layer` so the route is known.
//!
//! The span is entered while the response future is polled, as `tracing::Instrument` does:
//! that is where the handler runs, so its spans, and with context activation (the default)
//! spans started through the OpenTelemetry API, get the server span as their parent. The
//! inner service's `call` itself runs outside it (an inner layer that starts spans in `call`
//! rather than in its future starts them as siblings).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use flowtel::meter::{Histogram, Labels};
use flowtel::propagation::{FlowPropagator, flow_from_context};
use flowtel::{Meter, Saturation, Telemetry};
use http::{Request, Response};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{KeyValue, StringValue};
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::classify::{Classify, ServerErrors, method_label};
use crate::future::{Done, ResponseFuture};

/// Name of the server duration metric.
pub const SERVER_DURATION: &str = "http.server.request.duration";
/// Name of the server's in-flight requests metric (a saturation signal in the conventions).
pub const SERVER_ACTIVE_REQUESTS: &str = "http.server.active_requests";

struct Shared {
    duration: Histogram,
    /// `http.server.active_requests`, the server's concurrency saturation signal.
    active: Saturation,
    propagator: FlowPropagator,
    /// Route template of every registry `entry` to its methods and their flows.
    entries: HashMap<String, Vec<(&'static str, StringValue)>, foldhash::fast::RandomState>,
    /// Flow names of the registry, so baggage values of known flows are not copied.
    flows: HashMap<String, StringValue, foldhash::fast::RandomState>,
}

/// HTTP methods with a label of their own (`method_label`), for per-method span names.
const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "_OTHER",
];

/// The route template a wrapped service answers for, as a label value, and its span names per
/// method: made once and read without a lock. `Router::layer` wraps each route's service in
/// its own [`FlowServer`], so each instance sees one template; an instance that sees several
/// (a layer around a whole router) keeps the first and builds the others per request.
#[derive(Default)]
struct RouteCache {
    route: OnceLock<(Box<str>, StringValue)>,
    names: [OnceLock<Arc<str>>; METHODS.len()],
    /// The registry `entry` flow of the cached route, per method (`None`: not an entry).
    entry_flows: [OnceLock<Option<StringValue>>; METHODS.len()],
}

impl RouteCache {
    fn route_value(&self, route: &str) -> StringValue {
        let (cached, value) = self
            .route
            .get_or_init(|| (route.into(), StringValue::from(Arc::<str>::from(route))));
        if &**cached == route {
            value.clone()
        } else {
            StringValue::from(Arc::<str>::from(route))
        }
    }

    /// `{method} {route}`, the server span name.
    fn span_name(&self, method: &'static str, route: &StringValue) -> Arc<str> {
        let make = || Arc::<str>::from(format!("{method} {}", route.as_str()));
        let cached = self
            .route
            .get()
            .is_some_and(|(r, _)| **r == *route.as_str());
        match METHODS.iter().position(|m| *m == method) {
            Some(i) if cached => self.names[i].get_or_init(make).clone(),
            _ => make(),
        }
    }
}

impl RouteCache {
    /// The flow whose `entry` is `method route`, looked up once per method for the cached
    /// route.
    fn entry_flow(
        &self,
        shared: &Shared,
        label: &'static str,
        method: &http::Method,
        route: &str,
    ) -> Option<StringValue> {
        let cached = self.route.get().is_some_and(|(r, _)| **r == *route);
        // `_OTHER` stands for many methods: looked up each time.
        match METHODS[..METHODS.len() - 1]
            .iter()
            .position(|m| *m == label)
        {
            Some(i) if cached => self.entry_flows[i]
                .get_or_init(|| shared.entry_flow(method, route))
                .clone(),
            _ => shared.entry_flow(method, route),
        }
    }
}

impl Shared {
    fn entry_flow(&self, method: &http::Method, route: &str) -> Option<StringValue> {
        let methods = self.entries.get(route)?;
        methods
            .iter()
            .find(|(m, _)| *m == method.as_str())
            .map(|(_, flow)| flow.clone())
    }
}

/// Tower layer instrumenting an HTTP server; see the module docs.
#[derive(Clone)]
pub struct FlowServerLayer<C = ServerErrors> {
    shared: Arc<Shared>,
    classifier: C,
}

impl std::fmt::Debug for FlowServerLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowServerLayer")
            .field("entries", &self.shared.entries.len())
            .finish_non_exhaustive()
    }
}

impl FlowServerLayer {
    /// A layer recording through `telemetry`'s meter and propagator.
    pub fn new(telemetry: &Telemetry) -> Self {
        Self::from_parts(telemetry.meter(), telemetry.propagator().clone())
    }

    /// A layer from a meter and a propagator.
    pub fn from_parts(meter: &Meter, propagator: FlowPropagator) -> Self {
        let registry = meter.conventions();
        let mut entries = HashMap::default();
        let mut flows = HashMap::default();
        for (name, flow) in &registry.flows {
            let value = StringValue::from(Arc::<str>::from(name.as_str()));
            flows.insert(name.clone(), value.clone());
            // Malformed entries are `flowtel check`'s to report (FT0022); they start no flow.
            for (method, route) in flow.entry.iter().filter_map(|e| e.parsed().ok()) {
                entries
                    .entry(route.as_str().to_owned())
                    .or_insert_with(Vec::new)
                    .push((method, value.clone()));
            }
        }
        FlowServerLayer {
            shared: Arc::new(Shared {
                duration: meter.f64_histogram(SERVER_DURATION),
                // Optional: a registry without the signal gets no in-flight accounting.
                active: if registry.metrics.contains_key(SERVER_ACTIVE_REQUESTS) {
                    meter.saturation(SERVER_ACTIVE_REQUESTS)
                } else {
                    Saturation::disabled()
                },
                propagator,
                entries,
                flows,
            }),
            classifier: ServerErrors,
        }
    }
}

impl<C> FlowServerLayer<C> {
    /// The same layer deciding failures with `classifier`.
    pub fn with_classifier<D: Classify>(self, classifier: D) -> FlowServerLayer<D> {
        FlowServerLayer {
            shared: self.shared,
            classifier,
        }
    }
}

impl<S, C: Clone> tower::Layer<S> for FlowServerLayer<C> {
    type Service = FlowServer<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        FlowServer {
            inner,
            shared: self.shared.clone(),
            routes: Arc::new(RouteCache::default()),
            classifier: self.classifier.clone(),
        }
    }
}

/// The service [`FlowServerLayer`] wraps around the application.
#[derive(Clone)]
pub struct FlowServer<S, C = ServerErrors> {
    inner: S,
    shared: Arc<Shared>,
    routes: Arc<RouteCache>,
    classifier: C,
}

impl<S: std::fmt::Debug, C> std::fmt::Debug for FlowServer<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowServer")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, C, ReqB, ResB> tower::Service<Request<ReqB>> for FlowServer<S, C>
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

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let start = Instant::now();
        let method = method_label(req.method());
        // Servers see origin-form URIs; only TLS terminated here would make this `https`.
        let scheme: &'static str = if req.uri().scheme_str() == Some("https") {
            "https"
        } else {
            "http"
        };
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|r| self.routes.route_value(r.as_str()));
        let parent = self.shared.propagator.extract_headers(req.headers());
        let flow = route
            .as_ref()
            .and_then(|r| {
                self.routes
                    .entry_flow(&self.shared, method, req.method(), r.as_str())
            })
            .or_else(|| {
                flow_from_context(&parent).map(|f| match self.shared.flows.get(f.as_str()) {
                    Some(known) => known.clone(),
                    None => f,
                })
            });
        // The caller's context (and the flow) is current while the span is opened, so the
        // sampler decides it before it is built: the caller's decision, or the flow's at a root.
        let opening = match &flow {
            // Only a root needs the hint: below a caller, the caller's decision holds.
            Some(f) if !parent.span().span_context().is_valid() => {
                parent.with_value(flowtel::sampling::FlowHint(f.clone()))
            }
            _ => parent.clone(),
        }
        .attach();
        let span = match &route {
            Some(r) => tracing::info_span!(
                target: "flowtel::http",
                "HTTP request",
                otel.name = &*self.routes.span_name(method, r),
                otel.kind = "server",
                otel.status_code = Empty,
                http.request.method = method,
                http.route = r.as_str(),
                http.response.status_code = Empty,
                url.path = req.uri().path(),
                url.scheme = scheme,
                error.type = Empty,
                flow.name = flow.as_ref().map(StringValue::as_str),
            ),
            None => tracing::info_span!(
                target: "flowtel::http",
                "HTTP request",
                otel.name = method,
                otel.kind = "server",
                otel.status_code = Empty,
                http.request.method = method,
                http.response.status_code = Empty,
                url.path = req.uri().path(),
                url.scheme = scheme,
                error.type = Empty,
                flow.name = flow.as_ref().map(StringValue::as_str),
            ),
        };
        if method == "_OTHER" {
            span.set_attribute(
                "http.request.method_original",
                req.method().as_str().to_owned(),
            );
        }
        drop(opening);
        let _ = span.set_parent(parent);
        // In flight until the response is recorded or the future dropped unfinished.
        let active = {
            let mut l = Labels::<3>::new();
            l.push(KeyValue::new("http.request.method", method));
            l.push(KeyValue::new("url.scheme", scheme));
            l.push(flow.clone().map(|f| KeyValue::new("flow.name", f)));
            self.shared.active.hold(l.as_slice())
        };
        let future = self.inner.call(req);
        let mut labels = Labels::<6>::new();
        labels.push(KeyValue::new("http.request.method", method));
        labels.push(KeyValue::new("url.scheme", scheme));
        labels.push(route.map(|r| KeyValue::new("http.route", r)));
        ResponseFuture::new(
            future,
            span,
            Done {
                start,
                duration: self.shared.duration.clone(),
                labels,
                flow,
                classifier: self.classifier.clone(),
                active: Some(active),
            },
        )
    }
}

/// Response future of [`FlowServer`].
pub type ServerFuture<F, C> = ResponseFuture<F, C>;
