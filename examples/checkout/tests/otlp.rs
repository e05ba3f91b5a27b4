//! `--otlp URL` sends both services' telemetry over OTLP/HTTP (protobuf) to a receiver.

use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

#[derive(Default)]
struct Got {
    spans: usize,
    metric_requests: usize,
    services: std::collections::BTreeSet<String>,
}

fn service_name(attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> Option<String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    attrs
        .iter()
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            _ => None,
        })
}

#[test]
fn sends_otlp_http_to_a_receiver() {
    let got = Arc::new(Mutex::new(Got::default()));
    let (t, m) = (got.clone(), got.clone());
    let app = Router::new()
        .route(
            "/v1/traces",
            post(move |body: Bytes| async move {
                let req = ExportTraceServiceRequest::decode(body).expect("protobuf traces");
                let mut g = t.lock().unwrap();
                for rs in &req.resource_spans {
                    if let Some(r) = &rs.resource {
                        g.services.extend(service_name(&r.attributes));
                    }
                    g.spans += rs.scope_spans.iter().map(|s| s.spans.len()).sum::<usize>();
                }
                ""
            }),
        )
        .route(
            "/v1/metrics",
            post(move |body: Bytes| async move {
                ExportMetricsServiceRequest::decode(body).expect("protobuf metrics");
                m.lock().unwrap().metric_requests += 1;
                ""
            }),
        );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    let status = Command::new(env!("CARGO_BIN_EXE_example-checkout"))
        .args(["--otlp", &format!("http://{addr}"), "--requests", "40"])
        .env_remove("FLOWTEL_CONVENTIONS")
        .env_remove("OTEL_SERVICE_NAME")
        .status()
        .expect("run the example");
    assert!(status.success());
    let got = got.lock().unwrap();
    assert!(got.spans >= 40, "{} spans", got.spans);
    assert!(
        got.metric_requests >= 2,
        "{} metric exports",
        got.metric_requests
    );
    assert_eq!(
        got.services,
        std::collections::BTreeSet::from(["gateway".to_owned(), "payments".to_owned()])
    );
}
