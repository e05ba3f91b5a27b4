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
//! Under `flowtel::init`'s subscriber the server span is built through the OpenTelemetry API,
//! with the tracer flowtel's [`TraceLayer`](flowtel::TraceLayer) lends, as OpenTelemetry's
//! own HTTP instrumentations build theirs (no `tracing` field is copied into a span builder),
//! and the request's `tracing` span (`HTTP request`, carrying `flow.name`) stands for it; under
//! another subscriber the `tracing` span is the server span, built by `tracing-opentelemetry`.
//! Either way the request's span is entered while the response future is polled, as
//! `tracing::Instrument` does, and the server span is then the current OpenTelemetry
//! context: that is where the handler runs, so its `tracing` spans, its events and log records,
//! and spans started through the OpenTelemetry API get the server span as their parent. The
//! inner service's `call` itself runs outside it (an inner layer that starts spans in `call`
//! rather than in its future starts them as siblings).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::MatchedPath;
use flowtel::meter::{Histogram, Labels};
use flowtel::propagation::{FlowPropagator, flow_from_context};
use flowtel::{Meter, Saturation};
use http::Request;
use opentelemetry::trace::{SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{KeyValue, StringValue};
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::classify::{Classify, ServerErrors, method_label};
use crate::future::{Done, ResponseFuture};
use crate::layer::{HttpLayer, HttpService, Inner, Parts, Server, Side};

/// Name of the server duration metric.
pub const SERVER_DURATION: &str = "http.server.request.duration";
/// Name of the server's in-flight requests metric (a saturation signal in the conventions).
pub const SERVER_ACTIVE_REQUESTS: &str = "http.server.active_requests";

/// The server layer's recording state, shared by the services it makes (opaque).
pub struct ServerShared {
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
pub struct RouteCache {
    route: OnceLock<(Box<str>, StringValue)>,
    names: [OnceLock<&'static str>; METHODS.len()],
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

    /// `{method} {route}`, the server span name (`{method}` without a route).
    fn span_name(&self, method: &'static str, route: Option<&StringValue>) -> Cow<'static, str> {
        let Some(route) = route else {
            return Cow::Borrowed(method);
        };
        let make = || format!("{method} {}", route.as_str());
        let cached = self
            .route
            .get()
            .is_some_and(|(r, _)| **r == *route.as_str());
        match METHODS.iter().position(|m| *m == method) {
            // Route templates and methods are a bounded set: one name each per process.
            Some(i) if cached => {
                Cow::Borrowed(self.names[i].get_or_init(|| flowtel::layer::static_name(&make())))
            }
            _ => Cow::Owned(make()),
        }
    }
}

impl RouteCache {
    /// The flow whose `entry` is `method route`, looked up once per method for the cached
    /// route.
    fn entry_flow(
        &self,
        shared: &ServerShared,
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

impl ServerShared {
    fn entry_flow(&self, method: &http::Method, route: &str) -> Option<StringValue> {
        let methods = self.entries.get(route)?;
        methods
            .iter()
            .find(|(m, _)| *m == method.as_str())
            .map(|(_, flow)| flow.clone())
    }
}

/// Tower layer instrumenting an HTTP server; see the module docs.
pub type FlowServerLayer<C = ServerErrors> = HttpLayer<Server, C>;

/// The service [`FlowServerLayer`] wraps around the application.
pub type FlowServer<S, C = ServerErrors> = HttpService<S, Server, C>;

impl Side for Server {
    type Shared = ServerShared;
    type Classifier = ServerErrors;
    type PerService = RouteCache;
    const LAYER: &'static str = "FlowServerLayer";
    const SERVICE: &'static str = "FlowServer";

    fn shared(meter: &Meter, propagator: FlowPropagator) -> Self::Shared {
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
        ServerShared {
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
        }
    }

    fn call<S: Inner<ReqB>, C: Classify, ReqB>(
        parts: Parts<'_, Self, C>,
        inner: &mut S,
        req: Request<ReqB>,
    ) -> ResponseFuture<S::Future, C> {
        let Parts {
            shared,
            per_service: routes,
            classifier,
        } = parts;
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
            .map(|r| routes.route_value(r.as_str()));
        let parent = shared.propagator.extract_headers(req.headers());
        let flow = route
            .as_ref()
            .and_then(|r| routes.entry_flow(shared, method, req.method(), r.as_str()))
            .or_else(|| {
                flow_from_context(&parent).map(|f| match shared.flows.get(f.as_str()) {
                    Some(known) => known.clone(),
                    None => f,
                })
            });
        let name = routes.span_name(method, route.as_ref());
        // Built through the OpenTelemetry API when flowtel's `TraceLayer` lends its tracer.
        let built = flowtel::otel_layer::with_direct_tracer(|tracer| {
            let mut attributes = Vec::with_capacity(7);
            attributes.push(KeyValue::new("http.request.method", method));
            if let Some(r) = &route {
                attributes.push(KeyValue::new("http.route", r.clone()));
            }
            attributes.push(KeyValue::new("url.path", req.uri().path().to_owned()));
            attributes.push(KeyValue::new("url.scheme", scheme));
            if let Some(f) = &flow {
                attributes.push(KeyValue::new("flow.name", f.clone()));
            }
            if method == "_OTHER" {
                attributes.push(KeyValue::new(
                    "http.request.method_original",
                    req.method().as_str().to_owned(),
                ));
            }
            // The SDK's sampler decides here: the caller's decision, or the flow's at a root.
            let span = tracer
                .span_builder(name.clone())
                .with_kind(SpanKind::Server)
                .with_attributes(attributes)
                .start_with_context(tracer, &parent);
            parent.with_span(span)
        });
        let span = match &built {
            Some(cx) => flowtel::otel_layer::stand_for(cx, || {
                tracing::info_span!(
                    target: "flowtel::http",
                    "HTTP request",
                    http.request.method = method,
                    http.route = route.as_ref().map(StringValue::as_str),
                    flow.name = flow.as_ref().map(StringValue::as_str),
                )
            }),
            None => traced_span(&parent, &flow, method, &name, scheme, route.as_ref(), &req),
        };
        // In flight until the response is recorded or the future dropped unfinished.
        let active = {
            let mut l = Labels::<3>::new();
            l.push(KeyValue::new("http.request.method", method));
            l.push(KeyValue::new("url.scheme", scheme));
            l.push(flow.clone().map(|f| KeyValue::new("flow.name", f)));
            shared.active.hold(l.as_slice())
        };
        let future = inner.call(req);
        let mut labels = Labels::<6>::new();
        labels.push(KeyValue::new("http.request.method", method));
        labels.push(KeyValue::new("url.scheme", scheme));
        labels.push(route.map(|r| KeyValue::new("http.route", r)));
        let done = Done::new(
            start,
            &shared.duration,
            labels,
            (flow, Some(active)),
            classifier,
        );
        ResponseFuture::new(future, span, done).with_otel(built)
    }
}

/// The server span as a `tracing` span built by `tracing-opentelemetry`: under a subscriber
/// without flowtel's `TraceLayer`.
fn traced_span<B>(
    parent: &opentelemetry::Context,
    flow: &Option<StringValue>,
    method: &'static str,
    name: &str,
    scheme: &'static str,
    route: Option<&StringValue>,
    req: &Request<B>,
) -> tracing::Span {
    // The caller's context (and the flow) is current while the span is opened, so a sampler
    // deciding before the span is built sees them.
    let opening = match flow {
        // Only a root needs the hint: below a caller, the caller's decision holds.
        Some(f) if !parent.span().span_context().is_valid() => {
            parent.with_value(flowtel::sampling::FlowHint(f.clone()))
        }
        _ => parent.clone(),
    }
    .attach();
    let span = tracing::info_span!(
        target: "flowtel::http",
        "HTTP request",
        otel.name = name,
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        http.route = route.map(StringValue::as_str),
        http.response.status_code = Empty,
        url.path = req.uri().path(),
        url.scheme = scheme,
        error.type = Empty,
        flow.name = flow.as_ref().map(StringValue::as_str),
    );
    if method == "_OTHER" {
        span.set_attribute(
            "http.request.method_original",
            req.method().as_str().to_owned(),
        );
    }
    drop(opening);
    // The OpenTelemetry layer parents a span opened outside any `tracing` span to the current
    // context, which was the caller's (`opening`) just now: then nothing is left to set.
    // Inside one (a connection span, say) it would take that span as the parent.
    if tracing::dispatcher::get_default(|d| d.current_span().id().is_some()) {
        let _ = span.set_parent(parent.clone());
    }
    span
}

/// Response future of [`FlowServer`].
pub type ServerFuture<F, C> = ResponseFuture<F, C>;
