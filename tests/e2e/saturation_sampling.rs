//! The example shop's saturation signals, retries and sampling, end to end with real processes.
//!
//! Over OTLP/HTTP to `flowtel live`: everything the two services export lints clean against the
//! bundled conventions, which includes that every saturation signal arrives with its limit
//! gauge carrying the declared limit (`saturation-limit-missing`, `saturation-limit-mismatch`)
//! and as the declared instrument. From the services' OTLP JSON export of a second run, counted
//! exactly: retried payment calls are client spans with `http.request.resend_count`, the retry
//! counter equals the retries made, every checkout trace is present and whole across both
//! services, browse traces number within the binomial 99% interval of 10% (trace ids seeded,
//! so the count is the same in every run), and RED metrics count every browse request whatever
//! was sampled. Over OTLP/HTTP to `flowtel live --analyze --save`, the same from what live
//! received and saved: every checkout trace whole, browse within the interval, sampled-out
//! traces absent from every service, RED counts equal to the requests sent, the analysis's
//! flow aggregates agreeing, and `critical-path` and `map` of the saved traces saying they were
//! sampled and weighing them back.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use flowtel_e2e::{KillOnDrop, binary, binomial_interval, run, workspace};
use flowtel_otlp::{AnyValue, attribute};

/// The trace-id seed of the example runs that count sampled traces.
const SEED: &str = "13";

#[test]
fn live_receives_saturation_signals_with_their_declared_limits_and_lints_clean() {
    let mut live = Command::new(binary("flowtel"))
        .current_dir(workspace())
        .args(["--format", "json", "live", "--no-grpc"])
        .args(["--listen", "127.0.0.1:0", "--until-idle", "3s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowtel live");
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
    let example = run(
        "example-shop",
        &["--otlp", &url, "--requests", "120", "--browse", "60"],
    );
    assert!(
        example.status.success(),
        "{}",
        String::from_utf8_lossy(&example.stderr)
    );
    let out = live.wait_with_output().unwrap();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        0,
        "{report:#}\n{rest}"
    );
    assert_eq!(out.status.code(), Some(0), "{rest}");
}

struct SpanRow {
    service: String,
    name: String,
    trace: String,
    trace_state: String,
    is_root: bool,
    client: bool,
    resend: Option<i64>,
}

/// Every span of an OTLP file.
fn read_spans(path: &str) -> Vec<SpanRow> {
    let mut spans = Vec::new();
    for batch in flowtel_otlp::open(path).unwrap() {
        let batch = batch.unwrap();
        for s in batch.spans() {
            spans.push(SpanRow {
                service: text(attribute(&s.resource.attributes, "service.name")).unwrap(),
                name: s.item.name.clone(),
                trace: s.item.trace_id.to_string(),
                trace_state: s.item.trace_state.clone(),
                is_root: s
                    .item
                    .parent_span_id
                    .is_none_or(|p| p == Default::default()),
                client: s.item.kind == flowtel_otlp::SpanKind::Client,
                resend: attribute(&s.item.attributes, "http.request.resend_count")
                    .and_then(AnyValue::as_i64),
            });
        }
    }
    spans
}

