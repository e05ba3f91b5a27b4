//! The Prometheus scrape endpoint serves the enforced metrics in the text format.

mod common;

use std::io::{Read, Write};

use opentelemetry::KeyValue;

fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    // Sent in pieces on purpose: the endpoint must read the whole request head.
    for piece in ["GET ", path, " HTTP/1.1\r\n", "Host: test\r\n\r\n"] {
        s.write_all(piece.as_bytes()).unwrap();
        s.flush().unwrap();
    }
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn metrics_are_served_for_scraping() {
    let (telemetry, _dispatch) = flowtel::init(common::conventions())
        .service("scraped", "1.0.0")
        .no_push()
        .prometheus("127.0.0.1:0".parse().unwrap())
        .build()
        .expect("init");
    let orders = telemetry.meter().u64_counter("checkout.orders");
    orders.add(
        3,
        &[
            KeyValue::new("payment.method", "card"),
            KeyValue::new("outcome", "ok"),
            KeyValue::new("user.id", "u-1"),
        ],
    );
    let addr = telemetry.prometheus_addr().expect("listening");
    let page = get(addr, "/metrics");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let line = page
        .lines()
        .find(|l| l.starts_with("checkout_orders_total{"))
        .unwrap_or_else(|| panic!("no checkout_orders_total in\n{page}"));
    assert!(line.contains("payment_method=\"card\""), "{line}");
    assert!(line.ends_with(" 3"), "{line}");
    assert!(!page.contains("u-1"), "personal data is never a label");
    assert!(get(addr, "/").starts_with("HTTP/1.1 404"));
}

/// A scrape client that trickles its request and never reads the answer holds the endpoint's
/// one connection; dropping the telemetry still returns within its deadline, and the port is
/// closed when it does (the serving thread has ended, not been left behind).
#[test]
fn a_client_that_never_reads_does_not_hold_up_shutdown() {
    let (telemetry, _dispatch) = flowtel::init(common::conventions())
        .service("scraped", "1.0.0")
        .no_push()
        .prometheus("127.0.0.1:0".parse().unwrap())
        .shutdown_timeout(std::time::Duration::from_millis(500))
        .build()
        .expect("init");
    let addr = telemetry.prometheus_addr().expect("listening");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let (connected_tx, connected) = std::sync::mpsc::channel();
    let client = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        connected_tx.send(()).unwrap();
        // A request head one byte every 50 ms, never finished; nothing is ever read.
        for b in b"GET /metrics HTTP/1.1\r\nHost: test\r\nX-Slow: "
            .iter()
            .cycle()
        {
            if stopped.load(std::sync::atomic::Ordering::Relaxed) || s.write_all(&[*b]).is_err() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    });
    connected.recv().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    drop(telemetry);
    let took = started.elapsed();
    // The shutdown deadline plus the endpoint's own stop wait, with room for a loaded machine.
    assert!(
        took < std::time::Duration::from_millis(500) + flowtel::scrape::STOP_WAIT,
        "drop took {took:?}"
    );
    assert!(
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500)).is_err(),
        "the scrape port still accepts after the drop"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    client.join().unwrap();
}
