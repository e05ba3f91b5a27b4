//! Flow analysis of the example shop with a known slowdown: payments' issuer round trip takes
//! 300 ms more on one order in ten. The critical path names `payment.authorize` on payments as
//! the top tail driver of checkout, `flowtel latency` fails naming the step over its budget, and
//! the HTML report renders in headless Chromium with the map and one section per flow.

use std::path::{Path, PathBuf};
use std::process::Command;

use flowtel_e2e::{binary, chromium, dump_dom, run, screenshot, workspace};

fn slow_export(dir: &Path) -> PathBuf {
    let out = Command::new(binary("example-shop"))
        .args(["--out", dir.to_str().unwrap(), "--requests", "300"])
        .env("EXAMPLE_PAYMENTS_DELAY_MS", "300")
        .env("EXAMPLE_PAYMENTS_DELAY_EVERY", "10")
        .current_dir(workspace())
        .output()
        .expect("run example-shop");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("traces.jsonl")
}

#[test]
fn an_injected_delay_is_named_as_the_tail_driver_over_budget_and_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let traces = slow_export(dir.path());
    let traces = traces.to_str().unwrap();

    // Critical path: the delayed step drives checkout's tail.
    let cp = run("flowtel", &["critical-path", traces, "--format", "json"]);
    assert_eq!(
        cp.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&cp.stdout)
    );
    let doc: serde_json::Value = serde_json::from_slice(&cp.stdout).unwrap();
    let checkout = doc["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flow"] == "checkout")
        .expect("checkout flow");
    let top = &checkout["tail_drivers"][0];
    assert_eq!(top["step"], "payment.authorize", "{checkout:#}");
    assert_eq!(top["service"], "payments");
    assert!(top["growth_ns"].as_i64().unwrap() > 250_000_000, "{top}");
    // Every trace has its path, chronological and inside the trace.
    for t in doc["traces"].as_array().unwrap() {
        let path = t["path"].as_array().unwrap();
        assert!(!path.is_empty() || t["duration_ns"] == 0, "{t}");
        for w in path.windows(2) {
            assert!(
                w[0]["end_unix_nano"].as_u64() <= w[1]["start_unix_nano"].as_u64(),
                "{t}"
            );
        }
    }
    let human = run("flowtel", &["critical-path", traces, "--flow", "checkout"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.starts_with("checkout: P99 ")
            && text
                .lines()
                .next()
                .unwrap()
                .contains("payment.authorize on payments is"),
        "{text}"
    );

    // Latency: exit 1 naming the step over budget.
    let lat = run("flowtel", &["latency", traces]);
    let text = String::from_utf8_lossy(&lat.stdout);
    assert_eq!(lat.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error[FT0607]: checkout payment.authorize on payments: P95"),
        "{text}"
    );
    let lat = run("flowtel", &["latency", traces, "--deny-over-budget=false"]);
    assert_eq!(lat.status.code(), Some(0));

    // Map: one edge gateway -> payments, with the retries the example's issuer-busy answers cause.
    let map = run(
        "flowtel",
        &["map", traces, "--flow", "checkout", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&map.stdout).unwrap();
    let edges = doc["maps"][0]["edges"].as_array().unwrap();
    let payments = edges
        .iter()
        .find(|e| e["from"] == "gateway" && e["to"] == "payments")
        .unwrap_or_else(|| panic!("{doc:#}"));
    // Declined cards are 402s: client errors beside the edge's errors, never among them.
    let n = |k: &str| {
        payments[k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k}: {payments}"))
    };
    assert!(n("client_errors") > 0, "{payments}");
    assert!(n("errors") + n("client_errors") <= n("calls"), "{payments}");
    assert!(payments["client_error_rate"].as_f64().unwrap() > 0.0);
    for format in ["mermaid", "dot", "svg"] {
        let out = run("flowtel", &["map", traces, "--format", format]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("payments"), "{format}: {text}");
    }

    // Report, rendered in headless Chromium.
    let report = dir.path().join("report.html");
    let out = run(
        "flowtel",
        &["report", traces, "-o", report.to_str().unwrap()],
    );
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{out:?}"
    );
    let html = std::fs::read_to_string(&report).unwrap();
    // Self-contained: no script, nothing fetched.
    for fetch in ["<script", "src=", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(fetch), "{fetch} in the report");
    }
    let Some(chrome) = chromium() else {
        eprintln!("skipped the browser check: no chromium installed");
        return;
    };
    let shot_dir = workspace().join("target").join("flow-report");
    std::fs::create_dir_all(&shot_dir).unwrap();
    let shot = shot_dir.join("report.png");
    let dom = dump_dom(&chrome, &report).expect("chromium renders the report");
    // The map: one node per service of the shop (and no virtual node here).
    let nodes = dom.matches("class=\"node\"").count();
    assert_eq!(nodes, 5, "{}", &dom[..dom.len().min(2000)]);
    for service in ["gateway", "identity", "catalog", "payments", "orders"] {
        assert!(
            dom.contains(&format!("data-service=\"{service}\"")),
            "{service}"
        );
    }
    // One section per flow with traces.
    for flow in ["checkout", "login"] {
        assert!(dom.contains(&format!("data-flow=\"{flow}\"")), "{flow}");
    }
    assert!(dom.contains("class=\"waterfall\"") && dom.contains("class=\"histogram\""));
    screenshot(&chrome, &report, &shot, 1300, 3000).expect("chromium screenshots the report");
    assert!(shot.exists());
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
}

#[test]
fn unreadable_trace_input_is_an_input_error_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"resourceSpans\": [}\n").unwrap();
    for cmd in ["map", "critical-path", "latency"] {
        let out = run("flowtel", &[cmd, bad.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {text}");
        assert!(text.contains("bad.jsonl:1:"), "{cmd}: {text}");
    }
}
