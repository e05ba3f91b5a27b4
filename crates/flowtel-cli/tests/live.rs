//! `flowtel live` end to end: the binary on an ephemeral port, the OpenTelemetry Python SDK's
//! own OTLP/HTTP exporters (`opentelemetry-exporter-otlp-proto-http`) sending to it, the
//! report when it goes idle: the same findings as linting the SDK's files, exit code 1.
//!
//! The interpreter is `$FLOWTEL_PYTHON`, by default `<workspace>/.venv/bin/python`;
//! `FLOWTEL_SKIP_PYTHON=1` skips.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use flowtel_testkit::{python, workspace};

const CONVENTIONS: &str = "crates/flowtel-lint/tests/fixtures/lint-test.yaml";

/// (rule, signal, pointer) of findings.
type Problems = BTreeSet<(String, String, String)>;

/// (rule, signal, pointer) of every finding of a JSON report; the signal is taken from the
/// file name (`traces.jsonl` or `live:/v1/traces`).
fn problems(report: &[u8]) -> Problems {
    let doc: serde_json::Value = serde_json::from_slice(report).expect("a JSON report");
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = f["location"]["file"].as_str().unwrap();
            let signal = ["traces", "metrics", "logs"]
                .into_iter()
                .find(|s| file.contains(s))
                .unwrap_or("?");
            (
                f["rule"].as_str().unwrap().to_string(),
                signal.to_string(),
                f["location"]["pointer"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Runs `flowtel live` against `conventions`, sends it the Python SDK's `scenario` over
/// OTLP/HTTP while the SDK also writes it to files, and returns live's exit code, its stderr,
/// the problems it reported and those `flowtel lint telemetry` reports on the files.
fn live_and_files(
    python: &std::path::Path,
    conventions: &str,
    scenario: &str,
) -> (Option<i32>, String, Problems, Problems) {
    let mut live = Command::new(env!("CARGO_BIN_EXE_flowtel"))
        .current_dir(workspace())
        .args(["--conventions", conventions, "--format", "json", "live"])
        .args(["--listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"])
        // The Python SDK can take seconds to start on a loaded machine.
        .args(["--until-idle", "8s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(live.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address announced: {line:?}"))
        .to_string();

    let files = tempfile::tempdir().unwrap();
    let status = Command::new(python)
        .arg(workspace().join("tests/python/produce.py"))
        .arg(files.path())
        .args(["--scenario", scenario, "--format", "json"])
        .args(["--otlp-http", &url])
        .status()
        .unwrap();
    assert!(status.success(), "produce.py failed ({status})");

    let out = live.wait_with_output().unwrap();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    let received = problems(&out.stdout);

    // The same telemetry, written by the SDK's JSON file exporters, linted from the files.
    let dir = files.path();
    let lint = Command::new(env!("CARGO_BIN_EXE_flowtel"))
        .current_dir(workspace())
        .args([
            "--conventions",
            conventions,
            "--format",
            "json",
            "lint",
            "telemetry",
        ])
        .args(["traces", "metrics", "logs"].map(|s| dir.join(format!("{s}.jsonl"))))
        .output()
        .unwrap();
    assert_eq!(lint.status.code(), Some(1));
    (out.status.code(), rest, received, problems(&lint.stdout))
}

#[test]
fn python_sdk_over_otlp_http_gives_the_same_findings_and_exit_1() {
    let Some(python) = python() else {
        return;
    };
    let (code, rest, received, from_files) =
        live_and_files(&python, CONVENTIONS, "lint-violations");
    assert_eq!(code, Some(1), "stderr: {rest}");
    assert!(rest.contains("6 requests (0 rejected)"), "{rest}");
    assert_eq!(received.len(), 15, "{received:#?}");
    assert_eq!(received, from_files);
}

#[test]
fn undeclared_misnamed_and_mistyped_attributes_are_found_live_as_in_files() {
    let Some(python) = python() else {
        return;
    };
    let (code, rest, received, from_files) = live_and_files(
        &python,
        "crates/flowtel-lint/tests/fixtures/attributes-test.yaml",
        "attributes",
    );
    assert_eq!(code, Some(1), "stderr: {rest}");
    assert_eq!(received, from_files);
    let rules: BTreeSet<&str> = received.iter().map(|(r, _, _)| r.as_str()).collect();
    assert_eq!(
        rules,
        BTreeSet::from([
            "FT0112", "FT0122", "FT0123", "FT0124", "FT0125", "FT0126", "FT0170"
        ])
    );
    // One per problem: see `crates/flowtel-lint/tests/attributes.rs` for each of them.
    assert_eq!(received.len(), 16, "{received:#?}");
}
