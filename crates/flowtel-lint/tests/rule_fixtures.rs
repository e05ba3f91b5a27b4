//! One failing and one passing OTLP JSON fixture per attribute and span-shape rule
//! (`tests/fixtures/telemetry/FTxxxx-name.{bad,good}.json`), linted against
//! `tests/fixtures/attributes-test.yaml`: the bad one gives that rule and nothing else, the good
//! one (the same telemetry, fixed) gives nothing; the human report of each bad one is pinned.

use std::path::{Path, PathBuf};

use flowtel_conventions::{Finding, Registry, report};
use flowtel_lint::telemetry::lint_inputs;
use flowtel_otlp::ReadOptions;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn registry() -> Registry {
    let loaded = flowtel_conventions::check(&dir().join("attributes-test.yaml"));
    loaded.registry.expect("registry")
}

/// The findings of one fixture, but `FT0170 unknown-event`: the log event fixtures name
/// events the conventions' `events` do not declare, which that rule reports on its own.
fn lint(reg: &Registry, file: &Path) -> Vec<Finding> {
    let findings = lint_inputs(
        reg,
        &[file.display().to_string()],
        &ReadOptions::default(),
        &mut |_| {},
    );
    findings
        .into_iter()
        .filter(|f| f.rule.id != "FT0170")
        .map(|mut f| {
            if let Some(l) = &mut f.location {
                l.file = file.file_name().unwrap().to_string_lossy().into_owned();
            }
            f
        })
        .collect()
}

#[test]
fn each_rule_fails_its_bad_fixture_and_passes_its_good_one() {
    let reg = registry();
    let mut stems: Vec<String> = std::fs::read_dir(dir().join("telemetry"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".bad.json").map(str::to_string)
        })
        .collect();
    stems.sort();
    assert_eq!(
        stems,
        [
            "FT0112-log-event-name",
            "FT0122-undeclared-attribute",
            "FT0123-attribute-type-mismatch",
            "FT0124-entry-span-kind",
            "FT0125-step-wrong-service",
            "FT0126-flow-error-without-status",
        ]
    );
    for stem in &stems {
        let rule = &stem[..6];
        assert!(
            flowtel_conventions::rules::find(rule).is_some(),
            "{rule} has an explain entry"
        );
        let bad = lint(&reg, &dir().join(format!("telemetry/{stem}.bad.json")));
        assert!(!bad.is_empty(), "{stem}: the bad fixture gives nothing");
        assert!(bad.iter().all(|f| f.rule.id == rule), "{stem}: {bad:#?}");
        let good = lint(&reg, &dir().join(format!("telemetry/{stem}.good.json")));
        assert!(good.is_empty(), "{stem}: {good:#?}");
        insta::assert_snapshot!(stem.as_str(), report::human(&bad, &report::NoSource, false));
    }
}
