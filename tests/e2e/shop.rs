//! The shop end to end, as a newcomer runs it: five services and a Redis broker, a normal run,
//! one with payments 150 ms slower (`--slow payments=150ms`) and one with payments failing 10%
//! of its requests (`--fail payments=10%`, which the map's gateway -> payments edge shows).
//!
//! The normal run's telemetry lints clean; the asynchronous leg (gateway -> orders through the
//! broker) is on the map as a producer -> consumer edge and never on a critical path; with the
//! slowdown, `payment.authorize` is the top critical-path contributor of `checkout`, and
//! `flowtel regress` between the runs fails on `checkout` and passes on `browse`. A
//! non-conforming build (an undeclared `tenant` label on `checkout.orders`) is caught by
//! `flowtel lint source` in its code and by `flowtel lint telemetry` in what it exports. A shop
//! killed outright (SIGKILL, no destructor runs) leaves no `redis-server` behind.

use std::path::{Path, PathBuf};

use flowtel_e2e::{
    KillOnDrop, binary, chromium, conventions_for_regress, run, screenshot, workspace,
};
use serde_json::Value;

fn shop(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let r = std::process::Command::new(binary("example-shop"))
        .arg("--out")
        .arg(&out)
        .args(["--requests", "300", "--browse", "600"])
        .args(extra)
        .current_dir(workspace())
        .env_remove("EXAMPLE_PAYMENTS_DELAY_MS")
        .output()
        .expect("run the shop");
    assert!(
        r.status.success(),
        "example-shop {extra:?} failed: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    out
}

fn json(args: &[&str]) -> (i32, Value) {
    // Options first: `regress` takes what follows `--` as files.
    let mut all = vec!["--format", "json"];
    all.extend(args);
    let r = run("flowtel", &all);
    let doc = serde_json::from_slice(&r.stdout).unwrap_or_else(|e| {
        panic!(
            "flowtel {args:?}: not JSON ({e}): {}{}",
            String::from_utf8_lossy(&r.stdout),
            String::from_utf8_lossy(&r.stderr)
        )
    });
    (r.status.code().unwrap_or(-1), doc)
}

fn flow<'a>(doc: &'a Value, key: &str, name: &str) -> &'a Value {
    doc[key]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flow"] == name)
        .unwrap_or_else(|| panic!("no flow {name} in {doc:#}"))
}

