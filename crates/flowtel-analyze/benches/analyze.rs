//! Map + critical path over generated traces of 100k and 1M spans (10 services, depth 6,
//! retries and asynchronous branches), against the floor of any per-span aggregation: one
//! pass adding each span's duration into a hash map by (service, name). The 1M / 100k time
//! ratio is the linearity check (10x spans within 12x time). Bytes held per span are printed,
//! and the peak memory of assembly per span: the growth of the process's peak resident set
//! (`VmHWM`, reset through `/proc/self/clear_refs` before each assembly) over the spans held.
//! See BENCHMARKS.md.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flowtel_analyze::synth::{Shape, generate};
use flowtel_analyze::trace::{AssemblyOptions, TraceSetBuilder};
use flowtel_analyze::{TraceSet, critical, flows, map};

fn registry() -> flowtel_conventions::Registry {
    let loaded = flowtel_conventions::check_str(
        "bench.yaml",
        "schema: flowtel/v1\nname: bench\nversion: 1.0.0\nattributes:\n  flow.name: {type: string}\n",
    );
    loaded.registry.expect("bench conventions")
}

/// A field of `/proc/self/status` in kB (Linux only; `None` elsewhere).
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Assembles generated traces of about `spans` spans, and the peak bytes per span held that
/// assembly took (resident set growth; `None` where Linux's peak reset is missing).
fn traces(spans: u32) -> (TraceSet, Option<f64>) {
    let reg = registry();
    let shape = Shape::default();
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = status_kb("VmRSS:");
    let mut b = TraceSetBuilder::new(&reg, AssemblyOptions::default());
    generate(spans / shape.spans_per_trace, shape, 7, |svc, s| {
        b.add_span(svc, &s)
    });
    let set = b.finish();
    let peak = status_kb("VmHWM:");
    let per_span = match (reset, before, peak) {
        (true, Some(b), Some(p)) => {
            Some(p.saturating_sub(b) as f64 * 1024.0 / set.spans.len().max(1) as f64)
        }
        _ => None,
    };
    (set, per_span)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("analyze");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(10));
    for n in [100_000u32, 1_000_000] {
        let (set, peak) = traces(n);
        eprintln!(
            "{} spans in {} traces: {:.1} bytes held per span; peak resident growth during assembly {} per span",
            set.spans.len(),
            set.traces.len(),
            set.bytes_per_span(),
            peak.map_or_else(|| String::from("unknown"), |b| format!("{b:.1} bytes")),
        );
        group.throughput(Throughput::Elements(set.spans.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("map_and_critical_path", n),
            &set,
            |b, set| {
                b.iter(|| {
                    let m = map::ServiceMap::build(set, None);
                    let paths = critical::paths(set);
                    let agg = flows::aggregate(set, &paths);
                    black_box((m.edges.len(), paths.len(), agg.len()))
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("floor_hash_per_span", n),
            &set,
            |b, set| {
                b.iter(|| {
                    let mut by: HashMap<(u32, u32), u64> = HashMap::new();
                    for s in &set.spans {
                        *by.entry((s.service.0, s.name.0)).or_default() += s.duration();
                    }
                    black_box(by.len())
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
