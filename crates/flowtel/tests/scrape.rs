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
