//! `flowtel live` receiving log records from an independent producer: Python's `logging`
//! through the OpenTelemetry Python SDK's `LoggingHandler`, exported by the SDK's own OTLP
//! exporters over HTTP and over gRPC (`tests/python/produce.py --scenario logs`), against the
//! bundled `conventions/` (event `payment.declined`: `warn`, flow `checkout`, requires
//! `payment.decline_reason`). Over either transport the run reports the same log findings as
//! `flowtel lint telemetry` does for the file export: the correlated event is accepted, the
//! undeclared, too quiet, incomplete and uncorrelated ones are reported.
//!
//! The interpreter is `$FLOWTEL_PYTHON`, by default `<workspace>/.venv/bin/python`;
//! `FLOWTEL_SKIP_PYTHON=1` skips.

use std::path::PathBuf;
use std::process::Command;

use flowtel_live::LiveReport;

mod common;
use common::{python, receiver, workspace};

/// Runs a receiver, the producer against it over `transport` (`http` or `grpc`), and returns
/// the receiver's report once the producer is done and the receiver idle.
fn receive(python: &PathBuf, transport: &str) -> LiveReport {
    let (bound, server) = receiver();
    let out = tempfile::tempdir().unwrap();
    let target = match transport {
        "http" => vec!["--otlp-http".to_string(), format!("http://{}", bound.http)],
        _ => vec!["--otlp-grpc".to_string(), bound.grpc.unwrap().to_string()],
    };
    let status = Command::new(python)
        .arg(workspace().join("tests/python/produce.py"))
        .arg(out.path())
        .args(["--scenario", "logs", "--format", "json"])
        .args(&target)
        .status()
        .expect("the Python producer runs");
    assert!(status.success(), "produce.py failed ({status})");
    server.join().unwrap()
}

fn check(report: &LiveReport, transport: &str) {
    let mut logs: Vec<(&str, String)> = report
        .findings
        .iter()
        .filter(|f| f.rule.id.starts_with("FT017"))
        .map(|f| {
            (
                f.rule.id,
                f.subject.get("event").cloned().unwrap_or_default(),
            )
        })
        .collect();
    logs.sort();
    assert_eq!(
        logs,
        [
            ("FT0170", "payment.decline".to_string()),
            ("FT0171", "payment.declined".to_string()),
            ("FT0173", "payment.declined".to_string()),
            ("FT0174", String::new()),
            ("FT0174", "payment.declined".to_string()),
            ("FT0175", String::new()),
        ],
        "over {transport}: {:#?}",
        report.findings
    );
    let mixed = report
        .findings
        .iter()
        .find(|f| f.rule.id == "FT0174" && f.subject.contains_key("correlated"))
        .expect("the service's uncorrelated plain line");
    assert_eq!(mixed.subject["service"], "payments");
    assert_eq!(mixed.subject["uncorrelated"], "1");
    assert_eq!(mixed.subject["correlated"], "5");
    assert_eq!(report.stats.rejected, 0, "over {transport}");
    assert_eq!(flowtel_conventions::exit_code(&report.findings, false), 1);
}

#[test]
fn log_records_over_otlp_http_are_linted_with_their_correlation() {
    let Some(python) = python() else { return };
    check(&receive(&python, "http"), "OTLP/HTTP");
}

#[test]
fn log_records_over_otlp_grpc_are_linted_with_their_correlation() {
    let Some(python) = python() else { return };
    check(&receive(&python, "grpc"), "OTLP/gRPC");
}
