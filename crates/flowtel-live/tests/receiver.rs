//! The receiver over real sockets: OTLP/HTTP answers for good, compressed, malformed,
//! oversized and unsupported requests, and the report at the end of the run.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use flowtel_live::{EndReason, LiveOptions, LiveReport, run};

fn registry() -> Arc<flowtel_conventions::Registry> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
    Arc::new(
        flowtel_conventions::check(&path)
            .registry
            .expect("bundled conventions"),
    )
}

/// Starts a receiver that ends after 600 ms without requests; returns its address and the
/// handle that yields the report.
fn start(max_body: usize) -> (SocketAddr, std::thread::JoinHandle<LiveReport>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let options = LiveOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            grpc_listen: None,
            max_body_bytes: max_body,
            until_idle: Some(Duration::from_millis(600)),
            duration: Some(Duration::from_secs(30)),
            stop_on_ctrl_c: false,
            ..LiveOptions::default()
        };
        run(registry(), options, move |bound| {
            tx.send(bound.http).unwrap()
        })
        .unwrap()
    });
    (rx.recv().unwrap(), handle)
}

struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // A server may answer before reading a body it refuses; a reset then is fine.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let (head, _) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head[9..12].parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or("")
        .to_string();
    let start = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    Answer {
        status,
        content_type,
        body: raw[start..].to_vec(),
    }
}

const SPANS: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}},{"key":"service.version","value":{"stringValue":"1"}},{"key":"deployment.environment.name","value":{"stringValue":"ci"}}]},"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"checkout","attributes":[{"key":"flow.name","value":{"stringValue":"chekout"}}]}]}]}]}"#;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn answers_follow_otlp_http_and_the_report_has_the_findings() {
    let (addr, handle) = start(4096);
    let json = [("Content-Type", "application/json")];

    let ok = post(addr, "/v1/traces", &json, SPANS.as_bytes());
    assert_eq!(ok.status, 200);
    assert_eq!(ok.content_type, "application/json");
    assert_eq!(ok.body, b"{}");

    let zipped = gzip(SPANS.as_bytes());
    let ok = post(
        addr,
        "/v1/traces",
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        &zipped,
    );
    assert_eq!(ok.status, 200);

    // An empty protobuf request is valid; the answer is an empty protobuf response.
    let ok = post(
        addr,
        "/v1/metrics",
        &[("Content-Type", "application/x-protobuf")],
        b"",
    );
    assert_eq!(ok.status, 200);
    assert_eq!(ok.content_type, "application/x-protobuf");
    assert!(ok.body.is_empty());

    let bad = post(addr, "/v1/traces", &json, b"{\"resourceSpans\": [");
    assert_eq!(bad.status, 400);
    let status: serde_json::Value = serde_json::from_slice(&bad.body).unwrap();
    assert_eq!(status["code"], 3);
    assert!(
        status["message"].as_str().unwrap().contains("line 1"),
        "{status}"
    );

    let bad = post(
        addr,
        "/v1/logs",
        &[("Content-Type", "application/x-protobuf")],
        &[0xff; 16],
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.content_type, "application/x-protobuf");
    assert_eq!(&bad.body[..3], [0x08, 3, 0x12], "a google.rpc.Status");

    let wrong_signal = post(addr, "/v1/metrics", &json, SPANS.as_bytes());
    assert_eq!(wrong_signal.status, 400);

    let big = post(addr, "/v1/traces", &json, &vec![b' '; 5000]);
    assert_eq!(big.status, 413);
    // A small gzip body that inflates past the limit is refused too.
    let bomb = gzip(&vec![b' '; 100_000]);
    let big = post(
        addr,
        "/v1/traces",
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        &bomb,
    );
    assert_eq!(big.status, 413);

    let unsupported = post(addr, "/v1/traces", &[("Content-Type", "text/plain")], b"x");
    assert_eq!(unsupported.status, 415);
    let unsupported = post(
        addr,
        "/v1/traces",
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "br"),
        ],
        b"x",
    );
    assert_eq!(unsupported.status, 415);

    let nowhere = post(addr, "/v1/profiles", &json, b"{}");
    assert_eq!(nowhere.status, 404);

    let report = handle.join().unwrap();
    assert_eq!(report.ended, EndReason::Idle);
    assert_eq!(report.stats.requests, 3);
    assert_eq!(report.stats.rejected, 7);
    assert_eq!(report.stats.items, 2);
    let unknown_flow: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule.id == "FT0110")
        .collect();
    assert_eq!(unknown_flow.len(), 1);
    let loc = unknown_flow[0].location.as_ref().unwrap();
    assert_eq!(loc.file, "live:/v1/traces");
    assert_eq!(loc.line, 1, "the first request");
    assert_eq!(
        unknown_flow[0]
            .subject
            .get("occurrences")
            .map(String::as_str),
        Some("2")
    );
    let rejected = report
        .findings
        .iter()
        .filter(|f| f.rule.id == "FT0121")
        .count();
    assert_eq!(rejected, 7);
    assert_eq!(flowtel_conventions::exit_code(&report.findings, false), 1);
}

#[test]
fn many_concurrent_senders_are_all_answered() {
    let (addr, handle) = start(1 << 20);
    let senders: Vec<_> = (0..16)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let a = post(
                        addr,
                        "/v1/traces",
                        &[("Content-Type", "application/json")],
                        SPANS.as_bytes(),
                    );
                    assert_eq!(a.status, 200);
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let report = handle.join().unwrap();
    assert_eq!(report.stats.requests, 160);
    assert_eq!(report.stats.items, 160);
}

/// Whatever bytes arrive, every request gets an answer (success or a 4xx) and the receiver
/// keeps serving.
#[test]
fn random_bodies_never_break_the_receiver() {
    let (addr, handle) = start(64 * 1024);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let valid = SPANS.as_bytes();
    for i in 0..120 {
        let body: Vec<u8> = match i % 3 {
            // Pure noise.
            0 => (0..(next() % 2048)).map(|_| next() as u8).collect(),
            // A valid request with a few bytes changed.
            1 => {
                let mut b = valid.to_vec();
                for _ in 0..(1 + next() % 4) {
                    let at = (next() as usize) % b.len();
                    b[at] = next() as u8;
                }
                b
            }
            // A valid request cut short.
            _ => valid[..(next() as usize) % valid.len()].to_vec(),
        };
        let ct = if i % 2 == 0 {
            "application/json"
        } else {
            "application/x-protobuf"
        };
        let path = ["/v1/traces", "/v1/metrics", "/v1/logs"][i % 3];
        let a = post(addr, path, &[("Content-Type", ct)], &body);
        assert!(matches!(a.status, 200 | 400), "status {}", a.status);
    }
    let ok = post(
        addr,
        "/v1/traces",
        &[("Content-Type", "application/json")],
        SPANS.as_bytes(),
    );
    assert_eq!(ok.status, 200);
    let report = handle.join().unwrap();
    assert_eq!(report.stats.requests + report.stats.rejected, 121);
}
