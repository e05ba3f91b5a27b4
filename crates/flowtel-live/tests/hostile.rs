//! Hostile clients against the receiver over real sockets: bodies dripped slower than the body
//! timeout, more of them than the receiver decodes at once, while a well-behaved client sends.
//! The well-behaved client is never held up by them, each dripper gets `408` and a closed
//! connection, and the report counts every rejection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowtel_live::{LiveOptions, run};

const SPANS: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"GET /products/{id}","kind":2,"startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}"#;

fn registry() -> Arc<flowtel_conventions::Registry> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
    Arc::new(
        flowtel_conventions::check(&path)
            .registry
            .expect("bundled conventions"),
    )
}

fn head(addr: SocketAddr, len: usize) -> String {
    format!(
        "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
    )
}

/// Sends one request on a fresh connection and returns the status and the time it took.
fn good_request(addr: SocketAddr) -> (u16, Instant) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let req = head(addr, SPANS.len()).replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(SPANS.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let status = String::from_utf8_lossy(&raw[..12.min(raw.len())])[9..]
        .parse()
        .unwrap_or(0);
    (status, Instant::now())
}

#[test]
fn dripped_bodies_time_out_without_holding_up_others() {
    const DRIPPERS: usize = 12;
    let (tx, rx) = std::sync::mpsc::channel();
    let receiver = std::thread::spawn(move || {
        let options = LiveOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            grpc_listen: None,
            max_body_bytes: 64 * 1024,
            // Fewer decode slots than drippers: a dripper holding one would starve the rest.
            max_concurrency: 2,
            body_timeout: Duration::from_millis(2500),
            until_idle: Some(Duration::from_millis(1500)),
            duration: Some(Duration::from_secs(30)),
            stop_on_ctrl_c: false,
            ..LiveOptions::default()
        };
        run(registry(), options, move |b| tx.send(b.http).unwrap()).unwrap()
    });
    let addr = rx.recv().unwrap();

    // Each dripper announces a body, sends a little of it and then a byte now and then, never
    // finishing within the timeout.
    let drippers: Vec<_> = (0..DRIPPERS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                s.write_all(head(addr, SPANS.len()).as_bytes()).unwrap();
                let mut raw = Vec::new();
                for b in SPANS.as_bytes()[..40].iter() {
                    if s.write_all(&[*b]).is_err() {
                        break;
                    }
                    let mut buf = [0u8; 4096];
                    match s.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => raw.extend_from_slice(&buf[..n]),
                        Err(_) => {} // nothing yet: keep dripping
                    }
                }
                // The receiver answers and closes: read to the end.
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let _ = s.read_to_end(&mut raw);
                (String::from_utf8_lossy(&raw).into_owned(), Instant::now())
            })
        })
        .collect();

    // Meanwhile a well-behaved client sends, one request after another.
    std::thread::sleep(Duration::from_millis(200));
    let good: Vec<(u16, Instant)> = (0..20).map(|_| good_request(addr)).collect();

    let answers: Vec<(String, Instant)> = drippers.into_iter().map(|d| d.join().unwrap()).collect();
    let first_timeout = answers.iter().map(|(_, at)| *at).min().unwrap();
    for (status, at) in &good {
        assert_eq!(*status, 200);
        assert!(
            *at < first_timeout,
            "a well-behaved request waited for the drippers' timeout"
        );
    }
    for (raw, _) in &answers {
        assert!(raw.starts_with("HTTP/1.1 408"), "dripper got: {raw:?}");
        assert!(raw.to_ascii_lowercase().contains("connection: close"));
        assert!(raw.contains("did not arrive within 2500 ms"), "{raw}");
    }

    let report = receiver.join().unwrap();
    assert_eq!(report.stats.requests, 20);
    assert_eq!(report.stats.rejected, DRIPPERS as u64);
    assert_eq!(
        report.rejections,
        [("HTTP 408".to_string(), DRIPPERS as u64)].into()
    );
    assert!(
        report.findings.iter().any(|f| f.message.contains("(408)")),
        "the report names the timed-out requests"
    );
}
