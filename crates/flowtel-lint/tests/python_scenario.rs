//! The linter against what the OpenTelemetry Python SDK really exports: the `lint-violations`
//! scenario of `tests/python/produce.py`, with known violations, linted against the bundled
//! `conventions/` (plus `tests/fixtures/lint-test.yaml`, which adds a deprecated attribute and a
//! metric with small limits). Exactly the expected findings, located, and no others; in JSON
//! and SARIF.
//!
//! The interpreter is `$FLOWTEL_PYTHON`, by default `<workspace>/.venv/bin/python`;
//! `FLOWTEL_SKIP_PYTHON=1` skips.

use std::path::Path;

use flowtel_conventions::{Finding, Registry, report};

mod common;
use common::{fixture_registry, lint, produce};

fn registry() -> Registry {
    fixture_registry("lint-test.yaml")
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
    let mut want = vec!["FT0122", "FT0170", "FT0174"];
    want.extend(["FT0101"; 4]);
    want.extend(["FT0122"; 7]);
    assert_eq!(rules, want, "{findings:#?}");
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
    // Every attribute the conventions do not declare, on spans, the span event and the log
    // record; none of what the SDK writes on the resource (`telemetry.sdk.*`,
    // `service.instance.id`).
    assert_eq!(
        subject(&findings, "FT0122", "attribute"),
        [
            "order.items",
            "db.system.name",
            "db.operation.name",
            "attempt",
            "flowtel.test.ratio",
            "flowtel.test.flag",
            "flowtel.test.tags",
            "flowtel.test.done"
        ]
    );
    assert_eq!(subject(&findings, "FT0122", "event"), ["retry"]);
    assert_eq!(subject(&findings, "FT0122", "log_event"), ["order.shipped"]);
}
