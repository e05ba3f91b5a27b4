//! The obvious alternative to flowtel's OTLP reader, as benchmarks run it: every line of OTLP
//! JSON traces deserialized into `opentelemetry-proto`'s serde types; and the same spans as
//! OTLP protobuf, for tests that compare what flowtel reads from either encoding.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;

/// The number of spans in OTLP JSON lines of traces, each line deserialized with
/// `opentelemetry-proto`'s serde types.
///
/// # Panics
/// On a line that is not an OTLP JSON trace export request.
pub fn serde_span_count(data: &[u8]) -> usize {
    let mut spans = 0usize;
    for line in data.split(|c| *c == b'\n').filter(|l| !l.is_empty()) {
        let req: ExportTraceServiceRequest = serde_json::from_slice(line).unwrap();
        spans += req
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum::<usize>();
    }
    spans
}

/// OTLP JSON lines of traces re-encoded as protobuf: each line one `ExportTraceServiceRequest`
/// preceded by its length as a varint (prost's `encode_length_delimited`).
///
/// # Panics
/// On a line that is not an OTLP JSON trace export request.
pub fn traces_json_lines_to_proto(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in data.split(|c| *c == b'\n').filter(|l| !l.is_empty()) {
        let req: ExportTraceServiceRequest = serde_json::from_slice(line).unwrap();
        req.encode_length_delimited(&mut out).unwrap();
    }
    out
}
