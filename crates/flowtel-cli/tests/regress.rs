//! `flowtel regress` with inputs that cannot be compared: an empty side, flows on one side only,
//! histograms with different bucket layouts, spans against histograms. Each is one fatal
//! finding and exit code 2, never a pass; and the ways to name the two sides.

mod common;

use std::path::Path;
use std::process::Output;

use common::{flowtel, json as doc};
use serde_json::{Value, json};

fn attr(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

/// OTLP JSON lines: `n` root spans of `flow` (durations 40 ms + i µs) and as many steps.
fn traces(dir: &Path, name: &str, flow: &str, n: usize, scale: f64) -> String {
    let mut spans = Vec::new();
    for i in 0..n {
        let start = 1_700_000_000_000_000_000u64 + i as u64 * 1_000_000_000;
        let dur = ((40_000.0 + i as f64) * 1000.0 * scale) as u64;
        let trace = format!("{:032x}", i + 1);
        spans.push(json!({"traceId": trace, "spanId": format!("{:016x}", 2 * i + 1), "name": "POST /checkout",
            "kind": 2, "startTimeUnixNano": start.to_string(), "endTimeUnixNano": (start + dur).to_string(),
            "attributes": [attr("flow.name", flow)]}));
        spans.push(json!({"traceId": trace, "spanId": format!("{:016x}", 2 * i + 2), "parentSpanId": format!("{:016x}", 2 * i + 1),
            "name": "authorize", "kind": 1, "startTimeUnixNano": start.to_string(), "endTimeUnixNano": (start + dur / 2).to_string(),
            "attributes": [attr("flow.name", flow), attr("flow.step", "payment.authorize")]}));
    }
    let line = json!({"resourceSpans": [{"resource": {"attributes": [attr("service.name", "gateway")]},
        "scopeSpans": [{"scope": {"name": "t"}, "spans": spans}]}]});
    let path = dir.join(name);
    std::fs::write(&path, format!("{line}\n")).unwrap();
    path.to_str().unwrap().to_string()
}

/// An OTLP metrics export with one cumulative `flow.duration` histogram point.
fn histogram(dir: &Path, name: &str, bounds: &[f64], counts: &[u64]) -> String {
    let line = json!({"resourceMetrics": [{"resource": {"attributes": [attr("service.name", "gateway")]},
        "scopeMetrics": [{"scope": {"name": "t"}, "metrics": [{"name": "flow.duration", "unit": "s",
            "histogram": {"aggregationTemporality": 2, "dataPoints": [{
                "attributes": [attr("flow.name", "checkout")],
                "timeUnixNano": "1700000000000000000",
                "count": counts.iter().sum::<u64>().to_string(),
                "explicitBounds": bounds, "bucketCounts": counts.iter().map(|c| c.to_string()).collect::<Vec<_>>()}]}}]}]}]});
    let path = dir.join(name);
    std::fs::write(&path, format!("{line}\n")).unwrap();
    path.to_str().unwrap().to_string()
}

fn fatal_message(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let d = doc(out);
    let f = &d["findings"][0];
    assert_eq!(f["severity"], "fatal", "{d:#}");
    f["message"].as_str().unwrap().to_string()
}

#[test]
fn an_empty_side_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let before = traces(dir.path(), "before.jsonl", "checkout", 200, 1.0);
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "{}\n").unwrap();
    let out = flowtel(&[
        "regress",
        "--format",
        "json",
        &before,
        empty.to_str().unwrap(),
    ]);
    let msg = fatal_message(&out);
    assert!(
        msg.starts_with("the after side has no flow durations"),
        "{msg}"
    );
    assert_eq!(doc(&out)["findings"][0]["rule"], "FT0905");
}

