//! Linting the 90 public rule files of `../shared/alert-rules` against the bundled conventions
//! (every rule, metric names and did-you-mean included), against only parsing the same files'
//! YAML and PromQL. See BENCHMARKS.md. Skipped when the folder is absent
//! (`FLOWTEL_SHARED` names another place).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use flowtel_lint::alerts::{AlertOptions, Input, lint_inputs, read};

fn inputs() -> Option<Vec<Input>> {
    let shared = std::env::var_os("FLOWTEL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = shared.join("alert-rules");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return None;
    }
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files.sort();
    Some(
        files
            .into_iter()
            .map(|p| Input {
                file: p.display().to_string(),
                text: std::fs::read_to_string(&p).unwrap(),
            })
            .collect(),
    )
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
}

fn bench(c: &mut Criterion) {
    let Some(inputs) = inputs() else { return };
    let conventions = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
    let reg = flowtel_conventions::check(&conventions)
        .registry
        .expect("bundled conventions");
    let opts = AlertOptions {
        check_metrics: true,
        ..AlertOptions::default()
    };
    let exprs: Vec<String> = inputs
        .iter()
        .flat_map(|i| read::read_rule_file(&i.file, &i.text).0.groups)
        .flat_map(|g| g.rules)
        .map(|r| r.expr.value)
        .collect();
    let mut g = c.benchmark_group("alert_rules_90_files");
    g.sample_size(20);
    g.bench_function("flowtel_lint_alerts", |b| {
        b.iter(|| {
            let report = lint_inputs(Some(&reg), black_box(&inputs), &opts);
            assert_eq!(report.quality.alerts, 695);
            report
        })
    });
    g.bench_function("read_yaml_only", |b| {
        b.iter(|| {
            for i in &inputs {
                black_box(read::read_rule_file(&i.file, &i.text));
            }
        })
    });
    g.bench_function("promql_parser_parse_only", |b| {
        b.iter(|| {
            for e in &exprs {
                let _ = black_box(promql_parser::parser::parse(e));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
