//! `--otlp URL` sends every service's telemetry over OTLP/HTTP (protobuf) to a receiver.

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
    let status = Command::new(env!("CARGO_BIN_EXE_example-shop"))
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
        std::collections::BTreeSet::from(
            ["catalog", "gateway", "identity", "orders", "payments"].map(str::to_owned)
        )
    );
}

/// Runs the example against `addr` with a 1 s shutdown deadline; returns the time from the end
/// of the load (the `sent N requests` line) to the process's exit, and its stderr.
fn shutdown_time(addr: std::net::SocketAddr) -> (std::time::Duration, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_example-shop"))
        .args(["--otlp", &format!("http://{addr}"), "--requests", "300"])
        .env_remove("FLOWTEL_CONVENTIONS")
        .env_remove("OTEL_SERVICE_NAME")
        .env("FLOWTEL_SHUTDOWN_TIMEOUT", "1000")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the example");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut text = String::new();
    let mut served = None;
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        // The shutdown starts once the load is served and the orders worker has emptied its
        // queue (application work, bounded by --drain): time it from there.
        if line.starts_with("orders: ") {
            served = Some(std::time::Instant::now());
        }
        text.push_str(&line);
        line.clear();
    }
    let status = child.wait().unwrap();
    let took = served.expect("the load ran").elapsed();
    assert!(status.success(), "{text}");
    (took, text)
}

#[test]
fn exits_within_the_deadline_with_a_hung_or_refusing_collector() {
    // Accepts connections and reads, never answers.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_addr = hung.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in hung.incoming().flatten() {
            held.push(c);
        }
    });
    let refusing = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    for (name, addr) in [("hung", hung_addr), ("refusing", refusing)] {
        let (took, stderr) = shutdown_time(addr);
        println!("{name}: exited {took:?} after the orders worker stopped");
        // Deadline 1 s, plus 1 s.
        assert!(
            took < std::time::Duration::from_secs(2),
            "{name} collector: exit took {took:?}\n{stderr}"
        );
        assert!(
            stderr.contains("flowtel.violations{rule=export-dropped}"),
            "{name}: drops are counted\n{stderr}"
        );
    }
}
