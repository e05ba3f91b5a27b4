//! Property tests: no reader panics on arbitrary bytes or on arbitrary mutations of valid input.

use std::io::Cursor;

use flowtel_otlp::{
    JsonDocumentReader, JsonLinesReader, ProtoReader, ReadOptions, Signal, decode_json,
    decode_proto, prometheus,
};
use proptest::prelude::*;

const LIMIT: usize = 1 << 16;

const JSON_LINE: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"scope":{"name":"lib","version":"1"},"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"EEE19B7EC3C1B173","name":"GET /","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000","attributes":[{"key":"a","value":{"arrayValue":{"values":[{"intValue":"1"},{"kvlistValue":{"values":[{"key":"k","value":{"doubleValue":1.5}}]}}]}}}],"events":[{"name":"e","timeUnixNano":1}],"status":{"code":2}}]}]}]}
{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"h","unit":"s","histogram":{"aggregationTemporality":2,"dataPoints":[{"count":"2","sum":1,"bucketCounts":["1","1"],"explicitBounds":[0.5]}]}},{"name":"c","sum":{"isMonotonic":true,"dataPoints":[{"asInt":"3"}]}}]}]}]}
{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":"SEVERITY_NUMBER_INFO","body":{"bytesValue":"AQID"},"traceId":"5B8EFFF798038103D269B633813FC60C"}]}]}]}
"#;

const PROM: &str = "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n# TYPE lat histogram\nlat_bucket{le=\"0.1\"} 1\nlat_bucket{le=\"+Inf\"} 2\nlat_sum 0.3\nlat_count 2\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\ns_count 1\n# EOF\n";

fn proto_sample() -> Vec<u8> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;
    let mut out = Vec::new();
    let line = JSON_LINE.lines().next().unwrap();
    let req: ExportTraceServiceRequest = serde_json::from_str(line).unwrap();
    req.encode_length_delimited(&mut out).unwrap();
    req.encode_length_delimited(&mut out).unwrap();
    out
}

fn drain_all(bytes: &[u8]) {
    let opts = ReadOptions {
        max_batch_bytes: LIMIT,
        ..Default::default()
    };
    if let Ok(r) = opts.read("fuzz", Cursor::new(bytes.to_vec())) {
        for b in r.take(10_000) {
            if let Err(e) = b {
                assert!(!e.to_string().is_empty());
            }
        }
    }
    for _ in JsonLinesReader::new(bytes, "f", LIMIT).take(10_000) {}
    for _ in JsonDocumentReader::new(bytes, "f", LIMIT).take(10_000) {}
    for s in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        let _ = decode_proto(s, "f", bytes);
        if let Ok(r) = ProtoReader::new(bytes, "f", Some(s), LIMIT) {
            for _ in r.take(10_000) {}
        }
    }
    if let Ok(r) = ProtoReader::new(bytes, "f", None, LIMIT) {
        for _ in r.take(10_000) {}
    }
    let _ = decode_json("f", bytes);
    let _ = prometheus::parse(bytes, "f", LIMIT).map(|e| e.to_payload());
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

fn mutate(mut data: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        if data.is_empty() {
            break;
        }
        let len = data.len();
        match *m {
            Mutation::Flip(i, b) => data[i % len] ^= b,
            Mutation::Insert(i, b) => data.insert(i % (len + 1), b),
            Mutation::Delete(i) => {
                data.remove(i % len);
            }
            Mutation::Truncate(i) => data.truncate(i % len),
            Mutation::Duplicate(i, n) => {
                let start = i % len;
                let end = (start + n).min(len);
                let chunk = data[start..end].to_vec();
                data.splice(start..start, chunk);
            }
        }
    }
    data
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        drain_all(&bytes);
    }

    #[test]
    fn mutated_json(ms in proptest::collection::vec(mutation(), 1..8)) {
        drain_all(&mutate(JSON_LINE.as_bytes().to_vec(), &ms));
    }

    #[test]
    fn mutated_pretty_json(ms in proptest::collection::vec(mutation(), 1..8)) {
        let v: serde_json::Value = serde_json::from_str(JSON_LINE.lines().next().unwrap()).unwrap();
        drain_all(&mutate(serde_json::to_vec_pretty(&v).unwrap(), &ms));
    }

    #[test]
    fn mutated_protobuf(ms in proptest::collection::vec(mutation(), 1..8)) {
        drain_all(&mutate(proto_sample(), &ms));
    }

    #[test]
    fn mutated_prometheus(ms in proptest::collection::vec(mutation(), 1..8)) {
        drain_all(&mutate(PROM.as_bytes().to_vec(), &ms));
    }

    #[test]
    fn mutated_gzip(ms in proptest::collection::vec(mutation(), 1..4)) {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(JSON_LINE.as_bytes()).unwrap();
        drain_all(&mutate(enc.finish().unwrap(), &ms));
    }
}

#[test]
fn valid_samples_read_cleanly() {
    let opts = ReadOptions::default();
    let n = opts
        .read("s.jsonl", Cursor::new(JSON_LINE.as_bytes().to_vec()))
        .unwrap()
        .map(|b| b.unwrap().item_count())
        .sum::<usize>();
    assert_eq!(n, 4);
    let r = opts.read("traces.pb", Cursor::new(proto_sample())).unwrap();
    assert_eq!(r.map(|b| b.unwrap().item_count()).sum::<usize>(), 2);
    let r = opts
        .read("m.prom", Cursor::new(PROM.as_bytes().to_vec()))
        .unwrap();
    assert_eq!(r.format(), flowtel_otlp::Format::OpenMetricsText);
    assert_eq!(r.map(|b| b.unwrap().item_count()).sum::<usize>(), 3);
}
