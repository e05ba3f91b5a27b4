//! Test support: the bundled conventions, an OTLP/HTTP receiver decoding with
//! `opentelemetry-proto`, and services running on their own threads under their own
//! telemetry.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;

/// The bundled `conventions/`, embedded as `flowtel::conventions!()` does.
pub fn conventions() -> flowtel::Conventions {
    std::sync::Arc::new(flowtel_testkit::bundled_conventions())
}

/// What an OTLP/HTTP receiver got, decoded.
#[derive(Default)]
pub struct Received {
    pub traces: Vec<ExportTraceServiceRequest>,
    pub metrics: Vec<ExportMetricsServiceRequest>,
}

/// Starts an OTLP/HTTP (protobuf) receiver on 127.0.0.1; returns its base URL.
pub fn receiver() -> (String, Arc<Mutex<Received>>) {
    receiver_keeping(true)
}

/// A receiver that decodes everything but keeps it only when `keep` (long runs do not).
pub fn receiver_keeping(keep: bool) -> (String, Arc<Mutex<Received>>) {
    let got = Arc::new(Mutex::new(Received::default()));
    let (t, m) = (got.clone(), got.clone());
    let app = Router::new()
        .route(
            "/v1/traces",
            post(move |body: Bytes| async move {
                let req = ExportTraceServiceRequest::decode(body).expect("OTLP traces protobuf");
                if keep {
                    t.lock().unwrap().traces.push(req);
                }
                ""
            }),
        )
        .route(
            "/v1/metrics",
            post(move |body: Bytes| async move {
                let req = ExportMetricsServiceRequest::decode(body).expect("OTLP metrics protobuf");
                if keep {
                    m.lock().unwrap().metrics.push(req);
                }
                ""
            }),
        );
    let addr = serve_on_thread(app, None);
    (format!("http://{addr}"), got)
}

/// Serves `app` on 127.0.0.1 (ephemeral port) on its own thread and runtime, under
/// `dispatch` when given.
pub fn serve_on_thread(app: Router, dispatch: Option<tracing::Dispatch>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let run = || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, app).await.expect("serve");
            });
        };
        match dispatch {
            Some(d) => tracing::dispatcher::with_default(&d, run),
            None => run(),
        }
    });
    addr
}

/// The string form of an OTLP attribute value.
pub fn text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        _ => String::new(),
    }
}

/// The value of attribute `key`.
pub fn attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| text(&kv.value))
}
