//! `flowtel live --analyze` at scale, with the real `prometheus` binary: the example shop's
//! traces split by trace id over two instances (as the Collector's `loadbalancing` exporter with
//! `routing_key: traceID` does), and all of them sent to a third. Prometheus scrapes the three;
//! `sum by (flow, service)` of the two halves' critical-path histogram equals the third's, and so
//! do the service-graph counters. flowtel lints its own `/metrics` against the bundled
//! conventions, clean.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flowtel_e2e::{binary, free_port, run, workspace};
use serde_json::Value;

/// A process this test started, killed when dropped (also when an assertion fails).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `flowtel live --analyze` process, killed when dropped.
struct Live {
    child: Child,
    otlp: SocketAddr,
    metrics: SocketAddr,
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_live() -> Live {
    let mut child = Command::new(binary("flowtel"))
        .args([
            "live",
            "--no-grpc",
            "--listen",
            "127.0.0.1:0",
            "--analyze",
            "--metrics-listen",
            "127.0.0.1:0",
            "--trace-idle",
            "2s",
        ])
        .current_dir(workspace())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowtel live");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (mut otlp, mut metrics) = (None, None);
    let mut line = String::new();
    while otlp.is_none() || metrics.is_none() {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "flowtel live ended early"
        );
        let addr = |prefix: &str| -> Option<SocketAddr> {
            let rest = line.split(prefix).nth(1)?;
            rest.trim().trim_end_matches("/metrics").parse().ok()
        };
        if line.contains("OTLP/HTTP") {
            otlp = addr("http://");
        } else if line.contains("flow aggregates") {
            metrics = addr("http://");
        }
    }
    // Keep draining stderr so the process never blocks on a full pipe.
    std::thread::spawn(move || for _ in stderr.lines() {});
    Live {
        child,
        otlp: otlp.unwrap(),
        metrics: metrics.unwrap(),
    }
}

/// One HTTP/1.0 exchange (no chunked answers, the connection closes): status and body.
fn http(addr: SocketAddr, method: &str, target: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "{method} {target} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string());
    (status, body)
}

/// The export request `line` with only the spans whose trace id `keep` accepts.
fn filtered(line: &Value, mut keep: impl FnMut(&str) -> bool) -> Value {
    let mut doc = line.clone();
    for rs in doc["resourceSpans"].as_array_mut().into_iter().flatten() {
        for ss in rs["scopeSpans"].as_array_mut().into_iter().flatten() {
            if let Some(spans) = ss["spans"].as_array_mut() {
                spans.retain(|s| keep(s["traceId"].as_str().unwrap_or("")));
            }
        }
    }
    doc
}

