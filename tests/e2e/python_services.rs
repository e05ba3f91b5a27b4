//! Flow analysis of traces from an independent producer: three Python processes (gateway,
//! payments, inventory) instrumented with the OpenTelemetry Python SDK call each other over
//! HTTP with W3C trace context and baggage (`tests/python/services.py`), each exporting to its
//! own OTLP JSON-lines file. Every order is one trace spread over three files; `flowtel map` and
//! `critical-path` put them back together.
//!
//! The interpreter is `$FLOWTEL_PYTHON`, by default `<workspace>/.venv/bin/python` (`.ci/run`
//! installs the SDK there); `FLOWTEL_SKIP_PYTHON=1` skips.

use std::process::Command;

use flowtel_e2e::{python, run, workspace};
use serde_json::Value;

const ORDERS: u64 = 24;

fn json(args: &[&str]) -> Value {
    let out = run("flowtel", args);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

#[test]
fn traces_of_python_processes_calling_each_other_assemble_into_one_map_and_path_per_order() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(python)
        .arg(workspace().join("tests/python/services.py"))
        .arg(dir.path())
        .args(["--orders", &ORDERS.to_string()])
        .output()
        .expect("run services.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files: Vec<String> = ["gateway", "payments", "inventory"]
        .iter()
        .map(|s| {
            let p = dir.path().join(format!("traces-{s}.jsonl"));
            assert!(p.exists(), "{} was not written", p.display());
            p.to_str().unwrap().to_string()
        })
        .collect();
    let mut args: Vec<&str> = vec!["map"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--format", "json"]);

    // The map: one edge per pair of services, the database as an uninstrumented peer, and the
    // retries of payments' 503s (one order in four) counted and flagged (1.25x > 1.2x).
    let doc = json(&args);
    let overall = &doc["maps"][0];
    assert_eq!(overall["traces"], ORDERS, "{overall:#}");
    let edge = |from: &str, to: &str| -> Value {
        overall["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["from"] == from && e["to"] == to)
            .unwrap_or_else(|| panic!("no edge {from} -> {to}: {overall:#}"))
            .clone()
    };
    let pay = edge("gateway", "payments");
    assert_eq!(pay["kind"], "request");
    assert_eq!(pay["calls"], ORDERS + ORDERS / 4);
    assert_eq!(pay["retries"], ORDERS / 4);
    assert_eq!(pay["errors"], ORDERS / 4);
    assert_eq!(pay["flagged"], true);
    let reserve = edge("gateway", "inventory");
    assert_eq!(
        (reserve["calls"].clone(), reserve["retries"].clone()),
        (ORDERS.into(), 0.into())
    );
    let db = edge("inventory", "postgresql");
    assert_eq!(db["calls"], ORDERS);
    let virtual_nodes: Vec<&str> = overall["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["virtual"] == true)
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(virtual_nodes, ["postgresql"]);
    let findings = doc["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["rule"] == "FT0608"),
        "retry amplification reported: {findings:#?}"
    );
    assert!(
        !findings
            .iter()
            .any(|f| f["rule"] == "FT0601" || f["rule"] == "FT0602"),
        "context propagated across every process: {findings:#?}"
    );

    // Critical paths: every order one whole checkout trace (flow from the baggage the gateway
    // set), segments chronological and inside the trace, crossing all three services.
    args[0] = "critical-path";
    let doc = json(&args);
    let traces = doc["traces"].as_array().unwrap();
    assert_eq!(traces.len() as u64, ORDERS);
    for t in traces {
        assert_eq!(t["flow"], "checkout", "{t}");
        let path = t["path"].as_array().unwrap();
        let services: std::collections::BTreeSet<&str> = path
            .iter()
            .map(|s| s["service"].as_str().unwrap())
            .collect();
        assert_eq!(
            services.into_iter().collect::<Vec<_>>(),
            ["gateway", "inventory", "payments"],
            "{t}"
        );
        let covered: u64 = path
            .iter()
            .map(|s| s["end_unix_nano"].as_u64().unwrap() - s["start_unix_nano"].as_u64().unwrap())
            .sum();
        assert_eq!(
            covered,
            t["duration_ns"].as_u64().unwrap(),
            "the path covers the trace: {t}"
        );
        for w in path.windows(2) {
            assert!(
                w[0]["end_unix_nano"].as_u64() <= w[1]["start_unix_nano"].as_u64(),
                "{t}"
            );
        }
    }
    // One payment in five takes 80 ms instead of 10: payment.authorize drives the tail.
    let checkout = &doc["flows"][0];
    assert_eq!(checkout["flow"], "checkout");
    assert_eq!(
        checkout["tail_drivers"][0]["step"], "payment.authorize",
        "{checkout:#}"
    );
    assert_eq!(checkout["tail_drivers"][0]["service"], "payments");
}
