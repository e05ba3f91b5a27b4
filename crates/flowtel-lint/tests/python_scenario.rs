//! The linter against what the OpenTelemetry Python SDK really exports: the `lint-violations`
//! scenario of `tests/python/produce.py`, with known violations, linted against the bundled
//! `conventions/` (plus `tests/fixtures/lint-test.yaml`, which adds a deprecated attribute and a
//! metric with small limits). Exactly the expected findings, located, and no others; in JSON
//! and SARIF.
//!
//! The interpreter is `$FLOWTEL_PYTHON`, by default `<workspace>/.venv/bin/python`;
//! `FLOWTEL_SKIP_PYTHON=1` skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use flowtel_conventions::{Finding, Registry, report};
use flowtel_lint::telemetry::lint_inputs;
use flowtel_otlp::ReadOptions;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn registry() -> Registry {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint-test.yaml");
    let loaded = flowtel_conventions::check(&path);
    let errors: Vec<_> = loaded
        .findings
        .iter()
        .filter(|f| f.severity >= flowtel_conventions::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    loaded.registry.expect("registry")
}

fn produce(scenario: &str, format: &str) -> Option<tempfile::TempDir> {
    if std::env::var("FLOWTEL_SKIP_PYTHON").as_deref() == Ok("1") {
        println!("skipped: FLOWTEL_SKIP_PYTHON=1");
        return None;
    }
    let python = std::env::var_os("FLOWTEL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "no Python interpreter at {}: create the virtualenv with \
         `python3 -m venv .venv && .venv/bin/pip install -r .ci/requirements-python.txt` \
         (or set FLOWTEL_PYTHON, or FLOWTEL_SKIP_PYTHON=1 to skip)",
        python.display()
    );
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(&python)
        .arg(workspace().join("tests/python/produce.py"))
        .arg(out.path())
        .args(["--scenario", scenario, "--format", format])
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(status.success(), "produce.py failed ({status})");
    Some(out)
}

fn lint(reg: &Registry, dir: &Path, ext: &str) -> Vec<Finding> {
    let inputs: Vec<String> = ["traces", "metrics", "logs"]
        .iter()
        .map(|n| dir.join(format!("{n}.{ext}")).display().to_string())
        .collect();
    lint_inputs(reg, &inputs, &ReadOptions::default(), &mut |_| {})
}

/// (rule, file stem, line, pointer) of every finding.
fn located(findings: &[Finding]) -> Vec<(String, String, u32, String)> {
    findings
        .iter()
        .map(|f| {
            let l = f
                .location
                .as_ref()
                .expect("every telemetry finding is located");
            let stem = Path::new(&l.file)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (
                f.rule.id.to_string(),
                stem,
                l.line,
                l.pointer.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// The expected findings: rule, the file they are in, the batch line (JSON lines), the
/// pointer. Spans are exported as each ends, so the innermost come first.
const EXPECTED: &[(&str, &str, u32, &str)] = &[
    (
        "FT0105",
        "logs",
        1,
        "/resourceLogs/0/scopeLogs/0/logRecords/0/attributes/0",
    ),
    (
        "FT0101",
        "metrics",
        1,
        "/resourceMetrics/0/scopeMetrics/0/metrics/0",
    ),
    (
        "FT0102",
        "metrics",
        1,
        "/resourceMetrics/0/scopeMetrics/0/metrics/1/sum/dataPoints/2/attributes/3",
    ),
    (
        "FT0103",
        "metrics",
        1,
        "/resourceMetrics/0/scopeMetrics/0/metrics/3",
    ),
    (
        "FT0104",
        "metrics",
        1,
        "/resourceMetrics/0/scopeMetrics/0/metrics/2/unit",
    ),
    (
        "FT0105",
        "metrics",
        1,
        "/resourceMetrics/0/scopeMetrics/0/metrics/1/sum/dataPoints/2/attributes/3",
    ),
    (
        "FT0106",
        "metrics",
        1,
        "/resourceMetrics/0/scopeMetrics/0/metrics/1/sum/dataPoints/1/attributes/1",
    ),
    (
        "FT0107",
        "metrics",
        1,
        "/resourceMetrics/0/scopeMetrics/0/metrics/4/sum/dataPoints/3",
    ),
    (
        "FT0108",
        "metrics",
        1,
        "/resourceMetrics/0/scopeMetrics/0/metrics/4/sum/dataPoints/3/attributes/0",
    ),
    (
        "FT0111",
        "traces",
        1,
        "/resourceSpans/0/scopeSpans/0/spans/0/attributes/2",
    ),
    ("FT0113", "traces", 1, "/resourceSpans/0/resource"),
    (
        "FT0109",
        "traces",
        2,
        "/resourceSpans/0/scopeSpans/0/spans/0",
    ),
    (
        "FT0403",
        "traces",
        3,
        "/resourceSpans/0/scopeSpans/0/spans/0/attributes/0",
    ),
    (
        "FT0105",
        "traces",
        4,
        "/resourceSpans/0/scopeSpans/0/spans/0/attributes/2",
    ),
    (
        "FT0106",
        "traces",
        4,
        "/resourceSpans/0/scopeSpans/0/spans/0/attributes/3",
    ),
];

fn expected() -> Vec<(String, String, u32, String)> {
    EXPECTED
        .iter()
        .map(|(r, f, l, p)| (r.to_string(), f.to_string(), *l, p.to_string()))
        .collect()
}

fn subject<'a>(findings: &'a [Finding], rule: &str, key: &str) -> Vec<&'a str> {
    findings
        .iter()
        .filter(|f| f.rule.id == rule)
        .filter_map(|f| f.subject.get(key).map(String::as_str))
        .collect()
}

#[test]
fn json_lines_give_exactly_the_expected_findings() {
    let reg = registry();
    let Some(dir) = produce("lint-violations", "json") else {
        return;
    };
    let findings = lint(&reg, dir.path(), "jsonl");
    assert_eq!(located(&findings), expected(), "{findings:#?}");

    // The subjects name what is wrong.
    assert_eq!(
        subject(&findings, "FT0101", "metric"),
        ["checkout.order.count"]
    );
    assert_eq!(subject(&findings, "FT0102", "label"), ["user.id"]);
    assert_eq!(subject(&findings, "FT0104", "found"), ["ms"]);
    assert_eq!(subject(&findings, "FT0106", "value"), ["bitcoin", "gold"]);
    assert_eq!(subject(&findings, "FT0111", "step"), ["payment.charge"]);
    assert_eq!(
        subject(&findings, "FT0113", "attribute"),
        ["deployment.environment.name"]
    );
    assert_eq!(
        subject(&findings, "FT0403", "replacement"),
        ["http.request.method"]
    );
    assert_eq!(subject(&findings, "FT0107", "series"), ["5"]);
    assert_eq!(
        subject(&findings, "FT0108", "top_values"),
        ["`job-0` (1), `job-1` (1), `job-2` (1), `job-3` (1), `job-4` (1)"]
    );
    // One finding per problem: the resource lacks the attribute in all six batches.
    assert_eq!(subject(&findings, "FT0113", "occurrences"), ["6"]);

    // The JSON report carries rule, name, location with pointer and subject.
    let doc = report::json_value(&findings);
    assert_eq!(doc["summary"]["errors"], 13);
    assert_eq!(doc["summary"]["warnings"], 2);
    let first = &doc["findings"][0];
    assert_eq!(first["rule"], "FT0105");
    assert_eq!(first["name"], "pii-attribute");
    assert_eq!(first["location"]["line"], 1);
    assert_eq!(
        first["location"]["pointer"],
        "/resourceLogs/0/scopeLogs/0/logRecords/0/attributes/0"
    );

    // SARIF: one result per finding, with the pointer as a logical location.
    let sarif: serde_json::Value = serde_json::from_str(&report::sarif(&findings)).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), EXPECTED.len());
    for (r, (rule, _, line, pointer)) in results.iter().zip(EXPECTED) {
        assert_eq!(r["ruleId"], *rule);
        let loc = &r["locations"][0];
        assert_eq!(loc["physicalLocation"]["region"]["startLine"], *line);
        assert_eq!(loc["logicalLocations"][0]["fullyQualifiedName"], *pointer);
    }
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(rules.iter().any(|r| r["id"] == "FT0107"));
}

#[test]
fn protobuf_gives_the_same_problems() {
    let reg = registry();
    let Some(dir) = produce("lint-violations", "proto") else {
        return;
    };
    let findings = lint(&reg, dir.path(), "pb");
    // Protobuf has no lines: every finding is on line 1 of its file, with the same pointers.
    let got: Vec<_> = located(&findings)
        .into_iter()
        .map(|(r, f, _, p)| (r, f, p))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let want: Vec<_> = EXPECTED
        .iter()
        .map(|(r, f, _, p)| (r.to_string(), f.to_string(), p.to_string()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(got, want, "{findings:#?}");
}

#[test]
fn the_basic_scenario_only_lacks_declarations() {
    let reg = registry();
    let Some(dir) = produce("basic", "json") else {
        return;
    };
    let findings = lint(&reg, dir.path(), "jsonl");
    let rules: Vec<&str> = findings.iter().map(|f| f.rule.id).collect();
    // The event `order.shipped` is not declared either, and it is logged after the server
    // span ended while the scenario's other record is inside it.
    assert_eq!(
        rules,
        ["FT0170", "FT0174", "FT0101", "FT0101", "FT0101", "FT0101"],
        "{findings:#?}"
    );
    assert_eq!(subject(&findings, "FT0170", "event"), ["order.shipped"]);
    assert_eq!(
        subject(&findings, "FT0101", "metric"),
        [
            "orders.processed",
            "orders.in_flight",
            "queue.depth",
            "process.cpu.load"
        ]
    );
}

#[test]
fn coverage_shows_the_flows_the_scenario_never_ran() {
    let reg = registry();
    let Some(dir) = produce("lint-violations", "json") else {
        return;
    };
    let inputs: Vec<String> = ["traces", "metrics", "logs"]
        .iter()
        .map(|n| dir.path().join(format!("{n}.jsonl")).display().to_string())
        .collect();
    let (_, coverage) = flowtel_lint::telemetry::lint_inputs_with_coverage(
        &reg,
        &inputs,
        &ReadOptions::default(),
        &mut |_| {},
    );
    let flow = |name: &str| {
        coverage
            .flows
            .iter()
            .find(|f| f.flow == name)
            .unwrap_or_else(|| panic!("{name} in {coverage:#?}"))
    };
    // `login` is declared but the scenario never runs it.
    assert!(!flow("login").seen);
    assert_eq!(flow("login").coverage, 0.0);
    // `checkout` is seen, its undeclared step `payment.charge` does not count, and its
    // declared steps never appear.
    let checkout = flow("checkout");
    assert!(checkout.seen);
    assert!(checkout.steps.seen.is_empty(), "{checkout:#?}");
    assert!(
        checkout.coverage > 0.0 && checkout.coverage < 0.5,
        "{checkout:#?}"
    );
    assert!(flow("browse").seen);
    assert!(coverage.overall > 0.0 && coverage.overall < 0.5);
    assert!(
        coverage
            .metrics_never_received
            .contains(&"flow.step.duration".to_string())
    );
    assert!(
        !coverage
            .metrics_never_received
            .contains(&"flow.duration".to_string())
    );
    // A threshold turns the gaps into errors.
    let gaps = flowtel_lint::telemetry::coverage_findings(&coverage, 0.9);
    assert!(gaps.iter().any(|f| f.message.contains("flow `login`")));
    assert!(gaps.iter().all(|f| f.rule.id == "FT0150"));
    assert!(flowtel_lint::telemetry::coverage_findings(&coverage, 0.0).is_empty());
}
