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

#[test]
fn declared_labels_holding_personal_data_are_dropped_and_counted() {
    // `signup.source` is declared and a label: a free-text value that is an e-mail address, a
    // card number or a value of the file's own pattern is dropped from the metric all the same.
    let text = "schema: flowtel/v1\nname: signup-svc\nversion: 0.1.0\n\
pii:\n  value_patterns: {employee_id: '^E[0-9]{6}$'}\n\
attributes:\n  signup.source: {type: string, max_values: 20}\n  server.address: {type: string, brief: Server domain name or IP address.}\n\
metrics:\n  signup.created: {instrument: counter, unit: '{signup}', labels: [signup.source, server.address]}\n";
    let conventions = flowtel::__private::embedded("flowtel.yaml", &[("flowtel.yaml", text)]);
    let (telemetry, _dispatch) = flowtel::init(conventions)
        .service("signup", "0.1.0")
        .in_memory()
        .build()
        .expect("init");
    let created = telemetry.meter().u64_counter("signup.created");
    let kv = opentelemetry::KeyValue::new;
    for source in [
        "ada@example.com",
        "4111 1111 1111 1111",
        "E123456",
        "newsletter",
    ] {
        created.add(
            1,
            &[
                kv("signup.source", source),
                kv("server.address", "10.1.2.80"),
            ],
        );
    }
    let rm = telemetry.finished_metrics().expect("in-memory metrics");
    let mut created = points(&rm, "signup.created");
    created.sort_by(|a, b| a.value.total_cmp(&b.value));
    // The declared network address keeps its IP address; the three personal values fold into
    // the series without `signup.source`.
    assert_eq!(created.len(), 2, "{created:?}");
    assert_eq!(
        created[0].attrs,
        common::kv(&[
            ("server.address", "10.1.2.80"),
            ("signup.source", "newsletter")
        ])
    );
    assert_eq!(
        created[1].attrs,
        common::kv(&[("server.address", "10.1.2.80")])
    );
    assert_eq!(created[1].value, 3.0);
    let violations = points(&rm, "flowtel.violations");
    assert!(
        violations
            .iter()
            .any(|p| p.attrs == common::kv(&[("rule", "pii-label")]) && p.value == 3.0),
        "{violations:?}"
    );
}
