//! Linting OTLP JSON lines (traces) against the bundled conventions, against only
//! deserializing the same lines with `opentelemetry-proto`'s serde types. See BENCHMARKS.md.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flowtel_lint::telemetry::TelemetryLinter;
use flowtel_otlp::JsonLinesReader;

/// About 32 MB of JSON lines shaped like an instrumented service's file export: per line one
/// resource (service name, version, environment, SDK), one scope and 50 spans with hex ids,
/// int64 times as strings, 9 attributes (flow, step, HTTP semantic conventions, a hashed user
/// id) and one event each.
fn generate() -> Vec<u8> {
    const ROUTES: [&str; 4] = [
        "/checkout",
        "/orders/{id}/pay",
        "/products",
        "/products/{id}",
    ];
    const STEPS: [(&str, &str); 4] = [
        ("checkout", "cart.load"),
        ("checkout", "order.confirm"),
        ("checkout", "cart.load"),
        ("checkout", "order.confirm"),
    ];
    let mut out = Vec::with_capacity(34 << 20);
    let mut line = 0u64;
    while out.len() < 32 << 20 {
        line += 1;
        out.extend_from_slice(
            br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"gateway"}},{"key":"service.version","value":{"stringValue":"1.2.3"}},{"key":"deployment.environment.name","value":{"stringValue":"production"}},{"key":"telemetry.sdk.language","value":{"stringValue":"rust"}}]},"scopeSpans":[{"scope":{"name":"flowtel","version":"0.1.0"},"spans":["#,
        );
        for i in 0..50u64 {
            if i > 0 {
                out.push(b',');
            }
            let id = line * 1000 + i;
            let (flow, step) = STEPS[(id % 4) as usize];
            let route = ROUTES[(id % 3) as usize];
            out.extend_from_slice(
                format!(
                    r#"{{"traceId":"{:032x}","spanId":"{:016x}","parentSpanId":"{:016x}","flags":256,"name":"{flow} {step}","kind":1,"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[{{"key":"flowtel.kind","value":{{"stringValue":"step"}}}},{{"key":"flow.name","value":{{"stringValue":"{flow}"}}}},{{"key":"flow.step","value":{{"stringValue":"{step}"}}}},{{"key":"http.request.method","value":{{"stringValue":"PUT"}}}},{{"key":"http.route","value":{{"stringValue":"{route}"}}}},{{"key":"http.response.status_code","value":{{"intValue":"{}"}}}},{{"key":"user.id","value":{{"stringValue":"hash:{:016x}"}}}},{{"key":"outcome","value":{{"stringValue":"ok"}}}},{{"key":"sampling.ratio","value":{{"doubleValue":0.25}}}}],"events":[{{"timeUnixNano":"{}","name":"cache.miss","attributes":[{{"key":"cache.key","value":{{"stringValue":"order-{id}"}}}}]}}],"status":{{"code":1}}}}"#,
                    u128::from(line) << 64 | 0xabcdef,
                    id,
                    id + 1,
                    1_700_000_000_000_000_000u64 + id,
                    1_700_000_000_100_000_000u64 + id,
                    200 + (id % 3) * 100,
                    id % 5000,
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
    let conventions = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
    let mut reg = flowtel_conventions::check(&conventions)
        .registry
        .expect("bundled conventions");
    // The spans' `sampling.ratio` and their events' `cache.key` are not declared: accepted
    // through the allow-list, so the undeclared-attribute path runs on every span.
    reg.lint.allow_attributes = vec!["sampling.*".into(), "cache.*".into()];
    let data = generate();
    let mut group = c.benchmark_group("lint_otlp_json_lines_traces");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.warm_up_time(Duration::from_secs(2));

    group.bench_function("flowtel_lint_read_and_lint", |b| {
        b.iter(|| {
            let mut linter = TelemetryLinter::new(&reg);
            for batch in JsonLinesReader::new(&data[..], "bench.jsonl", 64 << 20) {
                linter.batch(&batch.unwrap());
            }
            let findings = linter.finish();
            assert!(findings.is_empty(), "{findings:#?}");
            black_box(findings)
        })
    });

    group.bench_function("flowtel_otlp_read_only", |b| {
        b.iter(|| {
            let mut items = 0usize;
            for batch in JsonLinesReader::new(&data[..], "bench.jsonl", 64 << 20) {
                items += batch.unwrap().item_count();
            }
            black_box(items)
        })
    });

    group.bench_function("opentelemetry_proto_serde_only", |b| {
        b.iter(|| black_box(flowtel_testkit::proto::serde_span_count(&data)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
