//! The bundled example end to end: the two shop services run, export OTLP JSON lines, and what
//! they exported follows the bundled conventions: the linter finds nothing, routes are
//! templates, personal data never reaches a metric, and the flow crosses the service boundary.

use std::collections::{BTreeSet, HashMap};

use flowtel_e2e::run;
use flowtel_otlp::{AnyValue, attribute};

fn text(v: Option<&AnyValue>) -> Option<String> {
    v.and_then(AnyValue::as_str).map(str::to_string)
}

#[test]
fn the_example_shop_exports_telemetry_that_lints_clean() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run_out = run("example-shop", &["--out", out]);
    assert!(
        run_out.status.success(),
        "example failed: {}",
        String::from_utf8_lossy(&run_out.stderr)
    );
    let traces = dir.path().join("traces.jsonl");
    let metrics = dir.path().join("metrics.jsonl");
    let logs = dir.path().join("logs.jsonl");
    assert!(traces.exists() && metrics.exists() && logs.exists());

    // The linter, as CI runs it, finds nothing.
    let lint = run(
        "flowtel",
        &[
            "lint",
            "telemetry",
            traces.to_str().unwrap(),
            metrics.to_str().unwrap(),
            logs.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let report: serde_json::Value = serde_json::from_slice(&lint.stdout).unwrap();
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        0,
        "{report:#}"
    );
    assert_eq!(lint.status.code(), Some(0));

    // Logs: every `payment.declined` is found from a checkout trace by its trace id.
    let mut checkout_traces = BTreeSet::new();
    for batch in flowtel_otlp::open(traces.to_str().unwrap()).unwrap() {
        let batch = batch.unwrap();
        for span in batch.spans() {
            if text(attribute(&span.item.attributes, "flow.name")).as_deref() == Some("checkout") {
                checkout_traces.insert(span.item.trace_id.to_string());
            }
        }
    }
    let mut declined = 0;
    for batch in flowtel_otlp::open(logs.to_str().unwrap()).unwrap() {
        let batch = batch.unwrap();
        for rec in batch.log_records() {
            if rec.item.event_name != "payment.declined" {
                continue;
            }
            declined += 1;
            let trace = rec.item.trace_id.expect("correlated").to_string();
            assert!(
                checkout_traces.contains(&trace),
                "{trace} is no checkout trace"
            );
            assert_eq!(
                text(attribute(&rec.item.attributes, "flow.name")).as_deref(),
                Some("checkout")
            );
        }
    }
    assert!(declined > 0, "no payment.declined exported");

    // Spans: both services, both flows, the flow carried from the gateway into payments.
    let mut flows_by_service: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut routes = BTreeSet::new();
    let mut hashed_users = 0;
    for batch in flowtel_otlp::open(traces.to_str().unwrap()).unwrap() {
        let batch = batch.unwrap();
        for span in batch.spans() {
            let service = text(attribute(&span.resource.attributes, "service.name"))
                .expect("service.name on every resource");
            if let Some(flow) = text(attribute(&span.item.attributes, "flow.name")) {
                flows_by_service.entry(service).or_default().insert(flow);
            }
            if let Some(route) = text(attribute(&span.item.attributes, "http.route")) {
                routes.insert(route);
            }
            if let Some(user) = text(attribute(&span.item.attributes, "user.id")) {
                // `user.id` is `pii` with `redact: hash`: a keyed hash, never the id itself.
                assert!(
                    user.starts_with("hash:") && !user.contains("user-"),
                    "user.id in clear on {}: {user}",
                    span.item.name
                );
                hashed_users += 1;
            }
        }
    }
    assert!(
        flows_by_service
            .get("gateway")
            .is_some_and(|f| f.contains("checkout") && f.contains("login")),
        "{flows_by_service:?}"
    );
    assert!(
        flows_by_service
            .get("payments")
            .is_some_and(|f| f.contains("checkout")),
        "the checkout flow did not reach payments: {flows_by_service:?}"
    );
    assert!(hashed_users > 0, "no span carries the hashed user id");
    assert!(!routes.is_empty());
    for route in &routes {
        assert!(
            !route.chars().any(|c| c.is_ascii_digit()),
            "raw path used as a route: {route}"
        );
    }

    // Metrics: declared names only, route label a template, never a user id.
    let mut names = BTreeSet::new();
    for batch in flowtel_otlp::open(metrics.to_str().unwrap()).unwrap() {
        let batch = batch.unwrap();
        for metric in batch.metrics() {
            names.insert(metric.item.name.clone());
            for point in &metric.item.points {
                assert!(
                    attribute(&point.attributes, "user.id").is_none(),
                    "user.id on {}",
                    metric.item.name
                );
                if let Some(route) = text(attribute(&point.attributes, "http.route")) {
                    assert!(routes.contains(&route) || route.contains('{'), "{route}");
                }
            }
        }
    }
    for expected in [
        "http.server.request.duration",
        "flow.step.duration",
        "flow.requests",
        "flow.duration",
    ] {
        assert!(
            names.contains(expected),
            "{expected} missing from {names:?}"
        );
    }
}

/// The acceptance's other half: the same shop, built to log each declined payment also from a
/// task detached from its request (`--uncorrelated-log`), is flagged: those records carry no
/// trace id while the service's others do, and `payment.declined` is declared for the checkout
/// flow, so the linter reports `FT0174` and fails.
#[test]
fn a_declined_payment_logged_outside_its_request_is_flagged_uncorrelated() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run_out = run(
        "example-shop",
        &[
            "--out",
            out,
            "--requests",
            "60",
            "--browse",
            "0",
            "--uncorrelated-log",
        ],
    );
    assert!(
        run_out.status.success(),
        "example failed: {}",
        String::from_utf8_lossy(&run_out.stderr)
    );
    let logs = dir.path().join("logs.jsonl");

    // The export holds both: correlated records and the detached ones without a trace id.
    let (mut correlated, mut uncorrelated) = (0, 0);
    for batch in flowtel_otlp::open(logs.to_str().unwrap()).unwrap() {
        for rec in batch.unwrap().log_records() {
            if rec.item.event_name == "payment.declined" {
                match rec.item.trace_id {
                    Some(_) => correlated += 1,
                    None => uncorrelated += 1,
                }
            }
        }
    }
    assert!(
        correlated > 0 && uncorrelated > 0,
        "{correlated} correlated, {uncorrelated} uncorrelated"
    );

    let lint = run(
        "flowtel",
        &[
            "lint",
            "telemetry",
            logs.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let report: serde_json::Value = serde_json::from_slice(&lint.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let uncorrelated_findings: Vec<&serde_json::Value> =
        findings.iter().filter(|f| f["rule"] == "FT0174").collect();
    assert!(
        uncorrelated_findings.iter().any(|f| {
            f["subject"]["service"] == "payments" && f["subject"]["event"] == "payment.declined"
        }),
        "{report:#}"
    );
    assert_eq!(lint.status.code(), Some(1), "{report:#}");
}
