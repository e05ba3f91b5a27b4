//! The Prometheus scrape endpoint: metrics served in the text format on `/metrics`.
//!
//! A reader from `opentelemetry-prometheus` collects on each scrape; a single background
//! thread answers one connection at a time, so a flood of scrapers cannot grow memory. A
//! connection gets [`CONNECTION_DEADLINE`] in all, whatever the client does (sends its request
//! a byte at a time, never reads the answer), so no client holds the endpoint longer. Dropping
//! [`ScrapeServer`] stops it within [`STOP_WAIT`]: it shuts the connection being served down,
//! wakes the accept loop and waits for the thread, so the port is free when the drop returns.
// Without the `prometheus` feature only the type stays, so that `Telemetry` keeps its shape.
#![cfg_attr(not(feature = "prometheus"), allow(unused_imports, dead_code))]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::init::InitError;

/// The longest a scrape connection is served, reading the request and writing the answer.
pub const CONNECTION_DEADLINE: Duration = Duration::from_secs(5);

/// The longest dropping the endpoint waits for its thread.
pub const STOP_WAIT: Duration = Duration::from_secs(1);

/// The running endpoint.
#[derive(Debug)]
pub struct ScrapeServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// The connection being answered, so that a stop can cut it.
    current: Arc<Mutex<Option<TcpStream>>>,
    /// Receives when the thread has ended.
    ended: Option<std::sync::mpsc::Receiver<()>>,
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
        // A client that never reads (or trickles its request) is cut off at once.
        if let Some(conn) = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            let _ = conn.shutdown(std::net::Shutdown::Both);
        }
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(ended) = self.ended.take() {
            let _ = ended.recv_timeout(STOP_WAIT);
        }
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
    let current = Arc::new(Mutex::new(None));
    let serving = Arc::clone(&current);
    let (ended_tx, ended) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("flowtel-scrape".into())
        .spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let cut = conn.try_clone().ok();
                *serving.lock().unwrap_or_else(PoisonError::into_inner) = cut;
                // The stop may have come between the check above and publishing the connection.
                if !stopped.load(Ordering::Relaxed) {
                    answer(conn, &registry);
                }
                *serving.lock().unwrap_or_else(PoisonError::into_inner) = None;
            }
            drop(listener);
            let _ = ended_tx.send(());
        })
        .map_err(io)?;
    Ok((
        reader,
        ScrapeServer {
            addr,
            stop,
            current,
            ended: Some(ended),
        },
    ))
}

/// The time left before `deadline`, or `None` when it has passed.
fn left(deadline: Instant) -> Option<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
}

/// Writes all of `data` before `deadline`, in pieces, so that a client reading slowly cannot
/// stretch the write beyond it.
fn write_before(conn: &mut TcpStream, mut data: &[u8], deadline: Instant) -> std::io::Result<()> {
    while !data.is_empty() {
        let Some(t) = left(deadline) else {
            return Err(std::io::ErrorKind::TimedOut.into());
        };
        conn.set_write_timeout(Some(t))?;
        let n = conn.write(&data[..data.len().min(16 * 1024)])?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
    }
    Ok(())
}

#[cfg(feature = "prometheus")]
fn answer(mut conn: TcpStream, registry: &prometheus::Registry) {
    use prometheus::Encoder as _;
    let deadline = Instant::now() + CONNECTION_DEADLINE;
    // Read the request head (it may arrive in pieces), at most 4 KiB, before the deadline.
    let mut buf = [0u8; 4096];
    let mut n = 0;
    while n < buf.len() {
        let Some(t) = left(deadline) else { return };
        let _ = conn.set_read_timeout(Some(t));
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
    let _ = write_before(&mut conn, head.as_bytes(), deadline)
        .and_then(|()| write_before(&mut conn, &body, deadline));
}
