//! The obvious alternative to flowtel's OTLP reader, as benchmarks run it: every line of OTLP
//! JSON traces deserialized into `opentelemetry-proto`'s serde types.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

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
