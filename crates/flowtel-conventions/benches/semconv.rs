//! Resolving OpenTelemetry's semantic conventions v1.44.0 (`../shared/semconv/model`, 250
//! files, 2.3 MB).
//!
//! - `marked_yaml_parse_only`: the obvious alternative's floor: every file parsed by
//!   `marked-yaml` (the flowtel loader's parser), nothing decoded or resolved, one thread;
//! - `read_model`: flowtel's reader: parse (anchors included), decode both formats, resolve
//!   `ref`/`ref_group`/`extends`/refinements;
//! - `check`: what `flowtel check <model>` does: read the files, resolve, build the layers,
//!   validate every attribute and metric.
//!
//! Skipped, with a message, when the model folder is absent.

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flowtel_conventions::semconv;

fn model_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/semconv/model");
    dir.join("manifest.yaml").is_file().then_some(dir)
}

fn bench(c: &mut Criterion) {
    let Some(dir) = model_dir() else {
        eprintln!("SKIPPED: no semantic-conventions model at ../shared/semconv/model");
        return;
    };
    let paths = semconv::files_in(&dir).expect("model files");
    let texts: Vec<(PathBuf, String)> = semconv::read_texts(&paths)
        .into_iter()
        .filter_map(|(p, t)| t.ok().map(|t| (p, t)))
        .collect();
    let bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
    let refs: Vec<(PathBuf, &str)> = texts.iter().map(|(p, t)| (p.clone(), t.as_str())).collect();

    let mut g = c.benchmark_group("semconv");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(30);
    g.bench_function("marked_yaml_parse_only", |b| {
        b.iter(|| {
            refs.iter()
                .enumerate()
                .filter(|(i, (_, t))| marked_yaml::parse_yaml(*i, t).is_ok())
                .count()
        })
    });
    g.bench_function("read_model", |b| {
        b.iter(|| semconv::read_model(&refs).metrics.len())
    });
    g.bench_function("check", |b| {
        b.iter(|| flowtel_conventions::check(&dir).findings.len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
