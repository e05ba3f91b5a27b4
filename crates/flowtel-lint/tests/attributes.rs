//! Attributes of spans, span events, links, log records and resources linted as strictly as
//! metric labels, and span shape, against what the OpenTelemetry Python SDK really exports:
//! the `attributes` scenario of `tests/python/produce.py` linted against
//! `tests/fixtures/attributes-test.yaml` (the bundled conventions, a deprecated `http.method`,
//! `process.*` allowed). Exactly the expected findings, located, from JSON lines and from
//! protobuf; the human report pinned; JSON and SARIF carry the same.
//!
//! The interpreter is `$FLOWTEL_PYTHON`, by default `<workspace>/.venv/bin/python`;
//! `FLOWTEL_SKIP_PYTHON=1` skips.

use std::path::Path;

use flowtel_conventions::{Finding, Registry, report};

mod common;
use common::{fixture_registry, lint};

fn registry() -> Registry {
    fixture_registry("attributes-test.yaml")
}

fn produce(format: &str) -> Option<tempfile::TempDir> {
    common::produce("attributes", format)
}

/// (rule, file stem, pointer, subject `attribute` or `span`) of every finding.
fn located(findings: &[Finding]) -> Vec<(String, String, String, String)> {
    findings
        .iter()
        .map(|f| {
            let l = f.location.as_ref().expect("every finding is located");
            let stem = Path::new(&l.file)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let what = f
                .subject
                .get("attribute")
                .or_else(|| f.subject.get("log_event"))
                .or_else(|| f.subject.get("span"))
                .cloned()
                .unwrap_or_default();
            (
                f.rule.id.to_string(),
                stem,
                l.pointer.clone().unwrap_or_default(),
                what,
            )
        })
        .collect()
}

const SPAN: &str = "/resourceSpans/0/scopeSpans/0/spans/0";
const LOG: &str = "/resourceLogs/0/scopeLogs/0/logRecords/0";

/// The expected findings, in report order (by file, then line). The SDK exports each span
/// as it ends, one batch (JSON line) each: the good span is line 1 (the resource's SDK and
/// service attributes come first, `host.arch` is its 9th), the entry line 2, the step line 3
/// (it ends before its flow), the flow line 4; in a line, in the order the checks run.
fn expected() -> Vec<(String, String, String, String)> {
    let e = |rule: &str, file: &str, pointer: String, what: &str| {
        (
            rule.to_string(),
            file.to_string(),
            pointer,
            what.to_string(),
        )
    };
    vec![
        e(
            "FT0112",
            "logs",
            format!("{LOG}/eventName"),
            "Order Shipped",
        ),
        e("FT0112", "logs", format!("{LOG}/attributes/0"), "weird Key"),
        e("FT0122", "logs", format!("{LOG}/attributes/0"), "weird Key"),
        // Not declared as a log event either (the log event rules' finding).
        e("FT0170", "logs", LOG.into(), ""),
        e(
            "FT0122",
            "traces",
            "/resourceSpans/0/resource/attributes/8".into(),
            "host.arch",
        ),
        e(
            "FT0112",
            "traces",
            format!("{SPAN}/attributes/1"),
            "HTTP_Method",
        ),
        e(
            "FT0122",
            "traces",
            format!("{SPAN}/attributes/0"),
            "totally.unknown",
        ),
        e(
            "FT0122",
            "traces",
            format!("{SPAN}/attributes/1"),
            "HTTP_Method",
        ),
        e(
            "FT0122",
            "traces",
            format!("{SPAN}/events/0/attributes/0"),
            "retry.reason",
        ),
        e(
            "FT0122",
            "traces",
            format!("{SPAN}/links/0/attributes/0"),
            "link.reason",
        ),
        e(
            "FT0123",
            "traces",
            format!("{SPAN}/attributes/2"),
            "http.response.status_code",
        ),
        e("FT0124", "traces", SPAN.into(), "POST /checkout"),
        e(
            "FT0125",
            "traces",
            format!("{SPAN}/attributes/2"),
            "checkout payment.authorize",
        ),
        e(
            "FT0123",
            "traces",
            format!("{SPAN}/attributes/4"),
            "http.response.status_code",
        ),
        e(
            "FT0123",
            "traces",
            format!("{SPAN}/attributes/5"),
            "cart.size",
        ),
        e("FT0126", "traces", SPAN.into(), "checkout"),
    ]
}

fn subject<'a>(findings: &'a [Finding], rule: &str, key: &str) -> Vec<&'a str> {
    findings
        .iter()
        .filter(|f| f.rule.id == rule)
        .filter_map(|f| f.subject.get(key).map(String::as_str))
        .collect()
}

fn message<'a>(findings: &'a [Finding], rule: &str, attribute: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| {
            f.rule.id == rule && f.subject.get("attribute").map(String::as_str) == Some(attribute)
        })
        .unwrap_or_else(|| panic!("no {rule} for `{attribute}`"))
}

/// Each location's file by its stem, so reports read the same on every machine.
fn portable(findings: Vec<Finding>) -> Vec<Finding> {
    findings
        .into_iter()
        .map(|mut f| {
            if let Some(l) = &mut f.location {
                let name = Path::new(&l.file)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                l.file = name;
            }
            f
        })
        .collect()
}