fn export(dir: &Path) -> PathBuf {
    let out = Command::new(binary("example-shop"))
        .args(["--out", dir.to_str().unwrap(), "--requests", "120"])
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

/// `flowtel_traces_total` summed over flows, from a `/metrics` text.
fn traces_total(text: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("flowtel_traces_total{"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

fn open_traces(text: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix("flowtel_traces_open "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// A PromQL vector result as `labels -> value`.
fn query(prom: SocketAddr, promql: &str) -> BTreeMap<String, f64> {
    let q: String = promql
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let (status, body) = http(prom, "GET", &format!("/api/v1/query?query={q}"), b"");
    assert_eq!(status, 200, "{promql}: {body}");
    let doc: Value = serde_json::from_str(&body).expect("Prometheus answers JSON");
    doc["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let labels = r["metric"].to_string();
            let v: f64 = r["value"][1].as_str().unwrap().parse().unwrap();
            (labels, v)
        })
        .collect()
}

#[test]
fn two_instances_behind_a_trace_id_split_sum_in_prometheus_to_one_instance_s_view() {
    let Some(prometheus) = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
    else {
        eprintln!("skipped: no `prometheus` binary (bash .ci/run installs Debian's)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let traces = export(dir.path());
    let halves = [start_live(), start_live()];
    let all = start_live();

    // Route by trace id like the Collector's load balancer: each trace whole on one instance.
    let text = std::fs::read_to_string(&traces).unwrap();
    let sending = Instant::now();
    let mut ids = std::collections::HashSet::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let doc: Value = serde_json::from_str(line).unwrap();
        let (status, body) = http(all.otlp, "POST", "/v1/traces", line.as_bytes());
        assert_eq!(status, 200, "{body}");
        for (i, live) in halves.iter().enumerate() {
            let part = filtered(&doc, |id| {
                ids.insert(id.to_string());
                let last = id.bytes().last().unwrap_or(b'0');
                usize::from(last % 2 == 1) == i
            });
            let (status, body) = http(live.otlp, "POST", "/v1/traces", part.to_string().as_bytes());
            assert_eq!(status, 200, "{body}");
        }
    }
    assert!(ids.len() >= 100, "{} traces", ids.len());
    eprintln!(
        "sent {} lines in {:?}",
        text.lines().count(),
        sending.elapsed()
    );

    // Every trace completes after 2 s idle.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let texts: Vec<String> = halves
            .iter()
            .chain([&all])
            .map(|l| http(l.metrics, "GET", "/metrics", b"").1)
            .collect();
        let done = texts.iter().all(|t| open_traces(t) == 0.0);
        let (a, b, c) = (
            traces_total(&texts[0]),
            traces_total(&texts[1]),
            traces_total(&texts[2]),
        );
        // Sampled browse traces count for the traces they stand for: at least one per id.
        if done && c >= ids.len() as f64 && a + b == c {
            assert!(a > 0.0 && b > 0.0, "both halves got traces: {a} + {b}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "traces did not complete: {a} + {b} vs {c} of {}",
            ids.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // flowtel lints its own output against the bundled conventions.
    let url = format!("http://{}/metrics", all.metrics);
    let lint = run("flowtel", &["lint", "telemetry", &url]);
    assert_eq!(
        lint.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );

    // Prometheus scrapes the two halves as one job and the whole as another.
    let port = free_port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: half\n    static_configs: [{{targets: ['{}', '{}']}}]\n  - job_name: all\n    static_configs: [{{targets: ['{}']}}]\n",
            halves[0].metrics, halves[1].metrics, all.metrics
        ),
    )
    .unwrap();
    let _prom = Reaped(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus"),
    );
    let prom_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let by = |job: &str, what: &str| format!("sum by (flow, service) ({what}{{job=\"{job}\"}})");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = TcpStream::connect(prom_addr).is_ok()
            && query(prom_addr, "count(up{job=\"half\"} == 1) == 2").len() == 1
            && !query(prom_addr, &by("all", "flowtel_critical_path_seconds_count")).is_empty()
            && query(prom_addr, "count(flowtel_traces_total{job=\"half\"}) > 0").len() == 1;
        if ready {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape both jobs within 60 s"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    {
        for metric in [
            "flowtel_critical_path_seconds_count",
            "flowtel_critical_path_seconds_sum",
            "flowtel_critical_path_seconds_bucket",
        ] {
            let grouping = if metric.ends_with("_bucket") {
                "flow, service, le"
            } else {
                "flow, service"
            };
            let half = query(
                prom_addr,
                &format!("sum by ({grouping}) ({metric}{{job=\"half\"}})"),
            );
            let whole = query(
                prom_addr,
                &format!("sum by ({grouping}) ({metric}{{job=\"all\"}})"),
            );
            assert!(!whole.is_empty(), "{metric}: no series");
            assert_eq!(
                half.keys().collect::<Vec<_>>(),
                whole.keys().collect::<Vec<_>>(),
                "{metric}"
            );
            for (k, v) in &whole {
                assert!(
                    (half[k] - v).abs() <= 1e-9 * v.abs().max(1.0),
                    "{metric} {k}: {} vs {v}",
                    half[k]
                );
            }
        }
        let graph = |job: &str| {
            query(
                prom_addr,
                &format!(
                    "sum by (client, server, flow) (flowtel_service_graph_requests_total{{job=\"{job}\"}})"
                ),
            )
        };
        let (half, whole) = (graph("half"), graph("all"));
        assert!(
            whole.keys().any(|k| k.contains("\"server\":\"payments\"")),
            "{whole:?}"
        );
        assert_eq!(half, whole);
    }
}
