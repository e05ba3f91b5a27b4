//! Metric record through flowtel's enforcement vs the raw `opentelemetry_sdk` call with the
//! same attributes: under the cardinality limit and over it, single- and multi-threaded.
//!
//! The `record/pii_shapes` group prices the personal-data check on label values: flowtel checks
//! values only where a label set is not already admitted, against the obvious alternative of
//! checking every value of every record; and a label dropped for its value against one dropped
//! for being undeclared.
//!
//! Run: `cargo bench -p flowtel --bench enforce`. Both sides record into a histogram of the
//! registry's `flow.step.duration` (3 labels, cardinality limit 500) in providers with a
//! reader, so every record is aggregated for real.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::{SdkMeterProvider, Stream};

const LIMIT: usize = 500;
const THREADS: usize = 2;

fn provider(limit: Option<usize>) -> SdkMeterProvider {
    let b = SdkMeterProvider::builder().with_reader(flowtel_testkit::otel::idle_reader());
    match limit {
        Some(l) => b
            .with_view(move |_: &opentelemetry_sdk::metrics::Instrument| {
                Stream::builder().with_cardinality_limit(l).build().ok()
            })
            .build(),
        None => b.build(),
    }
}

/// `n` distinct label sets of `flow.step.duration`, all within the attributes' value caps.
fn label_sets(n: usize) -> Vec<Vec<KeyValue>> {
    (0..n)
        .map(|i| {
            vec![
                KeyValue::new("flow.name", format!("flow{}", i % 10)),
                KeyValue::new("flow.step", format!("step{}", (i / 10) % 100)),
                KeyValue::new("outcome", if (i / 1000) % 2 == 0 { "ok" } else { "error" }),
            ]
        })
        .collect()
}

struct Sides {
    raw: opentelemetry::metrics::Histogram<f64>,
    flowtel: flowtel::meter::Histogram,
    _providers: (SdkMeterProvider, SdkMeterProvider),
}

fn sides(sdk_limit: Option<usize>) -> Sides {
    let raw_provider = provider(sdk_limit);
    let raw = raw_provider
        .meter("raw")
        .f64_histogram("flow.step.duration")
        .with_unit("s")
        .with_boundaries(vec![
            0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ])
        .build();
    let flowtel_provider = provider(None);
    let meter = flowtel::Meter::new(
        Arc::new(flowtel_testkit::bundled_conventions()),
        flowtel_provider.meter("flowtel"),
    );
    let flowtel = meter.f64_histogram("flow.step.duration");
    Sides {
        raw,
        flowtel,
        _providers: (raw_provider, flowtel_provider),
    }
}

fn run_threads(iters: u64, f: impl Fn(u64) + Sync) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..THREADS as u64 {
            let f = &f;
            s.spawn(move || {
                for i in 0..iters {
                    f(i * 7 + t);
                }
            });
        }
    });
    // Time per record of one thread while the others record concurrently.
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let sets = Arc::new(label_sets(2000));
    let under = &sets[..10];
    // Over the limit: label sets beyond the first 500, after the first 500 took the slots.
    let over = &sets[LIMIT..];

    for (case, threads) in [("single", false), ("multi", true)] {
        let s = sides(Some(LIMIT));
        let mut g = c.benchmark_group(format!("record/under_limit/{case}"));
        if threads {
            g.bench_function("raw_sdk", |b| {
                b.iter_custom(|n| run_threads(n, |i| s.raw.record(0.01, &under[i as usize % 10])))
            });
            g.bench_function("flowtel", |b| {
                b.iter_custom(|n| {
                    run_threads(n, |i| s.flowtel.record(0.01, &under[i as usize % 10]))
                })
            });
        } else {
            let mut i = 0usize;
            g.bench_function("raw_sdk", |b| {
                b.iter(|| {
                    i = i.wrapping_add(1);
                    s.raw.record(0.01, &under[i % 10])
                })
            });
            g.bench_function("flowtel", |b| {
                b.iter(|| {
                    i = i.wrapping_add(1);
                    s.flowtel.record(0.01, &under[i % 10])
                })
            });
        }
        g.finish();

        let s = sides(Some(LIMIT));
        for set in &sets[..LIMIT] {
            s.raw.record(0.01, set);
            s.flowtel.record(0.01, set);
        }
        let mut g = c.benchmark_group(format!("record/over_limit/{case}"));
        let n = over.len();
        if threads {
            g.bench_function("raw_sdk", |b| {
                b.iter_custom(|k| run_threads(k, |i| s.raw.record(0.01, &over[i as usize % n])))
            });
            g.bench_function("flowtel", |b| {
                b.iter_custom(|k| run_threads(k, |i| s.flowtel.record(0.01, &over[i as usize % n])))
            });
        } else {
            let mut i = 0usize;
            g.bench_function("raw_sdk", |b| {
                b.iter(|| {
                    i = i.wrapping_add(1);
                    s.raw.record(0.01, &over[i % n])
                })
            });
            g.bench_function("flowtel", |b| {
                b.iter(|| {
                    i = i.wrapping_add(1);
                    s.flowtel.record(0.01, &over[i % n])
                })
            });
        }
        g.finish();
    }
}

fn bench_pii(c: &mut Criterion) {
    let detector = flowtel_conventions::pii::Detector::default();
    let mut g = c.benchmark_group("pii_shapes/value_shape");
    for (name, v) in [
        ("clean_word", "payment.authorize"),
        ("clean_route", "/orders/{id}"),
        ("email", "ada@example.com"),
        ("card", "4111 1111 1111 1111"),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| detector.value_shape(std::hint::black_box(v)))
        });
    }
    g.finish();

    let sets = label_sets(10);
    let s = sides(Some(LIMIT));
    let mut g = c.benchmark_group("record/pii_shapes/single");
    let mut i = 0usize;
    g.bench_function("flowtel", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            s.flowtel.record(0.01, &sets[i % 10])
        })
    });
    g.bench_function("check_every_record", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            let set = &sets[i % 10];
            let personal = set.iter().any(|kv| match &kv.value {
                opentelemetry::Value::String(v) => detector.value_shape(v.as_str()).is_some(),
                _ => false,
            });
            if !personal {
                s.flowtel.record(0.01, set)
            }
        })
    });
    let personal: Vec<Vec<KeyValue>> = (0..10)
        .map(|k| {
            let mut set = sets[k].clone();
            set[1] = KeyValue::new("flow.step", format!("user{k}@example.com"));
            set
        })
        .collect();
    g.bench_function("personal_value_dropped", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            s.flowtel.record(0.01, &personal[i % 10])
        })
    });
    let undeclared: Vec<Vec<KeyValue>> = (0..10)
        .map(|k| {
            let mut set = sets[k].clone();
            set.push(KeyValue::new("user_email", format!("user{k}@example.com")));
            set
        })
        .collect();
    g.bench_function("undeclared_label_dropped", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            s.flowtel.record(0.01, &undeclared[i % 10])
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = bench, bench_pii
}
criterion_main!(benches);
