//! The server span as `flowtel::init`'s subscriber builds it (through the OpenTelemetry API,
//! the request's `tracing` span standing for it): what the handler does lands under it in
//! both context-activation modes, its attributes and status are the HTTP conventions', and a
//! dropped trace builds nothing and tells the next service so.

mod support;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use flowtel_tower::FlowServerLayer;
use http::StatusCode;
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::trace::SpanData;
use tower::ServiceExt;

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// An app whose handlers do what services do inside a request: a `tracing` span, an event, a
/// span started through the OpenTelemetry API (as an instrumented client library does), and
/// the context they would send downstream.
fn app(telemetry: &flowtel::Telemetry, sent: Arc<std::sync::Mutex<Vec<Context>>>) -> Router {
    let library = telemetry.tracer_provider().tracer("db-driver");
    Router::new()
        .route(
            "/orders/{id}/pay",
            post(move || {
                let library = library.clone();
                let sent = sent.clone();
                async move {
                    tracing::info!(order.items = 3_i64, "charging the card");
                    let step = tracing::info_span!("card.charge");
                    step.in_scope(|| {
                        let _db = library.start("SELECT orders");
                    });
                    let current = tracing::Span::current();
                    sent.lock()
                        .unwrap()
                        .push(flowtel::otel_layer::otel_context(&current));
                    "paid"
                }
            }),
        )
        .route(
            "/products",
            get(|| async {
                tracing::error!("catalog unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, "down")
            }),
        )
        .layer(FlowServerLayer::new(telemetry))
}

fn telemetry(
    registry: flowtel_conventions::Registry,
    activation: bool,
) -> (flowtel::Telemetry, tracing::Dispatch) {
    telemetry_filtered(registry, activation, "info")
}

fn telemetry_filtered(
    registry: flowtel_conventions::Registry,
    activation: bool,
    filter: &str,
) -> (flowtel::Telemetry, tracing::Dispatch) {
    flowtel::init(Arc::new(registry))
        .service("payments", "1.0.0")
        .in_memory()
        .filter(filter)
        .context_activation(activation)
        .build()
        .expect("telemetry")
}

fn call(
    app: &Router,
    dispatch: &tracing::Dispatch,
    req: http::Request<axum::body::Body>,
) -> StatusCode {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::dispatcher::with_default(dispatch, || {
        rt.block_on(app.clone().oneshot(req)).unwrap().status()
    })
}

fn pay_request() -> http::Request<axum::body::Body> {
    http::Request::post("/orders/7/pay")
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .body(axum::body::Body::empty())
        .unwrap()
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// A string attribute's value.
fn text(span: &SpanData, key: &str) -> Option<String> {
    attribute(span, key).map(|v| v.as_str().into_owned())
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
        panic!(
            "no span `{name}` in {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        )
    })
}

#[test]
fn the_handler_lands_under_the_server_span_in_both_modes() {
    for activation in [true, false] {
        let (telemetry, dispatch) = telemetry(flowtel_testkit::bundled_conventions(), activation);
        let sent = Arc::default();
        let app = app(&telemetry, Arc::clone(&sent));
        assert_eq!(call(&app, &dispatch, pay_request()), StatusCode::OK);
        telemetry.flush();
        let spans = telemetry.finished_spans();
        let server = named(&spans, "POST /orders/{id}/pay");
        let mode = if activation {
            "activation"
        } else {
            "fast mode"
        };

        // The caller's trace, parented to the caller's span, kind SERVER, HTTP conventions.
        assert_eq!(
            server.span_context.trace_id().to_string(),
            CALLER_TRACE,
            "{mode}"
        );
        assert_eq!(server.parent_span_id.to_string(), CALLER_SPAN, "{mode}");
        assert_eq!(server.span_kind, SpanKind::Server, "{mode}");
        assert_eq!(
            text(server, "http.route").as_deref(),
            Some("/orders/{id}/pay")
        );
        assert_eq!(text(server, "http.request.method").as_deref(), Some("POST"));
        assert_eq!(text(server, "url.path").as_deref(), Some("/orders/7/pay"));
        assert_eq!(text(server, "url.scheme").as_deref(), Some("http"));
        assert_eq!(text(server, "flow.name").as_deref(), Some("checkout"));
        assert_eq!(
            attribute(server, "http.response.status_code"),
            Some(&Value::I64(200))
        );
        assert_eq!(server.status, Status::Unset, "{mode}");

        // The handler's `tracing` span and the library's OpenTelemetry-API span below it.
        let step = named(&spans, "card.charge");
        assert_eq!(step.parent_span_id, server.span_context.span_id(), "{mode}");
        assert_eq!(step.span_context.trace_id(), server.span_context.trace_id());
        // With activation the library's span is the step's child; in the fast mode `tracing`
        // spans do not become the OpenTelemetry context, but the server span still does.
        let db = named(&spans, "SELECT orders");
        let expected = if activation { step } else { server };
        assert_eq!(db.parent_span_id, expected.span_context.span_id(), "{mode}");

        // The handler's event is an event of the server span, with its fields.
        let event = server
            .events
            .iter()
            .find(|e| e.name == "charging the card")
            .unwrap_or_else(|| panic!("{mode}: no event on the server span: {:?}", server.events));
        assert!(
            event
                .attributes
                .iter()
                .any(|kv| kv.key.as_str() == "order.items" && kv.value == Value::I64(3)),
            "{:?}",
            event.attributes
        );

        // What the handler would send downstream is the server span's context.
        let sent = sent.lock().unwrap();
        let cx = &sent[0];
        assert_eq!(
            cx.span().span_context().span_id(),
            server.span_context.span_id(),
            "{mode}"
        );
        assert!(cx.span().span_context().is_sampled());

        // The log record of the event carries the server span's ids.
        let logs = telemetry.finished_logs();
        let record = logs
            .iter()
            .find(|l| {
                l.record
                    .body()
                    .is_some_and(|b| format!("{b:?}").contains("charging the card"))
            })
            .expect("log record of the event");
        let trace = record.record.trace_context().expect("trace context");
        assert_eq!(trace.trace_id, server.span_context.trace_id(), "{mode}");
        assert_eq!(trace.span_id, server.span_context.span_id(), "{mode}");
    }
}

#[test]
fn a_server_error_sets_the_status_and_an_error_event_is_kept() {
    let mut registry = flowtel_testkit::bundled_conventions();
    registry.sampling.entry("browse".into()).or_default().ratio = Some(1.0);
    let (telemetry, dispatch) = telemetry(registry, true);
    let app = app(&telemetry, Arc::default());
    let req = http::Request::get("/products")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(call(&app, &dispatch, req), StatusCode::SERVICE_UNAVAILABLE);
    telemetry.flush();
    let spans = telemetry.finished_spans();
    let server = named(&spans, "GET /products");
    assert_eq!(server.parent_span_id, SpanId::INVALID);
    assert!(
        matches!(server.status, Status::Error { .. }),
        "{:?}",
        server.status
    );
    assert_eq!(
        attribute(server, "http.response.status_code"),
        Some(&Value::I64(503))
    );
    assert_eq!(text(server, "error.type").as_deref(), Some("503"));
    assert!(
        server
            .events
            .iter()
            .any(|e| e.name == "catalog unavailable")
    );
}

#[test]
fn a_dropped_root_builds_nothing_and_sends_the_not_sampled_flag() {
    let mut registry = flowtel_testkit::bundled_conventions();
    registry
        .sampling
        .entry("checkout".into())
        .or_default()
        .ratio = Some(0.0);
    let (telemetry, dispatch) = telemetry(registry, true);
    let sent = Arc::default();
    let app = app(&telemetry, Arc::clone(&sent));
    let req = http::Request::post("/orders/7/pay")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(call(&app, &dispatch, req), StatusCode::OK);
    telemetry.flush();
    assert_eq!(
        telemetry.finished_spans().len(),
        0,
        "{:?}",
        telemetry.finished_spans()
    );
    let sent = sent.lock().unwrap();
    let sc = sent[0].span().span_context().clone();
    assert!(sc.is_valid() && !sc.is_sampled(), "{sc:?}");
    // Metrics are never sampled: the request is counted.
    let metrics = telemetry.finished_metrics().expect("metrics");
    let counted = metrics
        .scope_metrics()
        .flat_map(|s| s.metrics())
        .any(|m| m.name() == "http.server.request.duration");
    assert!(counted);
}

#[test]
fn with_the_request_span_filtered_out_the_server_span_is_still_current() {
    // `warn` disables the `info` request span (and the handler's `info` spans and events):
    // the server span is built all the same and current while the handler runs.
    let (telemetry, dispatch) =
        telemetry_filtered(flowtel_testkit::bundled_conventions(), true, "warn");
    let sent = Arc::default();
    let app = app(&telemetry, Arc::clone(&sent));
    assert_eq!(call(&app, &dispatch, pay_request()), StatusCode::OK);
    telemetry.flush();
    let spans = telemetry.finished_spans();
    let server = named(&spans, "POST /orders/{id}/pay");
    assert_eq!(server.parent_span_id.to_string(), CALLER_SPAN);
    let db = named(&spans, "SELECT orders");
    assert_eq!(db.parent_span_id, server.span_context.span_id());
    assert_eq!(spans.len(), 2, "{spans:?}");
}

#[test]
fn client_spans_are_children_of_the_step_that_calls_in_both_modes() {
    for activation in [true, false] {
        let (telemetry, dispatch) = telemetry(flowtel_testkit::bundled_conventions(), activation);
        // A client whose calls never leave the process: it keeps the `traceparent` each
        // request carries and answers 200.
        let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        let kept = Arc::clone(&seen);
        let client = tower::Layer::layer(
            &flowtel_tower::FlowClientLayer::new(&telemetry),
            tower::service_fn(move |req: http::Request<axum::body::Body>| {
                let kept = kept.clone();
                async move {
                    let tp = req
                        .headers()
                        .get("traceparent")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    kept.lock().unwrap().push(tp);
                    Ok::<_, std::convert::Infallible>(
                        http::Response::new(axum::body::Body::empty()),
                    )
                }
            }),
        );
        let app = Router::new()
            .route(
                "/orders/{id}/pay",
                post(move || {
                    let client = client.clone();
                    async move {
                        let step = tracing::info_span!("payment.call");
                        let call = async {
                            for attempt in 0..2 {
                                let mut req = http::Request::post("http://payments:8080/pay")
                                    .body(axum::body::Body::empty())
                                    .unwrap();
                                req.extensions_mut()
                                    .insert(flowtel_tower::ResendCount(attempt));
                                client.clone().oneshot(req).await.unwrap();
                            }
                        };
                        tracing::Instrument::instrument(call, step).await;
                        "paid"
                    }
                }),
            )
            .layer(FlowServerLayer::new(&telemetry));
        assert_eq!(call(&app, &dispatch, pay_request()), StatusCode::OK);
        telemetry.flush();
        let spans = telemetry.finished_spans();
        let mode = if activation {
            "activation"
        } else {
            "fast mode"
        };
        let step = named(&spans, "payment.call");
        let clients: Vec<&SpanData> = spans
            .iter()
            .filter(|s| s.span_kind == SpanKind::Client)
            .collect();
        assert_eq!(clients.len(), 2, "{mode}: {spans:?}");
        let seen = seen.lock().unwrap();
        for (client, traceparent) in clients.iter().zip(seen.iter()) {
            assert_eq!(client.parent_span_id, step.span_context.span_id(), "{mode}");
            assert_eq!(client.name, "POST");
            assert_eq!(text(client, "server.address").as_deref(), Some("payments"));
            assert_eq!(attribute(client, "server.port"), Some(&Value::I64(8080)));
            assert_eq!(
                attribute(client, "http.response.status_code"),
                Some(&Value::I64(200))
            );
            assert_eq!(text(client, "flow.name").as_deref(), Some("checkout"));
            // What went downstream names the client span as the parent.
            assert_eq!(
                *traceparent,
                format!(
                    "00-{}-{}-01",
                    client.span_context.trace_id(),
                    client.span_context.span_id()
                ),
                "{mode}"
            );
        }
        let resends: Vec<_> = clients
            .iter()
            .map(|c| attribute(c, "http.request.resend_count").cloned())
            .collect();
        assert!(
            resends.contains(&None) && resends.contains(&Some(Value::I64(1))),
            "{resends:?}"
        );
    }
}
