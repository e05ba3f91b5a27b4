//! Saturation and retries over real HTTP on 127.0.0.1, exported over real OTLP/HTTP: the server
//! layer counts requests in flight in `http.server.active_requests` (with its declared limit
//! beside it), and a client behind tower's `Retry` with [`CountResends`] records every attempt
//! as its own span numbered by `http.request.resend_count`, and each retry once in
//! `flow.dependency.retries`.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use bytes::Bytes;
use flowtel_tower::{CountResends, FlowClientLayer, FlowServerLayer};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point;
use support::{Received, attr, conventions, receiver, serve_on_thread};
use tower::ServiceBuilder;
use tower::retry::RetryLayer;
use tower::{Service, ServiceExt};

/// Retries 503 answers, at most `left` times in all.
#[derive(Clone)]
struct RetryUnavailable {
    left: usize,
}

impl<E> tower::retry::Policy<http::Request<Full<Bytes>>, http::Response<hyper::body::Incoming>, E>
    for RetryUnavailable
{
    type Future = std::future::Ready<()>;

    fn retry(
        &mut self,
        _req: &mut http::Request<Full<Bytes>>,
        result: &mut Result<http::Response<hyper::body::Incoming>, E>,
    ) -> Option<Self::Future> {
        match result {
            Ok(r) if r.status() == 503 && self.left > 0 => {
                self.left -= 1;
                Some(std::future::ready(()))
            }
            _ => None,
        }
    }

    fn clone_request(
        &mut self,
        req: &http::Request<Full<Bytes>>,
    ) -> Option<http::Request<Full<Bytes>>> {
        let mut r = http::Request::new(req.body().clone());
        *r.method_mut() = req.method().clone();
        *r.uri_mut() = req.uri().clone();
        Some(r)
    }
}

/// The last exported value of every series of `metric`, by sorted labels.
fn last_values(got: &Received, metric: &str) -> HashMap<Vec<(String, String)>, f64> {
    let mut out = HashMap::new();
    for req in &got.metrics {
        for rm in &req.resource_metrics {
            for sm in &rm.scope_metrics {
                for m in sm.metrics.iter().filter(|m| m.name == metric) {
                    let points = match m.data.as_ref().unwrap() {
                        Data::Sum(s) => &s.data_points,
                        Data::Gauge(g) => &g.data_points,
                        other => panic!("{metric}: unexpected {other:?}"),
                    };
                    for p in points {
                        let mut labels: Vec<_> = p
                            .attributes
                            .iter()
                            .map(|kv| (kv.key.clone(), support::text(&kv.value)))
                            .collect();
                        labels.sort();
                        let v = match p.value {
                            Some(number_data_point::Value::AsInt(i)) => i as f64,
                            Some(number_data_point::Value::AsDouble(d)) => d,
                            None => f64::NAN,
                        };
                        out.insert(labels, v);
                    }
                }
            }
        }
    }
    out
}

#[test]
fn in_flight_requests_and_retries_are_recorded() {
    let (otlp, received) = receiver();
    let (tel, dispatch) = flowtel::init(conventions())
        .service("payments", "1.0.0")
        .otlp_endpoint(&otlp)
        .metric_interval(Duration::from_secs(3600))
        .build()
        .expect("telemetry");

    // Each order is refused twice with 503, then accepted.
    let attempts: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let (entered_tx, mut entered_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let release = Arc::new(tokio::sync::Notify::new());
    let app = {
        let release = release.clone();
        Router::new()
            .route(
                "/payments/{order}",
                post(move |Path(order): Path<String>| {
                    let attempts = attempts.clone();
                    async move {
                        let mut a = attempts.lock().unwrap();
                        let n = a.entry(order).or_default();
                        *n += 1;
                        if *n <= 2 {
                            http::StatusCode::SERVICE_UNAVAILABLE
                        } else {
                            http::StatusCode::OK
                        }
                    }
                }),
            )
            .route(
                "/slow",
                get(move || {
                    let release = release.clone();
                    let entered = entered_tx.clone();
                    async move {
                        let released = release.notified();
                        let _ = entered.send(());
                        released.await;
                        "done"
                    }
                }),
            )
            .layer(FlowServerLayer::new(&tel))
    };
    let server = serve_on_thread(app, Some(dispatch.clone()));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let orders = 5;
    tracing::dispatcher::with_default(&dispatch, || {
        rt.block_on(async {
            let http: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
            let mut client = ServiceBuilder::new()
                .layer(RetryLayer::new(CountResends(RetryUnavailable { left: 3 })))
                .layer(FlowClientLayer::new(&tel))
                .service(http.clone());
            for i in 0..orders {
                let req = http::Request::post(format!("http://{server}/payments/{i}"))
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                let resp = client.ready().await.unwrap().call(req).await.unwrap();
                assert_eq!(resp.status(), 200);
            }

            // One request held inside the handler: in flight while it is there.
            let slow = tokio::spawn(
                http.request(
                    http::Request::get(format!("http://{server}/slow"))
                        .body(Full::new(Bytes::new()))
                        .unwrap(),
                ),
            );
            entered_rx.recv().await.unwrap();
            tel.flush();
            let during = last_values(&received.lock().unwrap(), "http.server.active_requests");
            let get = vec![
                ("http.request.method".to_string(), "GET".to_string()),
                ("url.scheme".to_string(), "http".to_string()),
            ];
            assert_eq!(during.get(&get), Some(&1.0), "{during:?}");
            release.notify_one();
            assert_eq!(slow.await.unwrap().unwrap().status(), 200);
        });
    });
    tel.flush();
    drop(tel);

    let got = received.lock().unwrap();
    // Nothing in flight any more, on any series; the declared limit is exported beside it.
    let after = last_values(&got, "http.server.active_requests");
    assert!(!after.is_empty());
    assert!(after.values().all(|v| *v == 0.0), "{after:?}");
    let limit = last_values(&got, "http.server.active_requests.limit");
    assert_eq!(limit.get(&vec![]), Some(&512.0), "{limit:?}");

    // Three client spans per order, the retries numbered 1 and 2.
    let mut resend: HashMap<String, Vec<Option<String>>> = HashMap::new();
    for req in &got.traces {
        for rs in &req.resource_spans {
            for ss in &rs.scope_spans {
                for s in ss.spans.iter().filter(|s| s.kind == 3) {
                    resend
                        .entry(s.trace_id.iter().map(|b| format!("{b:02x}")).collect())
                        .or_default()
                        .push(attr(&s.attributes, "http.request.resend_count"));
                }
            }
        }
    }
    let mut client_spans: Vec<Option<String>> = resend.into_values().flatten().collect();
    client_spans.sort();
    let mut expected = Vec::new();
    for _ in 0..orders {
        expected.extend([None, Some("1".to_string()), Some("2".to_string())]);
    }
    expected.sort();
    assert_eq!(client_spans, expected);

    // The retry counter matches the retries made, per dependency.
    let retries = last_values(&got, "flow.dependency.retries");
    let total: f64 = retries.values().sum();
    assert_eq!(total, (2 * orders) as f64, "{retries:?}");
    let (labels, _) = retries.iter().next().unwrap();
    assert!(
        labels.contains(&("server.address".into(), "127.0.0.1".into())),
        "{labels:?}"
    );
    assert!(labels.contains(&("http.request.method".into(), "POST".into())));
}
