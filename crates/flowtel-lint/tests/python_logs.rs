//! Log records from an independent producer: Python's `logging` through the OpenTelemetry
//! Python SDK's `LoggingHandler` (`tests/python/produce.py --scenario logs`), linted against
//! the bundled `conventions/` (event `payment.declined`: `warn`, flow `checkout`, requires
//! `payment.decline_reason`). The correct event is found from its trace by trace id; the
//! misspelt, too quiet, incomplete and uncorrelated ones are reported, each at its record.
//!
//! The interpreter is `$FLOWTEL_PYTHON`, by default `<workspace>/.venv/bin/python`;
//! `FLOWTEL_SKIP_PYTHON=1` skips.

use std::path::Path;

use flowtel_conventions::{Finding, Registry};
use flowtel_lint::telemetry::lint_inputs;
use flowtel_otlp::{AnyValue, ReadOptions};

mod common;
use common::{produce, workspace};

fn registry() -> Registry {
    let loaded = flowtel_conventions::check(&workspace().join("conventions"));
    loaded.registry.expect("the bundled conventions load")
}

/// (rule, line of the JSON-lines batch, pointer) of the log findings (`FT017x`).
fn log_findings(findings: &[Finding]) -> Vec<(&str, u32, String)> {
    findings
        .iter()
        .filter(|f| f.rule.id.starts_with("FT017"))
        .map(|f| {
            let l = f.location.as_ref().expect("log findings are located");
            assert!(l.file.ends_with("logs.jsonl"), "{}", l.file);
            (f.rule.id, l.line, l.pointer.clone().unwrap_or_default())
        })
        .collect()
}

fn read(path: &Path) -> Vec<flowtel_otlp::Batch> {
    flowtel_otlp::from_reader(
        &path.display().to_string(),
        std::fs::File::open(path).unwrap(),
    )
    .unwrap()
    .map(|b| b.unwrap())
    .collect()
}

#[test]
fn python_logging_records_are_linted_as_events_with_their_correlation() {
    let Some(dir) = produce("logs", "json") else {
        return;
    };
    let reg = registry();
    let logs = dir.path().join("logs.jsonl");
    let inputs = [
        dir.path().join("traces.jsonl").display().to_string(),
        logs.display().to_string(),
    ];
    let findings = lint_inputs(&reg, &inputs, &ReadOptions::default(), &mut |_| {});
    let record = "/resourceLogs/0/scopeLogs/0/logRecords/0".to_string();
    // The SimpleLogRecordProcessor writes one record per line, in the order logged.
    assert_eq!(
        log_findings(&findings),
        [
            ("FT0173", 2, record.clone()),
            ("FT0171", 3, record.clone()),
            ("FT0170", 4, record.clone()),
            ("FT0175", 5, format!("{record}/body")),
            ("FT0174", 6, record.clone()),
            ("FT0174", 7, record.clone()),
        ],
        "{findings:#?}"
    );
    let by_rule = |id: &'static str| findings.iter().filter(move |f| f.rule.id == id);
    let unknown = by_rule("FT0170").next().unwrap();
    assert_eq!(
        unknown.help.as_deref(),
        Some("did you mean `payment.declined`?")
    );
    let mixed = by_rule("FT0174")
        .find(|f| f.subject.contains_key("correlated"))
        .unwrap();
    assert_eq!(mixed.subject["service"], "payments");
    assert_eq!(mixed.subject["uncorrelated"], "1");
    assert_eq!(mixed.subject["correlated"], "5");
    assert!(
        by_rule("FT0175")
            .next()
            .unwrap()
            .message
            .contains("`email`"),
        "the e-mail address in a body is reported as personal data"
    );

    // The correct event is found from the checkout trace: its trace and span ids are the
    // step span's.
    let spans: Vec<(String, String)> = read(&dir.path().join("traces.jsonl"))
        .iter()
        .flat_map(|b| {
            b.spans()
                .map(|s| (s.item.trace_id.to_string(), s.item.span_id.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    let first = read(&logs).into_iter().next().unwrap();
    let rec = first.log_records().next().unwrap().item.clone();
    assert_eq!(
        flowtel_otlp::attribute(&rec.attributes, "event.name").and_then(AnyValue::as_str),
        Some("payment.declined")
    );
    let ids = (
        rec.trace_id.expect("correlated").to_string(),
        rec.span_id.expect("correlated").to_string(),
    );
    assert!(spans.contains(&ids), "{ids:?} not among {spans:?}");
}

/// `FT0172`: a declared event carrying a declared attribute it does not list is warned at that
/// attribute; flowtel's flow context and the bridges' `code.*` attributes are always allowed.
/// (No Python: an OTLP JSON record as the SDK writes it.)
#[test]
fn an_attribute_the_event_does_not_list_is_warned_at_the_attribute() {
    let reg = registry();
    let kv = |k: &str, v: &str| format!(r#"{{"key":"{k}","value":{{"stringValue":"{v}"}}}}"#);
    let attributes = [
        kv("payment.decline_reason", "card_expired"),
        kv("flow.name", "checkout"),
        kv("flow.step", "payment.authorize"),
        kv("code.file.path", "src/payments.rs"),
        kv("http.request.method", "POST"),
    ]
    .join(",");
    let json = format!(
        r#"{{"resourceLogs":[{{"resource":{{"attributes":[{}]}},"scopeLogs":[{{"scope":{{"name":"payments"}},"logRecords":[{{"timeUnixNano":"1000","severityNumber":13,"severityText":"WARN","eventName":"payment.declined","traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","body":{{"stringValue":"payment declined"}},"attributes":[{attributes}]}}]}}]}}]}}"#,
        kv("service.name", "payments")
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("logs.jsonl");
    std::fs::write(&file, json + "\n").unwrap();
    let findings = lint_inputs(
        &reg,
        &[file.display().to_string()],
        &ReadOptions::default(),
        &mut |_| {},
    );
    assert_eq!(
        log_findings(&findings),
        [(
            "FT0172",
            1,
            "/resourceLogs/0/scopeLogs/0/logRecords/0/attributes/4".to_string()
        )],
        "{findings:#?}"
    );
    let f = findings.iter().find(|f| f.rule.id == "FT0172").unwrap();
    assert_eq!(f.subject["attribute"], "http.request.method");
    assert_eq!(f.subject["event"], "payment.declined");
}
