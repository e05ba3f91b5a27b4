//! OpenTelemetry's own semantic-conventions model (v1.44.0, from `../shared/semconv`) as the
//! conventions: its upstream defects (`hw.fan.speed` in `rpm`) are warnings that never stop
//! `lint` or `live`; `flowtel check` keeps them errors and accepts them through a baseline.
//! Skipped with a message when the shared model is absent.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn flowtel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flowtel"))
}

/// `shared/<rel>` in the nearest folder above the workspace that has it (`../shared`).
fn shared(rel: &str) -> Option<PathBuf> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .skip(2)
        .map(|a| a.join("shared").join(rel))
        .find(|p| p.exists())
}

fn model() -> Option<PathBuf> {
    let m = shared("semconv/model");
    if m.is_none() {
        println!("skipped: no semantic-conventions model in ../shared/semconv/model");
    }
    m
}

fn trace_json() -> Vec<u8> {
    std::fs::read(shared("otlp-examples/trace.json").expect("../shared/otlp-examples"))
        .expect("the OTLP example trace")
}

#[test]
fn check_reports_upstream_defects_and_a_baseline_accepts_them() {
    let Some(model) = model() else { return };
    let out = flowtel()
        .arg("check")
        .arg(&model)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the stock model has defects");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| {
        f["rule"] == "FT0019"
            && f["location"]["file"]
                .as_str()
                .unwrap()
                .ends_with("hardware/fan-metrics.yaml")
    }));
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.json");
    std::fs::write(&baseline, &out.stdout).unwrap();
    let out = flowtel()
        .arg("check")
        .arg(&model)
        .arg("--baseline")
        .arg(&baseline)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("accepted by the baseline"));
    // A broken baseline is an input error naming the file.
    std::fs::write(&baseline, "{\"findings\": [{}]}").unwrap();
    let out = flowtel()
        .arg("check")
        .arg(&model)
        .arg("--baseline")
        .arg(&baseline)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("baseline.json"));
}

#[test]
fn lint_takes_the_model_directly_and_as_an_import() {
    let Some(model) = model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.json");
    std::fs::write(&trace, trace_json()).unwrap();
    let layer = dir.path().join("flowtel.yaml");
    std::fs::write(
        &layer,
        format!(
            "schema: flowtel/v1\nname: shop\nversion: 1.0.0\nimports:\n  - semconv: {}\n",
            model.display()
        ),
    )
    .unwrap();
    for conventions in [&model, &layer] {
        let out = flowtel()
            .arg("lint")
            .arg("telemetry")
            .arg("--conventions")
            .arg(conventions)
            .arg(&trace)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The example lacks service.version: a lint finding, exit 1 (not 2).
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            doc["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule"] == "FT0113")
        );
        // The upstream defect is reported on stderr with its file and line.
        assert!(stderr.contains("warning[FT0019]"), "{stderr}");
        assert!(stderr.contains("fan-metrics.yaml:16"), "{stderr}");
    }
}

#[test]
fn live_starts_on_the_model_receives_and_reports() {
    let Some(model) = model() else { return };
    let mut child = flowtel()
        .args([
            "live",
            "--listen",
            "127.0.0.1:0",
            "--no-grpc",
            "--until-idle",
            "1s",
        ])
        .args(["--duration", "30s", "--format", "json", "--conventions"])
        .arg(&model)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut seen = String::new();
    let mut line = String::new();
    while addr.is_none() {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        addr = line
            .split("OTLP/HTTP on http://")
            .nth(1)
            .map(|a| a.trim().to_string());
    }
    let addr = addr.unwrap_or_else(|| panic!("flowtel live did not start:\n{seen}"));
    assert!(seen.contains("warning[FT0019]"), "{seen}");
    let body = trace_json();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(&body).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "FT0113" && f["location"]["file"] == "live:/v1/traces"),
        "{doc}"
    );
}