#[test]
fn flows_on_one_side_only_are_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let before = traces(dir.path(), "before.jsonl", "checkout", 200, 1.0);
    let after = traces(dir.path(), "after.jsonl", "login", 200, 1.0);
    let msg = fatal_message(&flowtel(&[
        "regress", "--format", "json", &before, "--", &after,
    ]));
    assert!(
        msg.contains("flow `checkout` has durations before but none after"),
        "{msg}"
    );
}

#[test]
fn histograms_with_different_bucket_layouts_are_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let before = histogram(dir.path(), "b.jsonl", &[0.01, 0.1, 1.0], &[50, 100, 40, 10]);
    let after = histogram(
        dir.path(),
        "a.jsonl",
        &[0.01, 0.05, 0.1, 1.0],
        &[50, 60, 40, 40, 10],
    );
    let msg = fatal_message(&flowtel(&[
        "regress", "--format", "json", "--before", &before, "--after", &after,
    ]));
    assert!(msg.contains("bucket bounds [0.01, 0.05, 0.1, 1]"), "{msg}");
    assert!(msg.contains("cannot be added or compared"), "{msg}");
}

#[test]
fn spans_against_histograms_are_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let before = traces(dir.path(), "before.jsonl", "checkout", 200, 1.0);
    let after = histogram(dir.path(), "a.jsonl", &[0.01, 0.1, 1.0], &[50, 100, 40, 10]);
    let msg = fatal_message(&flowtel(&["regress", "--format", "json", &before, &after]));
    assert!(
        msg.contains("spans on one side and only histograms on the other"),
        "{msg}"
    );
}

#[test]
fn a_side_without_inputs_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let before = traces(dir.path(), "before.jsonl", "checkout", 200, 1.0);
    let msg = fatal_message(&flowtel(&[
        "regress", "--format", "json", "--before", &before,
    ]));
    assert_eq!(msg, "no input for the after side");
}

#[test]
fn several_inputs_per_side_and_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let b1 = traces(dir.path(), "b1.jsonl", "checkout", 150, 1.0);
    let b2 = traces(dir.path(), "b2.jsonl", "checkout", 150, 1.0);
    let a1 = traces(dir.path(), "a1.jsonl", "checkout", 150, 1.25);
    let a2 = traces(dir.path(), "a2.jsonl", "checkout", 150, 1.25);
    let out = flowtel(&["regress", "--format", "json", &b1, &b2, "--", &a1, &a2]);
    let d = doc(&out);
    assert_eq!(out.status.code(), Some(1), "{d:#}");
    let g = &d["regress"]["groups"][0];
    assert_eq!(g["flow"], "checkout");
    assert_eq!(g["before"]["count"], 300);
    assert_eq!(g["verdict"], "fail", "{g:#}");
    assert_eq!(d["summary"]["errors"], 2);

    let md = flowtel(&["regress", "--format", "markdown", &b1, &b2, "--", &a1, &a2]);
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(
        md.starts_with("### flowtel regress: ❌ latency regression"),
        "{md}"
    );
    assert!(md.contains("| fail | `checkout` | 300 → 300 |"), "{md}");

    let sarif = flowtel(&["regress", "--format", "sarif", &b1, &b2, "--", &a1, &a2]);
    let s = doc(&sarif);
    assert_eq!(s["version"], "2.1.0");
    assert_eq!(s["runs"][0]["results"][0]["ruleId"], "FT0901");
    assert!(s["runs"][0]["properties"]["regress"]["groups"].is_array());

    let human = flowtel(&["regress", &b1, &b2, "--", &a1, &a2]);
    let h = String::from_utf8(human.stdout).unwrap();
    assert!(h.contains("FAIL     checkout "), "{h}");
    assert!(
        h.contains("checkout P50 40 ms → 50 ms (+25%, 99% CI"),
        "{h}"
    );
}

#[test]
fn explain_covers_the_regress_rules() {
    for id in ["FT0901", "FT0902", "FT0903", "FT0904", "FT0905"] {
        let out = flowtel(&["explain", id]);
        assert_eq!(out.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&out.stdout).contains(id));
    }
}
