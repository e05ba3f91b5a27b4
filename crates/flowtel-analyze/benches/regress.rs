//! `flowtel regress`'s read of one side: OTLP JSON lines of 200,000 spans (50,000 checkout
//! traces of a root and three steps, as `scripts/gen_regress_sides.py` writes them) into a
//! `SideData`, through the span views `flowtel regress` uses against the obvious alternative,
//! every line decoded into a whole batch. And the Hodges-Lehmann estimate with its interval on
//! 250,000 x 250,000 durations against sorting the two samples, which regress does anyway.
//! See BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flowtel_analyze::regress::input::{SideData, SideSink};
use flowtel_analyze::regress::stats::hodges_lehmann;
use flowtel_otlp::{InputPosition, InputSink, JsonLinesReader};

const CONVENTIONS: &str = "schema: flowtel/v1\nname: bench\nversion: 1.0.0\nattributes:\n  flow.name: {type: string}\nflows:\n  checkout:\n    owner: team-payments\n    entry: ['POST /checkout']\n";

/// A fixed stream of durations in nanoseconds, skewed like latencies.
fn durations(seed: u64) -> impl FnMut(f64) -> u64 {
    let mut state = seed | 1;
    move |median: f64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let u = (state >> 11) as f64 / (1u64 << 53) as f64;
        // Exponential around the median: skewed, no two alike.
        (median * 1e9 * (-(1.0 - u).ln() / std::f64::consts::LN_2)) as u64 + 1
    }
}

fn side(traces: u64) -> Vec<u8> {
    let mut next = durations(7);
    let mut out = String::new();
    let kv = |k: &str, v: &str| format!(r#"{{"key":"{k}","value":{{"stringValue":"{v}"}}}}"#);
    let mut spans = Vec::new();
    for t in 0..traces {
        let trace = format!(
            "{:032x}",
            t.wrapping_mul(0x9e37_79b9_7f4a_7c15) as u128 * 3 + 1
        );
        let root = format!("{:016x}", t * 4 + 1);
        let start = 1_700_000_000_000_000_000u64 + t * 1_000_000;
        let mut cur = start;
        for (i, (step, median)) in [
            ("cart.load", 0.01),
            ("payment.authorize", 0.05),
            ("order.confirm", 0.02),
        ]
        .into_iter()
        .enumerate()
        {
            let d = next(median);
            spans.push(format!(
                r#"{{"traceId":"{trace}","spanId":"{:016x}","parentSpanId":"{root}","name":"{step}","kind":1,"startTimeUnixNano":"{cur}","endTimeUnixNano":"{}","attributes":[{},{}]}}"#,
                t * 4 + 2 + i as u64,
                cur + d,
                kv("flow.name", "checkout"),
                kv("flow.step", step)
            ));
            cur += d;
        }
        spans.push(format!(
            r#"{{"traceId":"{trace}","spanId":"{root}","name":"POST /checkout","kind":2,"startTimeUnixNano":"{start}","endTimeUnixNano":"{}","attributes":[{},{},{}]}}"#,
            cur + 100_000,
            kv("flow.name", "checkout"),
            kv("http.route", "/checkout"),
            kv("http.request.method", "POST")
        ));
        if spans.len() >= 500 || t + 1 == traces {
            out.push_str(&format!(
                r#"{{"resourceSpans":[{{"resource":{{"attributes":[{}]}},"scopeSpans":[{{"scope":{{"name":"bench"}},"spans":[{}]}}]}}]}}"#,
                kv("service.name", "gateway"),
                spans.join(",")
            ));
            out.push('\n');
            spans.clear();
        }
    }
    out.into_bytes()
}

fn through_views(reg: &flowtel_conventions::Registry, data: &[u8]) -> SideData {
    let mut sink = SideSink::new(reg);
    let mut reader = JsonLinesReader::new(data, "side.jsonl", 1 << 24);
    while let Some(req) = reader.next_request() {
        let req = req.expect("valid line");
        let at = InputPosition {
            input: 0,
            name: "side.jsonl",
            bytes: req.offset,
        };
        sink.json_request(at, &req).expect("valid request");
    }
    sink.finish(&[])
}

fn through_batches(reg: &flowtel_conventions::Registry, data: &[u8]) -> SideData {
    let mut sink = SideSink::new(reg);
    for batch in JsonLinesReader::new(data, "side.jsonl", 1 << 24) {
        let batch = batch.expect("valid line");
        let at = InputPosition {
            input: 0,
            name: "side.jsonl",
            bytes: batch.origin.byte_offset,
        };
        sink.batch(at, &batch);
    }
    sink.finish(&[])
}

fn bench(c: &mut Criterion) {
    let reg = flowtel_conventions::check_str("bench.yaml", CONVENTIONS)
        .registry
        .expect("bench conventions");
    let data = side(50_000);
    let views = through_views(&reg, &data);
    assert_eq!(views.spans_used, 200_000);
    assert_eq!(
        views,
        through_batches(&reg, &data),
        "both paths read the same side"
    );

    let mut group = c.benchmark_group("regress_read_side");
    group.throughput(Throughput::Elements(200_000));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.warm_up_time(Duration::from_secs(1));
    group.bench_function("span_views", |b| {
        b.iter(|| black_box(through_views(&reg, black_box(&data))))
    });
    group.bench_function("batches", |b| {
        b.iter(|| black_box(through_batches(&reg, black_box(&data))))
    });
    group.finish();

    let sample = |seed: u64, scale: f64| -> Vec<f64> {
        let mut next = durations(seed);
        (0..250_000)
            .map(|_| next(0.05 * scale) as f64 * 1e-9)
            .collect()
    };
    let (before, after) = (sample(1, 1.0), sample(2, 1.1));
    let sorted = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_unstable_by(f64::total_cmp);
        v
    };
    let (sb, sa) = (sorted(&before), sorted(&after));
    let mut group = c.benchmark_group("regress_hodges_lehmann_250k");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.warm_up_time(Duration::from_secs(1));
    group.bench_function("estimate_and_interval", |b| {
        b.iter(|| black_box(hodges_lehmann(black_box(&sb), black_box(&sa), 0.95)))
    });
    group.bench_function("sort_both_samples", |b| {
        b.iter(|| black_box((sorted(black_box(&before)), sorted(black_box(&after)))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
