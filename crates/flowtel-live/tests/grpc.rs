//! OTLP/gRPC: the collector's services answer, gzip is accepted, the findings are the same as
//! over HTTP, and oversized or malformed messages get an error status, never a crash.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use flowtel_live::{Bound, LiveOptions, LiveReport, run};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use tonic::codec::CompressionEncoding;

fn registry() -> Arc<flowtel_conventions::Registry> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
    Arc::new(
        flowtel_conventions::check(&path)
            .registry
            .expect("bundled conventions"),
    )
}

fn start(max_body: usize) -> (Bound, std::thread::JoinHandle<LiveReport>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let options = LiveOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            grpc_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            max_body_bytes: max_body,
            until_idle: Some(Duration::from_millis(800)),
            duration: Some(Duration::from_secs(30)),
            stop_on_ctrl_c: false,
            ..LiveOptions::default()
        };
        run(registry(), options, move |bound| tx.send(bound).unwrap()).unwrap()
    });
    (rx.recv().unwrap(), handle)
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn request(flow: &str, padding: usize) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", "shop"),
                    kv("service.version", "1"),
                    kv("deployment.environment.name", "ci"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    name: "checkout".into(),
                    attributes: vec![kv("flow.name", flow), kv("pad", &"x".repeat(padding))],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[test]
fn grpc_exports_are_linted_and_limits_hold() {
    let (bound, handle) = start(4096);
    let grpc = bound.grpc.expect("gRPC is on");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut client = TraceServiceClient::connect(format!("http://{grpc}"))
            .await
            .unwrap();
        let answer = client.export(request("chekout", 0)).await.unwrap();
        assert!(answer.into_inner().partial_success.is_none());

        let mut zipped = client.clone().send_compressed(CompressionEncoding::Gzip);
        zipped.export(request("chekout", 0)).await.unwrap();

        let err = client
            .export(request("checkout", 10_000))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::OutOfRange, "{err}");
    });
    let report = handle.join().unwrap();
    assert_eq!(report.stats.requests, 2);
    let unknown: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule.id == "FT0110")
        .collect();
    assert_eq!(unknown.len(), 1, "{:#?}", report.findings);
    assert_eq!(
        unknown[0].subject.get("occurrences").map(String::as_str),
        Some("2")
    );
    assert_eq!(
        unknown[0].location.as_ref().unwrap().pointer.as_deref(),
        Some("/resourceSpans/0/scopeSpans/0/spans/0/attributes/0")
    );
}
