//! Map + critical path over generated traces of 100k and 1M spans (10 services, depth 6,
//! retries and asynchronous branches), against the floor of any per-span aggregation: one
//! pass adding each span's duration into a hash map by (service, name). The 1M / 100k time
//! ratio is the linearity check (10x spans within 12x time). Bytes held per span are printed.
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

fn traces(spans: u32) -> TraceSet {
    let reg = registry();
    let shape = Shape::default();
    let mut b = TraceSetBuilder::new(&reg, AssemblyOptions::default());
    generate(spans / shape.spans_per_trace, shape, 7, |svc, s| {
        b.add_span(svc, &s)
    });
    b.finish()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("analyze");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(10));
    for n in [100_000u32, 1_000_000] {
        let set = traces(n);
        eprintln!(
            "{} spans in {} traces: {:.1} bytes held per span",
            set.spans.len(),
            set.traces.len(),
            set.bytes_per_span()
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
