//! Exported saturation signals: the limit gauge must come with the signal, carrying the
//! declared limit, and the signal must be a level (up-down counter or gauge).

use flowtel_lint::telemetry::TelemetryLinter;

const CONVENTIONS: &str = "schema: flowtel/v1\nname: demo\nversion: 1.0.0\nattributes:\n  queue.name: {type: enum, values: [authorizations]}\nmetrics:\n  orders.queue.depth:\n    instrument: updown_counter\n    unit: '{order}'\n    labels: [queue.name]\n    saturation: {limit: 64, per: [queue.name]}\n";

fn metric(name: &str, data: &str) -> String {
    format!(r#"{{"name":"{name}","unit":"{{order}}",{data}}}"#)
}

fn lint(metrics: &[String]) -> Vec<(String, String)> {
    let reg = flowtel_conventions::check_str("flowtel.yaml", CONVENTIONS)
        .registry
        .unwrap();
    let doc = format!(
        r#"{{"resourceMetrics":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"payments"}}}}]}},"scopeMetrics":[{{"metrics":[{}]}}]}}]}}"#,
        metrics.join(",")
    );
    let mut linter = TelemetryLinter::new(&reg);
    let batches =
        flowtel_otlp::from_reader("metrics.json", std::io::Cursor::new(doc.into_bytes())).unwrap();
    for batch in batches {
        linter.batch(&batch.unwrap());
    }
    linter
        .finish()
        .into_iter()
        .filter(|f| f.rule.id != "FT0113") // resource attributes are not this test's concern
        .map(|f| (f.rule.name.to_string(), f.message))
        .collect()
}

const QUEUE: &str = r#"{"key":"queue.name","value":{"stringValue":"authorizations"}}"#;

fn level(value: i64) -> String {
    metric(
        "orders.queue.depth",
        &format!(
            r#""sum":{{"isMonotonic":false,"aggregationTemporality":2,"dataPoints":[{{"attributes":[{QUEUE}],"asInt":"{value}"}}]}}"#
        ),
    )
}

fn limit(value: f64) -> String {
    metric(
        "orders.queue.depth.limit",
        &format!(r#""gauge":{{"dataPoints":[{{"attributes":[{QUEUE}],"asDouble":{value}}}]}}"#),
    )
}

#[test]
fn a_signal_with_its_declared_limit_is_clean() {
    assert_eq!(lint(&[level(12), limit(64.0)]), vec![]);
}

#[test]
fn a_signal_without_its_limit_is_reported() {
    let found = lint(&[level(12)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "saturation-limit-missing");
    assert!(found[0].1.contains("`orders.queue.depth.limit`"));
}

#[test]
fn a_limit_other_than_the_declared_one_is_reported() {
    let found = lint(&[level(12), limit(100.0)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "saturation-limit-mismatch");
    assert!(
        found[0].1.contains("declare `saturation.limit: 64`"),
        "{}",
        found[0].1
    );
}

#[test]
fn a_signal_exported_as_a_counter_is_the_wrong_instrument() {
    let counter = metric(
        "orders.queue.depth",
        &format!(
            r#""sum":{{"isMonotonic":true,"aggregationTemporality":2,"dataPoints":[{{"attributes":[{QUEUE}],"asInt":"3"}}]}}"#
        ),
    );
    let found = lint(&[counter, limit(64.0)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "instrument-mismatch");
}