/// The service of an OTLP JSON resource block.
fn service(block: &Value) -> &str {
    block["resource"]["attributes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["key"] == "service.name")
        .and_then(|a| a["value"]["stringValue"].as_str())
        .unwrap_or("")
}

/// Span kinds (OTLP numbers) and metric names one service exported, with counts.
fn exported_by(run: &Path, name: &str) -> (Vec<u64>, Vec<String>) {
    let mut kinds = Vec::new();
    let mut metrics = Vec::new();
    let lines = |f: &str| std::fs::read_to_string(run.join(f)).unwrap();
    for line in lines("traces.jsonl").lines() {
        let doc: Value = serde_json::from_str(line).unwrap();
        for rs in doc["resourceSpans"].as_array().unwrap() {
            if service(rs) != name {
                continue;
            }
            for ss in rs["scopeSpans"].as_array().unwrap() {
                for span in ss["spans"].as_array().unwrap() {
                    kinds.push(span["kind"].as_u64().unwrap_or(0));
                }
            }
        }
    }
    for line in lines("metrics.jsonl").lines() {
        let doc: Value = serde_json::from_str(line).unwrap();
        for rm in doc["resourceMetrics"].as_array().unwrap() {
            if service(rm) != name {
                continue;
            }
            for sm in rm["scopeMetrics"].as_array().unwrap() {
                for m in sm["metrics"].as_array().unwrap() {
                    metrics.push(m["name"].as_str().unwrap().to_string());
                }
            }
        }
    }
    (kinds, metrics)
}

/// The step with the largest share of the flow's critical path at quantile `q`.
fn top_step(cp_flow: &Value, q: &str) -> String {
    let steps = cp_flow["steps"].as_array().unwrap();
    let top = steps
        .iter()
        .max_by(|a, b| a[q].as_f64().unwrap().total_cmp(&b[q].as_f64().unwrap()))
        .unwrap();
    top["step"].as_str().unwrap().to_string()
}

#[test]
fn a_slow_payments_service_leads_checkout_and_fails_the_release_while_browse_passes() {
    let dir = tempfile::tempdir().unwrap();
    // Both runs at once: load from elsewhere weighs on each alike, so the regression check
    // compares the slowdown, not the machine's mood.
    let (normal, slow, failing) = std::thread::scope(|s| {
        let normal = s.spawn(|| shop(dir.path(), "normal", &[]));
        let slow = s.spawn(|| shop(dir.path(), "slow", &["--slow", "payments=150ms"]));
        let failing = s.spawn(|| shop(dir.path(), "failing", &["--fail", "payments=10%"]));
        (
            normal.join().unwrap(),
            slow.join().unwrap(),
            failing.join().unwrap(),
        )
    });
    let path = |run: &Path, f: &str| run.join(f).to_str().unwrap().to_string();

    // The normal run's telemetry follows the conventions.
    let (code, lint) = json(&[
        "lint",
        "telemetry",
        &path(&normal, "traces.jsonl"),
        &path(&normal, "metrics.jsonl"),
    ]);
    assert_eq!(code, 0, "{lint:#}");
    assert_eq!(lint["findings"].as_array().unwrap().len(), 0, "{lint:#}");

    // The orders worker is an axum server too, but its admin routes (`/healthz`, `/queue`, which
    // the shop polled to start the load and to wait for the drain) are no customer's flow: they
    // sit outside flowtel's server layer, so the worker exported consumer and step spans only,
    // no server span (a trace without a flow) and no HTTP server metric.
    let (kinds, metrics) = exported_by(&normal, "orders");
    assert!(
        kinds.contains(&5),
        "no CONSUMER span from orders: {kinds:?}"
    );
    assert!(!kinds.contains(&2), "a SERVER span from orders: {kinds:?}");
    assert!(
        !metrics.iter().any(|m| m.starts_with("http.server")),
        "{metrics:?}"
    );

    // The asynchronous leg: a message edge gateway -> orders in checkout's map ...
    let (_, map) = json(&["map", &path(&normal, "traces.jsonl"), "--flow", "checkout"]);
    let edges = map["maps"][0]["edges"].as_array().unwrap();
    let message = edges
        .iter()
        .find(|e| e["from"] == "gateway" && e["to"] == "orders")
        .unwrap_or_else(|| panic!("no gateway -> orders edge: {map:#}"));
    assert_eq!(message["kind"], "message", "{message:#}");
    assert!(
        edges
            .iter()
            .any(|e| e["from"] == "gateway" && e["to"] == "payments" && e["kind"] == "request"),
        "{map:#}"
    );
    // Payments failing 10% of its requests: the map's gateway -> payments edge shows it (over
    // the healthy run's rate, which counts declined cards: a 402 is a client span's error).
    let edge_errors = |run: &Path| {
        let (_, map) = json(&["map", &path(run, "traces.jsonl"), "--flow", "checkout"]);
        let edge = map["maps"][0]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["from"] == "gateway" && e["to"] == "payments")
            .unwrap_or_else(|| panic!("no gateway -> payments edge: {map:#}"))
            .clone();
        (edge["error_rate"].as_f64().unwrap(), edge)
    };
    let (healthy, _) = edge_errors(&normal);
    let (failing_rate, edge) = edge_errors(&failing);
    assert!(
        failing_rate >= healthy + 0.04,
        "error rate {failing_rate} with --fail payments=10% against {healthy} without: {edge:#}"
    );

    // ... and never on a critical path: the worker's time is nobody's wait.
    let (_, cp) = json(&["critical-path", &path(&normal, "traces.jsonl")]);
    let mut checkout_paths = 0;
    for t in cp["traces"].as_array().unwrap() {
        if t["flow"] == "checkout" {
            checkout_paths += 1;
        }
        for seg in t["path"].as_array().unwrap() {
            assert_ne!(
                seg["service"], "orders",
                "the async leg on a critical path: {t:#}"
            );
        }
    }
    assert!(checkout_paths > 100, "{checkout_paths} checkout traces");
    let checkout = flow(&cp, "flows", "checkout");
    assert!(
        checkout["services"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["service"] != "orders"),
        "{checkout:#}"
    );

    // Payments 150 ms slower: payment.authorize leads checkout's critical path.
    let (_, cp) = json(&["critical-path", &path(&slow, "traces.jsonl")]);
    let checkout = flow(&cp, "flows", "checkout");
    for q in ["p50", "p95", "p99"] {
        assert_eq!(
            top_step(checkout, q),
            "payment.authorize",
            "{q}: {checkout:#}"
        );
    }
    assert!(
        checkout["duration"]["p50"].as_f64().unwrap() > 150e6,
        "{checkout:#}"
    );

    // The release check: checkout fails, browse passes (from the metric exports, which count
    // every request whatever the trace sampling kept).
    let conventions = conventions_for_regress(dir.path(), "50ms");
    let (code, doc) = json(&[
        "regress",
        "--conventions",
        conventions.to_str().unwrap(),
        &path(&normal, "metrics.jsonl"),
        "--",
        &path(&slow, "metrics.jsonl"),
    ]);
    assert_eq!(code, 1, "{doc:#}");
    let group = |flow: &str| {
        doc["regress"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["flow"] == flow && g["step"].is_null())
            .unwrap_or_else(|| panic!("no group {flow}: {doc:#}"))
            .clone()
    };
    assert_eq!(group("checkout")["verdict"], "fail", "{doc:#}");
    assert_eq!(group("browse")["verdict"], "pass", "{:#}", group("browse"));

    // The report of the slowed run, as the README shows it: rendered by headless Chromium to
    // target/shop-report/report.png (`FLOWTEL_UPDATE_DOCS=1` also copies it to
    // docs/shop-report.png, the README's screenshot).
    let report = dir.path().join("report.html");
    let r = run(
        "flowtel",
        &[
            "report",
            &path(&slow, "traces.jsonl"),
            "-o",
            report.to_str().unwrap(),
        ],
    );
    assert!(report.exists(), "{r:?}");
    let html = std::fs::read_to_string(&report).unwrap();
    for service in ["gateway", "identity", "catalog", "payments", "orders"] {
        assert!(
            html.contains(&format!("data-service=\"{service}\"")),
            "{service}"
        );
    }
    let Some(chrome) = chromium() else {
        eprintln!("skipped the screenshot: no chromium installed");
        return;
    };
    let shots = workspace().join("target/shop-report");
    std::fs::create_dir_all(&shots).unwrap();
    let png = shots.join("report.png");
    let _ = std::fs::remove_file(&png);
    screenshot(&chrome, &report, &png, 1200, 1500).unwrap();
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
        "{} bytes",
        bytes.len()
    );
    if std::env::var_os("FLOWTEL_UPDATE_DOCS").is_some() {
        std::fs::copy(&png, workspace().join("docs/shop-report.png")).unwrap();
    }
}

