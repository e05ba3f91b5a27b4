//! The Prometheus scrape endpoint: metrics served in the text format on `/metrics`.
//!
//! A reader from `opentelemetry-prometheus` collects on each scrape; a single background
//! thread answers one connection at a time, so a flood of scrapers cannot grow memory. It is
//! stopped when [`ScrapeServer`] drops.
// Without the `prometheus` feature only the type stays, so that `Telemetry` keeps its shape.
#![cfg_attr(not(feature = "prometheus"), allow(unused_imports, dead_code))]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::init::InitError;

/// The running endpoint.
#[derive(Debug)]
pub struct ScrapeServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl ScrapeServer {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for ScrapeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

#[cfg(feature = "prometheus")]
pub(crate) fn serve(
    addr: SocketAddr,
) -> Result<(opentelemetry_prometheus::PrometheusExporter, ScrapeServer), InitError> {
    let registry = prometheus::Registry::new();
    let reader = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .scope_info_enabled(false)
        .build()
        .map_err(|e| InitError::Exporter {
            signal: "metrics",
            message: e.to_string(),
        })?;
    let io = |source| InitError::Io {
        what: format!("cannot listen on {addr} for Prometheus scrapes"),
        source,
    };
    let listener = TcpListener::bind(addr).map_err(io)?;
    let addr = listener.local_addr().map_err(io)?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::Builder::new()
        .name("flowtel-scrape".into())
        .spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(conn) = conn {
                    answer(conn, &registry);
                }
            }
        })
        .map_err(io)?;
    Ok((reader, ScrapeServer { addr, stop }))
}

#[cfg(feature = "prometheus")]
fn answer(mut conn: TcpStream, registry: &prometheus::Registry) {
    use prometheus::Encoder as _;
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
    // Read the request head (it may arrive in pieces), at most 4 KiB.
    let mut buf = [0u8; 4096];
    let mut n = 0;
    while n < buf.len() {
        match conn.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
        if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let request = String::from_utf8_lossy(&buf[..n]);
    let path = request.split_whitespace().nth(1).unwrap_or("");
    let (status, body) = if path == "/metrics" || path.starts_with("/metrics?") {
        let mut body = Vec::new();
        let encoder = prometheus::TextEncoder::new();
        match encoder.encode(&registry.gather(), &mut body) {
            Ok(()) => ("200 OK", body),
            Err(e) => ("500 Internal Server Error", e.to_string().into_bytes()),
        }
    } else {
        (
            "404 Not Found",
            b"not found; metrics are on /metrics\n".to_vec(),
        )
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let _ = conn
        .write_all(head.as_bytes())
        .and_then(|()| conn.write_all(&body));
}