#[test]
fn json_lines_give_exactly_the_expected_findings() {
    let reg = registry();
    let Some(dir) = produce("json") else {
        return;
    };
    let findings = lint(&reg, dir.path(), "jsonl");
    assert_eq!(located(&findings), expected(), "{findings:#?}");

    // The four inputs of the issue each give the right finding.
    let unknown = message(&findings, "FT0122", "totally.unknown");
    assert_eq!(
        unknown.message,
        "span `POST /checkout` carries attribute `totally.unknown`, which the conventions do not declare"
    );
    assert_eq!(unknown.severity, flowtel_conventions::Severity::Warning);
    let misnamed = message(&findings, "FT0122", "HTTP_Method");
    assert_eq!(
        misnamed.subject.get("suggestion").map(String::as_str),
        Some("http.request.method")
    );
    assert!(
        misnamed
            .help
            .as_deref()
            .unwrap()
            .contains("`http.method`, deprecated"),
        "{misnamed:#?}"
    );
    let weird = message(&findings, "FT0122", "weird Key");
    assert_eq!(
        weird.subject.get("signal").map(String::as_str),
        Some("logs")
    );
    assert_eq!(
        weird.subject.get("log_event").map(String::as_str),
        Some("Order Shipped")
    );
    let types: Vec<(&str, &str, &str)> = findings
        .iter()
        .filter(|f| f.rule.id == "FT0123")
        .map(|f| {
            (
                f.subject["value"].as_str(),
                f.subject["found"].as_str(),
                f.subject["numeric_string"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("two hundred", "stringValue", "false"),
            ("502", "stringValue", "true"),
            ("2.5", "doubleValue", "false"),
        ]
    );
    assert!(
        findings.iter().any(|f| f.rule.id == "FT0123"
            && f.message.contains("numeric string `\"502\"`")
            && f.message.contains("declare `int`")),
        "{findings:#?}"
    );

    // Span shape.
    assert_eq!(subject(&findings, "FT0124", "found"), ["INTERNAL"]);
    assert_eq!(subject(&findings, "FT0124", "flow"), ["checkout"]);
    assert_eq!(subject(&findings, "FT0125", "expected"), ["payments"]);
    assert_eq!(subject(&findings, "FT0125", "found"), ["gateway"]);
    assert_eq!(subject(&findings, "FT0126", "status"), ["UNSET"]);

    // Where each undeclared attribute was: signal, span, event, link, resource.
    assert_eq!(
        subject(&findings, "FT0122", "signal"),
        ["logs", "resource", "traces", "traces", "traces", "traces"]
    );
    assert_eq!(subject(&findings, "FT0122", "event"), ["retry"]);
    assert_eq!(subject(&findings, "FT0122", "service"), ["gateway"]);

    // JSON and SARIF carry the same findings.
    let doc = report::json_value(&findings);
    assert_eq!(doc["summary"]["errors"], 7);
    assert_eq!(doc["summary"]["warnings"], 9);
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    let want: Vec<String> = expected().into_iter().map(|e| e.0).collect();
    assert_eq!(rules, want);
    let sarif: serde_json::Value = serde_json::from_str(&report::sarif(&findings)).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), want.len());
    for (r, (rule, _, pointer, _)) in results.iter().zip(expected()) {
        assert_eq!(r["ruleId"], rule.as_str());
        assert_eq!(
            r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            pointer.as_str()
        );
    }
    let catalogue = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    for id in ["FT0122", "FT0123", "FT0124", "FT0125", "FT0126"] {
        assert!(catalogue.iter().any(|r| r["id"] == id), "{id}");
    }

    // The human report as users see it.
    let findings = portable(findings);
    insta::assert_snapshot!(
        "attributes_human",
        report::human(&findings, &report::NoSource, false)
    );
}

#[test]
fn protobuf_gives_the_same_findings() {
    let reg = registry();
    let Some(dir) = produce("proto") else {
        return;
    };
    let findings = lint(&reg, dir.path(), "pb");
    // Protobuf has no lines (every finding is on line 1 of its file, so the order within a
    // file differs); the pointers are the same, in OTLP JSON's camelCase.
    let sorted = |mut v: Vec<_>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(located(&findings)),
        sorted(expected()),
        "{findings:#?}"
    );
}

#[test]
fn without_the_allow_list_the_sdk_resource_is_still_clean() {
    // Only `process.pid` is new: the SDK's own `telemetry.sdk.*` and `service.instance.id`
    // need no configuration.
    let mut reg = registry();
    reg.lint.allow_attributes.clear();
    let Some(dir) = produce("json") else {
        return;
    };
    let findings = lint(&reg, dir.path(), "jsonl");
    let on_resource: Vec<&str> = findings
        .iter()
        .filter(|f| f.rule.id == "FT0122" && f.subject["signal"] == "resource")
        .map(|f| f.subject["attribute"].as_str())
        .collect();
    assert_eq!(on_resource, ["process.pid", "host.arch"]);
}