#[test]
fn a_non_conforming_build_is_caught_in_its_source_and_in_its_telemetry() {
    // The change: the gateway counts `checkout.orders` with a `tenant` label the conventions do
    // not declare.
    let dir = tempfile::tempdir().unwrap();
    let src = workspace().join("examples/shop/src");
    let copy = dir.path().join("src");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let gateway = copy.join("gateway.rs");
    let text = std::fs::read_to_string(&gateway).unwrap();
    let patched = text.replacen(
        "        KeyValue::new(\"outcome\", outcome),\n    ];",
        "        KeyValue::new(\"outcome\", outcome),\n        KeyValue::new(\"tenant\", \"acme\"),\n    ];",
        1,
    );
    assert_ne!(
        patched, text,
        "the gateway's order labels moved; update the patch"
    );
    std::fs::write(&gateway, patched).unwrap();

    // The shop's own sources are clean; the changed copy is caught, naming the label.
    let clean = run(
        "flowtel",
        &["lint", "source", "--deny-warnings", "examples/shop/src"],
    );
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    let (code, doc) = json(&["lint", "source", "--deny-warnings", copy.to_str().unwrap()]);
    assert_eq!(code, 1, "{doc:#}");
    let finding = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "FT0202")
        .unwrap_or_else(|| panic!("no undeclared-attribute-key finding: {doc:#}"));
    assert!(
        finding["message"].as_str().unwrap().contains("tenant"),
        "{finding:#}"
    );
    assert!(
        finding["location"]["file"]
            .as_str()
            .unwrap()
            .ends_with("gateway.rs"),
        "{finding:#}"
    );

    // Run as such a build (`--extra-label` records the same label at run time): the exported
    // metrics are caught.
    let out = shop(dir.path(), "drift", &["--extra-label", "tenant=acme"]);
    let metrics = out.join("metrics.jsonl");
    let (code, doc) = json(&["lint", "telemetry", metrics.to_str().unwrap()]);
    assert_eq!(code, 1, "{doc:#}");
    let undeclared: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "FT0102")
        .collect();
    assert!(!undeclared.is_empty(), "{doc:#}");
    assert!(
        undeclared
            .iter()
            .all(|f| f["message"].as_str().unwrap().contains("tenant")),
        "{undeclared:#?}"
    );
}

#[test]
fn a_killed_shop_leaves_no_broker_behind() {
    // The shop announces its services once they listen, the broker's address among them.
    let mut shop = KillOnDrop(
        std::process::Command::new(binary("example-shop"))
            .args(["--duration", "60s", "--rate", "20"])
            .current_dir(workspace())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run the shop"),
    );
    let stderr = std::io::BufReader::new(shop.stderr.take().unwrap());
    let mut broker = None;
    for line in std::io::BufRead::lines(stderr) {
        let line = line.unwrap();
        if let Some(rest) = line.split("redis://").nth(1) {
            broker = rest.split('/').next().map(str::to_string);
            break;
        }
    }
    let broker: std::net::SocketAddr = broker
        .expect("the shop announces its broker")
        .parse()
        .unwrap();
    let answers = || {
        std::net::TcpStream::connect_timeout(&broker, std::time::Duration::from_millis(200)).is_ok()
    };
    assert!(
        answers(),
        "the broker listens on {broker} while the shop runs"
    );
    // SIGKILL: no destructor of the shop runs; the guard around redis-server sees its pipe
    // close and stops the server.
    shop.kill().unwrap();
    shop.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while answers() {
        assert!(
            std::time::Instant::now() < deadline,
            "redis-server on {broker} outlived the killed shop by 10 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
