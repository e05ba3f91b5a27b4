//! Loading and validating a large registry: 5,000 attributes, 2,000 metrics, 200 flows.
//!
//! `parse_only` is the floor (YAML to positioned nodes with `marked-yaml`, nothing else);
//! `plain_serde_norway` parses the same text to an untyped `serde_norway::Value` (no positions,
//! the usual way to read YAML in Rust); `check` is what `flowtel check` does: parse,
//! schema-check keys, decode, merge, validate.
//!
//! Times are the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so that on a shared,
//! loaded machine time spent preempted does not count.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::fmt::Write;
use std::time::Duration;

/// A registry of the size the benchmark target names, valid so every rule runs fully.
pub fn generated_registry() -> String {
    let mut s = String::from("schema: flowtel/v1\nname: bench\nversion: 1.0.0\nattributes:\n");
    for i in 0..5000 {
        match i % 4 {
            0 => writeln!(
                s,
                "  app.area{}.attr{i}: {{type: string, max_values: 100, brief: Attribute {i}.}}",
                i % 50
            ),
            1 => writeln!(
                s,
                "  app.area{}.attr{i}: {{type: int, brief: Attribute {i}.}}",
                i % 50
            ),
            2 => writeln!(
                s,
                "  app.area{}.attr{i}: {{type: enum, values: [a, b, c, d]}}",
                i % 50
            ),
            _ => writeln!(s, "  app.area{}.attr{i}: {{type: bool}}", i % 50),
        }
        .unwrap();
    }
    s.push_str("metrics:\n");
    for i in 0..2000 {
        let l1 = (i * 7) % 5000;
        let l2 = (i * 13 + 1) % 5000;
        writeln!(
            s,
            "  app.area{}.metric{i}:\n    instrument: histogram\n    unit: s\n    labels: [app.area{}.attr{l1}, app.area{}.attr{l2}]\n    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]\n    brief: Metric {i}.",
            i % 50,
            l1 % 50,
            l2 % 50
        )
        .unwrap();
    }
    s.push_str("flows:\n");
    for i in 0..200 {
        writeln!(
            s,
            "  flow{i}:\n    owner: team{}\n    entry: ['POST /flow{i}/{{id}}']\n    steps:",
            i % 20
        )
        .unwrap();
        for j in 0..5 {
            writeln!(s, "      step{j}.work: {{service: svc{}, budget: {{p50: 20ms, p95: 80ms, p99: 150ms}}}}", j % 3).unwrap();
        }
        writeln!(s, "    slo: {{availability: 99.9, latency: {{threshold: 500ms, target: 99}}, window: 30d}}").unwrap();
    }
    s
}

fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// CPU time of `iters` runs of `f`.
fn cpu<R>(iters: u64, mut f: impl FnMut() -> R) -> Duration {
    let start = thread_cpu();
    for _ in 0..iters {
        std::hint::black_box(f());
    }
    thread_cpu() - start
}

fn bench(c: &mut Criterion) {
    let text = generated_registry();
    let loaded = flowtel_conventions::check_str("bench.yaml", &text);
    assert!(
        loaded
            .findings
            .iter()
            .all(|f| f.severity < flowtel_conventions::Severity::Error),
        "{:?}",
        loaded.findings.first()
    );
    let mut g = c.benchmark_group("registry_5000_attributes_2000_metrics_200_flows");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(20);
    g.bench_function("parse_only_marked_yaml", |b| {
        b.iter_custom(|n| {
            cpu(n, || {
                marked_yaml::parse_yaml(0, &text).map(|n| n.span().start().is_some())
            })
        })
    });
    g.bench_function("plain_serde_norway", |b| {
        b.iter_custom(|n| {
            cpu(n, || {
                serde_norway::from_str::<serde_norway::Value>(&text).is_ok()
            })
        })
    });
    g.bench_function("check_load_and_validate", |b| {
        b.iter_custom(|n| {
            cpu(n, || {
                flowtel_conventions::check_str("bench.yaml", &text)
                    .findings
                    .len()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