/// Checks the traces the shop exported for `requests` checkout and login requests and
/// `browse` browse requests, and returns how many browse traces were kept: every checkout is
/// a whole trace (the gateway's flow and the payments service's authorization) marked as kept
/// at 100%; browse traces number within the binomial 99% interval of 10% (the runs use
/// `--seed`, so the count is the same in every run: a 99% assertion on random ids would fail
/// one run in a hundred), are whole (the gateway's route and the catalog's side) and marked
/// at 10%, and nothing of a sampled-out browse trace was exported by any service.
fn check_sampling(spans: &[SpanRow], requests: usize, browse: usize) -> u64 {
    let mut by_trace: HashMap<&str, Vec<&SpanRow>> = HashMap::new();
    for s in spans {
        by_trace.entry(&s.trace).or_default().push(s);
    }

    // Every checkout the load sent (i % 6 in 0..4 of the first `requests`).
    let checkouts_sent = (0..requests).filter(|i| i % 6 < 4).count();
    let checkout_traces: HashSet<&str> = spans
        .iter()
        .filter(|s| s.name == "checkout")
        .map(|s| s.trace.as_str())
        .collect();
    assert_eq!(checkout_traces.len(), checkouts_sent);
    for t in &checkout_traces {
        let trace = &by_trace[t];
        assert!(
            trace.iter().any(|s| s.is_root),
            "checkout trace {t} has no root"
        );
        assert!(
            trace
                .iter()
                .any(|s| s.service == "payments" && s.name == "payment.authorize"),
            "checkout trace {t} lacks the payments side"
        );
        assert!(trace.iter().all(|s| s.trace_state == "ot=th:0"), "{t}");
    }

    let browse_traces: HashSet<&str> = spans
        .iter()
        .filter(|s| s.name == "browse")
        .map(|s| s.trace.as_str())
        .collect();
    let (lo, hi) = binomial_interval(browse as u64, 0.1, 0.99);
    let kept = browse_traces.len() as u64;
    assert!(
        (lo..=hi).contains(&kept),
        "{kept} of {browse} browse traces kept, 99% interval {lo}..={hi}"
    );
    for t in &browse_traces {
        let trace = &by_trace[t];
        assert!(
            trace
                .iter()
                .any(|s| s.name == "GET /products" || s.name == "GET /products/{id}"),
            "browse trace {t} lacks the gateway's route"
        );
        assert!(
            trace.iter().any(|s| s.service == "catalog"),
            "browse trace {t} lacks the catalog side"
        );
        assert!(
            trace
                .iter()
                .all(|s| s.trace_state == "ot=th:e6666666666666")
        );
    }
    // Sampled-out traces are absent from every service: whatever the catalog exported (it
    // serves browse only) belongs to a kept browse trace.
    let orphans: Vec<&SpanRow> = spans
        .iter()
        .filter(|s| s.service == "catalog" && !browse_traces.contains(s.trace.as_str()))
        .collect();
    assert!(
        orphans.is_empty(),
        "{} catalog spans outside kept browse traces, e.g. {} {}",
        orphans.len(),
        orphans[0].name,
        orphans[0].trace
    );
    kept
}

/// The `flow.requests` RED counter of `flow` at the end of the run, over every service.
fn requests_counted(metrics: &str, flow: &str) -> f64 {
    last_values(metrics, "flow.requests")
        .iter()
        .filter(|((_, l), _)| l.contains(&("flow.name".into(), flow.into())))
        .map(|(_, v)| v)
        .sum()
}

/// The last (cumulative) value of every series of `metric`, by service and sorted labels.
fn last_values(path: &str, metric: &str) -> HashMap<(String, Vec<(String, String)>), f64> {
    let mut out = HashMap::new();
    for batch in flowtel_otlp::open(path).unwrap() {
        let batch = batch.unwrap();
        for m in batch.metrics().filter(|m| m.item.name == metric) {
            let service = text(attribute(&m.resource.attributes, "service.name")).unwrap();
            for p in &m.item.points {
                let mut labels: Vec<(String, String)> = p
                    .attributes
                    .iter()
                    .map(|kv| (kv.key.clone(), value_text(&kv.value)))
                    .collect();
                labels.sort();
                let v = p.as_double.or(p.as_int.map(|i| i as f64)).unwrap();
                out.insert((service.clone(), labels), v);
            }
        }
    }
    out
}

fn text(v: Option<&AnyValue>) -> Option<String> {
    v.and_then(AnyValue::as_str).map(str::to_string)
}

