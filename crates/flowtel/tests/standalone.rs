//! A service's own conventions file without the platform layer: a flow and a custom counter,
//! but none of the RED metrics. `flowtel.violations` is still exported, so what the runtime
//! dropped is never invisible.

mod common;

use common::points;

const STANDALONE: &str = "schema: flowtel/v1\nname: signup-svc\nversion: 0.1.0\n\
attributes:\n  plan.kind: {type: enum, values: [free, pro]}\n\
metrics:\n  signup.created: {instrument: counter, unit: '{signup}', labels: [plan.kind]}\n\
flows:\n  signup:\n    owner: team-growth\n    steps:\n      form.validate: {service: signup}\n";

#[test]
fn violations_are_exported_without_a_declaration() {
    let conventions = flowtel::__private::embedded("flowtel.yaml", &[("flowtel.yaml", STANDALONE)]);
    assert!(!conventions.metrics.contains_key("flowtel.violations"));
    let (telemetry, _dispatch) = flowtel::init(conventions)
        .service("signup", "0.1.0")
        .in_memory()
        .build()
        .expect("init");
    let created = telemetry.meter().u64_counter("signup.created");
    created.add(
        1,
        &[
            opentelemetry::KeyValue::new("plan.kind", "pro"),
            opentelemetry::KeyValue::new("user_email", "ada@example.com"),
        ],
    );
    let rm = telemetry.finished_metrics().expect("in-memory metrics");
    let created = points(&rm, "signup.created");
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].attrs, common::kv(&[("plan.kind", "pro")]));
    let violations = points(&rm, "flowtel.violations");
    assert!(
        violations
            .iter()
            .any(|p| p.attrs == common::kv(&[("rule", "undeclared-label")]) && p.value >= 1.0),
        "{violations:?}"
    );
}
