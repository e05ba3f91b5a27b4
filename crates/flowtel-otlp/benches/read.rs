//! Reading OTLP JSON lines (traces) into the compact model, against deserializing the same
//! lines with `opentelemetry-proto`'s serde types; and the lean span views (what flow analysis
//! reads: borrowed strings, three attributes kept) against the compact model. See BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flowtel_otlp::{JsonLinesReader, KeyValueView, SpanView, SpanViewSink};

/// Keeps what an analysis would: a few attributes, a count of spans.
#[derive(Default)]
struct Views {
    spans: usize,
    kept: usize,
}

impl SpanViewSink for Views {
    fn keep_attribute(&self, key: &str) -> bool {
        matches!(
            key,
            "http.route" | "server.address" | "http.response.status_code"
        )
    }
    fn resource(&mut self, _index: usize, _attributes: &[KeyValueView<'_>]) {}
    fn span(&mut self, span: &SpanView<'_>) {
        self.spans += 1;
        self.kept += span.attributes.len() + span.name.len() % 2;
    }
    fn end_resource(&mut self, _index: usize) {}
}

/// About 32 MB of JSON lines shaped like the Python SDK's file exporter output.
fn generate() -> Vec<u8> {
    let mut out = Vec::with_capacity(34 << 20);
    let mut line = 0u64;
    while out.len() < 32 << 20 {
        line += 1;
        out.extend_from_slice(
            br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}},{"key":"service.version","value":{"stringValue":"1.2.3"}},{"key":"telemetry.sdk.language","value":{"stringValue":"rust"}},{"key":"host.name","value":{"stringValue":"node-17"}}]},"scopeSpans":[{"scope":{"name":"flowtel.bench","version":"0.1.0"},"spans":["#,
        );
        for i in 0..50u64 {
            if i > 0 {
                out.push(b',');
            }
            let id = line * 1000 + i;
            out.extend_from_slice(
                format!(
                    r#"{{"traceId":"{:032x}","spanId":"{:016x}","parentSpanId":"{:016x}","flags":256,"name":"GET /api/orders/{{id}}","kind":2,"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[{{"key":"http.request.method","value":{{"stringValue":"GET"}}}},{{"key":"http.route","value":{{"stringValue":"/api/orders/{{id}}"}}}},{{"key":"http.response.status_code","value":{{"intValue":"200"}}}},{{"key":"url.path","value":{{"stringValue":"/api/orders/{id}"}}}},{{"key":"server.address","value":{{"stringValue":"orders.internal"}}}},{{"key":"net.peer.port","value":{{"intValue":"443"}}}},{{"key":"sampling.ratio","value":{{"doubleValue":0.25}}}},{{"key":"retry","value":{{"boolValue":false}}}}],"events":[{{"timeUnixNano":"{}","name":"cache.miss","attributes":[{{"key":"cache.key","value":{{"stringValue":"order-{id}"}}}}]}}],"status":{{"code":1}}}}"#,
                    u128::from(line) << 64 | 0xabcdef,
                    id,
                    id + 1,
                    1_700_000_000_000_000_000u64 + id,
                    1_700_000_000_100_000_000u64 + id,
                    1_700_000_000_050_000_000u64 + id,
                )
                .as_bytes(),
            );
        }
        out.extend_from_slice(b"]}]}]}\n");
    }
    out
}

fn bench(c: &mut Criterion) {
    let data = generate();
    let mut group = c.benchmark_group("otlp_json_lines_traces");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.warm_up_time(Duration::from_secs(2));

    group.bench_function("flowtel_otlp_compact_model", |b| {
        b.iter(|| {
            let mut spans = 0usize;
            for batch in JsonLinesReader::new(&data[..], "bench.jsonl", 64 << 20) {
                spans += batch.unwrap().item_count();
            }
            black_box(spans)
        })
    });

    group.bench_function("flowtel_otlp_span_views", |b| {
        b.iter(|| {
            let mut views = Views::default();
            let mut reader = JsonLinesReader::new(&data[..], "bench.jsonl", 64 << 20);
            while let Some(req) = reader.next_request() {
                req.unwrap().decode_spans(&mut views).unwrap();
            }
            black_box((views.spans, views.kept))
        })
    });

    group.bench_function("opentelemetry_proto_serde", |b| {
        b.iter(|| black_box(flowtel_testkit::proto::serde_span_count(&data)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
