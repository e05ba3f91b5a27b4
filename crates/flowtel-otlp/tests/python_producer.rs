//! Reads what the OpenTelemetry Python SDK writes (`tests/python/produce.py --scenario basic`),
//! as OTLP JSON lines and as length-delimited protobuf, and checks the exact content.
//!
//! The interpreter is `$FLOWTEL_PYTHON`, by default `<workspace>/.venv/bin/python`.
//! `FLOWTEL_SKIP_PYTHON=1` skips the test.

use std::path::Path;
use std::process::Command;

use flowtel_otlp::{
    AnyValue, Batch, Format, InstrumentKind, SpanKind, StatusCode, Temporality, attribute, open,
};
use flowtel_testkit::{python, workspace};

/// Runs the producer into a fresh directory, `None` if skipped.
fn produce() -> Option<tempfile::TempDir> {
    let python = python()?;
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(&python)
        .arg(workspace().join("tests/python/produce.py"))
        .arg(out.path())
        .args(["--scenario", "basic", "--format", "both"])
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        status.success(),
        "produce.py failed ({status}): check the virtualenv has the packages of .ci/requirements-python.txt"
    );
    Some(out)
}

fn read_all(path: &Path) -> (Format, Vec<Batch>) {
    let r = open(path.to_str().unwrap()).unwrap();
    let format = r.format();
    let batches = r
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("{e}"));
    (format, batches)
}

fn check_traces(batches: &[Batch]) {
    let spans: Vec<_> = batches.iter().flat_map(|b| b.spans()).collect();
    let names: Vec<_> = spans.iter().map(|s| s.item.name.as_str()).collect();
    assert_eq!(names, ["SELECT orders", "GET /orders/{id}"]);
    let (client, server) = (spans[0].item, spans[1].item);
    assert_eq!(server.kind, SpanKind::Server);
    assert_eq!(client.kind, SpanKind::Client);
    assert_eq!(client.parent_span_id, Some(server.span_id));
    assert_eq!(client.trace_id, server.trace_id);
    assert!(!server.trace_id.is_zero());
    assert_eq!(server.parent_span_id, None);
    assert_eq!(client.status.code, StatusCode::Error);
    assert_eq!(client.status.message, "timeout");
    assert_eq!(client.events[0].name, "retry");
    assert_eq!(client.events[0].attributes[0].value, AnyValue::Int(2));
    let a = |k| attribute(&server.attributes, k).cloned();
    assert_eq!(
        a("http.request.method"),
        Some(AnyValue::String("GET".into()))
    );
    assert_eq!(a("http.response.status_code"), Some(AnyValue::Int(200)));
    assert_eq!(a("flowtel.test.ratio"), Some(AnyValue::Double(0.5)));
    assert_eq!(a("flowtel.test.flag"), Some(AnyValue::Bool(true)));
    assert_eq!(
        a("flowtel.test.tags"),
        Some(AnyValue::Array(vec![
            AnyValue::String("a".into()),
            AnyValue::String("b".into())
        ]))
    );
    assert!(server.end_time_unix_nano >= server.start_time_unix_nano);
    assert!(server.start_time_unix_nano > 1_600_000_000_000_000_000);
    let res = spans[1].resource;
    assert_eq!(
        attribute(&res.attributes, "service.name").and_then(AnyValue::as_str),
        Some("flowtel-producer")
    );
    assert_eq!(spans[1].scope.name, "flowtel.producer");
    assert_eq!(spans[1].scope.version, "0.1.0");
}

fn check_metrics(batches: &[Batch]) {
    let ms: Vec<_> = batches.iter().flat_map(|b| b.metrics()).collect();
    let kinds: Vec<_> = ms
        .iter()
        .map(|m| (m.item.name.as_str(), m.item.kind, m.item.unit.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("orders.processed", InstrumentKind::Counter, "{order}"),
            (
                "http.server.request.duration",
                InstrumentKind::Histogram,
                "s"
            ),
            ("orders.in_flight", InstrumentKind::UpDownCounter, "{order}"),
            ("queue.depth", InstrumentKind::Gauge, "{item}"),
            ("process.cpu.load", InstrumentKind::Gauge, "1"),
        ]
    );
    let counter = ms[0].item;
    assert_eq!(counter.description, "Orders processed");
    assert_eq!(counter.temporality, Temporality::Cumulative);
    let by_status: Vec<_> = counter
        .points
        .iter()
        .map(|p| {
            (
                attribute(&p.attributes, "order.status")
                    .and_then(AnyValue::as_str)
                    .unwrap(),
                p.as_int,
            )
        })
        .collect();
    assert_eq!(by_status, [("ok", Some(3)), ("failed", Some(1))]);
    let h = &ms[1].item.points[0];
    assert_eq!(h.count, 3);
    assert!((h.sum.unwrap() - 3.21).abs() < 1e-9);
    assert_eq!(h.min, Some(0.01));
    assert_eq!(h.max, Some(3.0));
    assert_eq!(h.explicit_bounds.len() + 1, h.bucket_counts.len());
    assert_eq!(h.bucket_counts.iter().sum::<u64>(), 3);
    assert_eq!(ms[2].item.points[0].as_int, Some(3));
    assert_eq!(ms[3].item.points[0].as_int, Some(7));
    assert_eq!(ms[4].item.points[0].as_double, Some(1.5));
}

fn check_logs(batches: &[Batch]) {
    let logs: Vec<_> = batches.iter().flat_map(|b| b.log_records()).collect();
    let bodies: Vec<_> = logs.iter().map(|l| l.item.body.as_str().unwrap()).collect();
    assert_eq!(bodies, ["order lookup slow", "order shipped"]);
    let (warn, info) = (logs[0].item, logs[1].item);
    assert_eq!(
        (warn.severity_number, warn.severity_text.as_str()),
        (13, "WARN")
    );
    assert_eq!(
        (info.severity_number, info.severity_text.as_str()),
        (9, "INFO")
    );
    assert!(warn.trace_id.is_some() && warn.span_id.is_some());
    assert_eq!(info.event_name, "order.shipped");
    assert_eq!(
        attribute(&info.attributes, "order.items"),
        Some(&AnyValue::Int(3))
    );
}

#[test]
fn python_sdk_output() {
    let Some(dir) = produce() else { return };
    let d = dir.path();

    let (f, t) = read_all(&d.join("traces.jsonl"));
    assert_eq!(f, Format::OtlpJsonLines);
    assert_eq!(t.len(), 2, "one line per span with the simple processor");
    assert_eq!(t[1].origin.line, Some(2));
    check_traces(&t);
    let (f, m) = read_all(&d.join("metrics.jsonl"));
    assert_eq!(f, Format::OtlpJsonLines);
    check_metrics(&m);
    let (_, l) = read_all(&d.join("logs.jsonl"));
    check_logs(&l);

    let (f, t) = read_all(&d.join("traces.pb"));
    assert_eq!(f, Format::OtlpProtobuf);
    check_traces(&t);
    let (_, m) = read_all(&d.join("metrics.pb"));
    check_metrics(&m);
    let (_, l) = read_all(&d.join("logs.pb"));
    check_logs(&l);
}
