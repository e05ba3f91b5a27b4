//! Reads the reference OTLP JSON examples of opentelemetry-proto (shared test data).

use std::path::PathBuf;

use flowtel_otlp::{AnyValue, Format, InstrumentKind, SpanKind, attribute, open};

fn examples_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/otlp-examples");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "skipped: {} is absent (the opentelemetry-proto JSON examples are not checked out)",
            dir.display()
        );
        None
    }
}

fn read_one(name: &str) -> Option<flowtel_otlp::Batch> {
    let path = examples_dir()?.join(name);
    let reader = open(path.to_str().unwrap()).unwrap();
    assert_eq!(reader.format(), Format::OtlpJsonDocument);
    let mut batches: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.len(), 1);
    batches.pop()
}

#[test]
fn trace_example() {
    let Some(b) = read_one("trace.json") else {
        return;
    };
    assert_eq!(b.origin.line, Some(1));
    let spans: Vec<_> = b.spans().collect();
    assert_eq!(spans.len(), 1);
    let s = spans[0].item;
    assert_eq!(s.name, "I'm a server span");
    assert_eq!(s.kind, SpanKind::Server);
    assert_eq!(s.trace_id.to_string(), "5b8efff798038103d269b633813fc60c");
    assert_eq!(s.span_id.to_string(), "eee19b7ec3c1b174");
    assert_eq!(s.parent_span_id.unwrap().to_string(), "eee19b7ec3c1b173");
    assert_eq!(s.start_time_unix_nano, 1_544_712_660_000_000_000);
    assert_eq!(s.end_time_unix_nano, 1_544_712_661_000_000_000);
    assert_eq!(
        attribute(&s.attributes, "my.span.attr").and_then(AnyValue::as_str),
        Some("some value")
    );
    assert_eq!(
        attribute(&spans[0].resource.attributes, "service.name").and_then(AnyValue::as_str),
        Some("my.service")
    );
    assert_eq!(spans[0].scope.name, "my.library");
    assert_eq!(spans[0].pointer(), "/resourceSpans/0/scopeSpans/0/spans/0");
}

#[test]
fn metrics_example() {
    let Some(b) = read_one("metrics.json") else {
        return;
    };
    let ms: Vec<_> = b.metrics().collect();
    let kinds: Vec<_> = ms
        .iter()
        .map(|m| (m.item.name.as_str(), m.item.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("my.counter", InstrumentKind::Counter),
            ("my.gauge", InstrumentKind::Gauge),
            ("my.histogram", InstrumentKind::Histogram),
            (
                "my.exponential.histogram",
                InstrumentKind::ExponentialHistogram
            ),
        ]
    );
    assert_eq!(ms[0].item.points[0].number(), Some(5.0));
    let h = &ms[2].item.points[0];
    assert_eq!(
        h.count as usize,
        h.bucket_counts.iter().sum::<u64>() as usize
    );
    assert_eq!(h.bucket_counts.len(), h.explicit_bounds.len() + 1);
    assert!(ms[3].item.points[0].positive.is_some());
    assert_eq!(
        ms[3].point_pointer(0),
        "/resourceMetrics/0/scopeMetrics/0/metrics/3/exponentialHistogram/dataPoints/0"
    );
}

#[test]
fn logs_example() {
    let Some(b) = read_one("logs.json") else {
        return;
    };
    let r: Vec<_> = b.log_records().collect();
    assert_eq!(r.len(), 1);
    let l = r[0].item;
    assert_eq!(l.severity_number, 10);
    assert_eq!(l.body.as_str(), Some("Example log record"));
    assert_eq!(
        l.trace_id.unwrap().to_string(),
        "5b8efff798038103d269b633813fc60c"
    );
    let types: Vec<_> = l.attributes.iter().map(|kv| kv.value.type_name()).collect();
    assert_eq!(
        types,
        [
            "stringValue",
            "boolValue",
            "intValue",
            "doubleValue",
            "arrayValue",
            "kvlistValue"
        ]
    );
    assert_eq!(
        attribute(&l.attributes, "int.attribute"),
        Some(&AnyValue::Int(10))
    );
}

#[test]
fn events_example() {
    let Some(b) = read_one("events.json") else {
        return;
    };
    let l = b.log_records().next().unwrap().item;
    assert_eq!(l.event_name, "browser.page_view");
    let AnyValue::KvList(kv) = &l.body else {
        panic!("body {:?}", l.body)
    };
    assert_eq!(attribute(kv, "type"), Some(&AnyValue::Int(0)));
}

#[test]
fn examples_as_json_lines_and_gzip() {
    use std::io::Write;
    let Some(dir) = examples_dir() else { return };
    let mut lines = Vec::new();
    for f in ["trace.json", "metrics.json", "logs.json", "events.json"] {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(f)).unwrap()).unwrap();
        lines.extend(serde_json::to_vec(&v).unwrap());
        lines.push(b'\n');
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&lines).unwrap();
    let gz = enc.finish().unwrap();
    let r = flowtel_otlp::from_reader("all.jsonl.gz", std::io::Cursor::new(gz)).unwrap();
    assert_eq!(r.format(), Format::OtlpJsonLines);
    let batches: Vec<_> = r.collect::<Result<_, _>>().unwrap();
    let lines: Vec<_> = batches.iter().map(|b| b.origin.line.unwrap()).collect();
    assert_eq!(lines, [1, 2, 3, 4]);
    assert_eq!(batches[3].item_count(), 1);
}
