//! FlowLayer and init, end to end in memory: flow and step spans become the registry's RED
//! metrics with exactly the declared labels, the flow reaches nested spans of other code, and
//! personal data never leaves unredacted.

mod common;

use common::{conventions, kv, points};
use flowtel::Rule;
use opentelemetry::{KeyValue, Value};
use tracing::field::Empty;

fn flow_span(name: &'static str) -> tracing::Span {
    // Exactly the fields the `#[flowtel::flow]` macro writes.
    tracing::info_span!(
        target: "flowtel::flow",
        "checkout",
        flowtel.kind = "flow",
        flow.name = name,
        otel.name = name,
        code.function = "checkout",
        code.namespace = module_path!(),
        outcome = Empty,
        error.type = Empty,
    )
}

fn step_span(step: &'static str) -> tracing::Span {
    // A step whose flow is not known at compile time: `flow.name` is filled by the runtime.
    tracing::info_span!(
        target: "flowtel::step",
        "payment.authorize",
        flowtel.kind = "step",
        flow.step = step,
        flow.name = Empty,
        otel.name = step,
        code.function = "authorize",
        code.namespace = module_path!(),
        outcome = Empty,
        error.type = Empty,
        user.id = Empty,
    )
}

#[test]
fn flow_and_step_spans_record_red_metrics_with_declared_labels() {
    let (telemetry, dispatch) = flowtel::init(conventions())
        .service("gateway", "1.2.3")
        .in_memory()
        .build()
        .expect("init");
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..3 {
            let flow = flow_span("checkout");
            let _f = flow.enter();
            {
                let step = step_span("payment.authorize");
                let _s = step.enter();
                // A span from other code, inside the flow, without flow.name.
                let lib = tracing::info_span!("db.query");
                let _l = lib.enter();
                if i == 2 {
                    step.record("outcome", "error");
                    step.record("error.type", "card_declined");
                } else {
                    step.record("outcome", "ok");
                }
            }
            flow.record("outcome", if i == 2 { "error" } else { "ok" });
            if i == 2 {
                flow.record("error.type", "card_declined");
            }
        }
    });
    let rm = telemetry.finished_metrics().expect("metrics");
    let requests = points(&rm, "flow.requests");
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(
        requests[0].attrs,
        kv(&[("flow.name", "checkout"), ("outcome", "error")])
    );
    assert_eq!(requests[0].value, 1.0);
    assert_eq!(
        requests[1].attrs,
        kv(&[("flow.name", "checkout"), ("outcome", "ok")])
    );
    assert_eq!(requests[1].value, 2.0);
    let errors = points(&rm, "flow.errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].attrs,
        kv(&[("error.type", "card_declined"), ("flow.name", "checkout")])
    );
    let steps = points(&rm, "flow.step.duration");
    assert_eq!(
        steps
            .iter()
            .map(|p| (p.attrs.clone(), p.value))
            .collect::<Vec<_>>(),
        vec![
            (
                kv(&[
                    ("flow.name", "checkout"),
                    ("flow.step", "payment.authorize"),
                    ("outcome", "error")
                ]),
                1.0
            ),
            (
                kv(&[
                    ("flow.name", "checkout"),
                    ("flow.step", "payment.authorize"),
                    ("outcome", "ok")
                ]),
                2.0
            ),
        ]
    );
    assert_eq!(points(&rm, "flow.step.errors").len(), 1);
    let durations = points(&rm, "flow.duration");
    assert_eq!(durations.iter().map(|p| p.value).sum::<f64>(), 3.0);

    // The resource names the service.
    let res = rm.resource();
    assert_eq!(
        res.get(&"service.name".into()),
        Some(Value::from("gateway"))
    );
    assert_eq!(
        res.get(&"service.version".into()),
        Some(Value::from("1.2.3"))
    );
    assert!(res.get(&"deployment.environment.name".into()).is_some());

    // Every span of the flow carries flow.name, the library span included.
    let spans = telemetry.finished_spans();
    assert_eq!(spans.len(), 9);
    for s in &spans {
        assert!(
            s.attributes
                .iter()
                .any(|kv| kv.key.as_str() == "flow.name" && kv.value == Value::from("checkout")),
            "span `{}` lacks flow.name: {:?}",
            s.name,
            s.attributes
        );
    }
}