fn value_text(v: &AnyValue) -> String {
    match v {
        AnyValue::String(s) => s.clone(),
        AnyValue::Int(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

#[test]
fn retries_are_counted_checkout_is_kept_whole_and_browse_is_sampled() {
    let dir = tempfile::tempdir().unwrap();
    let (requests, browse) = (300usize, 1000usize);
    let out = run(
        "example-shop",
        &[
            "--seed",
            SEED,
            "--out",
            dir.path().to_str().unwrap(),
            "--requests",
            &requests.to_string(),
            "--browse",
            &browse.to_string(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let traces = dir.path().join("traces.jsonl");
    let metrics = dir.path().join("metrics.jsonl");
    let (traces, metrics) = (traces.to_str().unwrap(), metrics.to_str().unwrap());

    let spans = read_spans(traces);
    let kept = check_sampling(&spans, requests, browse);
    println!("browse traces kept: {kept} of {browse}");

    // RED metrics are never sampled: every browse request is counted.
    assert_eq!(requests_counted(metrics, "browse"), browse as f64);

    // Retries: each retried attempt is a client span numbered 1, and the counter agrees.
    let resent: Vec<&SpanRow> = spans.iter().filter(|s| s.resend.is_some()).collect();
    assert!(!resent.is_empty(), "the example retries busy payments");
    assert!(
        resent
            .iter()
            .all(|s| s.client && s.service == "gateway" && s.resend == Some(1))
    );
    let retries: f64 = last_values(metrics, "flow.dependency.retries")
        .values()
        .sum();
    assert_eq!(retries, resent.len() as f64);

    // Saturation signals with their declared limits; nothing left in flight at the end.
    let active_limit = last_values(metrics, "http.server.active_requests.limit");
    assert!(!active_limit.is_empty() && active_limit.values().all(|v| *v == 512.0));
    let queue_limit = last_values(metrics, "orders.queue.depth.limit");
    assert_eq!(
        queue_limit.get(&(
            "payments".to_string(),
            vec![("queue.name".to_string(), "authorizations".to_string())]
        )),
        Some(&64.0),
        "{queue_limit:?}"
    );
    let active = last_values(metrics, "http.server.active_requests");
    assert!(
        !active.is_empty() && active.values().all(|v| *v == 0.0),
        "{active:?}"
    );
    assert!(
        last_values(metrics, "orders.queue.depth")
            .values()
            .all(|v| *v == 0.0)
    );
}

/// One `GET /metrics` from `flowtel live --analyze`: `name{labels} -> value`.
fn scrape(addr: &str) -> HashMap<String, f64> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect to /metrics");
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(s, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.lines()
        .filter(|l| l.starts_with("flowtel_"))
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

#[test]
fn live_receives_every_checkout_trace_whole_and_a_tenth_of_browse() {
    let saved = tempfile::tempdir().unwrap();
    // Killed on drop: a failing assertion below leaves no receiver running.
    let mut live = KillOnDrop(
        Command::new(binary("flowtel"))
            .current_dir(workspace())
            .args(["live", "--no-grpc", "--listen", "127.0.0.1:0", "--analyze"])
            .arg("--save")
            .arg(saved.path())
            // A trace is complete after 3 s without a span: the services' batches of one trace
            // may arrive a moment apart on a loaded machine.
            .args(["--metrics-listen", "127.0.0.1:0", "--trace-idle", "3s"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flowtel live"),
    );
    let mut stderr = BufReader::new(live.stderr.take().unwrap());
    let (mut otlp, mut metrics) = (None, None);
    let mut line = String::new();
    while otlp.is_none() || metrics.is_none() {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            let _ = live.kill();
            panic!("flowtel live ended early");
        }
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(str::to_string);
        if line.contains("OTLP/HTTP") {
            otlp = url;
        } else if line.contains("flow aggregates") {
            metrics = url.map(|u| {
                u.trim_start_matches("http://")
                    .trim_end_matches("/metrics")
                    .to_string()
            });
        }
    }
    std::thread::spawn(move || for _ in stderr.lines() {});
    let (otlp, metrics) = (otlp.unwrap(), metrics.unwrap());

    let (requests, browse) = (120usize, 600usize);
    let example = run(
        "example-shop",
        &[
            "--seed",
            SEED,
            "--otlp",
            &otlp,
            "--requests",
            &requests.to_string(),
            "--browse",
            &browse.to_string(),
        ],
    );
    // Every trace complete, then read the aggregates.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // Done when nothing is open and the totals stopped moving between two scrapes.
    let total = |m: &HashMap<String, f64>| -> f64 {
        m.iter()
            .filter(|(k, _)| k.starts_with("flowtel_traces_total"))
            .map(|(_, v)| v)
            .sum()
    };
    let mut seen = scrape(&metrics);
    loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let next = scrape(&metrics);
        let settled = next.get("flowtel_traces_open") == Some(&0.0)
            && total(&next) > 0.0
            && total(&next) == total(&seen);
        seen = next;
        if settled || std::time::Instant::now() > deadline {
            break;
        }
    }
    let _ = live.kill();
    let _ = live.wait();
    assert!(
        example.status.success(),
        "{}",
        String::from_utf8_lossy(&example.stderr)
    );
    let get = |k: &str| seen.get(k).copied().unwrap_or(0.0);

    // Every checkout sent arrived, as a whole trace across gateway and payments: one checkout
    // trace per checkout, and each reached payments (retries add calls, never traces).
    let checkouts = (0..requests).filter(|i| i % 6 < 4).count() as f64;
    assert_eq!(
        get("flowtel_traces_total{flow=\"checkout\"}"),
        checkouts,
        "{seen:?}"
    );
    let to_payments = get(concat!(
        "flowtel_service_graph_requests_total",
        "{client=\"gateway\",server=\"payments\",flow=\"checkout\"}"
    ));
    assert!(to_payments >= checkouts, "{to_payments} of {checkouts}");

    // About a tenth of browse: the sampled-out traces are absent, from every service (each
    // kept browse trace is the gateway's and the catalog's: one call between them). The
    // analysis weighs each kept trace back by its adjusted count (`ot=th:` says 10%), so its
    // count of browse traces is ten times the traces it received: an estimate of all sent.
    let weighted = get("flowtel_traces_total{flow=\"browse\"}");
    assert_eq!(
        weighted % 10.0,
        0.0,
        "{weighted}: each kept trace counts for 10"
    );
    // What flowtel live received, as it saved it: the same checks as on the services' own
    // export (checkout whole, browse at 10% within the binomial 99% interval and whole,
    // sampled-out traces absent from every service), the analysis counted each kept trace, and
    // the RED metrics it received count every request sent, sampled or not.
    let file = |name: &str| saved.path().join(name).to_str().unwrap().to_string();
    let spans = read_spans(&file("traces.binpb"));
    let kept = check_sampling(&spans, requests, browse);
    assert_eq!(
        weighted,
        kept as f64 * 10.0,
        "the analysis saw every kept trace"
    );
    // `critical-path` and `map` of what live received say that it was sampled, and weigh the
    // kept browse traces back (each stands for 10).
    for command in ["critical-path", "map"] {
        let out = run(
            "flowtel",
            &["--format", "json", command, &file("traces.binpb")],
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{command}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        let sampling = &doc["sampling"];
        assert_eq!(sampling["sampled_traces"], kept, "{command}: {sampling}");
        let traces = sampling["traces"].as_u64().unwrap();
        assert_eq!(
            sampling["estimated_traces"].as_u64(),
            Some(traces + 9 * kept),
            "{command}: {sampling}"
        );
    }
    let metrics_received = file("metrics.binpb");
    assert_eq!(requests_counted(&metrics_received, "browse"), browse as f64);
    assert_eq!(
        requests_counted(&metrics_received, "checkout"),
        checkouts,
        "{seen:?}"
    );
    let to_catalog = get(concat!(
        "flowtel_service_graph_requests_total",
        "{client=\"gateway\",server=\"catalog\",flow=\"browse\"}"
    ));
    assert_eq!(
        to_catalog, weighted,
        "kept browse traces are whole, dropped ones absent"
    );
    assert_eq!(get("flowtel_traces_evicted_total"), 0.0);
}
