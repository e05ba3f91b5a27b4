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

#[test]
fn json_lines_mode_writes_the_records_to_logs_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let (telemetry, dispatch) = flowtel::init(conventions())
        .service("payments", "1.0.0")
        .json_lines(dir.path())
        .build()
        .expect("init");
    tracing::dispatcher::with_default(&dispatch, || {
        step_in_flow(|| {
            tracing::event!(name: "payment.declined", tracing::Level::WARN, payment.decline_reason = "card_expired", "declined");
        });
    });
    drop(telemetry);
    let text = std::fs::read_to_string(dir.path().join("logs.jsonl")).unwrap();
    assert!(text.contains("\"payment.declined\""), "{text}");
    assert!(text.contains("\"traceId\""), "{text}");
}

/// The flow and step on a record follow the span the event was written in, as spans are
/// entered and left, when a span names its flow after it was created, and when spans nest
/// deeper than the layer remembers.
#[test]
fn the_flow_on_a_record_follows_the_entered_span() {
    let (telemetry, dispatch) = flowtel::init(conventions())
        .service("payments", "1.0.0")
        .in_memory()
        .build()
        .expect("init");
    let event = |n: u32| tracing::warn!(name: "payment.retried", attempt = n, "retrying");
    tracing::dispatcher::with_default(&dispatch, || {
        let flow = tracing::info_span!(
            target: "flowtel::flow",
            "checkout",
            flowtel.kind = "flow",
            flow.name = Empty,
            outcome = Empty,
            error.type = Empty,
        );
        let _f = flow.enter();
        event(0);
        {
            step_in_flow(|| {
                event(1);
                event(2);
            });
        }
        event(3);
        flow.record("flow.name", "refund");
        event(4);
        let mut nested = Vec::new();
        for _ in 0..100 {
            let span = tracing::info_span!("nested");
            nested.push(span.clone().entered());
        }
        event(5);
        drop(nested);
        event(6);
    });
    tracing::dispatcher::with_default(&dispatch, || event(7));
    let logs = telemetry.finished_logs();
    let by_attempt = |n: i64| {
        logs.iter()
            .map(|l| &l.record)
            .find(|r| {
                r.attributes_iter()
                    .any(|(k, v)| k.as_str() == "attempt" && *v == AnyValue::Int(n))
            })
            .unwrap_or_else(|| panic!("attempt {n} in {logs:#?}"))
    };
    let flow_step = |n| {
        let r = by_attempt(n);
        (attr(r, "flow.name"), attr(r, "flow.step"))
    };
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        flow_step(0),
        (some("checkout"), None),
        "the flow span's name"
    );
    assert_eq!(flow_step(1), (some("checkout"), some("payment.authorize")));
    assert_eq!(flow_step(2), (some("checkout"), some("payment.authorize")));
    assert_eq!(flow_step(3), (some("checkout"), None), "the step was left");
    assert_eq!(
        flow_step(4),
        (some("refund"), None),
        "recorded after creation"
    );
    assert_eq!(flow_step(5), (some("refund"), None), "100 spans deep");
    assert_eq!(flow_step(6), (some("refund"), None));
    assert_eq!(flow_step(7), (None, None), "outside every span");
}

/// A service that had `tracing-subscriber`'s `fmt` output keeps it with `console(true)`: the
/// event is on stderr and exported as a log record; without it, stderr stays empty. The test
/// runs itself as a child process (`FLOWTEL_CONSOLE_CHILD`) to read that process's stderr.
#[test]
fn console_output_is_kept_beside_the_exported_record() {
    const CHILD: &str = "FLOWTEL_CONSOLE_CHILD";
    if let Ok(mode) = std::env::var(CHILD) {
        let (telemetry, dispatch) = flowtel::init(conventions())
            .service("payments", "1.0.0")
            .in_memory()
            .console(mode == "on")
            .build()
            .expect("init");
        tracing::dispatcher::with_default(&dispatch, || {
            step_in_flow(|| {
                tracing::event!(name: "payment.declined", tracing::Level::WARN, payment.decline_reason = "card_expired", "payment declined");
            });
        });
        assert_eq!(telemetry.finished_logs().len(), 1, "exported either way");
        return;
    }
    let run = |mode: &str| {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "console_output_is_kept_beside_the_exported_record",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, mode)
            .output()
            .expect("the test binary runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{mode}: {stdout}");
        assert!(stdout.contains("1 passed"), "{mode}: {stdout}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let on = run("on");
    assert!(on.contains("WARN"), "{on}");
    assert!(on.contains("payment declined"), "{on}");
    assert!(
        on.contains("payment.decline_reason=\"card_expired\""),
        "{on}"
    );
    let off = run("off");
    assert!(!off.contains("payment declined"), "{off}");
}
