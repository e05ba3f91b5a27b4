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

/// One OTLP/HTTP request over a fresh connection; the status code.
fn post(addr: SocketAddr, content_type: &str, gzip: bool, body: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let encoding = if gzip {
        "Content-Encoding: gzip\r\n"
    } else {
        ""
    };
    write!(
        s,
        "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n{encoding}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer[9..12].parse().unwrap()
}

#[test]
fn save_keeps_every_accepted_request_for_the_other_commands() {
    use prost::Message as _;
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let save = dir.path().join("run");
    let (tx, rx) = std::sync::mpsc::channel();
    let options = LiveOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        grpc_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        until_idle: Some(Duration::from_millis(800)),
        duration: Some(Duration::from_secs(30)),
        stop_on_ctrl_c: false,
        save: Some(save.clone()),
        ..LiveOptions::default()
    };
    let handle = std::thread::spawn(move || {
        run(registry(), options, move |bound| tx.send(bound).unwrap()).unwrap()
    });
    let bound = rx.recv().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut client = TraceServiceClient::connect(format!("http://{}", bound.grpc.unwrap()))
            .await
            .unwrap();
        client.export(request("grpc", 0)).await.unwrap();
        let mut zipped = client.send_compressed(CompressionEncoding::Gzip);
        zipped.export(request("grpc-gzip", 0)).await.unwrap();
    });
    let proto = request("http", 0).encode_to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&request("http-gzip", 0).encode_to_vec())
        .unwrap();
    let json = r#"{"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
         "name": "checkout", "attributes": [{"key": "flow.name", "value": {"stringValue": "json"}}]}
    ]}]}]}"#;
    assert_eq!(
        post(bound.http, "application/x-protobuf", false, &proto),
        200
    );
    assert_eq!(
        post(
            bound.http,
            "application/x-protobuf",
            true,
            &gz.finish().unwrap()
        ),
        200
    );
    assert_eq!(
        post(bound.http, "application/json", false, json.as_bytes()),
        200
    );
    // A malformed request is answered and reported, never saved.
    assert_eq!(
        post(
            bound.http,
            "application/json",
            false,
            b"{\"resourceSpans\": 1}"
        ),
        400
    );
    let report = handle.join().unwrap();
    assert_eq!((report.save_failures, report.save_error), (0, None));

    // What was saved reads back, each accepted request once, through the common reader.
    let flows = |file: &str| -> Vec<String> {
        let mut flows = Vec::new();
        for batch in flowtel_otlp::open(save.join(file).to_str().unwrap()).unwrap() {
            for s in batch.unwrap().spans() {
                let flow = flowtel_otlp::attribute(&s.item.attributes, "flow.name");
                flows.push(flow.and_then(|v| v.as_str()).unwrap().to_string());
            }
        }
        flows.sort();
        flows
    };
    assert_eq!(
        flows("traces.binpb"),
        ["grpc", "grpc-gzip", "http", "http-gzip"]
    );
    assert_eq!(flows("traces.jsonl"), ["json"]);
    assert!(!save.join("metrics.binpb").exists());
}
