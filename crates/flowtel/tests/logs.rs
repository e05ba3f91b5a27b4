//! `tracing` events as OpenTelemetry log records, end to end in memory: a declared event
//! written in a step carries the step span's trace and span ids and the flow's `flow.name` and
//! `flow.step`; personal data is hashed as on spans; a flood of one event is capped per
//! second and counted, never queued.

mod common;

use common::conventions;
use flowtel::Rule;
use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry_sdk::logs::SdkLogRecord;
use tracing::field::Empty;

fn attr(r: &SdkLogRecord, key: &str) -> Option<String> {
    r.attributes_iter()
        .find(|(k, _)| k.as_str() == key)
        .map(|(_, v)| match v {
            AnyValue::String(s) => s.as_str().to_owned(),
            other => format!("{other:?}"),
        })
}

fn step_in_flow<R>(f: impl FnOnce() -> R) -> (R, opentelemetry::trace::SpanContext) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let flow = tracing::info_span!(
        target: "flowtel::flow",
        "checkout",
        flowtel.kind = "flow",
        flow.name = "checkout",
        outcome = Empty,
        error.type = Empty,
    );
    let _f = flow.enter();
    let step = tracing::info_span!(
        target: "flowtel::step",
        "payment.authorize",
        flowtel.kind = "step",
        flow.step = "payment.authorize",
        flow.name = Empty,
        outcome = Empty,
        error.type = Empty,
    );
    let _s = step.enter();
    let cx = step.context();
    use opentelemetry::trace::TraceContextExt as _;
    let sc = cx.span().span_context().clone();
    (f(), sc)
}

#[test]
fn an_event_in_a_step_carries_the_trace_and_the_flow() {
    let (telemetry, dispatch) = flowtel::init(conventions())
        .service("payments", "1.0.0")
        .in_memory()
        .build()
        .expect("init");
    let ((), sc) = tracing::dispatcher::with_default(&dispatch, || {
        let r = step_in_flow(|| {
            tracing::event!(
                name: "payment.declined",
                tracing::Level::WARN,
                payment.decline_reason = "card_expired",
                order.id = "o-42",
                "payment declined"
            );
        });
        // Outside any span: no trace context, no flow.
        tracing::error!("card network unreachable");
        r
    });
    let logs = telemetry.finished_logs();
    assert_eq!(logs.len(), 2, "{logs:#?}");
    let declined = &logs[0].record;
    assert_eq!(declined.event_name(), Some("payment.declined"));
    assert_eq!(declined.severity_number(), Some(Severity::Warn));
    let tc = declined.trace_context().expect("correlated");
    assert_eq!(tc.trace_id, sc.trace_id());
    assert_eq!(tc.span_id, sc.span_id());
    assert_eq!(attr(declined, "flow.name").as_deref(), Some("checkout"));
    assert_eq!(
        attr(declined, "flow.step").as_deref(),
        Some("payment.authorize")
    );
    assert_eq!(
        attr(declined, "payment.decline_reason").as_deref(),
        Some("card_expired")
    );
    // The span it belongs to was exported with the same ids.
    let spans = telemetry.finished_spans();
    assert!(
        spans
            .iter()
            .any(|s| s.span_context.span_id() == tc.span_id && s.name == "payment.authorize"),
        "{spans:#?}"
    );
    let outside = &logs[1].record;
    assert!(outside.trace_context().is_none());
    assert_eq!(attr(outside, "flow.name"), None);
}

#[test]
fn personal_data_on_an_event_is_hashed_as_on_spans() {
    let (telemetry, dispatch) = flowtel::init(conventions())
        .service("payments", "1.0.0")
        .in_memory()
        .build()
        .expect("init");
    tracing::dispatcher::with_default(&dispatch, || {
        step_in_flow(|| {
            tracing::event!(name: "payment.declined", tracing::Level::WARN, user.id = "alice", payment.decline_reason = "card_expired", "declined");
        });
    });
    let logs = telemetry.finished_logs();
    let r = &logs[0].record;
    let user = attr(r, "user.id").expect("hashed, not dropped (redact: hash)");
    assert!(flowtel::redact::is_hashed(&user), "{user}");
    assert_ne!(user, "alice");
    assert_eq!(attr(r, "flow.name").as_deref(), Some("checkout"));
    assert!(r.trace_context().is_some());
    // Once on the log record, once on the span event `tracing-opentelemetry` also records.
    assert_eq!(telemetry.violations().get(Rule::PiiRedacted), 2);
    let spans = telemetry.finished_spans();
    let events: Vec<_> = spans.iter().flat_map(|s| s.events.iter()).collect();
    assert!(
        events
            .iter()
            .flat_map(|e| e.attributes.iter())
            .filter(|kv| kv.key.as_str() == "user.id")
            .all(|kv| flowtel::redact::is_hashed(kv.value.as_str().as_ref())),
        "{events:#?}"
    );
}

#[test]
fn a_flood_of_one_event_is_capped_and_counted() {
    let (telemetry, dispatch) = flowtel::init(conventions())
        .service("payments", "1.0.0")
        .in_memory()
        .build()
        .expect("init");
    tracing::dispatcher::with_default(&dispatch, || {
        for attempt in 0..1_000 {
            tracing::warn!(name: "payment.retried", attempt, "retrying");
        }
        tracing::info!(name: "payment.captured", "captured");
    });
    let logs = telemetry.finished_logs();
    let retried = logs
        .iter()
        .filter(|l| l.record.event_name() == Some("payment.retried"))
        .count() as u64;
    // 100 per second by default; the loop may straddle one second boundary.
    assert!((100..=200).contains(&retried), "{retried}");
    assert_eq!(
        telemetry.violations().get(Rule::EventRateLimited),
        1_000 - retried
    );
    assert!(
        logs.iter()
            .any(|l| l.record.event_name() == Some("payment.captured")),
        "another event keeps its own budget"
    );
}
