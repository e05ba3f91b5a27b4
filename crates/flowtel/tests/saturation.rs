//! Saturation handles under misuse, end to end in memory: an undeclared name, a metric that is
//! no saturation signal, `set` on an up-down counter, an undeclared label and a label value
//! outside the declared ones record nothing wrong, never panic, and are counted in
//! `flowtel.violations`; correct use next to them is recorded with the declared limit.

mod common;

use common::conventions;
use flowtel::Rule;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};

/// The points of the i64 up-down counter `name`: sorted attributes and value.
fn levels(rm: &ResourceMetrics, name: &str) -> Vec<(Vec<(String, String)>, i64)> {
    let mut out = Vec::new();
    for m in rm.scope_metrics().flat_map(|sm| sm.metrics()) {
        if m.name() != name {
            continue;
        }
        if let AggregatedMetrics::I64(MetricData::Sum(s)) = m.data() {
            for p in s.data_points() {
                let mut attrs: Vec<(String, String)> = p
                    .attributes()
                    .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                    .collect();
                attrs.sort();
                out.push((attrs, p.value()));
            }
        }
    }
    out
}

#[test]
fn misuse_records_nothing_and_is_counted() {
    let (telemetry, _dispatch) = flowtel::init(conventions())
        .service("orders", "1.0.0")
        .in_memory()
        .build()
        .expect("init");
    let v = telemetry.violations();
    let auth = [KeyValue::new("queue.name", "authorizations")];

    // A name the conventions do not declare.
    let unknown = telemetry.saturation("orders.backlog");
    unknown.inc(&auth);
    assert_eq!(v.get(Rule::UnknownMetric), 1);
    assert_eq!(unknown.limit(), None);

    // A counter is not a saturation signal.
    let counter = telemetry.saturation("checkout.orders");
    counter.inc(&[]);
    assert_eq!(v.get(Rule::InstrumentMismatch), 1);

    // `set` on an up-down counter.
    let queue = telemetry.saturation("orders.queue.depth");
    assert_eq!(queue.limit(), Some(64.0));
    queue.set(3.0, &auth);
    assert_eq!(v.get(Rule::InstrumentMismatch), 2);

    // Correct use, then a label the signal does not declare and a value outside the enum.
    queue.inc(&auth);
    queue.inc(&auth);
    queue.dec(&auth);
    queue.inc(&[
        KeyValue::new("queue.name", "authorizations"),
        KeyValue::new("user.id", "u-17"),
    ]);
    let before = v.get(Rule::UndeclaredLabel) + v.get(Rule::PiiLabel);
    assert!(before >= 1, "the undeclared label is counted");
    for i in 0..50 {
        queue.inc(&[KeyValue::new("queue.name", format!("queue-{i}"))]);
    }
    assert!(
        v.get(Rule::ValueOverflow) + v.get(Rule::CardinalityOverflow) >= 1,
        "values outside the declared ones are counted: {:?}",
        v.snapshot()
    );

    telemetry.flush();
    let rm = telemetry.finished_metrics().expect("metrics");
    let level = levels(&rm, "orders.queue.depth");
    let auth_series = vec![("queue.name".to_string(), "authorizations".to_string())];
    // 2 - 1 from correct use, plus the one whose undeclared label was dropped.
    assert!(
        level
            .iter()
            .any(|(a, v)| *a == auth_series && (*v == 1 || *v == 2)),
        "{level:?}"
    );
    assert!(
        level.iter().all(|(a, _)| a
            .iter()
            .all(|(k, v)| k != "user.id" && !v.starts_with("queue-"))),
        "no undeclared label or value reaches export: {level:?}"
    );
    assert!(levels(&rm, "orders.backlog").is_empty());
}
