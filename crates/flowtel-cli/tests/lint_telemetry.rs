//! `flowtel lint telemetry`: exit codes, formats, stdin, positions of input errors.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use flowtel_testkit::workspace;

fn flowtel(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowtel"))
        .current_dir(workspace())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

const CLEAN: &str = "# HELP flow_requests_total Flows started.\n# TYPE flow_requests_total counter\nflow_requests_total{flow_name=\"checkout\",outcome=\"ok\"} 1\n";

#[test]
fn clean_input_exits_0() {
    let out = flowtel(&["lint", "telemetry", "-"], Some(CLEAN.as_bytes()));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("flowtel: 0 errors, 0 warnings, 0 notes")
    );
}

#[test]
fn findings_exit_1_grouped_by_rule_with_examples() {
    let mut text =
        String::from("# HELP flow_requests_total Flows.\n# TYPE flow_requests_total counter\n");
    for i in 0..5 {
        text.push_str(&format!(
            "flow_requests_total{{flow_name=\"f{i}\",outcome=\"ok\"}} 1\n"
        ));
    }
    let out = flowtel(
        &["lint", "telemetry", "--max-examples", "2", "-"],
        Some(text.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("error[FT0110] unknown-flow (5 findings)"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("error[FT0110]: ").count(), 2, "{stdout}");
    assert!(
        stdout.contains("... and 3 more FT0110 findings"),
        "{stdout}"
    );
    assert!(stdout.contains(" --> -:3:1"), "{stdout}");
}

#[test]
fn json_and_sarif() {
    let text = "# TYPE queue_depth_total gauge\nqueue_depth_total 1\n";
    let out = flowtel(
        &["lint", "telemetry", "--format", "json", "-"],
        Some(text.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["FT0101", "FT0117", "FT0120"]);
    assert_eq!(doc["findings"][0]["location"]["file"], "-");

    let out = flowtel(
        &["lint", "telemetry", "--format", "sarif", "-"],
        Some(text.as_bytes()),
    );
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 3);
}

#[test]
fn malformed_input_exits_2_with_its_position() {
    let out = flowtel(
        &["lint", "telemetry", "--format", "json", "-"],
        Some(b"{\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": [{\"traceId\": \"zz\"}]}]}]}\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &doc["findings"][0];
    assert_eq!(f["severity"], "fatal");
    assert_eq!(f["rule"], "FT0121");
    assert_eq!(f["location"]["line"], 1);
    assert!(f["location"]["column"].as_u64().unwrap() > 1, "{f}");
}

#[test]
fn a_missing_file_exits_2() {
    let out = flowtel(&["lint", "telemetry", "no/such/file.jsonl"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no/such/file.jsonl"));
}
