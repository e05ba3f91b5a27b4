//! Two axum services over real HTTP on 127.0.0.1, each exporting over real OTLP/HTTP to an
//! in-test receiver: the flow set at the gateway reaches the payments service's spans and
//! metrics, routes are templates, and every exported metric has only declared labels.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use bytes::Bytes;
use flowtel_tower::{FlowClientLayer, FlowServerLayer};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use support::{attr, conventions, receiver, serve_on_thread};
use tower::{Layer, ServiceExt};
use tracing::Instrument;
use tracing::field::Empty;

/// Sorted `(key, value)` labels of one data point.
type Labels = Vec<(String, String)>;

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

fn payments_app(telemetry: &flowtel::Telemetry) -> Router {
    Router::new()
        .route(
            "/payments/{order}",
            post(|Path(order): Path<String>| async move {
                let step = tracing::info_span!(
                    target: "flowtel::step",
                    "payment.authorize",
                    flowtel.kind = "step",
                    flow.step = "payment.authorize",
                    flow.name = Empty,
                    otel.name = "payment.authorize",
                    order.id = order.as_str(),
                    outcome = Empty,
                    error.type = Empty,
                );
                async {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                .instrument(step.clone())
                .await;
                step.record("outcome", "ok");
                "authorized"
            }),
        )
        .layer(FlowServerLayer::new(telemetry))
}

fn gateway_app(telemetry: &flowtel::Telemetry, payments: String) -> Router {
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let client = FlowClientLayer::new(telemetry).layer(client);
    Router::new()
        .route(
            "/orders/{id}/pay",
            post(move |Path(id): Path<String>| {
                let client = client.clone();
                let payments = payments.clone();
                async move {
                    let req = http::Request::post(format!("{payments}/payments/{id}"))
                        .body(Full::new(Bytes::new()))
                        .expect("request");
                    let resp = client.oneshot(req).await.expect("payments answers");
                    let body = resp.into_body().collect().await.expect("body").to_bytes();
                    String::from_utf8_lossy(&body).into_owned()
                }
            }),
        )
        .route("/health", get(|| async { "ok" }))
        .layer(FlowServerLayer::new(telemetry))
}

#[test]
fn flow_crosses_services_and_exports_only_declared_labels() {
    let (otlp, received) = receiver();
    let gateway_tel = flowtel::init(conventions())
        .service("gateway", "1.0.0")
        .otlp_endpoint(&otlp)
        .metric_interval(Duration::from_secs(3600))
        .build()
        .expect("gateway telemetry");
    let payments_tel = flowtel::init(conventions())
        .service("payments", "1.0.0")
        .otlp_endpoint(&otlp)
        .metric_interval(Duration::from_secs(3600))
        .build()
        .expect("payments telemetry");
    let (gateway_tel, gateway_dispatch) = gateway_tel;
    let (payments_tel, payments_dispatch) = payments_tel;
    let payments = serve_on_thread(payments_app(&payments_tel), Some(payments_dispatch));
    let gateway = serve_on_thread(
        gateway_app(&gateway_tel, format!("http://{payments}")),
        Some(gateway_dispatch),
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
        for i in 0..20 {
            let req = http::Request::post(format!("http://{gateway}/orders/{i}/pay"))
                .body(Full::new(Bytes::new()))
                .unwrap();
            let resp = client.request(req).await.expect("gateway answers");
            assert_eq!(resp.status(), 200);
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"authorized");
        }
        let req = http::Request::get(format!("http://{gateway}/no/such/{}", 7))
            .body(Full::new(Bytes::new()))
            .unwrap();
        assert_eq!(client.request(req).await.unwrap().status(), 404);
    });
    gateway_tel.flush();
    payments_tel.flush();
    drop(gateway_tel);
    drop(payments_tel);

    let got = received.lock().unwrap();
    // Spans by service.
    let mut spans_of: HashMap<String, Vec<_>> = HashMap::new();
    for req in &got.traces {
        for rs in &req.resource_spans {
            let service = attr(&rs.resource.as_ref().unwrap().attributes, "service.name").unwrap();
            for ss in &rs.scope_spans {
                spans_of
                    .entry(service.clone())
                    .or_default()
                    .extend(ss.spans.iter().cloned());
            }
        }
    }
    let gw = &spans_of["gateway"];
    let pay = &spans_of["payments"];
    // The payments service's spans all belong to the checkout flow, learnt from baggage.
    assert_eq!(pay.len(), 40, "server span and step span per request");
    for s in pay {
        assert_eq!(
            attr(&s.attributes, "flow.name").as_deref(),
            Some("checkout"),
            "{}",
            s.name
        );
    }
    // ... and to the gateway's traces.
    let gw_traces: BTreeSet<_> = gw.iter().map(|s| s.trace_id.clone()).collect();
    assert!(pay.iter().all(|s| gw_traces.contains(&s.trace_id)));
    // Server spans are named by route template; the unmatched request has no route.
    let names: BTreeSet<_> = gw.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains("POST /orders/{id}/pay"), "{names:?}");
    assert!(
        names.contains("GET"),
        "unmatched request: method only; {names:?}"
    );
    let unmatched = gw.iter().find(|s| s.name == "GET").unwrap();
    assert_eq!(attr(&unmatched.attributes, "http.route"), None);
    assert_eq!(
        attr(&unmatched.attributes, "http.response.status_code").as_deref(),
        Some("404")
    );

    // Metrics: only declared names and labels, resource attributes present.
    let registry = conventions();
    let mut points: HashMap<(String, String), Vec<Labels>> = HashMap::new();
    for req in &got.metrics {
        for rm in &req.resource_metrics {
            let res = &rm.resource.as_ref().unwrap().attributes;
            let service = attr(res, "service.name").unwrap();
            assert!(attr(res, "service.version").is_some());
            assert!(attr(res, "deployment.environment.name").is_some());
            for sm in &rm.scope_metrics {
                for m in &sm.metrics {
                    let spec = registry
                        .metrics
                        .get(&m.name)
                        .unwrap_or_else(|| panic!("undeclared metric {}", m.name));
                    let attrs: Vec<Vec<_>> = match m.data.as_ref().unwrap() {
                        Data::Histogram(h) => {
                            h.data_points.iter().map(|p| p.attributes.clone()).collect()
                        }
                        Data::Sum(s) => {
                            s.data_points.iter().map(|p| p.attributes.clone()).collect()
                        }
                        Data::Gauge(g) => {
                            g.data_points.iter().map(|p| p.attributes.clone()).collect()
                        }
                        other => panic!("unexpected data {other:?}"),
                    };
                    for a in attrs {
                        let mut pairs: Vec<_> = a
                            .iter()
                            .map(|kv| (kv.key.clone(), support::text(&kv.value)))
                            .collect();
                        pairs.sort();
                        for (k, _) in &pairs {
                            assert!(spec.labels.contains(k), "{}: undeclared label {k}", m.name);
                        }
                        // Cumulative exports repeat series; keep each once.
                        let series = points.entry((service.clone(), m.name.clone())).or_default();
                        if !series.contains(&pairs) {
                            series.push(pairs);
                        }
                    }
                }
            }
        }
    }
    let kv = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut v: Vec<_> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        v.sort();
        v
    };
    let pay_server = &points[&("payments".into(), "http.server.request.duration".into())];
    assert_eq!(
        pay_server,
        &vec![kv(&[
            ("flow.name", "checkout"),
            ("http.request.method", "POST"),
            ("http.response.status_code", "200"),
            ("http.route", "/payments/{order}"),
            ("url.scheme", "http"),
        ])]
    );
    let pay_step = &points[&("payments".into(), "flow.step.duration".into())];
    assert_eq!(
        pay_step,
        &vec![kv(&[
            ("flow.name", "checkout"),
            ("flow.step", "payment.authorize"),
            ("outcome", "ok")
        ])]
    );
    let gw_server = &points[&("gateway".into(), "http.server.request.duration".into())];
    assert!(gw_server.contains(&kv(&[
        ("flow.name", "checkout"),
        ("http.request.method", "POST"),
        ("http.response.status_code", "200"),
        ("http.route", "/orders/{id}/pay"),
        ("url.scheme", "http"),
    ])));
    assert!(gw_server.contains(&kv(&[
        ("http.request.method", "GET"),
        ("http.response.status_code", "404"),
        ("url.scheme", "http"),
    ])));
    let mut gw_client = points[&("gateway".into(), "http.client.request.duration".into())].clone();
    // The port is the payments service's ephemeral one: present and numeric.
    for series in &mut gw_client {
        let port = series
            .iter()
            .position(|(k, _)| k == "server.port")
            .expect("server.port label");
        assert!(series[port].1.parse::<u16>().is_ok(), "{series:?}");
        series.remove(port);
    }
    assert_eq!(
        &gw_client,
        &vec![kv(&[
            ("flow.name", "checkout"),
            ("http.request.method", "POST"),
            ("http.response.status_code", "200"),
            ("server.address", "127.0.0.1"),
        ])]
    );
}
