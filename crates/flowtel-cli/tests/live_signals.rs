//! `flowtel live` stopped by SIGTERM or SIGINT (no idle or duration limit): it writes the
//! report of what arrived, atomically to `-o FILE`, and exits with the lint's exit code.

#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

const TRACE: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"GET /","kind":2,"startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}"#;

fn post(addr: &str, body: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

fn stopped_by(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    // An earlier report stays whole until the new one replaces it.
    std::fs::write(&report, "old").unwrap();
    let conventions = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowtel"))
        .args([
            "live",
            "--listen",
            "127.0.0.1:0",
            "--no-grpc",
            "--format",
            "json",
        ])
        .arg("--conventions")
        .arg(&conventions)
        .arg("-o")
        .arg(&report)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "did not start");
        if let Some(a) = line.split("OTLP/HTTP on http://").nth(1) {
            break a.trim().to_string();
        }
    };
    assert!(post(&addr, TRACE).starts_with("HTTP/1.1 200"));
    assert_eq!(std::fs::read_to_string(&report).unwrap(), "old");
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let code = child.wait().unwrap().code();
    assert!(rest.contains("interrupted"), "{rest}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).expect("a whole report");
    let findings = doc["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["location"]["file"] == "live:/v1/traces"),
        "{doc}"
    );
    // The lint's code: 1 with errors among the findings, else 0.
    let errors = doc["summary"]["errors"].as_u64().unwrap();
    assert_eq!(code, Some(if errors > 0 { 1 } else { 0 }), "{rest}");
    // No temporary file is left beside the report.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn sigterm_writes_the_report_and_exits_with_the_lint_code() {
    stopped_by("TERM");
}

#[test]
fn sigint_writes_the_report_and_exits_with_the_lint_code() {
    stopped_by("INT");
}