#[test]
fn pii_is_hashed_on_spans_and_dropped_from_metrics() {
    let (telemetry, dispatch) = flowtel::init(conventions())
        .in_memory()
        .build()
        .expect("init");
    let meter = telemetry.meter().clone();
    tracing::dispatcher::with_default(&dispatch, || {
        let flow = flow_span("login");
        let _f = flow.enter();
        // Raw personal data recorded by code that did not use `redact(...)`.
        let step = step_span("credentials.verify");
        step.record("user.id", "alice@example.com");
        let _s = step.enter();
        step.record("outcome", "ok");
    });
    let orders = meter.u64_counter("checkout.orders");
    orders.add(
        1,
        &[
            KeyValue::new("payment.method", "card"),
            KeyValue::new("user.id", "alice"),
        ],
    );
    let spans = telemetry.finished_spans();
    let step = spans
        .iter()
        .find(|s| s.name == "credentials.verify")
        .expect("step span");
    let uid = step
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "user.id")
        .expect("user.id stays, hashed");
    assert_eq!(
        uid.value,
        Value::from(flowtel::hash_pii(&"alice@example.com"))
    );
    assert!(telemetry.violations().get(Rule::PiiRedacted) >= 1);

    let rm = telemetry.finished_metrics().expect("metrics");
    let p = points(&rm, "checkout.orders");
    assert_eq!(p[0].attrs, kv(&[("payment.method", "card")]));
    assert_eq!(telemetry.violations().get(Rule::PiiLabel), 1);
    // Violations are exported as flowtel.violations{rule}.
    let v = points(&rm, "flowtel.violations");
    assert!(
        v.iter()
            .any(|p| p.attrs == kv(&[("rule", "pii-label")]) && p.value == 1.0),
        "{v:?}"
    );
}

#[test]
fn unknown_metrics_and_wrong_instruments_record_nothing() {
    let (telemetry, _dispatch) = flowtel::init(conventions())
        .in_memory()
        .build()
        .expect("init");
    let m = telemetry.meter();
    m.u64_counter("orders.placed.total").add(1, &[]);
    m.f64_histogram("checkout.orders").record(1.0, &[]);
    assert_eq!(telemetry.violations().get(Rule::UnknownMetric), 1);
    assert_eq!(telemetry.violations().get(Rule::InstrumentMismatch), 1);
    let rm = telemetry.finished_metrics().expect("metrics");
    assert!(points(&rm, "orders.placed.total").is_empty());
    assert!(points(&rm, "checkout.orders").is_empty());
}

#[test]
fn labels_are_capped_by_enum_values_and_cardinality_limits() {
    let (telemetry, _dispatch) = flowtel::init(conventions())
        .in_memory()
        .build()
        .expect("init");
    let steps = telemetry.meter().f64_histogram("flow.step.duration");
    // flow.step has max_values 500 and flow.step.duration a cardinality limit of 500.
    for i in 0..2_000 {
        steps.record(
            0.01,
            &[
                KeyValue::new("flow.name", "checkout"),
                KeyValue::new("flow.step", format!("step{i}")),
                KeyValue::new("outcome", if i % 2 == 0 { "ok" } else { "maybe" }),
            ],
        );
    }
    let rm = telemetry.finished_metrics().expect("metrics");
    let p = points(&rm, "flow.step.duration");
    assert!(
        p.len() <= 501,
        "series within the limit plus overflow: {}",
        p.len()
    );
    assert!(
        p.iter()
            .any(|p| p.attrs.contains(&("outcome".into(), "_OTHER".into())))
    );
    let total: f64 = p.iter().map(|p| p.value).sum();
    assert_eq!(total, 2_000.0, "nothing is lost, only folded");
    assert!(telemetry.violations().get(Rule::ValueOverflow) > 0);
}

#[test]
fn the_global_propagator_carries_the_current_flow() {
    use opentelemetry::propagation::TextMapPropagator;
    let (telemetry, dispatch) = flowtel::init(conventions())
        .in_memory()
        .build()
        .expect("init");
    let mut headers = std::collections::HashMap::new();
    tracing::dispatcher::with_default(&dispatch, || {
        let flow = flow_span("checkout");
        let _f = flow.enter();
        let step = step_span("cart.load");
        let _s = step.enter();
        assert_eq!(
            flowtel::current_flow().map(|f| f.to_string()).as_deref(),
            Some("checkout")
        );
        telemetry
            .propagator()
            .inject_context(&opentelemetry::Context::new(), &mut headers);
    });
    assert_eq!(
        headers.get("baggage").map(String::as_str),
        Some("flow.name=checkout")
    );
}
